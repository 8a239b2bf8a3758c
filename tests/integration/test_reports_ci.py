"""HAR behind every API cell, CTRF beside JUnit, and the CI job summary: on real Tryton."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from tests.starter_run import StarterRun

ROOT = Path(__file__).resolve().parents[2]
STARTER = ROOT / "examples" / "starter"
SCHEMAS = ROOT / "tests" / "data" / "schemas"


@pytest.fixture(scope="module")
def run_folder(starter_run: StarterRun) -> tuple[Path, Path]:
    """The starter run: every scenario's evidence kept, a job summary, CI's run id."""
    return starter_run.folder, starter_run.summary


def test_every_api_cell_links_to_a_har_that_parses(run_folder: tuple[Path, Path]) -> None:
    folder, _ = run_folder
    schema = json.loads((SCHEMAS / "har-1.2.schema.json").read_text())
    page = (folder / "index.html").read_text()
    card = json.loads((folder / "scorecard.json").read_text())
    (tryton,) = card["vendors"]
    cells = [c for c in tryton["requirements"].values() if c["scenarios"]]
    assert cells
    for cell in cells:
        for sid in cell["scenarios"]:
            href = f"evidence/tryton/{sid}.har"
            assert re.search(rf'>{sid}</a> <a class="har" href="{href}"', page), sid
            har = json.loads((folder / href).read_text())
            jsonschema.validate(har, schema)
            assert har["log"]["entries"], f"{href} records no exchange"
    manifest = json.loads((folder / "manifest.json").read_text())["files"]
    assert {f for f in manifest if f.endswith(".har")} == {
        f"evidence/tryton/{s['id']}.har" for s in tryton["scenarios"].values()
    }


def test_ctrf_validates_and_carries_the_shared_run_id(run_folder: tuple[Path, Path]) -> None:
    folder, _ = run_folder
    schema = json.loads((SCHEMAS / "ctrf.schema.json").read_text())
    report = json.loads((folder / "ctrf.json").read_text())
    jsonschema.validate(report, schema, format_checker=jsonschema.FormatChecker())
    results = report["results"]
    assert results["extra"]["runId"] == "shard-run-42"
    assert results["summary"]["tests"] == 5
    statuses = {t["name"]: t["status"] for t in results["tests"]}
    assert statuses["STARTER-WRONG[tryton]"] == "failed"
    assert statuses["STARTER-ACCOUNT[tryton]"] == "passed"
    wrong = next(t for t in results["tests"] if t["name"] == "STARTER-WRONG[tryton]")
    assert wrong["line"] == 12 and wrong["filePath"].endswith("scenarios/wrong.yaml")
    assert "Pied Piper" in wrong["extra"]["failedStep"]["expected"]


def test_the_job_summary_is_appended_with_gates_first(run_folder: tuple[Path, Path]) -> None:
    _, summary = run_folder
    text = summary.read_text()
    assert text.startswith("earlier step\n")  # appended, not overwritten
    gates, musts = text.index("### Gates"), text.index("### Failed musts")
    assert gates < musts < text.index("Full scorecard")
    assert "| tryton | DISQUALIFIED by `O2C-1.1` |" in text
    assert "`STARTER-WRONG` failed (line 12" in text
