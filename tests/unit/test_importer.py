"""`crmproof import requirements`: a spreadsheet in, the same catalog out; bad cells located."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
import yaml
from click.testing import CliRunner, Result

from crmproof import workspace
from crmproof.cli import main
from crmproof.models import Requirement

ROOT = Path(__file__).resolve().parents[2]
HEADER = ["ID", "Process", "Step", "Role", "Text", "Kind", "Priority", "Weight", "Success"]


def _reference_rows() -> list[list[object]]:
    catalog = workspace.load(ROOT).catalog
    place = {s.id: (p.id, s.role) for p in catalog.processes for s in p.steps}
    return [
        [
            r.id,
            place[r.step][0],
            r.step,
            place[r.step][1],
            r.text,
            r.kind,
            r.priority.capitalize(),  # a human's sheet: case does not matter
            r.weight,
            r.success,
        ]
        for r in catalog.requirements
    ]


def _words(requirements: list[Requirement]) -> list[dict[str, object]]:
    """Requirements by id, text as its words: a cell holds no YAML folding newline.

    How a requirement is verified (scenario or demo) is no column of the matrix.
    """
    return [
        {
            k: " ".join(v.split()) if isinstance(v, str) else v
            for k, v in r.model_dump(exclude={"verified_by"}).items()
        }
        for r in sorted(requirements, key=lambda r: r.id)
    ]


def _xlsx(path: Path, rows: list[list[object]], header: list[str] = HEADER) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Reqs"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def _evaluation(ws: Path) -> None:
    (ws / "crmproof.yaml").write_text(
        f"name: Import test\nadapters: {ROOT / 'adapters'}\n"
        "vendors: {tryton: {adapter: tryton}}\n"
    )


def _workspace_without_requirements(tmp_path: Path) -> Path:
    """The reference workspace's strategy, roles and processes, with no requirement."""
    ws = tmp_path / "ws"
    (ws / "requirements").mkdir(parents=True)
    _evaluation(ws)
    for path in (ROOT / "requirements").glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        data.pop("requirements", None)
        if data:
            (ws / "requirements" / path.name).write_text(yaml.safe_dump(data, sort_keys=False))
    return ws


def _import(ws: Path, sheet: Path, *extra: str) -> Result:
    return CliRunner().invoke(
        main, ["import", "requirements", str(sheet), "-w", str(ws), *extra], catch_exceptions=False
    )


def test_reference_sheet_gives_the_reference_catalog(tmp_path: Path) -> None:
    rows = _reference_rows()
    assert len(rows) >= 60
    ws = _workspace_without_requirements(tmp_path)
    result = _import(ws, _xlsx(tmp_path / "matrix.xlsx", rows))
    assert result.exit_code == 0, result.output
    assert f"{len(rows)} requirement(s)" in result.stdout
    imported = workspace.load(ws)
    assert not imported.diagnostics
    reference = workspace.load(ROOT).catalog
    assert _words(imported.catalog.requirements) == _words(reference.requirements)
    assert imported.catalog.processes == reference.processes
    assert imported.catalog.roles == reference.roles
    first = (ws / "requirements" / "imported.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/catalog.schema.json"


def test_five_kinds_of_mistake_give_five_located_errors(tmp_path: Path) -> None:
    rows = _reference_rows()[:12]
    rows[3][0] = rows[1][0]  # duplicate id, row 5
    rows[5][6] = "Mandatory"  # unknown priority, row 7
    rows[7][7] = "high"  # weight not a number, row 9
    rows[8][8] = ""  # empty success, row 10
    rows[10][5] = "proces-control"  # unknown kind, row 12
    ws = _workspace_without_requirements(tmp_path)
    result = _import(ws, _xlsx(tmp_path / "bad.xlsx", rows))
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if "bad.xlsx:Reqs!" in line]
    assert len(errors) == 5, result.stderr
    assert f"bad.xlsx:Reqs!A5: duplicate id '{rows[1][0]}' (first at " in errors[0]
    assert errors[0].endswith("bad.xlsx:Reqs!A3)")
    assert "Reqs!G7: unknown priority 'Mandatory'" in errors[1]
    assert "Reqs!H9: weight 'high' is not a number" in errors[2]
    assert "Reqs!I10: empty success criterion" in errors[3]
    assert "Reqs!F12: unknown kind 'proces-control' (did you mean 'process-control'?)" in errors[4]
    assert "5 error(s): nothing was written" in result.stderr
    assert not (ws / "requirements" / "imported.yaml").exists()
    assert "Traceback" not in result.output


