"""Loading a workspace: crmproof.yaml, the catalog and the scenarios, with positions.

Loading never stops at the first problem: every file is read, every pydantic error is
turned into a located `Diagnostic`, and `crmproof.validate` adds the checks of meaning.
The result, a `Suite`, is what the planner and the runner work from.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from crmproof import vocabulary
from crmproof.diagnostics import Diagnostic, SpecError, did_you_mean, one_of
from crmproof.gcpause import paused_gc
from crmproof.models import STEP_KEYS, Catalog, Evaluation, Scenario
from crmproof.parsecache import ParseCache
from crmproof.scenario_checks import ScenarioChecks
from crmproof.yamlsource import Document, load_documents, reader

EVALUATION_FILE = "crmproof.yaml"


@dataclass
class Loaded:
    """A model together with the YAML document it came from."""

    model: Any
    doc: Document


@dataclass
class Suite:
    root: Path
    evaluation: Loaded | None = None
    catalogs: list[Loaded] = field(default_factory=list)
    scenarios: list[Loaded] = field(default_factory=list)
    # Every scenario document, also those whose shape is wrong. Their data is dropped once
    # read: the models hold what a run needs, `scenario_checks` what the checks of meaning
    # found in it.
    scenario_docs: list[Document] = field(default_factory=list)
    scenario_checks: ScenarioChecks = field(default_factory=ScenarioChecks)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # Scenario files that hold no document at all: empty, or only comments and whitespace.
    empty_scenario_files: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def adapters_dir(self) -> Path:
        return adapters_dir(self.root, self.evaluation.model if self.evaluation else None)

    @property
    def catalog(self) -> Catalog:
        """All catalog files merged into one."""
        merged = Catalog()
        for loaded in self.catalogs:
            for part in ("strategies", "roles", "processes", "requirements"):
                getattr(merged, part).extend(getattr(loaded.model, part))
        return merged


def adapters_dir(root: Path, evaluation: Evaluation | None = None) -> Path:
    """Where a workspace keeps its adapters: `adapters:` of crmproof.yaml, or adapters/."""
    if evaluation is None and (root / EVALUATION_FILE).exists():
        try:
            doc = next(load_documents(root / EVALUATION_FILE))
            folder = doc.data.get("adapters") if isinstance(doc.data, dict) else None
            return (root / folder).resolve() if isinstance(folder, str) else root / "adapters"
        except (SpecError, StopIteration):
            pass
    return (root / (evaluation.adapters if evaluation else "adapters")).resolve()


def display_path(path: Path | str) -> str:
    """A path as the user will click it: relative to the current folder when inside it."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


class _Shown:
    """`display_path` for many files: the current folder is asked once per folder of files.

    os.path.relpath asks the system for the current folder twice per file, which is a
    tenth of loading ten thousand scenarios where system calls are dear.
    """

    def __init__(self) -> None:
        self.folders: dict[str, str] = {}

    def __call__(self, path: Path | str) -> str:
        folder, name = os.path.split(path)
        shown = self.folders.get(folder)
        if shown is None:
            shown = self.folders[folder] = display_path(Path(folder or "."))
        return name if shown == "." else os.path.join(shown, name)


