"""The checks of meaning of a scenario document, made on its raw data as the loader reads it.

They read the raw data, not the model, so a file with a shape error still gets every other
check; `crmproof.validate` reports what they found with the checks across files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Set
from typing import Any

from crmproof import vocabulary as vocab
from crmproof.diagnostics import Diagnostic, did_you_mean, one_of
from crmproof.interpolation import Reference, references
from crmproof.yamlsource import Document

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OPS = frozenset(vocab.STEP_OPERATIONS)


def _raw(doc: Document, key: str, kind: type) -> Any:
    value = doc.data.get(key) if isinstance(doc.data, dict) else None
    return value if isinstance(value, kind) else kind()


class ScenarioChecks:
    """What the checks of meaning found in the scenario documents the loader gave them.

    The loader gives them each document as it reads the workspace, then drops the
    document's data: ten thousand scenarios' raw data would otherwise stay alive beside
    their models: 27 of the 122 MiB that loading and checking them kept (tracemalloc).
    """

    def __init__(self, requirement_ids: Set[str] = frozenset()) -> None:
        self.requirement_ids = requirement_ids
        self.ids: list[tuple[str, Document, tuple[Any, ...]]] = []
        self.covered: set[str] = set()  # the requirement ids the scenarios cover
        self.found: list[Diagnostic] = []

    def read(self, doc: Document) -> None:
        if isinstance(doc.data, dict) and isinstance(doc.data.get("id"), str):
            self.ids.append((doc.data["id"], doc, ("id",)))
        self.covered.update(c for c in _raw(doc, "covers", list) if isinstance(c, str))
        self.found += _check_scenario(doc, self.requirement_ids)


def _check_scenario(doc: Document, requirement_ids: Set[str]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for i, rid in enumerate(_raw(doc, "covers", list)):
        if isinstance(rid, str) and rid not in requirement_ids:
            out.append(
                doc.error(
                    ("covers", i),
                    f"covers '{rid}', which is no requirement{did_you_mean(rid, requirement_ids)}",
                )
            )
    saved: set[str] = {"run"}
    for i, raw in enumerate(_raw(doc, "steps", list)):
        if not isinstance(raw, dict):
            continue
        loc = ("steps", i)
        out += _check_references(doc, loc, raw, saved)
        op = next(filter(_OPS.__contains__, raw), None)
        if op == vocab.EXPECT:
            out += _check_expect(doc, (*loc, "expect"), raw["expect"])
        elif op in vocab.ENTITY_OPERATIONS:
            out += _check_entity_step(doc, loc, op, raw)
        elif op in ("offline", "online") and raw[op] is False:
            out.append(doc.error((*loc, op), f"write `{op}: true` (or just `{op}:`)"))
        if isinstance(raw.get("save"), str):
            saved.add(raw["save"])
    return out


_REFS: dict[str, tuple[Reference, ...]] = {}  # the `${...}` of a text, by the text
_REFS_MAX = 200_000


def _references(value: Any) -> Iterable[Reference]:
    """`interpolation.references`, each distinct text parsed once: ten thousand scenarios
    write `${deal.id}` and `Acme ${run.id}` a hundred thousand times."""
    if isinstance(value, str):
        if "${" not in value:
            return ()
        found = _REFS.get(value)
        if found is None:
            found = tuple(references(value))
            if len(_REFS) < _REFS_MAX:
                _REFS[value] = found
        return found
    if isinstance(value, dict):
        items: Iterable[Any] = value.values()
    elif isinstance(value, list):
        items = value
    else:
        return ()
    gathered: Iterable[Reference] = ()
    for item in items:
        refs = _references(item)
        if refs:  # most values hold none: no list is built for them
            gathered = [*gathered, *refs]
    return gathered


def _check_references(
    doc: Document, loc: tuple[Any, ...], raw: dict[str, Any], saved: set[str]
) -> list[Diagnostic]:
    out = []
    for key, value in raw.items():
        for ref in _references(value):
            where = (*loc, key)
            if ref.problem:
                out.append(doc.error(where, ref.problem))
            elif ref.root == "run":
                if ref.path != ("id",):
                    out.append(doc.error(where, f"'{ref.text}': `run` has only `id`"))
            elif ref.root not in saved:
                out.append(
                    doc.error(
                        where,
                        f"'{ref.text}': no earlier step saves "
                        f"'{ref.root}'{did_you_mean(ref.root or '', saved)}",
                    )
                )
    return out


def _entity_ok(doc: Document, loc: tuple[Any, ...], entity: Any) -> list[Diagnostic]:
    if entity in vocab.ENTITIES:
        return []
    return [
        doc.error(
            loc,
            f"unknown entity '{entity}'{did_you_mean(str(entity), vocab.ENTITIES)}"
            f"; {one_of(vocab.ENTITIES)}",
        )
    ]


def _check_entity_step(
    doc: Document, loc: tuple[Any, ...], op: str, raw: dict[str, Any]
) -> list[Diagnostic]:
    entity = raw[op]
    out = _entity_ok(doc, (*loc, op), entity)
    if out:
        return out
    if op in vocab.NEEDS_ID and "id" not in raw:
        out.append(doc.error(loc, f"`{op}: {entity}` needs `id:` (the record to {op})"))
    if op == "invoice" and entity not in vocab.INVOICES:
        out.append(doc.error((*loc, op), f"only an order can be invoiced, not a {entity}"))
    if op == "advance":
        stages = vocab.ENTITIES[entity].stages
        if not stages:
            out.append(doc.error((*loc, op), f"a {entity} has no stages to advance through"))
        elif "to" not in raw:
            out.append(doc.error(loc, f"`advance: {entity}` needs `to:`; {one_of(stages)}"))
        elif raw["to"] not in stages and "${" not in str(raw["to"]):
            out.append(
                doc.error(
                    (*loc, "to"),
                    f"unknown {entity} stage '{raw['to']}'"
                    f"{did_you_mean(str(raw['to']), stages)}; {one_of(stages)}",
                )
            )
    if op == "convert" and entity not in vocab.CONVERSIONS:
        what = " or ".join(f"a {a} (to a {b})" for a, b in vocab.CONVERSIONS.items())
        out.append(doc.error((*loc, op), f"only {what} can be converted, not a {entity}"))
    for key in ("with", "where"):
        if isinstance(raw.get(key), dict):
            out += check_fields(doc, (*loc, key), entity, raw[key])
    return out


def check_fields(
    doc: Document, loc: tuple[Any, ...], entity: str, values: dict[str, Any]
) -> list[Diagnostic]:
    """Field names of `entity` and the type of each value."""
    out = []
    fields = vocab.ENTITIES[entity].fields
    for name, value in values.items():
        if name == "id":
            continue
        if name not in fields:
            out.append(
                doc.error(
                    (*loc, name),
                    f"unknown field '{name}' of {entity}"
                    f"{did_you_mean(name, fields)}; {one_of(fields)}",
                    key=True,
                )
            )
            continue
        problem = _type_problem(entity, fields[name].type, value)
        if problem:
            out.append(doc.error((*loc, name), f"{entity}.{name}: {problem}"))
    return out


def _type_problem(entity: str, kind: str, value: Any) -> str | None:
    if isinstance(value, str) and "${" in value:
        return None  # resolved at run time
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in vocab.MATCHERS:
        return None  # a matcher inside `fields:` of an expectation
    if kind == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else f"expected a number, got {value!r}"
    if kind == "bool":
        return None if isinstance(value, bool) else f"expected true or false, got {value!r}"
    if kind == "date":
        ok = isinstance(value, str) and _DATE.match(value) is not None
        return None if ok else f"expected a date like 2026-12-31, got {value!r}"
    if kind == "stage":
        stages = vocab.ENTITIES[entity].stages
        if value in stages:
            return None
        return f"unknown stage {value!r}{did_you_mean(str(value), stages)}; {one_of(stages)}"
    if kind == "lines":
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            return f"expected a list of lines like [{{product: CODE, quantity: 1}}], got {value!r}"
        for line in value:
            extra = set(line) - set(vocab.LINE_KEYS)
            if extra:
                return (
                    f"unknown line key '{sorted(extra)[0]}'"
                    f"{did_you_mean(sorted(extra)[0], vocab.LINE_KEYS)}; "
                    f"expected {', '.join(vocab.LINE_KEYS)}"
                )
            if "product" not in line:
                return "each line needs a product"
        return None
    if kind == "email" and isinstance(value, str) and "@" not in value:
        return f"expected an e-mail address, got {value!r}"
    if isinstance(value, (dict, list)) or value is None:
        return f"expected text, got {value!r}"
    return None


def _check_expect(doc: Document, loc: tuple[Any, ...], raw: Any) -> list[Diagnostic]:
    if not isinstance(raw, dict):
        return []  # pydantic already said so
    out = []
    subjects = [k for k in vocab.EXPECT_SUBJECTS if k in raw]
    if len(subjects) != 1:
        out.append(
            doc.error(
                loc,
                "an expectation needs exactly one subject: `value:`, "
                f"`get:` or `find:` (found {', '.join(subjects) or 'none'})",
            )
        )
    if "find" in raw and "count" not in raw and "only" not in raw:
        out.append(
            doc.warning(
                (*loc, "find"),
                "this find checks what it finds but not what it must not: a vendor whose "
                "search ignores its filter would pass; add `count:` or `only:`",
                key=True,
            )
        )
    if not any(k in raw for k in vocab.MATCHERS):
        out.append(doc.error(loc, f"an expectation needs a check; {one_of(vocab.MATCHERS)}"))
    entity = raw.get("get") or raw.get("find")
    if entity is not None:
        key = "get" if "get" in raw else "find"
        bad = _entity_ok(doc, (*loc, key), entity)
        out += bad
        if not bad:
            if key == "get" and "id" not in raw:
                out.append(doc.error(loc, "`get:` needs `id:`"))
            for part in ("where", "fields"):
                if isinstance(raw.get(part), dict):
                    out += check_fields(doc, (*loc, part), entity, raw[part])
    if "matches" in raw and isinstance(raw["matches"], str):
        try:
            re.compile(raw["matches"])
        except re.error as exc:
            out.append(doc.error((*loc, "matches"), f"not a regular expression: {exc}"))
    return out
