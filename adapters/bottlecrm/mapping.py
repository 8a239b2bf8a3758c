"""Canonical records <-> BottleCRM's JSON, one pair of functions per entity.

Only this module knows BottleCRM's field names, choice values and stage codes. Reading
functions accept both a list row and a detail object: BottleCRM serialises references
sometimes as an id string, sometimes as `{"id", "name"}`, and amounts as decimal strings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from crmproof.adapter import Refused, Unsupported

Record = dict[str, Any]

# -- stages: canonical -> BottleCRM ----------------------------------------------------

OPPORTUNITY_STAGES = {
    "prospecting": "PROSPECTING",
    "qualification": "QUALIFICATION",
    "proposal": "PROPOSAL",
    "negotiation": "NEGOTIATION",
    "won": "CLOSED_WON",
    "lost": "CLOSED_LOST",
}
# BottleCRM's lead statuses: assigned, in process, converted, recycled, closed. None of
# them means "qualified": BottleCRM's own lead pipeline template (`POST
# /leads/pipelines/`, stages New, Contacted, Qualified, Proposal, Won, Lost) files its
# Contacted, Qualified and Proposal stages all under "in process". So a lead is only
# qualified in BottleCRM on a lead pipeline's "Qualified" stage (`PATCH
# /leads/{id}/move/`): where the organisation has such a pipeline, the canonical stages
# are its stages of the same names (each also sets the matching status); where it has
# none, they are statuses, and `qualified` is unsupported.
LEAD_STAGES = {
    "new": "assigned",
    "contacted": "in process",
    "converted": "converted",
    "lost": "closed",
}
LEAD_STAGES_READ = {**{v: k for k, v in LEAD_STAGES.items()}, "recycled": "new"}
LEAD_PIPELINE_STAGES = ("new", "contacted", "qualified", "lost")  # by their stage names
LEAD_FINAL_STATUSES = ("converted", "closed")  # these win over the stage a lead is on
CASE_STAGES = {"open": "New", "pending": "Pending", "closed": "Closed"}
CASE_STAGES_READ = {
    **{v: k for k, v in CASE_STAGES.items()},
    "Assigned": "open",
    "Rejected": "closed",
    "Duplicate": "closed",
}
TASK_STAGES = {"planned": "New", "done": "Completed"}
TASK_STAGES_READ = {"New": "planned", "In Progress": "planned", "Completed": "done"}
INVOICE_STAGES_READ = {
    "Draft": "draft",
    "Sent": "posted",
    "Viewed": "posted",
    "Pending": "posted",
    "Overdue": "posted",
    "Partially_Paid": "posted",
    "Paid": "paid",
    "Cancelled": "cancelled",
}
CASE_PRIORITIES = ("Low", "Normal", "High", "Urgent")
PAYMENT_TERMS = {
    "DUE_ON_RECEIPT": "Due on Receipt",
    "NET_15": "Net 15",
    "NET_30": "Net 30",
    "NET_45": "Net 45",
    "NET_60": "Net 60",
    "CUSTOM": "Custom",
}

# -- canonical fields each entity maps (what capabilities() claims) --------------------

FIELDS: dict[str, list[str]] = {
    "account": ["name", "email", "phone", "website", "industry", "city", "country", "parent"],
    "contact": ["first_name", "last_name", "name", "email", "phone", "title", "account"],
    "lead": [
        "name",
        "first_name",
        "last_name",
        "company",
        "email",
        "phone",
        "source",
        "amount",
        "stage",
    ],
    "opportunity": [
        "name",
        "account",
        "contact",
        "amount",
        "probability",
        "close_date",
        "description",
        "lost_reason",
        "stage",
    ],
    "case": ["subject", "account", "contact", "description", "priority", "stage"],
    "activity": [
        "subject",
        "kind",
        "account",
        "contact",
        "opportunity",
        "case",
        "due_date",
        "description",
        "stage",
    ],
    "invoice": ["account", "order", "lines", "total", "due_date", "payment_term", "stage"],
    "product": ["code", "name", "price"],
    "order": ["account", "opportunity", "lines", "reference", "total", "stage"],
}
READ_ONLY = {"invoice": {"total", "order"}, "order": {"total"}}
# Canonical fields kept in a text custom field the sandbox's organisation defines
# (orgsetup.py): BottleCRM's Account has no parent, its Opportunity no lost reason.
CUSTOM = {("account", "parent"): "parent_account", ("opportunity", "lost_reason"): "lost_reason"}


def custom_out(entity: str, data: Mapping[str, Any]) -> Record:
    """The `custom_fields` part of a body for the custom-field-backed fields in `data`."""
    values = {
        key: (str(data[canon]) if data[canon] else "")
        for (ent, canon), key in CUSTOM.items()
        if ent == entity and canon in data
    }
    return {"custom_fields": values} if values else {}


def custom_in(entity: str, obj: Mapping[str, Any]) -> Record:
    fields = obj.get("custom_fields") or {}
    return {canon: fields.get(key) or None for (ent, canon), key in CUSTOM.items() if ent == entity}


# -- small value helpers ---------------------------------------------------------------


def ref_id(value: Any) -> str | None:
    """An id out of a reference, whichever way BottleCRM wrote it."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


