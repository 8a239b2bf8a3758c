"""The BottleCRM adapter against a real BottleCRM server (the local sandbox).

Every test works through `Adapter.perform`, as the runner does, records what each step
created, and cleans up the way the runner does (deletes with `cleanup=True`, newest
first); the teardown then asks the adapter for leftovers carrying the test's marker.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from crmproof import discovery, secrets_store
from crmproof.adapter import Adapter
from crmproof.protocol import Operation, Outcome, RecordRef

pytestmark = pytest.mark.vendor("bottlecrm")


@pytest.fixture(scope="module")
def adapter(vendor_sandbox, workspace) -> Iterator[Adapter]:
    vendor_sandbox("bottlecrm")
    secrets = secrets_store.read_secrets()
    settings = {
        "url": secrets["BOTTLECRM_URL"],
        "token": secrets["BOTTLECRM_TOKEN"],
        "actors": {
            "rep_a": secrets["BOTTLECRM_REP_A_TOKEN"],
            "rep_b": secrets["BOTTLECRM_REP_B_TOKEN"],
        },
    }
    instance = discovery.load("bottlecrm", workspace / "adapters").adapter()
    version = instance.open(settings)
    assert version and version.startswith("1.35")
    yield instance
    instance.close()


class Crm:
    """Runs operations through `perform` and remembers what they created."""

    def __init__(self, adapter: Adapter, marker: str) -> None:
        self.adapter = adapter
        self.marker = marker
        self.created: list[RecordRef] = []

    def name(self, what: str) -> str:
        return f"{what} {self.marker}"

    def do(self, op: str, entity: str | None = None, **kw: Any) -> Outcome:
        outcome = self.adapter.perform(Operation(op=op, entity=entity, **kw))
        self.created.extend(ref for ref in outcome.created if ref not in self.created)
        return outcome

    def ok(self, op: str, entity: str | None = None, **kw: Any) -> dict[str, Any]:
        outcome = self.do(op, entity, **kw)
        assert outcome.status == "ok", f"{op} {entity}: {outcome.status}: {outcome.message}"
        assert outcome.record is not None
        return outcome.record

    def found(self, entity: str, where: dict[str, Any], actor: str | None = None) -> list[str]:
        outcome = self.do("find", entity, where=where, actor=actor)
        assert outcome.status == "ok", outcome.message
        return [r["id"] for r in outcome.records or []]

    def cleanup(self) -> None:
        """As the runner does: delete what was created, newest first, as the admin."""
        problems = []
        for ref in reversed(self.created):
            outcome = self.do("delete", ref.entity, id=ref.id, cleanup=True)
            if outcome.status != "ok":
                problems.append(f"{ref.entity} {ref.id}: {outcome.status} {outcome.message}")
        self.created.clear()
        assert not problems, problems


@pytest.fixture
def crm(adapter: Adapter) -> Iterator[Crm]:
    session = Crm(adapter, f"cp{uuid.uuid4().hex[:10]}")
    yield session
    session.cleanup()
    left = adapter.leftovers(session.marker)
    assert left is not None
    assert [r for r in left if not r.kept] == []  # only what BottleCRM keeps, neutralised


def account_with_contact(crm: Crm, actor: str | None = None) -> tuple[str, str]:
    account = crm.ok("create", "account", data={"name": crm.name("Acme")}, actor=actor)
    contact = crm.ok(
        "create",
        "contact",
        actor=actor,
        data={
            "first_name": "Ada",
            "last_name": crm.name("Lovelace"),
            "email": f"ada.{crm.marker}@example.com",
            "account": account["id"],
        },
    )
    return account["id"], contact["id"]


# -- what is claimed -------------------------------------------------------------------


def test_capabilities_are_honest(adapter: Adapter) -> None:
    caps = adapter.capabilities()
    assert set(caps.actors) == {"admin", "rep_a", "rep_b"}
    assert caps.entities["order"].stages == ["draft", "quoted", "confirmed", "cancelled"]
    assert caps.entities["opportunity"].stages == [
        "prospecting",
        "qualification",
        "proposal",
        "negotiation",
        "won",
        "lost",
    ]
    assert "delete" in caps.entities["invoice"].operations
    assert "update" not in caps.entities["invoice"].operations
    for entity, support in caps.entities.items():
        for op in support.operations:
            assert callable(getattr(adapter, f"{op}_{entity}", None)), (op, entity)
    for key, reason in adapter.not_offered.items():  # type: ignore[attr-defined]
        assert re.search(r"\.py:\d", reason), key
    assert "account.payment_term" in adapter.not_offered  # type: ignore[attr-defined]


def _raw(path: str, **params: Any) -> Any:
    """BottleCRM's own answer over HTTP, with the admin's token: no adapter in between."""
    secrets = secrets_store.read_secrets()
    response = httpx.get(
        f"{secrets['BOTTLECRM_URL'].rstrip('/')}/api{path}",
        params=params,
        headers={"Authorization": f"Bearer {secrets['BOTTLECRM_TOKEN']}"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


def test_an_order_is_an_estimate_quoted_accepted_and_invoiced(crm: Crm) -> None:
    """Orders are BottleCRM estimates: lines, a PO number custom field, send, the buyer's
    acceptance on the portal, and conversion into an invoice, each read back raw."""
    account = crm.ok(
        "create",
        "account",
        data={"name": crm.name("Southridge"), "email": f"ap.{crm.marker}@southridge.test"},
    )
    order = crm.ok(
        "create",
        "order",
        data={
            "account": account["id"],
            "reference": crm.name("PO-88213"),
            "lines": [
                {"product": "SERVICE-HOURS", "quantity": 10, "unit_price": 150},
                {"product": "LICENSE", "quantity": 2, "unit_price": 1200},
            ],
        },
    )
    assert (order["stage"], order["total"]) == ("draft", 3900)
    raw = _raw(f"/invoices/estimates/{order['id']}/")["estimate"]
    assert raw["status"] == "Draft" and raw["account"]["id"] == account["id"]
    assert raw["custom_fields"]["po_number"] == crm.name("PO-88213")
    assert sorted(float(i["quantity"]) for i in raw["line_items"]) == [2.0, 10.0]
    assert raw["contact"] is not None  # BottleCRM addresses an estimate to a person
    assert crm.found("order", {"reference": crm.name("PO-88213")}) == [order["id"]]

    assert crm.ok("advance", "order", id=order["id"], to="quoted")["stage"] == "quoted"
    assert _raw(f"/invoices/estimates/{order['id']}/")["estimate"]["status"] == "Sent"
    assert crm.ok("advance", "order", id=order["id"], to="confirmed")["stage"] == "confirmed"
    raw = _raw(f"/invoices/estimates/{order['id']}/")["estimate"]
    assert raw["status"] == "Accepted" and raw["accepted_by_email"]

    invoice = crm.ok("invoice", "order", id=order["id"])
    assert (invoice["total"], invoice["order"]) == (3900, order["id"])
    raw = _raw(f"/invoices/estimates/{order['id']}/")["estimate"]
    assert raw["converted_to_invoice"]["id"] == invoice["id"]
    assert _raw(f"/invoices/{invoice['id']}/")["invoice"]["account"]["id"] == account["id"]
    found = crm.found("invoice", {"account": account["id"], "order": order["id"]})
    assert found == [invoice["id"]]
    assert crm.do("invoice", "order", id=order["id"]).status == "refused"  # converted once


def test_an_opportunity_is_quoted_as_its_estimate(crm: Crm) -> None:
    account = crm.ok(
        "create",
        "account",
        data={"name": crm.name("Northwind"), "email": f"info.{crm.marker}@northwind.test"},
    )
    deal = crm.ok(
        "create",
        "opportunity",
        data={"name": crm.name("Consulting"), "account": account["id"], "amount": 3000},
    )
    order = crm.ok("convert", "opportunity", id=deal["id"])
    assert (order["account"], order["opportunity"]) == (account["id"], deal["id"])
    raw = _raw("/invoices/estimates/", account=account["id"])["results"]
    assert [(r["id"], r["opportunity"]["id"]) for r in raw] == [(order["id"], deal["id"])]


def test_parent_account_and_lost_reason_are_custom_fields(crm: Crm) -> None:
    """Standard configuration: the organisation's custom fields, read back raw."""
    group = crm.ok("create", "account", data={"name": crm.name("Contoso Group")})
    pharma = crm.ok(
        "create", "account", data={"name": crm.name("Contoso Pharma"), "parent": group["id"]}
    )
    assert pharma["parent"] == group["id"]
    raw = _raw(f"/accounts/{pharma['id']}/")["account_obj"]
    assert raw["custom_fields"]["parent_account"] == group["id"]
    assert crm.found("account", {"parent": group["id"]}) == [pharma["id"]]
    deal = crm.ok(
        "create",
        "opportunity",
        data={"name": crm.name("Lab notebooks"), "account": group["id"], "amount": 18500},
    )
    crm.ok("update", "opportunity", id=deal["id"], data={"lost_reason": "Chose a competitor"})
    lost = crm.ok("advance", "opportunity", id=deal["id"], to="lost")
    assert (lost["stage"], lost["lost_reason"]) == ("lost", "Chose a competitor")
    raw = _raw(f"/opportunities/{deal['id']}/")["opportunity_obj"]
    assert raw["custom_fields"]["lost_reason"] == "Chose a competitor"


