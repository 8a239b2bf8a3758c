"""Decisions over a real run: the starter suite on the real Tryton, then a vendor dispute.

STARTER-WRONG fails on purpose (its expectation asks for a name the account was never
given): exactly what a vendor disputes. The dispute is upheld, the report re-judges the
cell, results.jsonl stays byte for byte as the run wrote it, and the manifest guards the
decision file afterwards.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.cli import crmproof
from tests.raw_events import read_events

ROOT = Path(__file__).resolve().parents[2]
STARTER = ROOT / "examples" / "starter"


@pytest.fixture(scope="module")
def starter_run(
    vendor_sandbox: Callable[[str], dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    vendor_sandbox("tryton")
    ws = tmp_path_factory.mktemp("starter") / "ws"
    shutil.copytree(STARTER, ws)
    config = ws / "crmproof.yaml"
    config.write_text(
        config.read_text().replace("adapters: ../../adapters", f"adapters: {ROOT / 'adapters'}")
    )
    proc = crmproof("run", "-w", str(ws), "--vendor", "tryton")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return ws, (ws / "reports" / "latest").resolve()


def _decision(run_id: str, scenario: str, resolution: str) -> str:
    return f"""\
decisions:
  - vendor: tryton
    scenario: {scenario}
    run: {run_id}
    kind: dispute
    who: Tryton's integrator
    when: "2026-11-29"
    why: The expectation asks for a name the account was never given.
    resolution: {resolution}
    resolved_by: the evaluation lead
"""


def test_an_upheld_dispute_on_a_real_run(starter_run: tuple[Path, Path]) -> None:
    ws, folder = starter_run
    results = (folder / "results.jsonl").read_bytes()
    events = list(read_events(folder / "results.jsonl"))
    run_id = next(e["run_id"] for e in events if e["event"] == "run")
    status = {e["scenario"]: e["status"] for e in events if e["event"] == "scenario"}
    assert status["STARTER-WRONG"] == "failed"
    passed = next(s for s, st in status.items() if st == "passed")

    # disputing a scenario that passed is a located error, and no report is written
    (ws / "decisions.yaml").write_text(_decision(run_id, passed, "upheld"))
    before = (folder / "scorecard.json").read_bytes()
    proc = crmproof("report", run_id, "-w", str(ws))
    assert proc.returncode == 1
    assert f"decisions.yaml:3:15: {passed} passed on tryton in run {run_id}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (folder / "scorecard.json").read_bytes() == before

    (ws / "decisions.yaml").write_text(_decision(run_id, "STARTER-WRONG", "upheld"))
    proc = crmproof("report", run_id, "-w", str(ws))
    assert proc.returncode == 0, proc.stderr
    assert "dispute upheld (was partly 50%)" in proc.stdout  # O2C-1.1: one of two passed
    assert "rank acceptability:" in proc.stdout
    assert (folder / "results.jsonl").read_bytes() == results
    card = json.loads((folder / "scorecard.json").read_text())
    tryton = card["vendors"][0]
    cell = tryton["requirements"]["O2C-1.1"]
    assert cell["verdict"] == "partly met" and cell["waived_verdict"] == "met"
    assert tryton["score_with_waivers"] > tryton["score"]
    assert crmproof("verify", run_id, "-w", str(ws)).returncode == 0

    out = folder / "scorecard.xlsx"
    assert crmproof("export", run_id, "-w", str(ws), "--xlsx", str(out)).returncode == 0
    assert "Waivers and disputes" in load_workbook(out).sheetnames
    out.unlink()  # not a file of the run: verify would count it as added

    path = ws / "decisions.yaml"
    path.write_text(path.read_text().replace("upheld", "rejected"))
    proc = crmproof("verify", run_id, "-w", str(ws))
    assert proc.returncode == 1
    assert "edited in the workspace since the report: decisions.yaml" in proc.stderr
