"""decisions.yaml: the team's waivers and the vendors' disputes, as an audit trail.

A verdict is what the vendor did on the day; a decision is what the team made of it. The
two are kept apart: results.jsonl is never rewritten, each decision names the run whose
evidence it judges, and the scorecard shows the measured verdict beside the decision, with
the score both with and without waivers.

- A *waiver* (by the team) accepts a cell that was not met: a workaround the team can live
  with. The cell counts as met in the score with waivers.
- A *dispute* (by the vendor) says the evidence is wrong, e.g. the scenario asked for more
  than its success criterion. While `open` the cell is shown as disputed and scored as
  measured; `upheld` acts as a waiver (the team agreed the evidence was wrong, so the cell
  counts as met with waivers); `rejected` leaves the verdict, with the dispute on record.

A decision names a requirement (the whole cell) or a scenario (that scenario's outcome is
taken as passed in every cell it covers, which are then re-judged by the usual rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from crmproof.diagnostics import Diagnostic, did_you_mean, one_of
from crmproof.models import Id, Spec
from crmproof.specfile import load_one
from crmproof.yamlsource import Document

if TYPE_CHECKING:
    from crmproof.scoring import Scorecard

DECISIONS_FILE = "decisions.yaml"
GRANTING = {"waiver", "upheld"}
"""What a decision does to its cells with waivers: `waiver` and an upheld dispute grant."""


class Decision(Spec):
    vendor: str = Field(description="The vendor (a key of `vendors:` in crmproof.yaml).")
    requirement: Id | None = Field(None, description="The requirement whose cell is decided.")
    scenario: Id | None = Field(None, description="Or: the scenario whose outcome is decided.")
    run: Id = Field(description="The run whose evidence this judges (a folder in reports/).")
    kind: Literal["waiver", "dispute"] = Field(
        description="`waiver`: the team accepts; `dispute`: the vendor contests the evidence."
    )
    who: str = Field(min_length=1, description="Who waived, or who disputed for the vendor.")
    when: str = Field(min_length=1, description="The date (YYYY-MM-DD) it was recorded.")
    why: str = Field(min_length=1, description="The reason, as it will stand in the scorecard.")
    resolution: Literal["open", "upheld", "rejected"] | None = Field(
        None, description="A dispute's resolution by the team (default `open`); not for waivers."
    )
    resolved_by: str | None = Field(None, description="Who resolved the dispute.")

    @model_validator(mode="after")
    def _one_subject(self) -> Decision:
        if (self.requirement is None) == (self.scenario is None):
            raise ValueError("give either `requirement:` or `scenario:`")
        if self.kind == "waiver" and self.resolution is not None:
            raise ValueError("a waiver has no `resolution:` (only a dispute does)")
        return self

    @property
    def effect(self) -> str:
        """`waiver`, `open`, `upheld` or `rejected`: how the scorecard shows it."""
        return "waiver" if self.kind == "waiver" else (self.resolution or "open")


class DecisionsFile(Spec):
    decisions: list[Decision] = Field(default_factory=list)


@dataclass
class Located:
    """A decision and where it was written."""

    decision: Decision
    doc: Document
    loc: tuple[str | int, ...]

    def error(self, key: str, message: str) -> Diagnostic:
        return self.doc.error((*self.loc, key), message)


def load(path: Path) -> tuple[list[Located], list[Diagnostic]]:
    """The decisions of a decisions.yaml; problems are returned, located, never raised."""
    if not path.exists():
        return [], []
    model, doc, problems = load_one(path, DecisionsFile)
    if model is None or doc is None:
        return [], problems
    return [Located(d, doc, ("decisions", i)) for i, d in enumerate(model.decisions)], problems


def check_names(
    entries: list[Located],
    vendors: set[str],
    requirements: set[str],
    scenarios: set[str],
    runs: set[str] | None,
) -> list[Diagnostic]:
    """References that must exist: vendor, requirement, scenario, and run (when known)."""
    out: list[Diagnostic] = []
    for entry in entries:
        d = entry.decision
        if d.vendor not in vendors:
            out.append(
                entry.error(
                    "vendor",
                    f"unknown vendor '{d.vendor}'{did_you_mean(d.vendor, vendors)}; "
                    f"{one_of(vendors)}",
                )
            )
        if d.requirement is not None and d.requirement not in requirements:
            out.append(
                entry.error(
                    "requirement",
                    f"unknown requirement '{d.requirement}'"
                    f"{did_you_mean(d.requirement, requirements)}",
                )
            )
        if d.scenario is not None and d.scenario not in scenarios:
            out.append(
                entry.error(
                    "scenario",
                    f"unknown scenario '{d.scenario}'{did_you_mean(d.scenario, scenarios)}",
                )
            )
        if runs is not None and d.run not in runs:
            # reports/ is kept per machine, not in version control: a run another member of
            # the team made is unknown here, not wrong; a close id is most likely a typo.
            known = sorted(runs)
            hint = did_you_mean(d.run, known)
            message = f"no run '{d.run}' in reports/{hint}" + (
                f"; runs here: {', '.join(known[-5:])}" if known else "; no runs yet"
            )
            out.append(
                entry.error("run", message)
                if hint
                else entry.doc.warning((*entry.loc, "run"), message)
            )
    return out


def check_against(
    entries: list[Located], card: Scorecard, known: set[str] | None = None
) -> list[Diagnostic]:
    """Checks against the run's evidence: the cell exists in the run and was not met.

    `known`: the workspace's vendors; an unknown one is reported by check_names alone.
    """
    out: list[Diagnostic] = []
    vendors = {v.name: v for v in card.vendors}
    seen: dict[tuple[str, str, str], Located] = {}
    for entry in entries:
        d = entry.decision
        if d.run != card.run_id:
            continue
        vendor = vendors.get(d.vendor)
        if vendor is None:
            if known is not None and d.vendor not in known:
                continue
            out.append(
                entry.error("vendor", f"vendor '{d.vendor}' was not evaluated in run {d.run}")
            )
            continue
        subject = ("requirement", d.requirement) if d.requirement else ("scenario", d.scenario)
        key = (d.vendor, subject[0], str(subject[1]))
        if key in seen:
            line = seen[key].doc.where(seen[key].loc)[0]
            out.append(
                entry.error(
                    subject[0], f"{d.vendor} / {subject[1]} is already decided (line {line})"
                )
            )
            continue
        seen[key] = entry
        if d.requirement is not None:
            cell = vendor.requirements.get(d.requirement)
            if cell is None:
                continue  # an unknown requirement is reported by check_names
            if cell.verdict == "met":
                out.append(
                    entry.error(
                        "requirement",
                        f"{d.vendor} met {d.requirement} in run {d.run}: there is nothing to "
                        f"{'waive' if d.kind == 'waiver' else 'dispute'}",
                    )
                )
        else:
            result = vendor.scenarios.get(str(d.scenario))
            if result is None:
                out.append(
                    entry.error(
                        "scenario", f"{d.scenario} did not run on {d.vendor} in run {d.run}"
                    )
                )
            elif result.status == "passed":
                out.append(
                    entry.error(
                        "scenario",
                        f"{d.scenario} passed on {d.vendor} in run {d.run}: there is nothing to "
                        f"{'waive' if d.kind == 'waiver' else 'dispute'}",
                    )
                )
    return out


def record(decision: Decision) -> dict[str, Any]:
    """A decision as the scorecard stores it."""
    out = decision.model_dump(exclude_none=True)
    out["effect"] = decision.effect
    return out