# -- CRUD and find ---------------------------------------------------------------------


def test_account_crud_and_find(crm: Crm) -> None:
    data = {
        "name": crm.name("Acme"),
        "email": "sales@acme.example",
        "phone": "+14155550100",
        "website": "https://acme.example",
        "industry": "Computer",
        "city": "Paris",
        "country": "France",
    }
    created = crm.ok("create", "account", data=data)
    assert created["name"] == data["name"] and created["country"] == "France"
    assert created["industry"] == "COMPUTER"  # BottleCRM keeps its own choice code
    got = crm.ok("get", "account", id=created["id"])
    assert got == created
    updated = crm.ok("update", "account", id=created["id"], data={"city": "Lyon"})
    assert updated["city"] == "Lyon" and updated["phone"] == "+14155550100"
    crm.ok("create", "account", data={"name": crm.name("Acme") + " Two"})

    assert crm.found("account", {"name": data["name"]}) == [created["id"]]
    assert crm.found("account", {"city": "Lyon", "name": data["name"]}) == [created["id"]]
    # Spelled as the scenario wrote them, though BottleCRM keeps codes for these.
    where = {"name": data["name"], "industry": "computer", "country": "FR"}
    assert crm.found("account", where) == [created["id"]]
    assert crm.found("account", {"name": crm.name("Acm")}) == []  # exact, not substring

    deleted = crm.ok("delete", "account", id=created["id"])
    assert deleted["id"] == created["id"]
    assert crm.do("get", "account", id=created["id"]).status == "refused"
    assert crm.do("delete", "account", id=created["id"]).status == "refused"
    assert crm.do("delete", "account", id=created["id"], cleanup=True).status == "ok"


