"""The starter suite's run on the real Tryton sandbox, made once for the modules that read it
(the `starter_run` fixture of tests/conftest.py).

The CI report files, the evidence pack and the pytest plugin's comparison each need a
finished `crmproof run` of the starter suite on Tryton, and none changes it. One run, with
what each of them looks at (every scenario's evidence, a signature, a job summary, a run
id from CI), spares the test session two runs of the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crmproof.keys import SIGNING_KEY_ENV
from tests.cli import crmproof

STARTER = Path(__file__).resolve().parents[1] / "examples" / "starter"


@dataclass(frozen=True)
class StarterRun:
    reports: Path  # the --reports folder: this run's folder and `latest` only
    folder: Path
    stdout: str
    summary: Path  # $GITHUB_STEP_SUMMARY, which held "earlier step\n" before the run
    public_key: Path  # signed with the private key beside it


def run_starter(tmp: Path) -> StarterRun:
    """Run the starter suite on Tryton (its sandbox up) in the empty folder `tmp`."""
    made = crmproof(
        "key", "new", "--out", str(tmp / "keys"), "--name", "team", env={SIGNING_KEY_ENV: None}
    )
    assert made.returncode == 0, made.stderr
    summary = tmp / "step-summary.md"
    summary.write_text("earlier step\n")
    reports = tmp / "reports"
    run = crmproof(
        *("run", "-w", str(STARTER), "--vendor", "tryton", "--reports", str(reports)),
        *("--evidence", "all", "--no-progress"),
        env={
            SIGNING_KEY_ENV: str(tmp / "keys" / "team.key"),
            "GITHUB_STEP_SUMMARY": str(summary),
            "CRMPROOF_RUN_ID": "shard-run-42",
        },
        timeout=900,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return StarterRun(
        reports=reports,
        folder=(reports / "latest").resolve(),
        stdout=run.stdout,
        summary=summary,
        public_key=tmp / "keys" / "team.pub",
    )
