"""Accounts (companies), contacts and leads: the parties of DjangoCRM.

DjangoCRM keeps a person's name in three fields (first, middle, last) and splits any
name it is given itself, so a canonical `name` is typed whole and read back joined, and
a canonical `last_name` reads back as middle and last name together. A contact must belong
to a company (the form requires it). A lead converts by the "Convert" button, which makes
(or finds) a company and a contact and deletes the lead; getting from there to an
opportunity takes a request and its "Create deal" button, as for any deal.
"""

from __future__ import annotations

from typing import Any

from crmproof.adapter import Refused
from crmproof.protocol import Operation

from .mapping import COMPANY_TEXT, CONTACT_TEXT, LEAD_TEXT, join_name
from .ui import DjangoAdminUi

COMPANY = "crm/company"
CONTACT = "crm/contact"
LEAD = "crm/lead"


class PeopleOps(DjangoAdminUi):
    """create/get/update/delete/find for account, contact and lead; convert for lead."""

    # -- account = company ---------------------------------------------------------------

    def create_account(self, op: Operation) -> dict[str, Any]:
        self.open_page(f"{COMPANY}/add/")
        self._write_company(op.data)
        self.submit()
        return self._read_company(self.id_from_url(COMPANY))

    def get_account(self, op: Operation) -> dict[str, Any]:
        with self.reading(op, f"{COMPANY}/{op.id}/change/"):
            return self._read_company(str(op.id))

    def update_account(self, op: Operation) -> dict[str, Any]:
        self.open_page(f"{COMPANY}/{op.id}/change/")
        self._write_company(op.data)
        self.submit()
        return self._read_company(str(op.id))

    def delete_account(self, op: Operation) -> dict[str, Any]:
        return self._delete_record(COMPANY, str(op.id), op.cleanup)

    def find_account(self, op: Operation) -> list[dict[str, Any]]:
        return self._find_records(COMPANY, op.where, self._read_company, text=("email", "name"))

    def _write_company(self, data: dict[str, Any]) -> None:
        for canonical, field in COMPANY_TEXT.items():
            if canonical in data:
                self.put(field, data[canonical])
        if data.get("country"):
            self.choose("country", data["country"])

    def _read_company(self, id_: str) -> dict[str, Any]:
        with self.one_look():
            record = {"id": id_, **{c: self.value(f) for c, f in COMPANY_TEXT.items()}}
            record["country"] = self.choice("country")
            return record

    # -- contact -------------------------------------------------------------------------

    def create_contact(self, op: Operation) -> dict[str, Any]:
        self.open_page(f"{CONTACT}/add/")
        self._write_person(op.data, CONTACT_TEXT)
        self.submit()
        return self._read_contact(self.id_from_url(CONTACT))

    def get_contact(self, op: Operation) -> dict[str, Any]:
        with self.reading(op, f"{CONTACT}/{op.id}/change/"):
            return self._read_contact(str(op.id))

    def update_contact(self, op: Operation) -> dict[str, Any]:
        self.open_page(f"{CONTACT}/{op.id}/change/")
        self._write_person(op.data, CONTACT_TEXT)
        self.submit()
        return self._read_contact(str(op.id))

    def delete_contact(self, op: Operation) -> dict[str, Any]:
        """Deleting a contact also deletes its deals and payments (DjangoCRM cascades)."""
        return self._delete_record(CONTACT, str(op.id), op.cleanup)

    def find_contact(self, op: Operation) -> list[dict[str, Any]]:
        return self._find_records(
            CONTACT, op.where, self._read_contact, text=("email", "name", "last_name", "first_name")
        )

    def _write_person(self, data: dict[str, Any], fields: dict[str, str]) -> None:
        """Type a person's fields. A full `name` goes into the first-name box whole:
        DjangoCRM splits every name into first, middle and last itself when saving."""
        values = dict(data)
        if values.get("name") and not ({"first_name", "last_name"} & set(values)):
            values.update(first_name=values["name"], last_name="")
        if "last_name" in values and self.value("middle_name"):
            # the canonical last name is middle and last: a new one replaces both, or
            # DjangoCRM would fold the old middle back in. A new first name alone keeps them.
            self.put("middle_name", "")
        for canonical, field in fields.items():
            if canonical in values:
                self.put(field, values[canonical])
        if values.get("account"):
            self.put("company", values["account"])  # the company's raw id field

    def _read_person(self, id_: str, fields: dict[str, str]) -> dict[str, Any]:
        """A person as canonical fields: the middle name belongs with the family name."""
        with self.one_look():
            record = {"id": id_, **{c: self.value(f) for c, f in fields.items()}}
            middle = self.value("middle_name")
            record["last_name"] = join_name(middle, record["last_name"]) or None
            record["name"] = join_name(record["first_name"], record["last_name"])
            record["account"] = self.value("company")
            return record

    def _read_contact(self, id_: str) -> dict[str, Any]:
        return self._read_person(id_, CONTACT_TEXT)

    # -- lead ----------------------------------------------------------------------------

    def create_lead(self, op: Operation) -> dict[str, Any]:
        self.open_page(f"{LEAD}/add/")
        if op.data.get("source"):
            self._work_in_department(f"{LEAD}/add/")
        self._write_lead(op.data)
        self.submit()
        return self._read_lead(self.id_from_url(LEAD))

    def _work_in_department(self, form: str) -> None:
        """A superuser picks the department they work in before choosing its lead sources.

        Lead sources are per department, and DjangoCRM offers a superuser those of the
        department chosen in a list's "By department" filter (kept in the session;
        common/utils/usermiddleware.py set_user_department). Until one is chosen the
        source list is empty, so the superuser chooses theirs (settings `department`,
        default Global sales), as a user does, and comes back to the form.
        """
        if self.exists("select#id_lead_source option[value]:not([value=''])"):
            return
        options = self.page.eval_on_selector_all(
            "select#id_department option",
            "els => els.map(o => [o.value, o.textContent.trim()])",
        )
        wanted = str(self.settings.get("department") or "Global sales").lower()
        chosen = next((value for value, label in options if label.lower() == wanted), None)
        if chosen is None:
            return  # not a superuser's form: the form says what it lacks
        self.open_page(f"{LEAD}/", department=chosen)
        # The choice narrows every list and record this session shows to that department:
        # a later scenario must not inherit it (it would not see other departments' records)
        self.forget_session()
        self.open_page(form)

    def get_lead(self, op: Operation) -> dict[str, Any]:
        with self.reading(op, f"{LEAD}/{op.id}/change/"):
            return self._read_lead(str(op.id))

    def update_lead(self, op: Operation) -> dict[str, Any]:
        self.open_page(f"{LEAD}/{op.id}/change/")
        self._write_lead(op.data)
        self.submit()
        return self._read_lead(str(op.id))

    def advance_lead(self, op: Operation) -> dict[str, Any]:
        """DjangoCRM has one lead state besides new: disqualified (canonical `lost`)."""
        if op.to not in ("new", "lost"):
            raise Refused(
                f"a DjangoCRM lead is new or disqualified, never {op.to!r} (convert it instead)"
                if op.to == "converted"
                else f"a DjangoCRM lead is new or disqualified, never {op.to!r}"
            )
        self.open_page(f"{LEAD}/{op.id}/change/")
        self.check("#id_disqualified", op.to == "lost")
        self.submit()
        return self._read_lead(str(op.id))

    def delete_lead(self, op: Operation) -> dict[str, Any]:
        return self._delete_record(LEAD, str(op.id), op.cleanup)

    def find_lead(self, op: Operation) -> list[dict[str, Any]]:
        return self._find_records(
            LEAD,
            op.where,
            self._read_lead,
            text=("email", "name", "company", "last_name", "first_name"),
        )

    def _write_lead(self, data: dict[str, Any]) -> None:
        """A DjangoCRM lead is a person: the canonical lead's title (`name`) is kept in
        its description, and names the person too when no first or last name is given."""
        person = dict(data)
        if "name" in data:
            self.put("description", data["name"])
            if {"first_name", "last_name"} & set(data):
                del person["name"]
        self._write_person(person, LEAD_TEXT)
        if "source" in data:
            # A choice list per department (CRM > Lead Sources), on the lead form.
            self.choose("lead_source", data["source"] or "---------")
        if data.get("stage") == "lost":
            self.check("#id_disqualified", True)

    def _read_lead(self, id_: str) -> dict[str, Any]:
        with self.one_look():
            record = self._read_person(id_, LEAD_TEXT)
            record["name"] = self.value("description") or record["name"]
            record["source"] = self.choice("lead_source")
            record["stage"] = "lost" if self.checked("disqualified") else "new"
            return record

    def convert_lead(self, op: Operation) -> dict[str, Any]:
        """Convert: company and contact by the lead's "Convert" button, then a deal.

        The result's `id` is the new opportunity's; `account` and `contact` are what the
        conversion made or found. Only records it made are reported as created.
        """
        if (op.to or "opportunity") != "opportunity":
            raise Refused(f"a DjangoCRM lead converts to an opportunity, not {op.to!r}")
        self.open_page(f"{LEAD}/{op.id}/change/")
        lead = self._read_lead(str(op.id))
        before = self._contacts_like(lead)
        self.reopen(f"{LEAD}/{op.id}/change/")
        if not self.value("company_email") and lead.get("email"):
            # The form insists on a company e-mail to convert; the person's is what a
            # user would type when the lead gave no other.
            self.put("company_email", lead["email"])
        self.submit("_convert")
        company_created = self.link_in_messages(COMPANY)
        after = self._contacts_like(lead)
        new_contacts = [c for c in after if c not in before]
        contact_id = (new_contacts or after or [None])[0]
        if contact_id is None:
            raise Refused("; ".join(self.messages()) or "the conversion made no contact")
        with self.quietly():
            self.open_page(f"{CONTACT}/{contact_id}/change/")
            account_id = self.value("company")
        if company_created:
            self.step.created_record("account", company_created)
        if new_contacts:
            self.step.created_record("contact", contact_id)
        data = {
            "name": op.data.get("name") or lead.get("company") or lead["name"],
            "contact": contact_id,
            **{k: v for k, v in op.data.items() if k != "name"},
        }
        deal = self._create_deal(data)  # SalesOps, the adapter's other half
        return {**deal, "account": account_id, "contact": contact_id}

    def _contacts_like(self, lead: dict[str, Any]) -> list[str]:
        """Ids of contacts the lead may convert into (by e-mail, else by name)."""
        term = lead.get("email") or lead["name"]
        with self.quietly():
            rows = self.list_rows(CONTACT, q=term)
        return [r["id"] for r in rows]