def test_contact_crud_and_find(crm: Crm) -> None:
    account = crm.ok("create", "account", data={"name": crm.name("Initech")})
    contact = crm.ok(
        "create",
        "contact",
        data={
            "first_name": "Peter",
            "last_name": crm.name("Gibbons"),
            "email": f"peter.{crm.marker}@initech.example",
            "phone": "+14155550111",
            "title": "Engineer",
            "account": account["id"],
        },
    )
    assert contact["account"] == account["id"] and contact["title"] == "Engineer"
    assert contact["name"] == f"Peter {crm.name('Gibbons')}"
    updated = crm.ok("update", "contact", id=contact["id"], data={"title": "Manager"})
    assert updated["title"] == "Manager"
    assert crm.found("contact", {"email": contact["email"]}) == [contact["id"]]
    assert crm.found("contact", {"last_name": contact["last_name"], "title": "Manager"}) == [
        contact["id"]
    ]
    assert crm.found("contact", {"last_name": contact["last_name"], "title": "CEO"}) == []
    crm.ok("delete", "contact", id=contact["id"])
    assert crm.do("get", "contact", id=contact["id"]).status == "refused"


def test_lead_crud_and_find(crm: Crm) -> None:
    lead = crm.ok(
        "create",
        "lead",
        actor="rep_a",
        data={
            "name": crm.name("Big deal"),
            "first_name": "Grace",
            "last_name": "Hopper",
            "company": crm.name("Navy"),
            "email": f"grace.{crm.marker}@navy.example",
            "source": "Call",
            "amount": 1234.5,
            "stage": "new",
        },
    )
    assert lead["amount"] == 1234.5 and lead["stage"] == "new" and lead["source"] == "Call"
    updated = crm.ok("update", "lead", id=lead["id"], actor="rep_a", data={"amount": 2000})
    assert updated["amount"] == 2000
    advanced = crm.ok("advance", "lead", id=lead["id"], to="contacted", actor="rep_a")
    assert advanced["stage"] == "contacted"
    assert crm.found("lead", {"name": lead["name"]}, actor="rep_a") == [lead["id"]]
    assert crm.found("lead", {"email": lead["email"], "amount": 2000}) == [lead["id"]]
    assert crm.found("lead", {"name": lead["name"]}, actor="rep_b") == []
    crm.ok("delete", "lead", id=lead["id"], actor="rep_a")
    assert crm.do("get", "lead", id=lead["id"]).status == "refused"