def first_ref(values: Any) -> str | None:
    return ref_id(values[0]) if isinstance(values, list) and values else None


def number(value: Any) -> int | float | None:
    """A decimal string as a number: int when it is whole, float otherwise."""
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def decimal_text(value: Any, field: str) -> str | None:
    if value is None:
        return None
    try:
        return str(Decimal(str(value)))
    except InvalidOperation:
        raise Refused(f"{field} must be a number, not {value!r}") from None


def stage_to_vendor(entity: str, stage: str, table: Mapping[str, str]) -> str:
    if stage not in table:
        raise Unsupported(f"BottleCRM has no {entity} stage matching '{stage}'")
    return table[stage]


def _only_known(entity: str, data: Mapping[str, Any]) -> None:
    known = set(FIELDS[entity]) - READ_ONLY.get(entity, set())
    unknown = sorted(set(data) - known)
    if unknown:
        raise Unsupported(f"BottleCRM's {entity} has no field for: {', '.join(unknown)}")


class Choices:
    """Choice lists that live in the vendor (countries, industries, lead sources).

    They are read once from the API, lazily, so a canonical value may be given either
    as BottleCRM's code or as its label.
    """

    def __init__(self, load: Callable[[], Mapping[str, list[list[str]]]]) -> None:
        self._load = load
        self._cache: Mapping[str, list[list[str]]] | None = None

    def pairs(self, kind: str) -> list[list[str]]:
        if self._cache is None:
            self._cache = self._load()
        return list(self._cache.get(kind, []))

    def code(self, kind: str, value: str) -> str:
        """The code for `value` (a code or a label, any case); unknown ones pass as is."""
        wanted = value.strip().lower()
        for code, label in self.pairs(kind):
            if wanted in (str(code).lower(), str(label).lower()):
                return str(code)
        return value

    def label(self, kind: str, code: Any) -> Any:
        for known, label in self.pairs(kind):
            if known == code:
                return label
        return code


# -- account ---------------------------------------------------------------------------


def account_out(data: Mapping[str, Any], choices: Choices) -> Record:
    _only_known("account", data)
    body: Record = {}
    for name in ("name", "email", "phone", "website", "city"):
        if name in data:
            body[name] = data[name]
    if "industry" in data:
        body["industry"] = (
            choices.code("industries", data["industry"]) if data["industry"] else None
        )
    if "country" in data:
        body["country"] = choices.code("countries", data["country"]) if data["country"] else None
    return {**body, **custom_out("account", data)}


def account_in(obj: Mapping[str, Any]) -> Record:
    return {
        "id": str(obj["id"]),
        "name": obj.get("name"),
        "email": obj.get("email"),
        "phone": obj.get("phone"),
        "website": obj.get("website"),
        "industry": obj.get("industry"),
        "city": obj.get("city"),
        # BottleCRM stores an ISO code and shows a name; the name is what a person reads.
        "country": obj.get("country_display") or obj.get("country"),
        **custom_in("account", obj),
    }


# -- contact ---------------------------------------------------------------------------


def contact_out(data: Mapping[str, Any]) -> Record:
    _only_known("contact", data)
    body: Record = {}
    if "name" in data and not ({"first_name", "last_name"} & set(data)):
        # One name field in the scenario, two in BottleCRM: the last word is the family name.
        first, _, last = str(data["name"]).strip().rpartition(" ")
        body["first_name"], body["last_name"] = first, last
    for name in ("first_name", "last_name", "email", "phone", "title"):
        if name in data:
            body[name] = data[name]
    if "account" in data:
        body["account"] = data["account"]
    return body


