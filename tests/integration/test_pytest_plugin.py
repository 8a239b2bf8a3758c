"""The same verdicts through `pytest --crmproof` (alone and with xdist -n 2) as through
`crmproof run`, on the starter suite against real Tryton, each in one run folder."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.cli import crmproof
from tests.starter_run import StarterRun

ROOT = Path(__file__).resolve().parents[2]
STARTER = ROOT / "examples" / "starter"


def verdicts(folder: Path) -> dict[str, Any]:
    card = json.loads((folder / "scorecard.json").read_text())
    return {
        v["name"]: {
            "requirements": {k: c["verdict"] for k, c in v["requirements"].items()},
            "scenarios": {k: s["status"] for k, s in v["scenarios"].items()},
            "left behind": [r for r in v["leftovers"] or [] if not r.get("kept")],
            "cleanup checked": v["leftovers"] is not None,
        }
        for v in card["vendors"]
    }


def only_run_folder(reports: Path) -> Path:
    (folder,) = [p for p in reports.iterdir() if p.name != "latest"]
    assert (reports / "latest").resolve() == folder.resolve()
    return folder


@pytest.fixture(scope="module")
def cli_verdicts(starter_run: StarterRun) -> dict[str, Any]:
    return verdicts(only_run_folder(starter_run.reports))


@pytest.mark.parametrize("workers", [[], ["-p", "xdist", "-n", "2"]], ids=["serial", "xdist"])
def test_pytest_gives_the_cli_verdicts_in_one_run_folder(
    cli_verdicts: dict[str, Any], tmp_path: Path, workers: list[str]
) -> None:
    reports, junit = tmp_path / "reports", tmp_path / "junit.xml"
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *workers),
            *("--crmproof", "examples/starter", "--crmproof-vendor", "tryton"),
            *("--crmproof-reports", str(reports), "--junitxml", str(junit)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out  # the deliberately wrong scenario fails
    assert "3 passed" in out and "2 failed" in out, out
    assert "examples/starter/scenarios/wrong.yaml:12: step 2 (expect value) failed" in out
    assert "expected: 'Pied Piper" in out and "actual:   'Hooli" in out
    assert "evidence (http): " in out and "STARTER-WRONG.har" in out
    assert "Traceback" not in out and "def runtest" not in out
    folder = only_run_folder(reports)
    assert verdicts(folder) == cli_verdicts
    events = [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run" and kinds[-1] == "end" and kinds.count("run") == 1
    assert kinds.count("scenario") == 5 and kinds.count("leftovers") == 1
    assert {e["run_id"] for e in events if "run_id" in e} == {folder.name}
    assert not (folder / ".parts").exists()
    check = crmproof("verify", str(folder), timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    cases = ET.parse(junit).getroot().iter("testcase")
    failed = sorted(c.get("name", "") for c in cases if c.find("failure") is not None)
    assert failed == ["STARTER-REP-PRIVACY[tryton]", "STARTER-WRONG[tryton]"]