def test_lead_sources_are_the_organisations(crm: Crm) -> None:
    """Sources read back as the labels the organisation set up (`/leads/sources/`)."""
    data = {"name": crm.name("Show"), "last_name": "S", "email": f"s.{crm.marker}@x.example"}
    lead = crm.ok("create", "lead", data={**data, "source": "trade show"})
    assert lead["source"] == "Trade show"
    assert crm.found("lead", {"email": data["email"], "source": "Trade show"}) == [lead["id"]]
    unknown = crm.do("create", "lead", data={**data, "source": "Carrier pigeon"})
    assert unknown.status == "refused" and "lead sources" in (unknown.message or "")


def test_lead_qualified_on_the_lead_pipeline(adapter: Adapter, crm: Crm) -> None:
    """Qualified is the pipeline's Qualified stage; its status is "in process"."""
    lead = crm.ok(
        "create",
        "lead",
        actor="rep_a",
        data={
            "name": crm.name("Q"),
            "first_name": "Kay",
            "last_name": "Q",
            "email": f"kay.{crm.marker}@q.example",
            "stage": "new",
        },
    )
    assert lead["stage"] == "new"
    contacted = crm.ok("advance", "lead", id=lead["id"], to="contacted", actor="rep_a")
    assert contacted["stage"] == "contacted"
    qualified = crm.ok("advance", "lead", id=lead["id"], to="qualified", actor="rep_a")
    assert qualified["stage"] == "qualified"
    assert crm.found("lead", {"name": lead["name"], "stage": "qualified"}) == [lead["id"]]
    assert crm.found("lead", {"name": lead["name"], "stage": "contacted"}) == []
    made = crm.ok("create", "lead", data={"name": crm.name("Q2"), "stage": "qualified"})
    assert made["stage"] == "qualified"
    assert crm.ok("update", "lead", id=made["id"], data={"stage": "lost"})["stage"] == "lost"
    deal = crm.ok("convert", "lead", id=lead["id"], actor="rep_a")
    assert deal["stage"] == "qualification"
    assert crm.ok("get", "lead", id=lead["id"])["stage"] == "converted"
    # Without a lead pipeline BottleCRM has statuses only, and none means qualified.
    plain = type(adapter)()
    plain._api = adapter._api
    plain._lead_board_cache = type(adapter._lead_board())(ids={}, names={})
    outcome = plain.perform(Operation(op="advance", entity="lead", id=made["id"], to="qualified"))
    assert outcome.status == "unsupported" and "in process" in (outcome.message or "")
    outcome = plain.perform(Operation(op="create", entity="lead", data={"stage": "qualified"}))
    assert outcome.status == "unsupported" and outcome.created == []


def test_find_pages_through_results(crm: Crm) -> None:
    city = crm.name("Springfield")
    ids = {
        crm.ok("create", "account", data={"name": crm.name(f"Paged {i:02d}"), "city": city})["id"]
        for i in range(12)
    }
    assert set(crm.found("account", {"city": city})) == ids  # two pages of ten
    # No server-side filter for a lead's title: every page of leads is read.
    leads = [
        crm.ok("create", "lead", data={"name": crm.name(f"Lead {i:02d}"), "last_name": "X"})
        for i in range(11)
    ]
    assert crm.found("lead", {"name": leads[0]["name"]}) == [leads[0]["id"]]
    assert crm.found("lead", {"name": leads[-1]["name"]}) == [leads[-1]["id"]]


