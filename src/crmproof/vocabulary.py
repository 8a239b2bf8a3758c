"""The canonical CRM vocabulary: the only words a scenario may use.

Scenarios are vendor-neutral, so they speak these entities, fields, stages and
operations, and each adapter translates them into one vendor's terms. Keeping the whole
vocabulary in one module means the validator, the JSON Schemas, the docs table and the
adapters all agree on it; `docs/vocabulary.md` is generated from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# Why a vendor said no, as a scenario's `refused:` and the protocol's outcome name it.
# Transient answers (a rate limit, an outage, a timeout, the harness's own credentials
# rejected) are never refusals: they are errors.
RefusalKind = Literal["forbidden", "not_found", "rule", "conflict"]
REFUSAL_KINDS: tuple[RefusalKind, ...] = ("forbidden", "not_found", "rule", "conflict")

FieldType = Literal["text", "email", "phone", "number", "date", "bool", "lines", "stage"]


@dataclass(frozen=True)
class Field:
    """One canonical field: its type, and for references the entity it points at."""

    type: FieldType | str  # "ref:<entity>" for a reference to another record
    doc: str


@dataclass(frozen=True)
class Entity:
    """A canonical record kind with its fields and, if it has a lifecycle, its stages."""

    name: str
    doc: str
    fields: dict[str, Field]
    stages: tuple[str, ...] = ()
    # Stages a record can reach only by an operation, never by `create ... stage:`.
    terminal: tuple[str, ...] = field(default=())


def _f(type_: str, doc: str) -> Field:
    return Field(type_, doc)


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in [
        Entity(
            "account",
            "A customer organisation (a company, a party).",
            {
                "name": _f("text", "Legal or trading name."),
                "email": _f("email", "Main e-mail address."),
                "phone": _f("phone", "Main telephone number."),
                "website": _f("text", "Web address."),
                "industry": _f("text", "Industry or sector."),
                "city": _f("text", "City of the main address."),
                "country": _f("text", "Country of the main address."),
                "parent": _f("ref:account", "The account this one belongs to (a division)."),
                "payment_term": _f("text", "Name of the agreed payment term."),
            },
        ),
        Entity(
            "contact",
            "A person, usually at an account.",
            {
                "first_name": _f("text", "Given name."),
                "last_name": _f("text", "Family name."),
                "name": _f("text", "Full name, when the vendor keeps only one name field."),
                "email": _f("email", "E-mail address."),
                "phone": _f("phone", "Telephone number."),
                "title": _f("text", "Job title."),
                "account": _f("ref:account", "The account the person works for."),
            },
        ),
        Entity(
            "lead",
            "An unqualified prospect: a person or company that may buy.",
            {
                "name": _f("text", "Short title of the lead."),
                "first_name": _f("text", "Given name of the person."),
                "last_name": _f("text", "Family name of the person."),
                "company": _f("text", "Company name as given by the prospect."),
                "email": _f("email", "E-mail address."),
                "phone": _f("phone", "Telephone number."),
                "source": _f("text", "Where the lead came from."),
                "amount": _f("number", "Estimated value."),
                "account": _f("ref:account", "Existing account the lead belongs to."),
                "stage": _f("stage", "Lifecycle stage."),
            },
            stages=("new", "contacted", "qualified", "converted", "lost"),
            terminal=("converted",),
        ),
        Entity(
            "opportunity",
            "A qualified chance to sell, moving through stages to won or lost.",
            {
                "name": _f("text", "Short title."),
                "account": _f("ref:account", "The buying account."),
                "contact": _f("ref:contact", "The main buyer contact."),
                "amount": _f("number", "Expected value."),
                "probability": _f("number", "Chance of winning, 0-100."),
                "close_date": _f("date", "Expected close date."),
                "description": _f("text", "Free text."),
                "lost_reason": _f("text", "Why it was lost."),
                "stage": _f("stage", "Pipeline stage."),
            },
            stages=("prospecting", "qualification", "proposal", "negotiation", "won", "lost"),
            terminal=("won", "lost"),
        ),
        Entity(
            "activity",
            "A call, e-mail, meeting or task on the customer's timeline.",
            {
                "subject": _f("text", "What it is about."),
                "kind": _f("text", "call, email, meeting or task."),
                "account": _f("ref:account", "The account it concerns."),
                "contact": _f("ref:contact", "The person it concerns."),
                "opportunity": _f("ref:opportunity", "The opportunity it concerns."),
                "case": _f("ref:case", "The case it concerns."),
                "due_date": _f("date", "When it is due or happened."),
                "description": _f("text", "Free text."),
                "stage": _f("stage", "planned or done."),
            },
            stages=("planned", "done"),
        ),
        Entity(
            "case",
            "A service request or complaint, worked to resolution.",
            {
                "subject": _f("text", "What the customer reports."),
                "account": _f("ref:account", "The customer."),
                "contact": _f("ref:contact", "The person who reported it."),
                "description": _f("text", "Details."),
                "priority": _f("text", "low, normal, high or urgent."),
                "stage": _f("stage", "Lifecycle stage."),
            },
            stages=("open", "pending", "closed"),
            terminal=("closed",),
        ),
        Entity(
            "product",
            "Something sold: goods or a service.",
            {
                "code": _f("text", "Product code (SKU)."),
                "name": _f("text", "Name."),
                "price": _f("number", "List price."),
            },
        ),
        Entity(
            "order",
            "A sales order: what the customer bought, from a quote to a confirmed order.",
            {
                "account": _f("ref:account", "The buying account."),
                "opportunity": _f("ref:opportunity", "The opportunity it came from."),
                "lines": _f(
                    "lines", "Order lines: product (code or id), quantity, unit_price, description."
                ),
                "reference": _f("text", "Customer reference (PO number)."),
                "payment_term": _f("text", "Name of the payment term."),
                "total": _f("number", "Total amount (read only)."),
                "stage": _f("stage", "Lifecycle stage."),
            },
            stages=("draft", "quoted", "confirmed", "done", "cancelled"),
            terminal=("done", "cancelled"),
        ),
        Entity(
            "invoice",
            "A customer invoice, drafted from orders and posted to the books.",
            {
                "account": _f("ref:account", "The invoiced account."),
                "order": _f("ref:order", "The order it bills."),
                "lines": _f(
                    "lines",
                    "Invoice lines: product (code or id), quantity, unit_price, description.",
                ),
                "total": _f("number", "Total amount (read only)."),
                "due_date": _f("date", "Payment due date."),
                "payment_term": _f("text", "Name of the payment term."),
                "stage": _f("stage", "Lifecycle stage."),
            },
            stages=("draft", "posted", "paid", "cancelled"),
            terminal=("paid", "cancelled"),
        ),
        Entity(
            "user",
            "Someone who works in the CRM.",
            {
                "username": _f("text", "Login name."),
                "name": _f("text", "Full name."),
                "email": _f("email", "E-mail address."),
                "role": _f("text", "The role the user plays."),
            },
        ),
    ]
}

# The keys of one order or invoice line.
LINE_KEYS = ("product", "quantity", "unit_price", "description")

# Operations on an entity (`create: account`) and operations on the session (`login: rep`).
ENTITY_OPERATIONS: dict[str, str] = {
    "create": "Create a record from `with:` fields; the outcome is the new record.",
    "get": "Read one record by `id:`.",
    "update": "Change fields of the record `id:` to `with:`.",
    "delete": "Remove the record `id:` (the adapter follows the vendor's rules to do so).",
    "find": "Search records matching `where:`; the outcome has `count` and `items`.",
    "convert": "Turn a lead into an opportunity, or an opportunity into an order.",
    "advance": "Move the record `id:` to stage `to:`.",
    "invoice": "Produce the invoice of the order `id:`.",
}
SESSION_OPERATIONS: dict[str, str] = {
    "login": "Act as the named actor for the rest of the scenario.",
    "offline": "Take the client offline (browser channel).",
    "online": "Bring the client back online.",
}
OPERATIONS: dict[str, str] = {**ENTITY_OPERATIONS, **SESSION_OPERATIONS}
EXPECT = "expect"
# Every key that makes a step what it is; a step has exactly one.
STEP_OPERATIONS: tuple[str, ...] = (*OPERATIONS, EXPECT)

# Entity operations that act on one existing record, so the step needs `id:`.
NEEDS_ID = frozenset({"get", "update", "delete", "advance", "invoice", "convert"})
# Operations whose entity must have stages (checked by the validator).
STAGED_OPERATIONS = frozenset({"advance"})
# What `convert` turns each entity into: the saved outcome is a record of that entity.
CONVERSIONS: dict[str, str] = {"lead": "opportunity", "opportunity": "order"}
# What `invoice` applies to, and the entity of its outcome.
INVOICES: dict[str, str] = {"order": "invoice"}


def outcome_entity(op: str, entity: str) -> str:
    """The entity of the record a step's outcome holds: a converted lead is an opportunity."""
    if op == "convert":
        return CONVERSIONS.get(entity, entity)
    if op == "invoice":
        return INVOICES.get(entity, entity)
    return entity


