"""Rank acceptability against a case small enough to work out by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from decision_workspace import write_run, write_workspace

from crmproof import decide, render
from crmproof.acceptability import GATES_ASIDE, QUALIFIED, rank_acceptability
from crmproof.scoring import Cell, VendorCard, rank_stability

REQS = [
    {"id": "R1", "priority": "should", "weight": 1.2},
    {"id": "R2", "priority": "should", "weight": 1.0},
]
FRACTIONS = {"a": {"R1": 1.0, "R2": 0.0}, "b": {"R1": 0.5, "R2": 0.5}}


def test_the_flip_point_of_one_weight() -> None:
    """a scores w1, b scores (w1 + w2) / 2: a leads exactly while w1 > w2.

    So the order flips where R1's weight falls from 1.2 to 1.0, or R2's rises to 1.2.
    """
    cards = [
        VendorCard(
            name=v,
            adapter=v,
            requirements={r: Cell(verdict="met", fraction=f) for r, f in fs.items()},
        )
        for v, fs in FRACTIONS.items()
    ]
    flip = rank_stability(REQS, cards[0], cards[1])["flip"]
    assert flip in (
        {"requirement": "R1", "weight": 1.2, "change": -0.2},
        {"requirement": "R2", "weight": 1.0, "change": 0.2},
    )


def test_rank_acceptability_matches_the_hand_computed_probability() -> None:
    """w1' ~ U(0.9, 1.5) and w2' ~ U(0.75, 1.25) at a spread of 25%; a is first iff w1' > w2'.

    P = [integral over x in (0.9, 1.25) of (x - 0.75) / 0.5 dx + (1.5 - 1.25)] / 0.6
      = (0.2275 + 0.25) / 0.6 = 0.79583...
    """
    rows = rank_acceptability(REQS, FRACTIONS, spread=0.25, samples=20000, seed=11)
    by = {r["vendor"]: r for r in rows}
    assert by["a"]["first"] == pytest.approx(0.4775 / 0.6, abs=0.012)  # 4 standard errors
    assert by["b"]["places"] == [by["a"]["places"][1], by["a"]["places"][0]]
    assert sum(by["a"]["places"]) == pytest.approx(1.0)


def test_a_spread_short_of_the_flip_point_never_swaps() -> None:
    # at 8%, w1' >= 1.2 x 0.92 = 1.104 > 1.08 >= w2': a is always first
    rows = rank_acceptability(REQS, FRACTIONS, spread=0.08, samples=3000, seed=1)
    assert rows[0] == {"vendor": "a", "first": 1.0, "places": [1.0, 0.0]}
    # at 0, every draw is the team's own weights
    assert rank_acceptability(REQS, FRACTIONS, 0.0, 10, 1)[0]["first"] == 1.0


def test_the_same_seed_gives_the_same_figures() -> None:
    one = rank_acceptability(REQS, FRACTIONS, 0.25, 500, seed=7)
    assert one == rank_acceptability(REQS, FRACTIONS, 0.25, 500, seed=7)
    assert one != rank_acceptability(REQS, FRACTIONS, 0.25, 500, seed=8)


def test_disqualified_vendors_are_reported_apart(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    suite = write_workspace(root)
    folder = write_run(root, suite)
    decide.collect(suite, folder)
    card = render.write_all(folder)
    report = card.acceptability
    assert report is not None
    assert report["samples"] == 500 and report["seed"] == 3  # from crmproof.yaml
    assert report["apart"] == {"bad": "disqualified by R1"}
    pools = {p["name"]: p["vendors"] for p in report["pools"]}
    assert [r["vendor"] for r in pools[QUALIFIED]] == ["good"]
    assert pools[QUALIFIED][0]["first"] == 1.0
    assert {r["vendor"] for r in pools[GATES_ASIDE]} == {"good", "bad"}
    text = render.terminal(card)
    assert "rank acceptability:" in text and "bad: disqualified by R1" in text
    assert "## Rank acceptability" in (folder / "scorecard.md").read_text()


def _places_plainly(
    requirements: list[dict[str, Any]],
    fractions: dict[str, dict[str, float]],
    spread: float,
    samples: int,
    seed: int,
) -> dict[str, list[float]]:
    """The shares of places drawn as rank_acceptability first drew them, random.uniform
    and all: the reference."""
    import random

    counted = [r for r in requirements if r["priority"] != "wont" and r["weight"] > 0]
    vendors = sorted(fractions)
    base = [float(r["weight"]) for r in counted]
    rows = {v: [fractions[v].get(r["id"], 0.0) for r in counted] for v in vendors}
    places = {v: [0] * len(vendors) for v in vendors}
    rng = random.Random(seed)
    for _ in range(samples):
        weights = [w * (1 + rng.uniform(-spread, spread)) for w in base]
        score = {v: sum(w * f for w, f in zip(weights, rows[v], strict=True)) for v in vendors}
        for place, vendor in enumerate(sorted(vendors, key=lambda v: (-score[v], v))):
            places[vendor][place] += 1
    return {v: [round(n / samples, 4) for n in counts] for v, counts in places.items()}


def _places(rows: list[dict[str, Any]]) -> dict[str, list[float]]:
    return {row["vendor"]: row["places"] for row in rows}


@pytest.mark.parametrize("spread", [0.1, 0.2, 1 / 3, 0.5])
def test_the_draws_are_the_plain_ones_and_remembered_only_for_the_same_figures(
    spread: float,
) -> None:
    """The draws are spelt out for speed and the last result is remembered: the figures
    are those of the plain form, for every seed, and a change of figures is drawn anew."""
    reqs = [{"id": f"R{i}", "priority": "should", "weight": 1 + i % 4} for i in range(40)]
    fractions = {
        v: {f"R{i}": ((i * k) % 5) / 4 for i in range(40)} for k, v in enumerate("abcd", 1)
    }
    for seed in (1, 7, 42):
        plain = _places_plainly(reqs, fractions, spread, 500, seed)
        assert _places(rank_acceptability(reqs, fractions, spread, 500, seed)) == plain
        got = rank_acceptability(reqs, fractions, spread, 500, seed)  # remembered
        got[0]["places"][0] = -1.0  # a caller's copy, not the remembered one
        assert _places(rank_acceptability(reqs, fractions, spread, 500, seed)) == plain
    fractions["a"]["R3"] = 0.0
    assert _places(rank_acceptability(reqs, fractions, spread, 500, 1)) == _places_plainly(
        reqs, fractions, spread, 500, 1
    )