def _unwrap(annotation: Any) -> Any:
    """`X | None` and `Annotated[X, ...]` to X."""
    while True:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0] if args else None
        elif origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        else:
            return annotation


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that the value at `loc` (inside `model`) is validated against."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if typing.get_origin(current) in (list, dict):
            current = typing.get_args(current)[-1]  # `part` is an index or a key
        elif isinstance(current, type) and issubclass(current, BaseModel):
            fields = {(f.alias or n): f for n, f in current.model_fields.items()}
            if part not in fields:
                return None
            current = fields[part].annotation
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def validation_diagnostics(
    exc: ValidationError,
    model: type[BaseModel],
    doc: Document,
    skip_keys: AbstractSet[tuple[Any, ...]] = frozenset(),
) -> list[Diagnostic]:
    """Pydantic's errors as located messages, with the expected form and a did-you-mean."""
    out: list[Diagnostic] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            if loc in skip_keys:
                continue
            parent = _model_at(model, loc[:-1])
            allowed = [(f.alias or n) for n, f in parent.model_fields.items()] if parent else []
            hint = did_you_mean(str(loc[-1]), allowed)
            expected = "" if hint or not allowed else f"; {one_of(allowed)}"
            out.append(doc.error(loc, f"unknown key '{loc[-1]}'{hint}{expected}", key=True))
        elif kind == "missing":
            out.append(doc.error(loc[:-1], f"missing required key '{loc[-1]}'"))
        else:
            given = err.get("input")
            shown = repr(given) if not isinstance(given, (dict, list)) else type(given).__name__
            if len(shown) > 60:
                shown = shown[:57] + "..."
            name = ".".join(str(p) for p in loc) or "document"
            out.append(doc.error(loc, f"{name}: {err['msg'].lower()} (got {shown})"))
    return out


def _load_model(
    model: type[BaseModel], doc: Document, skip_keys: AbstractSet[tuple[Any, ...]] = frozenset()
) -> tuple[Any | None, list[Diagnostic]]:
    if not isinstance(doc.data, dict):
        kind = type(doc.data).__name__ if doc.data is not None else "nothing"
        return None, [doc.error((), f"expected a mapping of keys to values, found {kind}")]
    try:
        return model.model_validate(doc.data), []
    except ValidationError as exc:
        return None, validation_diagnostics(exc, model, doc, skip_keys)


def _yaml_files(folder: Path) -> list[str]:
    """What `folder.rglob("*.y*ml")` finds with a suffix .yaml or .yml, as Paths order it.

    Walked by os.walk, as text: for ten thousand files, the Paths that rglob makes, then
    their parts for ordering them and their parsing again when opened, were a tenth of
    loading them.
    """
    found: list[tuple[tuple[str, ...], str]] = []  # (the parts below folder, the path)
    for parent, dirs, files in os.walk(folder):
        below = os.path.relpath(parent, folder)
        parts = () if below == os.curdir else tuple(below.split(os.sep))
        for name in (*dirs, *files):  # rglob matches folders too: they are reported unread
            if name.endswith((".yaml", ".yml")) and name not in (".yaml", ".yml"):
                found.append(((*parts, name), os.path.join(parent, name)))
    return [path for _, path in sorted(found)]


@paused_gc()
def load(root: Path) -> Suite:
    """Read the whole workspace; problems are in `suite.diagnostics`, never raised."""
    suite = Suite(root=root)
    shown = _Shown()
    cache = ParseCache(root, reader())
    eval_path = root / EVALUATION_FILE
    if not eval_path.exists():
        suite.diagnostics.append(
            Diagnostic(
                display_path(eval_path),
                1,
                1,
                "no crmproof.yaml here: is this a workspace? (`crmproof init DIR` makes one)",
            )
        )
        return suite
    for doc, problems in _documents(eval_path, shown):
        suite.diagnostics += problems
        if doc is not None:
            model, problems = _load_model(Evaluation, doc)
            suite.diagnostics += problems
            if model is not None:
                suite.evaluation = Loaded(model, doc)
            break
    evaluation = suite.evaluation.model if suite.evaluation else None
    req_dir = root / (evaluation.requirements if evaluation else "requirements")
    scen_dir = root / (evaluation.scenarios if evaluation else "scenarios")
    for path in _yaml_files(req_dir):
        for doc, problems in _documents(path, shown, cache):
            suite.diagnostics += problems
            if doc is not None:
                model, problems = _load_model(Catalog, doc)
                suite.diagnostics += problems
                if model is not None:
                    suite.catalogs.append(Loaded(model, doc))
    suite.scenario_checks = ScenarioChecks({r.id for r in suite.catalog.requirements})
    unchecked: list[Document] = []
    for path in _yaml_files(scen_dir):
        documents = _documents(path, shown, cache)
        if not documents:  # a user who saved an empty file believes the scenario exists
            suite.empty_scenario_files.append(shown(path))
            suite.diagnostics.append(
                Diagnostic(
                    shown(path),
                    1,
                    1,
                    "this file holds no scenario: it is empty or only comments "
                    "(write the scenario, or delete the file)",
                    "warning",
                )
            )
        for doc, problems in documents:
            suite.diagnostics += problems
            if doc is None:
                continue
            suite.scenario_docs.append(doc)
            skips, problems = step_key_skips(doc)
            suite.diagnostics += problems
            model, problems = _load_model(Scenario, doc, skips)
            suite.diagnostics += problems
            if model is not None:
                suite.scenarios.append(Loaded(model, doc))
            unchecked.append(doc)
        if len(unchecked) >= _CHECK_BATCH:
            _check_and_drop(suite.scenario_checks, unchecked)
    _check_and_drop(suite.scenario_checks, unchecked)
    cache.save()
    return suite


