"""The scorecard as a workbook, because the committee that signs reads spreadsheets.

Written with openpyxl, from the same judged scorecard as the other reports (the run's
results.jsonl and the decision files kept in its folder), so the workbook never says
anything the HTML does not. Sheets: Summary, Requirements (verdict colours, the vendor's
own claim when a response file exists, links to evidence), Effort, Waivers and disputes,
Demo scores. Evidence links are relative to the workbook, so keep it in the run folder or
move the folder with it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from crmproof import acceptability, decision_report
from crmproof.render import SYMBOL
from crmproof.scoring import Scorecard, VendorCard
from crmproof.yamlsource import load_documents

FILL = {
    "met": "2E7D32",
    "partly met": "9CCC65",
    "not met": "C62828",
    "unsupported": "F9A825",
    "untested": "90A4AE",
    "not covered": "E0E0E0",
}
WHITE_TEXT = {"met", "not met"}
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")
HEAD_FILL = PatternFill("solid", fgColor="DDE3F0")


def claims(root: Path, vendor: str) -> dict[str, str]:
    """The vendor's own answer per requirement, from responses/<vendor>.yaml if present.

    Read tolerantly (a mapping of requirement id to text or to {claim|response|answer}, or
    a list of such entries, at the top or under `requirements:`/`responses:`), because the
    response file is the vendor's and its absence or an unknown shape must never stop an
    export.
    """
    path = root / "responses" / f"{vendor}.yaml"
    if not path.is_file():
        return {}
    try:
        data: Any = next(load_documents(path)).data
    except Exception:
        return {}
    if isinstance(data, dict):
        data = data.get("requirements", data.get("responses", data))
    items: list[tuple[str, Any]] = []
    if isinstance(data, dict):
        items = [(str(k), v) for k, v in data.items()]
    elif isinstance(data, list):
        items = [
            (str(e.get("requirement")), e)
            for e in data
            if isinstance(e, dict) and "requirement" in e
        ]
    out: dict[str, str] = {}
    for rid, value in items:
        if isinstance(value, dict):
            parts = [
                str(value[k])
                for k in ("claim", "response", "answer", "support", "note")
                if value.get(k)
            ]
            text = ": ".join(parts)
        else:
            text = str(value)
        if text:
            out[rid] = text
    return out


def _header(sheet: Worksheet, row: int, values: list[str]) -> None:
    for col, value in enumerate(values, 1):
        cell = sheet.cell(row=row, column=col, value=value)
        cell.font = BOLD
        cell.fill = HEAD_FILL
        cell.alignment = WRAP


def _widths(sheet: Worksheet, widths: list[int]) -> None:
    for col, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(col)].width = width


def _verdict_cell(sheet: Worksheet, row: int, col: int, verdict: str, text: str) -> None:
    cell = sheet.cell(row=row, column=col, value=text)
    cell.fill = PatternFill("solid", fgColor=FILL[verdict])
    cell.alignment = WRAP
    if verdict in WHITE_TEXT:
        cell.font = Font(color="FFFFFF", bold=verdict == "not met")


def _link(folder: Path, out: Path, target: str) -> str:
    """A hyperlink to a run file, relative to where the workbook is written."""
    path, _, anchor = target.partition("#")
    relative = os.path.relpath(folder / path, out.parent).replace(os.sep, "/")
    return relative + (f"#{anchor}" if anchor else "")


def _evidence(vendor: VendorCard, scenarios: list[str]) -> str | None:
    """The first evidence file of the cell's scenarios, else its scenario in index.html."""
    for sid in scenarios:
        result = vendor.scenarios.get(sid)
        if result is None:
            continue
        failed = result.failed_step.evidence if result.failed_step else []
        files = [*failed, *result.evidence]
        if files:
            return str(files[0].path)
    return f"index.html#{vendor.name}--{scenarios[0]}" if scenarios else None


