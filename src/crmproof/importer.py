"""`crmproof import requirements`: a team's requirement spreadsheet as catalog YAML.

Teams keep their requirement matrix in a spreadsheet long before they meet crmproof, and
keep editing it after workshops. The import reads it (XLSX through openpyxl, or CSV),
reports every bad cell at once as `FILE:Sheet!C12: ...` (CSV: `FILE!C12: ...`), and
writes one catalog file that a second import of the edited sheet rewrites in place,
saying what was added, removed and changed.

A row's step must fit the catalog: a step the workspace already defines keeps its
process and role (the sheet may repeat them, and must agree); a new step needs a process
and a role, and its process is created in the imported file, serving the workspace's one
strategy (or `--strategy`), because a process defined in another file cannot be extended
from here.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from crmproof.diagnostics import did_you_mean, one_of
from crmproof.errors import UserInputError
from crmproof.fingerprints import REQUIREMENT_PARTS
from crmproof.models import Catalog, Requirement
from crmproof.workspace import Suite, display_path

__all__ = ["COLUMNS", "ImportResult", "SheetErrors", "import_requirements", "read_sheet"]

COLUMNS = ("id", "process", "step", "role", "text", "kind", "priority", "weight", "success")
REQUIRED = ("id", "step", "text", "kind", "priority", "success")
PRIORITIES = ("must", "should", "could", "wont")
KINDS = ("process-control", "information-management")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class SheetErrors(UserInputError):
    """Every bad cell of a sheet, each located; nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class Sheet:
    """A sheet's cells as text, with a way to name any cell as the user will find it."""

    path: Path
    name: str | None  # the worksheet; None for CSV
    rows: list[tuple[int, list[str]]]  # (1-based row number, cells)

    def where(self, row: int, col: int) -> str:
        ref = f"{_letters(col)}{row}"
        shown = str(self.path)  # as the user named it
        return f"{shown}:{self.name}!{ref}" if self.name is not None else f"{shown}!{ref}"


def _letters(col: int) -> str:
    """0-based column index to A, B, ..., Z, AA."""
    out = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        out = chr(65 + rest) + out
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_sheet(path: Path, sheet: str | None = None) -> Sheet:
    """The cells of an .xlsx worksheet (the first, or `sheet`) or of a .csv file."""
    if not path.is_file():
        raise UserInputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as data:
            first = data.readline()
            data.seek(0)
            # Spreadsheets in comma-decimal locales save CSV with ';'.
            delimiter = ";" if first.count(";") > first.count(",") else ","
            reader = csv.reader(data, delimiter=delimiter)
            rows = [(n, [c.strip() for c in r]) for n, r in enumerate(reader, 1)]
        return Sheet(path, None, rows)
    if suffix not in (".xlsx", ".xlsm"):
        raise UserInputError(f"{path}: expected an .xlsx or .csv file, got '{path.suffix}'")
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise UserInputError(f"{path}: not a readable XLSX workbook: {exc}") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise UserInputError(
                f"{path}: no sheet '{sheet}'{did_you_mean(sheet, book.sheetnames)}; "
                f"{one_of(book.sheetnames)}"
            )
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        rows = [
            (n, [_text(v) for v in values])
            for n, values in enumerate(ws.iter_rows(values_only=True), 1)
        ]
        return Sheet(path, ws.title, rows)
    finally:
        book.close()


@dataclass
class ImportResult:
    out: Path
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    new_processes: list[str] = field(default_factory=list)
    new_roles: list[str] = field(default_factory=list)
    count: int = 0

    def summary(self) -> list[str]:
        lines = [f"{display_path(self.out)}: {self.count} requirement(s)"]
        lines += [f"  added: {rid}" for rid in self.added]
        lines += [f"  removed: {rid}" for rid in self.removed]
        lines += [f"  changed: {rid} ({', '.join(p)})" for rid, p in self.changed.items()]
        if not (self.added or self.removed or self.changed):
            lines.append("  no requirement changed")
        lines += [f"  new process: {p}" for p in self.new_processes]
        lines += [f"  new role: {r}" for r in self.new_roles]
        return lines


def _header(sheet: Sheet, problems: list[str]) -> tuple[int, dict[str, int]]:
    """The header row (the first non-empty one) and each known column's index."""
    first = next(((n, cells) for n, cells in sheet.rows if any(cells)), None)
    if first is None:
        raise SheetErrors([f"{sheet.where(1, 0)}: the sheet is empty; expected a header row"])
    number, cells = first
    columns: dict[str, int] = {}
    for index, raw in enumerate(cells):
        if not raw:
            continue
        name = re.sub(r"[\s_]+", " ", raw.strip().lower()).replace(" ", "")
        if name in COLUMNS and name not in columns:
            columns[name] = index
        elif name in COLUMNS:
            problems.append(f"{sheet.where(number, index)}: column '{raw}' appears twice")
        else:
            problems.append(
                f"{sheet.where(number, index)}: unknown column '{raw}'"
                f"{did_you_mean(name, COLUMNS)}; {one_of(COLUMNS)}"
            )
    for name in REQUIRED:
        if name not in columns:
            problems.append(f"{sheet.where(number, len(cells))}: missing column '{name}'")
    return number, columns


