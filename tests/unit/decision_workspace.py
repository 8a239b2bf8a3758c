"""A tiny workspace and run folder for the decision layer's tests.

The run's results.jsonl is built with the runner's own suite snapshot and the JSON keys
the runner writes (run, vendor, scenario, end events), so scoring reads it as it reads a
real run; the integration test makes a real one on Tryton.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from crmproof import attest, manifest, render
from crmproof import workspace as workspaces
from crmproof.runner import suite_digest, suite_snapshot

ROOT = Path(__file__).resolve().parents[2]
RUN_ID = "20261129-120000-ab12"

EVALUATION = f"""\
name: Decisions test
vendors:
  good: {{adapter: tryton}}
  bad: {{adapter: tryton}}
adapters: {ROOT / "adapters"}
evaluators:
  ann: Ann, inside sales
  bob: Bob, sales manager
scoring:
  must_disqualifies: true
  acceptability: {{spread: 0.25, samples: 500, seed: 3}}
"""

CATALOG = """\
strategies:
  - {id: ST, title: Strategy}
roles:
  - {id: rep, title: Rep}
processes:
  - id: P
    title: Process
    strategy: ST
    steps:
      - {id: S1, title: One, role: rep}
      - {id: S2, title: Two, role: rep}
requirements:
  - {id: R1, step: S1, kind: process-control, priority: must, weight: 3, text: t, success: s}
  - {id: R2, step: S1, kind: process-control, priority: should, weight: 2, text: t, success: s}
  - {id: R3, step: S2, kind: process-control, priority: could, weight: 1, text: t, success: s}
  - id: D1
    step: S2
    kind: process-control
    priority: should
    weight: 2
    verified_by: demo
    text: A new rep finds it easy.
    success: Scored 0-5 in a demo.
"""

SCENARIO = """\
id: {id}
title: Scenario {id}
covers: {covers}
steps:
  - create: account
    with: {{name: "x ${{run.id}}"}}
"""

OUTCOMES = {
    "good": {"A": "passed", "B": "passed", "C": "failed"},
    "bad": {"A": "failed", "B": "passed", "C": "passed"},
}


def write_workspace(root: Path) -> workspaces.Suite:
    (root / "requirements").mkdir(parents=True)
    (root / "scenarios").mkdir()
    (root / "crmproof.yaml").write_text(EVALUATION)
    (root / "requirements" / "catalog.yaml").write_text(CATALOG)
    for sid, covers in (("A", "[R1, R2]"), ("B", "[R2]"), ("C", "[R3]")):
        (root / "scenarios" / f"{sid.lower()}.yaml").write_text(
            SCENARIO.format(id=sid, covers=covers)
        )
    return workspaces.load(root)


def events(suite: workspaces.Suite, outcomes: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    assert suite.evaluation is not None
    out: list[dict[str, Any]] = [
        {
            "event": "run",
            "format": 1,
            "at": 1.0,
            "run_id": RUN_ID,
            "evaluation": suite.evaluation.model.name,
            "scoring": suite.evaluation.model.scoring.model_dump(),
            "suite_sha256": suite_digest(suite),
            "vendors": {v: "tryton" for v in outcomes},
            "plan": [[v, s] for v, per in outcomes.items() for s in per],
            "suite": suite_snapshot(suite).model_dump(mode="json"),
        }
    ]
    for vendor, per in outcomes.items():
        out.append(
            {
                "event": "vendor",
                "vendor": vendor,
                "adapter": "tryton",
                "status": "ready",
                "channel": "api",
            }
        )
        for scenario, status in per.items():
            out.append(
                {
                    "event": "scenario",
                    "vendor": vendor,
                    "scenario": scenario,
                    "status": status,
                    "duration_ms": 5.0,
                }
            )
    out.append({"event": "end", "at": 2.0, "run_id": RUN_ID})
    return out


def write_run(root: Path, suite: workspaces.Suite) -> Path:
    """A finished run folder with its manifest, as `crmproof run` leaves it."""
    folder = root / "reports" / RUN_ID
    folder.mkdir(parents=True)
    lines = events(suite, OUTCOMES)
    (folder / "results.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    render.write_all(folder)
    manifest.write(folder, {})
    attest.write(folder, None, {})  # unsigned, as a run without a team key leaves it
    return folder


def decisions_yaml(*entries: str) -> str:
    return "decisions:\n" + "".join(textwrap.indent(textwrap.dedent(e), "  ") for e in entries)


WAIVER = f"""\
- vendor: bad
  requirement: R1
  run: {RUN_ID}
  kind: waiver
  who: Ann
  when: "2026-11-29"
  why: The workaround (a saved search) is acceptable.
"""

DISPUTE_UPHELD = f"""\
- vendor: good
  scenario: C
  run: {RUN_ID}
  kind: dispute
  who: Good Inc.
  when: "2026-11-29"
  why: The scenario asks for more than R3's success criterion.
  resolution: upheld
  resolved_by: Bob
"""

SHEET = """\
evaluator: {who}
scores:
{scores}
"""


def sheet(who: str, scores: dict[tuple[str, str], int]) -> str:
    body = "".join(
        f"  - {{vendor: {v}, requirement: {r}, score: {s}, comment: seen}}\n"
        for (v, r), s in scores.items()
    )
    return SHEET.format(who=who, scores=body.rstrip("\n"))
