"""A stopped run (Ctrl-C) on the in-memory adapter with two workers per vendor: every
running scenario stops at its next step and is cleaned up, the run stays resumable, and
`--resume` finishes it. The terminal path (SIGINT to `crmproof run` on real Tryton) is
tests/integration/test_interrupt.py."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from crmproof import workspace as workspaces
from crmproof.events import (
    LeftoversFound,
    ResultEvent,
    RunEnded,
    RunInterrupted,
    ScenarioDone,
    StepDone,
)
from crmproof.plan import Filters, make_plan
from crmproof.results import read_events
from crmproof.runner import Run
from tests.memory_adapter import MemoryCrm, World
from tests.unit.test_engine import SCENARIOS, make_workspace


def test_a_stopped_run_cleans_up_every_worker_and_resumes(tmp_path: Path) -> None:
    world = MemoryCrm.world = World()
    root = make_workspace(tmp_path)
    suite = workspaces.load(root)
    run = Run(suite, make_plan(suite, Filters()), root / "reports")
    run.workers = 2
    held: list[int] = []

    def stop_inside_deal(event: ResultEvent) -> None:
        if isinstance(event, StepDone) and event.scenario == "DEAL" and event.index == 1:
            held.append(len(world.records))  # DEAL's account and opportunity exist now
            run.interrupt()

    run.progress = stop_inside_deal
    folder = run.execute()
    events = list(read_events(folder / "results.jsonl"))
    assert run.interrupted and held and held[0] >= 2
    assert any(isinstance(e, RunInterrupted) for e in events)
    assert not any(isinstance(e, RunEnded) for e in events)
    done = {e.scenario for e in events if isinstance(e, ScenarioDone)}
    assert "DEAL" not in done  # stopped mid-way: it runs again on resume
    assert world.records == {}  # what every running scenario created is gone
    (leftovers,) = [e for e in events if isinstance(e, LeftoversFound)]
    assert leftovers.checked and leftovers.records == []

    resumed = Run.resume(workspaces.load(root), root / "reports", "latest")
    assert "DEAL" in {j.scenario.model.id for j in resumed.jobs}
    assert resumed.orphans == {}  # nothing to clean: the stop cleaned up
    resumed.execute()
    events = list(read_events(folder / "results.jsonl"))
    assert isinstance(events[-1], RunEnded)
    finished = [e.scenario for e in events if isinstance(e, ScenarioDone)]
    assert sorted(finished) == sorted(set(finished)) and len(finished) == len(SCENARIOS)
    assert world.records == {}


def test_sigterm_stops_a_run_like_ctrl_c(tmp_path: Path) -> None:
    """CI cancels a job with SIGTERM, and a background run ignores SIGINT: the run must
    still clean up and stay resumable, not die with records left in the vendor."""
    world = MemoryCrm.world = World()
    root = make_workspace(tmp_path)
    suite = workspaces.load(root)
    run = Run(suite, make_plan(suite, Filters()), root / "reports")

    def terminate_inside_deal(event: ResultEvent) -> None:
        if isinstance(event, StepDone) and event.scenario == "DEAL" and event.index == 1:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.5)  # the main thread takes the signal while this worker waits

    run.progress = terminate_inside_deal
    folder = run.execute()
    events = list(read_events(folder / "results.jsonl"))
    assert run.interrupted and any(isinstance(e, RunInterrupted) for e in events)
    assert "DEAL" not in {e.scenario for e in events if isinstance(e, ScenarioDone)}
    assert world.records == {}
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back after the run


def test_a_worker_waiting_for_a_slot_starts_nothing_once_the_run_is_stopped(
    tmp_path: Path,
) -> None:
    """One slot, two workers: the second waits for the slot with its next scenario in
    hand. A stop hands it the slot; it must not start that scenario, which `--resume`
    runs instead."""
    world = MemoryCrm.world = World()
    root = make_workspace(tmp_path)
    config = root / "crmproof.yaml"
    config.write_text(config.read_text().replace("run: {", "run: {max_workers: 1, "))
    suite = workspaces.load(root)
    run = Run(suite, make_plan(suite, Filters()), root / "reports")
    run.workers = 2
    stopped_at: list[int] = []
    waiting: list[int] = []
    events: list[ResultEvent] = []

    def stop_inside_deal(event: ResultEvent) -> None:
        events.append(event)
        if isinstance(event, StepDone) and event.scenario == "DEAL" and event.index == 1:
            deadline = time.monotonic() + 5
            while run._budget.waiting == 0 and time.monotonic() < deadline:
                time.sleep(0.001)  # the other worker is now waiting for the slot
            waiting.append(run._budget.waiting)
            stopped_at.append(len(events))
            run.interrupt()

    run.progress = stop_inside_deal
    run.execute()
    assert stopped_at, "DEAL never reached its second step"
    assert waiting == [1], "the other worker was not waiting for the slot"
    after_stop = events[stopped_at[0] :]
    started = {e.scenario for e in after_stop if isinstance(e, StepDone)} - {"DEAL"}
    assert started == set(), f"started after the stop: {sorted(started)}"
    assert world.records == {}

    resumed = Run.resume(workspaces.load(root), root / "reports", "latest")
    assert {"DEAL", "PRIVATE"} <= {j.scenario.model.id for j in resumed.jobs}
