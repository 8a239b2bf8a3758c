"""Scoring from events: verdicts, weights, disqualification, rollups, re-rendering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from crmproof import render, scoring
from crmproof.events import FORMAT, Claim, ResultEvent
from crmproof.scoring import score, verdict_of

EVENT: TypeAdapter[ResultEvent] = TypeAdapter(ResultEvent)

REQS = [
    {
        "id": "R1",
        "step": "S1",
        "kind": "process-control",
        "priority": "must",
        "weight": 3,
        "text": "",
        "success": "",
    },
    {
        "id": "R2",
        "step": "S1",
        "kind": "process-control",
        "priority": "should",
        "weight": 2,
        "text": "",
        "success": "",
    },
    {
        "id": "R3",
        "step": "S2",
        "kind": "process-control",
        "priority": "could",
        "weight": 1,
        "text": "",
        "success": "",
    },
    {
        "id": "R4",
        "step": "S2",
        "kind": "process-control",
        "priority": "wont",
        "weight": 5,
        "text": "",
        "success": "",
    },
]
SUITE = {
    "strategies": [{"id": "ST", "title": "t", "description": None}],
    "roles": [{"id": "rep", "title": "t", "description": None}],
    "processes": [
        {
            "id": "P",
            "title": "p",
            "strategy": "ST",
            "description": None,
            "steps": [
                {"id": "S1", "title": "", "role": "rep", "description": None},
                {"id": "S2", "title": "", "role": "rep", "description": None},
            ],
        }
    ],
    "requirements": REQS,
    "scenarios": [
        {"id": "A", "title": "a", "file": "a.yaml", "covers": ["R1", "R2"]},
        {"id": "B", "title": "b", "file": "b.yaml", "covers": ["R2"]},
        {"id": "C", "title": "c", "file": "c.yaml", "covers": ["R3"]},
    ],
}


def events(statuses: dict[str, dict[str, str]]) -> list[ResultEvent]:
    """Events as a run writes them, parsed by the same model the reader uses."""
    return [EVENT.validate_python(e) for e in raw_events(statuses)]


def raw_events(statuses: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {
            "event": "run",
            "format": FORMAT,
            "at": 1.0,
            "run_id": "r",
            "evaluation": "e",
            "suite_sha256": "x",
            "scoring": {"must_disqualifies": True},
            "vendors": {v: v for v in statuses},
            "plan": [[v, s] for v in statuses for s in ("A", "B", "C")],
            "suite": SUITE,
        }
    ]
    for vendor, per in statuses.items():
        out.append(
            {
                "event": "vendor",
                "vendor": vendor,
                "adapter": vendor,
                "status": "ready",
                "channel": "api",
            }
        )
        for scenario, status in per.items():
            out.append(
                {
                    "event": "scenario",
                    "vendor": vendor,
                    "scenario": scenario,
                    "status": status,
                    "covers": [],
                }
            )
    out.append({"event": "end", "at": 2.0, "run_id": "r"})
    return out


def test_verdicts() -> None:
    assert verdict_of(["passed", "passed"]) == ("met", 1.0)
    assert verdict_of(["passed", "failed"]) == ("partly met", 0.5)
    assert verdict_of(["failed", "not offered"]) == ("not met", 0.0)
    assert verdict_of(["not offered", "not shown"]) == ("not offered", 0.0)
    assert verdict_of(["not shown"]) == ("not shown", 0.0)
    assert verdict_of(["passed", "not offered"]) == ("partly met", 0.5)
    assert verdict_of(["passed", "error"]) == ("untested", 0.0)
    assert verdict_of(["untested", "failed"]) == ("untested", 0.0)


def test_weighted_score_and_disqualification() -> None:
    card = score(
        events(
            {
                "good": {"A": "passed", "B": "passed", "C": "failed"},
                "bad": {"A": "failed", "B": "passed", "C": "passed"},
            }
        )
    )
    good, bad = card.vendors
    assert good.requirements["R2"].verdict == "met"
    assert good.score == round(5 / 6, 4)  # R4 is a wont: outside the weights
    assert not good.disqualified
    assert bad.requirements["R1"].verdict == "not met"
    assert bad.requirements["R2"].verdict == "partly met"
    assert bad.score == round((2 * 0.5 + 1) / 6, 4)
    assert bad.disqualified and bad.disqualified_by == ["R1"]
    assert card.ranking == ["good", "bad"]
    assert good.rollups["step"] == {"S1": 1.0, "S2": 0.0}
    assert good.rollups["role"]["rep"] == round(5 / 6, 4)
    assert card.vendors[0].requirements["R4"].verdict == "not covered"


def test_report_rerenders_from_results_alone(tmp_path: Path) -> None:
    lines = raw_events({"v": {"A": "passed", "B": "error"}})
    (tmp_path / "results.jsonl").write_text(
        "".join(json.dumps(e) + "\n" for e in lines) + '{"event": "step", "torn'
    )
    card = render.write_all(tmp_path)
    assert card.vendors[0].requirements["R2"].verdict == "untested"
    assert card.vendors[0].requirements["R3"].verdict == "untested"  # C never ran
    assert "DISQUALIFIED" not in (tmp_path / "scorecard.md").read_text()
    assert (
        '<testsuite name="v" tests="2" failures="0" errors="1"'
        in (tmp_path / "junit.xml").read_text()
    )
    assert json.loads((tmp_path / "scorecard.json").read_text())["complete"] is True


def test_rank_stability_names_the_weight_that_would_swap_the_top_two() -> None:
    card = score(
        events(
            {
                "good": {"A": "passed", "B": "passed", "C": "failed"},
                "close": {"A": "passed", "B": "failed", "C": "passed"},
            }
        )
    )
    stability = card.stability
    assert stability is not None and stability["leader"] == card.ranking[0]
    flip = stability["flip"]
    assert flip is not None
    first, second = (next(v for v in card.vendors if v.name == n) for n in card.ranking)
    lead = sum(
        r["weight"] * (first.requirements[r["id"]].fraction - second.requirements[r["id"]].fraction)
        for r in REQS
        if r["priority"] != "wont"
    )
    # Applying the reported change makes the two scores equal: the flip point is exact.
    gap = (
        first.requirements[flip["requirement"]].fraction
        - second.requirements[flip["requirement"]].fraction
    )
    assert abs(lead + flip["change"] * gap) < 0.01


def test_claims_stand_beside_the_proof_and_broken_promises_come_first(tmp_path: Path) -> None:
    lines = raw_events({"v": {"A": "failed", "B": "passed", "C": "passed"}})
    lines[0]["claims"] = {
        "v": {
            "R1": {"fit": "native", "note": "out of the box"},  # A failed: broken
            "R2": {"fit": "configuration"},  # A failed, B passed: partly met, broken
            "R3": {"fit": "not-offered"},  # C passed: better than claimed
        }
    }
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    card = render.write_all(tmp_path)
    (vendor,) = card.vendors
    assert vendor.requirements["R1"].promise == "broken"
    assert vendor.broken_promises == ["R1", "R2"]
    assert vendor.promises == {"kept": 0, "broken": 2, "unproven": 0, "better than claimed": 1}
    text = render.terminal(card)
    assert text.index("BROKE 2 PROMISE(S)") < text.index("DISQUALIFIED") < text.index("R1  ")
    assert "NOT MET (claimed native: BROKEN)" in text
    assert "promises kept: 0 of 2 proven (2 broken, 1 met although claimed not offered)" in text
    assert "claimed native: broken promise" in (tmp_path / "index.html").read_text()
    assert "Claims against proof" in (tmp_path / "scorecard.md").read_text()


def test_a_not_offered_claim_borne_out_by_lacking_fields_is_no_better_than_claimed() -> None:
    claim = Claim(fit="not-offered")
    assert scoring.promise_of(claim, "partly met", lacking=True) is None
    assert scoring.promise_of(claim, "partly met") == "better than claimed"
    assert scoring.promise_of(claim, "met") == "better than claimed"


def test_a_run_file_is_scored_once_until_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`crmproof report` scores a run twice (decisions, then the reports): score_file reads
    a million-step file once, but never answers from a file that has changed since."""
    from crmproof.results import read_events

    path = tmp_path / "results.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in raw_events({"v": {"A": "passed"}})))
    reads = []
    monkeypatch.setattr(scoring, "score", lambda events: reads.append(1) or score(events))
    first = scoring.score_file(path)
    assert scoring.score_file(path) == first == score(read_events(path))
    assert len(reads) == 1  # scored once
    first.vendors[0].score = -1.0  # a caller judging its copy in place
    assert scoring.score_file(path).vendors[0].score != -1.0
    path.write_text("".join(json.dumps(e) + "\n" for e in raw_events({"v": {"A": "failed"}})))
    assert scoring.score_file(path) == score(read_events(path))
    assert scoring.score_file(path).vendors[0].scenarios["A"].status == "failed"
    assert len(reads) == 2  # same size, maybe the same times: the content decides


