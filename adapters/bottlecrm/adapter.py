"""The BottleCRM adapter: canonical operations over BottleCRM's REST API.

What BottleCRM's API offers and this adapter claims: accounts, contacts, leads (with
conversion, and the qualified stage where the organisation has a lead pipeline),
opportunities (through the pipeline's stages), cases, activities (a `task` is a BottleCRM
task; a call, e-mail or meeting is a logged interaction, `/api/interactions/`) and
invoices (created, advanced, and cancelled, since an invoice can never be deleted).
Products are BottleCRM's invoice catalogue (`/api/invoices/products/`). What it does not
offer, it does not claim: BottleCRM has an orders table but no orders API, so `order` is
left to the base class, which reports it unsupported; nor has it a place for a lead's
account, an opportunity's lost reason, or an account's parent or payment term.

Every step runs as an actor (`op.actor`; None is the admin) with that person's own
personal access token, so BottleCRM's record-level rules apply: a USER sees the records
they created or were assigned, and answers 404 for any other.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from crmproof.adapter import Adapter, Refused, Unsupported, VendorError
from crmproof.protocol import Capabilities, EntitySupport, Operation, RecordRef

from . import mapping as m
from . import orders as o
from .client import PAGE_SIZE, Api, NotFound

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
        list_fields=frozenset(m.FIELDS["account"]) - {"parent"},
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
    "order": Spec(
        path="/invoices/estimates/",
        detail_key="estimate",
        read=o.order_in,
        rows=lambda b: b["results"],
        count=lambda b: b["count"],
        filters={"account": "account"},
        list_fields=frozenset({"account", "opportunity", "total", "stage"}),
        name_fields=("title", "client_name"),
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


@dataclass(frozen=True)
class LeadBoard:
    """The canonical lead stages that are stages of the organisation's lead pipeline."""

    ids: dict[str, str]  # canonical stage -> BottleCRM stage id
    names: dict[str, str]  # BottleCRM stage id -> canonical stage

    @classmethod
    def of(cls, pipelines: list[Row]) -> LeadBoard:
        """From the first active pipeline (the default sorts first) that has a stage
        named Qualified, as BottleCRM's own template names it; empty if there is none."""
        for pipeline in pipelines:
            stages = {
                str(stage.get("name", "")).strip().lower(): str(stage["id"])
                for stage in pipeline.get("stages") or []
            }
            if pipeline.get("is_active", True) and "qualified" in stages:
                ids = {s: stages[s] for s in m.LEAD_PIPELINE_STAGES if s in stages}
                return cls(ids=ids, names={v: k for k, v in ids.items()})
        return cls(ids={}, names={})


ADVANCE = ["advance"]
SUPPORT = {
    "account": CRUD,
    "contact": CRUD,
    "lead": [*CRUD, "convert", *ADVANCE],
    "opportunity": [*CRUD, *ADVANCE, "convert"],
    "case": [*CRUD, *ADVANCE],
    "activity": [*CRUD, *ADVANCE],
    "invoice": ["create", "get", "find", "delete", *ADVANCE],
    "product": CRUD,
    "order": [*CRUD, *ADVANCE, "invoice"],
}
STAGES = {
    "lead": ["new", "contacted", "qualified", "converted", "lost"],
    "opportunity": list(m.OPPORTUNITY_STAGES),
    "case": list(m.CASE_STAGES),
    "activity": list(m.TASK_STAGES),
    "invoice": ["draft", "posted", "paid", "cancelled"],
    "order": list(o.ORDER_STAGES),
}


