"""The DjangoCRM adapter against a real DjangoCRM sandbox, through its web UI only.

Each test is a small scenario: it acts, checks what came back, deletes what it made as
the runner's cleanup would (newest first), and then asks the UI for anything still
carrying its marker. The sandbox is started by the session fixture when not running.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crmproof import discovery
from crmproof.adapter import Refused
from crmproof.protocol import Operation, Outcome, RecordRef
from crmproof.secrets_store import read_secrets
from crmproof.vocabulary import ENTITIES

WORKSPACE = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def djangocrm(vendor_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    vendor_sandbox("djangocrm")
    secrets = read_secrets()
    adapter = discovery.load("djangocrm", WORKSPACE / "adapters").adapter()
    run = tmp_path_factory.mktemp("run")
    adapter.evidence_dir = str(run / "evidence" / "djangocrm")
    adapter.open(
        {
            # Tracing costs about a third of a browser scenario: only a test marked
            # `traced` (the trace is what it checks) records one.
            "trace": "on-first-retry",
            "url": secrets["DJANGOCRM_URL"],
            "user": secrets["DJANGOCRM_ADMIN_USER"],
            "password": secrets["DJANGOCRM_ADMIN_PASSWORD"],
            "actors": {
                actor: {
                    "user": secrets[f"DJANGOCRM_{actor.upper()}_USER"],
                    "password": secrets[f"DJANGOCRM_{actor.upper()}_PASSWORD"],
                }
                for actor in ("rep_a", "rep_b")
            },
        }
    )
    yield adapter
    adapter.close()


class Scenario:
    """A scenario's worth of steps, with the runner's bookkeeping of created records."""

    def __init__(self, adapter: Any, name: str) -> None:
        self.adapter = adapter
        self.name = name
        self.marker = f"cp{uuid.uuid4().hex[:10]}"
        self.created: list[RecordRef] = []
        # evidence_dir is <run folder>/evidence/djangocrm; evidence paths are relative
        # to the run folder.
        self.run_folder = Path(adapter.evidence_dir).parent.parent
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
        """Clean up as the runner does, end the scenario, return what is left behind."""
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
        return self.adapter.leftovers(self.marker)


@pytest.fixture
def scenario(djangocrm: Any, request: pytest.FixtureRequest) -> Iterator[Scenario]:
    if request.node.get_closest_marker("traced"):
        djangocrm.trace_next_scenario()
    s = Scenario(djangocrm, request.node.name)
    yield s
    if s.created:  # the test failed before finishing: still leave nothing behind
        s.finish("failed")


def test_company_and_contact_crud_and_find(scenario: Scenario) -> None:
    s, m = scenario, scenario.marker
    s.ok("login", actor="admin")
    name, email = f"Globex {m}", "ap@globex.test"
    account = s.ok("create", "account", data={"name": name, "email": email, "country": "Germany"})
    assert account.record == {
        "id": account.record["id"],
        "name": name,
        "email": email,
        "phone": None,
        "website": None,
        "country": "Germany",
    }
    # one form page and the saved page; two fields typed, one country chosen, one click
    # for the country and one for Save.
    effort = account.effort
    assert effort is not None
    assert (effort.pages, effort.fields, effort.clicks) == (2, 3, 2)
    assert effort.keystrokes == len(name) + len(email)
    assert account.evidence == []  # screenshots: on-failure (the default); see the offline test

    acc_id = account.record["id"]
    updated = s.ok("update", "account", id=acc_id, data={"phone": "+49 30 1234"})
    assert updated.record["phone"] == "+49 30 1234"
    assert s.ok("get", "account", id=acc_id).record["phone"] == "+49 30 1234"
    found = s.ok("find", "account", where={"name": name})
    assert [r["id"] for r in found.records] == [acc_id]

    contact = s.ok(
        "create",
        "contact",
        data={"name": f"Ada {m}", "email": "ada@globex.test", "account": acc_id},
    )
    assert contact.record["first_name"] == "Ada"
    assert contact.record["last_name"] == m
    assert contact.record["account"] == acc_id
    by_account = s.ok("find", "contact", where={"account": acc_id})
    assert [r["id"] for r in by_account.records] == [contact.record["id"]]
    s.ok("update", "contact", id=contact.record["id"], data={"title": "CFO"})
    assert s.ok("get", "contact", id=contact.record["id"]).record["title"] == "CFO"

    s.ok("delete", "contact", id=contact.record["id"])
    gone = s.do("get", "contact", id=contact.record["id"])
    assert gone.status == "refused"
    assert s.ok("find", "contact", where={"account": acc_id}).records == []
    assert s.finish() == []


def test_contact_without_company_is_refused(scenario: Scenario) -> None:
    refused = scenario.do(
        "create", "contact", data={"name": f"Nobody {scenario.marker}", "email": "n@x.test"}
    )
    assert refused.status == "refused"
    assert "rejected the form" in (refused.message or "")
    assert scenario.finish() == []


def test_lead_converts_to_opportunity(scenario: Scenario) -> None:
    s, m = scenario, scenario.marker
    lead = s.ok(
        "create",
        "lead",
        data={
            "name": f"Lena {m}",
            "email": f"lena.{m}@initech.test",
            "company": f"Initech {m}",
        },
    )
    assert lead.record["stage"] == "new"
    assert [r["id"] for r in s.ok("find", "lead", where={"company": f"Initech {m}"}).records] == [
        lead.record["id"]
    ]
    converted = s.ok(
        "convert", "lead", id=lead.record["id"], to="opportunity", data={"amount": 5000}
    )
    deal = converted.record
    assert deal["stage"] == "prospecting"
    assert deal["amount"] == 5000
    assert {r.entity for r in converted.created} == {"account", "contact", "opportunity"}
    assert s.ok("get", "account", id=deal["account"]).record["name"] == f"Initech {m}"
    person = s.ok("get", "contact", id=deal["contact"]).record
    assert (person["name"], person["account"]) == (f"Lena {m}", deal["account"])
    assert s.do("get", "lead", id=lead.record["id"]).status == "refused"  # converted: gone
    assert s.finish() == []


def test_deal_created_and_advanced_to_won(scenario: Scenario) -> None:
    s, m = scenario, scenario.marker
    account = s.ok("create", "account", data={"name": f"Acme {m}", "email": "buy@acme.test"})
    acc_id = account.record["id"]
    contact = s.ok(
        "create",
        "contact",
        data={"name": f"Wile {m}", "email": "wile@acme.test", "account": acc_id},
    )
    deal = s.ok(
        "create",
        "opportunity",
        data={
            "name": f"Fleet {m}",
            "account": acc_id,
            "contact": contact.record["id"],
            "amount": 120000,
            "stage": "qualification",
        },
    )
    record = deal.record
    assert (record["stage"], record["amount"], record["account"]) == (
        "qualification",
        120000,
        acc_id,
    )
    assert set(record) <= {"id", *ENTITIES["opportunity"].fields}  # canonical fields only
    for stage in ("proposal", "negotiation"):
        assert s.ok("advance", "opportunity", id=record["id"], to=stage).record["stage"] == stage
    won = s.ok("advance", "opportunity", id=record["id"], to="won")
    assert won.record["stage"] == "won"
    # won is final: DjangoCRM changes the stage field of a closed deal, which stays won
    back = s.do("advance", "opportunity", id=record["id"], to="prospecting")
    assert back.status == "refused", back.message
    assert s.ok("get", "opportunity", id=record["id"]).record["stage"] == "won"
    # a closed deal leaves the default list but is still found
    found = s.ok("find", "opportunity", where={"account": acc_id})
    assert [(r["id"], r["stage"]) for r in found.records] == [(record["id"], "won")]
    assert s.finish() == []


def test_lost_deal_needs_and_keeps_its_reason(scenario: Scenario) -> None:
    s, m = scenario, scenario.marker
    account = s.ok("create", "account", data={"name": f"Lost {m}", "email": "l@lost.test"})
    deal = s.ok(
        "create",
        "opportunity",
        data={"name": f"Maybe {m}", "account": account.record["id"], "amount": 10},
    )
    # DjangoCRM's reasons are a fixed list: a free-text one is refused, naming the list
    free = s.do("update", "opportunity", id=deal.record["id"], data={"lost_reason": "Too dear"})
    assert free.status == "refused" and "The price is not competitive" in (free.message or "")
    lost = s.ok(
        "advance",
        "opportunity",
        id=deal.record["id"],
        to="lost",
        data={"lost_reason": "The price is not competitive"},
    )
    assert (lost.record["stage"], lost.record["lost_reason"]) == (
        "lost",
        "The price is not competitive",
    )
    # without a contact, DjangoCRM filed the request's person (the account, by its
    # e-mail) as a new contact of the company: reported as created, before the deal
    assert [r.entity for r in deal.created] == ["contact", "opportunity"]
    assert deal.record["account"] == account.record["id"]
    assert s.finish() == []


def test_case_opened_and_closed(scenario: Scenario) -> None:
    s, m = scenario, scenario.marker
    account = s.ok("create", "account", data={"name": f"Umbrella {m}", "email": "u@u.test"})
    contact = s.ok(
        "create",
        "contact",
        data={"name": f"Alice {m}", "email": "alice@u.test", "account": account.record["id"]},
    )
    case = s.ok(
        "create",
        "case",
        data={
            "subject": f"Broken widget {m}",
            "contact": contact.record["id"],
            "description": "It broke on Monday",
        },
    )
    assert case.record["stage"] == "open"
    assert case.record["description"] == "It broke on Monday"
    closed = s.ok("advance", "case", id=case.record["id"], to="closed")
    assert closed.record["stage"] == "closed"
    found = s.ok("find", "case", where={"subject": f"Broken widget {m}"})
    assert [(r["id"], r["stage"]) for r in found.records] == [(case.record["id"], "closed")]
    assert s.finish() == []


def test_task_planned_then_done(scenario: Scenario) -> None:
    s, m = scenario, scenario.marker
    task = s.ok(
        "create",
        "activity",
        data={"subject": f"Call back {m}", "due_date": "2030-12-01", "description": "widget"},
    )
    assert (task.record["stage"], task.record["due_date"]) == ("planned", "2030-12-01")
    done = s.ok("advance", "activity", id=task.record["id"], to="done")
    assert done.record["stage"] == "done"
    found = s.ok("find", "activity", where={"subject": f"Call back {m}"})
    assert [r["stage"] for r in found.records] == ["done"]
    call = s.do("create", "activity", data={"subject": f"Ring {m}", "kind": "call"})
    assert call.status == "unsupported"
    assert s.finish() == []


def test_rep_b_cannot_see_rep_a_deal(scenario: Scenario) -> None:
    s, m = scenario, scenario.marker
    s.ok("login", actor="rep_a")
    account = s.ok(
        "create", "account", actor="rep_a", data={"name": f"Secret {m}", "email": "s@secret.test"}
    )
    deal = s.ok(
        "create",
        "opportunity",
        actor="rep_a",
        data={"name": f"Secret deal {m}", "account": account.record["id"], "amount": 99},
    )
    deal_id = deal.record["id"]
    assert (
        s.ok("get", "opportunity", id=deal_id, actor="rep_a").record["name"] == f"Secret deal {m}"
    )
    hidden = s.do("get", "opportunity", id=deal_id, actor="rep_b")
    assert hidden.status == "refused", hidden.message
    assert "doesn" in (hidden.message or "")  # "... doesn't exist. Perhaps it was deleted?"
    assert hidden.effort and hidden.effort.pages >= 3  # the login counted, then the page
    assert (
        s.ok("find", "opportunity", actor="rep_b", where={"name": f"Secret deal {m}"}).records == []
    )
    # the default actor (the admin) sees it, and cleans up
    assert s.ok("get", "opportunity", id=deal_id).record["id"] == deal_id
    assert s.finish() == []


@pytest.mark.traced
def test_offline_create_is_refused_with_a_screenshot(scenario: Scenario) -> None:
    s, m = scenario, scenario.marker
    s.ok("login", actor="admin")
    s.ok("offline")
    refused = s.do("create", "account", data={"name": f"Offline {m}", "email": "o@o.test"})
    assert refused.status == "refused"
    assert (refused.message or "").startswith("the UI cannot work offline")
    shots = [e for e in refused.evidence if e.kind == "screenshot"]
    assert shots and (s.run_folder / shots[0].path).exists()
    s.ok("online")
    again = s.ok("create", "account", data={"name": f"Online {m}", "email": "o@o.test"})
    assert again.record["name"] == f"Online {m}"
    assert s.finish("failed") == []
    (trace,) = (s.run_folder / "evidence/djangocrm/traces").glob(f"{s.name}*.zip")
    assert trace.stat().st_size > 0


def test_capabilities_are_honest(djangocrm: Any) -> None:
    caps = djangocrm.capabilities()
    assert caps.operations == ["login", "offline", "online"]
    assert caps.actors == ["admin", "rep_a", "rep_b"]
    assert not {"invoice", "order", "product"} & set(caps.entities)
    assert caps.entities["opportunity"].stages[-2:] == ["won", "lost"]


def test_open_cases_of_an_account_seen_by_its_rep(scenario: Scenario) -> None:
    s, m = scenario, scenario.marker
    account = s.ok(
        "create", "account", actor="rep_a", data={"name": f"Coho {m}", "email": f"i.{m}@coho.test"}
    )
    acc_id = account.record["id"]
    first = s.ok("create", "case", data={"subject": f"Licence key {m}", "account": acc_id})
    second = s.ok("create", "case", data={"subject": f"Invoice address {m}", "account": acc_id})
    closed = s.ok("advance", "case", id=second.record["id"], to="closed")
    # closing filed the requester as a contact of the company, which keeps the case's account
    assert (closed.record["stage"], closed.record["account"]) == ("closed", acc_id)
    assert [r.entity for r in closed.created] == ["contact"]
    open_ = s.ok("find", "case", where={"account": acc_id, "stage": "open"})
    assert [r["id"] for r in open_.records] == [first.record["id"]]
    assert len(s.ok("find", "case", where={"account": acc_id}).records) == 2
    seen = s.ok("find", "case", actor="rep_a", where={"account": acc_id, "stage": "open"})
    assert [r["subject"] for r in seen.records] == [f"Licence key {m}"]
    assert s.ok("find", "case", actor="rep_b", where={"account": acc_id}).records == []
    assert s.finish() == []


def test_lead_keeps_its_title_and_person(scenario: Scenario) -> None:
    s, m = scenario, scenario.marker
    lead = s.ok(
        "create",
        "lead",
        data={
            "name": f"Warehouse scanners {m}",
            "first_name": "Priya",
            "last_name": f"Raman {m}",
            "company": f"Contoso {m}",
            "email": f"priya.{m}@contoso.test",
        },
    )
    record = s.ok("get", "lead", id=lead.record["id"]).record
    # DjangoCRM re-splits the name (middle name "Raman"); it reads back whole
    assert (record["name"], record["first_name"], record["last_name"]) == (
        f"Warehouse scanners {m}",
        "Priya",
        f"Raman {m}",
    )
    assert record["stage"] == "new"
    hits = s.ok("find", "lead", where={"company": f"Contoso {m}", "last_name": f"Raman {m}"})
    assert [r["id"] for r in hits.records] == [lead.record["id"]]
    lost = s.ok("advance", "lead", id=lead.record["id"], to="lost")
    assert lost.record["stage"] == "lost"
    assert s.finish() == []


def test_a_name_that_says_403_forbidden_is_saved_not_refused(scenario: Scenario) -> None:
    """The page a save lands on is titled with the record's own name. CI once saw a lead
    refused as forbidden because the run's marker, `cp2b1403d8ae`, held "403".

    A new first name alone keeps the whole family name: DjangoCRM keeps the middle of a
    long one in its middle-name box, which the adapter once blanked on any name change."""
    s, m = scenario, scenario.marker
    name = f"403 Forbidden Traders {m}"
    account = s.ok("create", "account", data={"name": name, "email": "f@forbidden.test"})
    assert s.ok("get", "account", id=account.record["id"]).record["name"] == name
    lead = s.ok(
        "create",
        "lead",
        data={
            "name": f"Scanners {m}",
            "first_name": "Ada",
            "last_name": name,
            "company": name,
            "email": f"ada.{m}@forbidden.test",
        },
    )
    updated = s.ok("update", "lead", id=lead.record["id"], data={"first_name": "Forbidden"})
    assert (updated.record["first_name"], updated.record["last_name"]) == ("Forbidden", name)
    assert s.finish() == []


def test_a_save_the_admin_answers_403_is_refused_as_forbidden(scenario: Scenario) -> None:
    """The other side of the test above: a save DjangoCRM really forbids. rep_a sees
    another's deal read-only, with no save button; one is put on the page, as a crafted
    request would, and the admin answers PermissionDenied (403)."""
    s, m = scenario, scenario.marker
    a = s.adapter
    account = s.ok("create", "account", data={"name": f"Guarded {m}", "email": "g@guard.test"})
    deal = s.ok(
        "create",
        "opportunity",
        data={"name": f"Guarded deal {m}", "account": account.record["id"], "amount": 5},
    )
    a.become("rep_a")
    a.open_page(f"crm/deal/{deal.record['id']}/change/")
    assert a.exists("#content form input[name=csrfmiddlewaretoken]")  # so not a CSRF 403
    a.page.evaluate(
        """() => document.querySelector('#content form').insertAdjacentHTML(
             'beforeend', '<input type="submit" name="_continue" value="Save">')"""
    )
    with pytest.raises(Refused) as refused:
        a.submit()
    assert refused.value.kind == "forbidden", refused.value
    assert "(403)" in str(refused.value)
    a.become(a.default_actor)
    assert s.ok("get", "opportunity", id=deal.record["id"]).record["name"] == f"Guarded deal {m}"
    assert s.finish() == []


def test_rep_lead_is_private(scenario: Scenario) -> None:
    s, m = scenario, scenario.marker
    lead = s.ok(
        "create",
        "lead",
        actor="rep_a",
        data={"name": f"Point-of-sale refresh {m}", "email": f"lena.{m}@fourth.test"},
    )
    assert s.do("get", "lead", id=lead.record["id"], actor="rep_b").status == "refused"
    where = {"name": f"Point-of-sale refresh {m}", "email": f"lena.{m}@fourth.test"}
    assert s.ok("find", "lead", actor="rep_b", where=where).records == []
    assert len(s.ok("find", "lead", actor="rep_a", where=where).records) == 1
    assert s.finish() == []


def _raw_page(path: str) -> str:
    """A CRM page as DjangoCRM serves it, fetched with an HTTP client of the test's own
    (its own login, CSRF and session), so nothing the adapter read or kept is involved."""
    import re

    import httpx

    secrets = read_secrets()
    base = secrets["DJANGOCRM_URL"].rstrip("/")
    with httpx.Client(base_url=base, follow_redirects=True, timeout=30) as http:
        form = http.get("/en/123/789-login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token, "no CSRF token on the login page"
        http.post(
            "/en/123/789-login/",
            data={
                "csrfmiddlewaretoken": token.group(1),
                "username": secrets["DJANGOCRM_ADMIN_USER"],
                "password": secrets["DJANGOCRM_ADMIN_PASSWORD"],
            },
            headers={"Referer": f"{base}/en/123/789-login/"},
        )
        page = http.get(f"/en/123/{path}")
        page.raise_for_status()
        return page.text


def _input_value(html: str, name: str) -> str | None:
    import re

    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    value = re.search(r'value="([^"]*)"', tag.group(0)) if tag else None
    return value.group(1) if value else None


def test_lead_source_is_on_the_lead_form(scenario: Scenario) -> None:
    lead = scenario.ok(
        "create",
        "lead",
        data={
            "name": f"Scanners {scenario.marker}",
            "first_name": "Priya",
            "last_name": f"Raman {scenario.marker}",
            "email": f"priya.{scenario.marker}@contoso.test",
            "source": "Trade show",
        },
    ).record
    assert lead is not None and lead["source"] == "Trade show"
    html = _raw_page(f"crm/lead/{lead['id']}/change/")
    import re

    select = html[html.index('name="lead_source"') :].split("</select>")[0]
    chosen = re.search(r'<option value="[^"]*" selected>([^<]*)</option>', select)
    assert chosen and chosen.group(1) == "Trade show"
    assert scenario.finish() == []


def test_an_email_is_logged_on_a_case(scenario: Scenario) -> None:
    account = scenario.ok(
        "create",
        "account",
        data={"name": f"Nod {scenario.marker}", "email": f"info.{scenario.marker}@nod.test"},
    ).record
    assert account is not None
    case = scenario.ok(
        "create", "case", data={"subject": f"Printer {scenario.marker}", "account": account["id"]}
    ).record
    assert case is not None
    mail = scenario.ok(
        "create",
        "activity",
        data={
            "subject": f"Firmware steps {scenario.marker}",
            "kind": "email",
            "case": case["id"],
            "account": account["id"],
            "description": "Update to 2.1, then restart.",
        },
    ).record
    assert mail is not None and mail["kind"] == "email" and mail["id"].startswith("email-")
    pk = mail["id"].removeprefix("email-")
    html = _raw_page(f"crm/crmemail/{pk}/change/")
    assert _input_value(html, "request") == case["id"]
    assert _input_value(html, "company") == account["id"]
    assert f"Firmware steps {scenario.marker}" in html
    found = scenario.ok("find", "activity", where={"case": case["id"]}).records or []
    assert [r["id"] for r in found] == [mail["id"]]
    assert scenario.ok("get", "activity", id=mail["id"]).record["kind"] == "email"  # type: ignore[index]
    call = scenario.do("create", "activity", data={"subject": "x", "kind": "call"})
    assert call.status == "unsupported"
    assert scenario.finish() == []


def test_an_email_named_on_the_case_alone_goes_to_its_customer_and_done_is_sent(
    scenario: Scenario,
) -> None:
    """`done` is DjangoCRM's Send button (the form shows no sent box), addressed the way a
    user addresses it: to the case's customer. The product files it on the request only,
    so the account's e-mails do not show it (crm/site/companyadmin.py:104)."""
    m = scenario.marker
    account = scenario.ok(
        "create", "account", data={"name": f"Vex {m}", "email": f"it.{m}@vex.test"}
    )
    assert account is not None and account.record is not None
    case = scenario.ok(
        "create", "case", data={"subject": f"VPN {m}", "account": account.record["id"]}
    ).record
    assert case is not None
    mail = scenario.ok(
        "create",
        "activity",
        data={"subject": f"Trace please {m}", "kind": "email", "case": case["id"], "stage": "done"},
    ).record
    assert mail is not None and mail["stage"] == "done"
    pk = mail["id"].removeprefix("email-")
    form = _raw_page(f"crm/crmemail/{pk}/change/")
    assert f"it.{m}@vex.test" in form  # the case's customer is the recipient
    assert _input_value(form, "request") == case["id"] and not _input_value(form, "company")
    assert f"/crm/crmemail/{pk}/change/" in _raw_page(f"crm/crmemail/?mailbox=sent&id={pk}")
    assert f"/crm/crmemail/{pk}/change/" not in _raw_page(f"crm/crmemail/?mailbox=outbox&id={pk}")
    back = scenario.do("advance", "activity", id=mail["id"], to="planned")
    assert back.status == "refused"  # a sent e-mail cannot be unsent
    by_account = scenario.ok("find", "activity", where={"account": account.record["id"]}).records
    assert by_account == []
    assert scenario.finish() == []


