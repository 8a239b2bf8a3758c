"""An adapter's record reaches the engine as JSON would carry it, whatever it returned.

Records are passed through unchanged when they already are JSON values (nearly always, and
the conversion was a tenth of the harness's cost per step); anything else (a Decimal
amount, a date, a tuple, a non-text key) is converted as over the protocol.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from crmproof import Operation
from tests.memory_adapter import MemoryCrm


class Returns(MemoryCrm):
    """Answers every get with one fixed record."""

    answer: Any = None

    def get_account(self, op: Operation) -> dict[str, Any]:
        return self.answer  # type: ignore[no-any-return]


def _record(answer: Any) -> Any:
    adapter = Returns()
    adapter.answer = answer
    outcome = adapter.perform(Operation(op="get", entity="account", id="1"))
    assert outcome.status == "ok", outcome.message
    return outcome.record


def test_json_values_pass_unchanged() -> None:
    record = {
        "id": "1",
        "name": "Acme",
        "n": 3,
        "x": 1.5,
        "ok": True,
        "none": None,
        "tags": ["a", {"b": [1, 2]}],
    }
    assert _record(record) == record


def test_other_values_arrive_as_json_would_carry_them() -> None:
    record = {
        "id": 7,
        "amount": Decimal("12.50"),
        "due": dt.date(2026, 11, 30),
        "pair": (1, 2),
        "by_year": {2026: "x"},
        "nested": [{"at": dt.datetime(2026, 11, 30, 9, 0)}],
    }
    assert _record(record) == {
        "id": 7,
        "amount": "12.50",
        "due": "2026-11-30",
        "pair": [1, 2],
        "by_year": {"2026": "x"},
        "nested": [{"at": "2026-11-30 09:00:00"}],
    }