# -- pipeline --------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["won", "lost"])
def test_opportunity_to_close(crm: Crm, outcome: str) -> None:
    account = crm.ok("create", "account", data={"name": crm.name("Globex")})
    deal = crm.ok(
        "create",
        "opportunity",
        data={
            "name": crm.name("Deal"),
            "account": account["id"],
            "amount": 5000,
            "probability": 10,
            "stage": "prospecting",
        },
    )
    assert deal["stage"] == "prospecting" and deal["close_date"] is None
    for stage in ("qualification", "proposal", "negotiation"):
        assert crm.ok("advance", "opportunity", id=deal["id"], to=stage)["stage"] == stage
    closed = crm.ok("advance", "opportunity", id=deal["id"], to=outcome)
    assert closed["stage"] == outcome
    assert closed["close_date"]  # BottleCRM stamps the close date when closing
    assert crm.found("opportunity", {"name": deal["name"], "stage": outcome}) == [deal["id"]]
    assert crm.do("advance", "opportunity", id=deal["id"], to="shipped").status == "unsupported"


def test_won_needs_an_amount(crm: Crm) -> None:
    deal = crm.ok("create", "opportunity", data={"name": crm.name("No amount")})
    outcome = crm.do("advance", "opportunity", id=deal["id"], to="won")
    assert outcome.status == "refused" and "worth" in (outcome.message or "")


def test_lead_converted(crm: Crm) -> None:
    lead = crm.ok(
        "create",
        "lead",
        actor="rep_a",
        data={
            "name": crm.name("Convert me"),
            "first_name": "Alan",
            "last_name": "Turing",
            "company": crm.name("Bletchley"),
            "email": f"alan.{crm.marker}@bletchley.example",
            "amount": 7500,
        },
    )
    outcome = crm.do("convert", "lead", id=lead["id"], to="opportunity", actor="rep_a")
    assert outcome.status == "ok", outcome.message
    deal = outcome.record
    assert deal is not None and deal["amount"] == 7500 and deal["stage"] == "qualification"
    made = {ref.entity: ref.id for ref in outcome.created}
    assert set(made) == {"account", "contact", "opportunity"}
    assert made["opportunity"] == deal["id"] and made["account"] == deal["account"]
    account = crm.ok("get", "account", id=made["account"], actor="rep_a")
    assert account["name"] == lead["company"]
    contact = crm.ok("get", "contact", id=made["contact"], actor="rep_a")
    assert contact["email"] == lead["email"] and contact["account"] == made["account"]
    assert crm.ok("get", "lead", id=lead["id"], actor="rep_a")["stage"] == "converted"
    again = crm.do("convert", "lead", id=lead["id"], actor="rep_a")
    assert again.status == "refused"


def test_conversion_into_existing_account_reports_only_new_records(crm: Crm) -> None:
    existing = crm.ok("create", "account", data={"name": crm.name("Existing")}, actor="rep_a")
    lead = crm.ok(
        "create",
        "lead",
        actor="rep_a",
        data={
            "last_name": "Joiner",
            "company": existing["name"],
            "email": f"joiner.{crm.marker}@example.com",
            "amount": 10,
        },
    )
    outcome = crm.do("convert", "lead", id=lead["id"], actor="rep_a")
    assert outcome.status == "ok", outcome.message
    assert outcome.record is not None and outcome.record["account"] == existing["id"]
    assert {ref.entity for ref in outcome.created} == {"contact", "opportunity"}


# -- service and activities ------------------------------------------------------------


