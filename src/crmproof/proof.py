"""Writes are proven: what a step asked the vendor to hold, read back from the vendor.

A vendor that answers "ok" and does nothing, or does something else, must not pass a
step. So after every create, update, advance and convert the engine reads the record
back through the adapter's `get` (which asks the vendor, not a cache) and compares it
with what the step asked for. A difference fails the step as *not done*: a verdict on
the product, with expected and actual, never an error.

Vendors may normalise what they store (trim, round, reformat a telephone number). An
adapter declares that per field in `normalises` (`{"account.phone": "formatted"}`), with
one of the rules below; such a field is compared after the rule, or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crmproof import vocabulary
from crmproof.expect import same
from crmproof.protocol import Operation

__all__ = ["RULES", "WRITES", "differences", "expected_after"]

WRITES = frozenset({"create", "update", "advance", "convert"})
RULES: dict[str, str] = {
    "trimmed": "surrounding white space is dropped",
    "casefold": "letters are compared without case",
    "rounded": "numbers are compared to two decimals",
    "formatted": "the vendor rewrites the value (a telephone number): not compared",
}


def expected_after(operation: Operation) -> dict[str, Any]:
    """The fields a write asked for that the vendor must hold afterwards."""
    if operation.op == "advance":
        return {"stage": operation.to}
    if operation.op not in ("create", "update") or operation.entity is None:
        return {}
    fields = vocabulary.ENTITIES[operation.entity].fields
    return {
        name: value
        for name, value in operation.data.items()
        if name in fields
        and fields[name].type != "lines"
        and isinstance(value, str | int | float | bool)
    }


def _normal(rule: str, value: Any) -> Any:
    if rule == "trimmed" and isinstance(value, str):
        return value.strip()
    if rule == "casefold" and isinstance(value, str):
        return value.casefold()
    if rule == "rounded":
        try:
            return round(float(value), 2)
        except (TypeError, ValueError):
            return value
    return value


def differences(
    entity: str,
    expected: Mapping[str, Any],
    record: Mapping[str, Any],
    normalises: Mapping[str, str],
) -> list[tuple[str, Any, Any]]:
    """(field, asked for, held) for every field the vendor does not hold as asked.

    A field the adapter's record does not carry at all is not judged here: an adapter
    that cannot read a field back cannot prove it, and `expect` steps say so.
    """
    out = []
    for name, wanted in expected.items():
        if name not in record:
            continue
        rule = normalises.get(f"{entity}.{name}")
        if rule == "formatted":
            continue
        held = record[name]
        if isinstance(held, dict | list):
            continue  # a reference the adapter returns expanded: `expect` checks those
        kind = vocabulary.ENTITIES[entity].fields.get(name)
        if kind is not None and kind.type == "date" and str(held).startswith(str(wanted)):
            continue  # a date the vendor keeps with a time
        if rule:
            wanted, held_cmp = _normal(rule, wanted), _normal(rule, held)
        else:
            held_cmp = held
        if not same(held_cmp, wanted):
            out.append((name, wanted, held))
    return out