def _summary(book: Workbook, card: Scorecard) -> None:
    sheet = book.active
    assert sheet is not None
    sheet.title = "Summary"
    sheet["A1"] = f"Scorecard: {card.evaluation}"
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = f"Run {card.run_id}; suite sha256 {card.suite_sha256[:12]}"
    header = [
        "place",
        "vendor",
        "channel",
        "version",
        "score (measured)",
        "score with waivers",
        "disqualified",
        "disqualified with waivers",
        "musts not met (with waivers)",
        *decision_report_verdicts(),
    ]
    _header(sheet, 4, header)
    by_name = {v.name: v for v in card.vendors}
    order = card.ranking_with_waivers or card.ranking
    for i, name in enumerate(order, 1):
        v = by_name[name]
        with_waivers = v.score if v.score_with_waivers is None else v.score_with_waivers
        dq = v.disqualified if v.disqualified_with_waivers is None else v.disqualified_with_waivers
        line: list[Any] = [
            i,
            v.name,
            v.channel or "?",
            v.vendor_version or "?",
            v.score,
            with_waivers,
            "yes" if v.disqualified else "no",
            "yes" if dq else "no",
            ", ".join(v.disqualified_by_with_waivers or v.disqualified_by),
            *(v.verdicts.get(k, 0) for k in decision_report_verdicts()),
        ]
        for col, value in enumerate(line, 1):
            cell = sheet.cell(row=4 + i, column=col, value=value)
            cell.alignment = WRAP
            if col in (5, 6):
                cell.number_format = "0%"
            if col in (7, 8) and value == "yes":
                cell.font = Font(color="C62828", bold=True)
    row = 5 + len(order) + 1
    sheet.cell(row=row, column=1, value="Ranking (measured): " + " > ".join(card.ranking))
    row += 1
    if card.stability:
        from crmproof.scoring import stability_text

        sheet.cell(row=row, column=1, value=f"Rank stability: {stability_text(card.stability)}")
        row += 1
    if card.acceptability:
        row += 1
        sheet.cell(row=row, column=1, value="Rank acceptability").font = Font(bold=True, size=12)
        row += 1
        sheet.cell(row=row, column=1, value=acceptability.describe(card.acceptability))
        for title, head, rows in acceptability.table(card.acceptability):
            row += 2
            sheet.cell(row=row, column=1, value=title).font = BOLD
            row += 1
            _header(sheet, row, head)
            for values in rows:
                row += 1
                for col, value in enumerate(values, 1):
                    sheet.cell(row=row, column=col, value=value)
        for name, why in card.acceptability["apart"].items():
            row += 1
            sheet.cell(row=row, column=1, value=f"apart, not ranked: {name}: {why}")
    _widths(sheet, [7, 12, 9, 12, 10, 10, 11, 11, 40, 7, 7, 7, 11, 9, 9])


def decision_report_verdicts() -> list[str]:
    return ["met", "partly met", "not met", "unsupported", "untested", "not covered"]


def _requirements(
    book: Workbook, card: Scorecard, folder: Path, out: Path, responses: Path | None
) -> None:
    sheet = book.create_sheet("Requirements")
    said = {v.name: claims(responses, v.name) if responses else {} for v in card.vendors}
    fixed = ["requirement", "step", "priority", "weight", "verified by", "text"]
    header = list(fixed)
    for v in card.vendors:
        header += [v.name, f"{v.name}: claim", f"{v.name}: evidence"]
    _header(sheet, 1, header)
    for r, req in enumerate(card.requirements, 2):
        values = [
            req["id"],
            req["step"],
            req["priority"],
            req["weight"],
            req.get("verified_by", "scenario"),
            req["text"],
        ]
        for col, value in enumerate(values, 1):
            sheet.cell(row=r, column=col, value=value).alignment = WRAP
        col = len(fixed) + 1
        for v in card.vendors:
            cell = v.requirements[req["id"]]
            text = SYMBOL[cell.verdict]
            if cell.verdict == "partly met":
                text += f" {cell.fraction:.0%}"
            _verdict_cell(sheet, r, col, cell.verdict, decision_report.cell_text(cell, text))
            sheet.cell(row=r, column=col + 1, value=said[v.name].get(req["id"])).alignment = WRAP
            target = _evidence(v, cell.scenarios)
            if target:
                link = sheet.cell(row=r, column=col + 2, value=target.split("/")[-1])
                link.hyperlink = _link(folder, out, target)
                link.font = Font(color="1A4FA0", underline="single")
                link.alignment = Alignment(vertical="top")
            col += 3
    sheet.freeze_panes = "B2"
    _widths(sheet, [10, 8, 8, 7, 9, 50, *([18, 22, 22] * len(card.vendors))])