def contact_in(obj: Mapping[str, Any]) -> Record:
    first, last = obj.get("first_name") or "", obj.get("last_name") or ""
    return {
        "id": str(obj["id"]),
        "first_name": obj.get("first_name"),
        "last_name": obj.get("last_name"),
        "name": f"{first} {last}".strip() or None,
        "email": obj.get("email"),
        "phone": obj.get("phone"),
        "title": obj.get("title"),
        "account": ref_id(obj.get("account")),
    }


# -- lead ------------------------------------------------------------------------------


def lead_out(data: Mapping[str, Any], choices: Choices) -> Record:
    _only_known("lead", data)
    renames = {
        "name": "title",
        "first_name": "first_name",
        "last_name": "last_name",
        "company": "company_name",
        "email": "email",
        "phone": "phone",
    }
    body: Record = {vendor: data[canon] for canon, vendor in renames.items() if canon in data}
    if "source" in data:
        body["source"] = choices.code("sources", data["source"]) if data["source"] else None
    if "amount" in data:
        body["opportunity_amount"] = decimal_text(data["amount"], "amount")
    return body  # the stage is set apart, by status or by pipeline stage


def lead_in(
    obj: Mapping[str, Any],
    stages: Mapping[str, str] | None = None,
    choices: Choices | None = None,
) -> Record:
    """A lead; `stages` reads pipeline stage ids, `choices` source labels, if given."""
    status = obj.get("status")
    on_stage = (stages or {}).get(str(ref_id(obj.get("stage"))))
    if status in LEAD_FINAL_STATUSES or not on_stage:
        stage = LEAD_STAGES_READ.get(status, status) if status else "new"
    else:
        stage = on_stage
    source = obj.get("source")
    if choices is not None and source:
        source = choices.label("sources", source)
    return {
        "id": str(obj["id"]),
        "name": obj.get("title"),
        "first_name": obj.get("first_name"),
        "last_name": obj.get("last_name"),
        "company": obj.get("company_name"),
        "email": obj.get("email"),
        "phone": obj.get("phone"),
        "source": source,
        "amount": number(obj.get("opportunity_amount")),
        "stage": stage,
    }


# -- opportunity -----------------------------------------------------------------------


def opportunity_out(data: Mapping[str, Any]) -> Record:
    _only_known("opportunity", data)
    body: Record = {}
    for canon, vendor in (
        ("name", "name"),
        ("account", "account"),
        ("close_date", "closed_on"),
        ("description", "description"),
        ("probability", "probability"),
    ):
        if canon in data:
            body[vendor] = data[canon]
    if "amount" in data:
        body["amount"] = decimal_text(data["amount"], "amount")
    if "contact" in data:
        body["contacts"] = [data["contact"]] if data["contact"] else []
    if "stage" in data:
        body["stage"] = stage_to_vendor("opportunity", data["stage"], OPPORTUNITY_STAGES)
    return {**body, **custom_out("opportunity", data)}


def opportunity_in(obj: Mapping[str, Any]) -> Record:
    stage = obj.get("stage")
    read = {v: k for k, v in OPPORTUNITY_STAGES.items()}
    return {
        "id": str(obj["id"]),
        "name": obj.get("name"),
        "account": ref_id(obj.get("account")),
        "contact": first_ref(obj.get("contacts")),
        "amount": number(obj.get("amount")),
        "probability": obj.get("probability"),
        "close_date": obj.get("closed_on"),
        "description": obj.get("description"),
        **custom_in("opportunity", obj),
        "stage": read.get(stage, stage),
    }


# -- case ------------------------------------------------------------------------------


def case_out(data: Mapping[str, Any]) -> Record:
    _only_known("case", data)
    body: Record = {}
    for canon, vendor in (
        ("subject", "name"),
        ("account", "account"),
        ("description", "description"),
    ):
        if canon in data:
            body[vendor] = data[canon]
    if "contact" in data:
        body["contacts"] = [data["contact"]] if data["contact"] else []
    if "priority" in data:
        wanted = str(data["priority"]).capitalize()
        if wanted not in CASE_PRIORITIES:
            raise Unsupported(f"BottleCRM has no case priority '{data['priority']}'")
        body["priority"] = wanted
    if "stage" in data:
        body["status"] = stage_to_vendor("case", data["stage"], CASE_STAGES)
    return body


