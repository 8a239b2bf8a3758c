"""Logging each actor in once per run changes the time a browser vendor takes, not its effort.

Two reference scenarios run on the real DjangoCRM twice in one process: one that switches
actors (a partner, the other partner, back) and one where the first partner logs in again.
They run with every scenario logging in afresh, and with the sessions of the run restored.
Every step's effort and status must come out the same, and the second way must log in less.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crmproof import discovery, runner, sandbox
from crmproof import workspace as workspaces
from crmproof.browser import BrowserAdapter
from crmproof.events import ScenarioDone, StepDone
from crmproof.plan import Filters, make_plan
from crmproof.results import read_events

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ("PRM-NO-CHANGES-TO-OTHERS-DEAL", "PRM-PARTNER-REGISTERS-DEAL")


@pytest.fixture(scope="module")
def djangocrm() -> Iterator[None]:
    """Only DjangoCRM: this test needs no other vendor."""
    recipe = discovery.load("djangocrm", ROOT / "adapters").sandbox
    assert recipe is not None
    was_running = sandbox.status(sandbox.SandboxHome("djangocrm"))["running"]
    try:
        sandbox.up(recipe, lambda m: None)
    except sandbox.SandboxError as exc:
        pytest.fail(f"djangocrm sandbox could not start: {exc}", pytrace=False)
    yield
    if not was_running:
        sandbox.down(recipe)


def run_reference(
    tmp: Path, monkeypatch: pytest.MonkeyPatch, reuse: bool
) -> tuple[list[Any], list[str]]:
    """Run SCENARIOS on DjangoCRM; the events, and every page the adapters loaded."""
    pages: list[str] = []
    goto = BrowserAdapter.goto

    def counting_goto(self: BrowserAdapter, url: str) -> Any:
        pages.append(url)
        return goto(self, url)

    def settings(evaluation: Any, resolved: dict[str, Any]) -> dict[str, Any]:
        return {**opened(evaluation, resolved), "reuse_logins": reuse}

    opened = runner.open_settings
    monkeypatch.setattr(BrowserAdapter, "goto", counting_goto)
    monkeypatch.setattr(runner, "open_settings", settings)
    suite = workspaces.load(ROOT)
    jobs = make_plan(suite, Filters(vendors=("djangocrm",), ids=SCENARIOS))
    assert [j.scenario.model.id for j in jobs] == sorted(SCENARIOS)
    run = runner.Run(suite, jobs, tmp / ("reuse" if reuse else "fresh"))
    run.workers = 1  # the same order both times, so the same first log-ins
    folder = run.execute()
    monkeypatch.undo()
    return list(read_events(folder / "results.jsonl")), pages


def test_restored_logins_cost_the_same_effort_and_save_log_ins(
    djangocrm: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh, fresh_pages = run_reference(tmp_path, monkeypatch, reuse=False)
    reused, reused_pages = run_reference(tmp_path, monkeypatch, reuse=True)

    def steps(events: list[Any]) -> dict[tuple[str, int], tuple[str, Any]]:
        return {
            (e.scenario, e.index): (e.status, e.effort) for e in events if isinstance(e, StepDone)
        }

    def ends(events: list[Any]) -> dict[str, tuple[str, Any]]:
        return {e.scenario: (e.status, e.effort) for e in events if isinstance(e, ScenarioDone)}

    assert {s for s, _ in ends(fresh).values()} == {"passed"}, ends(fresh)
    assert steps(reused) == steps(fresh)
    assert ends(reused) == ends(fresh)
    logins = [len([p for p in pages if "login" in p]) for pages in (fresh_pages, reused_pages)]
    # Afresh: every actor in every scenario, and the admin again for cleanup and leftovers.
    # Restored: each of the three actors once, the rest from the run's sessions.
    assert logins[1] == 3 < logins[0], logins
    assert len(reused_pages) < len(fresh_pages)