class BottleCRMAdapter(Adapter):
    """BottleCRM through its REST API, one personal access token per actor."""

    name = "bottlecrm"
    version = "0.1.0"
    channel = "api"

    # What the product lacks, with where django-crm 1.35's source (site-packages) shows it.
    not_offered: ClassVar[dict[str, str]] = {
        "account.payment_term": (
            "accounts/models.py:18 (class Account) has no payment term; only an invoice "
            "has one (invoices/models.py:47 PAYMENT_TERMS)"
        ),
        "order.payment_term": (
            "an estimate has no payment term (invoices/models.py:899-1100, class Estimate); "
            "its invoice gets one only when edited"
        ),
        "lead.account": (
            "leads/models.py:29 (class Lead) keeps a company name (line 130), not a link to "
            "an account; its conversion tracking fields were removed (line 24)"
        ),
        "advance order to done": (
            "an estimate is Draft, Sent, Viewed, Accepted, Declined or Expired "
            "(invoices/models.py:172-179); being invoiced is its conversion, not a status"
        ),
    }
    # What a REST client cannot exercise: the channel, not the product.
    channel_limits: ClassVar[dict[str, str]] = {
        "offline": "a REST client has no offline mode to test",
        "online": "a REST client is always online",
        "effort": "clicks, keystrokes and pages are counted only on a browser channel",
    }

    def __init__(self) -> None:
        super().__init__()
        self._api: Api | None = None
        # interaction id -> (home, home id): BottleCRM reads an interaction only in
        # the timeline of the record it is logged on.
        self._interaction_homes: dict[str, tuple[str, str]] = {}
        self._lead_board_cache: LeadBoard | None = None
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
        self._api = Api(
            str(settings["url"]),
            tokens,
            timeout=float(settings.get("timeout", 30)),
            client=self.http_client,
        )
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
        """Countries and industries, and the organisation's own lead sources.

        Lead sources are per organisation in BottleCRM (`/leads/sources/`); the `source`
        list in the lead list's answer is its old fixed list, which an organisation's
        own sources replace.
        """
        body = self.api.call(ADMIN, "GET", "/leads/", params={"limit": 1})
        sources = self.api.call(ADMIN, "GET", "/leads/sources/").get("sources", [])
        return {
            "countries": body.get("countries", []),
            "industries": body.get("industries", []),
            "sources": [[row["key"], row["label"]] for row in sources if row.get("is_active")],
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
        return self._read(entity, body[spec.detail_key] if spec.detail_key else body)

    def _read(self, entity: str, obj: Mapping[str, Any]) -> m.Record:
        """A record (list row or detail) in canonical terms."""
        if entity == "lead":
            return m.lead_in(obj, self._lead_board().names, self.choices)
        return SPECS[entity].read(obj)

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
            record = self._read(entity, row)
            if record["id"] in seen or not _matches(record, on_row):
                continue
            seen.add(record["id"])
            try:
                detail = self._get(entity, record["id"], actor)
            except NotFound:
                continue  # deleted since the list was read (another run's cleanup): gone
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
        stage = op.data.get("stage")
        if stage == "converted":
            raise Unsupported("a lead is converted by the convert operation, not created so")
        if stage:
            self._lead_stage_move(stage)  # an unsupported stage is said before creating
        actor = self._actor(op)
        body = {**SPECS["lead"].defaults, **m.lead_out(op.data, self.choices)}
        answer = self.api.call(actor, "POST", "/leads/", json=body)
        lead_id = str(answer["id"])
        self.step.created_record("lead", lead_id)
        if stage:
            self._set_lead_stage(actor, lead_id, stage)
        return self._get("lead", lead_id, actor)

    def get_lead(self, op: Operation) -> m.Record:
        return self._get("lead", op.id, self._actor(op))

    def update_lead(self, op: Operation) -> m.Record:
        stage = op.data.get("stage")
        if stage == "converted":
            raise Unsupported("a lead is converted by the convert operation")
        if stage:
            self._lead_stage_move(stage)
        record = self._update("lead", op, m.lead_out(op.data, self.choices))
        if not stage:
            return record
        self._set_lead_stage(self._actor(op), str(op.id), stage)
        return self._get("lead", op.id, self._actor(op))

    def delete_lead(self, op: Operation) -> m.Record:
        return self._delete("lead", op)

    def find_lead(self, op: Operation) -> list[m.Record]:
        return self._find("lead", op)

    def advance_lead(self, op: Operation) -> m.Record:
        if op.to == "converted":
            self._convert(op)
        else:
            self._set_lead_stage(self._actor(op), str(op.id), op.to or "")
        return self._get("lead", op.id, self._actor(op))

    def _lead_board(self) -> LeadBoard:
        """The organisation's lead pipeline with a Qualified stage, read once (as admin)."""
        if self._lead_board_cache is None:
            listed = self.api.call(ADMIN, "GET", "/leads/pipelines/").get("pipelines", [])
            # The list carries no stages; each pipeline's detail does.
            pipelines = [
                self.api.call(ADMIN, "GET", f"/leads/pipelines/{row['id']}/") for row in listed
            ]
            self._lead_board_cache = LeadBoard.of(pipelines)
        return self._lead_board_cache

    def _lead_stage_move(self, stage: str) -> dict[str, Any]:
        """The request body that puts a lead on canonical `stage` (not converted)."""
        board = self._lead_board()
        if stage in board.ids:
            return {"stage_id": board.ids[stage]}
        if stage == "qualified":
            raise Unsupported(
                "BottleCRM's lead statuses (assigned, in process, converted, recycled, "
                "closed) have no 'qualified': only a lead pipeline's Qualified stage is, "
                "and this organisation has no such pipeline"
            )
        return {"status": m.stage_to_vendor("lead", stage, m.LEAD_STAGES)}

    def _set_lead_stage(self, actor: str, lead_id: str, stage: str) -> None:
        """By the pipeline's stage where there is one (as BottleCRM's board moves a
        lead, which also sets the stage's status), else by status."""
        move = self._lead_stage_move(stage)
        if "stage_id" in move:
            self.api.call(actor, "PATCH", f"/leads/{lead_id}/move/", json=move)
        else:
            self.api.call(actor, "PATCH", f"/leads/{lead_id}/", json=move)

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

    # -- activity: tasks, and logged calls, e-mails and meetings ----------------------

    def create_activity(self, op: Operation) -> m.Record:
        """A task (`kind: task`, or no kind) or a logged call, e-mail or meeting."""
        kind = m.activity_kind(op.data)
        if kind == "task":
            return self._create_task(op)
        if kind in m.INTERACTION_KINDS:
            return self._create_interaction(op)
        raise Unsupported(f"BottleCRM has no activity of kind '{op.data.get('kind')}'")

    def get_activity(self, op: Operation) -> m.Record:
        if not op.id:
            raise Refused("get activity needs an id")
        actor = self._actor(op)
        if self._is_interaction(op.id, actor):
            return m.interaction_in(self._interaction(op.id, actor))
        return self._get("activity", op.id, actor)

    def update_activity(self, op: Operation) -> m.Record:
        actor = self._actor(op)
        if not op.id:
            raise Refused("update activity needs an id")
        kind = m.activity_kind(op.data) if "kind" in op.data else None
        if self._is_interaction(op.id, actor):
            if kind == "task":
                raise Unsupported("BottleCRM cannot turn a logged interaction into a task")
            body = m.interaction_out(op.data)
            body.update({k: op.data[k] for k in m.INTERACTION_HOMES if k in op.data})
            answer = self.api.call(actor, "PATCH", f"/interactions/{op.id}/", json=body)
            return self._remember(answer)
        if kind not in (None, "task"):
            raise Unsupported(f"BottleCRM cannot turn a task into a logged {kind}")
        return self._update("activity", op, m.activity_out(_without(op.data, "kind")))

    def delete_activity(self, op: Operation) -> m.Record:
        """Delete the task or the interaction; BottleCRM deletes either by id alone."""
        actor = self._actor(op)
        first, second = ("/interactions/", "/tasks/")
        if op.id not in self._interaction_homes:
            first, second = second, first
        try:
            self.api.call(actor, "DELETE", f"{first}{op.id}/")
        except NotFound:
            try:
                self.api.call(actor, "DELETE", f"{second}{op.id}/")
            except NotFound:
                if op.cleanup:
                    return {"id": op.id}
                raise
        self._interaction_homes.pop(str(op.id), None)
        return {"id": op.id}

    def find_activity(self, op: Operation) -> list[m.Record]:
        """Tasks and interactions matching `op.where`, tasks first.

        BottleCRM lists interactions only per record (`?case=`, `?account=`, ...: the
        interactions linked to that record). A search naming a record asks that record;
        one naming none reads the timeline of every record the actor can open.
        """
        kind = m.activity_kind(op.where) if op.where.get("kind") else None
        if kind:
            op = op.model_copy(update={"where": {**op.where, "kind": kind}})
        found: list[m.Record] = []
        if kind in (None, "task"):
            found += self._find("activity", op)
        if kind is None or kind in m.INTERACTION_KINDS:
            unknown = sorted(set(op.where) - {"id", *m.FIELDS["activity"]})
            if unknown:
                raise Unsupported(f"BottleCRM's activity has no field for: {', '.join(unknown)}")
            actor = self._actor(op)
            link = next((k for k in m.INTERACTION_HOMES if op.where.get(k)), None)
            rows = (
                self._interactions_of(actor, link, str(op.where[link]))
                if link
                else self._all_interactions(actor)
            )
            seen: set[str] = set()
            for row in rows:
                record = m.interaction_in(row)
                if record["id"] not in seen and _matches(record, op.where):
                    seen.add(record["id"])
                    found.append(record)
        return found

    def advance_activity(self, op: Operation) -> m.Record:
        actor = self._actor(op)
        if op.id and self._is_interaction(op.id, actor):
            if op.to != "done":
                raise Unsupported(
                    f"a logged BottleCRM interaction has happened: it cannot be '{op.to}'"
                )
            return m.interaction_in(self._interaction(op.id, actor))
        return self._update("activity", op, m.activity_out({"stage": op.to}))

    # tasks

    def _create_task(self, op: Operation) -> m.Record:
        """Create a task. BottleCRM answers without its id, so look for the new one.

        The tasks of that title are listed before and after the create; the new one is
        the id that was not there before.
        """
        actor = self._actor(op)
        body = m.activity_out(_without(op.data, "kind"))
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

    # interactions (BottleCRM's logged calls, e-mails and meetings)

    def _create_interaction(self, op: Operation) -> m.Record:
        actor = self._actor(op)
        body = m.interaction_out(op.data)
        body.update({k: op.data[k] for k in m.INTERACTION_HOMES if op.data.get(k)})
        answer = self.api.call(actor, "POST", "/interactions/", json=body)
        return self._remember(answer)

    def _remember(self, row: Row) -> m.Record:
        """Note where an interaction lives (BottleCRM reads one only through its record)."""
        home = str(row.get("home") or "")
        if home and row.get(home):
            self._interaction_homes[str(row["id"])] = (home, str(row[home]))
        return m.interaction_in(row)

    def _is_interaction(self, id_: str, actor: str) -> bool:
        """Whether `id_` is an interaction rather than a task (a task is asked first)."""
        if id_ in self._interaction_homes:
            return True
        try:
            self.api.call(actor, "GET", f"/tasks/{id_}/")
            return False
        except NotFound:
            pass
        return any(row["id"] == id_ for row in self._all_interactions(actor))

    def _interaction(self, id_: str, actor: str) -> Row:
        """One interaction as `actor` reads it, through the record it is logged on.

        BottleCRM has no read of one interaction by id (its detail route only edits and
        deletes): an interaction is read in its home record's timeline, and whoever
        cannot open that record cannot read it (404, as for any record).
        """
        where = self._interaction_homes.get(id_)
        if where is not None:
            for row in self._interactions_of(actor, *where, missing_ok=False):
                if str(row["id"]) == id_:
                    return row
        raise NotFound(f"GET interaction {id_}: not found")

    def _interactions_of(
        self, actor: str, home: str, id_: str, *, missing_ok: bool = True
    ) -> Iterator[Row]:
        """The interactions linked to one record; none if `actor` cannot open it."""
        params = {home: id_, "limit": PAGE_SIZE}
        pages = self.api.pages(
            actor, "/interactions/", params, lambda b: b["interactions"], lambda b: b["count"]
        )
        try:
            for row in pages:
                self._remember(row)
                yield row
        except NotFound:
            if not missing_ok:
                raise

    def _all_interactions(self, actor: str) -> Iterator[Row]:
        """Every interaction `actor` can read: the timelines of every record they open."""
        seen: set[str] = set()
        for home in ("account", "contact", "opportunity", "case", "lead"):
            for record in self._rows(home, actor, {}):
                for row in self._interactions_of(actor, home, str(record["id"])):
                    if row["id"] not in seen:
                        seen.add(row["id"])
                        yield row

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
        return {**m.invoice_in(answer["invoice"]), "order": None}  # made by hand, not from one

    def get_invoice(self, op: Operation) -> m.Record:
        return self._with_order(self._get("invoice", op.id, self._actor(op)), self._actor(op))

    def find_invoice(self, op: Operation) -> list[m.Record]:
        """As any find; `order` is matched on the estimate each invoice came from."""
        if "order" not in op.where:
            return [self._with_order(r, self._actor(op)) for r in self._find("invoice", op)]
        rest = op.model_copy(update={"where": _without(op.where, "order")})
        found = [self._with_order(r, self._actor(op)) for r in self._find("invoice", rest)]
        return [r for r in found if _same(r.get("order"), op.where["order"])]

    def _with_order(self, invoice: m.Record, actor: str) -> m.Record:
        """The invoice with the estimate it was converted from (BottleCRM keeps the link
        on the estimate, `converted_to_invoice`; the invoice does not show it)."""
        order = None
        if invoice.get("account"):
            rows = self._rows("order", actor, {"account": invoice["account"]})
            order = next((str(r["id"]) for r in rows if o.invoice_of(r) == invoice["id"]), None)
        return {**invoice, "order": order}

    def delete_invoice(self, op: Operation) -> m.Record:
        """Invoices cannot be deleted in BottleCRM; cancelling is the closest it allows.

        The answer says so (`kept`), in cleanup and out of it alike. In cleanup, a paid
        invoice (which BottleCRM will not cancel) first has its payments removed, then is
        cancelled; outside cleanup BottleCRM's refusal to cancel a paid one stands.
        """
        actor = self._actor(op)
        kept = {"id": op.id, "kept": "cancelled: BottleCRM never deletes an invoice"}
        try:
            invoice = self.api.call(actor, "GET", f"/invoices/{op.id}/")["invoice"]
        except NotFound:
            if op.cleanup:
                return {"id": op.id}
            raise
        if invoice.get("status") == "Cancelled":
            if op.cleanup:
                return kept
            raise Refused("BottleCRM: this invoice is already cancelled")
        if op.cleanup:
            for payment in invoice.get("payments") or []:
                self.api.call(actor, "DELETE", f"/invoices/{op.id}/payments/{payment['id']}/")
        self.api.call(actor, "POST", f"/invoices/{op.id}/cancel/", json={})
        return kept

    def advance_invoice(self, op: Operation) -> m.Record:
        """posted = sent to the client, paid = payment recorded, cancelled = cancelled."""
        actions = {"posted": "send", "paid": "mark-paid", "cancelled": "cancel"}
        if op.to not in actions:
            raise Unsupported(f"BottleCRM cannot move an invoice to '{op.to}'")
        self.api.call(self._actor(op), "POST", f"/invoices/{op.id}/{actions[op.to]}/", json={})
        return self._get("invoice", op.id, self._actor(op))

    # -- order = BottleCRM estimate (see orders.py) -------------------------------------

    def create_order(self, op: Operation) -> m.Record:
        """An estimate for the account, addressed to its billing contact.

        BottleCRM requires a title and a contact on an estimate; the canonical order has
        neither, so the title names the account (and the PO number), and the contact is
        the account's first (see `_billing_contact`).
        """
        actor = self._actor(op)
        body = o.order_out(op.data, lambda code: self._product(code, actor))
        if not body.get("account_id"):
            raise Refused("BottleCRM needs an account on an estimate")
        account = self.api.call(actor, "GET", f"/accounts/{body['account_id']}/")
        body.update(
            title=o.title_for(account["account_obj"]["name"], op.data.get("reference")),
            contact_id=self._billing_contact(actor, account),
        )
        answer = self.api.call(actor, "POST", "/invoices/estimates/", json=body)
        return o.order_in(answer["estimate"])

    def _billing_contact(self, actor: str, account: Mapping[str, Any]) -> str:
        """The account's first contact; else one made from the account's e-mail.

        BottleCRM addresses every estimate to a person (EstimateCreateSerializer:
        `contact_id` required). A salesperson quoting an account with no contact on
        file adds one first, with the address the account gave; so does the adapter,
        and reports it as created so cleanup removes it.
        """
        contacts = account.get("contacts") or account["account_obj"].get("contacts") or []
        if contacts:
            return str(m.ref_id(contacts[0]))
        obj = account["account_obj"]
        if not obj.get("email"):
            raise Refused("BottleCRM addresses an estimate to a contact; this account has none")
        body = {
            "first_name": "Billing",
            "last_name": str(obj["name"])[:100],
            "email": obj["email"],
            "account": str(obj["id"]),
        }
        answer = self.api.call(actor, "POST", "/contacts/", json=body)
        contact_id = str(answer.get("id") or answer["contact_obj"]["id"])
        self.step.created_record("contact", contact_id)
        return contact_id

    def get_order(self, op: Operation) -> m.Record:
        return self._get("order", op.id, self._actor(op))

    def update_order(self, op: Operation) -> m.Record:
        """BottleCRM's estimate edit is a partial PUT; lines sent replace the lines."""
        actor = self._actor(op)
        body = o.order_out(op.data, lambda code: self._product(code, actor))
        if body:
            self.api.call(actor, "PUT", f"/invoices/estimates/{op.id}/", json=body)
        return self._get("order", op.id, actor)

    def delete_order(self, op: Operation) -> m.Record:
        return self._delete("order", op)

    def find_order(self, op: Operation) -> list[m.Record]:
        return self._find("order", op)

    def advance_order(self, op: Operation) -> m.Record:
        """Send (staff), then accept or decline as the buyer does on the client portal."""
        actor = self._actor(op)
        estimate = self.api.call(actor, "GET", f"/invoices/estimates/{op.id}/")["estimate"]
        for action in o.transitions(str(estimate.get("status")), op.to or ""):
            if action == "send":
                self.api.call(actor, "POST", f"/invoices/estimates/{op.id}/send/", json={})
                continue
            contact = estimate.get("contact") or {}
            person = " ".join(str(contact.get(k) or "") for k in ("first_name", "last_name"))
            buyer = {
                "name": person.strip() or str(estimate.get("client_name") or "") or "Buyer",
                "email": estimate.get("client_email") or self._contact_email(actor, contact),
            }
            token = estimate["public_token"]
            self.api.call(actor, "POST", f"/public/estimate/{token}/{action}/", json=buyer)
        return self._get("order", op.id, actor)

    def _contact_email(self, actor: str, contact: Mapping[str, Any]) -> str:
        if contact.get("id"):
            obj = self.api.call(actor, "GET", f"/contacts/{contact['id']}/")["contact_obj"]
            if obj.get("email"):
                return str(obj["email"])
        raise Refused("the buyer accepts a BottleCRM estimate with their e-mail; none is known")

    def invoice_order(self, op: Operation) -> m.Record:
        """BottleCRM's convert: the estimate's lines become a draft invoice."""
        actor = self._actor(op)
        answer = self.api.call(actor, "POST", f"/invoices/estimates/{op.id}/convert/", json={})
        invoice = m.invoice_in(answer["invoice"])
        self.step.created_record("invoice", invoice["id"])
        return {**invoice, "order": str(op.id)}

    def convert_opportunity(self, op: Operation) -> m.Record:
        """An estimate for the opportunity's account, linked to the opportunity.

        BottleCRM quotes a deal with an estimate that names it (`Estimate.opportunity`);
        `with:` takes the order's lines and reference.
        """
        if op.to not in (None, "order"):
            raise Unsupported(f"a BottleCRM deal is quoted as an estimate, not a {op.to}")
        actor = self._actor(op)
        deal = self._get("opportunity", op.id, actor)
        if not deal.get("account"):
            raise Refused("BottleCRM quotes an account: this opportunity has none")
        data = {**op.data, "account": deal["account"], "opportunity": deal["id"]}
        made = self.create_order(op.model_copy(update={"data": data}))
        self.step.created_record("order", made["id"])
        return made

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
        BottleCRM's lead list, so the global search is asked for them as well. Logged
        calls, e-mails and meetings have no list of their own (see below).
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
            "order": {"search": marker},
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
        # Interactions are listed per record: those of the run's records (an
        # interaction goes when its home record is deleted), and of any record this
        # adapter logged one on.
        homes = {(ref.entity, ref.id) for ref in found if ref.entity in m.INTERACTION_HOMES}
        homes |= {(ref.entity, ref.id) for ref in found if ref.entity == "lead"}
        homes |= set(self._interaction_homes.values())
        seen: set[str] = set()
        for home, home_id in sorted(homes):
            for row in self._interactions_of(ADMIN, home, home_id):
                if row["id"] not in seen and marker in str(row.get("subject") or ""):
                    seen.add(row["id"])
                    found.append(RecordRef(entity="activity", id=str(row["id"])))
        return found


def _without(data: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}


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
