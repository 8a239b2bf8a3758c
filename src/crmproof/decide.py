"""The decision layer over a scored run: demo scores, waivers and disputes, acceptability.

`score(events)` turns results.jsonl into verdicts; `judge` adds what people decided, read
from the copies of decisions.yaml and demos/*.yaml kept in the run folder:

1. demonstration requirements get their cells from the evaluators' score sheets (human
   evidence, marked `source: demo`), and the measured score, gates and ranking are
   recomputed with them;
2. waivers and disputes are laid over the cells without changing the measured verdicts;
   the score, gates and ranking *with waivers* are computed beside the measured ones;
3. rank acceptability is drawn on the figures with waivers (the team's decision).

At report time `collect` checks the workspace's files and copies them into the run folder,
so the report reads its folder alone and the manifest covers the audit trail.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from crmproof import acceptability, decisions, demos
from crmproof.diagnostics import Diagnostic
from crmproof.errors import UserInputError
from crmproof.events import RunStarted, SuiteSnapshot
from crmproof.results import read_deciding_events, read_events
from crmproof.scoring import (
    Cell,
    Scorecard,
    VendorCard,
    copy_of,
    must_gates,
    rank_stability,
    recount,
    score,
    score_file,
    verdict_of,
    weighted,
)
from crmproof.workspace import Suite

UNRANKED = {"untested", "not covered", "not shown"}
"""Must verdicts that keep a vendor out of the acceptability pools: no evidence either way."""
DEFAULT_POLICY: dict[str, Any] = {"spread": 0.25, "samples": 2000, "seed": 7}
"""For runs recorded before `scoring.acceptability` existed; crmproof.yaml's own defaults."""


def source_files(root: Path) -> list[str]:
    """The decision files of a workspace (or run folder), relative to it."""
    found = [decisions.DECISIONS_FILE] if (root / decisions.DECISIONS_FILE).is_file() else []
    return found + [str(p.relative_to(root)) for p in demos.sheet_files(root)]


def _runs(reports: Path) -> set[str]:
    if not reports.is_dir():
        return set()
    return {p.name for p in reports.iterdir() if (p / "results.jsonl").is_file()}


def check_workspace(
    suite: Suite, reports: Path, only_run: str | None = None, card: Scorecard | None = None
) -> list[Diagnostic]:
    """Every check of decisions.yaml and the score sheets, located.

    With `only_run`, entries naming other runs are checked for their names only (a report
    of one run is not held up by another run's decisions); otherwise every named run must
    be in `reports`, and each run found is scored to check the cells its entries decide.
    """
    if suite.evaluation is None:
        return []
    evaluation = suite.evaluation.model
    vendors = set(evaluation.vendors)
    catalog = suite.catalog.requirements
    requirement_ids = {r.id for r in catalog}
    scenario_ids = {s.model.id for s in suite.scenarios}
    out: list[Diagnostic] = []
    sheets, problems = demos.load(suite.root)
    out += problems
    out += demos.check(
        sheets,
        set(evaluation.evaluators),
        vendors,
        {r.id for r in catalog if r.verified_by == "demo"},
        requirement_ids,
    )
    path = suite.root / decisions.DECISIONS_FILE
    entries, problems = decisions.load(path)
    out += problems
    runs = _runs(reports)
    if only_run is not None:
        named = [e for e in entries if e.decision.run == only_run]
        out += decisions.check_names(entries, vendors, requirement_ids, scenario_ids, None)
        if card is not None:
            out += decisions.check_against(named, _judged(card, sheets, []), vendors)
        return out
    if entries and not runs:
        out.append(
            entries[0].doc.warning(
                (*entries[0].loc, "run"),
                "no runs in reports/ yet: the runs that decisions name are checked once there are",
            )
        )
    out += decisions.check_names(
        entries, vendors, requirement_ids, scenario_ids, runs if runs else None
    )
    for run_id in sorted({e.decision.run for e in entries} & runs):
        try:
            measured = score(read_deciding_events(reports / run_id / "results.jsonl"))
        except ValueError:
            continue
        out += decisions.check_against(entries, _judged(measured, sheets, []), vendors)
    return out


def _judged(card: Scorecard, sheets: list[demos.Sheet], entries: list[Any]) -> Scorecard:
    return judge(copy_of(card), [s.model for s in sheets], entries)


def collect(suite: Suite, folder: Path) -> None:
    """Check the workspace's decision files for this run, then mirror them into its folder.

    Raises UserInputError with every located problem before anything is copied, so a bad
    waiver never reaches a report.
    """
    measured = score_file(folder / "results.jsonl")
    problems = check_workspace(suite, folder.parent, only_run=measured.run_id, card=measured)
    errors = sorted({p for p in problems if p.severity == "error"})
    if errors:
        raise UserInputError(
            "\n".join(str(e) for e in errors)
            + f"\n{len(errors)} error(s) in decisions and score sheets: the report was not written"
        )
    wanted = source_files(suite.root)
    for name in source_files(folder):
        if name not in wanted:
            (folder / name).unlink()
    for name in wanted:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        shutil.copyfile(suite.root / name, tmp)
        tmp.replace(target)


def judge_folder(card: Scorecard, folder: Path) -> Scorecard:
    """Apply the decision files kept in a run folder (written there by `collect`)."""
    sheets, problems = demos.load(folder)
    path = folder / decisions.DECISIONS_FILE
    entries, more = decisions.load(path)
    problems += more
    if problems:
        raise UserInputError("\n".join(str(p) for p in sorted(problems)))
    run = next(e for e in read_events(folder / "results.jsonl") if isinstance(e, RunStarted))
    policy = run.scoring.get("acceptability") or {}
    return judge(card, [s.model for s in sheets], [e.decision for e in entries], policy)


