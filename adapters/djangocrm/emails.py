"""Activities of kind e-mail: DjangoCRM's e-mails in the CRM (`crm/crmemail/`).

DjangoCRM keeps e-mails as CRM records (`crm/models/crmemail.py` CrmEmail) linked under
"Relations" to a company, contact, lead, deal and request (a case is a request), so an
e-mail about a case is logged on it, as a user does from the e-mail form. Its `to` is
required: the adapter addresses it to the linked contact's e-mail, else the company's,
as a user writing to that customer would. An e-mail saved and not (yet) sent is in the
outbox: canonical `planned`; one marked sent, or received, is `done`. DjangoCRM lets only
a superuser set the sent box by hand (`crm/site/crmemailadmin.py`, read-only fields).

E-mail ids are DjangoCRM's own with an `email-` prefix, so a task and an e-mail with the
same number are never confused.
"""

from __future__ import annotations

import re
from typing import Any

from crmproof.adapter import Refused, Unsupported
from crmproof.protocol import Operation

from .ui import DjangoAdminUi

EMAIL = "crm/crmemail"
PREFIX = "email-"
# canonical link -> the e-mail form's raw-id relation field
RELATIONS = {"account": "company", "contact": "contact", "opportunity": "deal", "case": "request"}
EMAIL_FIELDS = ("subject", "kind", "description", "stage", *RELATIONS)


def is_email_id(id_: str | None) -> bool:
    return bool(id_) and str(id_).startswith(PREFIX)


def email_pk(id_: str | None) -> str:
    return str(id_)[len(PREFIX) :]


class EmailOps(DjangoAdminUi):
    """create/get/update/delete/find/advance for activities of kind email."""

    def _create_email(self, op: Operation) -> dict[str, Any]:
        unknown = sorted(set(op.data) - set(EMAIL_FIELDS))
        if unknown:
            raise Unsupported(f"a DjangoCRM e-mail has no field for: {', '.join(unknown)}")
        to = self._address_for(op.data)
        self.open_page(f"{EMAIL}/add/")
        self.put("to", to)
        self._write_email(op.data)
        self.submit()
        pk = self.id_from_url(EMAIL)
        self.step.created_record("activity", PREFIX + pk)
        return self._read_email(pk)

    def _get_email(self, id_: str) -> dict[str, Any]:
        pk = email_pk(id_)
        self.open_page(f"{EMAIL}/{pk}/change/")
        return self._read_email(pk)

    def _update_email(self, op: Operation) -> dict[str, Any]:
        pk = email_pk(op.id)
        self.open_page(f"{EMAIL}/{pk}/change/")
        self._write_email(op.data)
        self.submit()
        return self._read_email(pk)

    def _delete_email(self, op: Operation) -> dict[str, Any]:
        result = self._delete_record(EMAIL, email_pk(op.id), op.cleanup)
        return {**result, "id": str(op.id)}

    def _find_emails(self, where: dict[str, Any]) -> list[dict[str, Any]]:
        """The e-mail list, searched by subject when one is asked; each hit opened."""
        query: dict[str, Any] = {}
        if where.get("subject"):
            query["q"] = str(where["subject"])
        return self._find_records(EMAIL, where, self._read_email, **query)

    def _address_for(self, data: dict[str, Any]) -> str:
        """Whom the e-mail is to: the linked contact's address, else the company's."""
        for canonical, path in (("contact", "crm/contact"), ("account", "crm/company")):
            if data.get(canonical):
                with self.uncounted():
                    self.open_page(f"{path}/{data[canonical]}/change/")
                    address = self.value("email")
                if address:
                    return address
        raise Refused("a DjangoCRM e-mail needs a recipient: link a contact or account with one")

    def _write_email(self, data: dict[str, Any]) -> None:
        if "subject" in data:
            self.put("subject", data["subject"])
        if "description" in data or not self._content():
            self._set_content(str(data.get("description") or data.get("subject") or ""))
        for canonical, field in RELATIONS.items():
            if canonical in data:
                self.put(field, data[canonical] or "")
        stage = data.get("stage")
        if stage is not None:
            if self.page.query_selector("#id_sent") is None:
                raise Refused(f"DjangoCRM lets {self.actor} not mark an e-mail sent by hand")
            self.check("#id_sent", stage == "done")

    def _content(self) -> str:
        return str(self.page.eval_on_selector("#id_content", "e => e.value") or "")

    def _set_content(self, text: str) -> None:
        """The body: DjangoCRM's form edits it in a nicEdit box over the textarea."""
        editor = self.page.query_selector(".nicEdit-main")
        if editor is not None:
            self.fill(".nicEdit-main", text)
        else:
            self.put("content", text)

    def _read_email(self, pk: str) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": PREFIX + pk,
            "kind": "email",
            "subject": self.value("subject"),
            "description": _plain(self._content()) or None,
        }
        for canonical, field in RELATIONS.items():
            record[canonical] = self.value(field)
        record["stage"] = "done" if self.checked("sent") or self.checked("incoming") else "planned"
        return record


def _plain(html: str) -> str:
    """The body's text (nicEdit keeps HTML)."""
    return re.sub(r"<[^>]+>", "", html).replace("&nbsp;", " ").strip()
