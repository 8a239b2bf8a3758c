"""Driving sao, Tryton's web client: a single-page app, read and written as a user would.

sao never loads a page after its first: it opens records in tabs, addressed by the URL
fragment `#<database>/model/<model>/<id>`, and talks to the server by JSON-RPC calls from
the page. So the adapter waits on sao's own signals, never on the clock:

- **its RPC calls:** a script in every page counts the JSON-RPC requests in flight, and
  `settle()` waits until none is;
- **the record id in the URL:** a saved form's fragment ends in the record's id;
- **its dialogs:** an error, a warning or a question opens a Bootstrap modal whose class
  says which (`warning-dialog`, `user-warning-dialog`, `confirmation-dialog`, ...).

Every field is an `input`/`select` named after the Tryton field inside the current tab,
and every button of a form is a `button` named after the model's button, so selectors are
`[name=...]` in the visible tab.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import quote

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from crmproof.adapter import Refused, VendorError
from crmproof.browser import BrowserAdapter

from .api import SESSION_RACE, refusal_kind

# Counts sao's JSON-RPC requests in flight (jQuery.ajax is XMLHttpRequest underneath).
# The bus (long polling for chat and notifications) is left out: it never settles.
RPC_PROBE = """
(() => {
  let pending = 0;
  const send = XMLHttpRequest.prototype.send;
  const open = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (method, url, ...rest) {
    this.__crmproofBus = String(url).includes('/bus');
    return open.call(this, method, url, ...rest);
  };
  XMLHttpRequest.prototype.send = function (...args) {
    if (!this.__crmproofBus) {
      pending += 1;
      this.addEventListener('loadend', () => { pending -= 1; });
    }
    return send.apply(this, args);
  };
  Object.defineProperty(window, '__crmproofPending', { get: () => pending });
})();
"""
# Keeps the Many2One that sao last looked a typed text up for. Between the Tab and its
# search dialog, sao blanks the field and may make no call for a while (views it has
# cached), so "blank with nothing in flight" does not mean the text was dropped: the
# widget's `_popup` (Sao.View.Form.Many2One.activate) says it is still looking.
WATCH_LINKS = """() => {
  const proto = Sao.View.Form.Many2One.prototype;
  if (proto.__crmproofWatched) return;
  const activate = proto.activate;
  proto.activate = function (...args) {
    window.__crmproofLinking = this;
    return activate.apply(this, args);
  };
  proto.__crmproofWatched = true;
}"""
# A dialog is on screen once Bootstrap has faded it in.
SHOWN_DIALOG = ".modal.in"
# The current tab: sao keeps every open tab in the DOM and shows one.
TAB = "#tabcontent > .tab-pane.active"
# What sao shows once a user is logged in: the user's menu in the navigation bar.
MAIN_READY = "#user-preferences > a"
# A linked record as a user picks it: what is typed, the code telling namesakes apart,
# and, where it differs from what is typed, what the field then shows.
Link = tuple[str, str | None] | tuple[str, str | None, str]
# The state the current tab's record shows (null for a model without one).
SHOWN_STATE = """() => {
  const record = Sao.Tab.tabs.get_current().screen.current_record;
  return record && record.model.fields.state ? record.field_get('state') : null;
}"""
# Dialogs that mean the server said no (a UserError, an access error).
REFUSAL_DIALOGS = (".warning-dialog", ".error-dialog", ".message-dialog")


class SaoUi(BrowserAdapter):
    """Page-level helpers shared by the tryton-web adapter's entity operations."""

    web_url = ""
    database = ""
    # (login, user id, key) of every session sao logged in: Tryton slows with each one
    # left open (TrytonClient.close)
    sao_sessions: set[tuple[str, str, str]]

    # -- lifecycle -----------------------------------------------------------------------

    def begin(self, scenario: str) -> None:
        super().begin(scenario)
        self.context.add_init_script(RPC_PROBE)

    # -- waiting on sao ------------------------------------------------------------------

    def settle(self) -> None:
        """Wait until sao has no JSON-RPC call in flight and no dialog fading in or out."""
        self.page.wait_for_function(
            """() => window.__crmproofPending === 0
                  && !document.querySelector('.modal.fade:not(.in)[style*="display: block"]')
                  && !document.querySelector('.modal-backdrop.fade:not(.in)')"""
        )

    def wait_screen(self, condition: str, arg: object = None) -> None:
        """Wait until sao's current tab's screen satisfies `condition` (JS, given `screen`
        and `arg`), then until its calls have settled: what sao itself shows is ready."""
        self.page.wait_for_function(
            f"""arg => {{
                 const tab = window.Sao && Sao.Tab.tabs.get_current();
                 const screen = tab && tab.screen;
                 if (!screen || !screen.current_view) return false;
                 return ({condition});
               }}""",
            arg=arg,
        )
        self.settle()

    def dialog_text(self) -> str | None:
        """The text of the dialog on screen, if any."""
        handle = self.page.query_selector(f"{SHOWN_DIALOG} .modal-content")
        if handle is None:
            return None
        return " ".join(handle.inner_text().split())

    def raise_refusal(self, what: str) -> None:
        """A warning or error dialog is the server refusing `what`: close it, say so."""
        self.settle()
        for kind in REFUSAL_DIALOGS:
            selector = f"{kind}{SHOWN_DIALOG}"
            if self.exists(selector):
                said = self.dialog_text() or "no reason given"
                # a warning dialog's heading is Tryton's message, its description below it
                message = self.page.evaluate(
                    "s => document.querySelector(s)?.innerText ?? null", f"{selector} .alert h4"
                )
                self.click(f"{selector} .modal-footer button")
                self.page.wait_for_selector(selector, state="detached")
                self.settle()
                if self.offline_now:
                    # sao keeps nothing to work from (no service worker, no IndexedDB in
                    # sao 8.0.11): every view is a call to the server, and none got there
                    raise Refused(f"sao cannot work offline: {what} needs the server ({said})")
                if SESSION_RACE.search(said):
                    # Tryton's session check read a session another client had just
                    # logged out (trytond/ir/session.py, Session.check). It runs before
                    # the method, which did not run: no refusal of the product.
                    raise VendorError(
                        f"Tryton's session check collided with another client's log-out "
                        f"while sao asked for {what}: {said}",
                        transient=True,
                    )
                # as the tryton adapter reads the same UserError
                raise Refused(f"Tryton refused {what}: {said}", refusal_kind(message or said))

    def confirm_warnings(self) -> None:
        """Answer "Yes" to user warnings (questions before an action), as a user would."""
        for _ in range(5):
            if not self.answer_warning():
                return
        raise VendorError("sao kept asking for confirmation")

    def answer_warning(self) -> bool:
        """Answer "Yes" to the user warning on screen, if one is: whether one was."""
        self.settle()
        selector = f".user-warning-dialog{SHOWN_DIALOG}"
        if not self.exists(selector):
            return False
        self.click(f"{selector} .modal-footer button.btn-primary")
        self.page.wait_for_selector(selector, state="detached")
        return True

    # -- logging in ----------------------------------------------------------------------

    def sign_in(self, user: str, password: str, who: str) -> None:
        """Open sao's login dialogs with a fresh storage and log `user` in."""
        with self.uncounted():  # leaving the old session is not the new user's work
            if self._need_page().url.startswith(self.web_url):
                # sao restores the last session from its storage as it loads, and then
                # shows no login at all: forget it while still on sao's origin.
                self.page.evaluate("() => { localStorage.clear(); sessionStorage.clear(); }")
            self.leave_sao()
            self.context.clear_cookies()
        page = self._need_page()
        self.goto(f"{self.web_url}#{quote(self.database)}")
        dialog = ".login-dialog" + SHOWN_DIALOG
        page.wait_for_selector(f"{dialog} input#login")
        self.fill(f"{dialog} input#login", user)
        self.click(f"{dialog} button[type=submit]")
        ask = ".ask-dialog" + SHOWN_DIALOG
        page.wait_for_selector(f"{ask} input[type=password]")
        self.fill(f"{ask} input[type=password]", password)
        self.click(f"{ask} .modal-footer button.btn-primary")
        page.wait_for_selector(
            f"{MAIN_READY}, {ask} input[type=password], .warning-dialog{SHOWN_DIALOG}, "
            f".error-dialog{SHOWN_DIALOG}"
        )
        if not self.exists(MAIN_READY):
            # the harness's own credentials: an error, never a verdict on the product
            said = self.dialog_text() or "no reason given"
            raise VendorError(f"Tryton refused the login of {who}: {said}")
        self.settle()
        # ended as the adapter closes (restored ones are the same sessions): sao keeps its
        # session in trytond's cookie, `login:user id:key` (protocols/wrappers.py)
        for cookie in self.context.cookies():
            if cookie["name"] == "tryton_session":
                user, user_id, key = cookie["value"].rsplit(":", 2)
                self.sao_sessions.add((user, user_id, key))

    def leave_sao(self) -> None:
        """Leave sao for a blank tab: a new tab, and sao's closed without its unload
        handler. On unload sao saves its menu's expanded rows with a synchronous call
        (window.onbeforeunload, then Screen.save_tree_state(true, false)): housekeeping of
        a session being left, not a step's work. Navigating away from sao, even with that
        handler cleared, timed out twice in CI after 60 s (a log-in, then a restored one),
        for no cause I found. A tab closed waits on nothing."""
        old = self._need_page()
        if not old.url.startswith(self.web_url):
            return
        self.page = self.context.new_page()
        old.close(run_before_unload=False)

    def restore_login(self, state: dict[str, Any]) -> bool:
        """Put back a kept session: its cookie, and sao's own record of who is logged in,
        which sao keeps in its origin's local storage (`sao_session_<database>`) and reads
        as it loads. Uncounted: the step is charged what the real log-in cost. False when
        sao asks for a log-in all the same (the server forgot the session)."""
        super().restore_login(state)
        origin = self.web_url.rstrip("/")
        items = [
            (item["name"], item["value"])
            for kept in state.get("origins", [])
            if kept.get("origin") == origin
            for item in kept.get("localStorage", [])
        ]
        blank = f"{self.web_url}__crmproof_restore__"
        with self.uncounted():
            self.leave_sao()
            page = self._need_page()
            # local storage is written from a page of its origin: an empty one, served
            # by the browser itself, before sao loads
            page.route(blank, lambda route: route.fulfill(content_type="text/html", body=""))
            try:
                page.goto(blank, wait_until="commit")
                page.evaluate(
                    """items => {
                         localStorage.clear();
                         sessionStorage.clear();  // the last user's context, in this tab
                         items.forEach(([k, v]) => localStorage.setItem(k, v));
                       }""",
                    items,
                )
            finally:
                page.unroute(blank)
            page.goto(f"{self.web_url}#{quote(self.database)}")
            page.wait_for_selector(f"{MAIN_READY}, .login-dialog{SHOWN_DIALOG}")
            if not self.exists(MAIN_READY):
                return False
            self.settle()
        return True

    # -- tabs and forms ------------------------------------------------------------------

    def open_model(self, model: str, record_id: int | str | None = None) -> None:
        """Open a list (or a record's form) in a tab, as from a menu entry or a bookmark.

        sao opens the address in a new tab without loading a page; it counts as one page.
        """
        path = f"{quote(self.database)}/model/{model}"
        if record_id is not None:
            path += f"/{record_id}"
        self.close_tabs()
        self.step.add_effort(pages=1)
        self.page.evaluate("hash => { window.location.hash = hash; }", path)
        # A record opens in its form, a model in its list; an error opens a dialog.
        # Offline, the list or form may draw from views sao has cached, and the dialog
        # for its failed calls comes a moment after they settle: wait for that dialog, or
        # a click meant for the form lands on it (a 60 s timeout in FLD-CONTACT-OFFLINE).
        self.page.wait_for_function(
            """([model, id, offline]) => {
                 if (document.querySelector('.modal.in')) return true;
                 if (offline) return false;
                 const tab = window.Sao && Sao.Tab.tabs.get_current();
                 const screen = tab && tab.screen;
                 if (!screen || screen.model_name !== model || !screen.current_view) return false;
                 if (id === null) return screen.current_view.view_type === 'tree';
                 return screen.current_view.view_type === 'form'
                   && !!screen.current_record && screen.current_record.id === id;
               }""",
            arg=[model, None if record_id is None else int(record_id), self.offline_now],
        )
        self.settle()
        self.raise_refusal(f"opening {model} {record_id or ''}".strip())

    def close_tabs(self) -> None:
        """Close every open tab: the adapter's housekeeping, so one tab is ever in view.

        A tab with unsaved changes asks whether to save them: no (a step that wanted them
        saved has saved them)."""
        count = "n => document.querySelectorAll('#tablist > li').length < n"
        asked = f".confirmation-dialog{SHOWN_DIALOG}"
        with self.uncounted():
            for _ in range(20):
                before = self.page.eval_on_selector_all("#tablist > li", "els => els.length")
                if not before:
                    return
                self.page.click("#tablist > li .close >> nth=0")
                self.page.wait_for_function(
                    f"n => ({count})(n) || !!document.querySelector('{asked}')", arg=before
                )
                if self.exists(asked):
                    self.page.click(f"{asked} .modal-footer button[title='No']")
                    self.page.wait_for_function(count, arg=before)
                self.settle()
            raise VendorError("sao would not close its tabs")

    def current_id(self) -> int | None:
        """The id of the record in the current form, read from the URL's fragment."""
        match = re.search(r"/model/[^/;]+/(\d+)", self.page.url)
        return int(match.group(1)) if match else None

    def dismiss_notices(self) -> None:
        """Close the notices sao lays over the toolbar ("The party ... has the same Email"),
        as a user must before reaching the buttons under them: one click each."""
        notice = f"{TAB} .infobar .alert .close:visible"
        for _ in range(10):
            if not self.exists(notice):
                return
            self.click(f"{notice} >> nth=0")
            self.settle()

    def toolbar(self, button: str) -> None:
        """Press a button of the current tab's toolbar (new_, save, delete_, switch_) and
        wait until its action is done or a dialog asks something. Its calls do not show
        that: a save first keeps the list's state, then writes, and between the two sao
        has no call in flight (a read-back in that gap found the sale's new line unsaved).
        sao's tab says so itself: `_action_running` (Sao.Tab.create_toolbar)."""
        self.dismiss_notices()
        self.click(f"{TAB} button#{button}")
        self.page.wait_for_function(
            """() => !Sao.Tab.tabs.get_current()._action_running
                     || !!document.querySelector('.modal.in')"""
        )
        self.settle()

    def new_record(self, model: str) -> None:
        """A new, empty form for `model`."""
        self.open_model(model)
        self.toolbar("new_")
        self.wait_screen(
            "screen.current_view.view_type === 'form' && !!screen.current_record"
            " && screen.current_record.id < 0"
        )

    def save(self, what: str) -> int:
        """Save the current form and return its record's id, from the URL."""
        self.toolbar("save")
        self.confirm_warnings()
        self.raise_refusal(f"saving the {what}")
        self.page.wait_for_function("() => /\\/model\\/[^/;]+\\/\\d+/.test(window.location.hash)")
        record_id = self.current_id()
        if record_id is None:
            raise VendorError(f"sao did not show the saved {what}'s id")
        return record_id

    def field(self, name: str, tag: str = "input", scope: str = TAB) -> str:
        """A field of the current tab's form, or of the form in a dialog (`scope`)."""
        return f"{scope} .form {tag}[name='{name}']:visible"

    def enter(self, selector: str, value: Any, focus: bool = False, guard: bool = False) -> bool:
        """Type `value` into a field, then leave it (Tab) so sao takes it; False when the
        field already holds it (a user types nothing). With `guard`, a field sao shows
        read-only is refused; without, it is awaited: a new row's dialog draws its fields
        read-only until the row's states arrive (a sale line's quantity)."""
        text = "" if value is None else str(value)
        self.refuse_hidden(selector)
        if (self.page.input_value(selector) or "") == text:
            return False
        if not guard:
            handle = self.page.query_selector(selector)
            self.page.wait_for_function("el => !el.readOnly && !el.disabled", arg=handle)
        name = guard and self.page.eval_on_selector(
            selector, "el => (el.readOnly || el.disabled) && el.name"
        )
        if name:
            raise self.read_only(name)
        number = self.page.query_selector(selector.replace(":visible", "") + "[type=number]")
        if focus and number is not None:
            # A number shows formatted in a text input and swaps in a number input once
            # clicked, focusing it a moment later: click, and type where sao put the cursor.
            self.click_until_focused(selector, number)
            self.page.keyboard.press("Control+A")
            self.page.keyboard.type(text)
            self.step.add_effort(fields=1, keystrokes=self.keys_for(text))
            self.page.keyboard.press("Tab")
            self.step.add_effort(keystrokes=1)
            self.settle()
            return True
        if focus:
            self.page.focus(selector)
        self.fill(selector, text)
        self.page.press(selector, "Tab")
        self.step.add_effort(keystrokes=1)
        self.settle()
        return True

    def await_cursor(self, dialog: str) -> None:
        """Wait until a dialog's form has put the cursor in its first field, as sao does
        once the dialog has faded in and drawn its record: a field clicked before that loses
        the cursor to it. A form with no field to take it is drawn after a few seconds."""
        with contextlib.suppress(PlaywrightTimeoutError):
            self.page.wait_for_function(
                """sel => { const el = document.activeElement;
                            return !!el && el.matches('input, select, textarea')
                              && !!el.closest(sel); }""",
                arg=dialog,
                timeout=5000,
            )

    def click_until_focused(self, selector: str, target: Any) -> None:
        """Click `selector` until `target` holds the cursor: a dialog that has just opened
        moves the cursor to its first field once its record is drawn (Sao.Window.Form on
        'shown.bs.modal', then set_cursor), which can take it from the field clicked a
        moment before; a user sees that and clicks again, and so does this."""
        for attempt in range(1, 4):
            self.click(selector)
            try:
                self.page.wait_for_function(
                    "el => document.activeElement === el", arg=target, timeout=3000
                )
                return
            except PlaywrightTimeoutError:
                if attempt == 3:
                    raise VendorError(f"sao kept the cursor away from {selector}") from None
                self.settle()

    def read_only(self, name: str) -> Refused:
        """Why sao draws field `name` read-only, as the refusal it is. Without write access
        to the model (Sao.common.MODELACCESS, the server's word for this user) the form is
        read-only: forbidden. Otherwise the model's states make it so (a converted
        opportunity's amount, trytond sale_opportunity's _states_stop): the same for every
        user, a rule of the product and no proof of privacy."""
        why = self.page.evaluate(
            """name => {
                 const screen = Sao.Tab.tabs.get_current().screen;
                 if (!Sao.common.MODELACCESS.get(screen.model_name).write) return 'access';
                 const record = screen.current_record;
                 const field = record && record.model.fields[name];
                 return field && field.description.readonly ? 'field' : 'state';
               }""",
            name,
        )
        if why == "access":
            return Refused(f"sao shows {name} read-only: {self.actor} may not write", "forbidden")
        if why == "field":
            return Refused(f"sao shows {name} read-only in every record of this form")
        return Refused(f"sao shows {name} read-only in this record's state, to any user")

    def refuse_hidden(self, selector: str) -> None:
        """A field the form has but sao hides by the model's `states` (an open opportunity's
        reason for loss) is one no user can fill there: a refusal, not a wait for it."""
        if self.exists(selector):
            return
        self.settle()  # states arrive with the record's values; judge once they have
        if self.exists(selector):
            return
        hidden = self.page.query_selector(selector.replace(":visible", ""))
        if hidden is not None:
            name = hidden.get_attribute("name")
            raise Refused(f"sao hides {name} here: {self.actor} cannot fill it in this state")

    def type_in(self, name: str, value: Any, scope: str = TAB) -> None:
        """A text, number or date field."""
        # A number shows formatted ("1,500.00") and swaps in a plain input when focused.
        self.enter(self.field(name, scope=scope), value, focus=True, guard=scope == TAB)

    def type_date(self, name: str, value: Any, scope: str = TAB) -> None:
        """A date, typed as its user sees dates: in the format of the session's language."""
        when = value if isinstance(value, date) else date.fromisoformat(str(value))
        shown = self.page.evaluate(
            "iso => moment(iso, 'YYYY-MM-DD').format("
            "Sao.common.date_format(Sao.Session.current_session.context.date_format))",
            when.isoformat(),
        )
        self.type_in(name, str(shown), scope)

    def write_text(self, name: str, value: Any, scope: str = TAB) -> None:
        """A multi-line text field (a description, a comment)."""
        self.enter(self.field(name, "textarea", scope), value)

    def pick(
        self,
        name: str,
        text: str,
        code: str | None = None,
        scope: str = TAB,
        shown: Callable[[str], bool] | None = None,
    ) -> None:
        """Choose a linked record (Many2One) by typing its name, as a user would, and take
        only the record of exactly that name: the one whose code is `code` when several
        share it (two channels of one run make namesakes on one server).

        sao looks the text up when the field is left: one match is taken at once, several
        open a search dialog, which lists each party's code beside its name. Its completion
        menu may open first (300 ms after typing), and then leaving the field does nothing:
        the adapter clicks the one suggestion of exactly that name, or, when there is no
        such single one, the menu's "Search..." for the dialog, as a user would.
        `shown` says which label is the record's, where sao names it other than as typed.
        """
        is_it = shown or (lambda label: label == text)
        selector = self.field(name, scope=scope)
        self.page.evaluate(WATCH_LINKS)
        if is_it(self.page.input_value(selector) or "") or not self.enter(selector, text):
            return
        search = f"{SHOWN_DIALOG}:has(.treeview):not(:has(.form))"
        state = self._link_state(selector, search)
        for _ in range(2):
            if state != "dropped":
                break
            # sao dropped the text with nothing in flight and nothing asked (a new row's
            # late defaults redrawing the field): the user sees it blank and types it again
            self.enter(selector, text)
            state = self._link_state(selector, search)
        if state == "menu":
            menu = f"{scope} .dropdown.open .dropdown-menu"
            items = self.page.query_selector_all(f"{menu} li.completion > a")
            exact = [i for i in items if is_it(" ".join(i.inner_text().split()))]
            if len(exact) == 1:
                self.click_element(exact[0])
            else:
                self.click(f"{menu} li.action-search > a")
            self.settle()
            state = self._link_state(selector, search)
        if state == "search":
            self._pick_in_search(search, name, text, code)
            state = self._link_state(selector, search)
        if state != "set" or not is_it(self.page.input_value(selector) or ""):
            have = self.page.input_value(selector)
            raise Refused(f"sao did not take {text!r} for {name} (it shows {have!r})")

    def pick_from_menu(self, name: str, text: str, scope: str = TAB) -> None:
        """A linked record whose name others contain ("Net 60 days" and "Net 60 days End
        of Month"): typed, then taken from sao's completion menu, as a user picks it.
        Leaving the field (`pick`) drops such a text in sao: it matches several."""
        selector = self.field(name, scope=scope)
        self.refuse_hidden(selector)
        if (self.page.input_value(selector) or "") == text:
            return
        self.fill(selector, text[:-1])
        self.page.type(selector, text[-1])  # a key up, which is what sao completes on
        self.step.add_effort(keystrokes=1)
        menu = f"{scope} .dropdown.open .dropdown-menu"
        self.page.wait_for_selector(menu)
        self.settle()
        items = self.page.query_selector_all(f"{menu} li.completion > a")
        labels = [" ".join(i.inner_text().split()) for i in items]
        if labels.count(text) != 1:
            raise Refused(f"sao offers no single {name} {text!r} (it offers {labels})")
        self.click_element(items[labels.index(text)])
        self.settle()
        if (self.page.input_value(selector) or "") != text:
            raise Refused(f"sao did not take {text!r} for {name}")

    def _pick_in_search(self, search: str, name: str, text: str, code: str | None) -> None:
        """In sao's search dialog, select the one row whose cells hold exactly `text` (and
        `code`, when given), then OK; no row, or several alike, is no choice to make."""
        # its rows are drawn after its search answers
        self.page.wait_for_selector(f"{search} .treeview tbody tr")
        self.settle()
        rows = self.page.query_selector_all(f"{search} .treeview tbody tr")
        cells = [
            {" ".join(c.inner_text().split()) for c in r.query_selector_all("td")} for r in rows
        ]
        named = [i for i, texts in enumerate(cells) if text in texts]
        if code is not None and len(named) != 1:
            # several of that name, or a record typed by what it is found by (a person by
            # their e-mail) and listed without it: the one of that code
            coded = [i for i, texts in enumerate(cells) if code in texts]
            named = [i for i in named if i in coded] if named else coded
        if len(named) != 1:
            self.click(f"{search} .modal-footer button")  # Cancel
            self.page.wait_for_selector(search, state="detached")
            self.settle()
            shown = [" ".join(r.inner_text().split()) for r in rows]
            if named:
                raise VendorError(
                    f"sao lists {len(named)} {name} records called {text!r}: "
                    f"the adapter cannot tell which is meant (it lists {shown})"
                )
            raise Refused(f"sao finds no {name} called {text!r} (it lists {shown})")
        self.click_element(rows[named[0]])
        self.click(f"{search} .modal-footer button.btn-primary")
        self.page.wait_for_selector(search, state="detached")
        self.settle()

    def _link_state(self, selector: str, search: str) -> str:
        """Wait until a Many2One field holds a record ("set": sao offers to open it), or
        asks which one (a "search" dialog, its completion "menu"); "empty" if it is gone,
        "dropped" if it shows blank with no call of sao's in flight."""
        handle = self.page.wait_for_function(
            """([sel, search]) => {
                 const input = document.querySelector(sel);
                 if (!input) return 'empty';
                 const group = input.closest('.input-group');
                 if (group && group.querySelector("button[title='Open the record']"))
                   return 'set';
                 if (document.querySelector(search)) return 'search';
                 const menu = input.closest('.dropdown');
                 if (menu && menu.classList.contains('open')) return 'menu';
                 const looking = window.__crmproofLinking;
                 if (input.value === '' && window.__crmproofPending === 0
                     && !(looking && looking._popup)
                     && !document.querySelector('.modal.fade:not(.in)[style*="display: block"]'))
                   return 'dropped';
                 return false;  // sao is still looking the text up (it may blank it a while)
               }""",
            arg=[selector.replace(":visible", ""), search],
        )
        self.settle()
        return str(handle.json_value())

    def choose(self, name: str, label: str, scope: str = TAB) -> None:
        """Pick an option of a selection field by its label."""
        selector = self.field(name, "select", scope)
        # A drop-down of records (a Many2One shown as a selection) fills its options by a
        # call of its own once drawn: wait for more than the blank option.
        self.page.wait_for_function(
            "sel => { const s = document.querySelector(sel);"
            " return !!s && Array.from(s.options).some(o => o.text.trim() !== ''); }",
            arg=selector.replace(":visible", ""),
        )
        options = self.page.eval_on_selector(
            selector, "s => Array.from(s.options).map(o => [o.value, o.text.trim()])"
        )
        for value, text in options:
            if text.casefold() == label.casefold():
                # A record's values arriving late (a wizard's defaults) redraw the field
                # blank after it was chosen: a user sees that and chooses again.
                for _ in range(3):
                    if self.page.input_value(selector) == value:
                        return
                    self.select(selector, value=value)
                    self.settle()
                raise VendorError(f"sao kept dropping the {name} chosen ({label!r})")
        offered = [text for _, text in options if text]
        raise Refused(f"sao offers no {name} {label!r} (it offers {offered})")

    def press(self, button: str, what: str) -> None:
        """Press a form button (a workflow step: quote, confirm, convert ...) and wait for
        its outcome as sao shows it: the record's new state, or a dialog (a refusal, a
        warning to answer, a wizard). Waiting on sao's calls alone is not enough: sao
        chains a button's calls (save, then the button, then the reload) through deferreds
        that run a tick apart, so no call is in flight between two of them."""
        selector = f"{TAB} .form button[name='{button}']"
        handle = self.page.query_selector(selector)
        if handle is None or not handle.is_visible() or not handle.is_enabled():
            raise Refused(f"sao offers {self.actor} no {button} button on this {what}")
        self.dismiss_notices()
        # a button may ask first (its `confirm` attribute in the view: "Are you sure you
        # want to post the invoices?"); sao opens the question a moment after the click
        confirm = self.page.evaluate(
            """name => {
                 const view = Sao.Tab.tabs.get_current().screen.current_view;
                 const button = (view.state_widgets || []).find(
                   w => w instanceof Sao.common.Button && w.attributes.name === name);
                 return !!(button && button.attributes.confirm);
               }""",
            button,
        )
        before = self.page.evaluate(SHOWN_STATE)
        self.click(selector)
        if confirm:
            # OK, as the user who pressed it; nothing is sent before
            asked = f".confirmation-dialog{SHOWN_DIALOG}"
            self.page.wait_for_selector(asked)
            self.settle()
            self.click(f"{asked} .modal-footer button.btn-primary")
            self.page.wait_for_selector(asked, state="detached")
            self.settle()
        for _ in range(5):
            if before is not None:
                self.wait_screen(
                    f"({SHOWN_STATE})() !== arg || !!document.querySelector('{SHOWN_DIALOG}')",
                    before,
                )
            if not self.answer_warning():
                break
        self.raise_refusal(f"{button} on the {what}")

    def menu(self, item: str) -> None:
        """Choose an entry of the tab's menu (the model's name, top left): Delete, ..."""
        self.dismiss_notices()
        self.click(f"{TAB} nav.toolbar .dropdown.navbar-left > a")
        self.click(f"{TAB} a#{item}")

    def _delete_current(self, what: str) -> None:
        """Delete the record in the form: the tab menu's Delete, then "Yes, I'm sure"."""
        self.menu("delete_")
        self.settle()
        confirm = f".confirmation-dialog{SHOWN_DIALOG}"
        self.page.wait_for_selector(confirm)
        self.click(f"{confirm} .modal-footer button.btn-primary")
        self.page.wait_for_selector(confirm, state="detached")
        self.settle()
        self.raise_refusal(f"deleting the {what}")

    # -- lists inside a form (One2Many, Many2Many) ----------------------------------------

    def subform(self, label: str) -> str:
        """The selector of the list field titled `label` in the current form."""
        index = self.page.evaluate(
            """([tab, label]) => {
                 const all = Array.from(document.querySelectorAll(
                   `${tab} .form-one2many, ${tab} .form-many2many`));
                 return all.findIndex(el => {
                   const s = el.querySelector('.form-one2many-string, .form-many2many-string');
                   return s && s.textContent.trim().replace(/:$/, '') === label;
                 });
               }""",
            [TAB, label],
        )
        if index < 0:
            raise Refused(f"sao shows {self.actor} no {label} list in this form")
        return f"{TAB} :is(.form-one2many, .form-many2many) >> nth={index}"

    def add_mechanism(self, kind: str, value: str) -> None:
        """A new row in the party's Contact Mechanisms: its type, then its value."""
        box = self.subform("Contact Mechanisms")
        self.click(f"{box} >> button[title='New']")
        row_type = f"{box} >> select[name='type']:visible"
        self.page.wait_for_selector(row_type)
        self.settle()  # the new row's defaults arrive after it is drawn
        options = self.page.eval_on_selector(
            row_type, "s => Array.from(s.options).map(o => [o.value, o.text.trim()])"
        )
        wanted = next((v for v, t in options if t.casefold() == kind.casefold()), None)
        if wanted is None:
            raise Refused(f"sao offers no contact mechanism type {kind!r}")
        self.select(row_type, value=wanted)
        self.page.press(row_type, "Tab")  # leaving a cell is what commits it in a row
        self.step.add_effort(keystrokes=1)
        self.settle()
        row_value = f"{box} >> input[name='value']:visible"
        self.fill(row_value, value)
        # Tab, not Enter: Enter in the last edited row opens yet another new row.
        self.page.press(row_value, "Tab")
        self.step.add_effort(keystrokes=1)
        self.settle()

    def change_mechanism(self, old: str, new: Any) -> None:
        """Edit (or clear) the contact mechanism row holding `old`."""
        box = self.subform("Contact Mechanisms")
        cell = f"{box} >> tbody tr:has-text({old!r}) >> td[data-title^='Value']"
        self.click(f"{cell} >> nth=0")
        self.settle()
        if new in (None, ""):
            self.click(f"{box} >> button[title='Delete']")
            self.settle()
            return
        row_value = f"{box} >> input[name='value']:visible"
        self.page.wait_for_selector(row_value)
        self.fill(row_value, str(new))
        self.page.press(row_value, "Tab")
        self.step.add_effort(keystrokes=1)
        self.settle()

    def show_page(self, title: str) -> None:
        """Bring a page of the form's notebook (its tabs: General, Relations ...) to view."""
        tab = f"{TAB} .form .nav-tabs a[role=tab]:text-is({title!r}) >> nth=0"
        if not self.exists(tab):
            raise Refused(f"sao shows {self.actor} no {title} page in this form")
        if self.page.eval_on_selector(tab, "a => a.parentElement.classList.contains('active')"):
            return
        self.click(tab)
        self.settle()

    def add_row(
        self,
        label: str,
        texts: dict[str, Any] | None = None,
        lines: dict[str, Any] | None = None,
        links: dict[str, Link] | None = None,
        choices: dict[str, str] | None = None,
    ) -> None:
        """A new row in the list titled `label` whose rows are edited in their own form:
        New opens it in a dialog; fill its fields (`texts` in inputs, `lines` in
        multi-line texts, `links` picked by (text, code[, shown]) as `pick` takes them,
        `choices` from a drop-down by label) and Add, as a user would. Links come before
        texts: picking a record fills fields from it (a sale line's price from its
        product), which the texts then override."""
        box = self.subform(label)
        self.click(f"{box} >> button[title='New']")
        dialog = f"{SHOWN_DIALOG}:has(.form)"
        self.page.wait_for_selector(f"{dialog} .modal-footer button#save")
        self.settle()  # the new row's defaults arrive after its form is drawn
        self.await_cursor(dialog)
        shown = {
            name: link[2] if len(link) > 2 else link[0] for name, link in (links or {}).items()
        }
        for _ in range(3):
            for name, text in (choices or {}).items():
                self.choose(name, text, scope=dialog)
            for name, link in (links or {}).items():
                label = shown[name]
                self.pick(name, link[0], link[1], dialog, lambda t, label=label: t == label)
            for name, value in (texts or {}).items():
                self.type_in(name, value, scope=dialog)
            for name, value in (lines or {}).items():
                self.write_text(name, value, scope=dialog)
            # A link sao dropped after it was taken (a late answer redrawing the new row) is
            # picked again, as a user sees it blank before Add; fields already right are
            # left alone.
            if all(
                self.page.input_value(self.field(name, scope=dialog)) == text
                for name, text in shown.items()
            ):
                break
        else:
            raise VendorError(f"sao kept dropping {sorted(shown)} in the new row of {label}")
        self.click(f"{dialog} .modal-footer button#save")
        self.page.wait_for_selector(dialog, state="detached")
        self.settle()
        self.raise_refusal(f"the new row of {label}")

    def remove_rows(self, label: str, held: int) -> None:
        """Remove every row of the list titled `label`, as a user would: tick the box in
        its header (every row), then its Delete. sao asks nothing (One2Many.delete_), strikes
        the rows through, and deletes them as the form is saved.

        `held` is how many rows the record has in the vendor. In CI once, the old rows
        were saved beside the new ones: the early return on no rows, or the last wait on
        an empty list, had passed before sao drew them. sao may draw a list's rows after
        the form's calls settle (Sao.View.Tree.display: a More row that an
        IntersectionObserver clicks once it scrolls into view). I have not caught it late
        here, even with the CPU throttled 20x. So wait for `held` rows, scrolling to More
        as a user would, then for as many struck through.
        """
        if held == 0:
            return
        box = self.subform(label)
        self.page.wait_for_function(
            """([tab, index, held]) => {
                 const box = document.querySelectorAll(
                   `${tab} :is(.form-one2many, .form-many2many)`)[index];
                 if (box.querySelectorAll('tbody td.selection-state input').length >= held)
                   return true;
                 const more = box.querySelector('tbody tr.more-row button');
                 if (more) more.scrollIntoView({block: 'nearest'});
                 return false;
               }""",
            arg=[TAB, int(box.rsplit("nth=", 1)[1]), held],
        )
        self.click(f"{box} >> thead th.selection-state input")
        delete = f"{box} >> button[title='Delete']"
        self.page.wait_for_selector(f"{delete}:not([disabled])")
        self.click(delete)
        self.settle()
        # at least `held` rows struck through: an empty list (redrawn) proves nothing
        self.page.wait_for_function(
            """([tab, index, held]) => {
                 const box = document.querySelectorAll(
                   `${tab} :is(.form-one2many, .form-many2many)`)[index];
                 const rows = Array.from(box.querySelectorAll('tbody tr'))
                   .filter(tr => tr.querySelector('td.selection-state'));
                 return rows.length >= held
                   && rows.every(tr => tr.style.textDecoration === 'line-through');
               }""",
            arg=[TAB, int(box.rsplit("nth=", 1)[1]), held],
        )

    def add_category(self, name: str) -> None:
        """Tag the party with a category: its name in Categories' entry, Tab opens sao's
        search of categories, pick the row of that name, OK."""
        box = self.subform("Categories")
        entry = f"{box} >> input:visible"
        self.fill(entry, name)
        self.page.press(entry, "Tab")  # Tab always searches; Enter may take a completion
        self.step.add_effort(keystrokes=1)
        search = f"{SHOWN_DIALOG}:has(.treeview)"
        self.page.wait_for_selector(f"{search} .treeview tbody tr")
        self.settle()
        rows = self.page.query_selector_all(f"{search} .treeview tbody tr")
        row = next((r for r in rows if name in r.inner_text().split("\n")), None)
        if row is None:
            shown = [" ".join(r.inner_text().split()) for r in rows]
            self.click(f"{search} .modal-footer button >> nth=0")
            raise Refused(f"sao finds no category {name!r} (it lists {shown})")
        self.click_element(row)
        self.click(f"{search} .modal-footer button.btn-primary")
        self.page.wait_for_selector(search, state="detached")
        self.settle()
        tagged = self.page.query_selector_all(f"{box} >> tbody tr")
        if not any(name in r.inner_text().split("\n") for r in tagged):
            raise VendorError(f"sao did not add the category {name!r}")

    # -- lists ---------------------------------------------------------------------------

    def search_list(self, model: str, text: str) -> list[int]:
        """Type `text` into a list's search box and return the ids of the rows it shows."""
        self.open_model(model)
        box = f"{TAB} .screen-container input.form-control.mousetrap[placeholder]:visible"
        self.fill(box, text)
        self.page.press(box, "Enter")
        self.step.add_effort(keystrokes=1)
        self.settle()
        # The rows show names; which records they are is in sao's own list state.
        return self.page.evaluate(
            "() => Sao.Tab.tabs.get_current().screen.group.map(r => r.id).filter(n => n > 0)"
        )
