"""A field a product has for one kind of record only: DjangoCRM links e-mails to a case,
and never a task. The claim must say so, or the scorecard either hides what e-mails prove
or blames the product for the adapter's silence."""

from __future__ import annotations

from typing import Any

from crmproof.conformance.kit import declaration_problem
from crmproof.execute import gate
from crmproof.models import Scenario
from crmproof.protocol import Capabilities, EntitySupport

LINKED_BY_EMAIL_ONLY = EntitySupport(
    operations=["create", "find"],
    fields=["subject", "kind", "case"],
    only_when={"case": {"kind": ["email"]}},
)


def caps(not_offered: dict[str, str] | None = None) -> Capabilities:
    return Capabilities(
        entities={"activity": LINKED_BY_EMAIL_ONLY, "case": EntitySupport(operations=["create"])},
        not_offered=not_offered or {},
    )


def scenario(*steps: dict[str, Any]) -> Scenario:
    return Scenario.model_validate({"id": "S", "title": "t", "covers": ["R"], "steps": list(steps)})


TASK_ON_CASE = {"create": "activity", "with": {"subject": "Call", "kind": "task", "case": "7"}}


def test_a_field_outside_its_kind_is_not_shown_until_the_adapter_says_why() -> None:
    plan = gate(scenario(TASK_ON_CASE), caps())
    assert plan.ruled_out is not None and plan.ruled_out.status == "not shown"
    assert "case when kind=task" in plan.ruled_out.reason


def test_declared_lacking_for_that_kind_it_is_left_out_and_named() -> None:
    declared = caps({"activity.case when kind=task": "a task links to nothing"})
    plan = gate(scenario(TASK_ON_CASE), declared)
    assert plan.ruled_out is None and plan.lacking == {0: ["activity.case"]}


def test_inside_its_kind_and_where_the_step_fixes_no_kind_the_field_is_claimed() -> None:
    email = {"create": "activity", "with": {"subject": "Mail", "kind": "email", "case": "7"}}
    search = {"expect": {"find": "activity", "where": {"case": "7"}, "count": 1}}
    by_reference = {"create": "activity", "with": {"kind": "${kind}", "case": "7"}}
    for step in (email, search, by_reference):
        plan = gate(scenario(step), caps())
        assert plan.ruled_out is None and plan.lacking == {}, step


def test_the_declaration_key_is_checked_like_every_other() -> None:
    assert declaration_problem("activity.case when kind=task") is None
    assert declaration_problem("activity.case when colour=red") == "no field 'colour'"
    assert declaration_problem("activity.cas when kind=task") == "no field 'activity.cas'"
    assert "write 'entity.field when other=value'" in str(
        declaration_problem("activity.case when kind")
    )


def test_a_search_by_a_field_the_product_lacks_is_not_offered_not_a_wider_search() -> None:
    """Left out of a search, the field would change the question (every account instead
    of the group's divisions) and fail it: the product cannot be asked, which is a fact."""
    lacks_parent = Capabilities(
        entities={"account": EntitySupport(operations=["create", "find"], fields=["name"])},
        not_offered={"account.parent": "no parent company field"},
    )
    made = {"create": "account", "with": {"name": "Division", "parent": "1"}}
    searched = {"expect": {"find": "account", "where": {"parent": "1"}, "count": 1}}
    checked = {
        "expect": {"find": "account", "where": {"name": "Division"}, "fields": {"parent": "1"}}
    }
    plan = gate(scenario(made, searched), lacks_parent)
    assert plan.ruled_out is not None and plan.ruled_out.index == 1
    assert plan.ruled_out.status == "not offered"
    assert "no parent company field" in plan.ruled_out.reason
    plan = gate(scenario(made, checked), lacks_parent)
    assert plan.ruled_out is None and plan.lacking == {0: ["account.parent"], 1: ["account.parent"]}
