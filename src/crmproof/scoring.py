"""From results.jsonl to verdicts and scores, rolled up the four layers.

A requirement's verdict for a vendor comes from the scenarios that cover it:

    met          every covering scenario passed
    partly met   some passed, some failed or were unsupported
    not met      none passed and at least one failed
    unsupported  none passed and the vendor declared the rest unsupported
    untested     no decisive result (errors, or not run)
    not covered  no scenario covers it

Score = sum(weight x fraction met) / sum(weight), over every requirement but the `wont`s;
untested and not-covered requirements count as nothing met, and are listed, because a team
must not mistake a gap in the evidence for a strength. A `must` that is not fully met
disqualifies the vendor whatever its score.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field

VERDICTS = ["met", "partly met", "not met", "unsupported", "untested", "not covered"]
DISQUALIFYING = {"not met", "partly met", "unsupported"}


class ScenarioResult(BaseModel):
    id: str
    status: str
    message: str | None = None
    effort: dict[str, int] | None = None
    duration_ms: float = 0
    failed_step: dict[str, Any] | None = None
    evidence: list[dict[str, Any]] = Field(default_factory=list)


class Cell(BaseModel):
    verdict: str
    fraction: float
    scenarios: list[str] = Field(default_factory=list)
    effort: dict[str, int] | None = None
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


def verdict_of(statuses: list[str]) -> tuple[str, float]:
    passed = statuses.count("passed")
    failed = statuses.count("failed")
    unsupported = statuses.count("unsupported")
    undecided = len(statuses) - passed - failed - unsupported
    if not statuses:
        return "untested", 0.0
    if undecided:
        return "untested", 0.0
    if passed == len(statuses):
        return "met", 1.0
    if passed:
        return "partly met", passed / len(statuses)
    if failed:
        return "not met", 0.0
    return "unsupported", 0.0


def weighted(requirements: Iterable[dict[str, Any]], cells: dict[str, Cell]) -> float:
    total = met = 0.0
    for req in requirements:
        if req["priority"] == "wont":
            continue
        total += req["weight"]
        met += req["weight"] * cells[req["id"]].fraction
    return round(met / total, 4) if total else 0.0


def score(events: Iterable[dict[str, Any]]) -> Scorecard:
    events = list(events)
    run = next((e for e in events if e["event"] == "run"), None)
    if run is None:
        raise ValueError("results.jsonl has no run event: not a crmproof results file")
    suite = run["suite"]
    planned: dict[str, list[str]] = defaultdict(list)
    for vendor, scenario in run["plan"]:
        planned[vendor].append(scenario)
    cards = {v: VendorCard(name=v, adapter=a) for v, a in run["vendors"].items()}
    failed_steps: dict[tuple[str, str], dict[str, Any]] = {}
    for event in events:
        kind = event["event"]
        card = cards.get(event.get("vendor", ""))
        if card is None:
            continue
        if kind == "vendor":
            card.status = event["status"]
            card.message = event.get("message")
            card.adapter_version = event.get("adapter_version")
            card.vendor_version = event.get("vendor_version")
            card.channel = event.get("channel")
        elif kind == "step" and event["status"] not in ("passed", "skipped"):
            failed_steps[(card.name, event["scenario"])] = {
                k: event.get(k)
                for k in (
                    "index",
                    "line",
                    "step",
                    "status",
                    "message",
                    "expected",
                    "actual",
                    "evidence",
                )
            }
        elif kind == "scenario":
            card.scenarios[event["scenario"]] = ScenarioResult(
                id=event["scenario"],
                status=event["status"],
                message=event.get("message"),
                effort=event.get("effort"),
                duration_ms=event.get("duration_ms", 0),
                failed_step=failed_steps.get((card.name, event["scenario"])),
                evidence=event.get("evidence") or [],
            )
        elif kind == "cleanup" and event["status"] not in ("ok", "kept"):
            card.cleanup_failed += 1
        elif kind == "leftovers":
            card.leftovers = event["records"] if event["checked"] else None
    covering: dict[str, list[str]] = defaultdict(list)
    for scenario in suite["scenarios"]:
        for rid in scenario["covers"]:
            covering[rid].append(scenario["id"])
    for card in cards.values():
        for req in suite["requirements"]:
            ids = [s for s in covering.get(req["id"], []) if s in planned[card.name]]
            if not covering.get(req["id"]):
                cell = Cell(verdict="not covered", fraction=0.0)
            else:
                statuses = [
                    card.scenarios[s].status if s in card.scenarios else "not run" for s in ids
                ]
                verdict, fraction = verdict_of(statuses)
                effort = None
                for s in ids:
                    if s in card.scenarios:
                        effort = _add_effort(effort, card.scenarios[s].effort)
                cell = Cell(
                    verdict=verdict, fraction=round(fraction, 4), scenarios=ids, effort=effort
                )
            card.requirements[req["id"]] = cell
        card.verdicts = {
            v: sum(c.verdict == v for c in card.requirements.values()) for v in VERDICTS
        }
        card.score = weighted(suite["requirements"], card.requirements)
        card.disqualified_by = [
            r["id"]
            for r in suite["requirements"]
            if r["priority"] == "must" and card.requirements[r["id"]].verdict in DISQUALIFYING
        ]
        card.disqualified = bool(card.disqualified_by) and run["scoring"]["must_disqualifies"]
        card.rollups = _rollups(suite, card.requirements)
        for result in card.scenarios.values():
            card.effort = _add_effort(card.effort, result.effort)
    ranking = sorted(cards, key=lambda v: (cards[v].disqualified, -cards[v].score, v))
    stability = (
        rank_stability(suite["requirements"], cards[ranking[0]], cards[ranking[1]])
        if len(ranking) > 1
        else None
    )
    end = next((e for e in events if e["event"] == "end"), None)
    return Scorecard(
        run_id=run["run_id"],
        evaluation=run["evaluation"],
        started=run["at"],
        finished=end["at"] if end else None,
        complete=end is not None,
        suite_sha256=run["suite_sha256"],
        must_disqualifies=run["scoring"]["must_disqualifies"],
        requirements=suite["requirements"],
        processes=suite["processes"],
        strategies=suite["strategies"],
        roles=suite["roles"],
        vendors=list(cards.values()),
        ranking=ranking,
        stability=stability,
    )


def _rollups(suite: dict[str, Any], cells: dict[str, Cell]) -> dict[str, dict[str, float]]:
    """Scores of each process step, process, role and strategy: the four layers, upward."""
    step_of: dict[str, dict[str, Any]] = {}
    for process in suite["processes"]:
        for step in process["steps"]:
            step_of[step["id"]] = {
                "process": process["id"],
                "role": step["role"],
                "strategy": process["strategy"],
            }
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {
        "step": defaultdict(list),
        "process": defaultdict(list),
        "role": defaultdict(list),
        "strategy": defaultdict(list),
    }
    for req in suite["requirements"]:
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
