"""The conformance kit's judgement: fixtures, canonical records, comparisons, the wire."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from crmproof.adapter import Adapter
from crmproof.conformance.data import (
    differences,
    find_key,
    fixture,
    non_json,
    record_problems,
    update_field,
)
from crmproof.conformance.kit import capability_problems
from crmproof.conformance.link import Link
from crmproof.protocol import Capabilities, EntitySupport, Operation


def test_fixture_marks_names_and_writes_only_declared_fields() -> None:
    data = fixture(
        "contact",
        ["first_name", "last_name", "name", "email", "account", "title"],
        "crmproof-check-0a0b",
        {"account": "42"},
        None,
        full=True,
        serial=3,
    )
    assert data == {
        "first_name": "Check",
        "last_name": "crmproof-check-0a0b-3",  # not `name` as well: the parts are declared
        "account": "42",
        "email": "crmproof-check-0a0b-3@example.test",
        "title": "crmproof-check-0a0b title",
    }
    minimal = fixture("contact", ["name", "email"], "crmproof-check-0a0b", {}, None, full=False)
    assert minimal == {"name": "crmproof-check-0a0b contact 1"}


def test_fixture_never_writes_read_only_or_stage_fields() -> None:
    data = fixture(
        "order",
        ["account", "lines", "total", "stage", "reference"],
        "m",
        {"account": "7"},
        "SKU-1",
        full=True,
    )
    assert "total" not in data and "stage" not in data
    assert data["lines"] == [{"product": "SKU-1", "quantity": 1, "price": 10}]
    assert find_key("order", data, ["account", "lines", "reference"]) == "account"
    assert update_field("order", ["account", "lines", "total", "reference"]) == "reference"


def test_record_problems_name_what_is_not_canonical() -> None:
    assert record_problems("account", {"id": "1", "name": "A"}) == []
    problems = record_problems("opportunity", {"name": "x", "request": 3, "stage": "closed won"})
    assert any("without an `id`" in p for p in problems)
    assert any("non-canonical field(s) request" in p for p in problems)
    assert any("stage 'closed won' is not canonical" in p for p in problems)


def test_differences_allow_normalising_but_not_changing() -> None:
    written = {"email": "AP@Globex.test", "phone": "+1 555 0100", "amount": 1000, "name": "A"}
    record = {"email": "ap@globex.test", "phone": "+15550100", "amount": "1000.00", "name": "A"}
    assert differences("opportunity", {"amount": 1000, "name": "A"}, record) == []
    assert (
        differences("account", {"email": written["email"], "phone": written["phone"]}, record) == []
    )
    found = differences("account", {"name": "A", "city": "Oslo"}, {"name": "B"})
    assert found == [
        "name: wrote 'A', read back 'B'",
        "city: written, but the record has no `city`",
    ]


def test_capability_claims_must_use_the_vocabulary() -> None:
    caps = Capabilities(
        entities={
            "account": EntitySupport(operations=["create", "advance"], fields=["name", "vat"]),
            "deal": EntitySupport(operations=["create"]),
            "lead": EntitySupport(operations=["advance"], stages=["new", "hot"]),
        },
        operations=["teleport"],
    )
    problems = capability_problems(caps)
    assert "account: 'advance' does not apply to a account" in problems
    assert "account: non-canonical field(s) vat" in problems
    assert "unknown entity 'deal'" in problems
    assert "lead: non-canonical stage(s) hot" in problems
    assert "unknown session operation 'teleport'" in problems


class _DecimalAdapter(Adapter):
    """Returns a Decimal: equal in process, a string over the protocol."""

    name = "decimals"

    def capabilities(self) -> Capabilities:
        return Capabilities(entities={"order": EntitySupport(operations=["get"])})

    def get_order(self, op: Operation) -> dict[str, Any]:
        return {"id": op.id, "total": Decimal("1500.00")}


def test_in_process_outcomes_are_seen_as_they_would_arrive_over_the_protocol() -> None:
    assert non_json({"id": "1", "lines": [{"price": Decimal("1")}]}) == ["lines[0].price (Decimal)"]
    link = Link(_DecimalAdapter())
    outcome = link.perform(Operation(op="get", entity="order", id="9"))
    assert outcome.status == "ok"
    assert outcome.record == {"id": "9", "total": "1500.00"}  # what a runner over stdio sees
    # The Adapter base already turns records into plain JSON, so there is nothing to flag.
    assert link.take_notes() == []


def test_declarations_of_what_is_lacking_must_name_the_vocabulary() -> None:
    caps = Capabilities(
        not_offered={"creat activity": "typo", "lead.source": "", "advance case to gone": "x"},
        channel_limits={"offline": "an API has no connection to lose"},
    )
    assert capability_problems(caps) == [
        "not_offered 'creat activity': no operation 'creat'",
        "not_offered 'lead.source': give the reason (cite the product)",
        "not_offered 'advance case to gone': no case stage 'gone'",
    ]