def _effort(book: Workbook, card: Scorecard) -> None:
    sheet = book.create_sheet("Effort")
    keys = ["clicks", "keystrokes", "fields", "pages"]
    _header(sheet, 1, ["vendor", "scenario", "status", *keys, "seconds"])
    row = 1
    for v in card.vendors:
        for result in v.scenarios.values():
            row += 1
            effort = result.effort or {}
            values = [
                v.name,
                result.id,
                result.status,
                *(effort.get(k) if result.effort else None for k in keys),
                round(result.duration_ms / 1000, 2),
            ]
            for col, value in enumerate(values, 1):
                sheet.cell(row=row, column=col, value=value)
        if v.effort:
            row += 1
            total: list[Any] = [v.name, "TOTAL", "", *(v.effort.get(k, 0) for k in keys)]
            for col, value in enumerate(total, 1):
                sheet.cell(row=row, column=col, value=value).font = BOLD
    row += 2
    sheet.cell(
        row=row,
        column=1,
        value="User effort is counted for browser vendors only; API vendors show none.",
    )
    sheet.freeze_panes = "A2"
    _widths(sheet, [12, 40, 12, 8, 11, 8, 8, 9])


def _decisions(book: Workbook, card: Scorecard) -> None:
    sheet = book.create_sheet("Waivers and disputes")
    _header(sheet, 1, [*decision_report.DECISION_HEADER, "run", "resolved by"])
    for r, (values, d) in enumerate(
        zip(decision_report.decision_rows(card), card.decisions, strict=True), 2
    ):
        for col, value in enumerate([*values, d["run"], d.get("resolved_by")], 1):
            sheet.cell(row=r, column=col, value=value).alignment = WRAP
    if not card.decisions:
        sheet.cell(row=2, column=1, value="No waivers or disputes for this run.")
    _widths(sheet, [12, 26, 18, 14, 14, 24, 12, 60, 24, 16])


def _demos(book: Workbook, card: Scorecard) -> None:
    sheet = book.create_sheet("Demo scores")
    _header(sheet, 1, ["vendor", "requirement", "evaluator", "score", "comment"])
    row = 1
    demo_ids = [r["id"] for r in card.requirements if r.get("verified_by") == "demo"]
    for v in card.vendors:
        for rid in demo_ids:
            for s in (v.requirements[rid].demo or {}).get("scores", []):
                row += 1
                values = [v.name, rid, s["evaluator"], s["score"], s["comment"]]
                for col, value in enumerate(values, 1):
                    sheet.cell(row=row, column=col, value=value).alignment = WRAP
    row += 2
    sheet.cell(row=row, column=1, value="Spread per cell (fraction = median / 5)").font = BOLD
    row += 1
    _header(sheet, row, decision_report.DEMO_HEADER[:-1])
    for values in decision_report.demo_rows(card):
        row += 1
        for col, value in enumerate(values[:-1], 1):
            cell = sheet.cell(row=row, column=col, value=value)
            if value == "WIDE DISAGREEMENT":
                cell.font = Font(color="C62828", bold=True)
    if card.evaluators:
        row += 2
        sheet.cell(row=row, column=1, value="Evaluators").font = BOLD
        for ident, name in card.evaluators.items():
            row += 1
            sheet.cell(row=row, column=1, value=ident)
            sheet.cell(row=row, column=2, value=name)
    _widths(sheet, [12, 12, 12, 8, 70, 9, 20])


def _fit_rows(sheet: Worksheet) -> None:
    """Row heights for wrapped text: a workbook stores none, and LibreOffice keeps 1 line."""
    for row in sheet.iter_rows():
        lines = 1
        for cell in row:
            if not isinstance(cell.value, str) or not cell.alignment.wrap_text:
                continue
            width = sheet.column_dimensions[cell.column_letter].width or 10
            per_line = max(1, int(width * 1.1))
            lines = max(
                lines, sum(-(-len(part) // per_line) or 1 for part in cell.value.split("\n"))
            )
        if lines > 1 and row[0].row is not None:
            sheet.row_dimensions[row[0].row].height = 13 * lines


def write(card: Scorecard, folder: Path, out: Path, responses: Path | None = None) -> Path:
    """Write the workbook to `out` (via a temporary name: never a half-written file)."""
    book = Workbook()
    _summary(book, card)
    _requirements(book, card, folder, out, responses)
    _effort(book, card)
    _decisions(book, card)
    _demos(book, card)
    for sheet in book.worksheets:
        _fit_rows(sheet)
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    tmp = out.with_name(f".{out.name}.tmp")
    book.save(tmp)
    os.replace(tmp, out)
    return out