def test_blank_lines_are_skipped_and_damage_is_named_by_line(tmp_path: Path) -> None:
    from crmproof.errors import ResultsError
    from crmproof.results import read_events

    lines = [json.dumps(e) + "\n" for e in raw_events({"v": {"A": "passed"}})]
    path = tmp_path / "results.jsonl"
    path.write_text(lines[0] + "\n  \n" + "".join(lines[1:]))
    assert len(list(read_events(path))) == len(lines)
    path.write_bytes(lines[0].encode() + b'{"event": "end", "run_id": "\xff"}\n')
    with pytest.raises(ResultsError, match=r"results.jsonl:2: "):
        list(read_events(path))


def _written(statuses: dict[str, dict[str, str]], steps: list[str]) -> list[str]:
    """raw_events with steps of the given statuses before each scenario's end, as the
    writer writes them (compact JSON, None left out)."""
    out = []
    for raw in raw_events(statuses):
        if raw["event"] == "scenario":
            for index, status in enumerate(steps):
                step = {
                    "event": "step",
                    "vendor": raw["vendor"],
                    "scenario": raw["scenario"],
                    "index": index,
                    "line": 3 + index,
                    "step": f"create account {index}",
                    "status": status,
                    "message": None if status == "passed" else "the vendor said no",
                    "effort": {"clicks": 1} if index % 2 else None,
                    "created": [{"entity": "account", "id": str(index)}],
                }
                out.append(EVENT.validate_python(step).model_dump_json(exclude_none=True))
        out.append(EVENT.validate_python(raw).model_dump_json(exclude_none=True))
    return [line + "\n" for line in out]


