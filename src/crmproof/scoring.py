"""From results.jsonl to verdicts and scores, rolled up the four layers.

A requirement's verdict for a vendor comes from the scenarios that cover it:

    met          every covering scenario passed
    partly met   some passed; the others failed, or the product lacks what they need
    not met      none passed and at least one failed: the vendor did it wrong
    not offered  none passed, none failed, and the adapter declares (with a reason citing
                 the product) that the product lacks what they need
    not shown    none could run because nobody mapped a step: says nothing of the product
    untested     no decisive result: the run broke, a scenario was flaky (passed only when
                 re-run), or the channel cannot exercise it
    not covered  no scenario covers it

Score = sum(weight x fraction met) / sum(weight), over every requirement but the `wont`s;
every verdict other than met and partly met counts as nothing met, and is listed, because
a team must not mistake a gap in the evidence for a strength. The must gates name their
cause: a `must` not met, partly met or not offered disqualifies the vendor whatever its
score; a `must` not shown or untested leaves it *unproven*: no recommendation until shown.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from crmproof.errors import ResultsError
from crmproof.events import (
    Claim,
    CleanupDone,
    LeftoversFound,
    ResultEvent,
    RunEnded,
    RunStarted,
    ScenarioDone,
    StepDone,
    SuiteSnapshot,
    VendorReady,
)
from crmproof.protocol import Evidence
from crmproof.results import UNDECIDING, read_deciding_events

VERDICTS = ["met", "partly met", "not met", "not offered", "not shown", "untested", "not covered"]
DISQUALIFYING = {"not met", "partly met", "not offered"}
UNPROVEN = {"not shown", "untested"}


class ScenarioResult(BaseModel):
    """One scenario on one vendor, with the step that decided it when it did not pass."""

    id: str
    status: str
    message: str | None = None
    effort: dict[str, int] | None = None
    duration_ms: float = 0
    failed_step: StepDone | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    lacking: list[str] = Field(
        default_factory=list, description="Fields the product lacks, left out of the run."
    )
    asked: int = 0

    @property
    def shown(self) -> float:
        """How much of the scenario a pass proves: all of it, less the fields left out."""
        if self.status != "passed" or not self.lacking:
            return 1.0 if self.status == "passed" else 0.0
        return max(0.0, (self.asked - len(self.lacking)) / max(self.asked, 1))


class Cell(BaseModel):
    verdict: str
    fraction: float
    scenarios: list[str] = Field(default_factory=list)
    effort: dict[str, int] | None = None
    claim: Claim | None = Field(None, description="The vendor's claim for it, if any.")
    lacking: list[str] = Field(
        default_factory=list, description="Fields the product lacks, so met only in part."
    )
    promise: Promise | None = Field(None, description="The claim held against the proof.")
    stale: list[str] = Field(
        default_factory=list, description="What changed since the run (see crmproof.stale)."
    )
    stale_verdict: str | None = None  # the verdict before it went stale
    # The decision layer (crmproof.decide): human evidence and the team's decisions.
    source: str = Field(
        default="scenario", description="`scenario` (automated) or `demo` (people)."
    )
    demo: dict[str, Any] | None = Field(
        default=None, description="Evaluators' scores and their spread."
    )
    decisions: list[dict[str, Any]] = Field(default_factory=list, description="Waivers, disputes.")
    waived_verdict: str | None = Field(
        default=None, description="The verdict with waivers applied."
    )
    waived_fraction: float | None = Field(
        default=None, description="The fraction with waivers applied."
    )


# A claim held against the proof. Only claims that the product does it as it stands
# (natively or by standard configuration) are promises: they are kept or broken.
Promise = Literal["kept", "broken", "unproven", "better than claimed"]
PROMISING = ("native", "configuration")


def promise_of(claim: Claim | None, verdict: str, lacking: bool = False) -> Promise | None:
    """Whether a claim was kept: a native or configuration claim is a promise to meet it.

    A requirement partly met only because the product lacks fields it was declared to
    lack bears the "not offered" claim out; it is no better than claimed.
    """
    if claim is None:
        return None
    if claim.fit in PROMISING:
        if verdict == "met":
            return "kept"
        if verdict in ("not met", "partly met", "not offered"):
            return "broken"
        return "unproven"
    if claim.fit == "not-offered" and (
        verdict == "met" or (verdict == "partly met" and not lacking)
    ):
        return "better than claimed"
    return None


class VendorCard(BaseModel):
    name: str
    adapter: str
    status: str = "ready"
    message: str | None = None
    adapter_version: str | None = None
    vendor_version: str | None = None
    channel: str | None = None
    score: float = 0.0
    disqualified: bool = False
    disqualified_by: list[str] = Field(default_factory=list)
    unproven_by: list[str] = Field(
        default_factory=list, description="Musts not shown or untested: no recommendation yet."
    )
    promises: dict[str, int] = Field(
        default_factory=dict,
        description="Native or configuration claims kept, broken and unproven; and "
        "'not offered' claims that passed anyway.",
    )
    broken_promises: list[str] = Field(
        default_factory=list,
        description="Requirements claimed native or configuration that failed.",
    )
    verdicts: dict[str, int] = Field(default_factory=dict)
    requirements: dict[str, Cell] = Field(default_factory=dict)
    scenarios: dict[str, ScenarioResult] = Field(default_factory=dict)
    rollups: dict[str, dict[str, float]] = Field(default_factory=dict)
    effort: dict[str, int] | None = None
    cleanup_failed: int = 0
    leftovers: list[dict[str, Any]] | None = Field(
        None, description="Records of this run found in the vendor afterwards; None: not checked."
    )
    score_with_waivers: float | None = Field(
        default=None, description="The score with waivers applied."
    )
    disqualified_with_waivers: bool | None = None
    disqualified_by_with_waivers: list[str] = Field(default_factory=list)

    @property
    def left_behind(self) -> list[dict[str, Any]]:
        """Records of the run still live in the vendor: a cleanup failure."""
        return [r for r in self.leftovers or [] if not r.get("kept")]

    @property
    def kept(self) -> list[dict[str, Any]]:
        """Records the vendor keeps by design, neutralised (cancelled, archived)."""
        return [r for r in self.leftovers or [] if r.get("kept")]


class Scorecard(BaseModel):
    run_id: str
    evaluation: str
    started: float
    finished: float | None
    complete: bool
    suite_sha256: str
    must_disqualifies: bool
    requirements: list[dict[str, Any]]
    processes: list[dict[str, Any]]
    strategies: list[dict[str, Any]]
    roles: list[dict[str, Any]]
    vendors: list[VendorCard]
    ranking: list[str]
    stability: dict[str, Any] | None = Field(
        None, description="How far one weight must move before the top two swap places."
    )
    suite_strength: dict[str, float] | None = Field(
        None,
        description="Per vendor, mutations caught / tried by `crmproof audit`: how much "
        "the suite's met verdicts are worth. None: not audited.",
    )
    stale: int = 0  # cells resting on a requirement or scenario changed since the run
    changed_since_run: list[str] = Field(default_factory=list)
    ranking_with_waivers: list[str] | None = Field(
        default=None, description="The ranking, waivers applied."
    )
    decisions: list[dict[str, Any]] = Field(
        default_factory=list, description="The run's waivers and disputes (decisions.yaml)."
    )
    evaluators: dict[str, str] = Field(default_factory=dict, description="Who scored demos.")
    acceptability: dict[str, Any] | None = Field(
        default=None,
        description="Rank acceptability: each vendor's chance of each place under weights.",
    )


def _add_effort(total: dict[str, int] | None, more: dict[str, int] | None) -> dict[str, int] | None:
    if not more:
        return total
    total = dict(total or {})
    for key, value in more.items():
        total[key] = total.get(key, 0) + value
    return total


def verdict_of(statuses: list[str], shown: list[float] | None = None) -> tuple[str, float]:
    """A requirement's verdict from the statuses of the scenarios covering it.

    `shown` is, per scenario, how much of it a pass proves (less than 1 when fields the
    product lacks were left out): such a pass makes the requirement partly met.
    """
    if not statuses:
        return "untested", 0.0
    shown = shown or [1.0] * len(statuses)
    proven = sum(f for s, f in zip(statuses, shown, strict=True) if s == "passed")
    passed = statuses.count("passed")
    failed = statuses.count("failed")
    lacking = statuses.count("not offered")
    unshown = statuses.count("not shown")
    undecided = len(statuses) - passed - failed - lacking - unshown
    if undecided:
        return "untested", 0.0
    if passed == len(statuses) and proven >= len(statuses):
        return "met", 1.0
    if passed:
        return "partly met", proven / len(statuses)
    if failed:
        return "not met", 0.0
    if lacking:
        return "not offered", 0.0
    return "not shown", 0.0


def weighted(requirements: Iterable[dict[str, Any]], cells: dict[str, Cell]) -> float:
    total = met = 0.0
    for req in requirements:
        if req["priority"] == "wont":
            continue
        total += req["weight"]
        met += req["weight"] * cells[req["id"]].fraction
    return round(met / total, 4) if total else 0.0


def score(events: Iterable[ResultEvent]) -> Scorecard:
    """The scorecard of a run, from its events in one pass.

    Memory grows with vendors x scenarios (one result each, and the first step of each
    that did not pass), never with the number of events, so a run of a million steps
    scores in constant memory per scenario.
    """
    run: RunStarted | None = None
    end: RunEnded | None = None
    cards: dict[str, VendorCard] = {}
    failed_steps: dict[tuple[str, str], StepDone] = {}
    for event in events:
        if type(event) is StepDone:  # nearly every event: decided first, at the least cost
            if event.status not in UNDECIDING and event.vendor in cards:
                failed_steps[(event.vendor, event.scenario)] = event
            continue
        if isinstance(event, RunStarted):
            run = event
            cards = {v: VendorCard(name=v, adapter=a) for v, a in event.vendors.items()}
            continue
        if isinstance(event, RunEnded):
            end = event
            continue
        card = cards.get(getattr(event, "vendor", ""))
        if card is None:
            continue
        if isinstance(event, VendorReady):
            card.status = event.status
            card.message = event.message
            card.adapter_version = event.adapter_version
            card.vendor_version = event.vendor_version
            card.channel = event.channel
        elif isinstance(event, ScenarioDone):
            card.scenarios[event.scenario] = ScenarioResult(
                id=event.scenario,
                status=event.status,
                message=event.message,
                effort=event.effort.model_dump() if event.effort else None,
                duration_ms=event.duration_ms,
                failed_step=failed_steps.pop((card.name, event.scenario), None),
                evidence=event.evidence,
                lacking=event.lacking,
                asked=event.asked,
            )
        elif isinstance(event, CleanupDone) and event.status not in ("ok", "kept"):
            card.cleanup_failed += 1
        elif isinstance(event, LeftoversFound):
            card.leftovers = [r.model_dump() for r in event.records] if event.checked else None
    if run is None:
        raise ResultsError("results.jsonl has no run event: not a crmproof results file")
    suite = run.suite
    requirements = [r.model_dump() for r in suite.requirements]
    planned: dict[str, set[str]] = defaultdict(set)
    for vendor, scenario in run.plan:
        planned[vendor].add(scenario)
    covering: dict[str, list[str]] = defaultdict(list)
    for info in suite.scenarios:
        for rid in info.covers:
            covering[rid].append(info.id)
    for card in cards.values():
        for req in requirements:
            ids = [s for s in covering.get(req["id"], []) if s in planned[card.name]]
            if not covering.get(req["id"]):
                cell = Cell(verdict="not covered", fraction=0.0)
            else:
                statuses = [
                    card.scenarios[s].status if s in card.scenarios else "not run" for s in ids
                ]
                shown = [card.scenarios[s].shown if s in card.scenarios else 0.0 for s in ids]
                verdict, fraction = verdict_of(statuses, shown)
                effort = None
                for s in ids:
                    if s in card.scenarios:
                        effort = _add_effort(effort, card.scenarios[s].effort)
                cell = Cell(
                    verdict=verdict,
                    fraction=round(fraction, 4),
                    scenarios=ids,
                    effort=effort,
                    lacking=sorted(
                        {f for s in ids if s in card.scenarios for f in card.scenarios[s].lacking}
                    ),
                )
            cell.claim = run.claims.get(card.name, {}).get(req["id"])
            cell.promise = promise_of(cell.claim, cell.verdict, bool(cell.lacking))
            card.requirements[req["id"]] = cell
        recount(card, requirements, bool(run.scoring.get("must_disqualifies", True)), suite)
        card.promises = {
            kind: sum(c.promise == kind for c in card.requirements.values())
            for kind in ("kept", "broken", "unproven", "better than claimed")
        }
        card.broken_promises = [r for r, c in card.requirements.items() if c.promise == "broken"]
        for result in card.scenarios.values():
            card.effort = _add_effort(card.effort, result.effort)
    ranking = sorted(cards, key=lambda v: (cards[v].disqualified, -cards[v].score, v))
    stability = (
        rank_stability(requirements, cards[ranking[0]], cards[ranking[1]])
        if len(ranking) > 1
        else None
    )
    return Scorecard(
        run_id=run.run_id,
        evaluation=run.evaluation,
        started=run.at,
        finished=end.at if end else None,
        complete=end is not None,
        suite_sha256=run.suite_sha256,
        must_disqualifies=bool(run.scoring.get("must_disqualifies", True)),
        requirements=requirements,
        processes=[p.model_dump() for p in suite.processes],
        strategies=[s.model_dump() for s in suite.strategies],
        roles=[r.model_dump() for r in suite.roles],
        vendors=list(cards.values()),
        ranking=ranking,
        stability=stability,
    )


def copy_of(card: Scorecard) -> Scorecard:
    """A deep copy of `card`, through its JSON: pydantic-core writes and reads it at a
    fraction of `copy.deepcopy`'s cost on a card of thousands of scenarios, and a card is
    JSON by nature (scorecard.json; `score_file` keeps it as such)."""
    return Scorecard.model_validate_json(card.model_dump_json())


_SCORED: dict[tuple[Any, ...], str] = {}  # the last file scored, as the scorecard's JSON


def score_file(path: Path) -> Scorecard:
    """`score(read_events(path))`, read once per process for a file that did not change.

    The passed steps, which decide nothing, are read only as far as scoring needs
    (`read_deciding_events`).

    `crmproof report` scores a run to check the team's decisions against it and again to
    render it; at a million steps each reading is seconds, while a digest of the file is a
    fraction of one. The remembered card is used only for the same content (a file
    rewritten within one tick of the clock keeps its times and maybe its size), and each
    caller gets its own copy, since judging changes a card in place.
    """
    digest = hashlib.blake2b(digest_size=32)
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    key = (str(path.resolve()), digest.hexdigest())
    found = _SCORED.get(key)
    if found is None:
        found = score(read_deciding_events(path)).model_dump_json()
        _SCORED.clear()
        _SCORED[key] = found
    return Scorecard.model_validate_json(found)


def must_gates(
    requirements: Iterable[dict[str, Any]], cells: dict[str, Cell]
) -> tuple[list[str], list[str]]:
    """The must requirements that disqualify, and those that leave the vendor unproven.

    One definition for the scorecard, the stale view and the decision layer, so that a
    waiver or a stale cell can never be gated by other rules than the run itself.
    """
    musts = [r["id"] for r in requirements if r["priority"] == "must"]
    return (
        [rid for rid in musts if cells[rid].verdict in DISQUALIFYING],
        [rid for rid in musts if cells[rid].verdict in UNPROVEN],
    )


def recount(
    card: VendorCard,
    requirements: list[dict[str, Any]],
    must_disqualifies: bool,
    suite: SuiteSnapshot,
) -> None:
    """Verdict counts, score, must gates and rollups of a vendor, from its cells as they are now."""
    card.verdicts = {v: sum(c.verdict == v for c in card.requirements.values()) for v in VERDICTS}
    card.score = weighted(requirements, card.requirements)
    card.disqualified_by, card.unproven_by = must_gates(requirements, card.requirements)
    card.disqualified = bool(card.disqualified_by) and must_disqualifies
    card.rollups = _rollups(suite, card.requirements)


def _rollups(suite: SuiteSnapshot, cells: dict[str, Cell]) -> dict[str, dict[str, float]]:
    """Scores of each process step, process, role and strategy: the four layers, upward."""
    step_of: dict[str, dict[str, str]] = {}
    for process in suite.processes:
        for step in process.steps:
            step_of[step.id] = {
                "process": process.id,
                "role": step.role,
                "strategy": process.strategy,
            }
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {
        "step": defaultdict(list),
        "process": defaultdict(list),
        "role": defaultdict(list),
        "strategy": defaultdict(list),
    }
    for requirement in suite.requirements:
        req = requirement.model_dump()
        place = step_of.get(req["step"])
        if place is None:
            continue
        groups["step"][req["step"]].append(req)
        for layer in ("process", "role", "strategy"):
            groups[layer][place[layer]].append(req)
    return {
        layer: {key: weighted(reqs, cells) for key, reqs in members.items()}
        for layer, members in groups.items()
    }


def rank_stability(
    requirements: list[dict[str, Any]], leader: VendorCard, runner_up: VendorCard
) -> dict[str, Any]:
    """The smallest change of one requirement's weight that would swap the top two.

    With S = sum(w * (f_leader - f_runner_up)), moving weight w_r by d changes S by
    d * (f_leader_r - f_runner_up_r); the order flips where S reaches 0. Among the
    requirements where that needs a non-negative weight, the smallest |d| is reported:
    a team sees at once whether its ranking hangs on one debatable weight.
    """
    counted = [r for r in requirements if r["priority"] != "wont"]
    lead = sum(
        r["weight"]
        * (leader.requirements[r["id"]].fraction - runner_up.requirements[r["id"]].fraction)
        for r in counted
    )
    best: dict[str, Any] | None = None
    for r in counted:
        gap = leader.requirements[r["id"]].fraction - runner_up.requirements[r["id"]].fraction
        if gap == 0:
            continue
        change = -lead / gap
        if r["weight"] + change < 0:
            continue
        if best is None or abs(change) < abs(best["change"]):
            best = {"requirement": r["id"], "weight": r["weight"], "change": round(change, 2)}
    return {
        "leader": leader.name,
        "runner_up": runner_up.name,
        "margin": round(leader.score - runner_up.score, 4),
        "flip": best,
    }


def stability_text(stability: dict[str, Any] | None) -> str | None:
    if not stability:
        return None
    flip = stability["flip"]
    head = (
        f"{stability['leader']} leads {stability['runner_up']} by "
        f"{stability['margin']:.1%} of the weighted score"
    )
    if flip is None:
        return head + "; no change to a single weight would swap them"
    to = flip["weight"] + flip["change"]
    return (
        f"{head}; they swap if {flip['requirement']}'s weight goes from "
        f"{flip['weight']:g} to {to:g}"
    )