@dataclass
class _Known:
    """What the rest of the workspace's catalog defines, beyond the imported file."""

    requirements: dict[str, str]  # id -> where
    steps: dict[str, tuple[str, str]]  # step -> (process, role)
    processes: dict[str, str]  # id -> where
    roles: set[str]
    strategies: list[str]


def _known(suite: Suite, out: Path) -> _Known:
    known = _Known({}, {}, {}, set(), [])
    for loaded in suite.catalogs:
        if Path(loaded.doc.path).resolve() == out.resolve():
            continue
        catalog: Catalog = loaded.model
        for req in catalog.requirements:
            known.requirements[req.id] = loaded.doc.path
        for process in catalog.processes:
            known.processes[process.id] = loaded.doc.path
            for step in process.steps:
                known.steps[step.id] = (process.id, step.role)
        known.roles |= {r.id for r in catalog.roles}
        known.strategies += [s.id for s in catalog.strategies]
    return known


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ".")) if text.count(",") <= 1 else None
    except ValueError:
        return None


def _rows(
    sheet: Sheet, known: _Known, strategy: str | None
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], list[str]]:
    """Requirements, new processes and new roles from the sheet; raises with every problem."""
    problems: list[str] = []
    header_row, columns = _header(sheet, problems)
    if any("missing column" in p for p in problems):
        raise SheetErrors(problems)

    def cell(cells: list[str], name: str) -> str:
        index = columns.get(name)
        return cells[index] if index is not None and index < len(cells) else ""

    requirements: list[dict[str, Any]] = []
    seen_ids: dict[str, str] = {}
    new_steps: dict[str, tuple[str, str, str]] = {}  # step -> (process, role, where)
    new_processes: dict[str, dict[str, Any]] = {}
    new_roles: list[str] = []
    for number, cells in sheet.rows:
        if number <= header_row or not any(cells):
            continue

        def at(name: str, number: int = number) -> str:
            return sheet.where(number, columns.get(name, 0))

        before = len(problems)
        values = {name: cell(cells, name) for name in COLUMNS}
        rid = values["id"]
        if not rid:
            problems.append(f"{at('id')}: empty id")
        elif not _ID.match(rid):
            problems.append(f"{at('id')}: id '{rid}': use letters, digits, '.', '-' and '_'")
        elif rid in seen_ids:
            problems.append(f"{at('id')}: duplicate id '{rid}' (first at {seen_ids[rid]})")
        elif rid in known.requirements:
            problems.append(
                f"{at('id')}: id '{rid}' is already defined in {known.requirements[rid]}"
            )
        else:
            seen_ids[rid] = at("id")
        for name in ("text", "success"):
            if not values[name]:
                what = "success criterion" if name == "success" else "requirement text"
                problems.append(f"{at(name)}: empty {what} for '{rid or '?'}'")
        priority = values["priority"].lower()
        if priority not in PRIORITIES:
            problems.append(
                f"{at('priority')}: unknown priority '{values['priority']}'"
                f"{did_you_mean(priority, PRIORITIES)}; {one_of(PRIORITIES)}"
            )
        kind = values["kind"].lower()
        if kind not in KINDS:
            problems.append(
                f"{at('kind')}: unknown kind '{values['kind']}'"
                f"{did_you_mean(kind, KINDS)}; {one_of(KINDS)}"
            )
        weight: float | None = 1.0
        if values["weight"]:
            weight = _number(values["weight"])
            if weight is None:
                problems.append(f"{at('weight')}: weight '{values['weight']}' is not a number")
            elif not 0 <= weight <= 100:
                problems.append(f"{at('weight')}: weight {weight:g} is outside 0..100")
        step = values["step"]
        if not step:
            problems.append(f"{at('step')}: empty step for '{rid or '?'}'")
        else:
            problems += _place(step, values, at, known, strategy, new_steps, new_processes)
        if len(problems) == before:
            req = {
                "id": rid,
                "step": step,
                "kind": kind,
                "priority": priority,
                "weight": int(weight) if weight is not None and weight.is_integer() else weight,
                "text": values["text"],
                "success": values["success"],
            }
            try:  # the checks above mirror the model; this keeps them honest
                Requirement.model_validate(req)
            except ValidationError as exc:
                for err in exc.errors():
                    name = str(err["loc"][0]) if err["loc"] else "id"
                    problems.append(f"{at(name)}: {name}: {err['msg'].lower()}")
                continue
            requirements.append(req)
    for _process, role, _where in new_steps.values():
        if role not in known.roles and role not in new_roles:
            new_roles.append(role)
    if problems:
        raise SheetErrors(problems)
    return requirements, new_processes, new_roles


