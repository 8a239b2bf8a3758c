"""The scorecard as people and CI read it: terminal table, Markdown, JSON and JUnit.

Every renderer leads with disqualifications, because a failed `must` outweighs any score.
All files are written to a temporary name and renamed, so a killed render never leaves a
half-written report next to a complete results.jsonl.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from tabulate import tabulate

from crmproof import channels, channels_render, decide, decision_report
from crmproof.events import RunStarted
from crmproof.results import read_events
from crmproof.scoring import (
    VERDICTS,
    Scorecard,
    VendorCard,
    copy_of,
    score_file,
    stability_text,
)

# Scenario statuses that prove nothing either way: JUnit's "skipped", with the reason.
# A flaky scenario (passed only when re-run) is one: it is listed with the failures too.
GAPS = ("not offered", "not shown", "untested", "skipped", "flaky")

SYMBOL = {
    "met": "met",
    "partly met": "partly",
    "not met": "NOT MET",
    "not offered": "not offered",
    "not shown": "not shown",
    "untested": "untested",
    "not covered": "not covered",
}
UNSIGNED = (
    "UNSIGNED: this run carries no signature, so nothing shows who wrote it "
    "(`crmproof key new` makes a signing key)"
)


def _effort_text(effort: dict[str, int] | None) -> str:
    if not effort:
        return ""
    return (
        f"{effort.get('clicks', 0)} clicks, {effort.get('keystrokes', 0)} keys, "
        f"{effort.get('fields', 0)} fields, {effort.get('pages', 0)} pages"
    )


def _cell(card: VendorCard, rid: str) -> str:
    cell = card.requirements[rid]
    text = SYMBOL[cell.verdict]
    if cell.stale:
        text = f"STALE (was {SYMBOL.get(cell.stale_verdict or '', cell.stale_verdict)})"
    if cell.verdict == "partly met":
        text += f" {cell.fraction:.0%}"
    if cell.lacking:
        text += f" (lacks {', '.join(cell.lacking)})"
    if cell.claim is not None:
        text += f" (claimed {cell.claim.fit}" + (": BROKEN)" if cell.promise == "broken" else ")")
    if card.channel == "browser" and cell.effort:
        text += f" [{cell.effort.get('clicks', 0)}c/{cell.effort.get('keystrokes', 0)}k]"
    return decision_report.cell_text(cell, text)


def strength_text(card: Scorecard) -> str:
    """'tryton 96%, bottlecrm 95%': mutations the suite catches, per vendor."""
    return ", ".join(f"{v} {s:.0%}" for v, s in (card.suite_strength or {}).items())


def promises_text(vendor: VendorCard) -> str:
    """'promises kept: 30 of 34 (4 broken, 2 unproven)': claims held against the proof."""
    p = vendor.promises
    made = p.get("kept", 0) + p.get("broken", 0)
    text = f"promises kept: {p.get('kept', 0)} of {made} proven"
    extra = [f"{p[k]} {k}" for k in ("broken", "unproven") if p.get(k)]
    if p.get("better than claimed"):
        extra.append(f"{p['better than claimed']} met although claimed not offered")
    return text + (f" ({', '.join(extra)})" if extra else "")


def headline(card: Scorecard) -> list[str]:
    lines = []
    for vendor in card.vendors:  # a broken promise is the first thing a team must see
        if vendor.broken_promises:
            lines.append(
                f"{vendor.name} BROKE {len(vendor.broken_promises)} PROMISE(S): claimed native "
                "or configuration, and not met: "
                + ", ".join(
                    f"{r} ({vendor.requirements[r].verdict})" for r in vendor.broken_promises
                )
            )
    for vendor in card.vendors:
        if vendor.status != "ready":
            lines.append(f"{vendor.name}: could not be evaluated: {vendor.message}")
        if vendor.disqualified:
            lines.append(
                f"{vendor.name} is DISQUALIFIED: must requirement(s) not met or not offered: "
                + ", ".join(
                    f"{r} ({vendor.requirements[r].verdict})" for r in vendor.disqualified_by
                )
            )
        if vendor.unproven_by:
            lines.append(
                f"{vendor.name} is UNPROVEN: must requirement(s) not shown or untested, so "
                "no recommendation until they are: "
                + ", ".join(f"{r} ({vendor.requirements[r].verdict})" for r in vendor.unproven_by)
            )
        if vendor.left_behind:
            lines.append(
                f"{vendor.name}: {len(vendor.left_behind)} record(s) of this run were "
                "left behind in the vendor (see scorecard.json)"
            )
    if card.stale:
        lines.append(
            f"{card.stale} cell(s) are STALE: the workspace changed since this run "
            f"({'; '.join(card.changed_since_run)}); they count as untested until re-run "
            "(`crmproof run --stale`)"
        )
    if not card.complete:
        lines.append(
            "This run did not finish: results are partial (resume it with "
            f"`crmproof run --resume {card.run_id}`)."
        )
    return lines


def _rows(card: Scorecard) -> list[list[str]]:
    rows = []
    for req in card.requirements:
        rows.append(
            [
                req["id"],
                req["priority"],
                f"{req['weight']:g}",
                *(_cell(v, req["id"]) for v in card.vendors),
            ]
        )
    rows.append(
        [
            "SCORE",
            "",
            "",
            *(f"{v.score:.0%}" + (" (DQ)" if v.disqualified else "") for v in card.vendors),
        ]
    )
    return rows + decision_report.score_rows(card)


def _failures(card: Scorecard) -> list[str]:
    lines = []
    for vendor in card.vendors:
        for result in vendor.scenarios.values():
            if result.status in ("failed", "error", "flaky"):
                step = result.failed_step
                where = f" (step {step.index + 1}, line {step.line}: {step.step})" if step else ""
                lines.append(
                    f"{vendor.name} / {result.id}: {result.status}{where}: {result.message}"
                )
                if step and step.expected is not None:
                    lines.append(f"    expected: {step.expected}")
                    lines.append(f"    actual:   {step.actual}")
    return lines


def terminal(card: Scorecard) -> str:
    header = ["requirement", "priority", "weight", *(v.name for v in card.vendors)]
    parts = [f"crmproof scorecard: {card.evaluation} (run {card.run_id})", ""]
    parts += headline(card)
    parts += [tabulate(_rows(card), headers=header, tablefmt="simple"), ""]
    parts.append("ranking: " + " > ".join(card.ranking))
    stability = stability_text(card.stability)
    if stability:
        parts.append(f"rank stability: {stability}")
    parts += [f"{v.name} {promises_text(v)}" for v in card.vendors if v.promises]
    if card.suite_strength:
        parts.append(f"suite strength (crmproof audit): {strength_text(card)}")
    parts += decision_report.terminal_sections(card)
    for vendor in card.vendors:
        if vendor.leftovers is None:
            cleanup = "not verified (the adapter cannot list leftovers)"
        else:
            cleanup = f"verified, {len(vendor.left_behind)} record(s) left behind"
            if vendor.kept:
                cleanup += (
                    f"; {len(vendor.kept)} kept by the vendor's rules and neutralised "
                    f"({', '.join(sorted({r['kept'].split(':')[0] for r in vendor.kept}))})"
                )
        parts.append(f"{vendor.name} cleanup: {cleanup}")
        if vendor.effort:
            parts.append(
                f"{vendor.name} user effort (all scenarios): {_effort_text(vendor.effort)}"
            )
    failures = _failures(card)
    if failures:
        parts += ["", "failures and errors:", *failures]
    return "\n".join(parts) + "\n"


def markdown(card: Scorecard, unsigned: bool = False) -> str:
    header = ["requirement", "priority", "weight", *(v.name for v in card.vendors)]
    out = [
        f"# Scorecard: {card.evaluation}",
        "",
        f"Run `{card.run_id}`, suite sha256 `{card.suite_sha256[:12]}`.",
        "",
    ]
    out += [f"> **{line}**" for line in headline(card) + ([UNSIGNED] if unsigned else [])]
    if headline(card) or unsigned:
        out.append("")
    out += [
        "| vendor | version | channel | score | disqualified | "
        + " | ".join(v for v in VERDICTS)
        + " |",
        "|---|---|---|---|---|" + "---|" * len(VERDICTS),
    ]
    for name in card.ranking:
        v = next(x for x in card.vendors if x.name == name)
        out.append(
            f"| {v.name} | {v.vendor_version or '?'} | {v.channel or '?'} | "
            f"{v.score:.0%} | {'yes' if v.disqualified else 'no'} | "
            + " | ".join(str(v.verdicts.get(k, 0)) for k in VERDICTS)
            + " |"
        )
    stability = stability_text(card.stability)
    if stability:
        out += ["", f"Rank stability: {stability}."]
    if card.suite_strength:
        out += ["", f"Suite strength (`crmproof audit`): {strength_text(card)}."]
    promised = [v for v in card.vendors if v.promises]
    if promised:
        out += ["", "Claims against proof (the vendors' response files):", ""]
        out += [f"- {v.name} {promises_text(v)}" for v in promised]
    effort = [v for v in card.vendors if v.effort]
    if effort:
        out += [
            "",
            "User effort over all scenarios (browser vendors): "
            + "; ".join(f"{v.name}: {_effort_text(v.effort)}" for v in effort)
            + ".",
        ]
    out += decision_report.markdown_sections(card)
    out += ["", "## Requirements", "", tabulate(_rows(card), headers=header, tablefmt="github")]
    for layer, items, title in (
        ("strategy", card.strategies, "By strategy"),
        ("role", card.roles, "By role"),
        ("process", card.processes, "By process"),
    ):
        rows = [
            [
                f"{item['id']} {item['title']}",
                *(f"{v.rollups.get(layer, {}).get(item['id'], 0):.0%}" for v in card.vendors),
            ]
            for item in items
        ]
        out += [
            "",
            f"## {title}",
            "",
            tabulate(rows, headers=[layer, *(v.name for v in card.vendors)], tablefmt="github"),
        ]
    out.append("")
    failures = _failures(card)
    if failures:
        out += ["## Failures and errors", "", "```", *failures, "```", ""]
    return "\n".join(out)


def junit(card: Scorecard) -> str:
    suites = ET.Element("testsuites", name=f"crmproof {card.evaluation}")
    for vendor in card.vendors:
        results = list(vendor.scenarios.values())
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=vendor.name,
            tests=str(len(results)),
            failures=str(sum(r.status == "failed" for r in results)),
            errors=str(sum(r.status == "error" for r in results)),
            skipped=str(sum(r.status in GAPS for r in results)),
        )
        for result in results:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=vendor.name,
                name=result.id,
                time=f"{result.duration_ms / 1000:.3f}",
            )
            message = result.message or ""
            if result.status == "failed":
                ET.SubElement(case, "failure", message=message).text = message
            elif result.status == "error":
                ET.SubElement(case, "error", message=message).text = message
            elif result.status in GAPS:
                ET.SubElement(case, "skipped", message=f"{result.status}: {message}")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


VERDICT_CSS = [
    ("met", "v-met"),
    ("partly met", "v-partly"),
    ("not met", "v-not"),
    ("not offered", "v-unsupported"),
    ("not shown", "v-unshown"),
    ("untested", "v-untested"),
    ("not covered", "v-uncovered"),
]


def html(card: Scorecard, unsigned: bool = False, channel_section: str = "") -> str:
    """One self-contained page: no script, no external file; evidence linked relatively."""
    import time

    from jinja2 import Environment, PackageLoader, select_autoescape
    from markupsafe import Markup

    env = Environment(
        loader=PackageLoader("crmproof", "templates"), autoescape=select_autoescape(["j2"])
    )
    ranked = [next(v for v in card.vendors if v.name == n) for n in card.ranking]
    return env.get_template("index.html.j2").render(
        card=card,
        ranked=ranked,
        headline=headline(card) + ([UNSIGNED] if unsigned else []),
        stability=stability_text(card.stability),
        verdict_css=VERDICT_CSS,
        css_of=dict(VERDICT_CSS),
        total=max(1, len(card.requirements)),
        layers=[("strategy", card.strategies), ("role", card.roles), ("process", card.processes)],
        effort_text=_effort_text,
        promises_text=promises_text,
        strength=strength_text(card) if card.suite_strength else None,
        started=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(card.started)),
        channel_section=Markup(channel_section),  # built escaped by channels_render
        **decision_report.html_context(card),
    )


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def derive(folder: Path) -> Scorecard:
    """The scorecard that follows from a run folder: its results, with the decisions and
    the audit the folder holds. `crmproof verify` derives it again the same way."""
    card = decide.judge_folder(score_file(folder / "results.jsonl"), folder)
    if (folder / "audit.json").exists():
        from crmproof.audit import AuditReport

        audited = AuditReport.model_validate_json((folder / "audit.json").read_text())
        card.suite_strength = {v.vendor: round(v.strength, 4) for v in audited.vendors}
    return card


def channel_report(folder: Path, card: Scorecard) -> channels.ChannelReport:
    """Channel agreement and give/get of a run folder's scorecard (crmproof.channels)."""
    # the run event, first in the file: nothing else is read
    run = next(e for e in read_events(folder / "results.jsonl") if isinstance(e, RunStarted))
    return channels.analyse(
        card, channels.declared_products([run]), channels.effort_scenarios([run])
    )


