"""What changed between two runs, per vendor and requirement (after wpt.fyi's run diffs).

A team re-runs whenever a vendor ships a fix, and after the contract as a regression
suite; what it needs is not two scorecards but the difference: which verdicts were fixed
or regressed, which were tested for the first time, which scenarios came or went, which
versions moved, and where the user effort moved by more than a chosen share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from crmproof import fingerprints
from crmproof.errors import ResultsError
from crmproof.events import RunStarted
from crmproof.results import read_events
from crmproof.scoring import Scorecard, VendorCard, score

__all__ = [
    "RunData",
    "RunDiff",
    "VendorDiff",
    "compare",
    "load_card",
    "load_run",
    "markdown",
    "terminal",
]

UNDECIDED = {"untested", "not covered", None}


class VerdictChange(BaseModel):
    requirement: str
    before: str | None
    after: str | None
    change: str  # fixed | regressed | newly tested | no longer tested | changed


class ScenarioChange(BaseModel):
    scenario: str
    before: str | None
    after: str | None


class EffortChange(BaseModel):
    requirement: str
    before: int
    after: int
    share: float  # (after - before) / before


class VendorDiff(BaseModel):
    vendor: str
    presence: str = "both"  # both | added | removed
    versions: dict[str, list[str | None]] = Field(
        default_factory=dict, description="vendor_version / adapter_version: [before, after]."
    )
    verdicts: list[VerdictChange] = Field(default_factory=list)
    scenarios: list[ScenarioChange] = Field(default_factory=list)
    ran_only_in_b: list[str] = Field(default_factory=list)
    ran_only_in_a: list[str] = Field(default_factory=list)
    effort: list[EffortChange] = Field(default_factory=list)
    score: list[float] = Field(default_factory=list, description="[before, after]")

    @property
    def empty(self) -> bool:
        return not (
            self.presence != "both"
            or self.versions
            or self.verdicts
            or self.scenarios
            or self.ran_only_in_b
            or self.ran_only_in_a
            or self.effort
        )


class RunDiff(BaseModel):
    run_a: str
    run_b: str
    effort_threshold: float
    scenarios_added: list[str] = Field(default_factory=list, description="In B's suite only.")
    scenarios_removed: list[str] = Field(default_factory=list, description="In A's suite only.")
    suite_changes: list[str] = Field(
        default_factory=list, description="Requirements and scenarios edited between the runs."
    )
    vendors: list[VendorDiff]

    @property
    def empty(self) -> bool:
        return not (self.scenarios_added or self.scenarios_removed or self.suite_changes) and all(
            v.empty for v in self.vendors
        )


class RunData(BaseModel):
    """A run as the diff needs it: its scorecard, and what its run event recorded."""

    card: Scorecard
    scenarios: list[str] = Field(default_factory=list, description="The suite's scenario ids.")
    fingerprints: dict[str, Any] | None = None


def load_run(path: Path) -> RunData:
    """A run from its folder or its results.jsonl (or, failing that, its scorecard.json)."""
    folder = path if path.is_dir() else path.parent
    results = path if path.name == "results.jsonl" else folder / "results.jsonl"
    try:
        if results.exists():
            events = list(read_events(results))
            first = next((e for e in events if isinstance(e, RunStarted)), None)
            run: dict[str, Any] = first.model_dump(mode="json") if first else {}
            return RunData(
                card=score(events),
                scenarios=[s["id"] for s in run.get("suite", {}).get("scenarios", [])],
                fingerprints=run.get("fingerprints"),
            )
        card_file = path if path.suffix == ".json" else folder / "scorecard.json"
        if card_file.is_file():
            card = Scorecard.model_validate_json(card_file.read_text("utf-8"))
            ran = {sid for v in card.vendors for sid in v.scenarios}
            return RunData(card=card, scenarios=sorted(ran))
    except (ValueError, KeyError) as exc:
        raise ResultsError(f"{path}: not a crmproof run: {exc}") from None
    raise ResultsError(f"{path}: no results.jsonl or scorecard.json: not a crmproof run")


def load_card(path: Path) -> Scorecard:
    """A run's scorecard from its folder, its results.jsonl or its scorecard.json."""
    return load_run(path).card


def _kind(before: Any, after: Any, f_before: float, f_after: float) -> str:
    if before in UNDECIDED:
        return "newly tested"
    if after in UNDECIDED:
        return "no longer tested"
    if f_after > f_before:
        return "fixed"
    if f_after < f_before:
        return "regressed"
    return "changed"


def _effort_total(effort: dict[str, int] | None) -> int:
    return sum((effort or {}).values())