def test_a_department_a_superuser_chose_is_neither_cleaned_around_nor_inherited(
    scenario: Scenario,
) -> None:
    """Choosing a lead source makes the superuser choose a department, which DjangoCRM
    keeps in the session and uses to narrow every page (usermiddleware.py
    set_user_department). Cleanup must still delete another department's records (it
    once called them "already gone" and left them), and the next scenario, whose session
    is restored from this worker's last log-in, must not inherit the choice."""
    s, m = scenario, scenario.marker
    s.ok(
        "create",
        "lead",
        data={
            **{"name": f"Scanners {m}", "first_name": "Priya", "last_name": f"Raman {m}"},
            **{"email": f"priya.{m}@contoso.test", "source": "Trade show"},
        },
    )
    s.ok(
        "create",
        "lead",
        actor="rep_b",
        data={"name": f"Cold brew taps {m}", "email": f"b.{m}@nw.test"},
    )
    assert s.finish() == []
    listed = _raw_page(f"crm/lead/?q={m}&owner=all")  # a fresh admin session: every department
    assert f"Cold brew taps {m}" not in listed and f"Raman {m}" not in listed

    after = Scenario(s.adapter, f"{s.name}-next")
    lead = after.ok(
        "create", "lead", actor="rep_b", data={"name": f"Taps {m}", "email": f"c.{m}@nw.test"}
    ).record
    assert lead is not None
    assert after.do("get", "lead", id=lead["id"]).status == "ok", "the choice was inherited"
    assert after.finish() == []


