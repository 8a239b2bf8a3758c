"""Starting a sandbox: what a server of an earlier start leaves behind is not kept.

`sandbox up` of a server started by an older crmproof with another command restarts it.

A running server is left alone only when it runs the command this crmproof gives: else a
run reads settings (a database, a flag) the server was never started with. A real
process serves here: Python's own http.server on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crmproof import discovery, sandbox

ROOT = Path(__file__).resolve().parents[2]


class Echo(sandbox.VendorSandbox):
    """A vendor whose command gains an argument between two versions."""

    vendor = "echo-restart"
    start_timeout = 20.0

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def provision(self, home: sandbox.SandboxHome, log: sandbox.Log) -> None:
        pass

    def launch(self, home: sandbox.SandboxHome, port: int) -> sandbox.Launch:
        return sandbox.Launch(
            argv=[
                *(sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"),
                *("--directory", str(self.folder)),
            ]
        )

    def configure(
        self, home: sandbox.SandboxHome, base_url: str, log: sandbox.Log
    ) -> dict[str, str]:
        return {"ECHO_URL": base_url}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CRMPROOF_HOME", str(tmp_path / "home"))
    yield tmp_path
    sandbox.down_home(sandbox.SandboxHome(Echo.vendor))


def test_a_server_running_another_command_is_restarted_and_the_same_one_kept(
    home: Path,
) -> None:
    (home / "a").mkdir()
    (home / "b").mkdir()
    said: list[str] = []
    first = sandbox.up(Echo(home / "a"), said.append)
    again = sandbox.up(Echo(home / "a"), said.append)
    assert again["pid"] == first["pid"]
    assert said[-1].startswith("echo-restart: already running")

    newer = sandbox.up(Echo(home / "b"), said.append)
    assert newer["running"] and newer["pid"] != first["pid"]
    assert newer["argv"][-1] == str(home / "b")
    assert any("restarting" in line for line in said)


def test_the_tryton_sandbox_starts_with_no_session_of_an_earlier_server(
    home: Path,
) -> None:
    """Tryton checks every request against all of its user's sessions from the address; a
    killed run never logs out, so its sessions are forgotten before the server starts."""
    recipe = discovery.load("tryton", ROOT / "adapters").sandbox
    module = sys.modules[type(recipe).__module__]
    tryton = sandbox.SandboxHome("tryton")
    tryton.data.mkdir(parents=True)
    for name in (module.DATABASE, module.WEB_DATABASE):
        with contextlib.closing(sqlite3.connect(tryton.data / f"{name}.sqlite")) as db, db:
            db.execute("CREATE TABLE ir_session (id INTEGER PRIMARY KEY, key TEXT)")
            db.executemany("INSERT INTO ir_session (key) VALUES (?)", [("a",), ("b",)])
        module._end_sessions(tryton, name)
        with contextlib.closing(sqlite3.connect(tryton.data / f"{name}.sqlite")) as db:
            assert db.execute("SELECT count(*) FROM ir_session").fetchone() == (0,)