def test_case_and_task(crm: Crm) -> None:
    account_id, contact_id = account_with_contact(crm)
    case = crm.ok(
        "create",
        "case",
        data={
            "subject": crm.name("Printer on fire"),
            "account": account_id,
            "contact": contact_id,
            "description": "It is on fire.",
            "priority": "urgent",
        },
    )
    assert case["stage"] == "open" and case["priority"] == "urgent"
    assert case["contact"] == contact_id
    task = crm.ok(
        "create",
        "activity",
        data={
            "subject": crm.name("Call back"),
            "kind": "task",
            "contact": contact_id,
            "case": case["id"],
            "due_date": "2030-01-15",
            "description": "Ask about the printer",
        },
    )
    assert task["id"] and task["case"] == case["id"] and task["due_date"] == "2030-01-15"
    assert task["stage"] == "planned" and task["contact"] == contact_id
    assert crm.found("activity", {"subject": task["subject"]}) == [task["id"]]
    assert crm.found("activity", {"subject": task["subject"], "contact": contact_id}) == [
        task["id"]
    ]
    assert crm.ok("advance", "activity", id=task["id"], to="done")["stage"] == "done"
    assert crm.ok("advance", "case", id=case["id"], to="closed")["stage"] == "closed"
    assert crm.found("case", {"subject": case["subject"], "stage": "closed"}) == [case["id"]]
    outcome = crm.do("create", "activity", data={"subject": crm.name("Fax"), "kind": "fax"})
    assert outcome.status == "unsupported"
    # BottleCRM's rule: a task hangs off one parent record only, even when the second is
    # the case's own account. The adapter sends what was asked and BottleCRM refuses it;
    # it never drops a link that the proven write would then miss.
    both = {"subject": crm.name("Case and its account"), "account": account_id}
    outcome = crm.do("create", "activity", data={**both, "case": case["id"]})
    assert outcome.status == "refused" and "one parent" in (outcome.message or "")


def test_logged_calls_emails_and_meetings(crm: Crm) -> None:
    """Calls, e-mails and meetings are BottleCRM interactions, each on one record."""
    account_id, contact_id = account_with_contact(crm)
    case = crm.ok("create", "case", data={"subject": crm.name("Jam"), "account": account_id})
    deal = crm.ok("create", "opportunity", data={"name": crm.name("Deal"), "account": account_id})
    call = crm.ok(
        "create",
        "activity",
        data={"subject": crm.name("Call"), "kind": "call", "account": account_id, "stage": "done"},
    )
    assert call["kind"] == "call" and call["account"] == account_id and call["stage"] == "done"
    assert crm.ok("get", "activity", id=call["id"]) == call
    # An interaction names exactly one record: the case and its own account is refused.
    mail_data = {
        "subject": crm.name("Mail"),
        "kind": "email",
        "case": case["id"],
        "description": "Firmware steps",
    }
    outcome = crm.do("create", "activity", data={**mail_data, "account": account_id})
    assert outcome.status == "refused" and "exactly one record" in (outcome.message or "")
    mail = crm.ok("create", "activity", data=mail_data)
    assert mail["case"] == case["id"] and mail["account"] is None
    assert mail["description"] == "Firmware steps" and mail["stage"] == "done"
    meeting = crm.ok(
        "create",
        "activity",
        data={
            "subject": crm.name("Meeting"),
            "kind": "meeting",
            "opportunity": deal["id"],
            "due_date": "2024-03-05",
        },
    )
    assert meeting["due_date"] == "2024-03-05" and meeting["opportunity"] == deal["id"]
    on_contact = crm.ok(
        "create",
        "activity",
        data={"subject": crm.name("Ring"), "kind": "call", "contact": contact_id},
    )
    assert on_contact["contact"] == contact_id
    assert crm.found("activity", {"case": case["id"]}) == [mail["id"]]
    assert crm.found("activity", {"opportunity": deal["id"], "kind": "meeting"}) == [meeting["id"]]
    # An account's timeline holds what was logged on it, not on its case or its deal.
    assert crm.found("activity", {"account": account_id}) == [call["id"]]
    assert crm.found("activity", {"subject": mail["subject"]}) == [mail["id"]]
    assert crm.found("activity", {"case": case["id"], "kind": "task"}) == []
    updated = crm.ok("update", "activity", id=call["id"], data={"description": "Left a note"})
    assert updated["description"] == "Left a note"
    assert crm.ok("get", "activity", id=call["id"])["description"] == "Left a note"
    assert crm.ok("advance", "activity", id=call["id"], to="done")["stage"] == "done"
    # BottleCRM logs what happened: no planned call, none in the future, no kind change.
    assert crm.do("advance", "activity", id=call["id"], to="planned").status == "unsupported"
    planned = {"subject": crm.name("Later"), "kind": "call", "case": case["id"]}
    assert crm.do("create", "activity", data={**planned, "stage": "planned"}).status == (
        "unsupported"
    )
    future = crm.do("create", "activity", data={**planned, "due_date": "2099-01-01"})
    assert future.status == "refused" and "future" in (future.message or "")
    assert crm.do("update", "activity", id=call["id"], data={"kind": "task"}).status == (
        "unsupported"
    )
    changed = crm.do("update", "activity", id=call["id"], data={"kind": "email"})
    assert changed.status == "refused" and "kind" in (changed.message or "")
    # A case and an account it does not belong to are two records: BottleCRM refuses.
    other = crm.ok("create", "account", data={"name": crm.name("Elsewhere")})
    two = crm.do("create", "activity", data={**planned, "account": other["id"]})
    assert two.status == "refused" and "exactly one record" in (two.message or "")
    assert crm.ok("delete", "activity", id=mail["id"]) == {"id": mail["id"]}
    assert crm.do("get", "activity", id=mail["id"]).status == "refused"
    assert crm.found("activity", {"case": case["id"]}) == []


