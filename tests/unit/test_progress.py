"""The live display's state, fed the runner's events, drawn as a terminal would show it."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from crmproof import workspace
from crmproof.events import (
    CleanupDone,
    RunInterrupted,
    ScenarioDone,
    StepDone,
    VendorReady,
)
from crmproof.plan import Filters, make_plan
from crmproof.progress import LiveProgress

STARTER = Path(__file__).resolve().parents[2] / "examples" / "starter"


def step(scenario: str, index: int) -> StepDone:
    return StepDone(
        vendor="tryton", scenario=scenario, index=index, line=1, step="x", status="passed"
    )


def shown(console: Console, display: LiveProgress) -> str:
    console.print(display)
    return console.export_text()


def test_counts_and_the_steps_now_running_with_two_workers() -> None:
    jobs = make_plan(workspace.load(STARTER), Filters((), (), (), ("tryton",)))
    console = Console(record=True, width=200, force_terminal=False)
    display = LiveProgress(jobs, console=console)
    first, second, third = (j.scenario.model for j in jobs[:3])
    display(VendorReady(vendor="tryton", adapter="tryton", status="ready"))
    display.scenario_started("tryton", first.id)
    display.scenario_started("tryton", second.id)  # a second worker of the same vendor
    display(step(first.id, 0))
    display(ScenarioDone(vendor="tryton", scenario=first.id, status="passed"))
    display(step(second.id, 1))
    display.scenario_started("tryton", third.id)
    text = shown(console, display)
    row = next(line for line in text.splitlines() if line.startswith("tryton"))
    assert f"1/{len(jobs)}" in row
    assert first.id not in text
    assert second.id in text and f"step 3/{len(second.steps)}: {second.steps[2].label()}" in text
    assert third.id in text and f"step 1/{len(third.steps)}" in text
    display(ScenarioDone(vendor="tryton", scenario=third.id, status="failed"))
    display(CleanupDone(vendor="tryton", scenario=second.id, entity="x", id="1", status="ok"))
    display(RunInterrupted(run_id="x"))
    text = shown(console, display)
    assert "interrupted: cleaning up" in text and "Ctrl-C: stopping" in text
    row = [line for line in text.splitlines() if line.startswith("tryton")][-1]
    assert row.split()[2:6] == [f"2/{len(jobs)}", "1", "1", "0"]
