"""How the decision layer reads in the reports: cell marks and the sections it adds.

A cell always shows its measured verdict; a decision is written around it (`waived (NOT
MET)`), never instead of it, so a reader can tell evidence from judgement at a glance.
Demo cells say `[demo min/median/max]`, and `!` marks panel disagreement.
"""

from __future__ import annotations

from typing import Any

from tabulate import tabulate

from crmproof import acceptability
from crmproof.scoring import Cell, Scorecard

EFFECT_TEXT = {
    "waiver": "waived",
    "upheld": "dispute upheld",
    "open": "disputed",
    "rejected": "dispute rejected",
}


def _num(value: float) -> str:
    return f"{value:g}"


def demo_mark(cell: Cell) -> str:
    if cell.source != "demo":
        return ""
    if not cell.demo:
        return " [demo: no scores]"
    d = cell.demo
    flag = " !" if d["disagreement"] else ""
    return f" [demo {_num(d['min'])}/{_num(d['median'])}/{_num(d['max'])}{flag}]"


def cell_text(cell: Cell, measured: str) -> str:
    """The cell as text: the measured verdict, its demo spread, and any decision around it."""
    text = measured + demo_mark(cell)
    effects = [d["effect"] for d in cell.decisions]
    if not effects:
        return text
    if "waiver" in effects or "upheld" in effects:
        shown = EFFECT_TEXT["waiver" if "waiver" in effects else "upheld"]
        return f"{shown} (was {text})"
    if "open" in effects:
        return f"disputed ({text})"
    return f"{text} (dispute rejected)"


def score_rows(card: Scorecard) -> list[list[str]]:
    """The extra SCORE row of the requirements table: the score with waivers."""
    if not card.decisions:
        return []
    return [
        [
            "SCORE with waivers",
            "",
            "",
            *(
                f"{v.score_with_waivers or 0:.0%}"
                + (" (DQ)" if v.disqualified_with_waivers else "")
                for v in card.vendors
            ),
        ]
    ]


def decision_rows(card: Scorecard) -> list[list[str]]:
    rows = []
    by_name = {v.name: v for v in card.vendors}
    for d in card.decisions:
        vendor = by_name[d["vendor"]]
        subject = d.get("requirement") or d.get("scenario") or ""
        if d.get("requirement"):
            cell = vendor.requirements[d["requirement"]]
            measured = cell.verdict
            decided = cell.waived_verdict or cell.verdict
        else:
            result = vendor.scenarios.get(subject)
            measured = result.status if result else "not run"
            decided = "passed" if d["effect"] in ("waiver", "upheld") else measured
        rows.append(
            [
                d["vendor"],
                subject,
                d["kind"] + ("" if d["kind"] == "waiver" else f" ({d['effect']})"),
                measured,
                decided,
                d["who"],
                d["when"],
                d["why"],
            ]
        )
    return rows


DECISION_HEADER = ["vendor", "subject", "kind", "measured", "with waivers", "who", "when", "why"]
DEMO_HEADER = ["vendor", "requirement", "min", "median", "max", "fraction", "flag", "scores"]


def demo_rows(card: Scorecard) -> list[list[str]]:
    rows = []
    demo_ids = [r["id"] for r in card.requirements if r.get("verified_by") == "demo"]
    for vendor in card.vendors:
        for rid in demo_ids:
            cell = vendor.requirements[rid]
            if not cell.demo:
                rows.append([vendor.name, rid, "", "", "", "untested", "no scores", ""])
                continue
            d = cell.demo
            rows.append(
                [
                    vendor.name,
                    rid,
                    _num(d["min"]),
                    _num(d["median"]),
                    _num(d["max"]),
                    f"{cell.fraction:.0%}",
                    "WIDE DISAGREEMENT" if d["disagreement"] else "",
                    "; ".join(
                        f"{s['evaluator']} {s['score']}: {s['comment']}" for s in d["scores"]
                    ),
                ]
            )
    return rows


def _score_line(card: Scorecard) -> str | None:
    if not card.decisions:
        return None
    parts = [
        f"{v.name} {v.score:.0%} measured, {v.score_with_waivers or 0:.0%} with waivers"
        + (" (still disqualified)" if v.disqualified_with_waivers else "")
        + (
            " (qualifies with waivers)"
            if v.disqualified and not v.disqualified_with_waivers
            else ""
        )
        for v in card.vendors
    ]
    return "; ".join(parts)


def terminal_sections(card: Scorecard) -> list[str]:
    parts: list[str] = []
    line = _score_line(card)
    if line:
        parts += [f"scores: {line}"]
        parts.append("ranking with waivers: " + " > ".join(card.ranking_with_waivers or []))
    if card.decisions:
        parts += ["", "waivers and disputes:"]
        parts.append(tabulate(decision_rows(card), headers=DECISION_HEADER, tablefmt="simple"))
    demo = demo_rows(card)
    if demo:
        parts += ["", "demonstrations (scored 0-5 by evaluators; fraction = median / 5):"]
        parts.append(tabulate(demo, headers=DEMO_HEADER, tablefmt="simple"))
    parts += _acceptability_text(card, "simple")
    return parts


def markdown_sections(card: Scorecard) -> list[str]:
    out: list[str] = []
    line = _score_line(card)
    if line:
        out += ["", f"Scores with waivers: {line}.", ""]
        out.append("Ranking with waivers: " + " > ".join(card.ranking_with_waivers or []) + ".")
    if card.decisions:
        out += ["", "## Waivers and disputes", ""]
        out.append(tabulate(decision_rows(card), headers=DECISION_HEADER, tablefmt="github"))
    demo = demo_rows(card)
    if demo:
        out += [
            "",
            "## Demonstrations",
            "",
            "Human evidence: each evaluator scores 0-5; the cell's fraction is the median / 5. "
            "A spread of 3 or more is flagged.",
            "",
        ]
        out.append(tabulate(demo, headers=DEMO_HEADER, tablefmt="github"))
    acc = _acceptability_text(card, "github", heading="## Rank acceptability")
    return out + acc


def _acceptability_text(
    card: Scorecard, fmt: str, heading: str = "rank acceptability:"
) -> list[str]:
    report = card.acceptability
    if not report:
        return []
    out = ["", heading, ""] if fmt == "github" else ["", heading]
    out.append(acceptability.describe(report) + ", with waivers applied.")
    for title, header, rows in acceptability.table(report):
        out += ["", f"{title}:"] if rows else ["", f"{title}: none"]
        if rows:
            if fmt == "github":
                out.append("")
            out.append(tabulate(rows, headers=header, tablefmt=fmt))
    if report["apart"]:
        out += ["", "reported apart, not ranked:"]
        if fmt == "github":
            out.append("")
        out += [f"- {name}: {why}" for name, why in report["apart"].items()]
    return out


def html_context(card: Scorecard) -> dict[str, Any]:
    """What index.html.j2 needs for the decision layer's sections."""
    return {
        "decision_header": DECISION_HEADER,
        "decision_rows": decision_rows(card),
        "demo_header": DEMO_HEADER,
        "demo_rows": demo_rows(card),
        "score_line": _score_line(card),
        "acceptability_tables": acceptability.table(card.acceptability)
        if card.acceptability
        else [],
        "acceptability_text": acceptability.describe(card.acceptability)
        if card.acceptability
        else None,
        "cell_text": cell_text,
        "demo_mark": demo_mark,
    }