def test_interaction_follows_its_record_permissions(adapter: Adapter, crm: Crm) -> None:
    account = crm.ok("create", "account", actor="rep_a", data={"name": crm.name("Own")})
    call = crm.ok(
        "create",
        "activity",
        actor="rep_a",
        data={"subject": crm.name("Mine"), "kind": "call", "account": account["id"]},
    )
    assert crm.ok("get", "activity", id=call["id"], actor="rep_a")["id"] == call["id"]
    assert crm.do("get", "activity", id=call["id"], actor="rep_b").status == "refused"
    assert crm.found("activity", {"account": account["id"]}, actor="rep_b") == []
    assert crm.do("delete", "activity", id=call["id"], actor="rep_b").status == "refused"
    # A fresh adapter, which never saw the call, still finds and reads it.
    fresh = type(adapter)()
    fresh._api = adapter._api  # the same connection and tokens
    outcome = fresh.perform(Operation(op="get", entity="activity", id=call["id"]))
    assert outcome.status == "ok" and outcome.record == call
    assert call["id"] in {r.id for r in fresh.leftovers(crm.marker) or []}


# -- invoices --------------------------------------------------------------------------


def test_invoice_created_and_cancelled(crm: Crm) -> None:
    account_id, _ = account_with_contact(crm)
    invoice = crm.ok(
        "create",
        "invoice",
        data={
            "account": account_id,
            "due_date": "2030-02-28",
            "payment_term": "Net 30",
            "lines": [
                {"product": "Widget", "quantity": 2, "unit_price": 50},
                {"product": "Setup", "quantity": 1, "unit_price": 20.5},
            ],
        },
    )
    assert invoice["stage"] == "draft" and invoice["total"] == 120.5
    assert invoice["payment_term"] == "Net 30" and invoice["due_date"] == "2030-02-28"
    assert crm.ok("get", "invoice", id=invoice["id"]) == invoice
    assert crm.found("invoice", {"account": account_id}) == [invoice["id"]]
    deleted = crm.do("delete", "invoice", id=invoice["id"])
    assert deleted.status == "ok" and deleted.record == {"id": invoice["id"]}
    assert (deleted.kept or "").startswith("cancelled: ")  # kept by design, and said so
    assert crm.ok("get", "invoice", id=invoice["id"])["stage"] == "cancelled"
    assert crm.do("delete", "invoice", id=invoice["id"]).status == "refused"
    # BottleCRM keeps an invoiced account: deleting it is refused outside cleanup.
    refused = crm.do("delete", "account", id=account_id)
    assert refused.status == "refused" and "invoices" in (refused.message or "")


def test_product_crud_and_invoice_line(crm: Crm) -> None:
    code = crm.name("SKU").replace(" ", "-")
    product = crm.ok(
        "create", "product", data={"code": code, "name": crm.name("Gadget"), "price": 12.5}
    )
    assert product["code"] == code and product["price"] == 12.5
    assert crm.ok("update", "product", id=product["id"], data={"price": 15})["price"] == 15
    assert crm.found("product", {"code": code}) == [product["id"]]
    account_id, _ = account_with_contact(crm)
    invoice = crm.ok(
        "create",
        "invoice",
        data={"account": account_id, "lines": [{"product": code, "quantity": 3}]},
    )
    assert invoice["lines"] == [{"product": code, "quantity": 3, "unit_price": 15}]
    assert invoice["total"] == 45


