"""Canonical values <-> Tryton values: numbers, dates, ids and stages.

Tryton's lifecycles are coarser than the canonical ones, and the adapter claims only the
stages it can really represent:

- An opportunity (`sale.opportunity`) is `lead`, `opportunity`, `converted` (a sale, the
  quotation, was made from it), then `won` (its sale was confirmed) or `lost`. Canonical
  prospecting, qualification and proposal map onto the first three; Tryton has no field
  for a stage between them, so `negotiation` is not claimed.
- A lead is the same record seen earlier: `lead` is new, anything past it is converted.
- A sale is draft, quotation, confirmed, processing (Tryton moves a confirmed sale on at
  once) and done; an invoice draft, validated, posted, paid, cancelled.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from crmproof.adapter import Refused

# canonical stage -> the Tryton state that represents it
OPPORTUNITY_TO_STATE = {
    "prospecting": "lead",
    "qualification": "opportunity",
    "proposal": "converted",
    "won": "won",
    "lost": "lost",
}
# Tryton state -> canonical stage; `cancelled` (reached only on the way to deletion) reads
# as lost, the nearest canonical stage.
OPPORTUNITY_FROM_STATE = {
    "lead": "prospecting",
    "opportunity": "qualification",
    "converted": "proposal",
    "won": "won",
    "lost": "lost",
    "cancelled": "lost",
}
LEAD_FROM_STATE = {
    "lead": "new",
    "opportunity": "converted",
    "converted": "converted",
    "won": "converted",
    "lost": "lost",
    "cancelled": "lost",
}
LEAD_TO_STATES = {
    "new": ["lead"],
    "converted": ["opportunity", "converted", "won"],
    "lost": ["lost", "cancelled"],
}
ORDER_FROM_STATE = {
    "draft": "draft",
    "quotation": "quoted",
    "confirmed": "confirmed",
    "processing": "confirmed",
    "done": "done",
    "cancelled": "cancelled",
}
INVOICE_FROM_STATE = {
    "draft": "draft",
    "validated": "draft",
    "posted": "posted",
    "paid": "paid",
    "cancelled": "cancelled",
}


def states_for(mapping: dict[str, str], stage: str) -> list[str]:
    """The Tryton states that read as the canonical `stage` (for searching)."""
    return [state for state, canonical in mapping.items() if canonical == stage]


def number(value: Any) -> int | float | None:
    """A Tryton Decimal or float as a plain number: int when it is whole."""
    if value is None:
        return None
    value = Decimal(str(value))
    return int(value) if value == value.to_integral_value() else float(value)


def decimal(value: Any, field: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise Refused(f"{field} must be a number, not {value!r}") from None


def date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise Refused(f"{field} must be an ISO date (YYYY-MM-DD), not {value!r}") from None


def iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def record_id(value: Any, what: str) -> int:
    """A canonical id (a string) as Tryton's integer id."""
    try:
        return int(str(value))
    except ValueError:
        raise Refused(f"no {what} with id {value!r}", "not_found") from None


def ref(value: int | None) -> str | None:
    return str(value) if value else None
