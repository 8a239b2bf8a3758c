"""Stale cells, run diffs and baselines, on scorecards scored from hand-written events."""

from __future__ import annotations

import copy
from typing import Any

from crmproof import baseline, diff, stale
from crmproof.fingerprints import compare
from crmproof.scoring import score
from tests.unit import test_scoring as scoring_test


def _req(rid: str, priority: str, weight: float) -> dict[str, Any]:
    return {
        "id": rid,
        "step": "S1",
        "kind": "process-control",
        "priority": priority,
        "weight": weight,
        "text": "t",
        "success": "s",
    }


SUITE = {
    **scoring_test.SUITE,  # its strategy, role and process
    "requirements": [_req("R1", "must", 3), _req("R2", "should", 1), _req("R3", "could", 1)],
    "scenarios": [
        {"id": "A", "title": "", "covers": ["R1"], "tags": [], "file": "a.yaml"},
        {"id": "B", "title": "", "covers": ["R2", "R3"], "tags": [], "file": "b.yaml"},
    ],
}
FINGERPRINTS = {
    "requirements": {
        r: {p: f"{r}-{p}" for p in ("text", "success", "priority", "weight", "step")}
        for r in ("R1", "R2", "R3")
    },
    "scenarios": {"A": {"steps": "a"}, "B": {"steps": "b"}},
}


def _events(statuses: dict[str, str], run_id: str = "r1", version: str = "1.0") -> list[Any]:
    """Events as a run writes them, parsed by the model the reader uses."""
    return [scoring_test.EVENT.validate_python(e) for e in _raw(statuses, run_id, version)]


def _raw(statuses: dict[str, str], run_id: str, version: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {
            "event": "run",
            "format": 1,
            "at": 1.0,
            "run_id": run_id,
            "evaluation": "e",
            "scoring": {"must_disqualifies": True},
            "suite_sha256": "0" * 64,
            "vendors": {"v": "v"},
            "plan": [["v", s] for s in statuses],
            "suite": SUITE,
            "fingerprints": FINGERPRINTS,
        },
        {
            "event": "vendor",
            "at": 1.1,
            "vendor": "v",
            "adapter": "v",
            "status": "ready",
            "vendor_version": version,
        },
    ]
    for sid, status in statuses.items():
        events.append(
            {"event": "scenario", "at": 2.0, "vendor": "v", "scenario": sid, "status": status}
        )
    events.append({"event": "end", "at": 3.0, "run_id": run_id})
    return events


def _now(**changes: tuple[str, str]) -> dict[str, Any]:
    """The recorded fingerprints with some parts changed: R1=("success", "new")."""
    current = copy.deepcopy(FINGERPRINTS)
    for item, (part, value) in changes.items():
        kind = "requirements" if item.startswith("R") else "scenarios"
        current[kind][item][part] = value
    return current


def test_a_changed_requirement_makes_exactly_its_cells_stale_and_unproven() -> None:
    card = score(_events({"A": "passed", "B": "passed"}))
    assert card.vendors[0].score == 1.0
    card = stale.mark(card, FINGERPRINTS, _now(R1=("success", "new")))
    cells = card.vendors[0].requirements
    assert {r: c.stale for r, c in cells.items() if c.stale} == {
        "R1": ["requirement R1 changed (success)"]
    }
    assert (cells["R1"].verdict, cells["R1"].stale_verdict, cells["R1"].fraction) == (
        "untested",
        "met",
        0.0,
    )
    assert card.stale == 1
    assert card.vendors[0].score == 0.4  # (1 + 1) / 5: a stale must never counts as met
    assert not card.vendors[0].disqualified  # rewording says nothing against the vendor
    assert card.vendors[0].verdicts["untested"] == 1


