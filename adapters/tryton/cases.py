"""Cases: Tryton's customer complaints (`sale.complaint`, module sale_complaint).

A complaint has a customer (the account), a `reference` (the short text first on its form
and in its list, so the case's subject) and a description. Tryton records no reporting
person and no priority on it. It needs a type, which names what it may be about (a sale,
a sale line, an invoice); a case names none, so it is filed under the type "Sale" with an
empty origin, as a clerk would.

Its workflow: draft, then waiting (submitted for a decision), then approved and done (its
actions processed; with no actions at once), or rejected, or cancelled; each can go back
to draft. Canonical stages read: open = draft (or approved, still to be processed),
pending = waiting, closed = done, rejected or cancelled. Closing presses wait and approve,
a sales administrator's button. Only a draft complaint can be deleted, so deleting one
resets it to draft first.
"""

from __future__ import annotations

from typing import Any

from crmproof.adapter import Refused, Unsupported
from crmproof.protocol import Operation

from .base import TrytonBase
from .values import record_id, ref

COMPLAINT = "sale.complaint"
CASE_TYPE = "Sale"
CASE_FIELDS = {"subject", "account", "description", "stage"}
CASE_FROM_STATE = {
    "draft": "open",
    "approved": "open",
    "waiting": "pending",
    "done": "closed",
    "rejected": "closed",
    "cancelled": "closed",
}
_READ = ["reference", "description", "customer", "state"]


class CaseOps(TrytonBase):
    def create_case(self, op: Operation) -> dict[str, Any]:
        data = op.data
        self.reject_unknown(data, CASE_FIELDS, "case")
        if not data.get("account"):
            raise Refused("a Tryton complaint needs its customer: give the case an account")
        stage = data.get("stage") or "open"
        if stage not in ("open", "pending"):
            raise Unsupported(f"Tryton files a complaint as a draft, not {stage!r}")
        values = {
            **self._case_values(data),
            "type": self.lookup_id("sale.complaint.type", CASE_TYPE, "complaint type"),
        }
        case_id = self._create_one(COMPLAINT, values)
        self.step.created_record("case", case_id)
        if stage == "pending":
            self._advance_case(case_id, "pending")
        return self._case_record(case_id)

    def get_case(self, op: Operation) -> dict[str, Any]:
        return self._case_record(record_id(op.id, "case"))

    def update_case(self, op: Operation) -> dict[str, Any]:
        self.reject_unknown(op.data, CASE_FIELDS - {"stage"}, "case")
        case_id = record_id(op.id, "case")
        self.read_one(COMPLAINT, case_id, ["id"], "case")
        values = self._case_values(op.data)
        if values:
            self.call(COMPLAINT, "write", [case_id], values)
        return self._case_record(case_id)

    def find_case(self, op: Operation) -> list[dict[str, Any]]:
        self.reject_unknown(op.where, CASE_FIELDS, "case")
        domain: list[Any] = []
        for field, value in op.where.items():
            if field == "id":
                domain.append(["id", "=", record_id(value, "case")])
            elif field == "account":
                domain.append(["customer", "=", record_id(value, "account")])
            elif field == "subject":
                domain.append(["reference", "=", value])
            elif field == "description":
                domain.append(["description", "=", value])
            else:
                states = [s for s, stage in CASE_FROM_STATE.items() if stage == value]
                domain.append(["state", "in", states])
        rows = self.search_read(COMPLAINT, domain, _READ, order=[("id", "ASC")])
        return [_case_from_row(row) for row in rows]

    def advance_case(self, op: Operation) -> dict[str, Any]:
        case_id = record_id(op.id, "case")
        if op.to not in ("open", "pending", "closed"):
            raise Unsupported(f"Tryton complaints have no stage {op.to!r}")
        self._advance_case(case_id, op.to)
        return self._case_record(case_id)

    def delete_case(self, op: Operation) -> dict[str, Any]:
        case_id = self.target_id(op, COMPLAINT, "case")
        if case_id is None:
            return {"id": op.id}
        state = self.read_one(COMPLAINT, case_id, ["state"], "case")["state"]
        if state != "draft":
            self._case_button(case_id, "draft")
        self.call(COMPLAINT, "delete", [case_id])
        return {"id": str(case_id)}

    # -- shared ----------------------------------------------------------------------

    def _case_values(self, data: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if "subject" in data:
            values["reference"] = data["subject"]
        if "description" in data:
            values["description"] = data["description"]
        if "account" in data:
            if not data["account"]:
                raise Refused("a Tryton complaint cannot lose its customer")
            account_id = record_id(data["account"], "account")
            if not self.exists("party.party", account_id):
                raise Refused(f"no account with id {data['account']}")
            values["customer"] = account_id
        return values

    def _advance_case(self, case_id: int, stage: str) -> None:
        """Press the buttons that take the complaint to the canonical `stage`."""
        for _ in range(4):  # draft, wait, approve, process: at most four presses
            state = self.read_one(COMPLAINT, case_id, ["state"], "case")["state"]
            if CASE_FROM_STATE[state] == stage:
                return
            if stage == "closed":
                button = {"draft": "wait", "waiting": "approve", "approved": "process"}[state]
            elif state == "draft":  # to pending
                button = "wait"
            else:  # back to draft: from waiting, approved or closed
                button = "draft"
            self._case_button(case_id, button)
        raise Refused(f"the complaint did not reach {stage} (it is {state})")

    def _case_button(self, case_id: int, button: str) -> None:
        try:
            self.call(COMPLAINT, button, [case_id])
        except Refused as refusal:
            if "not allowed" in str(refusal) or "can not call" in str(refusal):
                raise Refused(f"Tryton does not allow {button!r} here: {refusal}") from None
            raise

    def _case_record(self, case_id: int) -> dict[str, Any]:
        return _case_from_row(self.read_one(COMPLAINT, case_id, _READ, "case"))


def _case_from_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "subject": row["reference"],
        "account": ref(row["customer"]),
        "description": row["description"],
        "stage": CASE_FROM_STATE[row["state"]],
    }