def judge(
    card: Scorecard,
    sheets: list[demos.ScoreSheet],
    entries: list[decisions.Decision],
    policy: dict[str, Any] | None = None,
) -> Scorecard:
    """Lay demo scores, then decisions, over a measured scorecard (changed in place)."""
    suite = {
        "requirements": card.requirements,
        "processes": card.processes,
    }
    demo_ids = [r["id"] for r in card.requirements if r.get("verified_by") == "demo"]
    scored = demos.cells(sheets)
    for vendor in card.vendors:
        for rid in demo_ids:
            found = scored.get((vendor.name, rid))
            if not found:
                vendor.requirements[rid] = Cell(verdict="untested", fraction=0.0, source="demo")
                continue
            spread = demos.spread(found)
            verdict, fraction = demos.verdict(spread["median"])
            vendor.requirements[rid] = Cell(
                verdict=verdict, fraction=fraction, source="demo", demo=spread
            )
        if demo_ids:
            _recount(vendor, card, suite)
    by_name = {v.name: v for v in card.vendors}
    if demo_ids:
        card.ranking = sorted(
            by_name, key=lambda v: (by_name[v].disqualified, -by_name[v].score, v)
        )
        if len(card.ranking) > 1:
            card.stability = rank_stability(
                card.requirements, by_name[card.ranking[0]], by_name[card.ranking[1]]
            )
    card.evaluators = {s.evaluator: s.name or s.evaluator for s in sheets}
    mine = [d for d in entries if d.run == card.run_id and d.vendor in by_name]
    card.decisions = [decisions.record(d) for d in mine]
    for vendor in card.vendors:
        _decide(vendor, [d for d in mine if d.vendor == vendor.name], card)
    card.ranking_with_waivers = sorted(
        by_name,
        key=lambda v: (bool(by_name[v].disqualified_with_waivers), -_waived_score(by_name[v]), v),
    )
    card.acceptability = _acceptability(card, policy or {})
    return card


def _recount(vendor: VendorCard, card: Scorecard, suite: dict[str, Any]) -> None:
    recount(vendor, card.requirements, card.must_disqualifies, SuiteSnapshot.model_validate(suite))


def _decide(vendor: VendorCard, entries: list[decisions.Decision], card: Scorecard) -> None:
    granted_scenarios: dict[str, set[str]] = {}
    for d in entries:
        entry = decisions.record(d)
        if d.requirement is not None:
            cell = vendor.requirements.get(d.requirement)
            if cell is not None:
                cell.decisions.append(entry)
                if d.effect in decisions.GRANTING:
                    cell.waived_verdict, cell.waived_fraction = "met", 1.0
            continue
        for rid, cell in vendor.requirements.items():
            if d.scenario in cell.scenarios:
                cell.decisions.append(entry)
                if d.effect in decisions.GRANTING:
                    granted_scenarios.setdefault(rid, set()).add(str(d.scenario))
    for rid, granted in granted_scenarios.items():
        cell = vendor.requirements[rid]
        if cell.waived_verdict == "met":
            continue
        statuses = [
            "passed"
            if s in granted
            else (vendor.scenarios[s].status if s in vendor.scenarios else "not run")
            for s in cell.scenarios
        ]
        verdict, fraction = verdict_of(statuses)
        cell.waived_verdict, cell.waived_fraction = verdict, round(fraction, 4)
    cells = {rid: _waived_cell(c) for rid, c in vendor.requirements.items()}
    vendor.score_with_waivers = weighted(card.requirements, cells)
    vendor.disqualified_by_with_waivers = must_gates(card.requirements, cells)[0]
    vendor.disqualified_with_waivers = (
        bool(vendor.disqualified_by_with_waivers) and card.must_disqualifies
    )


def _waived_cell(cell: Cell) -> Cell:
    if cell.waived_verdict is None:
        return cell
    return Cell(verdict=cell.waived_verdict, fraction=cell.waived_fraction or 0.0)


def _waived_score(vendor: VendorCard) -> float:
    return vendor.score if vendor.score_with_waivers is None else vendor.score_with_waivers


def _acceptability(card: Scorecard, policy: dict[str, Any]) -> dict[str, Any]:
    apart: dict[str, str] = {}
    fractions: dict[str, dict[str, float]] = {}
    for vendor in card.vendors:
        cells = {rid: _waived_cell(c) for rid, c in vendor.requirements.items()}
        fractions[vendor.name] = {rid: c.fraction for rid, c in cells.items()}
        unproven = [
            r["id"]
            for r in card.requirements
            if r["priority"] == "must" and cells[r["id"]].verdict in UNRANKED
        ]
        if vendor.status != "ready":
            apart[vendor.name] = f"could not be evaluated: {vendor.message}"
        elif vendor.disqualified_with_waivers:
            apart[vendor.name] = "disqualified by " + ", ".join(vendor.disqualified_by_with_waivers)
        elif unproven:
            apart[vendor.name] = "unproven: must requirement(s) untested: " + ", ".join(unproven)
    settings = {**DEFAULT_POLICY, **policy}
    return acceptability.pools(
        card.requirements,
        fractions,
        apart,
        spread=float(settings["spread"]),
        samples=int(settings["samples"]),
        seed=int(settings["seed"]),
    )
