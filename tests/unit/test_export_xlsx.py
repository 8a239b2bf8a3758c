"""The workbook: its sheets, verdict colours, claims, evidence links, both scores."""

from __future__ import annotations

from pathlib import Path

import decision_workspace as dw
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from crmproof.cli import main


def test_export_writes_every_sheet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "ws"
    suite = dw.write_workspace(root)
    folder = dw.write_run(root, suite)
    (root / "decisions.yaml").write_text(dw.decisions_yaml(dw.WAIVER, dw.DISPUTE_UPHELD))
    (root / "demos").mkdir()
    (root / "demos" / "ann.yaml").write_text(dw.sheet("ann", {("good", "D1"): 5, ("bad", "D1"): 1}))
    (root / "responses").mkdir()
    (root / "responses" / "bad.yaml").write_text("requirements:\n  R1: {claim: Fully supported}\n")
    runner = CliRunner()
    assert runner.invoke(main, ["report", dw.RUN_ID, "-w", str(root)]).exit_code == 0
    out = folder / "scorecard.xlsx"
    result = runner.invoke(main, ["export", dw.RUN_ID, "-w", str(root), "--xlsx", str(out)])
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    assert book.sheetnames == [
        "Summary",
        "Requirements",
        "Effort",
        "Waivers and disputes",
        "Demo scores",
    ]
    summary = book["Summary"]
    header = [c.value for c in summary[4]]
    assert header[4:6] == ["score (measured)", "score with waivers"]
    rows = {summary.cell(row=r, column=2).value: r for r in (5, 6)}
    bad = rows["bad"]
    assert summary.cell(row=bad, column=5).value == pytest.approx(0.3)  # D1: 1 / 5
    assert summary.cell(row=bad, column=6).value == pytest.approx(0.675)
    assert summary.cell(row=bad, column=7).value == "yes"
    assert summary.cell(row=bad, column=8).value == "no"
    matrix = book["Requirements"]
    head = [c.value for c in matrix[1]]
    col = head.index("bad") + 1
    r1 = next(r for r in range(2, matrix.max_row + 1) if matrix.cell(row=r, column=1).value == "R1")
    cell = matrix.cell(row=r1, column=col)
    assert cell.value == "waived (was NOT MET)"
    assert cell.fill.fgColor.rgb.endswith("C62828")  # the measured verdict's colour
    assert matrix.cell(row=r1, column=col + 1).value == "Fully supported"
    link = matrix.cell(row=r1, column=col + 2)
    assert link.hyperlink.target == "index.html#bad--A"
    decisions = book["Waivers and disputes"]
    assert decisions.cell(row=2, column=8).value.startswith("The workaround")
    demo = book["Demo scores"]
    assert [demo.cell(row=2, column=c).value for c in (1, 2, 3, 4)] == ["good", "D1", "ann", 5]