def write_all(
    folder: Path, unsigned: bool = False, current: dict[str, Any] | None = None
) -> Scorecard:
    """Score a run folder's results.jsonl and (re)write every report beside it.

    `current`: the workspace's fingerprints now (crmproof.fingerprints). When cells rest on
    what changed since the run, the marked view goes to scorecard.stale.json/.md and
    index.stale.html, and is returned: the run's own files stay as the run wrote them, so
    `crmproof verify` still holds.
    """
    card = derive(folder)
    report = channel_report(folder, card)
    _write(folder / "scorecard.json", card.model_dump_json(indent=2))
    _write(folder / "scorecard.md", markdown(card, unsigned) + channels_render.markdown(report))
    _write(folder / "junit.xml", junit(card))
    _write(folder / "index.html", html(card, unsigned, channels_render.html(report)))
    from crmproof import ctrf

    ctrf.write(folder, card)
    if current is None:
        return card
    from crmproof.stale import STALE_VIEWS, mark, recorded_fingerprints

    marked = mark(copy_of(card), recorded_fingerprints(folder), current)
    if not marked.stale:
        for name in STALE_VIEWS:
            (folder / name).unlink(missing_ok=True)
        return card
    _write(folder / "scorecard.stale.json", marked.model_dump_json(indent=2))
    report = channel_report(folder, marked)
    _write(
        folder / "scorecard.stale.md", markdown(marked, unsigned) + channels_render.markdown(report)
    )
    _write(folder / "index.stale.html", html(marked, unsigned, channels_render.html(report)))
    return marked