def test_a_changed_scenario_makes_the_cells_it_proves_stale() -> None:
    card = score(_events({"A": "passed", "B": "failed"}))
    card = stale.mark(card, FINGERPRINTS, _now(B=("steps", "b2")))
    cells = card.vendors[0].requirements
    assert sorted(r for r, c in cells.items() if c.stale) == ["R2", "R3"]
    assert cells["R2"].stale_verdict == "not met"
    assert stale.stale_jobs(card, {"R2": ["B"], "R3": ["B", "C"]}) == [("v", "B"), ("v", "C")]


def test_nothing_is_stale_without_a_change_or_without_recorded_fingerprints() -> None:
    card = score(_events({"A": "passed", "B": "passed"}))
    assert stale.mark(card, FINGERPRINTS, _now()).stale == 0
    assert stale.mark(card, None, _now(R1=("text", "x"))).stale == 0
    other = {**_now(R1=("text", "x")), "evaluation": "another workspace"}
    assert stale.mark(card, FINGERPRINTS, other).stale == 0
    partial = score(_events({"A": "passed"}))  # B did not run: R2 and R3 hold no evidence
    assert stale.mark(partial, FINGERPRINTS, _now(R2=("text", "x"))).stale == 0
    removed = compare(FINGERPRINTS, {"requirements": {}, "scenarios": {}})
    assert "requirement R1 was removed" in removed.describe()


def test_diff_names_fixes_regressions_new_tests_and_versions() -> None:
    a = diff.RunData(card=score(_events({"A": "failed", "B": "passed"})), scenarios=["A", "B"])
    b = diff.RunData(
        card=score(_events({"A": "passed", "B": "failed"}, "r2", "2.0")), scenarios=["A", "B", "C"]
    )
    result = diff.compare(a, b)
    (v,) = result.vendors
    assert [(c.requirement, c.change) for c in v.verdicts] == [
        ("R1", "fixed"),
        ("R2", "regressed"),
        ("R3", "regressed"),
    ]
    assert v.versions == {"vendor_version": ["1.0", "2.0"]}
    assert result.scenarios_added == ["C"]
    only_a = diff.RunData(card=score(_events({"A": "passed"})), scenarios=["A", "B"])
    (w,) = diff.compare(only_a, a).vendors
    assert [(c.requirement, c.change) for c in w.verdicts] == [
        ("R1", "regressed"),
        ("R2", "newly tested"),
        ("R3", "newly tested"),
    ]


def test_baseline_flags_only_what_differs_from_it() -> None:
    card = score(_events({"A": "failed", "B": "passed"}))
    expected = {"v": baseline.of_vendor(card, card.vendors[0])}
    assert baseline.check(card, expected) == []
    worse = score(_events({"A": "failed", "B": "failed"}))
    assert [str(u) for u in baseline.check(worse, expected)] == [
        "v / requirement R2: expected met, got not met",
        "v / requirement R3: expected met, got not met",
        "v / scenario B: expected passed, got failed",
    ]
    partial = score(_events({"A": "failed"}))  # B not run: no change, nothing unexpected
    assert baseline.check(partial, expected) == []
    assert baseline.check(worse, {}) == []


def test_diff_reports_effort_that_moved_by_more_than_the_threshold() -> None:
    def run(clicks_a: int, clicks_b: int) -> diff.RunData:
        events = _raw({"A": "passed", "B": "passed"}, "r1", "1.0")
        for event in events:
            if event["event"] == "scenario":
                clicks = clicks_a if event["scenario"] == "A" else clicks_b
                event["effort"] = {"clicks": clicks, "keystrokes": 10}
        typed = [scoring_test.EVENT.validate_python(e) for e in events]
        return diff.RunData(card=score(typed), scenarios=["A", "B"])

    result = diff.compare(run(10, 10), run(14, 11), effort_threshold=0.15)
    (v,) = result.vendors
    assert [(c.requirement, c.before, c.after, c.share) for c in v.effort] == [
        ("R1", 20, 24, 0.2)  # B's 20 -> 21 (5%) stays under the threshold
    ]
    assert "effort R1: 20 -> 24 (+20%)" in diff.terminal(result)
