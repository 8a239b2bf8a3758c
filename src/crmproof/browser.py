"""The base of every browser adapter: one Chromium, one context per scenario, evidence.

A browser adapter proves a process through the vendor's real web UI, so what it adds to
`Adapter` is what that proof needs besides the result:

- **Isolation.** One browser per adapter (launched in `open`), a fresh context and page per
  scenario (`begin`), so cookies and logins never leak from one scenario into the next.
- **Evidence.** A Playwright trace per scenario, kept when the scenario did not pass (or
  always, with the setting `trace: always`); or, with `trace: on-first-retry`, no tracing
  (it costs a third of a browser vendor's time) except for a scenario the runner re-runs
  after a failure (`trace_next_scenario()`), whose trace is kept. A screenshot where a step
  did not go through and of a failed scenario's last page (`screenshots: on-failure`, the
  default), or after every step (`screenshots: every-step`).
- **Effort.** What the user had to do: pages loaded, clicks, keystrokes, fields filled.
  Playwright's `fill()` sends no key events, so nothing in the browser could count them;
  the helpers `goto`, `click`, `fill`, `select` and `check` count at the adapter's layer.
- **Logins.** Each actor logs in once per worker and run, for real, on the vendor's login
  page; the session (Playwright's storage state: cookies, and the local storage a
  single-page app keeps its session in) is then kept in memory and put into the worker's
  next scenario's fresh context instead of logging in again (`restore_login`). Workers
  never share a session: a server keeps per-session state (DjangoCRM its messages, so one
  worker's page would read what another's save said). A restored login still costs the
  step the effort the real one did, so effort counts do not depend on it; the session is
  never written anywhere.
- **Offline.** `offline` / `online` session operations toggle the context's network, and
  a page that cannot load while offline is a refusal by the product ("the UI cannot work
  offline"), not a broken run.

Playwright's sync API is bound to the thread that started it; the runner calls `open` ..
`close` of each adapter instance on one worker thread, and nothing here starts threads of
its own, and each adapter instance (one per worker) keeps its own logins.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from crmproof.adapter import Adapter, AdapterProblem, Refused, StepContext, Unsupported, VendorError
from crmproof.protocol import Channel, Effort, Evidence, Operation, Outcome

# Debian's Chromium: `playwright install` cannot download here. The second path is the
# real binary behind the first one's wrapper script, which prints noise on every start.
CHROMIUM_PATHS = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
# Playwright's own model since 1.49: a headless run uses chromium-headless-shell, a build
# without the full browser's UI layer, which renders the same pages for about half the CPU
# (DjangoCRM's PRM scenarios: Chromium's processes 101 s of CPU, 55 s with the shell; the
# same statuses and effort). Debian packages it as chromium-headless-shell.
HEADLESS_SHELL_PATHS = ("/usr/lib/chromium/chromium-headless-shell",)
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TRACE_POLICIES = ("on-failure", "always", "never", "on-first-retry")
SCREENSHOT_POLICIES = ("on-failure", "every-step")
SESSION_OPS = frozenset({"login", "offline", "online"})


_local = threading.local()


class LoginStore:
    """Logged-in sessions of one worker, per run, vendor and actor: Playwright's storage
    state and the effort the real log-in took. Kept in memory only, since the state holds
    secrets; locked, so a store handed to a thread stays whole."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[tuple[str, ...], tuple[dict[str, Any], Effort]] = {}

    def get(self, key: tuple[str, ...]) -> tuple[dict[str, Any], Effort] | None:
        with self._lock:
            return self._sessions.get(key)

    def put(self, key: tuple[str, ...], state: dict[str, Any], effort: Effort) -> None:
        with self._lock:
            self._sessions[key] = (state, effort)

    def forget(self, key: tuple[str, ...]) -> None:
        with self._lock:
            self._sessions.pop(key, None)


def _acquire_playwright() -> Any:
    """This thread's Playwright driver, started on first use.

    Playwright's sync API refuses a second `start()` in one thread, so adapters that share a
    thread (two browser vendors in tests, say) share one driver, counted by reference.
    """
    from playwright.sync_api import sync_playwright

    if getattr(_local, "users", 0) == 0:
        with _own_session():
            _local.playwright = sync_playwright().start()
        _local.users = 0
    _local.users += 1
    return _local.playwright


