"""Driving DjangoCRM's pages: a Django admin site, read and written like a user would.

Everything the adapter does goes through these helpers, so the patterns of the Django
admin live in one place: a change form saved with "Save and continue editing" lands on
`/<model>/<id>/change/` (that is how a new record's id is learnt), validation errors show
as `.errornote` / `.errorlist`, a record the user may not see redirects away with a
"doesn't exist" message, and lists are `#result_list` tables searched with `?q=`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode, urlparse

from playwright.sync_api import Error as PlaywrightError

from crmproof.adapter import Refused, VendorError
from crmproof.browser import BrowserAdapter
from crmproof.protocol import Operation

CRM_PREFIX = "/en/123/"
LOGIN_PATH = "/en/123/789-login/"
# Lists that take `?company=<id>` (DjangoCRM's own "counterparty" links use it).
COMPANY_FILTERED = ("crm/contact", "crm/deal", "crm/request")
# At most this many hits of a search are opened and returned.
MAX_HITS = 25
PERSON_NAME_KEYS = ("name", "first_name", "last_name")


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
        status, landed = self._load(url)
        if self.restored and self.exists("form#login-form") and self.log_in_again():
            with self.uncounted():  # the restored session was refused: the harness's retry
                status, landed = self._load(url)
        if status in (403, 404):
            kind = "forbidden" if status == 403 else "not_found"
            raise Refused(f"DjangoCRM answered {status} for {path}", kind)
        if status >= 500:
            raise VendorError(f"DjangoCRM answered {status} for {path}")
        if urlparse(landed).path != urlparse(url).path:
            said = "; ".join(self.messages()) or f"redirected to {landed}"
            raise Refused(said, "not_found")  # Django admin's answer to a record one may not see
        if self.exists("form#login-form"):
            raise Refused(f"DjangoCRM asks {self.actor} to log in again for {path}", "forbidden")

    def _load(self, url: str) -> tuple[int, str]:
        """Open `url`, drawn, or fetched and parsed inside `quietly`: its status, and the
        address it landed on after redirects."""
        if self._looked is not None:
            self._looked.pop(self.page, None)  # what is looked at next is another page
        if not self._quiet:
            response = self.goto(url)
            return (response.status if response is not None else 0), self.page.url
        try:
            response = self.context.request.get(url, timeout=self.timeout_ms)
            try:
                status, landed, html = response.status, response.url, response.text()
            finally:
                response.dispose()
            if self.page.url != "about:blank":  # a log-in again drew pages on the reader
                self.page.goto("about:blank")  # on a blank page, no style or script loads
            self.page.set_content(html, wait_until="domcontentloaded")
        except PlaywrightError as exc:
            raise self._load_failure(url, exc) from None
        return status, landed

    # -- reading without drawing ---------------------------------------------------------

    _reader: Any = None  # the page of quiet reads, in the scenario's browser context

    @property
    def _quiet(self) -> bool:
        """Inside `quietly`: the page at hand is the reader."""
        return self._reader is not None and self.page is self._reader

    @contextlib.contextmanager
    def quietly(self) -> Iterator[None]:
        """Pages opened inside are fetched in the actor's session and parsed into a page
        of their own, never drawn: for the reads no user makes (the runner's read-back of
        a write, the adapter's bookkeeping), which count no effort.

        The Django admin draws its forms on the server, so the fetched page holds what the
        drawn one shows, for the readers below unchanged. Drawing it (styles, scripts,
        layout, paint) is most of what a read costs: a quiet read of a company costs all
        processes, the server's included, about half the CPU of a drawn one
        (bench/quiet_reads.py). The drawn page stays where it was, so a flow that looks
        something up carries on from it.
        Offline, a read is drawn, so that it fails as the user's would.
        """
        if self.offline_now or self._quiet:
            with self.uncounted():
                yield
            return
        if self._reader is None or self._reader.is_closed():
            self._reader = self.context.new_page()
        drawn, self.page = self.page, self._reader
        try:
            with self.uncounted():
                yield
        finally:
            self.page = drawn

    @contextlib.contextmanager
    def reading(self, op: Operation, path: str) -> Iterator[None]:
        """Be on `path`, the record's page, for a `get` to read it.

        A user's `get` is drawn. The runner's read-back of a write (`Operation.readback`)
        reads the page the save landed on, when it is this record's and untouched: the
        server drew it from the saved record, on the GET its redirect asked for after the
        save (`_landed_fresh`). Otherwise the read-back fetches the page quietly.
        """
        if not op.readback:
            self.open_page(path)
            yield
        elif self._landed_fresh(path):
            with self.uncounted():
                yield
        else:
            with self.quietly():
                self.open_page(path)
                yield

    # The last save's landing: the page's address and its document's time origin, which
    # no other document shares, so a later navigation (or one back to it) tells apart.
    _landed: tuple[str, float] | None = None

    def _note_landing(self, response: Any) -> None:
        """Remember the page a save's redirect led to, if it is one: Django admin answers a
        saved form with a redirect, and the GET after it reads the record from the database.
        A form drawn again (errors) or a POST answered with a page is not one."""
        request = getattr(response, "request", None)
        before = getattr(request, "redirected_from", None)
        if request is not None and request.method == "GET" and before is not None:
            self._landed = (self.page.url, self.page.evaluate("performance.timeOrigin"))
        else:
            self._landed = None

    def _landed_fresh(self, path: str) -> bool:
        """This page is the last save's landing at `path`, and its form is as the server
        drew it: no field typed into or chosen since, by a user or a script."""
        if self._landed is None or self.offline_now or self._quiet:
            return False
        url, origin = self._landed
        if urlparse(url).path != urlparse(self.crm_url(path)).path or self.page.url != url:
            return False
        now, pristine = self.page.evaluate(PRISTINE)
        return bool(now == origin and pristine)

    def reopen(self, path: str) -> None:
        """Be on `path` again after a save, to read the result: the adapter's own
        bookkeeping when the save landed elsewhere, so not the user's effort."""
        if urlparse(self.page.url).path != urlparse(self.crm_url(path)).path:
            with self.uncounted():
                self.open_page(path)

    def submit(self, button: str = "_continue") -> None:
        """Press a form's submit button by name; a form error becomes a refusal."""
        selector = f"input[type=submit][name='{button}']"
        if not self.exists(selector):
            raise Refused(f"DjangoCRM offers {self.actor} no {button.strip('_')} button here")
        self._landed = None
        response = self.click(selector, navigates=True)
        self.raise_server_error(response)
        self.raise_form_errors(response)
        self._note_landing(response)

    def raise_server_error(self, response: Any) -> None:
        """A 5xx page (a locked SQLite database, a crash) is the vendor breaking."""
        if response is not None and response.status >= 500:
            title = " ".join(self.page.title().split())
            raise VendorError(f"DjangoCRM answered {response.status}: {title}")

    def raise_form_errors(self, response: Any) -> None:
        """The form came back with errors (a required field, a business rule), or the
        admin answered 403 (PermissionDenied): refused.

        Forbidden is the response's status, never the page's title: a title carries the
        record's own name, and a run's marker such as `cp2b1403d8ae` once made a saved
        lead a refusal."""
        if response is not None and response.status == 403:
            title = " ".join(self.page.title().split())
            raise Refused(f"DjangoCRM forbids this (403): {title}", "forbidden")
        errors = self.page.eval_on_selector_all(
            ".errornote, .errorlist li",
            "els => els.map(e => e.textContent.trim()).filter(Boolean)",
        )
        if errors:
            raise Refused("DjangoCRM rejected the form: " + " ".join(dict.fromkeys(errors)))

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

    # A user who may view a record but not change it (a manager, someone else's record)
    # gets the same page with every field read-only: text in a `div.readonly`, a linked
    # record as a link, a box as a yes/no icon. The readers below handle both forms, each
    # in one round trip to the page (FIELD below): an element handle and a call on it cost
    # Playwright's driver and Chromium about four times the CPU (bench/ui_calls.py).

    def value(self, field: str) -> str | None:
        """A text field's value, or a linked record's id; None when empty or absent."""
        found = self._field(field, "value")
        if "value" in found:
            return str(found["value"]).strip() or None
        shown = found["readonly"]
        if shown is None:
            return None
        return shown["id"] or shown["text"] or None

    def choice(self, field: str) -> str | None:
        """The label of a select's chosen option; None for the empty choice."""
        found = self._field(field, "choice")
        if "label" in found:
            label = found["label"]
        else:
            label = found["readonly"]["text"] if found["readonly"] else ""
        return None if not label or set(label) == {"-"} else label

    def checked(self, field: str) -> bool:
        found = self._field(field, "checked")
        if "checked" in found:
            return bool(found["checked"])
        return bool(found["readonly"] and found["readonly"]["yes"])

    # What FORM saw of each page, inside `one_look`; None outside.
    _looked: dict[Any, dict[str, Any]] | None = None

    @contextlib.contextmanager
    def one_look(self) -> Iterator[None]:
        """Reads inside look at a page's form once (FORM), not once a field (FIELD): a
        record of ten fields is one round trip to the page instead of ten, and a traced
        run keeps two DOM snapshots for it instead of twenty (Playwright snapshots the page
        before and after every evaluation). Only for reads: a page loaded inside is
        looked at again, and nothing may be typed inside."""
        if self._looked is not None:
            yield
            return
        self._looked = {}
        try:
            yield
        finally:
            self._looked = None

    def _field(self, field: str, kind: str) -> dict[str, Any]:
        if self._looked is None:
            return dict(self.page.evaluate(FIELD, [field, kind]))
        form = self._looked.get(self.page)
        if form is None:
            form = self._looked[self.page] = self.page.evaluate(FORM)
        return _as_field(form, field, kind)

    # -- writing a change form -----------------------------------------------------------

    def put(self, field: str, value: Any) -> None:
        """Type a value into a text field, unless it already holds exactly that."""
        text = "" if value is None else str(value)
        found = self._field(field, "value")
        if "value" not in found:
            raise Refused(f"DjangoCRM shows {self.actor} no {field} field to change here")
        if (found["value"] or "") == text:
            return
        self.reveal(f"#id_{field}")
        self.fill(f"#id_{field}", text)

    def reveal(self, selector: str) -> None:
        """Open the collapsed fieldset ("Relations", ...) hiding a field: one click."""
        field = self.page.locator(selector).first
        if field.is_visible() or not field.count():
            return
        handle = field.element_handle()
        summary = handle.evaluate_handle(
            "e => { const d = e.closest('details'); return d ? d.querySelector('summary') : null }"
        ).as_element()
        if summary is not None:
            self.click_element(summary)

    def choose(self, field: str, label: str) -> None:
        """Pick an option of a select by its visible label (case-insensitive)."""
        shown = self.page.evaluate(
            """name => {
                 const s = document.querySelector(`select#id_${name}`);
                 const options = s && Array.from(s.options, o => [o.value, o.text.trim()]);
                 return s && {value: s.value, options};
               }""",
            field,
        )
        if shown is None:
            raise Refused(f"DjangoCRM shows {self.actor} no {field} choice to change here")
        options = shown["options"]
        for value, text in options:
            if text.lower() == str(label).strip().lower():
                if shown["value"] != value:
                    self.select(f"select#id_{field}", value=value)
                return
        offered = [t for v, t in options if v]
        listed = ", ".join(offered[:8]) + (
            f" and {len(offered) - 8} more" if len(offered) > 8 else ""
        )
        raise Refused(f"DjangoCRM has no {field} {label!r} here (it offers: {listed})")

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

    # -- generic record operations -------------------------------------------------------

    def _delete_record(self, model_path: str, record_id: str, cleanup: bool) -> dict[str, Any]:
        """Delete through the admin's confirmation page ("Yes, I'm sure")."""
        if cleanup:
            return self._clean_up(model_path, record_id)
        self.open_page(f"{model_path}/{record_id}/delete/")
        response = self.click("#content form input[type=submit]", navigates=True)
        self.raise_server_error(response)
        self.raise_form_errors(response)
        if "/delete/" in self.page.url:
            title = " ".join(self.page.title().split())
            said = "; ".join(self.messages()) or f"still on {title!r}"
            raise Refused(f"DjangoCRM did not delete {model_path} {record_id}: {said}")
        return {"id": record_id}

    def _clean_up(self, model_path: str, record_id: str, again: bool = True) -> dict[str, Any]:
        """The runner's cleanup: the confirmation form's POST, in this page's session,
        without drawing the two pages a user would see.

        Cleanup is the harness's bookkeeping, never a verdict or effort, and every record a
        scenario makes is deleted: drawing both pages cost Chromium and the server about a
        fifth of a DjangoCRM run. The admin answers a delete with a redirect: to the list
        once deleted, to its index when the record is not there (a cascade took it; a
        superuser's cleanup asks in every department, `department=all`, which the
        middleware reads on any request, so "not there" means gone); to the log-in page
        when the session ended. A form drawn again did not delete, and says why.
        """
        url = self.crm_url(f"{model_path}/{record_id}/delete/", department="all")
        token = next(
            (c["value"] for c in self.context.cookies(url) if c["name"] == "csrftoken"), ""
        )
        response = self.context.request.post(
            url, form={"csrfmiddlewaretoken": token, "post": "yes"}, max_redirects=0
        )
        try:
            status, location = response.status, response.headers.get("location", "")
            page = "" if status in (301, 302) else response.text()
        finally:
            response.dispose()
        if status in (301, 302):
            if LOGIN_PATH not in location:
                return {"id": record_id}
            if again and self.log_in_again():
                return self._clean_up(model_path, record_id, again=False)
            raise VendorError(f"DjangoCRM asks {self.actor} to log in again to delete")
        if status >= 500:
            raise VendorError(f"DjangoCRM answered {status} deleting {model_path} {record_id}")
        title = re.search(r"<title>(.*?)</title>", page, re.S)
        said = " ".join(title.group(1).split()) if title else f"it answered {status}"
        kind = "forbidden" if status == 403 else "rule"
        raise Refused(f"DjangoCRM did not delete {model_path} {record_id}: {said}", kind)

    def _find_records(
        self,
        model_path: str,
        where: dict[str, Any],
        read: Callable[[str], dict[str, Any] | None],
        text: tuple[str, ...] = (),
        **query: Any,
    ) -> list[dict[str, Any]]:
        """Search the list page, open each hit and keep the records matching `where`.

        The search box (`?q=`) gets the first `where` value among the `text` fields (in
        that order: the most telling first; see `search_words`); an `account`
        becomes the lists' own `?company=<id>` filter; the owner filter is set to "All"
        (a manager's lists otherwise show only their own records). Every hit is opened,
        as a user checking the details would, and compared field by field.
        """
        query.setdefault("owner", "all")  # a manager's lists default to their own records
        key = next((k for k in text if where.get(k) not in (None, "")), None)
        if key is not None:
            query["q"] = search_words(key, str(where[key]))
        if where.get("account") and model_path in COMPANY_FILTERED:
            query["company"] = where["account"]
        rows = self.list_rows(model_path, **query)
        found = []
        for row in rows[:MAX_HITS]:
            try:
                self.open_page(f"{model_path}/{row['id']}/change/")
            except Refused:
                continue  # listed but not viewable: not something this user can find
            record = read(row["id"])
            if record is not None and matches(record, where):
                found.append(record)
        return found

    def link_in_messages(self, model_path: str) -> str | None:
        """The id of the first `model_path` record linked from the page's messages."""
        hrefs = self.page.eval_on_selector_all(
            "ul.messagelist a", "els => els.map(e => e.getAttribute('href'))"
        )
        for href in hrefs:
            match = re.search(rf"/{model_path}/(\d+)/change/", href or "")
            if match:
                return match.group(1)
        return None


# What a change form shows of a field, in one round trip: an editable input's value
# (Playwright's inputValue), a select's chosen label, a box's state; or, on a read-only
# form, the `div.readonly` text, the id of the record it links to, and a yes/no icon.
FIELD = r"""([name, kind]) => {
  const input = document.querySelector(kind === 'choice' ? `select#id_${name}` : `#id_${name}`);
  if (input && kind === 'choice')
    return {label: input.selectedIndex < 0 ? '' : input.options[input.selectedIndex].text.trim()};
  if (input && kind === 'checked') {
    if (!['checkbox', 'radio'].includes(input.type)) throw new Error(`#id_${name} is no box`);
    return {checked: input.checked};
  }
  if (input) {
    if (!['INPUT', 'TEXTAREA', 'SELECT'].includes(input.nodeName))
      throw new Error(`#id_${name} is not an <input>, <textarea> or <select> element`);
    return {value: input.value};
  }
  const box = document.querySelector(`.field-${name} div.readonly`);
  if (!box) return {readonly: null};
  const a = box.querySelector('a[href*="/change/"]');
  const m = a ? a.getAttribute('href').match(/\/(\d+)\/change\//) : null;
  const img = box.querySelector('img');
  return {readonly: {
    text: box.textContent.replace(/\s+/g, ' ').trim(),
    id: m ? m[1] : null,
    yes: !!img && /yes|true/i.test(img.getAttribute('alt') + img.src),
  }};
}"""


# FIELD for every field of the page at once: each element whose id is `id_<name>` (the
# first, as querySelector finds it) and each field's read-only box (`.field-<name>`).
FORM = r"""() => {
  const inputs = {}, readonly = {};
  for (const e of document.querySelectorAll('[id^="id_"]')) {
    const name = e.id.slice(3);
    if (name in inputs) continue;
    inputs[name] = {
      node: e.nodeName, type: e.type, value: e.value, checked: e.checked,
      label: e.nodeName !== 'SELECT' ? null
        : e.selectedIndex < 0 ? '' : e.options[e.selectedIndex].text.trim(),
    };
  }
  for (const box of document.querySelectorAll('div.readonly')) {
    const a = box.querySelector('a[href*="/change/"]');
    const m = a ? a.getAttribute('href').match(/\/(\d+)\/change\//) : null;
    const img = box.querySelector('img');
    const shown = {
      text: box.textContent.replace(/\s+/g, ' ').trim(),
      id: m ? m[1] : null,
      yes: !!img && /yes|true/i.test(img.getAttribute('alt') + img.src),
    };
    for (let row = box.parentElement; row; row = row.parentElement)
      for (const c of row.classList)
        if (c.startsWith('field-') && !(c.slice(6) in readonly)) readonly[c.slice(6)] = shown;
  }
  return {inputs, readonly};
}"""


def _as_field(form: dict[str, Any], name: str, kind: str) -> dict[str, Any]:
    """What FIELD answers for `name`, from what FORM saw of the whole page."""
    found = form["inputs"].get(name)
    if kind == "choice" and found is not None and found["node"] != "SELECT":
        found = None  # FIELD asks for `select#id_<name>`
    if found is None:
        return {"readonly": form["readonly"].get(name)}
    if kind == "choice":
        return {"label": found["label"]}
    if kind == "checked":
        if found["type"] not in ("checkbox", "radio"):
            raise VendorError(f"#id_{name} is no box")
        return {"checked": found["checked"]}
    if found["node"] not in ("INPUT", "TEXTAREA", "SELECT"):
        raise VendorError(f"#id_{name} is not an <input>, <textarea> or <select> element")
    return {"value": found["value"]}


# Whether the page's forms show what the server drew: every field's value, box and chosen
# option still its default (what the HTML said), so nothing was typed or chosen since; and
# the document's time origin, which tells this document from any other loaded since.
PRISTINE = r"""() => [
  performance.timeOrigin,
  [...document.querySelectorAll('input, textarea, select')].every(e =>
    e.nodeName === 'SELECT' ? [...e.options].every(o => o.selected === o.defaultSelected)
    : ['checkbox', 'radio'].includes(e.type) ? e.checked === e.defaultChecked
    : e.value === e.defaultValue),
]"""


def search_words(key: str, term: str) -> str:
    """What to type into the search box to find `term`, the value of field `key`.

    Django's admin search wants every word to match some searched field, and DjangoCRM
    files the inner words of a person's name as a middle name, which it does not search:
    so person names are searched by their outer words (the hits are checked in full).
    """
    words = term.split()
    if not words or key not in PERSON_NAME_KEYS:
        return term
    if key == "first_name":
        return words[0]
    if key == "last_name":
        return words[-1]
    return " ".join(dict.fromkeys([words[0], words[-1]]))


def matches(record: dict[str, Any], where: dict[str, Any]) -> bool:
    """Whether a canonical record has every `where` value (text case-insensitively)."""
    for key, wanted in where.items():
        have = record.get(key)
        if have is None:
            return False
        if isinstance(wanted, (int, float)) and not isinstance(wanted, bool):
            try:
                if float(have) != float(wanted):
                    return False
            except (TypeError, ValueError):
                return False
        elif str(have).strip().casefold() != str(wanted).strip().casefold():
            return False
    return True


def number(text: str | None) -> int | float | None:
    """A decimal from a form field as a number; whole values as int."""
    if text in (None, ""):
        return None
    value = float(str(text).replace(",", ""))
    return int(value) if value.is_integer() else value