def test_cleanup_deletes_without_drawing_a_page_and_gone_is_fine(scenario: Scenario) -> None:
    """The runner's cleanup posts the confirmation form in the page's session (ui.py
    `_clean_up`): no page is drawn, the record is gone, and a record already gone (a
    cascade took it) is no failure."""
    s, m = scenario, scenario.marker
    account = s.ok(
        "create", "account", data={"name": f"Initech {m}", "email": "it@initech.test"}
    ).record
    assert account is not None
    page_before = s.adapter.page.url
    for _ in range(2):  # the second time, it is already gone
        cleaned = s.adapter.perform(
            Operation(op="delete", entity="account", id=account["id"], cleanup=True)
        )
        assert cleaned.status == "ok", cleaned.message
        assert s.adapter.page.url == page_before
    s.created = []
    assert s.do("get", "account", id=account["id"]).status == "refused"
    assert s.finish() == []


def test_a_readback_reads_quietly_what_the_drawn_page_shows(scenario: Scenario) -> None:
    """The runner's read-back of a write (`readback`) is fetched in the actor's session and
    parsed, never drawn (ui.py `quietly`): for each kind of record it reads what a user's
    drawn `get` reads, leaves the drawn page where it was, counts no effort, asks the
    server rather than the page (a value typed but not saved is not read), and is refused
    where the drawn page is."""
    s, m = scenario, scenario.marker
    account = s.ok("create", "account", data={"name": f"Quiet {m}", "email": "q@quiet.test"})
    acc_id = account.record["id"]
    contact = s.ok(
        "create", "contact", data={"name": f"Ada {m}", "email": "ada@quiet.test", "account": acc_id}
    )
    deal = s.ok(
        "create",
        "opportunity",
        data={"name": f"Quiet deal {m}", "account": acc_id, "amount": 5, "stage": "proposal"},
    )
    case = s.ok("create", "case", data={"subject": f"Quiet case {m}", "account": acc_id})
    task = s.ok("create", "activity", data={"subject": f"Quiet task {m}", "due_date": "2031-01-02"})
    records = [
        ("account", acc_id),
        ("contact", contact.record["id"]),
        ("opportunity", deal.record["id"]),
        ("case", case.record["id"]),
        ("activity", task.record["id"]),
    ]
    for entity, id_ in records:
        drawn = s.ok("get", entity, id=id_)
        page, pages = s.adapter.page.url, len(s.adapter.context.pages)
        quiet = s.ok("get", entity, id=id_, readback=True)
        assert quiet.record == drawn.record, entity
        assert s.adapter.page.url == page, entity  # the drawn page did not move
        assert not quiet.effort or quiet.effort.pages == 0, entity
        assert drawn.effort and drawn.effort.pages == 1, entity
        assert len(s.adapter.context.pages) == max(pages, 2)  # the drawn page and the reader
    # On the drawn form of the account: a name typed and not saved is not what is stored.
    s.ok("get", "account", id=acc_id)
    s.adapter.fill("#id_full_name", f"Unsaved {m}")
    stored = s.ok("get", "account", id=acc_id, readback=True).record
    assert stored is not None and stored["name"] == f"Quiet {m}"
    # Another department's sales manager may not see the deal: refused, quietly too.
    hidden = s.do("get", "opportunity", id=deal.record["id"], actor="rep_b", readback=True)
    assert hidden.status == "refused" and "doesn" in (hidden.message or ""), hidden.message
    assert s.finish() == []