@contextlib.contextmanager
def _own_session() -> Iterator[None]:
    """Start Playwright's driver, and so Chromium, in a session of its own.

    A Ctrl-C at the terminal signals the whole foreground process group, and the driver
    answers it by killing Chromium mid-step: the running scenario's records could then not
    be deleted. In its own session the driver hears nothing; the runner stops the browser
    vendor at its next step like any other and closes the driver itself (which also exits
    when crmproof dies, as its stdin closes).
    """
    import asyncio

    spawn = asyncio.create_subprocess_exec

    async def in_new_session(*args: Any, **kwargs: Any) -> Any:
        return await spawn(*args, **{"start_new_session": True, **kwargs})

    asyncio.create_subprocess_exec = in_new_session
    try:
        yield
    finally:
        asyncio.create_subprocess_exec = spawn


def _release_playwright() -> None:
    _local.users = getattr(_local, "users", 1) - 1
    if _local.users <= 0:
        _local.users = 0
        driver, _local.playwright = getattr(_local, "playwright", None), None
        if driver is not None:
            with contextlib.suppress(Exception):  # stopping is best effort
                driver.stop()


def slug(text: str) -> str:
    """A file-name-safe version of a scenario id."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "scenario"


def find_chromium(explicit: str | None = None, *, headless: bool = True) -> str:
    """The Chromium executable to launch: the setting if given, else Debian's.

    Headless, the headless shell comes first; the full browser still runs a headless
    session, so a machine without the shell is slower, not broken.
    """
    if explicit:
        candidates = [explicit]
    else:
        candidates = list(HEADLESS_SHELL_PATHS if headless else ()) + list(CHROMIUM_PATHS)
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    raise VendorError(
        f"no Chromium at {', '.join(c for c in candidates if c)}: install Debian's "
        "(`apt-get install -y chromium chromium-headless-shell fonts-liberation`) or set "
        "`browser:` in the settings"
    )


class BrowserAdapter(Adapter):
    """Subclass it, implement `capabilities`, the `<op>_<entity>` methods and `switch_actor`.

    Settings read here: `browser` (Chromium path, or `{connect: ws://host:port/}` for a
    browser server elsewhere, optionally with `executable:`), `trace` (on-failure | always | never |
    on-first-retry), `screenshots` (on-failure | every-step), `timeout` (seconds per
    Playwright action, default 15), `headless` (default true), `reuse_logins` (default
    true: each actor logs in once per worker and run; false: in every scenario).
    """

    channel: ClassVar[Channel] = "browser"
    default_timeout: ClassVar[float] = 15.0

    def __init__(self) -> None:
        super().__init__()
        self.settings: dict[str, Any] = {}
        self.trace_policy = "on-failure"
        self.screenshot_policy = "on-failure"
        self.trace_next = False  # set by trace_next_scenario(): trace the next begin()
        self._tracing = False
        self._retrying = False
        self._playwright: Any = None
        self.browser: Any = None
        self.context: Any = None
        self.page: Any = None
        self.scenario: str | None = None
        self.actor: str | None = None  # who is logged in in the current context
        self.offline_now = False
        self._shots = 0
        self.reuse_logins = True
        self.logins = LoginStore()  # this worker's own: see the module docstring
        self.restored = False  # the current actor's session was restored, not logged in

    # -- lifecycle -----------------------------------------------------------------------

    def open(self, settings: Mapping[str, Any]) -> str | None:
        """Launch Chromium; a launch failure is a clear VendorError, never a hang."""
        self.settings = dict(settings)
        trace = str(self.settings.get("trace") or "on-failure")
        if trace not in TRACE_POLICIES:
            raise VendorError(f"trace: {trace!r} is not one of {', '.join(TRACE_POLICIES)}")
        self.trace_policy = trace
        shots = str(self.settings.get("screenshots") or "on-failure")
        if shots not in SCREENSHOT_POLICIES:
            raise VendorError(
                f"screenshots: {shots!r} is not one of {', '.join(SCREENSHOT_POLICIES)}"
            )
        self.screenshot_policy = shots
        self.reuse_logins = bool(self.settings.get("reuse_logins", True))
        self.launch_browser()
        return None

    def launch_browser(self) -> None:
        from playwright.sync_api import Error as PlaywrightError

        remote = self.settings.get("browser")
        if isinstance(remote, Mapping):
            self._connect_browser(remote)
            return
        headless = bool(self.settings.get("headless", True))
        executable = find_chromium(self.settings.get("browser"), headless=headless)
        try:
            self._playwright = _acquire_playwright()
        except PlaywrightError as exc:
            raise VendorError(f"Playwright could not start: {exc}") from None
        try:
            self.browser = self._playwright.chromium.launch(
                executable_path=executable,
                headless=headless,
                args=CHROMIUM_FLAGS,
                timeout=30_000,
            )
        except PlaywrightError as exc:
            self._stop_playwright()
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise VendorError(f"could not launch Chromium ({executable}): {first}") from None

    def _connect_browser(self, remote: Mapping[str, Any]) -> None:
        """A browser on another machine: `browser: {connect: ws://host:port/}`.

        Playwright's own `connect` to a browser server (`playwright run-server`, or any
        Playwright-compatible grid) launches the browser there. `executable:` asks the
        server for that Chromium and crmproof's flags; a server allows it only when
        started with `--unsafe` (otherwise it uses its own browsers).
        """
        from playwright.sync_api import Error as PlaywrightError

        endpoint = remote.get("connect")
        if not isinstance(endpoint, str) or not endpoint.startswith(("ws://", "wss://")):
            raise VendorError(
                f"browser: {{connect: {endpoint!r}}}: give the browser server's address, "
                "such as ws://127.0.0.1:3000/"
            )
        options: dict[str, Any] = {"headless": bool(self.settings.get("headless", True))}
        if remote.get("executable"):
            options.update(executablePath=str(remote["executable"]), args=CHROMIUM_FLAGS)
        try:
            self._playwright = _acquire_playwright()
            self.browser = self._playwright.chromium.connect(
                endpoint,
                timeout=30_000,
                headers={"x-playwright-launch-options": json.dumps(options)},
            )
        except PlaywrightError as exc:
            self._stop_playwright()
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise VendorError(f"could not reach the browser server {endpoint}: {first}") from None

    def begin(self, scenario: str) -> None:
        """A fresh context and page, with tracing on, for this scenario alone."""
        if self.browser is None:
            raise VendorError("the browser is not running: open() was not called or failed")
        self._close_context()
        self.scenario = scenario
        self._shots = 0
        self.actor = None
        self.restored = False
        self.offline_now = False
        self.context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(self.timeout_ms)
        self.context.set_default_navigation_timeout(self.timeout_ms)
        self._retrying, self.trace_next = self.trace_next, False
        self._tracing = self._retrying or self.trace_policy in ("on-failure", "always")
        if self._tracing:
            # DOM snapshots of every action and the network, without the screencast: it
            # only draws the viewer's film strip ("a timeline preview", in Playwright's
            # words), it cost a traced DjangoCRM scenario about a fifth of its CPU, and
            # the step that failed keeps a screenshot of its own.
            self.context.tracing.start(
                screenshots=False, snapshots=True, title=scenario, name=slug(scenario)
            )
        self.page = self.context.new_page()

    def trace_next_scenario(self) -> None:
        """Trace the next scenario and keep its trace, whatever the policy: the runner calls
        it before re-running a failed scenario (`trace: on-first-retry`)."""
        self.trace_next = True

    def end(self, scenario: str, status: str) -> list[Evidence]:
        """Stop tracing; keep the trace when the scenario did not pass (or always)."""
        evidence: list[Evidence] = []
        if self.context is None:
            return evidence
        keep = (
            self._retrying
            or self.trace_policy == "always"
            or (self.trace_policy == "on-failure" and status != "passed")
        )
        try:
            if status != "passed" and self.screenshot_policy == "on-failure":
                shot = self.screenshot(note=f"last page, scenario {status}")
                if shot is not None:
                    evidence.append(shot)
            if self._tracing:
                if keep:
                    path = self.evidence_path("traces", f"{self._evidence_name(scenario)}.zip")
                    self.context.tracing.stop(path=str(path))
                    evidence.append(
                        Evidence(kind="trace", path=self.relative(path), note=f"status {status}")
                    )
                else:
                    self.context.tracing.stop()
        finally:
            self._close_context()
        return evidence

    def close(self) -> None:
        self._close_context()
        if self.browser is not None:
            with contextlib.suppress(Exception):  # already gone: nothing left to release
                self.browser.close()
            self.browser = None
        self._stop_playwright()

    def _close_context(self) -> None:
        if self.context is not None:
            with contextlib.suppress(Exception):  # a crashed browser leaves nothing to close
                self.context.close()
        self.context = None
        self.page = None

    def _stop_playwright(self) -> None:
        if self._playwright is not None:
            self._playwright = None
            _release_playwright()

    @property
    def timeout_ms(self) -> float:
        return float(self.settings.get("timeout", self.default_timeout)) * 1000

    # -- evidence ------------------------------------------------------------------------

    def evidence_path(self, *parts: str) -> Path:
        """A file under this adapter's evidence folder, with its parent created."""
        path = Path(self.evidence_dir).joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def relative(self, path: Path | str) -> str:
        """`path` relative to the run folder: evidence_dir is `<run>/evidence/<vendor>`."""
        run_folder = Path(self.evidence_dir).resolve().parent.parent
        return Path(os.path.relpath(Path(path).resolve(), run_folder)).as_posix()

    def _evidence_name(self, scenario: str) -> str:
        """A re-run's files must not overwrite those its first attempt's events name."""
        return slug(scenario) + ("-retry" if self._retrying else "")

    def screenshot(self, note: str | None = None) -> Evidence | None:
        """The page as the user sees it now; None if it cannot be taken (never raises)."""
        if self.page is None:
            return None
        self._shots += 1
        name = f"{self._evidence_name(self.scenario or 'adhoc')}-{self._shots}.png"
        path = self.evidence_path("screenshots", name)
        for _attempt in range(2):  # a loaded machine can miss one; the evidence matters
            try:
                self.page.screenshot(path=str(path), timeout=15_000)
            except Exception:  # a failed shot must never fail the step
                continue
            return Evidence(kind="screenshot", path=self.relative(path), note=note)
        return None

    # -- the entry point: actor switching before, a screenshot after ----------------------

    def perform(self, op: Operation) -> Outcome:
        """Act as `op.actor` if needed, run the operation, then screenshot the page if the
        step did not go through (or after every step, `screenshots: every-step`)."""
        login_effort: Effort | None = None
        early: Outcome | None = None
        if op.cleanup and self.offline_now and self.context is not None:
            self._set_offline(False)  # cleanup is the runner's, not the scenario's
        if self.context is not None and op.op not in SESSION_OPS and self._defines(op):
            wanted = op.actor or self.default_actor
            if wanted is not None and wanted != self.actor:
                self.step = StepContext()
                try:
                    self.become(wanted)
                except AdapterProblem as problem:
                    early = self._outcome(problem.status, message=str(problem))
                except Exception as exc:  # an adapter bug must not take the run down
                    early = self._outcome("error", message=f"adapter error: {exc}")
                login_effort = self.step.effort
        outcome = early or super().perform(op)
        if login_effort is not None and early is None:
            outcome.effort = login_effort + (outcome.effort or Effort())
        if self.screenshot_policy == "every-step" or outcome.status != "ok":
            shot = self.screenshot(note=f"after {op.op} {op.entity or ''}".strip())
            if shot is not None:
                outcome.evidence.append(shot)
        return outcome

    def _defines(self, op: Operation) -> bool:
        return (op.op, op.entity) in self.operations

    # -- actors: the subclass logs in --------------------------------------------------

    # Who acts when a step names no actor; None: the adapter has no logins at all.
    default_actor: ClassVar[str | None] = None

    def switch_actor(self, actor: str) -> None:
        """Log in as `actor` in the current context (and set `self.actor`), for real.

        Called (through `become`) before any step whose actor (or the default actor) is
        not the one logged in; the effort it takes is added to that step's."""
        raise Unsupported(f"{self.name} cannot act as {actor}")

    def become(self, actor: str) -> None:
        """Act as `actor`: restore their session of this run, or log in and keep it.

        A restored session costs the step what the real log-in did (a user of a new
        session logs in), so effort counts are the same with and without reuse.
        """
        key = self._login_key(actor)
        stored = self.logins.get(key) if self.reuse_logins else None
        if stored is not None:
            state, effort = stored
            if self.restore_login(state):
                self.step.effort = (self.step.effort or Effort()) + effort
                self.actor, self.restored = actor, True
                return
            self.logins.forget(key)  # no longer taken: log in for real, as a user would
        before = self.step.effort or Effort()
        self.switch_actor(actor)
        self.restored = False
        if self.reuse_logins:
            after = self.step.effort or Effort()
            spent = Effort(**{k: v - getattr(before, k) for k, v in after.model_dump().items()})
            self.logins.put(key, self.context.storage_state(), spent)

    def restore_login(self, state: dict[str, Any]) -> bool:
        """Put a kept session (Playwright's storage state) into the scenario's fresh context.

        Cookies are enough for a server-side session; an adapter whose app keeps its
        session in local storage puts that back too. False when the vendor no longer takes
        the session, so the actor logs in for real."""
        self.context.clear_cookies()
        self.context.add_cookies(state["cookies"])
        return True

    def log_in_again(self) -> bool:
        """The vendor refused a restored session (it expired, say): forget it and log the
        actor in for real. Uncounted: the restore already charged the log-in's effort.
        False when the session was a real log-in, so there is nothing to retry."""
        if not self.restored or self.actor is None:
            return False
        actor = self.actor
        self.forget_session()
        with self.uncounted():
            self.become(actor)
        return True

    def forget_session(self) -> None:
        """The current actor's session now holds state a scenario chose (a filter the server
        keeps per session): the next scenario logs in afresh instead of inheriting it."""
        if self.actor is not None:
            self.logins.forget(self._login_key(self.actor))

    def _login_key(self, actor: str) -> tuple[str, ...]:
        return (type(self).__qualname__, self.run_id, str(self.settings.get("url")), actor)

    def login(self, op: Operation) -> dict[str, Any]:
        """Session operation `login: <actor>`."""
        actor = op.actor or self.default_actor
        if actor is None:
            raise Unsupported(f"{self.name} has no users to log in as")
        self._need_page()
        self.become(actor)
        return {"actor": actor}

    # -- offline / online ----------------------------------------------------------------

    def offline(self, op: Operation) -> dict[str, Any]:
        self._need_page()
        self._set_offline(True)
        return {"offline": True}

    def online(self, op: Operation) -> dict[str, Any]:
        self._need_page()
        self._set_offline(False)
        return {"offline": False}

    def _set_offline(self, offline: bool) -> None:
        self.context.set_offline(offline)
        self.offline_now = offline

    def _need_page(self) -> Any:
        if self.page is None:
            raise VendorError("no browser page: begin(scenario) was not called")
        return self.page

    # -- effort-counting actions ---------------------------------------------------------

    @contextlib.contextmanager
    def uncounted(self) -> Iterator[None]:
        """Actions inside are the adapter's bookkeeping (learning an id it needs), which a
        user would not have to do, so they do not count as the user's effort."""
        saved = self.step.effort
        try:
            yield
        finally:
            self.step.effort = saved

    def exists(self, selector: str) -> bool:
        """Whether the page has an element matching `selector` (Playwright's selectors).

        Asked through a locator, not `query_selector`: an element handle costs Playwright's
        driver and Chromium several times the CPU of a count (bench/ui_calls.py), and an
        adapter asks hundreds of times a scenario.
        """
        return bool(self._need_page().locator(selector).count())

    def goto(self, url: str) -> Any:
        """Load a page the way a user would open a link or bookmark: one page."""
        page = self._need_page()
        self.step.add_effort(pages=1)
        try:
            return page.goto(url, wait_until="load")
        except Exception as exc:
            raise self._load_failure(url, exc) from None

    def click(self, selector: str, navigates: bool = False) -> Any:
        """One click; with `navigates`, wait for the page it loads (and count it).

        Returns the navigation's response (None without `navigates`), so the caller can
        tell a server error page from the page it wanted.
        """
        page = self._need_page()
        self.step.add_effort(clicks=1)
        if not navigates:
            page.click(selector)
            return None
        self.step.add_effort(pages=1)
        try:
            with page.expect_navigation(wait_until="load") as navigation:
                page.click(selector)
        except Exception as exc:
            raise self._load_failure(selector, exc) from None
        return navigation.value

    def click_element(self, handle: Any) -> None:
        """One click on an element found otherwise than by a selector."""
        self.step.add_effort(clicks=1)
        handle.click()

    def fill(self, selector: str, text: str) -> None:
        """Type `text` into a field: one field, one keystroke per character."""
        page = self._need_page()
        text = "" if text is None else str(text)
        page.fill(selector, text)
        self.step.add_effort(fields=1, keystrokes=self.keys_for(text))

    def keys_for(self, text: str) -> int:
        """The keystrokes a user types for `text`: one per character, less the run's
        marker, which only the harness puts in names ("Globex ${run.id}"). Counted, it
        made a vendor's effort depend on the length of its name and the run's id: 31 keys
        a name, three names a step, against budgets set for what a user types."""
        marker = self.marker
        return len(text) - (text.count(marker) * len(marker) if marker else 0)

    def select(
        self, selector: str, value: str | None = None, label: str | None = None
    ) -> list[str]:
        """Choose one option of a drop-down: one field, one click."""
        page = self._need_page()
        chosen = page.select_option(selector, value=value, label=label)
        self.step.add_effort(fields=1, clicks=1)
        return list(chosen)

    def check(self, selector: str, checked: bool = True) -> None:
        """Tick (or clear) a box; counted only if its state had to change."""
        page = self._need_page()
        if page.is_checked(selector) == checked:
            return
        page.set_checked(selector, checked)
        self.step.add_effort(fields=1, clicks=1)

    def _load_failure(self, what: str, exc: Exception) -> AdapterProblem:
        first = (str(exc).strip().splitlines() or [repr(exc)])[0]
        if self.offline_now:
            return Refused(f"the UI cannot work offline: {first}")
        return VendorError(f"page load failed ({what}): {first}")
