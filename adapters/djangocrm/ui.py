"""Driving DjangoCRM's pages: a Django admin site, read and written like a user would.

Everything the adapter does goes through these helpers, so the patterns of the Django
admin live in one place: a change form saved with "Save and continue editing" lands on
`/<model>/<id>/change/` (that is how a new record's id is learnt), validation errors show
as `.errornote` / `.errorlist`, a record the user may not see redirects away with a
"doesn't exist" message, and lists are `#result_list` tables searched with `?q=`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode, urlparse

from crmproof.adapter import Refused, VendorError
from crmproof.browser import BrowserAdapter

CRM_PREFIX = "/en/123/"
LOGIN_PATH = "/en/123/789-login/"

class DjangoAdminUi(BrowserAdapter):
    """Page-level helpers shared by the DjangoCRM adapter's entity operations."""

    base_url = ""

    # -- pages ---------------------------------------------------------------------------

    def crm_url(self, path: str, **query: Any) -> str:
        url = f"{self.base_url}{CRM_PREFIX}{path}"
        params = {k: v for k, v in query.items() if v is not None}
        return f"{url}?{urlencode(params)}" if params else url

    def open_page(self, path: str, **query: Any) -> None:
        """Load a CRM page; a redirect away, 403 or 404 means the user cannot see it."""
        url = self.crm_url(path, **query)
        response = self.goto(url)
        status = response.status if response is not None else 0
        if status in (403, 404):
            raise Refused(f"DjangoCRM answered {status} for {path}")
        if status >= 500:
            raise VendorError(f"DjangoCRM answered {status} for {path}")
        if urlparse(self.page.url).path != urlparse(url).path:
            said = "; ".join(self.messages()) or f"redirected to {self.page.url}"
            raise Refused(said)
        if self.page.query_selector("form#login-form"):
            raise Refused(f"DjangoCRM asks {self.actor} to log in again for {path}")

    def submit(self, button: str = "_continue") -> None:
        """Press a form's submit button by name; a form error becomes a refusal."""
        self.click(f"input[type=submit][name='{button}']", navigates=True)
        self.raise_form_errors()

    def raise_form_errors(self) -> None:
        errors = self.page.eval_on_selector_all(
            ".errornote, .errorlist li",
            "els => els.map(e => e.textContent.trim()).filter(Boolean)",
        )
        if errors:
            raise Refused("DjangoCRM rejected the form: " + " ".join(dict.fromkeys(errors)))
        title = self.page.title()
        if "403" in title or "Forbidden" in title:
            raise Refused(f"DjangoCRM forbids this: {title.strip()}")

    def messages(self) -> list[str]:
        return self.page.eval_on_selector_all(
            "ul.messagelist li", "els => els.map(e => e.textContent.trim())"
        )

    def id_from_url(self, model: str) -> str:
        """The record id in `/<model>/<id>/change/`, where a saved form lands."""
        match = re.search(rf"/{model}/(\d+)/change/", self.page.url)
        if not match:
            said = "; ".join(self.messages()) or self.page.url
            raise VendorError(f"DjangoCRM did not open the saved {model}: {said}")
        return match.group(1)

    # -- reading a change form -----------------------------------------------------------

    def value(self, field: str) -> str | None:
        """A text input's or textarea's value; None when empty or absent."""
        handle = self.page.query_selector(f"#id_{field}")
        if handle is None:
            return None
        text = handle.input_value().strip()
        return text or None

    def choice(self, field: str) -> str | None:
        """The label of a select's chosen option; None for the empty choice."""
        handle = self.page.query_selector(f"select#id_{field}")
        if handle is None:
            return None
        label = handle.evaluate(
            "s => s.selectedIndex < 0 ? '' : s.options[s.selectedIndex].text.trim()"
        )
        return None if not label or set(label) == {"-"} else label

    def checked(self, field: str) -> bool:
        handle = self.page.query_selector(f"#id_{field}")
        return bool(handle and handle.is_checked())

    # -- writing a change form -----------------------------------------------------------

    def put(self, field: str, value: Any) -> None:
        """Type a value into a text field, unless it already holds exactly that."""
        text = "" if value is None else str(value)
        if (self.page.input_value(f"#id_{field}") or "") == text:
            return
        self.fill(f"#id_{field}", text)

    def choose(self, field: str, label: str) -> None:
        """Pick an option of a select by its visible label (case-insensitive)."""
        options = self.page.eval_on_selector(
            f"select#id_{field}", "s => Array.from(s.options).map(o => [o.value, o.text.trim()])"
        )
        for value, text in options:
            if text.lower() == str(label).strip().lower():
                if self.page.input_value(f"select#id_{field}") != value:
                    self.select(f"select#id_{field}", value=value)
                return
        known = ", ".join(t for v, t in options if v)
        raise Refused(f"DjangoCRM has no {field} {label!r} here (it offers: {known})")

    # -- lists ---------------------------------------------------------------------------

    def list_rows(self, model_path: str, **query: Any) -> list[dict[str, str]]:
        """Open a list page and return its rows as {id, name}, first page only.

        The name is the row's link text without its Material icon ligatures ("business").
        """
        self.open_page(f"{model_path}/", **query)
        link = f"a[href*='{CRM_PREFIX}{model_path}/'][href*='/change/']"
        return self.page.eval_on_selector_all(
            "#result_list tbody tr",
            """(rows, link) => rows.map(r => {
                 const a = r.querySelector(link);
                 if (!a) return null;
                 const m = a.getAttribute('href').match(/\\/(\\d+)\\/change\\//);
                 const c = a.cloneNode(true);
                 c.querySelectorAll('i, .material-icons').forEach(i => i.remove());
                 return {id: m ? m[1] : '', name: c.textContent.replace(/\\s+/g, ' ').trim()};
               }).filter(Boolean)""",
            link,
        )
