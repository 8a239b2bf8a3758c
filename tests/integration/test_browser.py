"""BrowserAdapter against a real Chromium and a tiny page served from this test.

What a browser adapter owes the scorecard besides results: the user's effort counted per
step, a screenshot after every step, a trace kept when a scenario fails, and an honest
refusal when the UI cannot load offline. A launch that cannot work must fail fast.
"""

from __future__ import annotations

import threading
import time
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from crmproof.adapter import VendorError
from crmproof.browser import CHROMIUM_PATHS, HEADLESS_SHELL_PATHS, BrowserAdapter, find_chromium
from crmproof.protocol import Capabilities, EntitySupport, Operation

FORM = """<!doctype html><html><head><title>New note</title></head><body>
<form action="/done.html" method="get">
  <input id="name" name="name">
  <select id="color" name="color"><option value="">-</option><option value="red">Red</option>
  </select>
  <input id="agree" name="agree" type="checkbox">
  <button id="go" type="submit">Save</button>
</form></body></html>"""
DONE = "<!doctype html><html><head><title>Saved</title></head><body>saved</body></html>"


class NotesAdapter(BrowserAdapter):
    """The smallest browser adapter: one form, one entity."""

    name = "notes"
    base = ""

    def capabilities(self) -> Capabilities:
        return Capabilities(
            entities={"activity": EntitySupport(operations=["create"], fields=["subject"])},
            operations=["offline", "online"],
        )

    def create_activity(self, op: Operation) -> dict[str, Any]:
        self.goto(f"{self.base}/form.html")
        self.fill("#name", op.data["subject"])
        self.select("#color", value="red")
        self.check("#agree")
        self.click("#go", navigates=True)
        return {"id": "1", "subject": op.data["subject"], "title": self.page.title()}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("site")
    (root / "form.html").write_text(FORM)
    (root / "done.html").write_text(DONE)
    handler = partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def adapter(site: str, tmp_path: Path) -> Iterator[NotesAdapter]:
    notes = NotesAdapter()
    notes.base = site
    notes.evidence_dir = str(tmp_path / "run" / "evidence" / "notes")
    notes.open({})
    yield notes
    notes.close()


def create(adapter: NotesAdapter, subject: str = "Call Ada") -> Any:
    return adapter.perform(Operation(op="create", entity="activity", data={"subject": subject}))


def test_effort_is_counted_at_the_adapter_layer(adapter: NotesAdapter) -> None:
    adapter.begin("effort")
    outcome = create(adapter, "Call Ada back")
    adapter.end("effort", "passed")
    assert outcome.status == "ok", outcome.message
    assert outcome.record and outcome.record["title"] == "Saved"
    effort = outcome.effort
    assert effort is not None
    # two pages (the form, then the saved page); select, tick and the button are clicks;
    # three fields; one keystroke per character typed.
    assert (effort.pages, effort.clicks, effort.fields, effort.keystrokes) == (2, 3, 3, 13)


def test_the_runs_marker_is_no_keystroke(adapter: NotesAdapter) -> None:
    """`${run.id}` makes the harness's records unique; no user types it."""
    adapter.marker = "notes-20261130-221500-ab12"
    adapter.begin("marker")
    outcome = create(adapter, f"Call Ada back {adapter.marker}")
    adapter.end("marker", "passed")
    assert outcome.status == "ok", outcome.message
    assert outcome.effort is not None and outcome.effort.keystrokes == len("Call Ada back ")


def opened(site: str, tmp_path: Path, **settings: Any) -> NotesAdapter:
    notes = NotesAdapter()
    notes.base = site
    notes.evidence_dir = str(tmp_path / "run" / "evidence" / "notes")
    notes.open(settings)
    return notes


