"""Channel agreement and give/get, computed from a scorecard of synthetic events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crmproof import channels, channels_render, render
from crmproof.events import FORMAT, ResultEvent
from crmproof.scoring import score
from tests.unit.test_scoring import EVENT, SUITE


def _events(
    vendors: dict[str, dict[str, Any]], products: dict[str, str] | None = None
) -> list[ResultEvent]:
    """vendors: name -> {adapter, channel, results: {scenario: (status, effort|None)}}.

    Each event is validated by the model the reader uses, so a test cannot pass on events
    a run would never write."""
    out: list[dict[str, Any]] = [
        {
            "event": "run",
            "format": FORMAT,
            "at": 1.0,
            "run_id": "r",
            "evaluation": "e",
            "suite_sha256": "x",
            "scoring": {"must_disqualifies": True},
            "vendors": {v: spec["adapter"] for v, spec in vendors.items()},
            "plan": [[v, s] for v in vendors for s in ("A", "B", "C")],
            "suite": SUITE,
            **({"products": products} if products is not None else {}),
        }
    ]
    for vendor, spec in vendors.items():
        out.append(
            {
                "event": "vendor",
                "vendor": vendor,
                "adapter": spec["adapter"],
                "status": "ready",
                "channel": spec["channel"],
            }
        )
        for scenario, (status, effort) in spec["results"].items():
            out.append(
                {
                    "event": "scenario",
                    "vendor": vendor,
                    "scenario": scenario,
                    "status": status,
                    "covers": [],
                    "effort": effort,
                }
            )
    out.append({"event": "end", "at": 2.0, "run_id": "r"})
    return [EVENT.validate_python(e) for e in out]


def _effort(clicks: int, keys: int) -> dict[str, int]:
    return {"clicks": clicks, "keystrokes": keys, "fields": 1, "pages": 2}


RUN = {
    "tryton": {
        "adapter": "tryton",
        "channel": "api",
        "results": {"A": ("passed", None), "B": ("passed", None), "C": ("passed", None)},
    },
    "tryton-web": {
        "adapter": "tryton-web",
        "channel": "browser",
        "results": {
            "A": ("failed", _effort(4, 10)),  # R1 not met: contradicts the API's met
            "B": ("passed", _effort(2, 0)),
            "C": ("not offered", _effort(0, 0)),  # R3 not offered: a gap, not a contradiction
        },
    },
    "djangocrm": {
        "adapter": "djangocrm",
        "channel": "browser",
        "results": {
            "A": ("passed", _effort(7, 21)),
            "B": ("passed", _effort(1, 3)),
            "C": ("not offered", None),
        },
    },
}


def test_products_by_declared_key_or_adapter_family() -> None:
    card = score(_events(RUN))
    assert channels.products(card) == {
        "tryton": ["tryton", "tryton-web"],
        "djangocrm": ["djangocrm"],
    }
    declared = {"tryton": "erp", "tryton-web": "erp-ui"}
    assert channels.products(card, declared)["erp"] == ["tryton"]


def test_disagreements_and_gaps() -> None:
    events = _events(RUN, products={"tryton": "tryton", "tryton-web": "tryton"})
    report = channels.analyse(score(events), channels.declared_products(events))
    assert report.products == {"tryton": ["tryton", "tryton-web"]}
    by_req = {d.requirement: d for d in report.disagreements}
    assert set(by_req) == {"R1", "R2", "R3"}
    assert by_req["R1"].verdicts == {"tryton": "met", "tryton-web": "not met"}
    assert by_req["R1"].contradicts
    assert by_req["R2"].verdicts == {"tryton": "met", "tryton-web": "partly met"}
    assert by_req["R2"].scenarios["tryton-web"] == {"A": "failed", "B": "passed"}
    assert not by_req["R3"].contradicts  # not offered through the UI: nothing judged
    assert [d.requirement for d in report.contradictions] == ["R1", "R2"]


def test_a_title_written_over_lines_keeps_its_markdown_row_whole() -> None:
    """A catalog's folded YAML title ends in a newline; in a table cell it cut the row."""
    events = _events(RUN, products={"tryton": "tryton", "tryton-web": "tryton"})
    card = score(events)
    for requirement in card.requirements:
        if requirement["id"] == "R1":
            requirement["title"] = "A partner registers a deal,\nwith its close date.\n"
    text = channels_render.markdown(channels.analyse(card, channels.declared_products(events)))
    row = next(line for line in text.splitlines() if line.startswith("| R1 "))
    assert row.startswith("| R1 A partner registers a deal, with its close date. | ")
    assert row.endswith("|")


def test_give_get_pairs_two_browser_products_task_by_task() -> None:
    report = channels.analyse(score(_events(RUN)))
    assert report.give_get_pair == ("tryton-web", "djangocrm")
    rows = {r.scenario: r for r in report.give_get}
    assert set(rows) == {"A", "B"}  # C has no effort counted on djangocrm
    assert rows["A"].left == {"clicks": 4, "keystrokes": 10, "fields": 1, "pages": 2}
    assert rows["A"].ratio is None  # tryton-web failed it: part of the work is no ratio
    assert rows["B"].ratio == 2 / 4
    text = channels_render.terminal(report)
    assert "0.50x" in text and "n/a (not done by both)" in text
    assert "scenarios both passed: 2 vs 4" in text
    assert "DISAGREE R1" in text


def test_reports_carry_the_channel_section(tmp_path: Path) -> None:
    events = _events(RUN, products={"tryton": "tryton", "tryton-web": "tryton"})
    (tmp_path / "results.jsonl").write_text(
        "".join(e.model_dump_json(exclude_none=True) + "\n" for e in events)
    )
    render.write_all(tmp_path)
    md = (tmp_path / "scorecard.md").read_text()
    assert "## Channel agreement" in md and "| R1 " in md
    assert "## Give/get between UIs" in md
    page = (tmp_path / "index.html").read_text()
    assert 'id="give-get"' in page and 'class="gg-bar gg-left" style="width:50.0%"' in page


def test_no_channel_section_for_one_channel_per_product(tmp_path: Path) -> None:
    only = {k: v for k, v in RUN.items() if k != "tryton-web"}
    report = channels.analyse(score(_events(only)))
    assert report.products == {} and report.disagreements == [] and report.give_get == []
    assert channels_render.markdown(report) == "" and channels_render.html(report) == ""


def test_every_effort_scenario_has_a_give_get_row(tmp_path: Path) -> None:
    """C is tagged effort: listed with each vendor's status though neither counted effort."""
    events = _events(RUN)
    report = channels.analyse(score(events), tagged=["C"])
    rows = {r.scenario: r for r in report.give_get}
    assert set(rows) == {"A", "B", "C"}
    assert (rows["C"].left_status, rows["C"].right_status) == ("not offered", "not offered")
    assert rows["C"].ratio is None
    line = next(x for x in channels_render.terminal(report).splitlines() if x.startswith("C "))
    assert line.split()[1:3] == ["not", "offered"] and line.endswith("n/a (not done by both)")
    assert line.split()[-7:-5] == ["not", "offered"]  # djangocrm: a status, no counts
