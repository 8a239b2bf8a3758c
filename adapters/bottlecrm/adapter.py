"""The BottleCRM adapter: canonical operations over BottleCRM's REST API.

What BottleCRM's API offers and this adapter claims: accounts, contacts, leads (with
conversion), opportunities (through the pipeline's stages), cases, tasks (as activities)
and invoices (created, advanced, and cancelled, since an invoice can never be deleted).
Products are BottleCRM's invoice catalogue (`/api/invoices/products/`). What it does not
offer, it does not claim: BottleCRM has an orders table but no orders API, so `order` is
left to the base class, which reports it unsupported.

Every step runs as an actor (`op.actor`; None is the admin) with that person's own
personal access token, so BottleCRM's record-level rules apply: a USER sees the records
they created or were assigned, and answers 404 for any other.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from crmproof.adapter import Adapter, Refused, Unsupported, VendorError
from crmproof.protocol import Capabilities, EntitySupport, Operation, RecordRef

from . import mapping as m
from .client import Api, NotFound

PACKAGE_VERSION = "1.35"
ADMIN = "admin"
ACTORS = [ADMIN, "rep_a", "rep_b"]
CRUD = ["create", "get", "update", "delete", "find"]

Row = dict[str, Any]


@dataclass(frozen=True)
class Spec:
    """How one canonical entity lives in BottleCRM's API."""

    path: str  # the collection, e.g. "/accounts/"
    detail_key: str  # where the record sits in a detail answer
    read: Callable[[Mapping[str, Any]], m.Record]
    rows: Callable[[Any], list[Row]]  # a list page's records
    count: Callable[[Any], int]  # how many the list holds in all
    filters: dict[str, str] = field(default_factory=dict)  # canonical -> list query param
    list_fields: frozenset[str] = frozenset()  # canonical fields a list row carries
    name_fields: tuple[str, ...] = ()  # vendor fields a cleanup marker is looked for in
    defaults: dict[str, Any] = field(default_factory=dict)  # what BottleCRM requires


EMPTY_LINKS = {"assigned_to": [], "contacts": [], "teams": []}

SPECS: dict[str, Spec] = {
    "account": Spec(
        path="/accounts/",
        detail_key="account_obj",
        read=m.account_in,
        rows=lambda b: (
            b["active_accounts"]["open_accounts"] + b["closed_accounts"]["close_accounts"]
        ),
        count=lambda b: max(
            b["active_accounts"]["open_accounts_count"],
            b["closed_accounts"]["close_accounts_count"],
        ),
        filters={"name": "name", "city": "city", "industry": "industry"},
        list_fields=frozenset(m.FIELDS["account"]),
        name_fields=("name",),
    ),
    "contact": Spec(
        path="/contacts/",
        detail_key="contact_obj",
        read=m.contact_in,
        rows=lambda b: b["results"],
        count=lambda b: b["count"],
        filters={"first_name": "name", "last_name": "name", "email": "email", "phone": "phone"},
        list_fields=frozenset(m.FIELDS["contact"]),
        name_fields=("first_name", "last_name", "email"),
    ),
    "lead": Spec(
        path="/leads/",
        detail_key="lead_obj",
        read=m.lead_in,
        # Converted leads are never listed by BottleCRM.
        rows=lambda b: b["open_leads"]["open_leads"] + b["close_leads"]["close_leads"],
        count=lambda b: max(b["open_leads"]["leads_count"], b["close_leads"]["leads_count"]),
        filters={"first_name": "name", "last_name": "name", "email": "email", "company": "search"},
        list_fields=frozenset(m.FIELDS["lead"]),
        name_fields=("title", "first_name", "last_name", "company_name", "email"),
        defaults=dict(EMPTY_LINKS),
    ),
    "opportunity": Spec(
        path="/opportunities/",
        detail_key="opportunity_obj",
        read=m.opportunity_in,
        rows=lambda b: b["opportunities"],
        count=lambda b: b["opportunities_count"],
        filters={"name": "name", "account": "account"},
        list_fields=frozenset({"name", "account", "amount", "probability", "close_date", "stage"}),
        name_fields=("name",),
        defaults=dict(EMPTY_LINKS),
    ),
    "case": Spec(
        path="/cases/",
        detail_key="cases_obj",
        read=m.case_in,
        rows=lambda b: b["cases"],
        count=lambda b: b["cases_count"],
        filters={"subject": "name", "account": "account"},
        list_fields=frozenset(m.FIELDS["case"]),
        name_fields=("name",),
        defaults={**EMPTY_LINKS, "status": "New", "priority": "Normal"},
    ),
    "activity": Spec(
        path="/tasks/",
        detail_key="task_obj",
        read=m.activity_in,
        rows=lambda b: b["tasks"],
        count=lambda b: b["tasks_count"],
        filters={"subject": "title"},
        list_fields=frozenset(
            {"subject", "kind", "account", "opportunity", "case", "due_date", "stage"}
        ),
        name_fields=("title",),
        defaults={**EMPTY_LINKS, "status": "New", "priority": "Medium"},
    ),
    "invoice": Spec(
        path="/invoices/",
        detail_key="invoice",
        read=m.invoice_in,
        rows=lambda b: b["results"],
        count=lambda b: b["count"],
        filters={"account": "account"},
        list_fields=frozenset({"account", "total", "due_date", "stage"}),
        name_fields=("invoice_title", "account_name"),
    ),
    "product": Spec(
        path="/invoices/products/",
        detail_key="",  # a product's detail is the record itself
        read=m.product_in,
        rows=lambda b: b["results"],
        count=lambda b: b["count"],
        filters={"code": "search", "name": "search"},
        list_fields=frozenset(m.FIELDS["product"]),
        name_fields=("name", "sku"),
    ),
}

