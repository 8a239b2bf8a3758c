"""Activities of kind e-mail: DjangoCRM's e-mails in the CRM (`crm/crmemail/`).

DjangoCRM keeps e-mails as CRM records (`crm/models/crmemail.py` CrmEmail) linked under
"Relations" to a company, contact, lead, deal and request (a case is a request), so an
e-mail about a case is logged on it, as a user does from the e-mail form. Its `to` is
required: the adapter addresses it to the linked contact's e-mail, else the company's,
as a user writing to that customer would. An e-mail saved and not (yet) sent is in the
outbox: canonical `planned`; one sent, or received, is `done`. An e-mail becomes `done`
the way a user makes it so: the form's Send button (`crm/utils/send_email.py`), which needs
the sender's main e-mail account (the sandbox configures one per user).

E-mail ids are DjangoCRM's own with an `email-` prefix, so a task and an e-mail with the
same number are never confused.
"""

from __future__ import annotations

import re
from typing import Any

from crmproof.adapter import Refused, Unsupported, VendorError
from crmproof.protocol import Operation

from .ui import DjangoAdminUi

EMAIL = "crm/crmemail"
REQUEST = "crm/request"
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
        self._send_if_done(pk, op.data)
        return self._read_email(pk)

    def _get_email(self, op: Operation) -> dict[str, Any]:
        pk = email_pk(str(op.id))
        with self.reading(op, f"{EMAIL}/{pk}/change/"):
            return self._read_email(pk)

    def _update_email(self, op: Operation) -> dict[str, Any]:
        pk = email_pk(op.id)
        sent = self._mailbox(pk) == "sent"
        if sent and op.data.get("stage") == "planned":
            raise Refused("DjangoCRM cannot take back an e-mail it has sent", "rule")
        self.open_page(f"{EMAIL}/{pk}/change/")
        self._write_email(op.data)
        self.submit()
        if not sent:
            self._send_if_done(pk, op.data)
        return self._read_email(pk)

    def _delete_email(self, op: Operation) -> dict[str, Any]:
        result = self._delete_record(EMAIL, email_pk(op.id), op.cleanup)
        return {**result, "id": str(op.id)}

    def _find_emails(self, where: dict[str, Any]) -> list[dict[str, Any]]:
        """The e-mail list, searched by subject when one is asked, and filtered by the
        records it is filed on the way the request page's "View correspondence" link
        filters it (crm/templates/admin/crm/request/change_form_object_tools.html:19);
        each hit opened."""
        query: dict[str, Any] = {}
        if where.get("subject"):
            query["q"] = str(where["subject"])
        for canonical, field in RELATIONS.items():
            if where.get(canonical):
                query[f"{field}__id__exact"] = where[canonical]
        return self._find_records(EMAIL, where, self._read_email, **query)

    def _address_for(self, data: dict[str, Any]) -> str:
        """Whom the e-mail is to: the linked contact's address, else the company's; for an
        e-mail named only on a case, the request's own address, else its contact's or
        company's (crm/models/request.py:53, 120-127), where a user would look it up."""
        links = {canonical: data.get(canonical) for canonical in ("contact", "account")}
        with self.quietly():
            if data.get("case") and not any(links.values()):
                self.open_page(f"{REQUEST}/{data['case']}/change/")
                if self.value("email"):
                    return str(self.value("email"))
                links = {"contact": self.value("contact"), "account": self.value("company")}
            for canonical, path in (("contact", "crm/contact"), ("account", "crm/company")):
                if links[canonical]:
                    self.open_page(f"{path}/{links[canonical]}/change/")
                    address = self.value("email")
                    if address:
                        return str(address)
        raise Refused("a DjangoCRM e-mail needs a recipient: link a contact or account with one")

    def _write_email(self, data: dict[str, Any]) -> None:
        if "subject" in data:
            self.put("subject", data["subject"])
        if "description" in data or not self._content():
            self._set_content(str(data.get("description") or data.get("subject") or ""))
        for canonical, field in RELATIONS.items():
            if canonical in data:
                self.put(field, data[canonical] or "")

    def _send_if_done(self, pk: str, data: dict[str, Any]) -> None:
        """`done` is sent: press Send on the saved e-mail, as its writer does."""
        if data.get("stage") != "done":
            return
        self.submit("_send")
        said = self.page.eval_on_selector_all(
            ".messagelist .error", "els => els.map(e => e.textContent.trim())"
        )
        if said:
            raise Refused("DjangoCRM did not send the e-mail: " + " ".join(said), "rule")
        self.open_page(f"{EMAIL}/{pk}/change/")

    def _content(self) -> str:
        return str(self.page.eval_on_selector("#id_content", "e => e.value") or "")

    def _set_content(self, text: str) -> None:
        """The body: DjangoCRM's form edits it in a nicEdit box over the textarea."""
        if self.exists(".nicEdit-main"):
            self.fill(".nicEdit-main", text)
        else:
            self.put("content", text)

    def _read_email(self, pk: str) -> dict[str, Any]:
        with self.one_look():
            record: dict[str, Any] = {
                "id": PREFIX + pk,
                "kind": "email",
                "subject": self.value("subject"),
                "description": _plain(self._content()) or None,
            }
            for canonical, field in RELATIONS.items():
                record[canonical] = self.value(field)
            record["stage"] = "done" if self._mailbox(pk) in ("sent", "inbox") else "planned"
            return record

    def _mailbox(self, pk: str) -> str:
        """Where the e-mail list files it (its Box column): sent, inbox, outbox or trash.

        The form never shows the sent box (crm/site/crmemailadmin.py, get_fieldsets), so
        a user, like the adapter, sees it in the list.
        """
        with self.quietly():
            self.open_page(f"{EMAIL}/?id={pk}")
            boxes = self.page.eval_on_selector_all(
                "#result_list .field-box a", "els => els.map(a => a.title)"
            )
        if len(boxes) != 1:
            raise VendorError(f"the e-mail list shows {len(boxes)} rows for e-mail {pk}")
        return str(boxes[0])


def _plain(html: str) -> str:
    """The body's text (nicEdit keeps HTML)."""
    return re.sub(r"<[^>]+>", "", html).replace("&nbsp;", " ").strip()