def case_in(obj: Mapping[str, Any]) -> Record:
    status, priority = obj.get("status"), obj.get("priority")
    return {
        "id": str(obj["id"]),
        "subject": obj.get("name"),
        "account": ref_id(obj.get("account")),
        "contact": first_ref(obj.get("contacts")),
        "description": obj.get("description"),
        "priority": priority.lower() if isinstance(priority, str) else priority,
        "stage": CASE_STAGES_READ.get(status, status),
    }


# -- activity: BottleCRM tasks, and its logged calls, e-mails and meetings ------------

# Kinds BottleCRM logs as interactions (`/api/interactions/`); a `task` is a task
# (`/api/tasks/`). BottleCRM also logs WhatsApp messages and SMS, which the canonical
# vocabulary does not name.
INTERACTION_KINDS = ("call", "meeting", "email")
# The records an interaction or a task may hang off, the most specific first: BottleCRM
# takes exactly one "home" record for an interaction, and one parent for a task (its
# contacts are a separate list).
INTERACTION_HOMES = ("case", "opportunity", "contact", "account")


def activity_kind(data: Mapping[str, Any]) -> str:
    """The canonical kind asked for; no kind means a task, as BottleCRM's default."""
    return str(data.get("kind") or "task").strip().lower()


def activity_out(data: Mapping[str, Any]) -> Record:
    """A task's body; links are sent as given, for BottleCRM to take or refuse (one
    parent): a link dropped here would read back as not done."""
    _only_known("activity", data)
    body: Record = {}
    for canon, vendor in (
        ("subject", "title"),
        ("account", "account"),
        ("opportunity", "opportunity"),
        ("case", "case"),
        ("due_date", "due_date"),
        ("description", "description"),
    ):
        if canon in data:
            body[vendor] = data[canon]
    if "contact" in data:
        body["contacts"] = [data["contact"]] if data["contact"] else []
    if "stage" in data:
        body["status"] = stage_to_vendor("activity", data["stage"], TASK_STAGES)
    return body


def activity_in(obj: Mapping[str, Any]) -> Record:
    status = obj.get("status")
    return {
        "id": str(obj["id"]),
        "subject": obj.get("title"),
        "kind": "task",
        "account": ref_id(obj.get("account")),
        "contact": first_ref(obj.get("contacts")),
        "opportunity": ref_id(obj.get("opportunity")),
        "case": ref_id(obj.get("case")),
        "due_date": obj.get("due_date"),
        "description": obj.get("description"),
        "stage": TASK_STAGES_READ.get(status, status),
    }


def interaction_out(data: Mapping[str, Any]) -> Record:
    """A logged call, e-mail or meeting, without its record links (the adapter's job).

    BottleCRM logs what happened: an interaction has no status and no planned state, so
    the canonical `done` is what every interaction is and `planned` has no place. The
    canonical date is when it happened (`occurred_at`, midnight UTC of that day);
    BottleCRM refuses one more than five minutes in the future.
    """
    _only_known("activity", data)
    body: Record = {}
    if "kind" in data:
        body["kind"] = activity_kind(data)
    if "subject" in data:
        body["subject"] = data["subject"] or ""
    if "description" in data:
        body["body"] = data["description"] or ""
    if data.get("due_date"):
        body["occurred_at"] = occurred_at(data["due_date"])
    if data.get("stage") not in (None, "done"):
        raise Unsupported(
            f"BottleCRM logs calls, e-mails and meetings that happened; it keeps no "
            f"'{data['stage']}' one (a planned follow-up is a task)"
        )
    return body


def occurred_at(value: Any) -> str:
    """A canonical date (or date-time) as the moment BottleCRM records."""
    text = str(value)
    try:
        return f"{date.fromisoformat(text).isoformat()}T00:00:00Z"
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).isoformat()
    except ValueError:
        raise Refused(f"due_date must be a date, not {value!r}") from None


def interaction_in(obj: Mapping[str, Any]) -> Record:
    when = obj.get("occurred_at")
    day = None
    if when:
        moment = datetime.fromisoformat(str(when))
        day = (moment.astimezone(UTC) if moment.tzinfo else moment).date().isoformat()
    return {
        "id": str(obj["id"]),
        "subject": obj.get("subject") or None,
        "kind": obj.get("kind"),
        "account": ref_id(obj.get("account")),
        "contact": ref_id(obj.get("contact")),
        "opportunity": ref_id(obj.get("opportunity")),
        "case": ref_id(obj.get("case")),
        "due_date": day,
        "description": obj.get("body") or None,
        "stage": "done",
    }


