"""Ctrl-C in the middle of a run on real Tryton: nothing left in the vendor, then resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cli import command

ROOT = Path(__file__).resolve().parents[2]
STARTER = ROOT / "examples" / "starter"


def events(folder: Path) -> list[dict[str, Any]]:
    path = folder / "results.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def as_if_at_a_terminal() -> None:
    """Ctrl-C's default in the child, as in a terminal's foreground job: a test suite
    started in the background (`make test &`, nohup) ignores SIGINT, every child inherits
    that, and Python then leaves SIGINT ignored, so the signal below would never arrive."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_cleans_up_and_resume_finishes(
    vendor_sandbox: Callable[[str], dict[str, Any]], tmp_path: Path
) -> None:
    vendor_sandbox("tryton")
    reports = tmp_path / "reports"
    argv = command("run", "-w", str(STARTER), "--reports", str(reports), "--no-progress")
    proc = subprocess.Popen(
        [*argv, "--vendor", "tryton"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=as_if_at_a_terminal,
    )
    deadline = time.monotonic() + 300
    folder = reports / "latest"
    # Interrupt as soon as a scenario has created records in the vendor: the run folder
    # itself is watched (`latest` may not point at it yet), and early, since the whole
    # run takes seconds.
    while time.monotonic() < deadline and proc.poll() is None:
        found = sorted(reports.glob("2*/results.jsonl")) if reports.exists() else []
        created = found and [
            e for e in events(found[0].parent) if e["event"] == "step" and e["created"]
        ]
        if created:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 130, output
    assert "--resume" in output and "Traceback" not in output
    first = events(folder)
    kinds = [e["event"] for e in first]
    assert "interrupted" in kinds and "end" not in kinds
    done = {e["scenario"] for e in first if e["event"] == "scenario"}
    # The run stopped short. Which scenario was cut depends on how far it got before the
    # signal landed (on a loaded machine the watched one may just have finished).
    assert done < {s for _, s in first[0]["plan"]}
    (leftovers,) = [e for e in first if e["event"] == "leftovers"]
    assert leftovers["checked"]
    assert [r for r in leftovers["records"] if not r.get("kept")] == []

    resumed = subprocess.run(
        [*argv, "--resume", "latest"],
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    final = events(folder)
    assert final[-1]["event"] == "end"
    scenarios = [e["scenario"] for e in final if e["event"] == "scenario"]
    assert sorted(scenarios) == sorted(s for _, s in final[0]["plan"])
    last_check = [e for e in final if e["event"] == "leftovers"][-1]
    assert [r for r in last_check["records"] if not r.get("kept")] == []