def test_a_readback_right_after_a_save_reads_the_page_the_save_landed_on(
    scenario: Scenario,
) -> None:
    """Django admin answers a saved form with a redirect, and the page of the GET after it
    is drawn from the database: the runner's read-back of that save reads that page and
    fetches nothing (the reader page keeps what it held), unless it was typed into since;
    then the read-back fetches the record quietly and reads what is stored."""
    s, m = scenario, scenario.marker
    account = s.ok("create", "account", data={"name": f"Landed {m}", "email": "l@landed.test"})
    acc_id = account.record["id"]
    s.ok("get", "account", id=acc_id)  # a user's get: off the page the save landed on
    s.ok("get", "account", id=acc_id, readback=True)  # so fetched quietly: the reader is made
    reader = s.adapter._reader
    reader.set_content('<p id="untouched"></p>')

    def fetched() -> bool:
        return reader.locator("#untouched").count() == 0

    for entity, id_, data in [
        ("account", acc_id, {"name": f"Renamed {m}"}),
        ("contact", None, {"name": f"Ada {m}", "email": "ada@landed.test", "account": acc_id}),
    ]:
        op = "update" if id_ else "create"
        written = s.ok(op, entity, id=id_, data=data)
        back = s.ok("get", entity, id=written.record["id"], readback=True)
        assert back.record == written.record, entity
        assert back.record["name"] == data["name"], entity
        assert not fetched(), entity  # read where the save landed
        assert not back.effort or back.effort.pages == 0, entity
    # Typed into since the save: what is on the page is not what is stored.
    s.adapter.fill("#id_first_name", f"Unsaved {m}")
    back = s.ok("get", "contact", id=written.record["id"], readback=True)
    assert back.record["name"] == f"Ada {m}" and fetched()
    assert s.finish() == []


