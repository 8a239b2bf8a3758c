"""A run killed with SIGKILL at any moment loses no finished step and can be resumed.

The harness is killed at several points of a real run on Tryton: after the first step,
mid-run, near the end. Each time results.jsonl must hold only valid events, and
`crmproof run --resume` must finish the plan without repeating a finished scenario, and
delete what the killed scenario had created.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crmproof import discovery
from crmproof.credentials import resolve_settings
from crmproof.events import RunStarted, ScenarioDone
from crmproof.results import read_events
from tests.cli import command

ROOT = Path(__file__).resolve().parents[2]
STARTER = ROOT / "examples" / "starter"
TRYTON_SETTINGS = {
    "url": "${env:TRYTON_URL}",
    "database": "${env:TRYTON_DATABASE}",
    "user": "${env:TRYTON_USER}",
    "password": "${env:TRYTON_PASSWORD}",
}


def step_events(path: Path) -> int:
    if not path.exists():
        return 0
    return path.read_bytes().count(b'"event":"step"')


@pytest.mark.parametrize("kill_after_steps", [1, 5, 11])
def test_killed_run_keeps_its_steps_and_resumes(
    vendor_sandbox: Callable[[str], dict[str, Any]], tmp_path: Path, kill_after_steps: int
) -> None:
    vendor_sandbox("tryton")
    reports = tmp_path / "reports"
    proc = subprocess.Popen(
        command("run", "-w", str(STARTER), "--vendor", "tryton", "--reports", str(reports)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    results: Path | None = None
    while time.monotonic() < deadline and proc.poll() is None:
        found = list(reports.glob("2*/results.jsonl")) if reports.exists() else []
        if found and step_events(found[0]) >= kill_after_steps:
            results = found[0]
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed"
    assert results is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    raw = results.read_bytes().split(b"\n")
    complete = [line for line in raw[:-1]]
    assert all(json.loads(line) for line in complete)  # every complete line is an event
    before = list(read_events(results))
    assert sum(e.event == "step" for e in before) >= kill_after_steps
    assert not any(e.event == "end" for e in before)
    finished_before = {e.scenario for e in before if isinstance(e, ScenarioDone)}
    run_id = results.parent.name

    resumed = subprocess.run(
        command("run", "-w", str(STARTER), "--reports", str(reports), "--resume", "latest"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    after = list(read_events(results))
    scenario_events = Counter(e.scenario for e in after if isinstance(e, ScenarioDone))
    assert isinstance(after[0], RunStarted)
    plan = {s for _, s in after[0].plan}
    assert set(scenario_events) == plan
    assert all(n == 1 for n in scenario_events.values()), scenario_events  # none repeated
    assert finished_before <= set(scenario_events)
    assert any(e.event == "resume" for e in after)
    assert after[-1].event == "end"

    adapter = discovery.load("tryton", ROOT / "adapters").adapter()
    adapter.open(resolve_settings(TRYTON_SETTINGS)[0])
    try:
        left = adapter.leftovers(run_id)
    finally:
        adapter.close()
    assert left is not None and [r for r in left if not r.kept] == []