# -- product (BottleCRM keeps its catalogue under invoices) ---------------------------


def product_out(data: Mapping[str, Any]) -> Record:
    _only_known("product", data)
    body: Record = {}
    if "code" in data:
        body["sku"] = data["code"]
    if "name" in data:
        body["name"] = data["name"]
    if "price" in data:
        body["price"] = decimal_text(data["price"], "price")
    return body


def product_in(obj: Mapping[str, Any]) -> Record:
    return {
        "id": str(obj["id"]),
        "code": obj.get("sku"),
        "name": obj.get("name"),
        "price": number(obj.get("price")),
    }


# -- invoice ---------------------------------------------------------------------------


def payment_term_code(value: str) -> str:
    wanted = str(value).strip().lower()
    for code, label in PAYMENT_TERMS.items():
        if wanted in (code.lower(), label.lower(), code.lower().replace("_", " ")):
            return code
    raise Unsupported(f"BottleCRM has no payment term '{value}'")


def invoice_lines_out(
    lines: Any, product: Callable[[str], Mapping[str, Any] | None]
) -> list[Record]:
    """Invoice lines; a line naming a BottleCRM product (code or id) is linked to it.

    The line keeps the scenario's own word for the product as its name, so it reads
    back unchanged; a line without a price takes the product's list price.
    """
    if not isinstance(lines, list):
        raise Refused("invoice lines must be a list")
    out = []
    for line in lines:
        given = str(line.get("product") or "")
        known = product(given) if given else None
        price = line.get("unit_price", known.get("price") if known else 0)
        item: Record = {
            "name": given,
            "description": (known or {}).get("name") or given,
            "quantity": decimal_text(line.get("quantity", 1), "quantity"),
            "unit_price": decimal_text(price, "price"),
        }
        if known:
            item["product"] = str(known["id"])
        out.append(item)
    return out


def invoice_out(
    data: Mapping[str, Any], product: Callable[[str], Mapping[str, Any] | None]
) -> Record:
    _only_known("invoice", data)
    body: Record = {}
    if "account" in data:
        body["account_id"] = data["account"]
    if "due_date" in data:
        body["due_date"] = data["due_date"]
    if "payment_term" in data:
        body["payment_terms"] = payment_term_code(data["payment_term"])
    if "lines" in data:
        body["line_items"] = invoice_lines_out(data["lines"], product)
    if "stage" in data and data["stage"] != "draft":
        raise Unsupported("a BottleCRM invoice starts as a draft; advance it instead")
    return body


def invoice_in(obj: Mapping[str, Any]) -> Record:
    status, term = obj.get("status"), obj.get("payment_terms")
    record: Record = {
        "id": str(obj["id"]),
        "account": ref_id(obj.get("account")),
        "total": number(obj.get("total_amount")),
        "due_date": obj.get("due_date"),
        "payment_term": PAYMENT_TERMS.get(term, term) if term else None,
        "stage": INVOICE_STAGES_READ.get(status, status),
    }
    if "line_items" in obj:  # the detail has them, list rows do not
        record["lines"] = [
            {
                "product": item.get("name") or item.get("description"),
                "quantity": number(item.get("quantity")),
                "unit_price": number(item.get("unit_price")),
            }
            for item in obj["line_items"]
        ]
    return record


def normalize_where(entity: str, where: Mapping[str, Any], choices: Choices) -> Record:
    """`find` values spelled the way records read back, so equality means the same thing.

    A scenario may filter on a label where BottleCRM keeps a code (an industry, a lead
    source) or on a code where the record reads a label (a country, a payment term).
    """
    out = dict(where)
    for key, value in where.items():
        if not isinstance(value, str) or not value:
            continue
        if (entity, key) == ("account", "industry"):
            out[key] = choices.code("industries", value)
        elif (entity, key) == ("account", "country"):
            out[key] = choices.label("countries", choices.code("countries", value))
        elif (entity, key) == ("lead", "source"):
            out[key] = choices.label("sources", choices.code("sources", value))
        elif (entity, key) == ("case", "priority"):
            out[key] = value.lower()
        elif (entity, key) == ("invoice", "payment_term"):
            out[key] = PAYMENT_TERMS[payment_term_code(value)]
    return out