def test_screenshot_after_every_step(site: str, tmp_path: Path) -> None:
    adapter = opened(site, tmp_path, screenshots="every-step")
    try:
        adapter.begin("shots / one")
        first, second = create(adapter), create(adapter)
        adapter.end("shots / one", "passed")
    finally:
        adapter.close()
    paths = [e.path for o in (first, second) for e in o.evidence if e.kind == "screenshot"]
    assert paths == [
        "evidence/notes/screenshots/shots_one-1.png",
        "evidence/notes/screenshots/shots_one-2.png",
    ]
    for path in paths:
        assert (tmp_path / "run" / path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_by_default_screenshots_only_where_something_went_wrong(
    adapter: NotesAdapter, tmp_path: Path
) -> None:
    adapter.begin("quiet")
    assert create(adapter).evidence == []  # a step that went through: no screenshot
    assert adapter.end("quiet", "passed") == []
    adapter.begin("loud")
    adapter.perform(Operation(op="offline"))
    refused = create(adapter)
    evidence = adapter.end("loud", "failed")
    assert [e.kind for e in refused.evidence] == ["screenshot"]  # the step that did not
    assert [e.kind for e in evidence] == ["screenshot", "trace"]  # the last page, the trace
    assert (tmp_path / "run" / evidence[0].path).read_bytes()[:4] == b"\x89PNG"


def test_on_first_retry_traces_only_the_retry(site: str, tmp_path: Path) -> None:
    traces = tmp_path / "run" / "evidence" / "notes" / "traces"
    notes = opened(site, tmp_path, trace="on-first-retry")
    try:
        notes.begin("flaky")
        create(notes)
        first = notes.end("flaky", "failed")
        notes.trace_next_scenario()  # what the runner does before the re-run
        notes.begin("flaky")
        create(notes)
        retry = notes.end("flaky", "passed")
        notes.begin("next")
        create(notes)
        after = notes.end("next", "failed")
    finally:
        notes.close()
    assert [e.kind for e in first] == ["screenshot"]  # no trace for a first attempt
    assert [(e.kind, e.path) for e in retry] == [("trace", "evidence/notes/traces/flaky-retry.zip")]
    assert (traces / "flaky-retry.zip").stat().st_size > 0
    assert (tmp_path / "run" / first[0].path).exists()  # a re-run keeps the first one's files
    assert [e.kind for e in after] == ["screenshot"]  # only the one scenario was traced


def test_trace_kept_only_when_the_scenario_did_not_pass(
    adapter: NotesAdapter, tmp_path: Path
) -> None:
    traces = tmp_path / "run" / "evidence" / "notes" / "traces"
    adapter.begin("good")
    create(adapter)
    assert adapter.end("good", "passed") == []
    assert not (traces / "good.zip").exists()

    adapter.begin("bad")
    create(adapter)
    evidence = adapter.end("bad", "failed")
    assert [(e.kind, e.path) for e in evidence if e.kind == "trace"] == [
        ("trace", "evidence/notes/traces/bad.zip")
    ]
    with zipfile.ZipFile(traces / "bad.zip") as archive:
        assert any(name.endswith(".trace") for name in archive.namelist())


def test_trace_always(site: str, tmp_path: Path) -> None:
    notes = NotesAdapter()
    notes.base = site
    notes.evidence_dir = str(tmp_path / "run" / "evidence" / "notes")
    notes.open({"trace": "always"})
    try:
        notes.begin("kept")
        create(notes)
        evidence = notes.end("kept", "passed")
    finally:
        notes.close()
    assert [e.path for e in evidence] == ["evidence/notes/traces/kept.zip"]
    assert (tmp_path / "run" / "evidence" / "notes" / "traces" / "kept.zip").stat().st_size > 0


def test_offline_makes_a_page_load_fail_as_a_refusal(adapter: NotesAdapter) -> None:
    adapter.begin("offline")
    assert adapter.perform(Operation(op="offline")).status == "ok"
    refused = create(adapter)
    assert adapter.perform(Operation(op="online")).status == "ok"
    again = create(adapter)
    adapter.end("offline", "failed")
    assert refused.status == "refused"
    assert refused.message and refused.message.startswith("the UI cannot work offline")
    assert any(e.kind == "screenshot" for e in refused.evidence)
    assert again.status == "ok", again.message


def test_a_browser_that_cannot_start_fails_fast_and_clearly(tmp_path: Path) -> None:
    notes = NotesAdapter()
    notes.evidence_dir = str(tmp_path)
    started = time.monotonic()
    with pytest.raises(VendorError, match="could not launch Chromium"):
        notes.open({"browser": "/bin/false"})
    assert time.monotonic() - started < 40
    with pytest.raises(VendorError, match="no Chromium"):
        notes.open({"browser": str(tmp_path / "no-such-chromium")})
    notes.close()


def test_headless_runs_use_the_headless_shell() -> None:
    """Playwright's own default: half the CPU per page, the same pages (browser.py)."""
    assert find_chromium(headless=True) in HEADLESS_SHELL_PATHS, (
        "chromium-headless-shell is missing: scripts/install-system-deps installs it"
    )
    assert find_chromium(headless=False) in CHROMIUM_PATHS
    assert find_chromium("/bin/true", headless=True) == "/bin/true"


def test_unsupported_operation_is_reported_not_raised(adapter: NotesAdapter) -> None:
    adapter.begin("unsupported")
    outcome = adapter.perform(Operation(op="delete", entity="activity", id="1"))
    adapter.end("unsupported", "passed")
    assert outcome.status == "unsupported"
