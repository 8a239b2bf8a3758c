"""Leads and opportunities: both are one Tryton record, `sale.opportunity`.

Its buttons move it: `lead`, `opportunity` (needs a party and an employee), `convert`
(makes the sale, a quotation, so canonical "proposal"), `lost`, `cancel`. Nothing sets
"won" directly: Tryton marks an opportunity won when its sale is confirmed, so winning
here means quoting and confirming that sale. Only a cancelled opportunity can be deleted,
and a won one can never be cancelled. A lead's person and company are parties
(prospects.py). Choosing the party in the client sets the opportunity's payment term to
the party's, which its sale then takes; the adapter does the same.
"""

from __future__ import annotations

from typing import Any

from crmproof.adapter import Refused, Unsupported
from crmproof.protocol import Operation

from .orders import OPPORTUNITY, SALE, OrderOps
from .prospects import PROSPECT_FIELDS, PROSPECT_READ, ProspectOps, prospect_matches
from .values import (
    LEAD_FROM_STATE,
    LEAD_TO_STATES,
    OPPORTUNITY_FROM_STATE,
    OPPORTUNITY_TO_STATE,
    date,
    decimal,
    iso,
    number,
    record_id,
    ref,
    states_for,
)

OPPORTUNITY_FIELDS = {
    "name",
    "account",
    "contact",
    "amount",
    "probability",
    "close_date",
    "description",
    "lost_reason",
    "stage",
}
# Tryton's opportunity has no field for where a lead came from: `source` is not mapped.
LEAD_FIELDS = {"name", "account", "amount", "stage", *PROSPECT_FIELDS}
_READ = [
    "description",
    "party",
    "contact.party",
    "amount",
    "conversion_probability",
    "end_date",
    "comment",
    "lost_reason",
    "state",
    "sales.state",
    *PROSPECT_READ,
]