def test_header_names_are_matched_with_did_you_mean(tmp_path: Path) -> None:
    header = [*HEADER[:-1], "Sucess"]
    ws = _workspace_without_requirements(tmp_path)
    result = _import(ws, _xlsx(tmp_path / "h.xlsx", _reference_rows()[:2], header))
    assert result.exit_code == 1
    assert "h.xlsx:Reqs!I1: unknown column 'Sucess' (did you mean 'success'?)" in result.stderr
    assert "h.xlsx:Reqs!J1: missing column 'success'" in result.stderr


def test_second_import_updates_in_place_and_reports_changes(tmp_path: Path) -> None:
    rows = _reference_rows()[:10]
    ws = _workspace_without_requirements(tmp_path)
    assert _import(ws, _xlsx(tmp_path / "m.xlsx", rows)).exit_code == 0
    edited = [list(r) for r in rows]
    removed = edited.pop(4)
    edited[0][8] = "A different, stricter success criterion."
    edited[1][7] = 0.5
    new = list(rows[2])
    new[0] = "NEW-1"
    edited.append(new)
    result = _import(ws, _xlsx(tmp_path / "m.xlsx", edited))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        "  added: NEW-1",
        f"  removed: {removed[0]}",
        f"  changed: {rows[0][0]} (success)",
        f"  changed: {rows[1][0]} (weight)",
    ]
    data = yaml.safe_load((ws / "requirements" / "imported.yaml").read_text())
    assert [r["id"] for r in data["requirements"]] == [r[0] for r in edited]
    again = _import(ws, _xlsx(tmp_path / "m.xlsx", edited))
    assert "no requirement changed" in again.stdout


def test_csv_cells_are_located_too(tmp_path: Path) -> None:
    rows = _reference_rows()[:3]
    rows[2][7] = "three"
    rows[1][0] = "X" * 81  # over the model's 80 characters: still a located error
    path = tmp_path / "m.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(rows)
    ws = _workspace_without_requirements(tmp_path)
    result = _import(ws, path)
    assert result.exit_code == 1
    assert "m.csv!H4: weight 'three' is not a number" in result.stderr
    assert "m.csv!A3: id: string should have at most 80 characters" in result.stderr


def test_new_steps_create_their_process_and_role(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "requirements").mkdir(parents=True)
    _evaluation(ws)
    (ws / "requirements" / "strategy.yaml").write_text(
        "strategies: [{id: S, title: A strategy}]\nroles: [{id: rep, title: Rep}]\n"
    )
    rows = [
        ["N-1", "NEW", "NEW-1", "rep", "t", "process-control", "must", 2, "s"],
        ["N-2", "NEW", "NEW-2", "agent", "t", "process-control", "could", "", "s"],
        ["N-3", "NEW", "NEW-1", "reps", "t", "process-control", "could", 1, "s"],
    ]
    result = _import(ws, _xlsx(tmp_path / "n.xlsx", rows))
    assert result.exit_code == 1
    assert "n.xlsx:Reqs!D4: step NEW-1 is owned by role rep at" in result.stderr
    rows[2][3] = ""
    result = _import(ws, _xlsx(tmp_path / "n.xlsx", rows))
    assert result.exit_code == 0, result.output
    assert "new process: NEW" in result.stdout and "new role: agent" in result.stdout
    suite = workspace.load(ws)
    from crmproof import validate

    validate.check(suite)
    assert not suite.errors, suite.errors
    (process,) = suite.catalog.processes
    assert (process.strategy, [(s.id, s.role) for s in process.steps]) == (
        "S",
        [("NEW-1", "rep"), ("NEW-2", "agent")],
    )


@pytest.mark.parametrize("name", ["m.txt", "missing.xlsx"])
def test_unreadable_files_are_user_errors(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name.endswith(".txt"):
        path.write_text("id,step\n")
    ws = _workspace_without_requirements(tmp_path)
    result = _import(ws, path)
    assert result.exit_code == 1
    assert "Traceback" not in result.output and name in result.output