def test_scoring_reads_passed_steps_lightly_and_gets_the_same_card(tmp_path: Path) -> None:
    """score_file's reader skips the steps that decide nothing, after a light reading of
    them; it yields every other event as read_events does, so the card is the same."""
    from crmproof.events import StepDone
    from crmproof.results import UNDECIDING, read_deciding_events, read_events

    path = tmp_path / "results.jsonl"
    steps = ["passed", "skipped", "passed", "failed", "error", "not offered", "passed"]
    lines = _written({"v": {"A": "passed", "B": "failed"}, "w": {"A": "error"}}, steps)
    path.write_text("".join(lines) + '{"at":1.0,"event":"step","vendor":"v","sce')  # torn
    full = list(read_events(path))
    assert any(type(e) is StepDone and e.status == "passed" for e in full)
    assert list(read_deciding_events(path)) == [
        e for e in full if not (type(e) is StepDone and e.status in UNDECIDING)
    ]
    assert score(read_deciding_events(path)) == score(read_events(path))
    assert scoring.score_file(path) == score(read_events(path))


@pytest.mark.parametrize(
    "damage",
    [
        ('"status":"passed"', '"status":"maybe"'),  # not a step status
        ('"vendor":"v",', ""),  # no vendor
        ('"vendor":"v"', '"vendor":7'),  # not text
        ('"index":0,', '"index":0,,'),  # not JSON
        ('"event":"step"', '"event":"stpe"'),  # no such event
        ('"status":"failed"', '"status":"failed","colour":"red"'),  # unknown key, deciding
    ],
)
def test_scoring_s_reader_refuses_damage_with_read_events_own_error(
    tmp_path: Path, damage: tuple[str, str]
) -> None:
    from crmproof.errors import ResultsError
    from crmproof.results import read_deciding_events, read_events

    lines = _written({"v": {"A": "passed"}}, ["passed", "failed"])
    bad = next(i for i, line in enumerate(lines) if damage[0] in line and '"step"' in line)
    lines[bad] = lines[bad].replace(damage[0], damage[1], 1)
    path = tmp_path / "results.jsonl"
    path.write_text("".join(lines))
    with pytest.raises(ResultsError) as full:
        list(read_events(path))
    with pytest.raises(ResultsError) as light:
        list(read_deciding_events(path))
    assert str(light.value) == str(full.value)
    assert f"results.jsonl:{bad + 1}: " in str(light.value)


def test_scoring_s_reader_leaves_the_rest_of_a_passed_step_to_read_events(
    tmp_path: Path,
) -> None:
    """The one difference, as documented: a passed step's fields beyond its kind, vendor,
    scenario and status are checked by read_events (verify, resume, merge), not here."""
    from crmproof.errors import ResultsError
    from crmproof.results import read_deciding_events, read_events

    lines = _written({"v": {"A": "passed"}}, ["passed"])
    step = next(i for i, line in enumerate(lines) if '"event":"step"' in line)
    lines[step] = lines[step].replace('"line":3', '"line":"three"')
    path = tmp_path / "results.jsonl"
    path.write_text("".join(lines))
    with pytest.raises(ResultsError, match=rf"results.jsonl:{step + 1}: .*line"):
        list(read_events(path))
    assert score(read_deciding_events(path)).vendors[0].scenarios["A"].status == "passed"


def test_a_copied_card_is_a_deep_copy(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text("".join(_written({"v": {"A": "passed", "B": "failed"}}, ["failed"])))
    card = scoring.score_file(path)
    copied = scoring.copy_of(card)
    assert copied == card.model_copy(deep=True) and copied is not card
    copied.vendors[0].scenarios["B"].evidence.append(
        scoring.Evidence(kind="log", path="evidence/x.log")
    )
    assert card.vendors[0].scenarios["B"].evidence == []
