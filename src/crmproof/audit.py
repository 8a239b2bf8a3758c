"""`crmproof audit`: how much are the suite's "met" verdicts worth? Mutation testing.

Teams write their own scenarios, and a weak scenario lets a vendor's over-promise
through. So for every scenario that passes on a vendor, the audit runs it again, each
time with one wrong answer injected between the engine and the real vendor:

- a write (create, update, advance, convert) turned into a no-op that still answers ok;
- a find that answers everything the vendor holds of that entity, or nothing.

A scenario that still passes under a mutation is *weak* at that step: it never checks
what that step did. Suite strength = mutations caught / mutations tried, per vendor.

The mutation sits in a wrapper around the adapter, so it needs nothing of the adapter's
author and is the same for every vendor; the wrapper counts the scenario's writes and
finds in the order they are performed, so each mutation hits exactly one of them.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

from crmproof.adapter import Adapter
from crmproof.events import ResultEvent, ScenarioDone, StepDone
from crmproof.execute import ScenarioRun
from crmproof.proof import WRITES
from crmproof.protocol import Capabilities, Evidence, Hello, Operation, Outcome, RecordRef
from crmproof.workspace import Loaded

__all__ = [
    "AuditReport",
    "Mutant",
    "Mutation",
    "VendorAudit",
    "Weakness",
    "audit_vendor",
    "run_mutations",
    "text",
]

MutationKind = Literal["no-op write", "find everything", "find nothing"]


@dataclass(frozen=True)
class Mutation:
    kind: MutationKind
    nth: int  # the nth write (or find) the scenario performs, from 0


class Mutant(Adapter):
    """An adapter that tells the engine one lie, and otherwise passes everything through."""

    name = "mutant"

    def __init__(self, inner: Adapter, mutation: Mutation | None) -> None:
        super().__init__()
        self.inner = inner
        self.mutation = mutation
        self.writes = 0
        self.finds = 0
        self.steps_at: list[tuple[str, int]] = []  # (kind, how many steps had ended)
        self.ended_steps: Callable[[], int] = lambda: 0
        self.normalises = inner.normalises  # type: ignore[misc]

    def capabilities(self) -> Capabilities:
        return self.inner.declared()

    def declared(self) -> Capabilities:
        return self.inner.declared()

    def hello(self) -> Hello:
        return self.inner.hello()

    def begin(self, scenario: str) -> None:
        self.writes = self.finds = 0
        self.steps_at = []
        self.inner.begin(scenario)

    def end(self, scenario: str, status: str) -> list[Evidence]:
        return self.inner.end(scenario, status)

    def leftovers(self, marker: str) -> list[RecordRef] | None:
        return self.inner.leftovers(marker)

    def perform(self, op: Operation) -> Outcome:
        if op.cleanup:
            return self.inner.perform(op)
        if op.op in WRITES:
            nth, self.writes = self.writes, self.writes + 1
            self.steps_at.append(("write", self.ended_steps()))
            if self.mutation == Mutation("no-op write", nth):
                return self._no_op(op)
        elif op.op == "find":
            nth, self.finds = self.finds, self.finds + 1
            self.steps_at.append(("find", self.ended_steps()))
            if self.mutation == Mutation("find nothing", nth):
                return Outcome(status="ok", records=[])
            if self.mutation == Mutation("find everything", nth):
                return self.inner.perform(op.model_copy(update={"where": {}}))
        return self.inner.perform(op)

    def _no_op(self, op: Operation) -> Outcome:
        """ "Done", says the vendor, having done nothing."""
        if op.op == "create":
            return Outcome(status="ok", record={"id": "0", **op.data})
        current = self.inner.perform(Operation(op="get", entity=op.entity, id=op.id))
        return Outcome(status="ok", record=current.record or {"id": op.id})


class Weakness(BaseModel):
    scenario: str
    step: int | None = Field(description="The step's place in the scenario, from 0.")
    label: str
    mutation: MutationKind
    never_checked: str


class VendorAudit(BaseModel):
    vendor: str
    tried: int = 0
    caught: int = 0
    scenarios: int = 0
    not_tried: int = Field(0, description="Mutations left when the time budget ran out.")
    scenarios_left: int = Field(
        0, description="Scenarios not even run clean: the time budget was spent before them."
    )
    errored: int = Field(
        0,
        description="Mutated runs that ended in an error (the vendor broke): neither caught "
        "nor weak, so left out of the strength.",
    )
    weaknesses: list[Weakness] = Field(default_factory=list)
    seconds: float = 0.0

    @property
    def strength(self) -> float:
        return self.caught / self.tried if self.tried else 0.0


class AuditReport(BaseModel):
    vendors: list[VendorAudit] = Field(default_factory=list)


_NEVER_CHECKED: Mapping[MutationKind, str] = {
    "no-op write": "that the vendor really did this write",
    "find everything": "that the search leaves out what does not match",
    "find nothing": "that the search finds what it must",
}


@dataclass
class _Trial:
    adapter: Adapter
    caps: Capabilities
    vendor: str
    run_id: str
    events: list[ResultEvent] = field(default_factory=list)

    def run(self, loaded: Loaded, mutation: Mutation | None) -> tuple[str, Mutant]:
        self.events = []
        mutant = Mutant(self.adapter, mutation)
        mutant.ended_steps = lambda: sum(isinstance(e, StepDone) for e in self.events)
        ScenarioRun(mutant, self.caps, self.vendor, self.run_id, self.events.append).run(loaded)
        done = next(e for e in self.events if isinstance(e, ScenarioDone))
        return done.status, mutant


def audit_vendor(
    adapter: Adapter,
    caps: Capabilities,
    vendor: str,
    run_id: str,
    scenarios: list[Loaded],
    budget: float,
    progress: Callable[[str], None] = lambda _: None,
    more: Callable[[], Adapter] | None = None,
    workers: int = 1,
) -> VendorAudit:
    """Mutate every passing scenario, one write or find at a time, within `budget` s.

    As the runner does, up to `workers` scenarios are audited at once where the adapter
    declares it safe (`max_workers`); each extra worker has its own adapter from `more`
    (opened, used and closed in its own thread), so no session is ever shared.
    """
    report = VendorAudit(vendor=vendor)
    started = time.monotonic()
    queue = list(scenarios)
    lock = threading.Lock()

    def spent() -> bool:
        return time.monotonic() - started > budget

    def work(mine: Adapter) -> None:
        trial = _Trial(mine, caps, vendor, run_id)
        while True:
            with lock:
                if not queue:
                    return
                loaded = queue.pop(0)
                if spent():  # the budget is a bound: not even a clean run past it
                    report.scenarios_left += 1
                    continue
            _audit_one(trial, loaded, report, spent, progress, lock)

    def extra() -> None:
        assert more is not None
        try:
            mine = more()
        except Exception:  # the first worker still takes every scenario left
            return
        try:
            work(mine)
        finally:
            with contextlib.suppress(Exception):
                mine.close()

    wanted = min(workers, adapter.max_workers, len(scenarios)) if more else 1
    extras = [threading.Thread(target=extra, daemon=True) for _ in range(wanted - 1)]
    for thread in extras:
        thread.start()
    work(adapter)
    for thread in extras:
        thread.join()
    order = {loaded.model.id: i for i, loaded in enumerate(scenarios)}
    report.weaknesses.sort(key=lambda w: (order.get(w.scenario, 0), w.step or 0))
    report.seconds = round(time.monotonic() - started, 1)
    return report


def _audit_one(
    trial: _Trial,
    loaded: Loaded,
    report: VendorAudit,
    spent: Callable[[], bool],
    progress: Callable[[str], None],
    lock: threading.Lock,
) -> None:
    """One scenario: its clean run, then each of its mutations; tallies under `lock`."""
    status, clean = trial.run(loaded, None)
    if status != "passed":
        return  # only a pass can be too easy
    labels = {e.index: e.step for e in trial.events if isinstance(e, StepDone)}
    mutations = [Mutation("no-op write", n) for n in range(clean.writes)]
    for n in range(clean.finds):
        mutations += [Mutation("find everything", n), Mutation("find nothing", n)]
    writes = [at for kind, at in clean.steps_at if kind == "write"]
    finds = [at for kind, at in clean.steps_at if kind == "find"]
    with lock:
        report.scenarios += 1
    for mutation in mutations:
        if spent():
            with lock:
                report.not_tried += 1
            continue
        status, _ = trial.run(loaded, mutation)
        with lock:
            if status == "error":  # an outage is not a check: it proves nothing either way
                report.errored += 1
                continue
            report.tried += 1
            if status != "passed":
                report.caught += 1
                continue
            step = (writes if mutation.kind == "no-op write" else finds)[mutation.nth]
            weak = Weakness(
                scenario=loaded.model.id,
                step=step,
                label=labels.get(step, "?"),
                mutation=mutation.kind,
                never_checked=_NEVER_CHECKED[mutation.kind],
            )
            report.weaknesses.append(weak)
        progress(_weak_line(trial.vendor, weak))  # as found: a long audit shows its worth early
    with lock:
        tally = f"{report.caught}/{report.tried}"
    progress(f"{trial.vendor} {loaded.model.id}: {tally} caught so far")


def _weak_line(vendor: str, weak: Weakness) -> str:
    where = f"step {weak.step + 1} ({weak.label})" if weak.step is not None else "?"
    return (
        f"{vendor} / {weak.scenario}: WEAK at {where}: under '{weak.mutation}' "
        f"it still passes; it never checks {weak.never_checked}"
    )


def text(report: AuditReport) -> str:
    """The audit as a terminal report: weaknesses first, then the strength per vendor."""
    lines: list[str] = []
    for vendor in report.vendors:
        lines += [_weak_line(vendor.vendor, weak) for weak in vendor.weaknesses]
    for vendor in report.vendors:
        lines.append(
            f"{vendor.vendor}: suite strength {vendor.strength:.0%} "
            f"({vendor.caught} of {vendor.tried} mutations caught, over {vendor.scenarios} "
            f"passing scenarios, {vendor.seconds:g} s"
            + (f"; {vendor.not_tried} not tried: time budget spent" if vendor.not_tried else "")
            + (
                f"; {vendor.scenarios_left} scenarios left unaudited: time budget spent"
                if vendor.scenarios_left
                else ""
            )
            + (f"; {vendor.errored} ended in a vendor error, not counted" if vendor.errored else "")
            + ")"
        )
    return "\n".join(lines) + "\n"


def run_mutations(
    adapters: Mapping[str, tuple[Adapter, Capabilities]],
    scenarios: list[Loaded],
    run_id: str,
    budget: float,
    progress: Callable[[str], None] = lambda _: None,
    more: Mapping[str, Callable[[], Adapter]] | None = None,
    workers: int = 1,
) -> AuditReport:
    """Audit each vendor in turn (vendors never share a sandbox, so they could run apart).

    `more[vendor]` opens another adapter of that vendor, for `workers` at once.
    """
    report = AuditReport()
    for vendor, (adapter, caps) in adapters.items():
        report.vendors.append(
            audit_vendor(
                adapter,
                caps,
                vendor,
                run_id,
                scenarios,
                budget,
                progress,
                more=(more or {}).get(vendor),
                workers=workers,
            )
        )
    return report
