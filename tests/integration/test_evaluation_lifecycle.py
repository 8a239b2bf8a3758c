"""An evaluation over months, on real Tryton: init, run, baseline, diff, stale results.

One workspace made by `crmproof init` goes through what a team does to it: it runs as
written, a baseline is kept, a scenario is broken (the baseline run fails, and the diff
names exactly that change), and a requirement is reworded (exactly its cells go stale,
and `run --stale` re-runs exactly the scenario that covers it).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests import cli
from tests.raw_events import read_events


def crmproof(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return cli.crmproof(*args, cwd=ws)


def latest(ws: Path) -> Path:
    return (ws / "reports" / "latest").resolve()


def plan_of(folder: Path) -> list[list[str]]:
    run = next(e for e in read_events(folder / "results.jsonl") if e["event"] == "run")
    plan: list[list[str]] = run["plan"]
    return plan


@pytest.fixture(scope="module")
def ws(
    vendor_sandbox: Callable[[str], dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    vendor_sandbox("tryton")
    folder = tmp_path_factory.mktemp("lifecycle") / "x"
    made = crmproof(folder.parent, "init", str(folder))
    assert made.returncode == 0, made.stderr
    return folder


def test_init_validates_and_runs_on_tryton(ws: Path) -> None:
    checked = crmproof(ws, "validate")
    assert checked.returncode == 0, checked.stderr
    assert "0 error(s), 0 warning(s)" in checked.stderr
    ran = crmproof(ws, "run")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    card = json.loads((latest(ws) / "scorecard.json").read_text())
    (tryton,) = card["vendors"]
    assert {s["id"]: s["status"] for s in tryton["scenarios"].values()} == {
        "ACCOUNT-KEPT": "passed",
        "OPPORTUNITY-WON": "passed",
    }
    assert {rid: c["verdict"] for rid, c in tryton["requirements"].items()} == {
        "WIN-1.1": "met",
        "WIN-1.2": "met",
        "WIN-2.1": "met",
    }
    assert tryton["leftovers"] is not None  # cleanup verified
    assert [r for r in tryton["leftovers"] if not r.get("kept")] == []


def test_baseline_passes_then_an_unexpected_regression_fails(ws: Path) -> None:
    written = crmproof(ws, "baseline")
    assert written.returncode == 0, written.stderr
    assert (ws / "baselines" / "tryton.yaml").exists()
    again = crmproof(ws, "run")  # the workspace's baselines/ is picked up by itself
    assert again.returncode == 0, again.stderr
    assert "baseline (baselines/): every result as expected" in again.stderr
    before = latest(ws)

    scenario = ws / "scenarios" / "opportunity.yaml"
    scenario.write_text(scenario.read_text().replace("{stage: won}", "{stage: lost}"))
    broken = crmproof(ws, "run", "--baseline", "baselines/tryton.yaml")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "baseline (baselines/tryton.yaml): 2 unexpected change(s):" in broken.stderr
    assert "tryton / requirement WIN-2.1: expected met, got not met" in broken.stderr
    assert "tryton / scenario OPPORTUNITY-WON: expected passed, got failed" in broken.stderr

    diff = crmproof(ws, "diff", before.name, "latest", "--json")
    assert diff.returncode == 0, diff.stderr
    result = json.loads(diff.stdout)
    assert result["suite_changes"] == ["scenario OPPORTUNITY-WON changed (steps)"]
    assert result["scenarios_added"] == result["scenarios_removed"] == []
    (tryton,) = result["vendors"]
    assert tryton["verdicts"] == [
        {"requirement": "WIN-2.1", "before": "met", "after": "not met", "change": "regressed"}
    ]
    assert tryton["scenarios"] == [
        {"scenario": "OPPORTUNITY-WON", "before": "passed", "after": "failed"}
    ]
    assert tryton["versions"] == {} and tryton["effort"] == []
    assert tryton["ran_only_in_a"] == tryton["ran_only_in_b"] == []
    markdown = crmproof(ws, "diff", before.name, "latest", "--markdown").stdout
    assert "- regressed: WIN-2.1: met -> not met" in markdown


def test_a_reworded_requirement_makes_exactly_its_cells_stale(ws: Path) -> None:
    run = latest(ws)
    catalog = ws / "requirements" / "catalog.yaml"
    old = "success: The account read back has the e-mail and phone it was created with."
    assert old in catalog.read_text()
    catalog.write_text(catalog.read_text().replace(old, old[:-1] + ", character for character."))

    report = crmproof(ws, "report")
    assert report.returncode == 0, report.stderr
    assert "STALE (was met)" in report.stdout
    assert "stale view: " in report.stderr
    card = json.loads((run / "scorecard.stale.json").read_text())
    assert card["stale"] == 1
    assert card["changed_since_run"] == ["requirement WIN-1.1 changed (success)"]
    (tryton,) = card["vendors"]
    stale = {rid: c["stale"] for rid, c in tryton["requirements"].items() if c["stale"]}
    assert stale == {"WIN-1.1": ["requirement WIN-1.1 changed (success)"]}
    assert tryton["requirements"]["WIN-1.1"]["verdict"] == "untested"  # never met while stale
    assert tryton["requirements"]["WIN-1.1"]["stale_verdict"] == "met"
    assert "STALE (was met)" in (run / "scorecard.stale.md").read_text()
    assert "1 cell(s) are STALE" in (run / "index.stale.html").read_text()
    # the run's own record is untouched: its files still match its manifest
    assert json.loads((run / "scorecard.json").read_text())["stale"] == 0
    verified = crmproof(ws, "verify", str(run))
    assert verified.returncode == 0, verified.stderr

    checked = crmproof(ws, "validate")
    assert checked.returncode == 0
    listed = [line for line in checked.stderr.splitlines() if "stale:" in line]
    assert listed == ["  stale: tryton / WIN-1.1: was met; requirement WIN-1.1 changed (success)"]

    rerun = crmproof(ws, "run", "--stale")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert latest(ws) != run
    assert plan_of(latest(ws)) == [["tryton", "ACCOUNT-KEPT"]]
    after = crmproof(ws, "validate")
    assert "stale:" not in after.stderr
    nothing = crmproof(ws, "run", "--stale")
    assert nothing.returncode == 0 and "nothing is stale" in nothing.stderr
