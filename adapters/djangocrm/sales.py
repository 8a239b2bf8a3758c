"""Opportunities (deals) and cases (requests marked Case/Incident).

DjangoCRM has no "add deal" form: a deal is made from a request by its "Create deal"
button, so creating an opportunity fills a request, saves it, picks a country if the
department works globally and the company gave none (the form insists), presses the
button, and then sets amount, stage and company on the deal itself. A request names a
person: without a contact to link, DjangoCRM makes a lead (or a contact) from the name
typed into the request, and the adapter reports that record as created too, so cleanup
removes it. Deleting an opportunity deletes its request as well.
"""

from __future__ import annotations

from typing import Any

from crmproof.adapter import Refused, Unsupported
from crmproof.protocol import Operation

from .mapping import (
    CASE_TEXT,
    DEFAULT_LOST_REASON,
    STAGE_TO_DEAL,
    SUCCESS_REASON,
    deal_stage,
)
from .ui import DjangoAdminUi, number

DEAL = "crm/deal"
REQUEST = "crm/request"


class SalesOps(DjangoAdminUi):
    """Operations on opportunity and case."""

    default_country = "United States"

    def __init__(self) -> None:
        super().__init__()
        # The request each deal this adapter made was made from, to delete with the deal
        # without opening the deal to look it up.
        self.deal_requests: dict[str, str] = {}

    # -- opportunity = deal --------------------------------------------------------------

    def create_opportunity(self, op: Operation) -> dict[str, Any]:
        return self._create_deal(op.data)

    def _create_deal(self, data: dict[str, Any]) -> dict[str, Any]:
        """Request -> "Create deal" -> the deal's own form; see the module docstring."""
        stage = data.get("stage")
        if stage and stage not in STAGE_TO_DEAL:
            raise Refused(f"a new deal cannot start as {stage!r}")
        request_id, known = self._save_request(data.get("name"), data, case=False)
        if self.choice("country") is None:
            self.choose("country", self.settings.get("country") or self.default_country)
        self.submit("_create-deal")
        deal_id = self.link_in_messages(DEAL)
        if deal_id is None:
            said = "; ".join(self.messages()) or "no deal was made"
            raise Refused(f"DjangoCRM made no deal from the request: {said}")
        self.click(f"ul.messagelist a[href*='{DEAL}/{deal_id}/change/']", navigates=True)
        # The person DjangoCRM made for the request (when no contact was linked) is on
        # the deal; report it before the deal, so cleanup deletes the deal first.
        for entity, id_ in self._persons_made(known):
            self.step.created_record(entity, id_)
        self.step.created_record("opportunity", deal_id)
        self.deal_requests[deal_id] = request_id
        if self._write_deal(data):
            self.submit()
        return self._read_deal(deal_id)

    def get_opportunity(self, op: Operation) -> dict[str, Any]:
        with self.reading(op, f"{DEAL}/{op.id}/change/"):
            return self._read_deal(str(op.id))

    def update_opportunity(self, op: Operation) -> dict[str, Any]:
        self.open_page(f"{DEAL}/{op.id}/change/")
        if self._write_deal(op.data):
            self.submit()
        return self._read_deal(str(op.id))

    def advance_opportunity(self, op: Operation) -> dict[str, Any]:
        """Stages by label; won and lost by a closing reason (DjangoCRM needs one)."""
        self.open_page(f"{DEAL}/{op.id}/change/")
        if op.data:
            self._write_deal({k: v for k, v in op.data.items() if k != "stage"})
        if op.to == "won":
            self.choose("closing_reason", SUCCESS_REASON)
        elif op.to == "lost":
            kept = self.choice("closing_reason")
            kept = None if kept == SUCCESS_REASON else kept
            self.choose("closing_reason", op.data.get("lost_reason") or kept or DEFAULT_LOST_REASON)
        elif op.to in STAGE_TO_DEAL:
            self.choose("stage", STAGE_TO_DEAL[op.to])
        else:
            raise Unsupported(f"DjangoCRM has no deal stage for {op.to!r}")
        self.submit()
        self.reopen(f"{DEAL}/{op.id}/change/")
        record = self._read_deal(str(op.id))
        if record["stage"] != op.to:
            # e.g. a closed deal: its stage field changes, but it stays closed
            raise Refused(f"DjangoCRM saved the deal, which is still {record['stage']}")
        return record

    def delete_opportunity(self, op: Operation) -> dict[str, Any]:
        """Delete the deal, then the request it was made from."""
        request_id = self.deal_requests.pop(str(op.id), None)
        if request_id is None:  # a deal made before this adapter opened: look it up
            with self.quietly():
                try:
                    self.open_page(f"{DEAL}/{op.id}/change/")
                    request_id = self.value("request")
                except Refused:
                    if op.cleanup:
                        return {"id": str(op.id)}
                    raise
        result = self._delete_record(DEAL, str(op.id), op.cleanup)
        if request_id:
            self._delete_record(REQUEST, request_id, cleanup=True)
        return result

    def find_opportunity(self, op: Operation) -> list[dict[str, Any]]:
        # Closed deals are hidden from the list unless asked for.
        return self._find_records(DEAL, op.where, self._read_deal, text=("name",), active="all")

    def _write_deal(self, data: dict[str, Any]) -> bool:
        """Fill the deal form; True if anything was typed or chosen."""
        before = self.step.effort
        if "name" in data:
            self.put("name", data["name"])
        if "amount" in data:
            self.put("amount", data["amount"])
        if "description" in data:
            self.put("description", data["description"])
        if data.get("account"):
            self.put("company", data["account"])
        if data.get("stage") in STAGE_TO_DEAL:
            self.choose("stage", STAGE_TO_DEAL[data["stage"]])
        if data.get("lost_reason"):
            # DjangoCRM's reasons are a list per department, and choosing one closes the
            # deal: it keeps no reason on an open deal.
            self.choose("closing_reason", data["lost_reason"])
        return self.step.effort != before

    def _read_deal(self, id_: str) -> dict[str, Any]:
        with self.one_look():
            reason = self.choice("closing_reason")
            stage = deal_stage(self.choice("stage"), reason)
            record = {
                "id": id_,
                "name": self.value("name"),
                "amount": number(self.value("amount")),
                "description": self.value("description"),
                "account": self.value("company"),
                "contact": self.value("contact"),
                "stage": stage,
            }
            if stage == "lost":
                record["lost_reason"] = reason
            return record

    # -- the request form, shared by deals and cases -------------------------------------

    def _save_request(self, subject: Any, data: dict[str, Any], case: bool) -> tuple[str, set[str]]:
        """Fill and save a new request; return its id and the contacts known before.

        A request names the person who asked, and DjangoCRM insists on a first name even
        when a contact is linked. With a contact, it is the contact's (looked up first).
        With only an account, the account's name and e-mail stand for the person: with
        an e-mail, DjangoCRM later files the person as a contact of that company (without
        one it makes a lead and unlinks the company). The contacts the company already
        had are returned, so that only a contact DjangoCRM adds is reported as created.
        """
        person, email, known = "" if subject is None else str(subject), None, set()
        if data.get("contact"):
            with self.quietly():
                self.open_page(f"crm/contact/{data['contact']}/change/")
                person = self.value("first_name") or person
            known.add(str(data["contact"]))
        elif data.get("account"):
            facts = self.company_facts(str(data["account"]))
            person, email, known = facts["name"] or person, facts["email"], facts["contacts"]
        self.open_page(f"{REQUEST}/add/")
        self.put("request_for", "" if subject is None else subject)
        if data.get("description") and case:
            self.put("description", data["description"])
        if data.get("contact"):
            self.put("contact", data["contact"])
        elif data.get("account"):
            self.put("company", data["account"])
        self.put("first_name", person)
        if email:
            self.put("email", email)
        if case:
            self.check("#id_case", True)
        self.submit()
        return self.id_from_url(REQUEST), known

    def company_facts(self, company_id: str) -> dict[str, Any]:
        """Name, e-mail and the ids of the contacts of a company (bookkeeping)."""
        with self.quietly():
            self.open_page(f"crm/company/{company_id}/change/")
            contacts = self.page.eval_on_selector_all(
                "input[name^='contacts-'][name$='-id']",
                "els => els.map(e => e.value).filter(Boolean)",
            )
            return {
                "name": self.value("full_name"),
                "email": self.value("email"),
                "contacts": set(contacts),
            }

    def _persons_made(self, known: set[str]) -> list[tuple[str, str]]:
        """The contact (not one of `known`) or lead DjangoCRM linked to this page's record."""
        with self.one_look():
            made = []
            contact, lead = self.value("contact"), self.value("lead")
            if contact and contact not in known:
                made.append(("contact", contact))
            if lead:
                made.append(("lead", lead))
            return made

    # -- case = request with "Case/Incident" ---------------------------------------------

    def create_case(self, op: Operation) -> dict[str, Any]:
        if op.data.get("stage") not in (None, "open"):
            raise Refused("a DjangoCRM case starts open")
        request_id, known = self._save_request(op.data.get("subject"), op.data, case=True)
        for entity, id_ in self._persons_made(known):
            self.step.created_record(entity, id_)
        self.step.created_record("case", request_id)
        return self._read_case(request_id) or {"id": request_id}

    def get_case(self, op: Operation) -> dict[str, Any]:
        with self.reading(op, f"{REQUEST}/{op.id}/change/"):
            record = self._read_case(str(op.id))
        if record is None:
            raise Refused(f"request {op.id} is not a case")
        return record

    def update_case(self, op: Operation) -> dict[str, Any]:
        self.open_page(f"{REQUEST}/{op.id}/change/")
        for canonical, field in CASE_TEXT.items():
            if canonical in op.data:
                self.put(field, op.data[canonical])
        self.submit()
        self.reopen(f"{REQUEST}/{op.id}/change/")
        return self._read_case(str(op.id)) or {"id": str(op.id)}

    def advance_case(self, op: Operation) -> dict[str, Any]:
        """Open <-> closed by the request's Close / Activate buttons; no pending state."""
        buttons = {"closed": "_close-case", "open": "_activate-case"}
        if op.to not in buttons:
            raise Unsupported(f"DjangoCRM cases are open or closed, not {op.to!r}")
        self.open_page(f"{REQUEST}/{op.id}/change/")
        if not self.exists("input[name='_close-case'], input[name='_activate-case']"):
            raise Refused(
                f"DjangoCRM lets {self.actor} only view request {op.id}, or it is no case"
            )
        current = self._read_case(str(op.id))
        if current is None:
            raise Refused(f"request {op.id} is not a case")
        if current["stage"] != op.to:
            # Closing files the request's person as a contact (or lead) if not yet done.
            linked_lead = self.value("lead")
            known = {current["contact"]} if current["contact"] else set()
            if current["account"] and not current["contact"]:
                known |= self.company_facts(current["account"])["contacts"]
                self.reopen(f"{REQUEST}/{op.id}/change/")
            self.submit(buttons[op.to])
            self.reopen(f"{REQUEST}/{op.id}/change/")
            for entity, id_ in self._persons_made(known):
                if (entity, id_) != ("lead", linked_lead):
                    self.step.created_record(entity, id_)
        return self._read_case(str(op.id)) or {"id": str(op.id)}

    def delete_case(self, op: Operation) -> dict[str, Any]:
        return self._delete_record(REQUEST, str(op.id), op.cleanup)

    def find_case(self, op: Operation) -> list[dict[str, Any]]:
        return self._find_records(REQUEST, op.where, self._read_case, text=("subject",))

    def _read_case(self, id_: str) -> dict[str, Any] | None:
        with self.one_look():
            if not self.checked("case"):
                return None
            record = {"id": id_, **{c: self.value(f) for c, f in CASE_TEXT.items()}}
            record.update(account=self.value("company"), contact=self.value("contact"))
            if self.exists("input[name='_activate-case']"):
                record["stage"] = "closed"
            elif self.exists("input[name='_close-case']"):
                record["stage"] = "open"
            else:  # a read-only page has no buttons; the list shows pending requests
                with self.quietly():
                    rows = self.list_rows(
                        REQUEST, q=record["subject"] or "", pending__exact="1", owner="all"
                    )
                record["stage"] = "open" if id_ in {r["id"] for r in rows} else "closed"
            return record
