"""Accounts and contacts: both are Tryton parties (`party.party`).

Tryton keeps organisations and people alike as parties. The adapter tags the people with
the party category "Contact" and links them to their account with a "Works for" relation
(module party_relationship); a party without that tag is an account. A division points at
its group, its `parent`, with a "Division of" relation. E-mail, phone and website are the
party's contact mechanisms; the city is its first address's.
"""

from __future__ import annotations

from typing import Any

from crmproof.adapter import Refused, Unsupported
from crmproof.protocol import Operation

from .base import TrytonBase
from .values import record_id, ref

PARTY = "party.party"
CONTACT_CATEGORY = "Contact"
WORKS_FOR = "Works for"
DIVISION_OF = "Division of"
# The RPC face of relations: it shows each relation from both ends.
RELATION = "party.relation.all"
MECHANISMS = {"email": "email", "phone": "phone", "website": "website"}
ACCOUNT_FIELDS = {"name", "email", "phone", "website", "city", "payment_term", "parent"}
CONTACT_FIELDS = {"name", "email", "phone", "account"}
_READ = [
    "name",
    "active",
    "categories",
    "contact_mechanisms.type",
    "contact_mechanisms.value",
    "addresses.city",
    "customer_payment_term.rec_name",
    "relations.to",
    "relations.type.name",
]