def test_paid_invoice_is_cleaned_up(crm: Crm) -> None:
    account_id, _ = account_with_contact(crm)
    invoice = crm.ok(
        "create",
        "invoice",
        data={
            "account": account_id,
            "lines": [{"product": "Thing", "quantity": 1, "unit_price": 9}],
        },
    )
    assert crm.ok("advance", "invoice", id=invoice["id"], to="paid")["stage"] == "paid"
    assert crm.do("delete", "invoice", id=invoice["id"]).status == "refused"  # not outside cleanup


def test_invoice_needs_a_contact(crm: Crm) -> None:
    account = crm.ok("create", "account", data={"name": crm.name("Lonely")})
    outcome = crm.do("create", "invoice", data={"account": account["id"]})
    assert outcome.status == "refused" and "contact" in (outcome.message or "")


# -- record-level permissions ----------------------------------------------------------


def test_rep_b_cannot_read_rep_a_lead(crm: Crm) -> None:
    lead = crm.ok(
        "create", "lead", actor="rep_a", data={"name": crm.name("Mine"), "last_name": "A"}
    )
    assert crm.ok("get", "lead", id=lead["id"], actor="rep_a")["name"] == lead["name"]
    refused = crm.do("get", "lead", id=lead["id"], actor="rep_b")
    assert refused.status == "refused" and "not found" in (refused.message or "")
    assert crm.do("update", "lead", id=lead["id"], actor="rep_b", data={"amount": 1}).status == (
        "refused"
    )
    assert crm.do("delete", "lead", id=lead["id"], actor="rep_b").status == "refused"
    assert crm.ok("get", "lead", id=lead["id"])["id"] == lead["id"]  # the admin sees it


def test_errors_are_refusals_or_vendor_errors(crm: Crm) -> None:
    missing = str(uuid.uuid4())
    assert crm.do("get", "case", id=missing).status == "refused"
    bad = crm.do("create", "account", data={"name": crm.name("Bad"), "website": "no url"})
    assert bad.status == "refused" and "website" in (bad.message or "")
    assert crm.do("get", "account", id=missing, actor="nobody").status == "error"


# -- nothing left behind ---------------------------------------------------------------


def test_leftovers_sees_live_records_and_cleanup_removes_them(adapter: Adapter, crm: Crm) -> None:
    account_id, contact_id = account_with_contact(crm)
    crm.ok("create", "opportunity", data={"name": crm.name("Deal"), "account": account_id})
    crm.ok("create", "case", data={"subject": crm.name("Case"), "account": account_id})
    crm.ok("create", "activity", data={"subject": crm.name("Task"), "contact": contact_id})
    crm.ok(
        "create",
        "activity",
        data={"subject": crm.name("Call"), "kind": "call", "contact": contact_id},
    )
    crm.ok("create", "lead", data={"name": crm.name("Lead"), "last_name": "L"})
    lead = crm.ok(
        "create",
        "lead",
        actor="rep_b",
        data={"company": crm.name("Conv"), "email": f"c.{crm.marker}@example.com", "amount": 5},
    )
    crm.ok("convert", "lead", id=lead["id"], actor="rep_b")
    crm.ok("create", "product", data={"code": crm.marker, "name": crm.name("Part")})
    crm.ok(
        "create",
        "invoice",
        data={"account": account_id, "lines": [{"product": "A", "quantity": 1, "unit_price": 1}]},
    )
    left = {ref.entity for ref in adapter.leftovers(crm.marker) or []}
    assert left == {
        "account",
        "contact",
        "opportunity",
        "case",
        "activity",
        "lead",
        "invoice",
        "product",
    }
    crm.cleanup()
    left_after = {(r.entity, r.kept) for r in adapter.leftovers(crm.marker) or []}
    # BottleCRM never deletes an invoice, nor an account an invoice refers to.
    assert left_after == {("invoice", "cancelled"), ("account", "deactivated")}
