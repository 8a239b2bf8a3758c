"""The Tryton adapter: canonical CRM operations over Tryton's JSON-RPC API.

Settings (resolved by the engine): `url`, `database`, `user`, `password`, and optionally
`actors`, a mapping of actor name to `{user, password}` for steps that act as someone
else. The entity handlers live in parties.py (account, contact), pipeline.py (lead,
opportunity, with prospects.py for a lead's person and company), orders.py (product,
order, invoice) and cases.py (case); this class says what they claim.

Not claimed, because Tryton 8.0 has no place for them: activities (calls, meetings, tasks:
no module of the release records them), a contact's job title, a lead's source, a case's
reporting person and priority, an opportunity stage between proposal and won, and the
offline operations of a browser channel.
"""

from __future__ import annotations

from typing import Any, ClassVar

from crmproof.protocol import Capabilities, EntitySupport, RecordRef

from .cases import CASE_FIELDS, COMPLAINT, CaseOps
from .orders import INVOICE, PRODUCT, SALE
from .parties import ACCOUNT_FIELDS, CONTACT_CATEGORY, CONTACT_FIELDS, PARTY
from .pipeline import LEAD_FIELDS, OPPORTUNITY, OPPORTUNITY_FIELDS, PipelineOps

CRUD = ["create", "get", "update", "delete", "find"]


# Paths are inside the sandbox's site-packages (trytond 8.0.x); lines as installed.
_OPP = "trytond/modules/sale_opportunity/opportunity.py"
_COMPLAINT = "trytond/modules/sale_complaint/complaint.py"
_NO_ACTIVITY = (
    "Tryton 8.0 has no activity model: no module of the release records calls, e-mails, "
    "meetings or tasks on a customer (trytond/modules/sale_opportunity/tryton.cfg:17-29 "
    "registers opportunities, their lines and reports; trytond/modules/ holds no activity "
    "module; a record's notes and e-mails, ir.note and ir.email, hang off one record)"
)


