"""Waivers, disputes and demo score sheets: the audit trail, the two scores, located errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from decision_workspace import (
    DISPUTE_UPHELD,
    RUN_ID,
    WAIVER,
    decisions_yaml,
    sheet,
    write_run,
    write_workspace,
)

from crmproof import decide, render
from crmproof.cli import main
from crmproof.results import read_events
from crmproof.scoring import score
from crmproof.workspace import Suite


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Suite, Path]:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "ws"
    suite = write_workspace(root)
    folder = write_run(root, suite)
    return root, suite, folder


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


def _problems(suite: Suite, root: Path) -> list[str]:
    return [str(d) for d in decide.check_workspace(suite, root / "reports")]


def test_a_waiver_changes_no_line_of_results_and_verify_guards_the_file(
    ws: tuple[Path, Suite, Path],
) -> None:
    root, _, folder = ws
    before = (folder / "results.jsonl").read_bytes()
    (root / "decisions.yaml").write_text(decisions_yaml(WAIVER, DISPUTE_UPHELD))
    code, out = _cli("report", RUN_ID, "-w", str(root))
    assert code == 0, out
    assert (folder / "results.jsonl").read_bytes() == before
    assert (folder / "decisions.yaml").read_bytes() == (root / "decisions.yaml").read_bytes()
    assert "waived (was NOT MET)" in out
    code, out = _cli("verify", RUN_ID, "-w", str(root))
    assert code == 0, out

    # Edited in the workspace after the report: the report no longer tells the decisions.
    path = root / "decisions.yaml"
    path.write_text(path.read_text().replace("is acceptable", "is fine"))
    code, out = _cli("verify", RUN_ID, "-w", str(root))
    assert code == 1
    assert "edited in the workspace since the report: decisions.yaml" in out

    # A new report takes the edit in and seals it; then the run folder's copy is edited.
    code, out = _cli("report", RUN_ID, "-w", str(root))
    assert code == 0, out
    assert _cli("verify", RUN_ID, "-w", str(root))[0] == 0
    copy = folder / "decisions.yaml"
    copy.write_text(copy.read_text().replace("Ann", "Someone else"))
    code, out = _cli("verify", RUN_ID, "-w", str(root))
    assert code == 1 and "changed: decisions.yaml" in out
    assert (folder / "results.jsonl").read_bytes() == before


def test_a_tampered_run_is_not_resealed_by_a_report(ws: tuple[Path, Suite, Path]) -> None:
    root, _, folder = ws
    with (folder / "results.jsonl").open("a") as f:
        f.write('{"event": "note"}\n')
    code, out = _cli("report", RUN_ID, "-w", str(root))
    assert code == 1 and "changed: results.jsonl" in out
    assert _cli("verify", RUN_ID, "-w", str(root))[0] == 1


def test_scores_with_and_without_waivers(ws: tuple[Path, Suite, Path]) -> None:
    root, suite, folder = ws
    (root / "decisions.yaml").write_text(decisions_yaml(WAIVER, DISPUTE_UPHELD))
    decide.collect(suite, folder)
    card = render.write_all(folder)
    good, bad = card.vendors
    # measured: bad fails A (R1 must, R2 half); good fails C (R3). D1 has no demo score.
    assert bad.requirements["R1"].verdict == "not met"
    assert bad.disqualified and bad.disqualified_by == ["R1"]
    assert bad.score == round((2 * 0.5 + 1) / 8, 4)
    assert bad.requirements["R1"].waived_verdict == "met"
    assert bad.requirements["R2"].waived_verdict is None  # a waiver of R1 leaves R2 alone
    assert bad.score_with_waivers == round((3 + 2 * 0.5 + 1) / 8, 4)
    assert bad.disqualified_with_waivers is False
    # the upheld dispute of scenario C re-judges R3 as if C had passed
    assert good.requirements["R3"].verdict == "not met"
    assert good.requirements["R3"].waived_verdict == "met"
    assert good.score == round(5 / 8, 4) and good.score_with_waivers == round(6 / 8, 4)
    assert [d["effect"] for d in card.decisions] == ["waiver", "upheld"]
    assert card.ranking == ["good", "bad"]
    assert card.ranking_with_waivers == ["good", "bad"]
    assert good.requirements["D1"].verdict == "untested"  # a demo with no scores: never met
    text = render.terminal(card)
    assert "waived (was NOT MET)" in text and "dispute upheld (was NOT MET)" in text
    assert "SCORE with waivers" in text
    md = (folder / "scorecard.md").read_text()
    assert "## Waivers and disputes" in md and "The workaround (a saved search)" in md
    saved = json.loads((folder / "scorecard.json").read_text())
    assert saved["vendors"][1]["score_with_waivers"] == bad.score_with_waivers
    page = (folder / "index.html").read_text()
    assert "waived (was not met)" in page and "The workaround (a saved search)" in page
    assert "Rank acceptability" in page


def test_an_open_dispute_is_shown_and_scores_as_measured(ws: tuple[Path, Suite, Path]) -> None:
    root, suite, folder = ws
    entry = DISPUTE_UPHELD.replace("resolution: upheld", "resolution: open")
    (root / "decisions.yaml").write_text(decisions_yaml(entry))
    decide.collect(suite, folder)
    card = render.write_all(folder)
    good = card.vendors[0]
    assert good.score_with_waivers == good.score
    assert "disputed (NOT MET)" in render.terminal(card)


def test_demo_scores_enter_the_weighted_score(ws: tuple[Path, Suite, Path]) -> None:
    root, suite, folder = ws
    (root / "demos").mkdir()
    (root / "demos" / "ann.yaml").write_text(sheet("ann", {("good", "D1"): 5, ("bad", "D1"): 1}))
    (root / "demos" / "bob.yaml").write_text(sheet("bob", {("good", "D1"): 4, ("bad", "D1"): 4}))
    assert _problems(suite, root) == []
    decide.collect(suite, folder)
    card = render.write_all(folder)
    good, bad = card.vendors
    cell = good.requirements["D1"]
    assert cell.source == "demo" and cell.verdict == "partly met"
    assert cell.fraction == 0.9  # median 4.5 / 5
    assert good.score == round((5 + 2 * 0.9) / 8, 4)
    assert bad.requirements["D1"].demo["disagreement"] is True  # 1 and 4: a spread of 3
    assert (bad.requirements["D1"].demo["min"], bad.requirements["D1"].demo["max"]) == (1, 4)
    text = render.terminal(card)
    assert "[demo 4/4.5/5]" in text and "WIDE DISAGREEMENT" in text


def test_bad_waivers_get_located_errors(ws: tuple[Path, Suite, Path]) -> None:
    root, suite, _ = ws
    met = WAIVER.replace("vendor: bad", "vendor: good")  # good met R1
    unknown_vendor = WAIVER.replace("vendor: bad", "vendor: badd")
    unknown_req = WAIVER.replace("requirement: R1", "requirement: R9")
    unknown_run = WAIVER.replace(RUN_ID, "20261129-120000-ab13")
    (root / "decisions.yaml").write_text(
        decisions_yaml(met, unknown_vendor, unknown_req, unknown_run)
    )
    problems = _problems(suite, root)
    assert any(
        p.startswith("ws/decisions.yaml:3:18: ") and "good met R1" in p and "nothing to waive" in p
        for p in problems
    ), problems
    assert any(
        p.startswith("ws/decisions.yaml:9:13: unknown vendor 'badd' (did you mean 'bad'?)")
        for p in problems
    ), problems
    assert any(
        p.startswith("ws/decisions.yaml:17:18: unknown requirement 'R9'") for p in problems
    ), problems
    assert any(
        p.startswith("ws/decisions.yaml:25:10: no run '20261129-120000-ab13' in reports/")
        and f"did you mean '{RUN_ID}'" in p
        for p in problems
    ), problems
    assert len(problems) == 4, problems
    code, out = _cli("validate", "-w", str(root))
    assert code == 1 and "unknown vendor 'badd'" in out
    code, out = _cli("report", RUN_ID, "-w", str(root))
    assert code == 1 and "the report was not written" in out and "Traceback" not in out


def test_bad_score_sheets_get_located_errors(ws: tuple[Path, Suite, Path]) -> None:
    root, suite, _ = ws
    (root / "demos").mkdir()
    (root / "demos" / "ann.yaml").write_text(
        sheet("ann", {("good", "D1"): 7, ("goood", "D1"): 3, ("bad", "D2"): 3, ("bad", "R1"): 2})
    )
    (root / "demos" / "zed.yaml").write_text(sheet("zed", {("good", "D1"): 3}))
    problems = _problems(suite, root)
    assert any(
        p.startswith(
            "ws/demos/ann.yaml:3:44: scores.0.score: input should be less than or equal to 5"
        )
        and "(got 7)" in p
        for p in problems
    ), problems
    # the sheet with a shape error gets its other checks once the score is fixed
    path = root / "demos" / "ann.yaml"
    path.write_text(path.read_text().replace("score: 7", "score: 5"))
    problems = _problems(suite, root)
    assert any(
        p.startswith("ws/demos/ann.yaml:4:14: unknown vendor 'goood' (did you mean 'good'?)")
        for p in problems
    ), problems
    assert any(
        p.startswith("ws/demos/ann.yaml:5:32: unknown requirement 'D2'; demo requirements: D1")
        for p in problems
    ), problems
    assert any(
        p.startswith("ws/demos/ann.yaml:6:32: requirement 'R1' is proven by scenarios")
        for p in problems
    ), problems
    assert any(p.startswith("ws/demos/zed.yaml:1:12: unknown evaluator 'zed'") for p in problems), (
        problems
    )


def test_decisions_apply_only_to_their_run(ws: tuple[Path, Suite, Path]) -> None:
    root, suite, folder = ws
    other = WAIVER.replace(RUN_ID, "20261128-120000-0000")
    (root / "decisions.yaml").write_text(decisions_yaml(other))
    decide.collect(suite, folder)  # another run's entry does not hold up this report
    card = render.write_all(folder)
    assert card.decisions == []
    assert card.vendors[1].requirements["R1"].decisions == []
    assert score(read_events(folder / "results.jsonl")).vendors[1].score == card.vendors[1].score