def test_one_look_at_a_form_reads_every_field_as_a_look_at_each_does(scenario: Scenario) -> None:
    """Inside `one_look` a reader asks the page once for the whole form (ui.FORM) and picks
    each field from it; outside, it asks the page once a field (ui.FIELD). On every kind
    of record page, editable and read-only, both give the same answer for every field the
    page names, as value, choice and box, errors included."""
    s, m = scenario, scenario.marker
    a = s.adapter
    account = s.ok("create", "account", data={"name": f"Look {m}", "email": "look@look.test"})
    acc_id = account.record["id"]
    contact = s.ok(
        "create", "contact", data={"name": f"Ada {m}", "email": "ada@look.test", "account": acc_id}
    )
    deal = s.ok(
        "create", "opportunity", data={"name": f"Look deal {m}", "account": acc_id, "amount": 5}
    )
    case = s.ok("create", "case", data={"subject": f"Look case {m}", "account": acc_id})
    task = s.ok("create", "activity", data={"subject": f"Look task {m}", "due_date": "2031-01-02"})
    pages = [
        (None, f"crm/company/{acc_id}/change/"),
        (None, f"crm/contact/{contact.record['id']}/change/"),
        (None, f"crm/deal/{deal.record['id']}/change/"),
        (None, f"crm/request/{case.record['id']}/change/"),
        (None, f"tasks/task/{task.record['id']}/change/"),
        ("rep_a", f"crm/deal/{deal.record['id']}/change/"),  # another's deal: read-only
    ]
    read_only = 0
    for actor, path in pages:
        a.become(actor or a.default_actor)
        try:
            a.open_page(path)
        except Refused:
            continue
        names = a.page.evaluate(
            """() => [...new Set([
              ...[...document.querySelectorAll('[id^="id_"]')].map(e => e.id.slice(3)),
              ...[...document.querySelectorAll('div.readonly')].flatMap(b => {
                const out = [];
                for (let r = b.parentElement; r; r = r.parentElement)
                  for (const c of r.classList) if (c.startsWith('field-')) out.push(c.slice(6));
                return out;
              }),
            ])]"""
        )
        assert len(names) > 3, path
        for name in names:
            for kind in ("value", "choice", "checked"):
                each = one = None
                try:
                    each = a._field(name, kind)
                except Exception as exc:  # FIELD's own error, thrown in the page
                    each = "error " + str(exc).split("Error: ", 1)[-1].splitlines()[0]
                with a.one_look():
                    try:
                        one = a._field(name, kind)
                    except Exception as exc:
                        one = "error " + str(exc)
                assert one == each, (path, actor, name, kind)
                read_only += bool(isinstance(one, dict) and one.get("readonly"))
    assert read_only, "no read-only field was compared"
    a.become(a.default_actor)
    assert s.finish() == []


def test_a_quiet_read_logs_in_again_when_the_kept_session_is_refused(djangocrm: Any) -> None:
    """A scenario restores the session an earlier one logged in with; when DjangoCRM no
    longer takes it, a quiet read logs in again (on the reader page) and still reads the
    record, and the reader is blank again before it parses, so no page's styles or
    scripts load there."""
    first = Scenario(djangocrm, "quiet-login-first")
    first.ok("login", actor="rep_a")
    assert first.finish() == []
    s = Scenario(djangocrm, "quiet-login-restored")
    account = s.ok(
        "create", "account", actor="rep_a", data={"name": f"Kept {s.marker}", "email": "k@k.test"}
    ).record
    assert account is not None and djangocrm.restored  # the kept session, not a log-in
    s.ok("get", "account", id=account["id"], actor="rep_a")  # off the page the save landed on
    djangocrm.context.clear_cookies()  # the session ends, as one that expired would
    quiet = s.ok("get", "account", id=account["id"], actor="rep_a", readback=True)
    assert quiet.record is not None and quiet.record["name"] == f"Kept {s.marker}"
    assert djangocrm._reader.url == "about:blank"
    assert s.finish() == []