# What an expectation looks at (exactly one), and how it may check it (one or more).
EXPECT_SUBJECTS: dict[str, str] = {
    "value": "A value, usually `${saved.field}`.",
    "get": "The record `id:` of this entity, read from the vendor.",
    "find": "The records of this entity matching `where:`.",
}
MATCHERS: dict[str, str] = {
    "equals": "Equal, forgiving number formats (120000 equals '120000.00').",
    "not_equals": "Not equal.",
    "contains": "Text containing, or a list holding, the value.",
    "matches": "A regular expression that finds a match.",
    "less_than": "A number below the value.",
    "greater_than": "A number above the value.",
    "exists": "`true`: present; `false`: absent.",
    "count": "How many hits (a find) or records.",
    "only": "The hits of a find are exactly these records (ids): nothing missing, nothing else.",
    "fields": "Field values the record, or every hit, must have.",
}
# Matchers that compare the subject itself; `fields` looks inside each record instead.
VALUE_MATCHERS: tuple[str, ...] = tuple(m for m in MATCHERS if m != "fields")


def entity_names() -> list[str]:
    return list(ENTITIES)


def field_names(entity: str) -> list[str]:
    """Every canonical field of an entity, plus `id`, which every record has."""
    return ["id", *ENTITIES[entity].fields]