class PartyOps(TrytonBase):
    # -- account ---------------------------------------------------------------------

    def create_account(self, op: Operation) -> dict[str, Any]:
        return self._create_party(op, "account", ACCOUNT_FIELDS)

    def get_account(self, op: Operation) -> dict[str, Any]:
        return self._get_party(op, "account")

    def update_account(self, op: Operation) -> dict[str, Any]:
        return self._update_party(op, "account", ACCOUNT_FIELDS)

    def delete_account(self, op: Operation) -> dict[str, Any]:
        return self._delete_party(op, "account")

    def find_account(self, op: Operation) -> list[dict[str, Any]]:
        return self._find_party(op, "account", ACCOUNT_FIELDS)

    # -- contact ---------------------------------------------------------------------

    def create_contact(self, op: Operation) -> dict[str, Any]:
        return self._create_party(op, "contact", CONTACT_FIELDS)

    def get_contact(self, op: Operation) -> dict[str, Any]:
        return self._get_party(op, "contact")

    def update_contact(self, op: Operation) -> dict[str, Any]:
        return self._update_party(op, "contact", CONTACT_FIELDS)

    def delete_contact(self, op: Operation) -> dict[str, Any]:
        return self._delete_party(op, "contact")

    def find_contact(self, op: Operation) -> list[dict[str, Any]]:
        return self._find_party(op, "contact", CONTACT_FIELDS)

    # -- shared ----------------------------------------------------------------------

    def _create_party(self, op: Operation, entity: str, known: set[str]) -> dict[str, Any]:
        data = op.data
        self.reject_unknown(data, known, entity)
        if not data.get("name"):
            raise Refused(f"a Tryton party needs a name to create the {entity}")
        return self._party_record(self.new_party(entity, data), entity)

    def new_party(self, entity: str, data: dict[str, Any]) -> int:
        """Create the party of an account or contact from canonical fields; its id.

        It is recorded as created at once, so cleanup removes it whatever follows.
        """
        values: dict[str, Any] = {"name": data.get("name")}
        mechanisms = [
            {"type": kind, "value": data[field]}
            for field, kind in MECHANISMS.items()
            if data.get(field)
        ]
        if mechanisms:
            values["contact_mechanisms"] = [["create", mechanisms]]
        # The client gives every new party an address; sales need one to be quoted.
        values["addresses"] = [["create", [{"city": data.get("city")}]]]
        if data.get("payment_term"):
            values["customer_payment_term"] = self._payment_term_id(data["payment_term"])
        if entity == "contact":
            values["categories"] = [["add", [self._contact_category()]]]
        party_id = self._create_one(PARTY, values)
        self.step.created_record(entity, party_id)  # kept for cleanup if the rest fails
        if data.get("account"):
            self._set_employer(party_id, data["account"])
        if data.get("parent"):
            self._set_parent(party_id, data["parent"])
        return party_id

    def _get_party(self, op: Operation, entity: str) -> dict[str, Any]:
        return self._party_record(record_id(op.id, entity), entity)

    def _update_party(self, op: Operation, entity: str, known: set[str]) -> dict[str, Any]:
        party_id = record_id(op.id, entity)
        data = op.data
        self.reject_unknown(data, known, entity)
        current = self.read_one(PARTY, party_id, _READ, entity)
        values: dict[str, Any] = {}
        if "name" in data:
            values["name"] = data["name"]
        if "payment_term" in data:
            term = data["payment_term"]
            values["customer_payment_term"] = self._payment_term_id(term) if term else None
        if "city" in data:
            addresses = current["addresses."]
            if addresses:
                values["addresses"] = [["write", [addresses[0]["id"]], {"city": data["city"]}]]
            else:
                values["addresses"] = [["create", [{"city": data["city"]}]]]
        actions = self._mechanism_actions(current["contact_mechanisms."], data)
        if actions:
            values["contact_mechanisms"] = actions
        if values:
            self.call(PARTY, "write", [party_id], values)
        if "account" in data:
            self._set_employer(party_id, data["account"])
        if "parent" in data:
            self._set_parent(party_id, data["parent"])
        return self._party_record(party_id, entity)

    def _delete_party(self, op: Operation, entity: str) -> dict[str, Any]:
        party_id = self.target_id(op, PARTY, entity)
        if party_id is None:
            return {"id": op.id}
        try:
            self.call(PARTY, "delete", [party_id])
        except Refused as refusal:
            if not op.cleanup:
                raise
            # Sales, invoices and won opportunities keep their party for ever; archiving
            # is Tryton's way to retire it. The record stays, so say so.
            self.call(PARTY, "write", [party_id], {"active": False})
            return {
                "id": str(party_id),
                "kept": "archived: Tryton keeps a party that sales, "
                f"invoices or opportunities refer to ({refusal})",
            }
        return {"id": str(party_id)}

    def _find_party(self, op: Operation, entity: str, known: set[str]) -> list[dict[str, Any]]:
        self.reject_unknown(op.where, known, entity)
        operator = "where" if entity == "contact" else "not where"
        domain: list[Any] = [["categories", operator, [["name", "=", CONTACT_CATEGORY]]]]
        for field, value in op.where.items():
            domain.append(self._party_clause(field, value))
        rows = self.search_read(PARTY, domain, _READ, order=[("id", "ASC")])
        return [self._party_from_row(row, entity) for row in rows]

    def _party_clause(self, field: str, value: Any) -> list[Any]:
        if field == "id":
            return ["id", "=", record_id(value, "party")]
        if field in MECHANISMS:
            return [
                "contact_mechanisms",
                "where",
                [["type", "=", MECHANISMS[field]], ["value", "=", value]],
            ]
        if field == "city":
            return ["addresses.city", "=", value]
        if field == "payment_term":
            return ["customer_payment_term.name", "=", value]
        if field in ("account", "parent"):
            kind = WORKS_FOR if field == "account" else DIVISION_OF
            if not value:
                return ["relations", "not where", [["type.name", "=", kind]]]
            return [
                "relations",
                "where",
                [["to", "=", record_id(value, "account")], ["type.name", "=", kind]],
            ]
        return [field, "=", value]

    def _party_record(self, party_id: int, entity: str) -> dict[str, Any]:
        return self._party_from_row(self.read_one(PARTY, party_id, _READ, entity), entity)

    def _party_from_row(self, row: dict[str, Any], entity: str) -> dict[str, Any]:
        mechanisms: dict[str, str] = {}
        for mechanism in row["contact_mechanisms."]:
            mechanisms.setdefault(mechanism["type"], mechanism["value"])
        record: dict[str, Any] = {"id": str(row["id"]), "name": row["name"]}
        for field, kind in MECHANISMS.items():
            if entity == "account" or field != "website":
                record[field] = mechanisms.get(kind)
        if entity == "account":
            addresses = row["addresses."]
            record["city"] = addresses[0]["city"] if addresses else None
            term = row.get("customer_payment_term.")
            record["payment_term"] = term["rec_name"] if term else None
            record["parent"] = _related(row, DIVISION_OF)
        else:
            record["account"] = _related(row, WORKS_FOR)
        return record

    def _mechanism_actions(self, current: list[dict], data: dict[str, Any]) -> list[Any]:
        """One2Many actions that make each given e-mail/phone/website the party's first."""
        actions: list[Any] = []
        for field, kind in MECHANISMS.items():
            if field not in data:
                continue
            existing = [m["id"] for m in current if m["type"] == kind]
            if data[field] and existing:
                actions.append(["write", existing[:1], {"value": data[field]}])
            elif data[field]:
                actions.append(["create", [{"type": kind, "value": data[field]}]])
            elif existing:
                actions.append(["delete", existing])
        return actions

    def _set_employer(self, party_id: int, account: Any) -> None:
        """Replace the contact's "Works for" relation by one to `account`."""
        self._set_relation(party_id, WORKS_FOR, account)

    def _set_parent(self, party_id: int, parent: Any) -> None:
        """Replace the account's "Division of" relation by one to `parent`."""
        if parent and record_id(parent, "account") == party_id:
            raise Refused("an account cannot be a division of itself")
        self._set_relation(party_id, DIVISION_OF, parent)

    def _set_relation(self, party_id: int, kind: str, target: Any) -> None:
        """Replace the party's relation of type `kind` by one to the account `target`."""
        relation_type = self.lookup_id("party.relation.type", kind, "relation type")
        old = self.call(
            RELATION, "search", [["from_", "=", party_id], ["type", "=", relation_type]]
        )
        if old:
            self.call(RELATION, "delete", old)
        if target:
            account_id = record_id(target, "account")
            if not self.exists(PARTY, account_id):
                raise Refused(f"no account with id {target}")
            self.call(
                RELATION,
                "create",
                [{"from_": party_id, "to": account_id, "type": relation_type}],
            )

    def _contact_category(self) -> int:
        try:
            return self.lookup_id("party.category", CONTACT_CATEGORY, "party category")
        except Refused:
            raise Unsupported(
                f"this Tryton has no party category {CONTACT_CATEGORY!r} to mark contacts"
            ) from None

    def _payment_term_id(self, name: str) -> int:
        return self.lookup_id("account.invoice.payment_term", name, "payment term")


def _related(row: dict[str, Any], kind: str) -> str | None:
    """The party this one points at with a relation of type `kind`, if any."""
    targets = [r["to"] for r in row["relations."] if (r.get("type.") or {}).get("name") == kind]
    return ref(targets[0]) if targets else None