def _place(
    step: str,
    values: dict[str, str],
    at: Any,
    known: _Known,
    strategy: str | None,
    new_steps: dict[str, tuple[str, str, str]],
    new_processes: dict[str, dict[str, Any]],
) -> list[str]:
    """Check (or create) the row's step in its process and role; the problems found."""
    process, role = values["process"], values["role"]
    if step in known.steps:
        has_process, has_role = known.steps[step]
        out = []
        if process and process != has_process:
            out.append(
                f"{at('process')}: step {step} belongs to process {has_process} "
                f"({known.processes[has_process]}), not '{process}'"
            )
        if role and role != has_role:
            out.append(f"{at('role')}: step {step} is owned by role {has_role}, not '{role}'")
        return out
    if step in new_steps:
        first_process, first_role, first = new_steps[step]
        out = []
        if process and process != first_process:
            out.append(f"{at('process')}: step {step} is in process {first_process} at {first}")
        if role and role != first_role:
            out.append(f"{at('role')}: step {step} is owned by role {first_role} at {first}")
        return out
    out = []
    if not process:
        out.append(f"{at('process')}: step {step} is new: give the process it belongs to")
    elif process in known.processes:
        out.append(
            f"{at('step')}: no step {step} in process {process} ({known.processes[process]})"
            f"{did_you_mean(step, [s for s, (p, _) in known.steps.items() if p == process])}: "
            "add the step there, or use one of its steps"
        )
    elif hint := did_you_mean(process, known.processes):
        out.append(f"{at('process')}: unknown process '{process}'{hint}")
    if not role:
        out.append(f"{at('role')}: step {step} is new: give the role that owns it")
    elif role not in known.roles and (hint := did_you_mean(role, known.roles)):
        out.append(f"{at('role')}: unknown role '{role}'{hint}")
    if out:
        return out
    if process not in new_processes:
        if strategy is None and len(known.strategies) != 1:
            return [
                f"{at('process')}: new process {process} needs a strategy: pass --strategy"
                + (f" ({one_of(known.strategies)})" if known.strategies else "")
            ]
        new_processes[process] = {
            "id": process,
            "title": process,
            "strategy": strategy or known.strategies[0],
            "steps": [],
        }
    new_processes[process]["steps"].append({"id": step, "title": step, "role": role})
    new_steps[step] = (process, role, at("step"))
    return []


def _previous(out: Path) -> dict[str, dict[str, Any]]:
    if not out.exists():
        return {}
    try:
        data = yaml.safe_load(out.read_text("utf-8")) or {}
    except yaml.YAMLError:
        return {}
    return {str(r.get("id")): r for r in data.get("requirements") or [] if isinstance(r, dict)}


def _schema_line(out: Path, root: Path) -> str:
    import os

    schema = root / "schemas" / "catalog.schema.json"
    return f"# yaml-language-server: $schema={os.path.relpath(schema, out.parent)}\n"


def import_requirements(
    source: Path, suite: Suite, out: Path, sheet: str | None = None, strategy: str | None = None
) -> ImportResult:
    """Write `out` from the sheet `source`, checked against the rest of `suite`'s catalog."""
    known = _known(suite, out)
    if strategy is not None and strategy not in known.strategies:
        raise UserInputError(
            f"--strategy {strategy}: no such strategy{did_you_mean(strategy, known.strategies)}"
        )
    data = read_sheet(source, sheet)
    requirements, processes, roles = _rows(data, known, strategy)
    result = ImportResult(out=out, count=len(requirements))
    previous = _previous(out)
    current = {r["id"]: r for r in requirements}
    result.added = [rid for rid in current if rid not in previous]
    result.removed = [rid for rid in previous if rid not in current]
    for rid, req in current.items():
        if rid in previous:
            parts = [
                p for p in ("kind", *REQUIREMENT_PARTS) if _differs(previous[rid].get(p), req[p])
            ]
            if parts:
                result.changed[rid] = parts
    result.new_processes = list(processes)
    result.new_roles = roles
    body: dict[str, Any] = {}
    if roles:
        body["roles"] = [{"id": r, "title": r} for r in roles]
    if processes:
        body["processes"] = list(processes.values())
    body["requirements"] = requirements
    text = (
        _schema_line(out, suite.root)
        + f"# Imported from {source.name} by `crmproof import requirements`. The sheet is the\n"
        + "# source: edit it and import again (edits made here are replaced).\n"
        + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return result


def _differs(before: Any, after: Any) -> bool:
    """True when a part differs (numbers compared as numbers, text by its words)."""
    if isinstance(before, (int, float)) and isinstance(after, (int, float)):
        return float(before) != float(after)
    return " ".join(str(before or "").split()) != " ".join(str(after or "").split())
