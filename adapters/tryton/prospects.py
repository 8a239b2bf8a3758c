"""Who a lead is about: its person and company, kept as Tryton parties.

A Tryton lead (`sale.opportunity` in state lead) has a `party` and a `contact`, which is
one contact mechanism (an e-mail or a phone) of some party. It has no fields of its own
for a prospect's name, company, e-mail or phone, so the adapter records them as a
salesperson would in Tryton:

- the person becomes a contact party (category "Contact") with their e-mail and phone,
  and the lead's `contact` is their e-mail (or phone). Tryton reaches a person only
  through such a mechanism, so a person needs an e-mail or a phone;
- the company they named is the party they work for (a "Works for" relation). A lead
  that names no existing account gets that company as its party; one that belongs to an
  account named otherwise keeps the account as its party, and the person works for the
  company they named. Without a person, the company is the lead's party's name.

Tryton keeps one name per party; the adapter writes a person's as "Last, First", which
reads back into its two parts. A given name alone cannot be told from a family name
there, so it is not taken without one.

The parties are recorded as created before the lead, so cleanup removes the lead first,
then them (or archives them if a sale made them Tryton's for good).
"""

from __future__ import annotations

from typing import Any

from crmproof.adapter import Unsupported

from .parties import PARTY, WORKS_FOR, PartyOps
from .values import record_id

PROSPECT_FIELDS = ("first_name", "last_name", "company", "email", "phone")
_PERSON_FIELDS = ("first_name", "last_name", "email", "phone")
# Fields a search narrows on the server and the adapter then matches exactly.
_REFINED = ("first_name", "last_name", "company")
# What a lead row must hold to read its prospect back.
PROSPECT_READ = [
    "party.name",
    "contact.party",
    "contact.party.name",
    "contact.party.contact_mechanisms.type",
    "contact.party.contact_mechanisms.value",
    "contact.party.relations.type.name",
    "contact.party.relations.to.name",
]
_SEPARATOR = ", "
_NO_PERSON = (
    "Tryton reaches a lead's person only through an e-mail or phone (the lead's contact); "
    "give the lead one"
)


