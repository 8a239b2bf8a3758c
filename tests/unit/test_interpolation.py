"""`${...}`: saved names and their keys only; anything else is refused."""

from __future__ import annotations

import pytest

from crmproof.interpolation import InterpolationError, references, resolve

SCOPE = {"run": {"id": "r1"}, "deal": {"id": "7", "amount": 120000, "lines": [{"q": 2}]}}


def test_whole_expression_keeps_its_type() -> None:
    assert resolve("${deal.amount}", SCOPE) == 120000
    assert resolve("Deal ${deal.id} of ${run.id}", SCOPE) == "Deal 7 of r1"
    assert resolve({"a": ["${deal.lines.0.q}"]}, SCOPE) == {"a": [2]}
    assert resolve("cost $${not.this}", SCOPE) == "cost ${not.this}"


@pytest.mark.parametrize(
    "text",
    [
        "${env:HOME}",
        "${__import__('os').system('id')}",
        "${deal.id()}",
        "${deal['id']}",
        "${open('/etc/passwd')}",
        "${1+1}",
        "${}",
    ],
)
def test_anything_but_a_name_is_refused(text: str) -> None:
    problems = [r.problem for r in references(text)]
    assert problems and all(problems), text
    with pytest.raises(InterpolationError):
        resolve(text, SCOPE)


def test_unknown_names_and_keys_say_what_exists() -> None:
    with pytest.raises(InterpolationError, match="nothing was saved as 'dael'"):
        resolve("${dael.id}", SCOPE)
    with pytest.raises(InterpolationError, match="'deal' has no 'stage'; it has: id, amount"):
        resolve("${deal.stage}", SCOPE)