class TrytonAdapter(CaseOps, PipelineOps):
    """Tryton 8.0 through JSON-RPC, as an API client would drive it."""

    # What the product lacks, with where its source shows it (read by the engine).
    not_offered: ClassVar[dict[str, str]] = {
        **{
            f"{op} activity": _NO_ACTIVITY
            for op in ("create", "get", "update", "delete", "find", "advance")
        },
        "case.contact": (
            f"sale.complaint has a customer (a party) and no reporting person "
            f"({_COMPLAINT}:39-62, fields number, reference, date, customer, company, type)"
        ),
        "case.priority": f"sale.complaint has no priority field ({_COMPLAINT}:39-130)",
        "contact.title": (
            "party.party has no job title (trytond/modules/party/party.py:34, class Party); "
            "a contact is a party"
        ),
        "lead.source": (
            f"sale.opportunity has no field for where a lead came from ({_OPP}:39-123: "
            "number, reference, party, contact, address, company, currency, payment_term, "
            "employee, dates, description, comment, amount, conversion_probability, "
            "lost_reason, state)"
        ),
        "advance opportunity to negotiation": (
            f"sale.opportunity's states are lead, opportunity, converted, won, lost, "
            f"cancelled ({_OPP}:116-123): nothing between the quotation and won"
        ),
        "advance lead to contacted": (
            f"a lead is the state 'lead' of sale.opportunity ({_OPP}:117); Tryton records "
            "no contacted step"
        ),
        "advance lead to qualified": (
            f"Tryton qualifies a lead by converting it: the `opportunity` button "
            f"({_OPP}:401-404) takes the same record from lead to opportunity; there is no "
            f"qualified lead apart from the converted one (states, {_OPP}:116-123)"
        ),
    }
    # What a JSON-RPC client cannot exercise: the channel, not the product.
    channel_limits: ClassVar[dict[str, str]] = {
        "offline": "an API client has no offline mode to test; Tryton's clients are sao "
        "(web) and the desktop client",
        "online": "an API client is always online",
        "effort": "clicks, keystrokes and pages are counted only on a browser channel",
    }

    def capabilities(self) -> Capabilities:
        return Capabilities(
            entities={
                "account": EntitySupport(operations=CRUD, fields=sorted(ACCOUNT_FIELDS)),
                "contact": EntitySupport(operations=CRUD, fields=sorted(CONTACT_FIELDS)),
                "lead": EntitySupport(
                    operations=[*CRUD, "advance", "convert"],
                    fields=sorted(LEAD_FIELDS),
                    stages=["new", "converted", "lost"],
                ),
                "opportunity": EntitySupport(
                    operations=[*CRUD, "advance", "convert"],
                    fields=sorted(OPPORTUNITY_FIELDS),
                    stages=["prospecting", "qualification", "proposal", "won", "lost"],
                ),
                "case": EntitySupport(
                    operations=[*CRUD, "advance"],
                    fields=sorted(CASE_FIELDS),
                    stages=["open", "pending", "closed"],
                ),
                "product": EntitySupport(operations=CRUD, fields=["code", "name", "price"]),
                "order": EntitySupport(
                    operations=[*CRUD, "advance", "invoice"],
                    fields=[
                        "account",
                        "lines",
                        "opportunity",
                        "payment_term",
                        "reference",
                        "stage",
                        "total",
                    ],
                    stages=["draft", "quoted", "confirmed", "cancelled"],
                ),
                "invoice": EntitySupport(
                    operations=["get", "find", "advance", "delete"],
                    fields=[
                        "account",
                        "due_date",
                        "lines",
                        "order",
                        "payment_term",
                        "stage",
                        "total",
                    ],
                    stages=["draft", "posted", "paid", "cancelled"],
                ),
            },
            operations=["login"] if self._actors else [],
            actors=sorted(self._actors),
        )

    def leftovers(self, marker: str) -> list[RecordRef]:
        """Every record, archived or cancelled too, whose name-like field holds `marker`.

        Orders and invoices have no name: they count when their reference, description
        or party's name holds it. A party counts by its e-mail or phone too (a lead's
        person may have no name), a case by its subject, description or customer.
        """
        like = f"%{marker}%"
        refs: list[RecordRef] = []

        def add(entity: str, model: str, domain: list[Any]) -> list[dict[str, Any]]:
            fields = ["id", *_KEPT_FIELDS.get(model, [])]
            rows = self.search_read(model, domain, fields, active_test=False)
            refs.extend(
                RecordRef(entity=entity, id=str(r["id"]), kept=_kept(model, r)) for r in rows
            )
            return rows

        tagged = [["name", "=", CONTACT_CATEGORY]]
        named = ["OR", ["name", "ilike", like], ["contact_mechanisms.value", "ilike", like]]
        add("account", PARTY, [named, ["categories", "not where", tagged]])
        add("contact", PARTY, [named, ["categories", "where", tagged]])
        add("opportunity", OPPORTUNITY, [["description", "ilike", like]])
        add("product", PRODUCT, [["name", "ilike", like]])
        by_party = ["party.name", "ilike", like]
        add(
            "order",
            SALE,
            ["OR", ["reference", "ilike", like], ["description", "ilike", like], by_party],
        )
        add(
            "invoice",
            INVOICE,
            ["OR", ["reference", "ilike", like], ["description", "ilike", like], by_party],
        )
        by_customer = ["customer.name", "ilike", like]
        add(
            "case",
            COMPLAINT,
            ["OR", ["reference", "ilike", like], ["description", "ilike", like], by_customer],
        )
        return refs


# What marks a record Tryton keeps by design, neutralised by cleanup rather than deleted.
_KEPT_FIELDS = {
    PARTY: ["active"],
    PRODUCT: ["active"],
    OPPORTUNITY: ["state"],
    SALE: ["state"],
    INVOICE: ["state"],
}


def _kept(model: str, row: dict[str, Any]) -> str | None:
    if "active" in row:
        return None if row["active"] else "archived"
    state = row.get("state")
    if model == INVOICE and state in ("cancelled", "paid"):
        return state
    if model == OPPORTUNITY and state == "won":
        return "won: Tryton keeps a won opportunity"
    if model == SALE and state in ("confirmed", "processing", "done"):
        return f"{state}: Tryton keeps a sale once confirmed"
    return None