_CHECK_BATCH = 256


def _check_and_drop(checks: ScenarioChecks, docs: list[Document]) -> None:
    """The checks of meaning of these scenario documents; then their data is dropped.

    Made some hundred documents at a time: made at each document, between two pydantic
    validations that push the checks' code and data out of the processor's caches, the
    checks took half as long again.
    """
    for doc in docs:
        checks.read(doc)
        doc.data = None
    docs.clear()


_OPS = frozenset(vocabulary.STEP_OPERATIONS)


def step_key_skips(doc: Document) -> tuple[set[tuple[Any, ...]], list[Diagnostic]]:
    """Report a step's misspelt operation as such, before pydantic calls it an unknown key.

    Returns the locations of the keys reported here, so that pydantic's own
    'unknown key' message for them is left out.
    """
    skips: set[tuple[Any, ...]] = set()
    out: list[Diagnostic] = []
    steps = doc.data.get("steps") if isinstance(doc.data, dict) else None
    if not isinstance(steps, list):
        return skips, out
    for i, step in enumerate(steps):
        if isinstance(step, dict) and len(step.keys() & _OPS) == 1:
            continue  # one operation (nearly every step): pydantic reports any unknown key
        loc = ("steps", i)
        if not isinstance(step, dict):
            out.append(doc.error(loc, "a step is a mapping such as `create: account`"))
            continue
        ops = [k for k in step if k in vocabulary.STEP_OPERATIONS]
        unknown = [k for k in step if k not in STEP_KEYS]
        if not ops:
            for key in unknown:
                skips.add((*loc, key))
                hint = did_you_mean(key, vocabulary.STEP_OPERATIONS) or did_you_mean(key, STEP_KEYS)
                out.append(doc.error((*loc, key), f"unknown operation '{key}'{hint}", key=True))
            if not unknown:
                out.append(
                    doc.error(
                        loc, f"this step has no operation; {one_of(vocabulary.STEP_OPERATIONS)}"
                    )
                )
        elif len(ops) > 1:
            out.append(
                doc.error(
                    (*loc, ops[1]),
                    f"a step has one operation, but this one has {' and '.join(ops)}: split it",
                    key=True,
                )
            )
    return skips, out


def _documents(
    path: Path | str, shown: _Shown | None = None, cache: ParseCache | None = None
) -> list[tuple[Document | None, list[Diagnostic]]]:
    """Each document of a file; a YAML error keeps the documents read before it."""
    out: list[tuple[Document | None, list[Diagnostic]]] = []
    try:
        for doc in load_documents(path, (shown or display_path)(path), cache):
            out.append((doc, []))
    except SpecError as exc:
        out.append((None, exc.diagnostics))
    return out