ADVANCE = ["advance"]
SUPPORT = {
    "account": CRUD,
    "contact": CRUD,
    "lead": [*CRUD, "convert", *ADVANCE],
    "opportunity": [*CRUD, *ADVANCE],
    "case": [*CRUD, *ADVANCE],
    "activity": [*CRUD, *ADVANCE],
    "invoice": ["create", "get", "find", "delete", *ADVANCE],
    "product": CRUD,
}
STAGES = {
    "lead": list(m.LEAD_STAGES),
    "opportunity": list(m.OPPORTUNITY_STAGES),
    "case": list(m.CASE_STAGES),
    "activity": list(m.TASK_STAGES),
    "invoice": ["draft", "posted", "paid", "cancelled"],
}


class BottleCRMAdapter(Adapter):
    """BottleCRM through its REST API, one personal access token per actor."""

    name = "bottlecrm"
    version = "0.1.0"
    channel = "api"

    def __init__(self) -> None:
        super().__init__()
        self._api: Api | None = None
        self.choices = m.Choices(self._load_choices)

    # -- lifecycle ------------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        return Capabilities(
            entities={
                entity: EntitySupport(
                    operations=list(ops),
                    fields=list(m.FIELDS[entity]),
                    stages=STAGES.get(entity, []),
                )
                for entity, ops in SUPPORT.items()
            },
            actors=list(ACTORS),
        )

    def open(self, settings: Mapping[str, Any]) -> str | None:
        """Connect with the admin's token and one token per actor; check the admin's works."""
        tokens = {ADMIN: str(settings["token"])}
        tokens.update({str(k): str(v) for k, v in (settings.get("actors") or {}).items()})
        self._api = Api(str(settings["url"]), tokens, timeout=float(settings.get("timeout", 30)))
        self.api.call(ADMIN, "GET", "/org/settings/")
        # BottleCRM publishes no product version over its API; the sandbox pins 1.35.
        return str(settings.get("version") or PACKAGE_VERSION)

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None

    @property
    def api(self) -> Api:
        if self._api is None:
            raise VendorError("the BottleCRM adapter is not open")
        return self._api

    def _load_choices(self) -> dict[str, list[list[str]]]:
        body = self.api.call(ADMIN, "GET", "/leads/", params={"limit": 1})
        return {
            "countries": body.get("countries", []),
            "industries": body.get("industries", []),
            "sources": body.get("source", []),
        }

    # -- generic record plumbing ----------------------------------------------------

    @staticmethod
    def _actor(op: Operation) -> str:
        return op.actor or ADMIN

    def _get(self, entity: str, id_: str | None, actor: str) -> m.Record:
        if not id_:
            raise Refused(f"get {entity} needs an id")
        spec = SPECS[entity]
        body = self.api.call(actor, "GET", f"{spec.path}{id_}/")
        return spec.read(body[spec.detail_key] if spec.detail_key else body)

    def _create(self, entity: str, op: Operation, body: m.Record) -> m.Record:
        spec = SPECS[entity]
        answer = self.api.call(self._actor(op), "POST", spec.path, json={**spec.defaults, **body})
        return self._get(entity, str(answer["id"]), self._actor(op))

    def _update(self, entity: str, op: Operation, body: m.Record) -> m.Record:
        spec = SPECS[entity]
        if body:
            self.api.call(self._actor(op), "PATCH", f"{spec.path}{op.id}/", json=body)
        return self._get(entity, op.id, self._actor(op))

    def _delete(self, entity: str, op: Operation) -> m.Record:
        try:
            self.api.call(self._actor(op), "DELETE", f"{SPECS[entity].path}{op.id}/")
        except NotFound:
            if op.cleanup:
                return {"id": op.id}
            raise
        return {"id": op.id}

    def _rows(self, entity: str, actor: str, params: Mapping[str, Any]) -> Iterator[Row]:
        spec = SPECS[entity]
        return self.api.pages(actor, spec.path, params, spec.rows, spec.count)

    def _find(self, entity: str, op: Operation) -> list[m.Record]:
        """Records whose canonical fields equal `op.where`, across every page.

        BottleCRM's list filters match substrings (and not every field has one), so they
        only narrow the pages; equality is decided here, on the list row where it carries
        the field, else on the record's detail.
        """
        spec = SPECS[entity]
        actor = self._actor(op)
        unknown = sorted(set(op.where) - {"id", *m.FIELDS[entity]})
        if unknown:
            raise Unsupported(f"BottleCRM's {entity} has no field for: {', '.join(unknown)}")
        where = m.normalize_where(entity, op.where, self.choices)
        params = {
            spec.filters[k]: v
            for k, v in where.items()
            if k in spec.filters and isinstance(v, str) and v
        }
        on_row = {k: v for k, v in where.items() if k in spec.list_fields or k == "id"}
        on_detail = {k: v for k, v in where.items() if k not in on_row}
        found: list[m.Record] = []
        seen: set[str] = set()
        for row in self._rows(entity, actor, params):
            record = spec.read(row)
            if record["id"] in seen or not _matches(record, on_row):
                continue
            seen.add(record["id"])
            detail = self._get(entity, record["id"], actor)
            if _matches(detail, on_detail):
                found.append(detail)
        return found

    # -- account ----------------------------------------------------------------------

    def create_account(self, op: Operation) -> m.Record:
        return self._create("account", op, m.account_out(op.data, self.choices))

    def get_account(self, op: Operation) -> m.Record:
        return self._get("account", op.id, self._actor(op))

    def update_account(self, op: Operation) -> m.Record:
        return self._update("account", op, m.account_out(op.data, self.choices))

    def delete_account(self, op: Operation) -> m.Record:
        """Delete; in cleanup, an account its invoices keep alive is deactivated instead.

        BottleCRM protects an account from deletion while any invoice, even a cancelled
        one, points at it, and invoices themselves can never be deleted.
        """
        try:
            return self._delete("account", op)
        except Refused as refusal:
            if not (op.cleanup and "invoices" in str(refusal)):
                raise
        self.api.call(self._actor(op), "PATCH", f"/accounts/{op.id}/", json={"is_active": False})
        return {
            "id": op.id,
            "kept": "deactivated: BottleCRM keeps an account its invoices refer to",
        }

    def find_account(self, op: Operation) -> list[m.Record]:
        return self._find("account", op)

    # -- contact ----------------------------------------------------------------------

    def create_contact(self, op: Operation) -> m.Record:
        return self._create("contact", op, m.contact_out(op.data))

    def get_contact(self, op: Operation) -> m.Record:
        return self._get("contact", op.id, self._actor(op))

    def update_contact(self, op: Operation) -> m.Record:
        return self._update("contact", op, m.contact_out(op.data))

    def delete_contact(self, op: Operation) -> m.Record:
        return self._delete("contact", op)

    def find_contact(self, op: Operation) -> list[m.Record]:
        return self._find("contact", op)

    # -- lead -------------------------------------------------------------------------

    def create_lead(self, op: Operation) -> m.Record:
        if op.data.get("stage") == "converted":
            raise Unsupported("a lead is converted by the convert operation, not created so")
        return self._create("lead", op, m.lead_out(op.data, self.choices))

    def get_lead(self, op: Operation) -> m.Record:
        return self._get("lead", op.id, self._actor(op))

    def update_lead(self, op: Operation) -> m.Record:
        if op.data.get("stage") == "converted":
            raise Unsupported("a lead is converted by the convert operation")
        return self._update("lead", op, m.lead_out(op.data, self.choices))

    def delete_lead(self, op: Operation) -> m.Record:
        return self._delete("lead", op)

    def find_lead(self, op: Operation) -> list[m.Record]:
        return self._find("lead", op)

    def advance_lead(self, op: Operation) -> m.Record:
        if op.to == "converted":
            self._convert(op)
            return self._get("lead", op.id, self._actor(op))
        status = m.stage_to_vendor("lead", op.to or "", m.LEAD_STAGES)
        self.api.call(self._actor(op), "PATCH", f"/leads/{op.id}/", json={"status": status})
        return self._get("lead", op.id, self._actor(op))

    def convert_lead(self, op: Operation) -> m.Record:
        """Convert; the answer is the record of `op.to` (the opportunity by default).

        BottleCRM's conversion (PATCH status "converted") files the lead under the
        account of the same name, creating it if there is none; links or creates the
        contact with the lead's e-mail; and creates an opportunity. Only what it created
        is reported as created, so cleanup never deletes a record that was already there.
        """
        target = op.to or "opportunity"
        if target not in ("opportunity", "account", "contact"):
            raise Unsupported(f"a BottleCRM lead converts into an opportunity, not a {target}")
        made = self._convert(op)
        if not made.get(target):
            raise Refused(f"BottleCRM's conversion made no {target} for this lead")
        return self._get(target, made[target], self._actor(op))

    def _convert(self, op: Operation) -> dict[str, str | None]:
        actor = self._actor(op)
        lead = self.api.call(actor, "GET", f"/leads/{op.id}/")["lead_obj"]
        account_name = lead.get("company_name") or " ".join(
            p for p in (lead.get("first_name"), lead.get("last_name")) if p
        )
        accounts_before = (
            {
                row["id"]
                for row in self._rows("account", actor, {"name": account_name})
                if str(row.get("name", "")).lower() == account_name.lower()
            }
            if account_name
            else set()
        )
        email = lead.get("email") or ""
        contacts_before = (
            {
                row["id"]
                for row in self._rows("contact", actor, {"email": email})
                if str(row.get("email") or "").lower() == email.lower()
            }
            if email
            else set()
        )
        answer = self.api.call(actor, "PATCH", f"/leads/{op.id}/", json={"status": "converted"})
        made = {
            "account": answer.get("account_id"),
            "contact": answer.get("contact_id"),
            "opportunity": answer.get("opportunity_id"),
        }
        if made["account"] and made["account"] not in accounts_before:
            self.step.created_record("account", made["account"])
        if made["contact"] and made["contact"] not in contacts_before:
            self.step.created_record("contact", made["contact"])
        if made["opportunity"]:
            self.step.created_record("opportunity", made["opportunity"])
        return made

    # -- opportunity ------------------------------------------------------------------

    def create_opportunity(self, op: Operation) -> m.Record:
        return self._create("opportunity", op, m.opportunity_out(op.data))

    def get_opportunity(self, op: Operation) -> m.Record:
        return self._get("opportunity", op.id, self._actor(op))

    def update_opportunity(self, op: Operation) -> m.Record:
        return self._update("opportunity", op, m.opportunity_out(op.data))

    def delete_opportunity(self, op: Operation) -> m.Record:
        return self._delete("opportunity", op)

    def find_opportunity(self, op: Operation) -> list[m.Record]:
        return self._find("opportunity", op)

    def advance_opportunity(self, op: Operation) -> m.Record:
        """Move along the pipeline, as the board does.

        Closing (won or lost) needs a close date: BottleCRM's move stamps today when
        the deal has none. A won deal must carry an amount, or BottleCRM refuses.
        """
        code = m.stage_to_vendor("opportunity", op.to or "", m.OPPORTUNITY_STAGES)
        self.api.call(
            self._actor(op), "PATCH", f"/opportunities/{op.id}/move/", json={"column_id": code}
        )
        return self._get("opportunity", op.id, self._actor(op))

    # -- case -------------------------------------------------------------------------

    def create_case(self, op: Operation) -> m.Record:
        return self._create("case", op, m.case_out(op.data))

    def get_case(self, op: Operation) -> m.Record:
        return self._get("case", op.id, self._actor(op))

    def update_case(self, op: Operation) -> m.Record:
        return self._update("case", op, m.case_out(op.data))

    def delete_case(self, op: Operation) -> m.Record:
        return self._delete("case", op)

    def find_case(self, op: Operation) -> list[m.Record]:
        return self._find("case", op)

    def advance_case(self, op: Operation) -> m.Record:
        return self._update("case", op, m.case_out({"stage": op.to}))

    # -- activity (tasks) -------------------------------------------------------------

    def create_activity(self, op: Operation) -> m.Record:
        """Create a task. BottleCRM answers without its id, so look for the new one.

        The tasks of that title are listed before and after the create; the new one is
        the id that was not there before.
        """
        body = m.activity_out(op.data)
        actor = self._actor(op)
        title = body.get("title")
        if not title:
            raise Refused("BottleCRM needs a subject (title) for a task")
        params = {"title": title, "slim": "true"}
        before = {row["id"] for row in self._rows("activity", actor, params)}
        self.api.call(actor, "POST", "/tasks/", json={**SPECS["activity"].defaults, **body})
        new = [row for row in self._rows("activity", actor, params) if row["id"] not in before]
        if not new:
            raise VendorError("BottleCRM said the task was created, but no new task is listed")
        newest = max(new, key=lambda row: str(row.get("created_at", "")))
        return self._get("activity", str(newest["id"]), actor)

    def get_activity(self, op: Operation) -> m.Record:
        return self._get("activity", op.id, self._actor(op))

    def update_activity(self, op: Operation) -> m.Record:
        return self._update("activity", op, m.activity_out(op.data))

    def delete_activity(self, op: Operation) -> m.Record:
        return self._delete("activity", op)

    def find_activity(self, op: Operation) -> list[m.Record]:
        return self._find("activity", op)

    def advance_activity(self, op: Operation) -> m.Record:
        return self._update("activity", op, m.activity_out({"stage": op.to}))

    # -- invoice ----------------------------------------------------------------------

    def _product(self, code_or_id: str, actor: str) -> Row | None:
        """The BottleCRM product a line names, by code (SKU), name or id; None if none."""
        for row in self._rows("product", actor, {"search": code_or_id}):
            if code_or_id in (row.get("sku"), row.get("name")):
                return row
        try:
            uuid.UUID(code_or_id)
        except ValueError:
            return None
        try:
            return self.api.call(actor, "GET", f"/invoices/products/{code_or_id}/")
        except NotFound:
            return None

    def create_invoice(self, op: Operation) -> m.Record:
        """Create a draft invoice for the account, billed to its first contact.

        BottleCRM requires a title and a contact on every invoice; the canonical invoice
        has neither, so the title names the account and the contact is the account's
        first. An account without contacts cannot be invoiced: BottleCRM refuses.
        """
        actor = self._actor(op)
        body = m.invoice_out(op.data, lambda code: self._product(code, actor))
        account_id = body.get("account_id")
        if not account_id:
            raise Refused("BottleCRM needs an account on an invoice")
        account = self.api.call(actor, "GET", f"/accounts/{account_id}/")
        contacts = account.get("contacts") or account["account_obj"].get("contacts") or []
        if not contacts:
            raise Refused(
                "BottleCRM needs a contact on an invoice, and this account has no contact"
            )
        body.update(
            invoice_title=f"Invoice {account['account_obj']['name']}",
            contact_id=m.ref_id(contacts[0]),
        )
        answer = self.api.call(actor, "POST", "/invoices/", json=body)
        return m.invoice_in(answer["invoice"])

    def get_invoice(self, op: Operation) -> m.Record:
        return self._get("invoice", op.id, self._actor(op))

    def find_invoice(self, op: Operation) -> list[m.Record]:
        return self._find("invoice", op)

    def delete_invoice(self, op: Operation) -> m.Record:
        """Invoices cannot be deleted in BottleCRM; cancelling is the closest it allows.

        In cleanup, a paid invoice (which BottleCRM will not cancel) first has its
        payments removed, then is cancelled.
        """
        actor = self._actor(op)
        try:
            invoice = self.api.call(actor, "GET", f"/invoices/{op.id}/")["invoice"]
        except NotFound:
            if op.cleanup:
                return {"id": op.id}
            raise
        if invoice.get("status") == "Cancelled":
            if op.cleanup:
                return {"id": op.id, "kept": "cancelled: BottleCRM never deletes an invoice"}
            raise Refused("BottleCRM: this invoice is already cancelled")
        if op.cleanup:
            for payment in invoice.get("payments") or []:
                self.api.call(actor, "DELETE", f"/invoices/{op.id}/payments/{payment['id']}/")
        answer = self.api.call(actor, "POST", f"/invoices/{op.id}/cancel/", json={})
        if op.cleanup:
            return {"id": op.id, "kept": "cancelled: BottleCRM never deletes an invoice"}
        return m.invoice_in(answer["invoice"])

    def advance_invoice(self, op: Operation) -> m.Record:
        """posted = sent to the client, paid = payment recorded, cancelled = cancelled."""
        actions = {"posted": "send", "paid": "mark-paid", "cancelled": "cancel"}
        if op.to not in actions:
            raise Unsupported(f"BottleCRM cannot move an invoice to '{op.to}'")
        self.api.call(self._actor(op), "POST", f"/invoices/{op.id}/{actions[op.to]}/", json={})
        return self._get("invoice", op.id, self._actor(op))

    # -- product ----------------------------------------------------------------------

    def create_product(self, op: Operation) -> m.Record:
        body = m.product_out(op.data)
        answer = self.api.call(self._actor(op), "POST", "/invoices/products/", json=body)
        return m.product_in(answer["product"])

    def get_product(self, op: Operation) -> m.Record:
        return self._get("product", op.id, self._actor(op))

    def update_product(self, op: Operation) -> m.Record:
        body = m.product_out(op.data)
        if body:  # BottleCRM's product edit is a PUT that keeps what it is not sent
            self.api.call(self._actor(op), "PUT", f"/invoices/products/{op.id}/", json=body)
        return self._get("product", op.id, self._actor(op))

    def delete_product(self, op: Operation) -> m.Record:
        return self._delete("product", op)

    def find_product(self, op: Operation) -> list[m.Record]:
        return self._find("product", op)

    # -- what a run left behind -------------------------------------------------------

    def leftovers(self, marker: str) -> list[RecordRef]:
        """Records whose name holds `marker`; cancelled or deactivated ones marked `kept`.

        Read as the admin, who sees the whole organisation. Converted leads are not in
        BottleCRM's lead list, so the global search is asked for them as well.
        """
        found: list[RecordRef] = []
        narrow = {
            "account": {"name": marker},
            "contact": {"search": marker},
            "lead": {},
            "opportunity": {"name": marker},
            "case": {"name": marker},
            "activity": {"title": marker, "slim": "true"},
            "invoice": {"search": marker},
            "product": {"search": marker},
        }
        for entity, params in narrow.items():
            spec = SPECS[entity]
            for row in self._rows(entity, ADMIN, params):
                kept = None
                if row.get("is_active") is False:
                    kept = "deactivated"
                elif row.get("status") == "Cancelled":
                    kept = "cancelled"
                if any(marker in str(row.get(f) or "") for f in spec.name_fields):
                    found.append(RecordRef(entity=entity, id=str(row["id"]), kept=kept))
        listed = {ref.id for ref in found}
        hits = self.api.call(ADMIN, "GET", "/search/", params={"q": marker}).get("results", [])
        for hit in hits:
            if hit.get("type") == "lead" and str(hit["id"]) not in listed:
                found.append(RecordRef(entity="lead", id=str(hit["id"])))
        return found


def _matches(record: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    return all(_same(record.get(k), v) for k, v in where.items())


def _same(have: Any, want: Any) -> bool:
    """Equality as a scenario means it: numbers by value, everything else exactly."""
    if isinstance(want, int | float) and not isinstance(want, bool):
        try:
            return have is not None and float(have) == float(want)
        except (TypeError, ValueError):
            return False
    if isinstance(want, str) and not isinstance(have, str) and have is not None:
        return str(have) == want
    return bool(have == want)
