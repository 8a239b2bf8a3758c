"""Structured expectations: each matcher compares, and a failure says expected vs actual.

The subject is already fetched (a value, a record, or the hits of a find); this module only
judges. Comparison is deliberately forgiving about representation (120000 equals
"120000.00", "Won" does not equal "won"): vendors disagree on number formats, and a
scenario should fail on what a user would call different, not on a trailing zero.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from crmproof.models import Expectation
from crmproof.vocabulary import VALUE_MATCHERS


@dataclass
class Judgement:
    """One expectation's outcome; a requirement's verdict is `scoring`'s business."""

    ok: bool
    expected: str = ""
    actual: str = ""

    @property
    def message(self) -> str:
        return f"expected {self.expected}, got {self.actual}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def same(actual: Any, expected: Any) -> bool:
    if actual == expected:
        return True
    a, e = _number(actual), _number(expected)
    if a is not None and e is not None:
        return abs(a - e) < 1e-9 * max(1.0, abs(e))
    return False


def _show(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _match(name: str, actual: Any, expected: Any) -> Judgement:
    """One matcher applied to one value."""
    if name == "equals":
        return Judgement(same(actual, expected), _show(expected), _show(actual))
    if name == "not_equals":
        return Judgement(not same(actual, expected), f"not {_show(expected)}", _show(actual))
    if name == "contains":
        if isinstance(actual, str):
            ok = str(expected) in actual
        elif isinstance(actual, (list, tuple)):
            ok = any(same(a, expected) for a in actual)
        else:
            ok = False
        return Judgement(ok, f"something containing {_show(expected)}", _show(actual))
    if name == "matches":
        ok = actual is not None and re.search(str(expected), str(actual)) is not None
        return Judgement(ok, f"a match for /{expected}/", _show(actual))
    if name in ("less_than", "greater_than"):
        a = _number(actual)
        word = "less than" if name == "less_than" else "greater than"
        ok = a is not None and (a < float(expected) if name == "less_than" else a > float(expected))
        return Judgement(ok, f"{word} {expected}", _show(actual))
    if name == "exists":
        present = actual is not None and actual != []
        return Judgement(
            present == bool(expected),
            "present" if expected else "absent",
            "present" if present else "absent",
        )
    if name == "only":
        hits = actual if isinstance(actual, list | tuple) else [] if actual is None else [actual]
        held = sorted(str(h.get("id")) if isinstance(h, dict) else str(h) for h in hits)
        wanted = sorted(str(e) for e in expected)
        return Judgement(held == wanted, f"exactly the records {wanted}", f"records {held}")
    if name == "count":
        n = len(actual) if isinstance(actual, (list, tuple)) else (0 if actual is None else 1)
        return Judgement(n == expected, f"count {expected}", f"count {n}")
    raise ValueError(f"unknown matcher {name}")  # the validator makes this unreachable


def _field_verdicts(record: dict[str, Any], fields: dict[str, Any], label: str) -> list[Judgement]:
    out = []
    for name, wanted in fields.items():
        if isinstance(wanted, dict) and len(wanted) == 1 and next(iter(wanted)) in VALUE_MATCHERS:
            matcher, value = next(iter(wanted.items()))
        else:
            matcher, value = "equals", wanted
        verdict = _match(matcher, record.get(name), value)
        verdict.expected = f"{label}.{name} {verdict.expected}"
        out.append(verdict)
    return out


def judge(expectation: Expectation, subject: Any) -> Judgement:
    """All matchers of an expectation against its subject; the first failure is reported.

    For `find`, the subject is the list of hits; `fields:` must hold for every hit.
    For `get`, the subject is the record, or None if the vendor had none.
    """
    verdicts: list[Judgement] = []
    for name in VALUE_MATCHERS:
        expected = getattr(expectation, name)
        if expected is not None:
            verdicts.append(_match(name, subject, expected))
    if expectation.fields:
        records = subject if isinstance(subject, list) else [subject]
        if not records or any(r is None for r in records):
            verdicts.append(Judgement(False, "a record to check fields on", "none"))
        for i, record in enumerate(r for r in records if isinstance(r, dict)):
            label = f"item {i}" if isinstance(subject, list) else "record"
            verdicts += _field_verdicts(record, expectation.fields, label)
    for verdict in verdicts:
        if not verdict.ok:
            return verdict
    return Judgement(
        True, "; ".join(v.expected for v in verdicts), "; ".join(v.actual for v in verdicts)
    )