class ProspectOps(PartyOps):
    def prospect_values(
        self, data: dict[str, Any], row: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The lead's `party` and `contact` for the prospect fields in `data`.

        `row` is the lead as it is (for an update), read with PROSPECT_READ.
        """
        values: dict[str, Any] = {}
        party = row["party"] if row else None
        if "account" in data:
            party = record_id(data["account"], "account") if data["account"] else None
        person = _person_of(row) if row else None
        employer = _employer_of(person) if person else party
        if data.get("company"):
            if party is None:
                party = employer = self._party_named(data["company"], None)
                values["party"] = party
            else:
                employer = self._party_named(data["company"], party)
        elif party != (row["party"] if row else None) and (not person or employer is None):
            employer = party  # a new account: the person works for it
        if employer != party and person is None and not any(data.get(f) for f in _PERSON_FIELDS):
            raise Unsupported(
                "a Tryton lead has one party, its account; a company named otherwise is "
                "kept as its person's employer, and this lead has no person"
            )
        if person is None and any(f in data for f in _PERSON_FIELDS):
            values["contact"] = self._new_person(data, employer)
        elif person is not None and self._change_person(person, data, employer):
            values["contact"] = self._reach(person["id"])  # its e-mail may have gone
        return values

    def prospect_clause(self, field: str, value: Any) -> list[Any]:
        """A domain on sale.opportunity for one prospect field (names are refined after)."""
        if field in ("email", "phone"):
            return [
                "contact.party.contact_mechanisms",
                "where",
                [["type", "=", field], ["value", "=", value]],
            ]
        if field == "company":
            employer = [["type.name", "=", WORKS_FOR], ["to.name", "=", value]]
            return [
                "OR",
                ["party.name", "=", value],
                ["contact.party.relations", "where", employer],
            ]
        escaped = str(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return ["contact.party.name", "ilike", f"%{escaped}%"]

    @staticmethod
    def prospect_fields(row: dict[str, Any]) -> dict[str, Any]:
        """The canonical prospect fields of a lead row read with PROSPECT_READ."""
        holder = (row.get("contact.") or {}).get("party.") or {}
        mechanisms: dict[str, str] = {}
        for mechanism in holder.get("contact_mechanisms.", []):
            mechanisms.setdefault(mechanism["type"], mechanism["value"])
        person = _person_of(row)
        first, last = _split_name(person["name"] if person else None)
        company = (row.get("party.") or {}).get("name")
        for relation in person.get("relations.", []) if person else []:
            if (relation.get("type.") or {}).get("name") == WORKS_FOR:
                company = (relation.get("to.") or {}).get("name")
                break
        return {
            "first_name": first,
            "last_name": last,
            "company": company,
            "email": mechanisms.get("email"),
            "phone": mechanisms.get("phone"),
        }

    # -- shared ----------------------------------------------------------------------

    def _party_named(self, company: str, party: int | None) -> int:
        """The lead's party if it is named `company`, else a new party of that name."""
        if (
            party is not None
            and self.read_one(PARTY, party, ["name"], "account")["name"] == company
        ):
            return party
        return self.new_party("account", {"name": company})

    def _new_person(self, data: dict[str, Any], employer: int | None) -> int:
        """Create the lead's person; the id of the mechanism the lead's contact is."""
        name = _join_name(data.get("first_name"), data.get("last_name"))
        mechanisms = {f: data[f] for f in ("email", "phone") if data.get(f)}
        if not mechanisms:
            raise Unsupported(_NO_PERSON)
        person_id = self.new_party("contact", {"name": name, **mechanisms, "account": employer})
        return self._reach(person_id)

    def _change_person(
        self, person: dict[str, Any], data: dict[str, Any], employer: int | None
    ) -> bool:
        """Change the lead's person; whether their e-mail or phone changed."""
        old_first, old_last = _split_name(person["name"])
        name = _join_name(data.get("first_name", old_first), data.get("last_name", old_last))
        values: dict[str, Any] = {}
        if name != person["name"]:
            values["name"] = name
        mechanisms = {f: data[f] for f in ("email", "phone") if f in data}
        current = self.search_read(
            "party.contact_mechanism", [["party", "=", person["id"]]], ["type"]
        )
        actions = self._mechanism_actions(current, mechanisms)
        if actions:
            left = {m["type"] for m in current if m["type"] not in mechanisms}
            left |= {f for f, v in mechanisms.items() if v}
            if not left & {"email", "phone"}:
                raise Unsupported(_NO_PERSON)
            values["contact_mechanisms"] = actions
        if values:
            self.call(PARTY, "write", [person["id"]], values)
        if employer != _employer_of(person):
            self._set_employer(person["id"], employer)
        return bool(actions)

    def _reach(self, person_id: int) -> int:
        """The person's e-mail (or else phone) mechanism: how Tryton's lead reaches them."""
        rows = self.search_read(
            "party.contact_mechanism",
            [["party", "=", person_id], ["type", "in", ["email", "phone"]]],
            ["type"],
            order=[("id", "ASC")],
        )
        emails = [r for r in rows if r["type"] == "email"]
        return int((emails or rows)[0]["id"])


def _person_of(row: dict[str, Any]) -> dict[str, Any] | None:
    """The lead's person: the party of its contact, when that is not the lead's party."""
    holder = (row.get("contact.") or {}).get("party.")
    if not holder or holder["id"] == row.get("party"):
        return None
    return holder


def _employer_of(person: dict[str, Any]) -> int | None:
    for relation in person.get("relations.", []):
        if (relation.get("type.") or {}).get("name") == WORKS_FOR:
            return int((relation.get("to.") or {})["id"])
    return None


def _join_name(first: str | None, last: str | None) -> str | None:
    if first and not last:
        raise Unsupported(
            "Tryton keeps one name per party: a given name without a family name "
            "could not be read back as a given name"
        )
    return f"{last}{_SEPARATOR}{first}" if first else (last or None)


def _split_name(name: str | None) -> tuple[str | None, str | None]:
    """'Last, First' -> (first, last); a name without a comma is a family name."""
    if not name:
        return None, None
    last, sep, first = name.rpartition(_SEPARATOR)
    return (first, last) if sep else (None, name)


def prospect_matches(record: dict[str, Any], where: dict[str, Any]) -> bool:
    """Whether a lead's name fields equal those asked for (the domain only narrows)."""
    return all(record.get(f) == where[f] for f in _REFINED if f in where)
