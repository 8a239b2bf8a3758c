"""A browser vendor driving a browser server (`playwright run-server`) started by the test.

The server stands in for a browser on another machine or a Playwright grid: the adapter
reaches it through Playwright's own `connect`, set as `browser: {connect: ws://...}`, and
must give the same outcomes and the same effort as with its own local Chromium.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crmproof.adapter import VendorError
from crmproof.browser import find_chromium
from crmproof.protocol import Operation
from tests.integration.test_browser import NotesAdapter, create, site  # noqa: F401

PLAYWRIGHT = Path(sys.executable).with_name("playwright")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def browser_server() -> Iterator[str]:
    """`playwright run-server` on 127.0.0.1; --unsafe lets the client name Debian's Chromium."""
    port = free_port()
    server = subprocess.Popen(
        [str(PLAYWRIGHT), "run-server", "--port", str(port), "--host", "127.0.0.1", "--unsafe"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the launcher starts the Node server as its child
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert server.poll() is None, "the browser server exited at once"
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("the browser server did not listen within 60 s", pytrace=False)
        yield f"ws://127.0.0.1:{port}/"
    finally:
        # the group this test started, launcher and Node server: terminating the launcher
        # alone left the server running, orphaned
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def run_notes(base: str, tmp_path: Path, settings: dict) -> list[tuple]:
    notes = NotesAdapter()
    notes.base = base
    notes.evidence_dir = str(tmp_path / "run" / "evidence" / "notes")
    notes.open(settings)
    try:
        results = []
        for scenario, offline in (("plain", False), ("offline", True)):
            notes.begin(scenario)
            if offline:
                notes.perform(Operation(op="offline"))
            outcome = create(notes, "Call Ada back")
            evidence = notes.end(scenario, "passed" if outcome.status == "ok" else "failed")
            effort = outcome.effort
            results.append(
                (
                    outcome.status,
                    (outcome.record or {}).get("title"),
                    effort and (effort.pages, effort.clicks, effort.fields, effort.keystrokes),
                    sorted(e.kind for e in evidence),
                )
            )
        return results
    finally:
        notes.close()


def test_a_remote_browser_gives_the_same_outcomes_and_effort(
    browser_server: str,
    site: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    local = run_notes(site, tmp_path / "local", {})
    remote = run_notes(
        site,
        tmp_path / "remote",
        {"browser": {"connect": browser_server, "executable": find_chromium()}},
    )
    assert remote == local
    assert local[0][0] == "ok" and local[1][0] == "refused"  # one pass, one offline refusal


def test_a_wrong_browser_server_is_a_clear_vendor_error(tmp_path: Path) -> None:
    notes = NotesAdapter()
    notes.evidence_dir = str(tmp_path)
    with pytest.raises(VendorError, match="could not reach the browser server"):
        notes.open({"browser": {"connect": f"ws://127.0.0.1:{free_port()}/"}})
    with pytest.raises(VendorError, match="give the browser server's address"):
        notes.open({"browser": {"connect": "127.0.0.1:3000"}})
    notes.close()
