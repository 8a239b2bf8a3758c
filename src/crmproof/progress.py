"""A live display of a run on a terminal: one row per vendor, redrawn as events arrive.

A five-minute evaluation that prints one line per scenario does not say how far each vendor
has got or what is running now. The runner hands every event it writes to a progress
callback, and says when a worker picks up a scenario (`Run.on_scenario`); this module keeps
a small state per vendor from those (scenarios done of total, passed / failed / error and
the other statuses, the scenarios now running and their steps) and `rich` redraws it. With
several workers per vendor (run.workers) a vendor runs several scenarios at once, each
shown with its own step. Off a terminal the CLI keeps its one line per scenario.

A step event is written when a step has finished, so the step now running is the one
after the last finished step; its label comes from the scenario itself.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from types import TracebackType

from rich.console import Console, Group, JustifyMethod
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from crmproof.events import (
    CleanupDone,
    LeftoversFound,
    ResultEvent,
    RunInterrupted,
    ScenarioDone,
    StepDone,
    VendorReady,
)
from crmproof.plan import Job

OTHER = ("not offered", "not shown", "untested")


@dataclass
class Running:
    """One scenario a worker is in: its last finished step, or cleaning up after it."""

    step: int | None = None
    cleaning: bool = False


@dataclass
class VendorState:
    name: str
    total: int = 0
    done: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    running: dict[str, Running] = field(default_factory=dict)
    ended: dict[str, str] = field(default_factory=dict)  # scenario -> its last status
    problem: str | None = None
    started: float | None = None
    finished: float | None = None


class LiveProgress:
    """The progress callback for `Run` and, as a context manager, the live display."""

    def __init__(self, jobs: list[Job], console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.started = time.monotonic()
        self.interrupted = False
        self._lock = threading.Lock()
        self.vendors: dict[str, VendorState] = {}
        self.steps: dict[str, list[str]] = {}
        for job in jobs:
            state = self.vendors.setdefault(job.vendor, VendorState(job.vendor))
            state.total += 1
            scenario = job.scenario.model
            self.steps[scenario.id] = [s.title or s.label() for s in scenario.steps]
        self._live = Live(
            self, console=self.console, refresh_per_second=4, transient=False, redirect_stderr=False
        )

    # -- fed by the runner, from every vendor's threads -----------------------------------

    def scenario_started(self, vendor: str, scenario: str) -> None:
        with self._lock:
            state = self.vendors.get(vendor)
            if state is not None:
                state.started = state.started or time.monotonic()
                state.running[scenario] = Running()

    def __call__(self, event: ResultEvent) -> None:
        with self._lock:
            if isinstance(event, RunInterrupted):
                self.interrupted = True
                return
            state = self.vendors.get(getattr(event, "vendor", ""))
            if state is None:
                return
            state.started = state.started or time.monotonic()
            if isinstance(event, VendorReady) and event.status != "ready":
                state.problem = event.message or event.status
            elif isinstance(event, StepDone):
                running = state.running.setdefault(event.scenario, Running())
                running.step, running.cleaning = event.index, False
            elif isinstance(event, CleanupDone) and event.scenario in state.running:
                state.running[event.scenario].cleaning = True
            elif isinstance(event, ScenarioDone):
                state.running.pop(event.scenario, None)
                earlier = state.ended.get(event.scenario) if event.attempt else None
                if earlier is not None:  # a re-run's end replaces the first one's
                    state.counts[earlier] -= 1
                else:
                    state.done += 1
                state.ended[event.scenario] = event.status
                state.counts[event.status] = state.counts.get(event.status, 0) + 1
                if state.done >= state.total:
                    state.finished = time.monotonic()
            elif isinstance(event, LeftoversFound):
                state.running.clear()
                state.finished = state.finished or time.monotonic()

    # -- drawn by rich ----------------------------------------------------------------------

    def _doing(self, scenario: str, running: Running) -> Text:
        steps = self.steps.get(scenario, [])
        if running.cleaning:
            doing = "cleaning up"
        else:
            index = 0 if running.step is None else running.step + 1
            label = steps[index] if index < len(steps) else "finishing"
            doing = f"step {min(index + 1, len(steps))}/{len(steps)}: {label}"
        if self.interrupted:
            doing = f"interrupted: {doing}"
        return Text.assemble((scenario, "bold"), "  ", (doing, "cyan"))

    def _now(self, state: VendorState) -> Text:
        if state.problem:
            return Text(state.problem, style="red")
        if state.done >= state.total:
            return Text("done", style="green")
        if not state.running:
            return Text("stopping" if self.interrupted else "starting", style="dim")
        return Text("\n").join(self._doing(s, r) for s, r in state.running.items())

    def __rich__(self) -> Group:
        with self._lock:
            table = Table(box=None, pad_edge=False, expand=False)
            columns: tuple[tuple[str, JustifyMethod], ...] = (
                ("vendor", "left"),
                ("progress", "left"),
                ("done", "right"),
                ("passed", "right"),
                ("failed", "right"),
                ("error", "right"),
                ("other", "right"),
                ("time", "right"),
                ("now running", "left"),
            )
            for column, justify in columns:
                table.add_column(column, justify=justify, no_wrap=column != "now running")
            now = time.monotonic()
            for state in self.vendors.values():
                elapsed = (state.finished or now) - state.started if state.started else 0.0
                table.add_row(
                    state.name,
                    ProgressBar(total=max(1, state.total), completed=state.done, width=20),
                    f"{state.done}/{state.total}",
                    Text(str(state.counts.get("passed", 0)), style="green"),
                    Text(str(state.counts.get("failed", 0)), style="red"),
                    Text(str(state.counts.get("error", 0)), style="magenta"),
                    Text(str(sum(state.counts.get(s, 0) for s in OTHER)), style="yellow"),
                    f"{elapsed:5.1f}s",
                    self._now(state),
                )
            done = sum(s.done for s in self.vendors.values())
            total = sum(s.total for s in self.vendors.values())
            hint = (
                "  (Ctrl-C: stopping after the current steps, cleaning up)"
                if self.interrupted
                else "  (Ctrl-C stops cleanly; --resume finishes; other: not offered, "
                "not shown, untested)"
            )
            footer = Text(f"{done}/{total} scenario runs, {now - self.started:.1f}s{hint}")
            footer.stylize("dim")
            return Group(table, footer)

    # -- lifetime ---------------------------------------------------------------------------

    def __enter__(self) -> LiveProgress:
        self._live.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._live.stop()
