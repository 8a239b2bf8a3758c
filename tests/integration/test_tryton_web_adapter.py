"""The tryton-web adapter against the real Tryton sandbox, through sao's UI in Chromium.

Each test is a small scenario driven as the runner drives one (`perform`, then cleanup of
what it created, newest first), and checks what Tryton itself then holds through a
separate JSON-RPC session: that the UI really did it, and that cleanup really removed it.
The session's tryton sandbox serves sao (tests/conftest.py), and one browser serves the module:
a sao step costs seconds, so each test walks one whole story rather than one step.
"""

from __future__ import annotations

import datetime as dt
import importlib
import re
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from crmproof import discovery
from crmproof.adapter import VendorError
from crmproof.protocol import Operation, Outcome, RecordRef
from crmproof.secrets_store import read_secrets
from tests.session_churn import sessions_churning

WORKSPACE = Path(__file__).resolve().parents[2]
ADAPTERS = WORKSPACE / "adapters"


@pytest.fixture(scope="module")
def secrets(vendor_sandbox: Callable[[str], dict[str, Any]]) -> dict[str, str]:
    vendor_sandbox("tryton")  # the session's sandbox (tests/conftest.py)
    return read_secrets()


def _actors(s: dict[str, str]) -> dict[str, dict[str, str]]:
    return {
        rep: {
            "user": s[f"TRYTON_{rep.upper()}_USER"],
            "password": s[f"TRYTON_{rep.upper()}_PASSWORD"],
        }
        for rep in ("rep_a", "rep_b")
    }