class PipelineOps(ProspectOps, OrderOps):
    # -- lead ------------------------------------------------------------------------

    def create_lead(self, op: Operation) -> dict[str, Any]:
        self.reject_unknown(op.data, LEAD_FIELDS, "lead")
        stage = op.data.get("stage", "new")
        if stage != "new":
            raise Unsupported(f"Tryton creates leads as new only, not {stage!r}")
        values = {**self._values(op.data), **self.prospect_values(op.data)}
        opp_id = self._create_one(OPPORTUNITY, {"description": None, **values})
        # Recorded after its parties, so cleanup deletes the lead before them.
        self.step.created_record("lead", opp_id)
        return self._lead(opp_id)

    def get_lead(self, op: Operation) -> dict[str, Any]:
        return self._lead(record_id(op.id, "lead"))

    def update_lead(self, op: Operation) -> dict[str, Any]:
        self.reject_unknown(op.data, LEAD_FIELDS - {"stage"}, "lead")
        opp_id = record_id(op.id, "lead")
        row = self.read_one(OPPORTUNITY, opp_id, _READ, "lead")
        values = {**self._values(op.data), **self.prospect_values(op.data, row)}
        if values:
            self.call(OPPORTUNITY, "write", [opp_id], values)
        return self._lead(opp_id)

    def find_lead(self, op: Operation) -> list[dict[str, Any]]:
        self.reject_unknown(op.where, LEAD_FIELDS, "lead")
        rows = self._find(op.where, lambda stage: LEAD_TO_STATES.get(stage, []))
        leads = [self._lead_from_row(row) for row in rows]
        return [lead for lead in leads if prospect_matches(lead, op.where)]

    def advance_lead(self, op: Operation) -> dict[str, Any]:
        opp_id = record_id(op.id, "lead")
        targets = {"new": "prospecting", "converted": "qualification", "lost": "lost"}
        if op.to not in targets:
            raise Unsupported(f"Tryton has no lead stage {op.to!r} (only new, converted, lost)")
        self._advance(opp_id, targets[op.to], op)
        return self._lead(opp_id)

    def convert_lead(self, op: Operation) -> dict[str, Any]:
        """A lead becomes an opportunity: the same record, after its `opportunity` button."""
        if op.to not in (None, "opportunity"):
            raise Unsupported(f"Tryton converts a lead into an opportunity, not {op.to!r}")
        opp_id = record_id(op.id, "lead")
        self.reject_unknown(op.data, OPPORTUNITY_FIELDS - {"stage"}, "opportunity")
        self._write(opp_id, op.data)
        self._party_for_conversion(opp_id)
        # The button itself, not a path to the stage: Tryton refuses it on anything but
        # a lead (its `invisible` state is checked on the server), so a lead converts once.
        self._button(opp_id, "opportunity")
        return self._opportunity(opp_id)

    def _party_for_conversion(self, opp_id: int) -> None:
        """A lead without a company gets its person as the party, as a Tryton user would.

        Past the lead state an opportunity requires a party (sale_opportunity's
        opportunity.py: `party` required unless lead, lost or cancelled). A prospect who
        named no company buys as themself: the user picks that person, the party of the
        lead's contact mechanism, in the Party field before pressing the button.
        """
        row = self.read_one(OPPORTUNITY, opp_id, ["state", "party", "contact.party"], "lead")
        person = (row.get("contact.") or {}).get("party")
        if row["state"] == "lead" and row["party"] is None and person:
            self.call(OPPORTUNITY, "write", [opp_id], {"party": person})

    def delete_lead(self, op: Operation) -> dict[str, Any]:
        return self._delete(op, "lead")

    # -- opportunity -----------------------------------------------------------------

    def create_opportunity(self, op: Operation) -> dict[str, Any]:
        self.reject_unknown(op.data, OPPORTUNITY_FIELDS, "opportunity")
        opp_id = self._create(op.data)
        stage = op.data.get("stage")
        if stage and stage != "prospecting":
            self.step.created_record("opportunity", opp_id)
            self._advance(opp_id, stage, op)
        return self._opportunity(opp_id)

    def get_opportunity(self, op: Operation) -> dict[str, Any]:
        return self._opportunity(record_id(op.id, "opportunity"))

    def update_opportunity(self, op: Operation) -> dict[str, Any]:
        self.reject_unknown(op.data, OPPORTUNITY_FIELDS - {"stage"}, "opportunity")
        opp_id = record_id(op.id, "opportunity")
        self._write(opp_id, op.data)
        return self._opportunity(opp_id)

    def find_opportunity(self, op: Operation) -> list[dict[str, Any]]:
        self.reject_unknown(op.where, OPPORTUNITY_FIELDS, "opportunity")
        rows = self._find(op.where, lambda stage: states_for(OPPORTUNITY_FROM_STATE, stage))
        return [self._opportunity_from_row(row) for row in rows]

    def advance_opportunity(self, op: Operation) -> dict[str, Any]:
        opp_id = record_id(op.id, "opportunity")
        if not op.to:
            raise Refused("advance opportunity needs a target stage")
        self._advance(opp_id, op.to, op)
        return self._opportunity(opp_id)

    def convert_opportunity(self, op: Operation) -> dict[str, Any]:
        """The opportunity's `convert` button makes its sale; `with: lines` fills it."""
        if op.to not in (None, "order"):
            raise Unsupported(f"Tryton converts an opportunity into an order, not {op.to!r}")
        opp_id = record_id(op.id, "opportunity")
        unknown = set(op.data) - {"lines", "reference", "payment_term"}
        if unknown:
            raise Unsupported(f"convert opportunity does not take {sorted(unknown)}")
        state = self.read_one(OPPORTUNITY, opp_id, ["state"], "opportunity")["state"]
        if state not in ("lead", "opportunity"):
            raise Refused(f"this opportunity is already {state} in Tryton")
        self._advance(opp_id, "proposal", op)
        sales = self.read_one(OPPORTUNITY, opp_id, ["sales"], "opportunity")["sales"]
        sale_id = sales[-1]
        values = self._order_values(op.data)
        if op.data.get("lines"):
            values["lines"] = [["create", self._sale_lines(op.data["lines"])]]
        if values:
            self.call(SALE, "write", [sale_id], values)
        return self._order_record(sale_id)

    def delete_opportunity(self, op: Operation) -> dict[str, Any]:
        return self._delete(op, "opportunity")

    # -- shared ----------------------------------------------------------------------

    def _create(self, data: dict[str, Any]) -> int:
        values = self._values(data)
        values.setdefault("description", None)
        return self._create_one(OPPORTUNITY, values)

    def _write(self, opp_id: int, data: dict[str, Any]) -> None:
        values = self._values(data)
        if values:
            self.call(OPPORTUNITY, "write", [opp_id], values)

    def _values(self, data: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if "name" in data:
            values["description"] = data["name"]
        if "description" in data:
            values["comment"] = data["description"]
        if "account" in data:
            values["party"] = record_id(data["account"], "account") if data["account"] else None
            if values["party"]:
                values.update(self._party_term(OPPORTUNITY, values["party"], default=True))
        if "contact" in data:
            values["contact"] = self._contact_mechanism(data["contact"])
        if "amount" in data:
            values["amount"] = decimal(data["amount"], "amount") if data["amount"] else None
        if "probability" in data:
            values["conversion_probability"] = float(data["probability"] or 0) / 100
        if "close_date" in data:
            values["end_date"] = date(data["close_date"], "close_date")
        if "lost_reason" in data:
            values["lost_reason"] = data["lost_reason"]
        return values

    def _contact_mechanism(self, contact: Any) -> int | None:
        """Tryton links an opportunity to a person through one of their contact mechanisms."""
        if not contact:
            return None
        party_id = record_id(contact, "contact")
        rows = self.search_read(
            "party.contact_mechanism", [["party", "=", party_id]], ["type"], order=[("id", "ASC")]
        )
        if not rows:
            raise Refused(
                f"contact {contact} has no e-mail or phone, through which Tryton links an "
                "opportunity to a person"
            )
        emails = [r for r in rows if r["type"] == "email"]
        return (emails or rows)[0]["id"]

    def _find(self, where: dict[str, Any], states: Any) -> list[dict[str, Any]]:
        clauses = {
            "name": "description",
            "description": "comment",
            "account": "party",
            "contact": "contact.party",
            "amount": "amount",
            "close_date": "end_date",
            "lost_reason": "lost_reason",
        }
        domain: list[Any] = []
        for field, value in where.items():
            if field == "stage":
                domain.append(["state", "in", states(value)])
            elif field in ("account", "contact", "id"):
                domain.append([clauses.get(field, "id"), "=", record_id(value, field)])
            elif field == "amount":
                domain.append(["amount", "=", decimal(value, "amount")])
            elif field == "probability":
                domain.append(["conversion_probability", "=", float(value) / 100])
            elif field == "close_date":
                domain.append(["end_date", "=", date(value, "close_date")])
            elif field in PROSPECT_FIELDS:
                domain.append(self.prospect_clause(field, value))
            else:
                domain.append([clauses[field], "=", value])
        return self.search_read(OPPORTUNITY, domain, _READ, order=[("id", "ASC")])

    def _advance(self, opp_id: int, stage: str, op: Operation) -> None:
        """Press the buttons that take the opportunity to the canonical `stage`."""
        if stage not in OPPORTUNITY_TO_STATE:
            raise Unsupported(f"Tryton has no opportunity stage for {stage!r}")
        target = OPPORTUNITY_TO_STATE[stage]
        for _ in range(5):  # each pass presses one button; a path is at most four long
            row = self.read_one(OPPORTUNITY, opp_id, ["state", "sales.state"], "opportunity")
            state = row["state"]
            if state == target:
                if target == "lost" and op.data.get("lost_reason"):
                    self._write(opp_id, {"lost_reason": op.data["lost_reason"]})
                return
            self._step_towards(opp_id, state, target, row["sales."])
        raise Refused(f"the opportunity did not reach {stage} (it is {state})")

    def _step_towards(self, opp_id: int, state: str, target: str, sales: list[dict]) -> None:
        """Press the one button that brings the opportunity a step closer to `target`."""
        if state == "won":
            raise Refused("Tryton keeps a won opportunity won")
        if state == "converted" and target in ("lead", "opportunity"):
            raise Refused("Tryton cannot take a converted opportunity back; cancel its order")
        if state in ("lost", "cancelled") or target == "lead":
            self._button(opp_id, "lead")
        elif target == "lost":
            if state == "converted":
                self._cancel_sales(sales)  # Tryton then marks the opportunity lost
            else:
                self._button(opp_id, "lost")
        elif state == "lead":
            self._button(opp_id, "opportunity")
        elif state == "opportunity":
            self._button(opp_id, "convert")
            for sale_id in self.read_one(OPPORTUNITY, opp_id, ["sales"], "opportunity")["sales"]:
                self.step.created_record("order", sale_id)
        else:  # converted, on the way to won: quote and confirm its sales
            for sale in sales:
                if sale["state"] in ("draft", "quotation"):
                    self._fill_empty_sale(opp_id, sale["id"])
                    self._advance_sale(sale["id"], "confirmed")

    def _fill_empty_sale(self, opp_id: int, sale_id: int) -> None:
        """Give a sale made from an opportunity without lines one line for its amount.

        Tryton quotes no empty sale. A canonical opportunity has an amount, not lines, so
        the sale gets what a salesperson would type: one free-text line, the opportunity's
        name at its amount. Its invoice line goes to the default revenue account.
        """
        sale = self.read_one(SALE, sale_id, ["lines", "state"], "order")
        if sale["lines"] or sale["state"] != "draft":
            return
        opp = self.read_one(OPPORTUNITY, opp_id, ["description", "amount"], "opportunity")
        if not opp["amount"]:
            raise Refused(
                "Tryton wins an opportunity by confirming its sale, and a sale needs lines: "
                "give the opportunity an amount or its order lines"
            )
        line = {
            "type": "line",
            "description": opp["description"] or f"Opportunity {opp_id}",
            "quantity": 1.0,
            "unit_price": opp["amount"],
        }
        self.call(SALE, "write", [sale_id], {"lines": [["create", [line]]]})

    def _cancel_sales(self, sales: list[dict]) -> None:
        """A converted opportunity is lost when all its sales are cancelled."""
        if any(s["state"] not in ("draft", "quotation", "cancelled") for s in sales):
            raise Refused("the opportunity's sale is confirmed; Tryton counts it as won")
        open_sales = [s["id"] for s in sales if s["state"] != "cancelled"]
        if not open_sales:
            raise Refused("Tryton left this converted opportunity without a sale to cancel")
        self.call(SALE, "cancel", open_sales)

    def _button(self, opp_id: int, button: str) -> None:
        try:
            self.call(OPPORTUNITY, button, [opp_id])
        except Refused as refusal:
            if "can not call" in str(refusal):
                raise Refused(f"Tryton does not allow {button!r} here: {refusal}") from None
            raise

    def _delete(self, op: Operation, entity: str) -> dict[str, Any]:
        opp_id = self.target_id(op, OPPORTUNITY, entity)
        if opp_id is None:
            return {"id": op.id}
        row = self.read_one(OPPORTUNITY, opp_id, ["state", "sales.state"], entity)
        if row["state"] == "won":
            if op.cleanup:
                return {"id": str(opp_id), "kept": "won: Tryton keeps a won opportunity"}
            raise Refused("Tryton keeps a won opportunity: it can be neither cancelled nor deleted")
        if row["state"] == "converted":
            self._cancel_sales(row["sales."])  # then it reads lost
        if row["state"] != "cancelled":
            if self.read_one(OPPORTUNITY, opp_id, ["state"], entity)["state"] == "lost":
                self._button(opp_id, "lead")
            self._button(opp_id, "cancel")
        self.call(OPPORTUNITY, "delete", [opp_id])
        return {"id": str(opp_id)}

    def _opportunity(self, opp_id: int) -> dict[str, Any]:
        return self._opportunity_from_row(self.read_one(OPPORTUNITY, opp_id, _READ, "opportunity"))

    def _lead(self, opp_id: int) -> dict[str, Any]:
        return self._lead_from_row(self.read_one(OPPORTUNITY, opp_id, _READ, "lead"))

    @staticmethod
    def _opportunity_from_row(row: dict[str, Any]) -> dict[str, Any]:
        contact = row.get("contact.")
        probability = row["conversion_probability"]
        return {
            "id": str(row["id"]),
            "name": row["description"],
            "account": ref(row["party"]),
            "contact": ref(contact["party"]) if contact else None,
            "amount": number(row["amount"]),
            "probability": number(round(probability * 100, 2)) if probability is not None else None,
            "close_date": iso(row["end_date"]),
            "description": row["comment"],
            "lost_reason": row["lost_reason"],
            "stage": OPPORTUNITY_FROM_STATE[row["state"]],
        }

    def _lead_from_row(self, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": str(row["id"]),
            "name": row["description"],
            "account": ref(row["party"]),
            **self.prospect_fields(row),
            "amount": number(row["amount"]),
            "stage": LEAD_FROM_STATE[row["state"]],
        }
