"""Tryton 8.0 through sao, its web client: what a Tryton user clicks and types.

Settings (resolved by the engine):

    url:       the web client, e.g. http://127.0.0.1:8000/ (TRYTON_WEB_URL)
    api_url:   the JSON-RPC server, when not the same (TRYTON_URL)
    database, user, password:    the default actor, `admin`
    actors:    {rep_a: {user, password}, rep_b: {user, password}}   sales reps
    trace / timeout / browser:   see crmproof.browser

Every judged step goes through sao's forms and buttons: a record is created in a new form
and saved, moved by its workflow buttons, found by typing in a list's search box, deleted
by the toolbar's Delete. After the UI has done it, the record is read back in canonical
fields through the same user's JSON-RPC session (api.py), which is what the form shows.

An opportunity's probability and close date are typed as its user sees them: a percentage,
and a date in the format of the session's language (sao's date widget parses that). An
order is keyed into a new sale's form: its customer, reference and payment term, and a row
in Lines per product, typed by its code; new lines replace a draft's rows (ticked, Delete).
An invoice is posted by its Post button (answering its question) and paid by its Pay
wizard, in full, with the payment method the API adapter uses.

A lead about someone new gets their company and person as the API adapter records them
(its prospects.py): the company a party, the person a contact party working for it (each
made in its own form), and the lead's Contact the person's e-mail, picked by its value.

Not claimed, though the API adapter claims them, because this adapter does not (yet) drive
the widgets they need: changing a lead's person or company, an account's city, clearing
its payment term or changing its parent, making products, an order's opportunity when
creating or updating it (the sale's origin, a Reference field), and deleting invoices. A
scenario that needs them is `not shown` here: nothing is said of the product, and the
channel-agreement report lists it as a gap, not a disagreement. What Tryton itself lacks
(a contact's title, activities) is declared as the API adapter declares it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from crmproof.adapter import Refused, Unsupported, VendorError
from crmproof.protocol import Capabilities, EntitySupport, Operation, Outcome, RecordRef

from .api import TrytonApi
from .sao import SHOWN_DIALOG, SaoUi

PARTY = "party.party"
OPPORTUNITY = "sale.opportunity"
SALE = "sale.sale"
INVOICE = "account.invoice"
COMPLAINT = "sale.complaint"
CONTACT_CATEGORY = "Contact"
CASE_TYPE = "Sale"
MECHANISMS = {"email": "Email", "phone": "Phone", "website": "Website"}
ACCOUNT_FIELDS = {"name", *MECHANISMS, "payment_term", "parent"}
CONTACT_FIELDS = {"name", "email", "phone", "account"}
# A contact works for its account: a relation of this type (module party_relationship),
# on the party form's Relations page.
WORKS_FOR = "Works for"
# An account of a group is a division of its parent: the API adapter's relation too.
DIVISION_OF = "Division of"
# Who a lead is about: Tryton keeps them as parties, as the API adapter does (its
# prospects.py): the company a party, the person a contact party working for it, and the
# lead's Contact the person's e-mail (or phone).
PROSPECT_FIELDS = {"first_name", "last_name", "company", "email", "phone"}
LEAD_FIELDS = {"name", "account", "amount", "stage", *PROSPECT_FIELDS}
OPPORTUNITY_FIELDS = {
    *("name", "account", "contact", "amount", "probability", "close_date"),
    *("description", "stage", "lost_reason"),
}
CASE_FIELDS = {"subject", "account", "description", "stage"}
CRUD = ["create", "get", "update", "delete", "find"]
# The search box's field label for a canonical key, where the record's name is not it.
SEARCH_LABELS = {
    (OPPORTUNITY, "name"): "Description",
    (COMPLAINT, "subject"): "Reference",
    (SALE, "reference"): "Reference",
}
# canonical opportunity stage -> the state sao shows, and the button that leaves each
# state towards a later stage.
STATE_OF = {
    "prospecting": "lead",
    "qualification": "opportunity",
    "proposal": "converted",
    "won": "won",
    "lost": "lost",
}
ORDER_STATE = {"quoted": "quotation", "confirmed": "confirmed", "cancelled": "cancelled"}
# What a sale's form takes as a user enters an order; its opportunity (the sale's origin,
# a Reference field on the Other Info page) is not driven.
ORDER_FIELDS = {"account", "lines", "reference", "payment_term", "stage"}
PRODUCT = "product.product"
# The payment method a clerk picks in the Pay wizard, as the API adapter does.
PAYMENT_METHOD = "Cash"


class TrytonWebAdapter(SaoUi):
    name: ClassVar[str] = "tryton-web"
    version: ClassVar[str] = "0.1.0"
    default_actor: ClassVar[str | None] = "admin"
    # What Tryton lacks is the same through any client: the API adapter's citations.
    not_offered: ClassVar[dict[str, str]] = dict(TrytonApi.not_offered)

    def __init__(self) -> None:
        super().__init__()
        self.users: dict[str, tuple[str, str]] = {}
        self.api: Any = TrytonApi()
        self.sao_sessions = set()

    # -- lifecycle -----------------------------------------------------------------------

    def open(self, settings: Mapping[str, Any]) -> str | None:
        missing = [k for k in ("url", "database", "user", "password") if not settings.get(k)]
        if missing:
            raise VendorError(f"tryton-web settings lack {', '.join(missing)}")
        self.web_url = str(settings["url"]).rstrip("/") + "/"
        self.database = str(settings["database"])
        self.users = {"admin": (str(settings["user"]), str(settings["password"]))}
        for actor, creds in (settings.get("actors") or {}).items():
            self.users[str(actor)] = (str(creds["user"]), str(creds["password"]))
        api_settings = {
            "url": str(settings.get("api_url") or settings["url"]).rstrip("/"),
            "database": self.database,
            "user": settings["user"],
            "password": settings["password"],
            "actors": settings.get("actors") or {},
        }
        version = self.api.open(api_settings)
        super().open(settings)
        return f"{version}, sao web client"

    def close(self) -> None:
        super().close()
        for user, user_id, key in self.sao_sessions:
            self.api.rpc.end_session(user, user_id, key)
        self.sao_sessions.clear()
        self.api.close()

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
                "order": EntitySupport(
                    operations=[*CRUD, "advance", "invoice"],
                    fields=sorted(ORDER_FIELDS | {"opportunity", "total"}),
                    stages=["quoted", "confirmed", "cancelled"],
                ),
                # products are picked on a sale's lines, so a user finds them; making them
                # is not driven
                "product": EntitySupport(operations=["get", "find"], fields=["code", "name"]),
                # its form shows the payment term, and once posted the due dates (Payment
                # tab, account_invoice/view/invoice_form.xml: payment_term, lines_to_pay)
                "invoice": EntitySupport(
                    operations=["get", "find", "advance"],
                    fields=["account", "due_date", "order", "payment_term", "stage", "total"],
                    stages=["posted", "paid"],
                ),
            },
            operations=["login", "offline", "online"],
            actors=sorted(self.users) or ["admin", "rep_a", "rep_b"],
        )

    def perform(self, op: Operation) -> Outcome:
        """Cleanup is the runner's chore, not a user's: it goes through the API adapter."""
        if op.cleanup and op.op == "delete":
            return self.api.perform(op.model_copy(update={"actor": None}))
        # Tryton on SQLite has no isolation: a step's writes through sao must not interleave
        # with another writer's (the API vendor of the same run, a test). The API client's
        # server lock is held for the whole step, as the API adapter holds it per call.
        with self.api.rpc.lock:
            return super().perform(op)

    def leftovers(self, marker: str) -> list[RecordRef]:
        return list(self.api.leftovers(marker))

    # -- actors --------------------------------------------------------------------------

    def switch_actor(self, actor: str) -> None:
        if actor not in self.users:
            raise Refused(f"no credentials for actor {actor!r} (settings: actors)")
        self.actor = None
        user, password = self.users[actor]
        self.sign_in(user, password, actor)
        self.actor = actor

    # -- reading back (see api.py) ------------------------------------------------------

    def read(self, entity: str, record_id: Any) -> dict[str, Any]:
        """The canonical record, read as the acting user."""
        actor = None if self.actor in (None, self.default_actor) else self.actor
        outcome = self.api.perform(
            Operation(op="get", entity=entity, id=str(record_id), actor=actor)
        )
        if outcome.status == "ok" and outcome.record is not None:
            return _blank_is_none(dict(outcome.record))
        if outcome.status == "refused":
            raise Refused(outcome.message or f"no {entity} {record_id}", outcome.refusal or "rule")
        raise VendorError(outcome.message or f"could not read {entity} {record_id}")

    def matching(self, entity: str, ids: list[int], where: dict[str, Any]) -> list[dict]:
        """Of the records a list showed, those whose canonical fields match `where`."""
        actor = None if self.actor in (None, self.default_actor) else self.actor
        outcome = self.api.perform(Operation(op="find", entity=entity, where=where, actor=actor))
        if outcome.status != "ok":
            raise Refused(outcome.message or f"cannot find {entity}", outcome.refusal or "rule")
        shown = {str(i) for i in ids}
        return [_blank_is_none(dict(r)) for r in outcome.records or [] if str(r["id"]) in shown]

    def link_of(self, entity: str, record_id: Any) -> tuple[str, str | None]:
        """What a user types to pick a linked record, its name as the form shows it, and
        the code the search dialog lists beside it, to tell it from a namesake."""
        name = str(self.read(entity, record_id).get("name") or "")
        rows = self.api.search_read(PARTY, [["id", "=", int(record_id)]], ["code"])
        return name, (str(rows[0]["code"]) if rows and rows[0].get("code") else None)

    @staticmethod
    def reject_unknown(data: Mapping[str, Any], known: set[str], entity: str) -> None:
        unknown = sorted(set(data) - known - {"id"})
        if unknown:
            raise Unsupported(f"tryton-web does not fill {entity} field(s) {unknown} in sao")

    # -- account and contact: parties --------------------------------------------------

    def create_account(self, op: Operation) -> dict[str, Any]:
        return self._create_party(op, "account", ACCOUNT_FIELDS)

    def create_contact(self, op: Operation) -> dict[str, Any]:
        return self._create_party(op, "contact", CONTACT_FIELDS)

    def get_account(self, op: Operation) -> dict[str, Any]:
        return self._show(op, PARTY, "account")

    def get_contact(self, op: Operation) -> dict[str, Any]:
        return self._show(op, PARTY, "contact")

    def update_account(self, op: Operation) -> dict[str, Any]:
        return self._update_party(op, "account", ACCOUNT_FIELDS)

    def update_contact(self, op: Operation) -> dict[str, Any]:
        return self._update_party(op, "contact", CONTACT_FIELDS)

    def delete_account(self, op: Operation) -> dict[str, Any]:
        return self._delete(op, PARTY, "account")

    def delete_contact(self, op: Operation) -> dict[str, Any]:
        return self._delete(op, PARTY, "contact")

    def find_account(self, op: Operation) -> list[dict[str, Any]]:
        return self._find(op, PARTY, "account", ACCOUNT_FIELDS, "name")

    def find_contact(self, op: Operation) -> list[dict[str, Any]]:
        return self._find(op, PARTY, "contact", CONTACT_FIELDS, "name")

    def _create_party(self, op: Operation, entity: str, known: set[str]) -> dict[str, Any]:
        data = op.data
        self.reject_unknown(data, known, entity)
        if not data.get("name"):
            raise Refused(f"a Tryton party needs a name to create the {entity}")
        self.new_record(PARTY)
        self.type_in("name", data["name"])
        for field, kind in MECHANISMS.items():
            if data.get(field):
                self.add_mechanism(kind, str(data[field]))
        if entity == "contact":
            self.add_category(CONTACT_CATEGORY)
            if data.get("account"):
                self._works_for(data["account"])
        if data.get("payment_term"):
            # the customer's payment term, on the form's Accounting page
            self.show_page("Accounting")
            self.pick_from_menu("customer_payment_term", str(data["payment_term"]))
        if data.get("parent"):
            self._relate(DIVISION_OF, data["parent"])
        party_id = self.save(entity)
        self.step.created_record(entity, party_id)
        return self.read(entity, party_id)

    def _update_party(self, op: Operation, entity: str, known: set[str]) -> dict[str, Any]:
        data = op.data
        self.reject_unknown(data, known, entity)
        current = self.read(entity, op.id)
        self.open_model(PARTY, op.id)
        if "name" in data:
            self.type_in("name", data["name"])
        for field, kind in MECHANISMS.items():
            if field in data and data[field] != current.get(field):
                if current.get(field):
                    self.change_mechanism(str(current[field]), data[field])
                elif data[field]:
                    self.add_mechanism(kind, str(data[field]))
        if "account" in data and str(data["account"] or "") != str(current.get("account") or ""):
            if current.get("account"):
                raise Unsupported(
                    "tryton-web does not end a contact's Works-for relation in sao (only adds one)"
                )
            if data["account"]:
                self._works_for(data["account"])
        term = data.get("payment_term")
        if "payment_term" in data and term != current.get("payment_term"):
            if not term:
                raise Unsupported("tryton-web does not clear a payment term in sao")
            self.show_page("Accounting")
            self.pick_from_menu("customer_payment_term", str(term))
        if "parent" in data and str(data["parent"] or "") != str(current.get("parent") or ""):
            if current.get("parent"):
                raise Unsupported(
                    "tryton-web does not end an account's Division-of relation in sao"
                )
            self._relate(DIVISION_OF, data["parent"])
        self.save(entity)
        return self.read(entity, op.id)

    def _works_for(self, account: Any) -> None:
        """Link a contact to its account: a "Works for" row on the Relations page."""
        self._relate(WORKS_FOR, account)

    def _relate(self, kind: str, account: Any) -> None:
        """A row of the party's Relations page: `kind` ("Works for", "Division of")."""
        self.show_page("Relations")
        self.add_row(
            "Relations", choices={"type": kind}, links={"to": self.link_of("account", account)}
        )

    # -- lead and opportunity: sale.opportunity -----------------------------------------

    def create_lead(self, op: Operation) -> dict[str, Any]:
        self.reject_unknown(op.data, LEAD_FIELDS, "lead")
        stage = op.data.get("stage", "new")
        if stage != "new":
            raise Unsupported(f"Tryton creates leads as new only, not {stage!r}")
        party, reach = self._prospect(op.data)
        fill = {k: v for k, v in op.data.items() if k not in PROSPECT_FIELDS}
        opp_id = self._new_opportunity({**fill, "account": party}, "lead", reach)
        return self.read("lead", opp_id)

    def _prospect(self, data: Mapping[str, Any]) -> tuple[Any, str | None]:
        """Make the parties a salesperson makes before a lead about someone new: the
        company they named (unless it is the lead's account), and the person, working
        for it. Returns the lead's party and the e-mail (or phone) its Contact is."""
        party = employer = data.get("account") or None
        company = data.get("company")
        if company and (party is None or self.read("account", party).get("name") != company):
            employer = self._new_party("account", company, {})
            party = party or employer
        mechanisms = {f: str(data[f]) for f in ("email", "phone") if data.get(f)}
        named = data.get("first_name") or data.get("last_name")
        if not named and not mechanisms:
            if employer != party:
                raise Unsupported(
                    "a Tryton lead has one party, its account; a company named otherwise "
                    "is kept as its person's employer, and this lead has no person"
                )
            return party, None
        if not mechanisms:
            raise Unsupported(
                "Tryton reaches a lead's person only through an e-mail or phone (the "
                "lead's contact); give the lead one"
            )
        if data.get("first_name") and not data.get("last_name"):
            raise Unsupported(
                "Tryton keeps one name per party: a given name without a family name "
                "could not be read back as a given name"
            )
        name = ", ".join(str(data[f]) for f in ("last_name", "first_name") if data.get(f))
        self._new_party("contact", name, mechanisms, employer)
        return party, mechanisms.get("email") or mechanisms["phone"]

    def _new_party(
        self, entity: str, name: str | None, mechanisms: Mapping[str, str], works_for: Any = None
    ) -> Any:
        """A party made in its form, as `_create_party` makes one; a lead's person may have
        no name (Tryton shows it by its code), only an e-mail."""
        self.new_record(PARTY)
        if name:
            self.type_in("name", name)
        for field, value in mechanisms.items():
            self.add_mechanism(MECHANISMS[field], value)
        if entity == "contact":
            self.add_category(CONTACT_CATEGORY)
            if works_for:
                self._works_for(works_for)
        party_id = self.save(entity)
        self.step.created_record(entity, party_id)
        return party_id

    def create_opportunity(self, op: Operation) -> dict[str, Any]:
        self.reject_unknown(op.data, OPPORTUNITY_FIELDS, "opportunity")
        opp_id = self._new_opportunity(op.data, "opportunity")
        stage = op.data.get("stage")
        if stage and stage != "prospecting":
            self._advance_opportunity(opp_id, stage, op)
        return self.read("opportunity", opp_id)

    def get_lead(self, op: Operation) -> dict[str, Any]:
        return self._show(op, OPPORTUNITY, "lead")

    def get_opportunity(self, op: Operation) -> dict[str, Any]:
        return self._show(op, OPPORTUNITY, "opportunity")

    def update_lead(self, op: Operation) -> dict[str, Any]:
        self.reject_unknown(op.data, LEAD_FIELDS - {"stage"} - PROSPECT_FIELDS, "lead")
        self.open_model(OPPORTUNITY, op.id)
        self._fill_opportunity(op.data)
        self.save("lead")
        return self.read("lead", op.id)

    def update_opportunity(self, op: Operation) -> dict[str, Any]:
        self.reject_unknown(op.data, OPPORTUNITY_FIELDS - {"stage"}, "opportunity")
        self.open_model(OPPORTUNITY, op.id)
        self._fill_opportunity(op.data)
        self.save("opportunity")
        return self.read("opportunity", op.id)

    def find_lead(self, op: Operation) -> list[dict[str, Any]]:
        return self._find(op, OPPORTUNITY, "lead", LEAD_FIELDS, "name")

    def find_opportunity(self, op: Operation) -> list[dict[str, Any]]:
        return self._find(op, OPPORTUNITY, "opportunity", OPPORTUNITY_FIELDS, "name")

    def advance_lead(self, op: Operation) -> dict[str, Any]:
        targets = {"new": "prospecting", "converted": "qualification", "lost": "lost"}
        if op.to not in targets:
            raise Unsupported(f"Tryton has no lead stage {op.to!r} (only new, converted, lost)")
        self._advance_opportunity(op.id, targets[op.to], op)
        return self.read("lead", op.id)

    def advance_opportunity(self, op: Operation) -> dict[str, Any]:
        if not op.to:
            raise Refused("advance opportunity needs a target stage")
        self._advance_opportunity(op.id, op.to, op)
        return self.read("opportunity", op.id)

    def convert_lead(self, op: Operation) -> dict[str, Any]:
        """A lead becomes an opportunity: the same record, after its Opportunity button."""
        if op.to not in (None, "opportunity"):
            raise Unsupported(f"Tryton converts a lead into an opportunity, not {op.to!r}")
        self.reject_unknown(op.data, OPPORTUNITY_FIELDS - {"stage"}, "opportunity")
        if op.data:
            self.open_model(OPPORTUNITY, op.id)
            self._fill_opportunity(op.data)
            self.save("opportunity")
        self._party_for_conversion(op.id)
        # The button itself, not a path to the stage: sao shows it on a lead only
        # (sale_opportunity/opportunity.py, `invisible` unless `state == 'lead'`), so a lead
        # converts once, as through the API.
        self.open_model(OPPORTUNITY, op.id)
        self.press("opportunity", "lead")  # returns once sao shows the new state
        return self.read("opportunity", op.id)

    def _party_for_conversion(self, opp_id: Any) -> None:
        """A lead without a company gets its person as the party, as the API adapter does
        and a Tryton user would: past the lead state an opportunity requires a party
        (sale_opportunity/opportunity.py: `party` required unless lead, lost or
        cancelled), so the user picks the person, found by their e-mail, before the
        button. sao shows a party without a name by its code."""
        fields = ["state", "party", "contact.party", "contact.value"]
        rows = self.api.search_read(OPPORTUNITY, [["id", "=", int(opp_id)]], fields)
        contact = (rows[0].get("contact.") or {}) if rows else {}
        if not rows or rows[0]["state"] != "lead" or rows[0]["party"] or not contact.get("party"):
            return
        held = self.api.search_read(PARTY, [["id", "=", int(contact["party"])]], ["name", "code"])
        label = held[0]["name"] or f"[{held[0]['code']}]"
        self.open_model(OPPORTUNITY, opp_id)
        code = str(held[0]["code"])
        self.pick("party", str(contact["value"]), code, shown=lambda shown: shown == label)
        self.save("lead")

    def convert_opportunity(self, op: Operation) -> dict[str, Any]:
        """The Convert button makes the opportunity's sale, a draft quotation."""
        if op.to not in (None, "order"):
            raise Unsupported(f"Tryton converts an opportunity into an order, not {op.to!r}")
        if op.data:
            raise Unsupported(f"tryton-web converts without {sorted(op.data)} (no sale lines)")
        state = self.state_of(OPPORTUNITY, op.id, "opportunity")
        if state not in ("lead", "opportunity"):
            raise Refused(f"this opportunity is already {state} in Tryton")
        self._advance_opportunity(op.id, "proposal", op)
        sales = self.api.search_read(OPPORTUNITY, [["id", "=", int(op.id)]], ["sales"])
        sale_id = sales[0]["sales"][-1]
        return self.read("order", sale_id)

    def delete_lead(self, op: Operation) -> dict[str, Any]:
        return self._delete_opportunity(op, "lead")

    def delete_opportunity(self, op: Operation) -> dict[str, Any]:
        return self._delete_opportunity(op, "opportunity")

    def _new_opportunity(self, data: dict[str, Any], entity: str, reach: str | None = None) -> int:
        self.new_record(OPPORTUNITY)
        self._fill_opportunity(data)
        if reach:
            # sao names a contact mechanism "<party> <value>": typed by its value
            self.pick("contact", reach, shown=lambda label: label.endswith(f"<{reach}>"))
        opp_id = self.save(entity)
        self.step.created_record(entity, opp_id)
        return opp_id

    def _fill_opportunity(self, data: dict[str, Any]) -> None:
        if "name" in data:
            self.type_in("description", data["name"])
        if data.get("account"):
            self.pick("party", *self.link_of("account", data["account"]))
        if data.get("contact"):
            self._pick_person(data["contact"])
        if "amount" in data:
            self.type_in("amount", data["amount"])
        if "probability" in data:
            # a percentage: the form shows the fraction Tryton keeps times 100 (factor)
            self.type_in("conversion_probability", data["probability"])
        if "close_date" in data:
            self.type_date("end_date", data["close_date"])
        if "description" in data:
            self.write_text("comment", data["description"])
        if "lost_reason" in data:
            self.write_text("lost_reason", data["lost_reason"])

    def _pick_person(self, contact: Any) -> None:
        """Tryton links a deal to its buyer through one of their contact mechanisms (the
        e-mail, else the phone, as the API adapter picks): typed by its value."""
        person = self.read("contact", contact)
        reach = person.get("email") or person.get("phone")
        if not reach:
            raise Refused(
                f"contact {contact} has no e-mail or phone, through which Tryton links an "
                "opportunity to a person"
            )
        self.pick("contact", str(reach), shown=lambda label: label.endswith(f"<{reach}>"))

    def state_of(self, model: str, record_id: Any, what: str) -> str:
        """The workflow state the form shows (its State field), read by the adapter."""
        return str(self.held(model, record_id, what, ["state"])["state"])

    def held(self, model: str, record_id: Any, what: str, fields: list[str]) -> dict[str, Any]:
        """`fields` of the record as Tryton holds it, read by the adapter; not_found if gone."""
        rows = self.api.search_read(model, [["id", "=", int(record_id)]], fields)
        if not rows:
            raise Refused(f"no {what} with id {record_id}", "not_found")
        return dict(rows[0])

    def _advance_opportunity(self, opp_id: Any, stage: str, op: Operation) -> None:
        """Press, in the opportunity's form, the buttons that lead to the canonical stage."""
        if stage not in STATE_OF:
            raise Unsupported(f"Tryton has no opportunity stage for {stage!r}")
        target = STATE_OF[stage]
        self.open_model(OPPORTUNITY, opp_id)
        for _ in range(5):
            state = self.state_of(OPPORTUNITY, opp_id, "opportunity")
            if state == target:
                if target == "lost" and op.data.get("lost_reason"):
                    self.write_text("lost_reason", op.data["lost_reason"])
                    self.save("opportunity")
                return
            if state == "won":
                raise Refused("Tryton keeps a won opportunity won")
            if state == "converted":
                if target in ("lead", "opportunity"):
                    raise Refused(
                        "Tryton cannot take a converted opportunity back; cancel its order"
                    )
                self._finish_sales(opp_id, target)
                self.open_model(OPPORTUNITY, opp_id)
            elif state in ("lost", "cancelled") or target == "lead":
                self.press("lead", "opportunity")
            elif target == "lost":
                self.press("lost", "opportunity")
            elif state == "lead":
                self.press("opportunity", "opportunity")
            else:
                self.press("convert", "opportunity")
                rows = self.api.search_read(OPPORTUNITY, [["id", "=", int(opp_id)]], ["sales"])
                for sale_id in rows[0]["sales"]:
                    self.step.created_record("order", sale_id)
        raise Refused(f"the opportunity did not reach {stage}")

    def _finish_sales(self, opp_id: Any, target: str) -> None:
        """A converted opportunity is won by confirming its sales, lost by cancelling them.

        Its sales are the opportunity's `sales`, the sales whose origin is it
        (trytond/modules/sale_opportunity/opportunity.py:112, One2Many('sale.sale',
        'origin')); Tryton marks it won or lost from their states (is_won, is_lost,
        opportunity.py:480-491).
        """
        for sale_id in self._sales_of(opp_id):
            sale = self.api.search_read(SALE, [["id", "=", sale_id]], ["state", "lines"])[0]
            if sale["state"] not in ("draft", "quotation"):
                continue
            if target == "lost":
                self._advance_sale(sale_id, "cancelled")
            else:
                if not sale["lines"] and sale["state"] == "draft":
                    self._fill_empty_sale(opp_id, sale_id)
                self._advance_sale(sale_id, "confirmed")

    def _sales_of(self, opp_id: Any) -> list[int]:
        rows = self.api.search_read(OPPORTUNITY, [["id", "=", int(opp_id)]], ["sales"])
        if not rows:
            raise Refused(f"no opportunity with id {opp_id}", "not_found")
        return [int(s) for s in rows[0]["sales"]]

    def _fill_empty_sale(self, opp_id: Any, sale_id: int) -> None:
        """Give the opportunity's empty sale one line for its amount, in the sale's form.

        Tryton quotes no sale without lines. A canonical opportunity has an amount, not
        lines, so the salesperson types what the API adapter writes: one line, the
        opportunity's name, quantity 1 at its amount (the sale line's form: New in Lines).
        """
        opp = self.api.search_read(
            OPPORTUNITY, [["id", "=", int(opp_id)]], ["description", "amount"]
        )[0]
        if not opp["amount"]:
            raise Refused(
                "Tryton wins an opportunity by confirming its sale, and a sale needs lines: "
                "give the opportunity an amount or its order lines"
            )
        self.open_model(SALE, sale_id)
        self.add_row(
            "Lines",
            {"quantity": 1, "unit_price": _amount(opp["amount"])},
            {"description": opp["description"] or f"Opportunity {opp_id}"},
        )
        self.save("order")

    def _delete_opportunity(self, op: Operation, entity: str) -> dict[str, Any]:
        state = self.state_of(OPPORTUNITY, op.id, entity)
        if state == "won":
            raise Refused("Tryton keeps a won opportunity: it can be neither cancelled nor deleted")
        if state == "converted":
            self._finish_sales(op.id, "lost")
            state = self.state_of(OPPORTUNITY, op.id, entity)
        self.open_model(OPPORTUNITY, op.id)
        if state == "lost":
            self.press("lead", entity)
        if state != "cancelled":
            self.press("cancel", entity)
        self._delete_current(entity)
        return {"id": str(op.id)}

    # -- orders and invoices ---------------------------------------------------------------

    def create_order(self, op: Operation) -> dict[str, Any]:
        """A new sale's form: its customer, reference and payment term, a row in Lines per
        product, saved; a later stage by the form's buttons."""
        data = op.data
        self.reject_unknown(data, ORDER_FIELDS, "order")
        if not data.get("account"):
            raise Refused("a Tryton sale needs the account (party) it sells to")
        lines = self._order_lines(data.get("lines") or [])
        self.new_record(SALE)
        # choosing the party fills its addresses and its payment term (on_change_party)
        self.pick("party", *self.link_of("account", data["account"]))
        self._fill_order(data, lines)
        sale_id = self.save("order")
        self.step.created_record("order", sale_id)
        self._check_lines(sale_id, lines)
        stage = data.get("stage")
        if stage and stage != "draft":
            self._advance_sale(sale_id, stage)
        return self.read("order", sale_id)

    def update_order(self, op: Operation) -> dict[str, Any]:
        """The sale's form: new lines replace its rows (a draft's only), as the API does."""
        data = op.data
        self.reject_unknown(data, ORDER_FIELDS - {"stage"}, "order")
        lines = self._order_lines(data["lines"]) if "lines" in data else None
        sale = self.held(SALE, op.id, "order", ["state", "lines"])
        if lines is not None and sale["state"] != "draft":
            raise Refused("Tryton changes the lines of a draft sale only")
        self.open_model(SALE, op.id)
        if data.get("account"):
            self.pick("party", *self.link_of("account", data["account"]))
        if lines is not None:
            self.remove_rows("Lines", held=len(sale["lines"]))
        self._fill_order(data, lines or [])
        self.save("order")
        if lines is not None:
            self._check_lines(op.id, lines)
        return self.read("order", op.id)

    def _check_lines(self, sale_id: Any, lines: list[dict[str, Any]]) -> None:
        """The products and quantities saved are those typed: a row sao saved otherwise
        is the adapter's failure, never the product's."""
        saved = self.read("order", sale_id).get("lines") or []
        have = sorted((str(ln["product"]), float(ln["quantity"])) for ln in saved)
        meant = sorted((ln["product"][0], float(ln["texts"]["quantity"])) for ln in lines)
        if have != meant:
            raise VendorError(f"sao saved the sale's lines as {have}, not {meant}")

    def _fill_order(self, data: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        if "reference" in data:
            self.type_in("reference", data["reference"])
        if data.get("payment_term"):
            self.pick_from_menu("payment_term", str(data["payment_term"]))
        for line in lines:
            self.add_row("Lines", line["texts"], links={"product": line["product"]})

    def _order_lines(self, lines: Any) -> list[dict[str, Any]]:
        """Each canonical line as a user enters it: the product typed by its code (sao
        shows it as "[CODE] Name", product.py get_rec_name), then quantity and price."""
        if not isinstance(lines, list):
            raise Refused("order lines must be a list of {product, quantity, unit_price}")
        result = []
        for line in lines:
            key = str(line.get("product"))
            rows = self.api.search_read(PRODUCT, [["code", "=", key]], ["code", "rec_name"])
            if not rows:
                raise Refused(f"no product with code {key!r}")
            texts: dict[str, Any] = {"quantity": line.get("quantity", 1)}
            price = line.get("unit_price", line.get("price"))
            if price is not None:
                texts["unit_price"] = price
            product = (str(rows[0]["code"]), None, str(rows[0]["rec_name"]))
            result.append({"product": product, "texts": texts})
        return result

    def get_product(self, op: Operation) -> dict[str, Any]:
        return self._show(op, PRODUCT, "product")

    def find_product(self, op: Operation) -> list[dict[str, Any]]:
        # the search box's bare text matches a product's name or code (search_rec_name)
        key = "code" if op.where.get("code") else "name"
        return self._find(op, PRODUCT, "product", {"code", "name"}, key)

    def get_order(self, op: Operation) -> dict[str, Any]:
        return self._show(op, SALE, "order")

    def find_order(self, op: Operation) -> list[dict[str, Any]]:
        known = ORDER_FIELDS - {"lines"} | {"opportunity", "total"}
        return self._find(op, SALE, "order", known, "reference")

    def advance_order(self, op: Operation) -> dict[str, Any]:
        if not op.to:
            raise Refused("advance order needs a target stage")
        self._advance_sale(op.id, op.to)
        return self.read("order", op.id)

    def invoice_order(self, op: Operation) -> dict[str, Any]:
        """Tryton invoices a sale when it is confirmed; the sale's Invoices link shows it."""
        state = self.state_of(SALE, op.id, "order")
        if state in ("draft", "quotation"):
            self._advance_sale(op.id, "confirmed")
        elif state == "cancelled":
            raise Refused("Tryton does not invoice a cancelled sale")
        invoices = self.api.search_read(
            INVOICE, [["sales", "=", int(op.id)], ["state", "!=", "cancelled"]], ["id"]
        )
        if not invoices:
            raise Refused("Tryton made no invoice for this sale (it may invoice on shipment)")
        self.open_model(INVOICE, invoices[0]["id"])
        return self.read("invoice", invoices[0]["id"])

    def delete_order(self, op: Operation) -> dict[str, Any]:
        state = self.state_of(SALE, op.id, "order")
        if state not in ("draft", "quotation", "cancelled"):
            raise Refused(
                f"Tryton keeps a sale once confirmed (this one is {state}); "
                "only draft, quoted or cancelled sales can be deleted"
            )
        self.open_model(SALE, op.id)
        if state != "cancelled":
            self.press("cancel", "order")
        self._delete_current("order")
        return {"id": str(op.id)}

    def _advance_sale(self, sale_id: Any, stage: str) -> None:
        if stage not in ORDER_STATE:
            raise Unsupported("tryton-web moves orders to quoted, confirmed or cancelled only")
        state = self.state_of(SALE, sale_id, "order")
        if state == ORDER_STATE[stage]:
            return
        self.open_model(SALE, sale_id)
        if stage == "cancelled":
            self.press("cancel", "order")
            return
        if state in ("cancelled", "confirmed", "processing", "done"):
            raise Refused(f"Tryton cannot take a {state} sale to {stage}")
        if state == "draft":
            self.press("quote", "order")
        if stage == "confirmed":
            self.press("confirm", "order")
            rows = self.api.search_read(SALE, [["id", "=", int(sale_id)]], ["invoices"])
            for invoice_id in rows[0]["invoices"]:
                self.step.created_record("invoice", invoice_id)

    def get_invoice(self, op: Operation) -> dict[str, Any]:
        return self._show(op, INVOICE, "invoice")

    def find_invoice(self, op: Operation) -> list[dict[str, Any]]:
        return self._find(op, INVOICE, "invoice", {"account", "order", "stage", "total"}, None)

    def advance_invoice(self, op: Operation) -> dict[str, Any]:
        if op.to not in ("posted", "paid"):
            raise Unsupported("tryton-web posts and pays invoices only")
        state = self.state_of(INVOICE, op.id, "invoice")
        if state == op.to:
            return self.read("invoice", op.id)
        if state in ("cancelled", "paid"):
            raise Refused(f"Tryton does not take a {state} invoice to {op.to}")
        self.open_model(INVOICE, op.id)
        if state != "posted":
            self.press("post", "invoice")  # only an issued invoice is paid
            # the form reloads the posted invoice, whose Pay button sao then shows
            self.wait_screen(
                "!!screen.current_record && screen.current_record.field_get('state') === arg",
                "posted",
            )
        if op.to == "paid":
            self._pay_invoice(op.id)
        return self.read("invoice", op.id)

    def _pay_invoice(self, invoice_id: Any) -> None:
        """The invoice's Pay button, as a clerk pays it in full: its wizard proposes the
        payee, the amount left to pay and today's date; pick the payment method, OK
        (account_invoice/invoice.py PayInvoice, view pay_start_form.xml)."""
        self.press("pay", "invoice")
        wizard = f".wizard-dialog{SHOWN_DIALOG}"
        self.page.wait_for_selector(f"{wizard} .form select[name='payment_method']")
        self.settle()
        # the wizard ends (its dialog goes), asks how to book a part payment (`type`), or
        # marks the method missing (its defaults arrived after it was chosen): choose again
        ask = f"{wizard} .form [name='type']"
        missing = f"{wizard} .form .has-error select[name='payment_method']"
        for _ in range(2):
            self.choose("payment_method", PAYMENT_METHOD, scope=wizard)
            self.click(f"{wizard} .modal-footer button.btn-primary")
            self.page.wait_for_function(
                "sels => !document.querySelector(sels[0])"
                " || sels.slice(1).some(s => !!document.querySelector(s))",
                arg=[wizard, ask, missing],
            )
            self.settle()
            if not self.exists(missing):
                break
        else:
            raise VendorError("sao kept dropping the invoice's payment method")
        self.raise_refusal("paying the invoice")
        if self.exists(ask):
            self.click(f"{wizard} .modal-footer button.btn-link")  # Cancel
            self.page.wait_for_selector(wizard, state="detached")
            self.settle()
            raise Refused("Tryton did not take the payment as paying the invoice in full")
        state = self.state_of(INVOICE, invoice_id, "invoice")
        if state != "paid":
            raise Refused(f"the payment was booked but Tryton reads the invoice {state}")

    # -- cases: complaints -----------------------------------------------------------------

    def create_case(self, op: Operation) -> dict[str, Any]:
        data = op.data
        self.reject_unknown(data, CASE_FIELDS, "case")
        if not data.get("account"):
            raise Refused("a Tryton complaint needs its customer: give the case an account")
        stage = data.get("stage") or "open"
        if stage not in ("open", "pending"):
            raise Unsupported(f"Tryton files a complaint as a draft, not {stage!r}")
        self.new_record(COMPLAINT)
        self.pick("customer", *self.link_of("account", data["account"]))
        self.choose("type", CASE_TYPE)
        self._fill_case(data)
        case_id = self.save("case")
        self.step.created_record("case", case_id)
        if stage == "pending":
            self.press("wait", "case")
        return self.read("case", case_id)

    def get_case(self, op: Operation) -> dict[str, Any]:
        return self._show(op, COMPLAINT, "case")

    def update_case(self, op: Operation) -> dict[str, Any]:
        self.reject_unknown(op.data, CASE_FIELDS - {"stage"}, "case")
        self.open_model(COMPLAINT, op.id)
        if op.data.get("account"):
            self.pick("customer", *self.link_of("account", op.data["account"]))
        self._fill_case(op.data)
        self.save("case")
        return self.read("case", op.id)

    def find_case(self, op: Operation) -> list[dict[str, Any]]:
        return self._find(op, COMPLAINT, "case", CASE_FIELDS, "subject")

    def advance_case(self, op: Operation) -> dict[str, Any]:
        if op.to not in ("open", "pending", "closed"):
            raise Unsupported(f"Tryton complaints have no stage {op.to!r}")
        self.open_model(COMPLAINT, op.id)
        for _ in range(4):
            state = self.state_of(COMPLAINT, op.id, "case")
            stage = {"draft": "open", "waiting": "pending"}.get(state, "closed")
            if stage == op.to and state in ("draft", "waiting", "done", "rejected"):
                break
            if op.to == "closed":
                button = {"draft": "wait", "waiting": "approve", "approved": "process"}[state]
            elif state == "draft":
                button = "wait"
            else:
                button = "draft"
            self.press(button, "case")
        return self.read("case", op.id)

    def delete_case(self, op: Operation) -> dict[str, Any]:
        state = self.state_of(COMPLAINT, op.id, "case")
        self.open_model(COMPLAINT, op.id)
        if state != "draft":
            self.press("draft", "case")
        self._delete_current("case")
        return {"id": str(op.id)}

    def _fill_case(self, data: dict[str, Any]) -> None:
        if "subject" in data:
            self.type_in("reference", data["subject"])
        if "description" in data:
            self.write_text("description", data["description"])

    # -- shared ------------------------------------------------------------------------

    def _show(self, op: Operation, model: str, entity: str) -> dict[str, Any]:
        """Open the record's form, as a user looking at it; refused if sao cannot."""
        if op.id is None:
            raise Refused(f"get {entity} needs an id")
        # A record this user cannot read (gone, or another's) sao cannot open either; it
        # would show an empty form, which is no signal to wait on.
        record = self.read(entity, op.id)
        self.open_model(model, op.id)
        return record

    def _delete(self, op: Operation, model: str, entity: str) -> dict[str, Any]:
        self.open_model(model, op.id)
        self._delete_current(entity)
        return {"id": str(op.id)}

    def _find(
        self, op: Operation, model: str, entity: str, known: set[str], text_key: str | None
    ) -> list[dict[str, Any]]:
        """Search the list as a user would: the most telling value in the search box."""
        self.reject_unknown(op.where, known, entity)
        text = ""
        if text_key and op.where.get(text_key):
            value = str(op.where[text_key]).replace('"', "")
            label = SEARCH_LABELS.get((model, text_key))
            # sao's search box takes `Field: "value"`; bare text searches the record name.
            text = f'{label}: "{value}"' if label else value
        ids = self.search_list(model, text)
        return self.matching(entity, ids, dict(op.where))


def _amount(value: Any) -> str:
    """An amount as a user types it (JSON-RPC gives a Decimal as {__class__, decimal})."""
    if isinstance(value, dict):
        return str(value.get("decimal"))
    return str(value)


def _blank_is_none(record: dict[str, Any]) -> dict[str, Any]:
    """A text field a user left empty in sao is saved as '', over the API as nothing: both
    read as None, since no form tells them apart."""
    return {k: (None if v == "" else v) for k, v in record.items()}