def _vendor(a: VendorCard | None, b: VendorCard | None, threshold: float) -> VendorDiff:
    name = (a or b).name  # type: ignore[union-attr]
    if a is None or b is None:
        return VendorDiff(vendor=name, presence="added" if a is None else "removed")
    out = VendorDiff(vendor=name, score=[a.score, b.score])
    for key in ("vendor_version", "adapter_version"):
        if getattr(a, key) != getattr(b, key):
            out.versions[key] = [getattr(a, key), getattr(b, key)]
    for rid in dict.fromkeys([*a.requirements, *b.requirements]):
        ca, cb = a.requirements.get(rid), b.requirements.get(rid)
        va, vb = (ca.verdict if ca else None), (cb.verdict if cb else None)
        fa, fb = (ca.fraction if ca else 0.0), (cb.fraction if cb else 0.0)
        if va != vb or fa != fb:
            out.verdicts.append(
                VerdictChange(requirement=rid, before=va, after=vb, change=_kind(va, vb, fa, fb))
            )
        ea, eb = _effort_total(ca.effort if ca else None), _effort_total(cb.effort if cb else None)
        if ea and eb and abs(eb - ea) / ea > threshold:
            out.effort.append(
                EffortChange(requirement=rid, before=ea, after=eb, share=round((eb - ea) / ea, 4))
            )
    out.ran_only_in_b = [s for s in b.scenarios if s not in a.scenarios]
    out.ran_only_in_a = [s for s in a.scenarios if s not in b.scenarios]
    for sid in a.scenarios.keys() & b.scenarios.keys():
        if a.scenarios[sid].status != b.scenarios[sid].status:
            out.scenarios.append(
                ScenarioChange(
                    scenario=sid, before=a.scenarios[sid].status, after=b.scenarios[sid].status
                )
            )
    out.scenarios.sort(key=lambda c: c.scenario)
    return out


def compare(a: RunData, b: RunData, effort_threshold: float = 0.2) -> RunDiff:
    """Run `b` against run `a`: every vendor of either, in `a`'s order then `b`'s."""
    va = {v.name: v for v in a.card.vendors}
    vb = {v.name: v for v in b.card.vendors}
    names = list(dict.fromkeys([*va, *vb]))
    edited = (
        fingerprints.compare(a.fingerprints, b.fingerprints).describe()
        if a.fingerprints and b.fingerprints
        else []
    )
    return RunDiff(
        run_a=a.card.run_id,
        run_b=b.card.run_id,
        effort_threshold=effort_threshold,
        scenarios_added=[s for s in b.scenarios if s not in a.scenarios],
        scenarios_removed=[s for s in a.scenarios if s not in b.scenarios],
        suite_changes=[line for line in edited if not line.endswith("was removed")],
        vendors=[_vendor(va.get(n), vb.get(n), effort_threshold) for n in names],
    )


def _lines(d: VendorDiff) -> list[str]:
    if d.presence != "both":
        return [f"vendor {d.presence}"]
    lines = [f"{key}: {old} -> {new}" for key, (old, new) in d.versions.items()]
    lines += [
        f"{c.change}: {c.requirement}: {c.before or 'absent'} -> {c.after or 'absent'}"
        for c in d.verdicts
    ]
    lines += [f"scenario {c.scenario}: {c.before} -> {c.after}" for c in d.scenarios]
    lines += [f"scenario {s}: ran only in the second run" for s in d.ran_only_in_b]
    lines += [f"scenario {s}: ran only in the first run" for s in d.ran_only_in_a]
    lines += [f"effort {c.requirement}: {c.before} -> {c.after} ({c.share:+.0%})" for c in d.effort]
    return lines


def _suite_lines(diff: RunDiff) -> list[str]:
    return [
        *(f"scenario added: {s}" for s in diff.scenarios_added),
        *(f"scenario removed: {s}" for s in diff.scenarios_removed),
        *diff.suite_changes,
    ]


def terminal(diff: RunDiff) -> str:
    out = [f"crmproof diff: {diff.run_a} -> {diff.run_b}"]
    suite = _suite_lines(diff)
    if suite:
        out.append("suite:")
        out += [f"  {line}" for line in suite]
    for vendor in diff.vendors:
        lines = _lines(vendor)
        if vendor.score and vendor.score[0] != vendor.score[1]:
            lines.insert(0, f"score: {vendor.score[0]:.0%} -> {vendor.score[1]:.0%}")
        out.append(f"{vendor.vendor}:" + ("" if lines else " no change"))
        out += [f"  {line}" for line in lines]
    return "\n".join(out) + "\n"


def markdown(diff: RunDiff) -> str:
    out = [f"# crmproof diff: `{diff.run_a}` -> `{diff.run_b}`", ""]
    if diff.empty:
        return "\n".join([*out, "No change.", ""])
    suite = _suite_lines(diff)
    if suite:
        out += ["## Suite", "", *(f"- {line}" for line in suite), ""]
    for vendor in diff.vendors:
        out.append(f"## {vendor.vendor}")
        out.append("")
        lines = _lines(vendor)
        out += [f"- {line}" for line in lines] if lines else ["No change."]
        out.append("")
    return "\n".join(out)
