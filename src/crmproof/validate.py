"""Checks of meaning, after the shape is right: the vocabulary and references across files.

Each check reports at the exact key or value that is wrong, says what was expected and,
where a close word exists, suggests it. A requirement that no scenario covers is a
warning: it is reported as "not covered" in the scorecard, never silently as met.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from crmproof import vocabulary as vocab
from crmproof.diagnostics import Diagnostic, did_you_mean, one_of
from crmproof.gcpause import paused_gc
from crmproof.interpolation import Reference, references
from crmproof.workspace import Suite
from crmproof.yamlsource import Document

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OPS = frozenset(vocab.STEP_OPERATIONS)


@paused_gc()
def check(suite: Suite) -> list[Diagnostic]:
    """All checks of meaning; appended to `suite.diagnostics` and returned."""
    found: list[Diagnostic] = []
    found += _check_evaluation(suite)
    found += _check_catalog(suite)
    found += _check_scenarios(suite)
    found += _check_responses(suite)
    suite.diagnostics += found
    return found


def _check_responses(suite: Suite) -> list[Diagnostic]:
    """The vendors' response files (responses/*.yaml): shape, vendors, requirement ids."""
    from crmproof.responses import check_responses, load_responses

    responses = load_responses(suite.root)
    ids = {r.id for r in suite.catalog.requirements}
    vendors = set(suite.evaluation.model.vendors) if suite.evaluation else None
    return responses.diagnostics + check_responses(responses, ids, vendors)


def _check_evaluation(suite: Suite) -> list[Diagnostic]:
    from crmproof.discovery import available

    if suite.evaluation is None:
        return []
    out = []
    known = available(suite.adapters_dir)
    for name, vendor in suite.evaluation.model.vendors.items():
        if vendor.adapter is not None and vendor.adapter not in known:
            out.append(
                suite.evaluation.doc.error(
                    ("vendors", name, "adapter"),
                    f"no adapter '{vendor.adapter}'{did_you_mean(vendor.adapter, known)}; "
                    f"{one_of(known)}",
                )
            )
    return out


def _ids(
    items: Iterable[tuple[str, Document, tuple[Any, ...]]], what: str
) -> tuple[set[str], list[Diagnostic]]:
    seen: dict[str, tuple[Document, tuple[Any, ...]]] = {}
    out = []
    for ident, doc, loc in items:
        if ident in seen:
            first_doc, first_loc = seen[ident]
            line = first_doc.where(first_loc)[0]
            out.append(
                doc.error(
                    loc, f"duplicate {what} id '{ident}' (first defined at {first_doc.path}:{line})"
                )
            )
        else:
            seen[ident] = (doc, loc)
    return set(seen), out


def _catalog_items(suite: Suite, part: str) -> list[tuple[Any, Document, tuple[Any, ...]]]:
    return [
        (item, c.doc, (part, i))
        for c in suite.catalogs
        for i, item in enumerate(getattr(c.model, part))
    ]


def _check_catalog(suite: Suite) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    strategies, errs = _ids(
        ((s.id, d, (*loc_, "id")) for s, d, loc_ in _catalog_items(suite, "strategies")), "strategy"
    )
    out += errs
    roles, errs = _ids(
        ((r.id, d, (*loc_, "id")) for r, d, loc_ in _catalog_items(suite, "roles")), "role"
    )
    out += errs
    processes = _catalog_items(suite, "processes")
    _, errs = _ids(((p.id, d, (*loc_, "id")) for p, d, loc_ in processes), "process")
    out += errs
    steps, errs = _ids(
        (
            (s.id, d, (*loc_, "steps", j, "id"))
            for p, d, loc_ in processes
            for j, s in enumerate(p.steps)
        ),
        "process step",
    )
    out += errs
    for proc, doc, loc in processes:
        if proc.strategy not in strategies:
            out.append(
                doc.error(
                    (*loc, "strategy"),
                    f"unknown strategy '{proc.strategy}'{did_you_mean(proc.strategy, strategies)}",
                )
            )
        for j, step in enumerate(proc.steps):
            if step.role not in roles:
                out.append(
                    doc.error(
                        (*loc, "steps", j, "role"),
                        f"unknown role '{step.role}'"
                        f"{did_you_mean(step.role, roles)}; {one_of(roles)}",
                    )
                )
    requirements = _catalog_items(suite, "requirements")
    _, errs = _ids(((r.id, d, (*loc_, "id")) for r, d, loc_ in requirements), "requirement")
    out += errs
    for req, doc, loc in requirements:
        if req.step not in steps:
            out.append(
                doc.error(
                    (*loc, "step"),
                    f"unknown process step '{req.step}'{did_you_mean(req.step, steps)}",
                )
            )
    covered = covered_requirements(suite)
    for req, doc, loc in requirements:
        if req.id not in covered and req.verified_by != "demo":
            out.append(
                doc.warning(
                    (*loc, "id"),
                    f"requirement '{req.id}' is covered by no "
                    "scenario: it will be scored 'not covered'",
                )
            )
    return out


def _raw(doc: Document, key: str, kind: type) -> Any:
    value = doc.data.get(key) if isinstance(doc.data, dict) else None
    return value if isinstance(value, kind) else kind()


def _check_scenarios(suite: Suite) -> list[Diagnostic]:
    """Checked on the raw data, so a file with a shape error still gets every other check."""
    out: list[Diagnostic] = []
    ids = [
        (d.data["id"], d, ("id",))
        for d in suite.scenario_docs
        if isinstance(d.data, dict) and isinstance(d.data.get("id"), str)
    ]
    _, errs = _ids(ids, "scenario")
    out += errs
    requirement_ids = {r.id for r in suite.catalog.requirements}
    for doc in suite.scenario_docs:
        out += _check_scenario(doc, requirement_ids)
    return out


def covered_requirements(suite: Suite) -> set[str]:
    return {c for d in suite.scenario_docs for c in _raw(d, "covers", list) if isinstance(c, str)}


def _check_scenario(doc: Document, requirement_ids: set[str]) -> list[Diagnostic]:
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
        op = next((k for k in raw if k in _OPS), None)
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