@pytest.fixture(scope="module")
def web(secrets: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    adapter = discovery.load("tryton-web", ADAPTERS).adapter()
    adapter.evidence_dir = str(tmp_path_factory.mktemp("run") / "evidence" / "tryton-web")
    adapter.open(
        {
            "url": secrets["TRYTON_WEB_URL"],
            "api_url": secrets["TRYTON_URL"],
            "database": secrets["TRYTON_WEB_DATABASE"],
            "user": secrets["TRYTON_USER"],
            "password": secrets["TRYTON_PASSWORD"],
            "actors": _actors(secrets),
            # the reference run's wait (60 s): a won opportunity confirms its sale, and
            # sao's calls for that took over 30 s on a loaded 2-core CI machine
            "timeout": 60,
            # a trace costs a third of a browser vendor's time; a failure keeps its
            # screenshot (the runner's tests cover the trace policies)
            "trace": "never",
        }
    )
    yield adapter
    # sao's sessions are ended as the adapter closes: Tryton slows with each one left open
    rpc = f"{secrets['TRYTON_URL']}/{secrets['TRYTON_WEB_DATABASE']}/rpc/"
    body = {"id": 1, "method": "model.res.user.get_preferences", "params": [True, {}]}
    header = importlib.import_module(type(adapter.api.rpc).__module__).session_header
    sessions = [header(*session) for session in adapter.sao_sessions]

    def statuses() -> set[int]:
        return {
            httpx.post(rpc, json=body, headers={"Authorization": s}).status_code for s in sessions
        }

    assert sessions and statuses() == {200}
    adapter.close()
    assert statuses() == {401}


@pytest.fixture(scope="module")
def rpc(secrets: dict[str, str]) -> Iterator[Any]:
    """A plain JSON-RPC session as admin: what Tryton really holds, apart from sao."""
    api = discovery.load("tryton", ADAPTERS).adapter()
    api.open(
        {
            "url": secrets["TRYTON_URL"],
            "database": secrets["TRYTON_WEB_DATABASE"],
            "user": secrets["TRYTON_USER"],
            "password": secrets["TRYTON_PASSWORD"],
        }
    )
    yield api
    api.close()


class Scenario:
    def __init__(self, adapter: Any, name: str) -> None:
        self.adapter = adapter
        self.name = name
        self.marker = f"cw{uuid.uuid4().hex[:10]}"
        self.created: list[RecordRef] = []
        adapter.begin(name)

    def do(self, op: str, entity: str | None = None, **kwargs: Any) -> Outcome:
        outcome = self.adapter.perform(Operation(op=op, entity=entity, **kwargs))
        self.created += [r for r in outcome.created if r not in self.created]
        if op == "delete" and outcome.status == "ok":
            self.created = [r for r in self.created if (r.entity, r.id) != (entity, kwargs["id"])]
        return outcome

    def ok(self, op: str, entity: str | None = None, **kwargs: Any) -> Outcome:
        outcome = self.do(op, entity, **kwargs)
        assert outcome.status == "ok", f"{op} {entity}: {outcome.status}: {outcome.message}"
        return outcome

    def finish(self, status: str = "passed") -> list[RecordRef]:
        problems = []
        for ref in reversed(self.created):
            outcome = self.adapter.perform(
                Operation(op="delete", entity=ref.entity, id=ref.id, cleanup=True)
            )
            if outcome.status != "ok":
                problems.append(f"{ref.entity} {ref.id}: {outcome.message}")
        self.created = []
        self.adapter.end(self.name, status)
        assert not problems, problems
        return [r for r in self.adapter.leftovers(self.marker) if not r.kept]


@pytest.fixture
def scenario(web: Any, request: pytest.FixtureRequest) -> Iterator[Scenario]:
    s = Scenario(web, request.node.name)
    yield s
    if s.created:
        s.finish("failed")


def _exists(rpc: Any, model: str, record_id: str) -> bool:
    return bool(rpc.exists(model, int(record_id)))


def _one(rpc: Any, model: str, record_id: str, field: str) -> Any:
    """A field of a record as Tryton holds it, read apart from the adapter."""
    rows = rpc.search_read(model, [["id", "=", int(record_id)]], [field])
    assert rows, f"{model} {record_id} is not in Tryton"
    return rows[0][field]


def test_namesakes_an_account_its_contacts_deals_and_cases(scenario: Scenario, rpc: Any) -> None:
    """Two parties of one name (the API and the web channel of one run make them on one
    server): every link sao makes is to the record meant, as Tryton holds it. The account
    is created, updated, found and deleted; its contact found by account; a deal on the
    other namesake lost and deleted; a case filed and closed."""
    s, m = scenario, scenario.marker
    name = f"Globex {m}"
    # the namesake made first, through the API; sao lists one of the two first, and each
    # is linked to once below, so taking the first of sao's list links a wrong one
    first = rpc.perform(Operation(op="create", entity="account", data={"name": name}))
    assert first.status == "ok" and first.record is not None, first.message
    s.created.append(RecordRef(entity="account", id=first.record["id"]))
    other = first.record["id"]

    created = s.ok("create", "account", data={"name": name, "email": f"ap@{m}.test"})
    record = created.record
    assert record is not None
    assert record["name"] == name and record["email"] == f"ap@{m}.test"
    acc_id = record["id"]
    assert _exists(rpc, "party.party", acc_id)  # the UI saved it in Tryton
    effort = created.effort
    assert effort is not None
    # a login (admin is the default actor), the party list, then the new form
    assert effort.keystrokes >= len(name) + len(f"ap@{m}.test")
    assert effort.clicks >= 3 and effort.pages >= 2
    assert created.evidence == []  # screenshots: on failure only (the default policy)

    updated = s.ok("update", "account", id=acc_id, data={"phone": "+49 30 1234"})
    assert updated.record is not None and updated.record["phone"] == "+49 30 1234"
    assert s.ok("get", "account", id=acc_id).record["phone"] == "+49 30 1234"
    found = s.ok("find", "account", where={"name": name}).records or []
    assert sorted(r["id"] for r in found) == sorted([acc_id, other])
    assert s.ok("find", "account", where={"name": f"Nobody {m}"}).records == []

    # Tagged Contact in sao's category search and linked by a Works-for relation to the
    # second namesake: sao's search dialog tells them apart by their codes.
    contact = s.ok(
        "create",
        "contact",
        data={"name": f"Rafael Souza {m}", "email": f"rafael@{m}.test", "account": acc_id},
    ).record
    assert contact is not None
    assert _one(rpc, "party.party", contact["id"], "categories"), "saved without its category"
    relations = rpc.search_read("party.relation.all", [["from_", "=", int(contact["id"])]], ["to"])
    assert [str(r["to"]) for r in relations] == [acc_id], f"linked to {relations}, not {acc_id}"
    by_name = s.ok("find", "contact", where={"name": f"Rafael Souza {m}"}).records
    assert [r["id"] for r in by_name or []] == [contact["id"]]
    at_account = s.ok("find", "contact", where={"account": acc_id}).records
    assert [r["id"] for r in at_account or []] == [contact["id"]]

    # a deal on the first namesake: lost with its reason through its buttons, then deleted
    opp = s.ok(
        "create",
        "opportunity",
        data={
            **{"name": f"Globex renewal {m}", "account": other, "amount": 900},
            **{"probability": 40, "close_date": "2027-02-26", "contact": contact["id"]},
        },
    ).record
    assert opp is not None and opp["stage"] == "prospecting"
    # the buyer, through their e-mail (Tryton's link from a deal to a person)
    buyer = rpc.search_read("sale.opportunity", [["id", "=", int(opp["id"])]], ["contact.party"])
    assert str(buyer[0]["contact."]["party"]) == contact["id"] == opp["contact"]
    assert str(_one(rpc, "sale.opportunity", opp["id"], "party")) == other
    # typed as the user's locale shows them (a percentage, a date), kept as Tryton's own
    assert _one(rpc, "sale.opportunity", opp["id"], "end_date") == dt.date(2027, 2, 26)
    assert _one(rpc, "sale.opportunity", opp["id"], "conversion_probability") == 0.4
    revised = s.ok("update", "opportunity", id=opp["id"], data={"close_date": "2027-03-31"})
    assert revised.record is not None and revised.record["close_date"] == "2027-03-31"
    # sao shows the reason for loss only on a lost opportunity (its `states`), though
    # Tryton's JSON-RPC `write` would take it: no user can type it in before
    early = s.do("update", "opportunity", id=opp["id"], data={"lost_reason": "too early"})
    assert early.status == "refused", early.message
    assert "hides lost_reason" in (early.message or "")
    assert not _one(rpc, "sale.opportunity", opp["id"], "lost_reason")
    lost = s.do("advance", "opportunity", id=opp["id"], to="lost", data={"lost_reason": "price"})
    assert lost.status == "ok", lost.message
    assert lost.record is not None and lost.record["stage"] == "lost"
    assert lost.record["lost_reason"] == "price"
    s.ok("delete", "opportunity", id=opp["id"])
    assert not _exists(rpc, "sale.opportunity", opp["id"])

    # a case of the second namesake, filed and closed
    case = s.ok(
        "create",
        "case",
        data={"subject": f"Broken {m}", "account": acc_id, "description": "It broke"},
    ).record
    assert case is not None and case["stage"] == "open"
    assert str(_one(rpc, "sale.complaint", case["id"], "customer")) == acc_id
    closed = s.ok("advance", "case", id=case["id"], to="closed").record
    assert closed is not None and closed["stage"] == "closed"

    s.ok("delete", "account", id=other)
    assert not _exists(rpc, "party.party", other)
    made = list(s.created)
    assert s.finish() == []
    for ref in made:
        if ref.entity in ("account", "contact"):
            assert not _exists(rpc, "party.party", ref.id), f"{ref} is still in Tryton"


def test_lead_advanced_converted_won_and_cleaned_up(scenario: Scenario, rpc: Any) -> None:
    """A lead converted to an opportunity, then to an order, found, and won: won in Tryton
    means its sale confirmed, the empty sale given a line in its form."""
    s, m = scenario, scenario.marker
    account = s.ok("create", "account", data={"name": f"Initech {m}"}).record
    assert account is not None
    lead = s.ok(
        "create",
        "lead",
        data={"name": f"Initech deal {m}", "account": account["id"], "amount": 4200},
    ).record
    assert lead is not None
    assert (lead["stage"], lead["account"], lead["amount"]) == ("new", account["id"], 4200)

    opp = s.ok("convert", "lead", id=lead["id"]).record
    assert opp is not None and opp["stage"] == "qualification"
    again = s.do("convert", "lead", id=lead["id"])  # sao shows its button on a lead only
    assert again.status == "refused", again.message
    order = s.ok("convert", "opportunity", id=lead["id"]).record
    assert order is not None and order["stage"] == "draft"
    assert _one(rpc, "sale.opportunity", lead["id"], "state") == "converted"
    # sao draws a converted opportunity's amount read-only (sale_opportunity/opportunity.py:
    # _states_stop), though Tryton's JSON-RPC write takes it: no user can type there
    frozen = s.do("update", "opportunity", id=lead["id"], data={"amount": 1})
    assert (frozen.status, frozen.refusal) == ("refused", "rule"), frozen.message
    assert frozen.message == "sao shows amount read-only in this record's state, to any user"
    held = _one(rpc, "sale.opportunity", lead["id"], "amount")  # JSON-RPC: a Decimal object
    assert Decimal(str(held["decimal"] if isinstance(held, dict) else held)) == 4200
    found = s.ok("find", "opportunity", where={"name": f"Initech deal {m}"}).records
    assert [r["id"] for r in found or []] == [lead["id"]]

    won = s.ok("advance", "opportunity", id=lead["id"], to="won").record
    assert won is not None and won["stage"] == "won"
    sales = rpc.search_read(
        "sale.sale", [["origin", "=", f"sale.opportunity,{lead['id']}"]], ["state", "lines"]
    )
    # Tryton's won states of a sale (sale_opportunity/opportunity.py:472-473): a confirmed
    # sale is processed at once
    assert [x["state"] in ("confirmed", "processing", "done") for x in sales] == [True]
    assert sales[0]["lines"]

    made = list(s.created)
    assert {r.entity for r in made} >= {"account", "lead", "order"}
    assert s.finish() == []
    # Tryton keeps a party with a confirmed sale: cleanup archives it, out of every list
    shown = rpc.search_read("party.party", [["id", "=", int(account["id"])]], ["id"])
    assert shown == [], "the account is still active in Tryton"


def test_order_entered_relined_confirmed_and_its_invoice_paid(scenario: Scenario, rpc: Any) -> None:
    """An order keyed into sao's sale form: the customer, a reference, two product rows
    (each product typed by its code); its rows replaced while a draft, then confirmed,
    after which Tryton refuses new lines; its invoice paid with the Pay wizard. Each write
    is checked in Tryton apart from sao."""
    s, m = scenario, scenario.marker
    made = rpc.perform(Operation(op="create", entity="account", data={"name": f"Fabrikam {m}"}))
    assert made.status == "ok" and made.record is not None, made.message
    s.created.append(RecordRef(entity="account", id=made.record["id"]))
    acc_id = made.record["id"]

    def held(sale_id: str) -> tuple[str, list[tuple[str, float, Decimal]], Decimal]:
        rows = rpc.search_read(
            "sale.sale",
            [["id", "=", int(sale_id)]],
            ["party", "total_amount", "lines.product.code", "lines.quantity", "lines.unit_price"],
        )
        assert rows, f"sale {sale_id} is not in Tryton"
        lines = [
            (ln["product."]["code"], ln["quantity"], _decimal(ln["unit_price"]))
            for ln in rows[0]["lines."]
        ]
        return str(rows[0]["party"]), sorted(lines), _decimal(rows[0]["total_amount"])

    lines = [
        {"product": "SERVICE-HOURS", "quantity": 10, "unit_price": 150},
        {"product": "LICENSE", "quantity": 2, "unit_price": 1100},
    ]
    s.ok("login", actor="admin")  # its own effort, not the order's
    created = s.ok(
        "create", "order", data={"account": acc_id, "reference": f"PO-{m}", "lines": lines}
    )
    order = created.record
    assert order is not None and order["stage"] == "draft" and order["total"] == 3700
    assert held(order["id"]) == (
        acc_id,
        [("LICENSE", 2.0, Decimal(1100)), ("SERVICE-HOURS", 10.0, Decimal(150))],
        Decimal(3700),
    )
    assert _one(rpc, "sale.sale", order["id"], "reference") == f"PO-{m}"
    # each field typed once, then Tab: sao blanks a link while it looks the text up, and
    # blanks a new record's fields as it draws it, and neither is the user typing again
    typed = [f"Fabrikam {m}", f"PO-{m}", "SERVICE-HOURS", "10", "150", "LICENSE", "2", "1100"]
    effort = created.effort
    assert effort is not None
    assert (effort.fields, effort.keystrokes) == (len(typed), sum(len(t) + 1 for t in typed))

    relined = s.ok(
        "update",
        "order",
        id=order["id"],
        data={"lines": [{"product": "HARDWARE", "quantity": 3, "unit_price": 899}]},
    ).record
    assert relined is not None and relined["total"] == 2697
    assert held(order["id"]) == (acc_id, [("HARDWARE", 3.0, Decimal(899))], Decimal(2697))

    confirmed = s.ok("advance", "order", id=order["id"], to="confirmed").record
    assert confirmed is not None and confirmed["stage"] == "confirmed"
    assert _one(rpc, "sale.sale", order["id"], "state") in ("confirmed", "processing")
    late = s.do("update", "order", id=order["id"], data={"lines": lines})
    assert (late.status, late.refusal) == ("refused", "rule"), late.message
    assert held(order["id"])[2] == Decimal(2697)
    unknown = s.do("create", "order", data={"account": acc_id, "lines": [{"product": "NOPE"}]})
    assert unknown.status == "refused", unknown.message

    # its invoice, posted and paid in full through the invoice's Pay wizard
    invoice = s.ok("invoice", "order", id=order["id"]).record
    assert invoice is not None and invoice["total"] == 2697
    paid = s.ok("advance", "invoice", id=invoice["id"], to="paid").record
    assert paid is not None and paid["stage"] == "paid"
    assert _one(rpc, "account.invoice", invoice["id"], "state") == "paid"
    assert _decimal(_one(rpc, "account.invoice", invoice["id"], "amount_to_pay")) == 0

    assert {r.entity for r in s.created} >= {"account", "order", "invoice"}
    assert s.finish() == []
    # Tryton keeps a confirmed sale (cleanup leaves it, its invoice cancelled) and archives
    # the party it sold to
    assert rpc.search_read("party.party", [["id", "=", int(acc_id)]], ["id"]) == []


def _decimal(value: Any) -> Decimal:
    """A JSON-RPC Decimal ({__class__, decimal}) or a number, as a Decimal."""
    return Decimal(str(value["decimal"] if isinstance(value, dict) else value))


def test_refusals_come_from_tryton_and_each_log_in_shows(scenario: Scenario, web: Any) -> None:
    """sao opens no record that is not there, and Tryton will not make an opportunity of a
    lead without a party; an unknown stage or field is unsupported, not an error. sao
    restores the last user's session as it loads: each log-in must still show, and the
    harness's own credentials rejected are an error, never a refusal of the product."""
    s, m = scenario, scenario.marker
    missing = s.do("get", "account", id="999999")
    assert (missing.status, missing.refusal) == ("refused", "not_found"), missing.message
    lead = s.ok("create", "lead", data={"name": f"Partyless {m}"}).record
    assert lead is not None
    convert = s.do("convert", "lead", id=lead["id"])
    assert convert.status == "refused", convert.message
    assert s.do("advance", "lead", id=lead["id"], to="nurturing").status == "unsupported"
    assert s.do("create", "account", data={"name": "x", "city": "Paris"}).status == "unsupported"

    saved = web.users["rep_b"]
    web.users["rep_b"] = (saved[0], "not-the-password")
    try:
        assert s.do("login", actor="rep_b").status == "error"
    finally:
        web.users["rep_b"] = saved
    efforts = {}
    for actor in ("rep_a", "rep_b", "admin"):
        efforts[actor] = s.ok("login", actor=actor).effort
        assert web.actor == actor
    assert s.finish() == []

    # The next scenario restores rep_a's session of this run, cookie and sao's local
    # storage: the same effort charged, and sao really shows rep_a.
    again = Scenario(web, "restored log-in")
    restored = again.ok("login", actor="rep_a")
    assert web.restored and restored.effort == efforts["rep_a"]
    shown = web.page.evaluate("() => Sao.Session.current_session.login")
    assert shown == web.users["rep_a"][0]
    again.ok("login", actor="rep_b")  # and back to another restored one, in the same tab
    assert web.page.evaluate("() => Sao.Session.current_session.login") == saved[0]
    assert again.finish() == []


def test_a_session_check_colliding_with_a_log_out_is_no_refusal(
    scenario: Scenario, web: Any, rpc: Any, secrets: dict[str, str]
) -> None:
    """Tryton's session check lists the user's sessions, then reads each; another client
    of the same user logging out in between fails that read before the method runs. sao
    shows it in the dialog a refusal comes in: the adapter must say it is neither."""
    scenario.ok("login", actor="admin")
    client = type(rpc._clients[None])
    tryton = ("TRYTON_URL", "TRYTON_WEB_DATABASE", "TRYTON_USER", "TRYTON_PASSWORD")
    with sessions_churning(client, *(secrets[k] for k in tryton)):
        web.page.evaluate(  # sao asks, as fast as it can, until a dialog shows
            """() => { (async () => {
                const call = {method: 'model.party.party.search_count', params: [[], {}]};
                for (let i = 0; i < 20000; i++) {
                    try { await Sao.rpc(call, Sao.Session.current_session); }
                    catch (e) { return; }
                }
            })(); }"""
        )
        web.page.wait_for_selector(".modal.in", timeout=90_000)
    with pytest.raises(VendorError, match="session check collided") as raised:
        web.raise_refusal("counting parties")
    assert raised.value.transient
    assert scenario.finish() == []


def test_the_adapter_waits_on_sao_never_on_the_clock() -> None:
    source = "\n".join(p.read_text() for p in (ADAPTERS / "tryton-web").glob("*.py"))
    assert not re.search(r"time\.sleep|wait_for_timeout|sleep\(", source)


def test_a_lead_about_someone_new_makes_their_company_and_person_in_sao(
    scenario: Scenario, rpc: Any
) -> None:
    """As the API adapter records a prospect (its prospects.py): the company a party, the
    person a contact party working for it, the lead's Contact their e-mail; each made in
    its own form, read back from Tryton over JSON-RPC, and removed by cleanup."""
    s, m = scenario, scenario.marker
    lead = s.ok(
        "create",
        "lead",
        data={
            **{"name": f"Scanners for Litware {m}", "company": f"Litware {m}"},
            **{"first_name": "Mia", "last_name": f"Lund {m}", "email": f"mia.{m}@litware.test"},
        },
    ).record
    assert lead is not None
    assert (lead["company"], lead["email"]) == (f"Litware {m}", f"mia.{m}@litware.test")
    assert (lead["first_name"], lead["last_name"]) == ("Mia", f"Lund {m}")
    held = rpc.search_read(
        "sale.opportunity", [["id", "=", int(lead["id"])]], ["party.name", "contact.value"]
    )[0]
    assert held["party."]["name"] == f"Litware {m}"
    assert held["contact."]["value"] == f"mia.{m}@litware.test"
    assert [r.entity for r in s.created] == ["account", "contact", "lead"]
    # by e-mail alone: an unnamed person, reached through it, of no company
    bare = s.ok("create", "lead", data={"name": f"Taps {m}", "email": f"ops.{m}@nw.test"}).record
    assert bare is not None and bare["email"] == f"ops.{m}@nw.test" and bare["company"] is None
    # converted, it buys as the person (Tryton requires a party past the lead state)
    opp = s.ok("convert", "lead", id=bare["id"]).record
    assert opp is not None and opp["stage"] == "qualification"
    held = rpc.search_read(
        "sale.opportunity", [["id", "=", int(bare["id"])]], ["party", "contact.party"]
    )
    assert held[0]["party"] == held[0]["contact."]["party"]
    assert s.finish() == []


def test_an_account_with_its_payment_term_and_a_division_of_it(
    scenario: Scenario, rpc: Any
) -> None:
    """A group's payment term on its form's Accounting page, a division of it on the
    division's Relations page, both held in Tryton as the API adapter holds them."""
    s, m = scenario, scenario.marker
    group = s.ok(
        "create", "account", data={"name": f"Litware Group {m}", "payment_term": "Net 60 days"}
    ).record
    assert group is not None and group["payment_term"] == "Net 60 days"
    term = rpc.search_read(
        "party.party", [["id", "=", int(group["id"])]], ["customer_payment_term.name"]
    )[0]
    assert term["customer_payment_term."]["name"] == "Net 60 days"
    division = s.ok(
        "create", "account", data={"name": f"Litware Labs {m}", "parent": group["id"]}
    ).record
    assert division is not None and division["parent"] == group["id"]
    relations = rpc.search_read(
        "party.relation.all", [["from_", "=", int(division["id"])]], ["to", "type.name"]
    )
    assert [(str(r["to"]), r["type."]["name"]) for r in relations] == [(group["id"], "Division of")]
    found = s.ok("find", "account", where={"parent": group["id"]}).records or []
    assert [r["id"] for r in found] == [division["id"]]
    assert s.finish() == []
