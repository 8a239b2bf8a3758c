"""`crmproof adapter check` and the adapter protocol, against the real Tryton server.

What must hold: the shipped Tryton adapter and the Node.js example conform; an adapter
that claims a capability it does not have is caught and named; the same suite gives the
same verdicts in process and over the protocol; and an adapter program that crashes,
hangs or prints garbage costs its step, never the run.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from crmproof import discovery
from crmproof.credentials import resolve_settings
from tests import cli
from tests.raw_events import read_events

ROOT = Path(__file__).resolve().parents[2]
STARTER = ROOT / "examples" / "starter"
NODE_ADAPTER = ROOT / "examples" / "node-adapter" / "adapter.mjs"
DATA = ROOT / "tests" / "data" / "adapters"
VENV_BIN = Path(sys.executable).parent
TRYTON_SETTINGS = {
    "url": "${env:TRYTON_URL}",
    "database": "${env:TRYTON_DATABASE}",
    "user": "${env:TRYTON_USER}",
    "password": "${env:TRYTON_PASSWORD}",
}


def crmproof(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return cli.crmproof(*args, cwd=ROOT, timeout=timeout)


@pytest.fixture(scope="module")
def tryton(vendor_sandbox: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    return vendor_sandbox("tryton")


# -- the conformance kit ----------------------------------------------------------------


def test_the_tryton_adapter_conforms(tryton: dict[str, Any], tmp_path: Path) -> None:
    summary = tmp_path / "check.md"
    proc = crmproof("adapter", "check", "tryton", "--markdown", str(summary))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ADAPTER BROKEN" not in proc.stdout
    assert "the adapter conforms" in proc.stdout
    for check in ("create", "get", "find by name", "update name", "gone after delete"):
        assert re.search(rf"^account\s+{check}\s+pass", proc.stdout, re.M), check
    assert re.search(r"^opportunity\s+advance to won\s+pass", proc.stdout, re.M)
    assert re.search(r"^case\s+advance to closed\s+pass", proc.stdout, re.M)
    assert re.search(r"^invoice\s+advance to paid\s+pass", proc.stdout, re.M)
    assert re.search(r"^undeclared\s+activity\s+vendor lacks this", proc.stdout, re.M)
    # A field declared not offered, sent anyway, is answered unsupported, never dropped.
    assert re.search(
        r"^declared lacking\s+lead.source\s+vendor lacks this\s+answered unsupported",
        proc.stdout,
        re.M,
    )
    report = summary.read_text()
    assert report.startswith("# Adapter check: tryton conforms")
    assert "| account | get | pass |" in report


def _marker(output: str) -> str:
    found = re.search(r"marker (crmproof-check-[0-9a-f]+)", output)
    assert found, output
    return found.group(1)


def test_the_node_example_conforms_and_leaves_nothing(tryton: dict[str, Any]) -> None:
    node = shutil.which("node") or "/usr/bin/node"
    proc = crmproof("adapter", "check", f"{node} {NODE_ADAPTER}", "--settings-from", "tryton")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "tryton-node 0.1.0 (api)" in proc.stdout
    for check in ("create", "get", "find by name", "update name", "delete", "gone after delete"):
        assert re.search(rf"^account\s+{check}\s+pass", proc.stdout, re.M), check
    assert re.search(
        r"^undeclared\s+contact\s+vendor lacks this\s+answered unsupported", proc.stdout, re.M
    )
    adapter = discovery.load("tryton", ROOT / "adapters").adapter()
    adapter.open(resolve_settings(TRYTON_SETTINGS)[0])
    try:
        assert adapter.leftovers(_marker(proc.stdout)) == []
    finally:
        adapter.close()


def test_a_lying_adapter_is_caught_by_name() -> None:
    liar = f"{sys.executable} {DATA / 'lying_adapter.py'}"
    proc = crmproof("adapter", "check", liar)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.search(
        r"^case\s+create\s+ADAPTER BROKEN\s+the adapter declares create case but answered "
        r"unsupported",
        proc.stdout,
        re.M,
    ), proc.stdout
    assert re.search(r"^case\s+\S.*ADAPTER BROKEN\s+find case answered error", proc.stdout, re.M)
    assert re.search(
        r"^declared lacking\s+account.email\s+ADAPTER BROKEN\s+declared lacking \(.*\), yet "
        r"the vendor stored email",
        proc.stdout,
        re.M,
    ), proc.stdout
    assert "does NOT conform" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_an_unknown_target_is_a_usage_error() -> None:
    proc = crmproof("adapter", "check", "trytn")
    assert proc.returncode == 2
    assert "did you mean 'tryton'" in proc.stderr


# -- the protocol: same verdicts, and isolation -------------------------------------------


def _workspace(
    tmp: Path,
    vendors: dict[str, Any],
    step_timeout: float = 60,
    scenarios: tuple[str, ...] = ("account", "invoice", "opportunity", "wrong"),
) -> Path:
    """A copy of the starter suite (its `scenarios` files) whose crmproof.yaml has `vendors`."""
    ws = tmp / "ws"
    shutil.copytree(STARTER / "requirements", ws / "requirements")
    (ws / "scenarios").mkdir()
    for name in scenarios:
        shutil.copy(STARTER / "scenarios" / f"{name}.yaml", ws / "scenarios")
    config = {
        "name": "Protocol test",
        "adapters": str(ROOT / "adapters"),
        "vendors": vendors,
        "run": {"step_timeout": step_timeout},
    }
    (ws / "crmproof.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return ws


def _run(ws: Path, vendor: str, timeout: float = 600) -> list[dict[str, Any]]:
    reports = ws / "reports" / vendor
    proc = crmproof(
        "run", "-w", str(ws), "--vendor", vendor, "--reports", str(reports), timeout=timeout
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    events = list(read_events((reports / "latest" / "results.jsonl").resolve()))
    assert events[-1]["event"] == "end", "the run did not complete"
    return events


def _statuses(events: list[dict[str, Any]]) -> dict[str, str]:
    return {e["scenario"]: e["status"] for e in events if e["event"] == "scenario"}


def test_in_process_and_over_the_protocol_give_the_same_verdicts(
    tryton: dict[str, Any], tmp_path: Path
) -> None:
    served = [str(VENV_BIN / "crmproof"), "adapter", "serve", "tryton", "-w", str(ROOT)]
    ws = _workspace(
        tmp_path,
        {
            "in-process": {"adapter": "tryton", "settings": TRYTON_SETTINGS},
            "served": {"command": served, "settings": TRYTON_SETTINGS},
        },
    )
    direct = _statuses(_run(ws, "in-process"))
    over_protocol = _statuses(_run(ws, "served"))
    assert direct == over_protocol
    assert direct["STARTER-WRONG"] == "failed"  # a real comparison, not all-error
    assert direct["STARTER-ACCOUNT"] == "passed"


TRIGGER_SCENARIO = {
    "id": "A-TRIGGER",
    "title": "The adapter misbehaves on this step",
    "covers": ["O2C-1.1"],
    "steps": [
        {"create": "account", "with": {"name": "TRIGGER ${run.id}"}},
        {"create": "account", "with": {"name": "Never made ${run.id}"}},
    ],
}


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        ("crash", "exited"),
        ("hang", "hangs"),
        ("garbage", "not JSON"),
    ],
)
def test_a_misbehaving_adapter_costs_its_step_not_the_run(
    tryton: dict[str, Any], tmp_path: Path, mode: str, says: str
) -> None:
    command = [sys.executable, str(DATA / "misbehaving_adapter.py"), mode, str(ROOT)]
    # Only the quick scenarios: a step of the others can take longer than this timeout.
    ws = _workspace(
        tmp_path,
        {mode: {"command": command, "settings": TRYTON_SETTINGS}},
        step_timeout=5,
        scenarios=("account", "wrong"),
    )
    (ws / "scenarios" / "a_trigger.yaml").write_text(yaml.safe_dump(TRIGGER_SCENARIO))
    events = _run(ws, mode)
    statuses = _statuses(events)
    assert statuses["A-TRIGGER"] == "error"
    step = next(e for e in events if e["event"] == "step" and e["scenario"] == "A-TRIGGER")
    assert step["status"] == "error" and says in step["message"], step
    later = [e for e in events if e["event"] == "step" and e["scenario"] == "A-TRIGGER"][1]
    assert later["status"] == "skipped"
    # The scenarios after it ran on a fresh adapter process, with their usual verdicts.
    messages = [e.get("message") for e in events if e["event"] == "scenario"]
    assert statuses == {
        "A-TRIGGER": "error",
        "STARTER-ACCOUNT": "passed",
        "STARTER-WRONG": "failed",
    }, messages
