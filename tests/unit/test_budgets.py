"""Effort budgets: what a task may cost its user, judged only where effort is counted.

The in-memory CRM is run twice by the real runner: once as what it is (an API channel,
which counts no clicks), once as a "browser" that counts a fixed effort per step, so
a budget's three outcomes are pinned: within it, over it (expected vs actual), untested.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from crmproof.events import ScenarioDone, StepDone
from crmproof.protocol import Channel, Operation
from crmproof.results import read_events
from crmproof.scoring import score
from tests.memory_adapter import MemoryCrm, World
from tests.unit.test_engine import make_workspace, run_workspace


@pytest.fixture()
def crm() -> Iterator[World]:
    MemoryCrm.world = World()
    yield MemoryCrm.world


class ClickingCrm(MemoryCrm):
    """The same CRM behind a UI: creating an account costs 6 clicks and 40 keystrokes."""

    name = "clicking"
    channel: ClassVar[Channel] = "browser"

    def create_account(self, op: Operation) -> dict[str, Any]:
        self.step.add_effort(clicks=6, keystrokes=40, fields=2, pages=1)
        return super().create_account(op)


BUDGETED = {
    "step.yaml": """
        id: STEP-BUDGET
        title: An account within a step budget
        covers: [R-ACCOUNT]
        steps:
          - create: account
            with: {name: "Acme ${run.id}"}
            budget: {clicks: 8, keystrokes: 120}
    """,
    "tight.yaml": """
        id: TIGHT
        title: An account over a deliberately tight step budget
        covers: [R-DEAL]
        steps:
          - create: account
            with: {name: "Globex ${run.id}"}
            budget: {clicks: 2, keystrokes: 120}
          - find: account
            where: {name: "Globex ${run.id}"}
    """,
    "whole.yaml": """
        id: WHOLE
        title: Two accounts over the scenario's budget
        covers: [R-PRIVATE]
        budget: {clicks: 10}
        steps:
          - create: account
            with: {name: "One ${run.id}"}
          - create: account
            with: {name: "Two ${run.id}"}
    """,
}


def _run(tmp_path: Path, adapter: str) -> Path:
    """The workspace with its vendor on `adapter`, loaded under its own name (adapters
    are imported once per process and name)."""
    root = make_workspace(tmp_path, BUDGETED)
    folder = root / "adapters" / adapter.lower()
    folder.mkdir(exist_ok=True)
    (folder / "__init__.py").write_text(
        f"from tests.unit.test_budgets import {adapter} as adapter\n"
    )
    config = root / "crmproof.yaml"
    config.write_text(config.read_text().replace("adapter: memory", f"adapter: {folder.name}"))
    return run_workspace(root)


def test_a_browser_vendor_is_held_to_its_budgets(tmp_path: Path, crm: World) -> None:
    folder = _run(tmp_path, "ClickingCrm")
    events = list(read_events(folder / "results.jsonl"))
    done = {e.scenario: e for e in events if isinstance(e, ScenarioDone)}
    assert done["STEP-BUDGET"].status == "passed"

    tight = done["TIGHT"]
    assert tight.status == "failed"
    step = next(e for e in events if isinstance(e, StepDone) and e.scenario == "TIGHT")
    assert step.status == "failed"
    assert step.expected == "at most 2 clicks, 120 keystrokes"
    assert step.actual == "6 clicks, 40 keystrokes"
    assert "over its effort budget" in (step.message or "")
    skipped = [e for e in events if isinstance(e, StepDone) and e.scenario == "TIGHT"][1]
    assert skipped.status == "skipped"  # an over-budget step ends the scenario like a failure

    whole = done["WHOLE"]
    assert whole.status == "failed"
    assert whole.message == (
        "the scenario is over its effort budget: expected at most 10 clicks; actual 12 clicks"
    )
    vendor = score(events).vendors[0]
    assert vendor.requirements["R-DEAL"].verdict == "not met"
    assert vendor.requirements["R-ACCOUNT"].verdict == "met"


def test_through_an_api_a_budget_is_untested_never_met(tmp_path: Path, crm: World) -> None:
    folder = _run(tmp_path, "MemoryCrm")
    events = list(read_events(folder / "results.jsonl"))
    done = {e.scenario: e for e in events if isinstance(e, ScenarioDone)}
    assert {s: e.status for s, e in done.items()} == {
        "STEP-BUDGET": "untested",
        "TIGHT": "untested",
        "WHOLE": "untested",
    }
    assert "channel: an API client makes no clicks" in (done["TIGHT"].message or "")
    steps = [e.status for e in events if isinstance(e, StepDone) and e.scenario == "TIGHT"]
    assert steps == ["passed", "passed"]  # the task itself was done and proven
    vendor = score(events).vendors[0]
    assert {vendor.requirements[r].verdict for r in ("R-ACCOUNT", "R-DEAL")} == {"untested"}
