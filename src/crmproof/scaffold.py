"""`crmproof init`: a new workspace that validates and runs, or a copy of an existing one.

A team's first minutes decide whether it keeps the tool: the scaffold must pass
`crmproof validate` as written, run against a sandbox, and show where everything goes
(catalog, scenarios, vendor responses, baselines, CI). The templates ship as package data
under `templates/init/`, so an installed crmproof needs no checkout to start a workspace.
"""

from __future__ import annotations

import os
import re
import shutil
from importlib import resources
from pathlib import Path

import yaml

from crmproof.errors import UserInputError
from crmproof.schemas import write_schemas
from crmproof.workspace import EVALUATION_FILE

__all__ = ["copy_workspace", "init_workspace", "shipped_adapters"]

# Template file -> where it lands in the new workspace (dot-files are not package data).
_PLAIN = {
    "requirements/catalog.yaml": "requirements/catalog.yaml",
    "scenarios/account.yaml": "scenarios/account.yaml",
    "scenarios/opportunity.yaml": "scenarios/opportunity.yaml",
    "gitignore": ".gitignore",
    "github/workflows/crmproof.yml": ".github/workflows/crmproof.yml",
    "response.schema.json": "schemas/response.schema.json",
}
_SKIP_ON_COPY = {"reports", ".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache"}
_SCHEMA_LINE = re.compile(r"^(# yaml-language-server: \$schema=)(\S*?)([\w-]+\.schema\.json)\s*$")


def _template(name: str) -> str:
    return (resources.files("crmproof") / "templates" / "init" / name).read_text("utf-8")


def shipped_adapters() -> Path | None:
    """The adapters folder of the crmproof checkout this package runs from, if any.

    crmproof's own adapters (tryton, bottlecrm, djangocrm) live beside `src/` in its
    repository, not inside the package: an editable install or a checkout finds them here.
    """
    here = Path(__file__).resolve()
    for parent in here.parents[1:4]:
        candidate = parent / "adapters"
        if (candidate / "tryton" / "__init__.py").exists():
            return candidate
    return None


def _refuse_non_empty(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise UserInputError(f"{target}: exists and is not a folder")
    if target.is_dir():
        entries = sorted(p.name for p in target.iterdir())
        if entries:
            shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
            raise UserInputError(
                f"{target}: not empty ({shown}); crmproof init writes only into a new or "
                "empty folder, so it never overwrites a workspace"
            )


def init_workspace(target: Path, name: str | None = None) -> list[Path]:
    """Write the starter workspace into `target` (new or empty); return the files written."""
    _refuse_non_empty(target)
    target.mkdir(parents=True, exist_ok=True)
    adapters = shipped_adapters()
    if adapters is not None:
        note = (
            "crmproof's shipped adapters, found beside the installed crmproof; point this at\n"
            "# your own folder (relative to this file) once you write or copy adapters."
        )
        where = str(adapters)
    else:
        note = (
            "Put each adapter in adapters/<name>/ (an installed adapter package\n"
            "# with a `crmproof.adapters` entry point is found as well)."
        )
        where = "adapters"
    evaluation = (
        _template("crmproof.yaml")
        .replace("__NAME__", name or f"Evaluation of CRMs for {target.resolve().name}")
        .replace("__ADAPTERS_NOTE__", note)
        .replace("__ADAPTERS__", where)
    )
    written = [_write(target / EVALUATION_FILE, evaluation)]
    for source, dest in _PLAIN.items():
        written.append(_write(target / dest, _template(source)))
    written += write_schemas(target / "schemas")
    written += write_responses(target)
    return written


def write_responses(target: Path) -> list[Path]:
    """A response-file template per vendor of crmproof.yaml, one entry per requirement."""
    evaluation = yaml.safe_load((target / EVALUATION_FILE).read_text("utf-8"))
    requirement_ids: list[str] = []
    for path in sorted((target / "requirements").rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text("utf-8")):
            for req in (doc or {}).get("requirements") or []:
                requirement_ids.append(str(req["id"]))
    entries = "\n".join(f"#  {rid}: {{fit: native, note: how}}" for rid in requirement_ids)
    out = []
    for vendor in evaluation.get("vendors") or {}:
        text = _template("response.yaml.tmpl").replace("__VENDOR__", vendor)
        text = text.replace("__RESPONSES__", entries)
        out.append(_write(target / "responses" / f"{vendor}.yaml", text))
    return out


def copy_workspace(source: Path, target: Path) -> list[Path]:
    """Copy the workspace `source` into `target`, with its references still pointing right.

    A relative `adapters:` folder and the `$schema` lines are relative to where the files
    were; after the copy they are rewritten, or they would point at nothing.
    """
    source = source.resolve()
    if not (source / EVALUATION_FILE).exists():
        raise UserInputError(f"{source}: no {EVALUATION_FILE} here, so it is not a workspace")
    _refuse_non_empty(target)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        source,
        target,
        dirs_exist_ok=True,
        ignore=lambda _folder, names: [n for n in names if n in _SKIP_ON_COPY],
    )
    target = target.resolve()
    if not (target / "schemas" / "evaluation.schema.json").exists():
        write_schemas(target / "schemas")
    _repoint_adapters(source, target)
    written = sorted(p for p in target.rglob("*") if p.is_file())
    for path in written:
        if path.suffix in (".yaml", ".yml"):
            _repoint_schema_line(path, target / "schemas")
    return written


def _repoint_adapters(source: Path, target: Path) -> None:
    path = target / EVALUATION_FILE
    text = path.read_text("utf-8")
    match = re.search(r"^adapters:[ \t]*(\S+)[ \t]*$", text, re.MULTILINE)
    if not match or os.path.isabs(match.group(1)):
        return
    old = (source / match.group(1)).resolve()
    if (target / match.group(1)).resolve().is_dir() or not old.is_dir():
        return
    line = f"adapters: {old}"
    path.write_text(text[: match.start()] + line + text[match.end() :], encoding="utf-8")


def _repoint_schema_line(path: Path, schemas: Path) -> None:
    text = path.read_text("utf-8")
    first, sep, rest = text.partition("\n")
    match = _SCHEMA_LINE.match(first)
    if not match or "://" in match.group(2) or not (schemas / match.group(3)).exists():
        return
    relative = os.path.relpath(schemas / match.group(3), path.parent)
    path.write_text(f"{match.group(1)}{relative}{sep}{rest}", encoding="utf-8")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
