"""Stale cells: results that rest on a requirement or scenario changed since the run.

A stale cell counts as *untested* (unproven, fraction 0) whatever it was: the evidence
was gathered against words or steps that no longer exist, so it proves nothing about
the current ones. It is not *not met* either: a team rewriting its success criterion says
nothing about the vendor, so it must not disqualify one. The original verdict is kept
beside it (`stale_verdict`), with the reasons, and the scorecard counts the stale cells.

This is a pass over a finished `Scorecard`, kept apart from `crmproof.scoring`, which
stays a function of results.jsonl alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crmproof import scoring
from crmproof.events import RunStarted, SuiteSnapshot
from crmproof.fingerprints import Changes, Fingerprints, compare
from crmproof.results import read_deciding_events, read_events
from crmproof.scoring import Scorecard
from crmproof.workspace import Suite

# The views `crmproof report` writes beside a run when cells are stale; not the run's record.
STALE_VIEWS = ("scorecard.stale.json", "scorecard.stale.md", "index.stale.html")

__all__ = ["STALE_VIEWS", "mark", "of_run", "recorded_fingerprints", "stale_jobs", "stale_lines"]


def recorded_fingerprints(folder: Path) -> Fingerprints | None:
    """The fingerprints a run recorded; None for runs made before crmproof recorded them."""
    for event in read_events(folder / "results.jsonl"):
        if isinstance(event, RunStarted):
            return event.fingerprints or None
    return None


def of_run(folder: Path, suite: Suite) -> Scorecard | None:
    """The run in `folder` scored, with what `suite` changed since marked; None: no run."""
    from crmproof.fingerprints import of_suite

    if not (folder / "results.jsonl").exists():
        return None
    try:
        card = scoring.score(read_deciding_events(folder / "results.jsonl"))
    except (ValueError, KeyError):
        return None
    return mark(card, recorded_fingerprints(folder), of_suite(suite))


def _reasons(rid: str, scenario_ids: list[str], changes: Changes) -> list[str]:
    found = [
        changes.reason("requirement", rid),
        *(changes.reason("scenario", s) for s in scenario_ids),
    ]
    return [r for r in found if r]


def mark(card: Scorecard, recorded: Fingerprints | None, current: Fingerprints) -> Scorecard:
    """`card` with every cell resting on a changed requirement or scenario made stale.

    Scores, verdict counts, disqualifications, rollups and the ranking are computed again
    with the stale cells as untested.
    """
    if not recorded or recorded.get("evaluation") != current.get("evaluation"):
        return card  # a run of another workspace: comparing would call everything removed
    changes = compare(recorded, current)
    card.changed_since_run = changes.describe()
    if not changes:
        return card
    suite: dict[str, Any] = {
        "processes": card.processes,
        "requirements": card.requirements,
    }
    stale = 0
    for vendor in card.vendors:
        for rid, cell in vendor.requirements.items():
            ran = [sid for sid in cell.scenarios if sid in vendor.scenarios]
            reasons = _reasons(rid, ran, changes)
            if not ran or not reasons:  # a cell with no result has no evidence to go stale
                continue
            cell.stale = reasons
            cell.stale_verdict = cell.verdict
            cell.verdict, cell.fraction = "untested", 0.0
            stale += 1
        scoring.recount(
            vendor, card.requirements, card.must_disqualifies, SuiteSnapshot.model_validate(suite)
        )
    card.stale = stale
    cards = {v.name: v for v in card.vendors}
    card.ranking = sorted(cards, key=lambda v: (cards[v].disqualified, -cards[v].score, v))
    if len(card.ranking) > 1:
        card.stability = scoring.rank_stability(
            card.requirements, cards[card.ranking[0]], cards[card.ranking[1]]
        )
    return card


def stale_jobs(card: Scorecard, covering: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(vendor, scenario) pairs to run again so that no cell of `card` stays stale.

    `covering` maps each requirement to the scenarios that cover it in the workspace now:
    a stale cell is proven again by today's scenarios, not by the ones of the old run.
    """
    wanted: dict[tuple[str, str], None] = {}
    for vendor in card.vendors:
        for rid, cell in vendor.requirements.items():
            if cell.stale:
                for sid in covering.get(rid, []):
                    wanted[(vendor.name, sid)] = None
    return list(wanted)


def stale_lines(card: Scorecard) -> list[str]:
    """One line per stale cell: vendor / requirement: was <verdict>; why."""
    return [
        f"{vendor.name} / {rid}: was {cell.stale_verdict}; {'; '.join(cell.stale)}"
        for vendor in card.vendors
        for rid, cell in vendor.requirements.items()
        if cell.stale
    ]
