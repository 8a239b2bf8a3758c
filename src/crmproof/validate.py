"""Checks of meaning, after the shape is right: the vocabulary and references across files.

Each check reports at the exact key or value that is wrong, says what was expected and,
where a close word exists, suggests it. A requirement that no scenario covers is a
warning: it is reported as "not covered" in the scorecard, never silently as met.

The checks of one scenario document (`crmproof.scenario_checks`) are made while the
workspace loads; `check` reports what they found, with the checks across files.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crmproof.diagnostics import Diagnostic, did_you_mean, one_of
from crmproof.gcpause import paused_gc
from crmproof.workspace import Suite
from crmproof.yamlsource import Document


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


def _check_scenarios(suite: Suite) -> list[Diagnostic]:
    checks = suite.scenario_checks
    return _ids(checks.ids, "scenario")[1] + checks.found


def covered_requirements(suite: Suite) -> set[str]:
    return set(suite.scenario_checks.covered)
