"""The spec models: what loading ten thousand scenarios keeps of each."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crmproof.models import Scenario

SCENARIO = {
    "id": "S-1",
    "title": "Two accounts",
    "steps": [
        {"create": "account", "with": {"name": "Acme"}, "save": "a"},
        {"create": "account", "with": {"name": "Bolt"}, "save": "b"},
        {"get": "account", "id": "${a.id}"},
    ],
}


def test_models_given_the_same_keys_share_one_set_of_them() -> None:
    first, second, third = Scenario.model_validate(SCENARIO).steps
    assert first.model_fields_set == {"create", "with_", "save"}
    assert first.model_fields_set is second.model_fields_set
    assert third.model_fields_set == {"get", "id"}
    assert [s.operation for s in (first, second, third)] == ["create", "create", "get"]


def test_a_shared_set_of_keys_is_never_changed_through_one_model() -> None:
    first, second, _ = Scenario.model_validate(SCENARIO).steps
    with pytest.raises(ValidationError, match="frozen"):
        first.to = "won"
    changed = first.model_copy(update={"to": "won"})
    assert changed.model_fields_set == {"create", "with_", "save", "to"}
    assert first.model_fields_set == second.model_fields_set == {"create", "with_", "save"}
