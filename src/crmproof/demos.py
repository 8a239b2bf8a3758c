"""Demonstration score sheets: people's judgement of what no scenario can prove.

A requirement with `verified_by: demo` (ease of use for a new rep, how the vendor's engineer
handles a change request) is judged by evaluators who watch a scripted demo. Each evaluator
keeps one sheet, `demos/<evaluator>.yaml`, scoring each vendor on each demo requirement
from 0 to 5 with a comment.

The cell's fraction is the evaluators' median divided by 5, so human evidence enters the
same weighted score as automated evidence, and the median keeps one outlier from moving it.
The verdict follows the fraction: 5 is met, 0 is not met, anything between is partly met
(so a demo `must` below 5 disqualifies, as any must not fully met does). No score at all is
untested, never met. A spread (max - min) of DISAGREEMENT or more is flagged: the panel
saw different things and should talk before the figure is trusted.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from crmproof.diagnostics import Diagnostic, did_you_mean, one_of
from crmproof.models import Id, Spec
from crmproof.specfile import load_one
from crmproof.yamlsource import Document

DEMOS_DIR = "demos"
SCALE = 5
DISAGREEMENT = 3


class DemoScore(Spec):
    vendor: str = Field(description="The vendor (a key of `vendors:` in crmproof.yaml).")
    requirement: Id = Field(description="A requirement with `verified_by: demo`.")
    score: int = Field(ge=0, le=SCALE, description="0 (not at all) to 5 (fully, with ease).")
    comment: str = Field(min_length=1, description="What the evaluator saw.")


class ScoreSheet(Spec):
    evaluator: Id = Field(description="An evaluator id of `evaluators:` in crmproof.yaml.")
    name: str | None = Field(None, description="The evaluator's name and role, for the report.")
    date: str | None = Field(None, description="When the demos were watched (YYYY-MM-DD).")
    scores: list[DemoScore] = Field(default_factory=list)


@dataclass
class Sheet:
    model: ScoreSheet
    doc: Document
    file: str
    """The sheet's path relative to the workspace (and to a run folder's copy)."""


def sheet_files(root: Path) -> list[Path]:
    folder = root / DEMOS_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))


def load(root: Path) -> tuple[list[Sheet], list[Diagnostic]]:
    """Every score sheet under root/demos/; problems are returned, located, never raised."""
    sheets: list[Sheet] = []
    problems: list[Diagnostic] = []
    for path in sheet_files(root):
        model, doc, errs = load_one(path, ScoreSheet)
        problems += errs
        if model is not None and doc is not None:
            sheets.append(Sheet(model, doc, str(path.relative_to(root))))
    return sheets, problems


def check(
    sheets: list[Sheet],
    evaluators: set[str],
    vendors: set[str],
    demo_requirements: set[str],
    all_requirements: set[str],
) -> list[Diagnostic]:
    """Unknown evaluator, vendor or requirement; a duplicate; a requirement not for demos."""
    out: list[Diagnostic] = []
    owner: dict[str, Sheet] = {}
    for sheet in sheets:
        who = sheet.model.evaluator
        if who not in evaluators:
            listed = f"; {one_of(evaluators)}" if evaluators else "; crmproof.yaml lists none"
            out.append(
                sheet.doc.error(
                    ("evaluator",),
                    f"unknown evaluator '{who}'{did_you_mean(who, evaluators)}{listed} "
                    "(under `evaluators:`)",
                )
            )
        elif who in owner:
            out.append(
                sheet.doc.error(
                    ("evaluator",), f"evaluator '{who}' already has a sheet: {owner[who].file}"
                )
            )
        else:
            owner[who] = sheet
        seen: dict[tuple[str, str], int] = {}
        for i, item in enumerate(sheet.model.scores):
            loc = ("scores", i)
            if item.vendor not in vendors:
                out.append(
                    sheet.doc.error(
                        (*loc, "vendor"),
                        f"unknown vendor '{item.vendor}'{did_you_mean(item.vendor, vendors)}; "
                        f"{one_of(vendors)}",
                    )
                )
            if item.requirement not in all_requirements:
                out.append(
                    sheet.doc.error(
                        (*loc, "requirement"),
                        f"unknown requirement '{item.requirement}'"
                        f"{did_you_mean(item.requirement, demo_requirements)}; "
                        f"demo requirements: {', '.join(sorted(demo_requirements)) or 'none'}",
                    )
                )
            elif item.requirement not in demo_requirements:
                out.append(
                    sheet.doc.error(
                        (*loc, "requirement"),
                        f"requirement '{item.requirement}' is proven by scenarios, not scored "
                        "in a demo (give it `verified_by: demo` to score it here)",
                    )
                )
            key = (item.vendor, item.requirement)
            if key in seen:
                out.append(
                    sheet.doc.error(
                        loc,
                        f"{item.vendor} / {item.requirement} is scored twice in this sheet "
                        f"(first at line {sheet.doc.where(('scores', seen[key]))[0]})",
                    )
                )
            else:
                seen[key] = i
    return out


def spread(scores: list[dict[str, Any]]) -> dict[str, Any]:
    """The panel's scores of one cell, their spread, and whether they disagree widely."""
    values = [s["score"] for s in scores]
    low, high = min(values), max(values)
    return {
        "scores": scores,
        "min": low,
        "median": statistics.median(values),
        "max": high,
        "disagreement": high - low >= DISAGREEMENT,
    }


def verdict(median: float) -> tuple[str, float]:
    """The cell's verdict and fraction from the panel's median: fraction = median / 5."""
    fraction = round(median / SCALE, 4)
    if fraction >= 1:
        return "met", 1.0
    if fraction <= 0:
        return "not met", 0.0
    return "partly met", fraction


def cells(sheets: list[ScoreSheet]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(vendor, requirement) -> every evaluator's score and comment, in evaluator order."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for sheet in sorted(sheets, key=lambda s: s.evaluator):
        for item in sheet.scores:
            out.setdefault((item.vendor, item.requirement), []).append(
                {"evaluator": sheet.evaluator, "score": item.score, "comment": item.comment}
            )
    return out