def markdown() -> str:
    """The reference table of docs/vocabulary.md, generated so it can never drift."""
    out = [
        "# The canonical CRM vocabulary",
        "",
        "Generated by `crmproof vocabulary` from `src/crmproof/vocabulary.py`; do not edit.",
        "Scenarios use only these words; each adapter translates them for its vendor.",
        "",
        "## Operations",
        "",
        "| operation | meaning |",
        "|---|---|",
    ]
    out += [f"| `{name}` | {doc} |" for name, doc in OPERATIONS.items()]
    out += ["| `expect` | Check a value, a record (`get:`) or a search (`find:`) with matchers. |"]
    out += ["", "## Expectations", "", "| key | meaning |", "|---|---|"]
    out += [f"| `{name}` | subject: {doc} |" for name, doc in EXPECT_SUBJECTS.items()]
    out += [f"| `{name}` | matcher: {doc} |" for name, doc in MATCHERS.items()]
    for entity in ENTITIES.values():
        out += ["", f"## {entity.name}", "", entity.doc, ""]
        if entity.stages:
            out += [f"Stages: {', '.join(f'`{s}`' for s in entity.stages)}.", ""]
        out += ["| field | type | meaning |", "|---|---|---|", "| `id` | text | The vendor's id. |"]
        out += [f"| `{name}` | {f.type} | {f.doc} |" for name, f in entity.fields.items()]
    return "\n".join(out) + "\n"
