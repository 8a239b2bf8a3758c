"""Rank acceptability (SMAA): how likely each vendor is to hold each place, weights uncertain.

The weights a team gives its requirements are judgements, not measurements. Rank stability
names the one weight change that swaps the top two; this goes further: it draws every
weight at once uniformly within +/- `spread` of the team's value (weight x (1 + u),
u ~ U(-spread, spread)), scores the vendors with each draw, and counts how often each
vendor lands in each place. A vendor first in 95% of draws is a safe choice; one first in
55% hangs on the weights and deserves a debate before signing.

Only vendors that pass the must gates are ranked. Disqualified and unproven vendors (a must
untested or not covered, or a vendor that could not be evaluated) are reported apart: a
probability of ranking first means nothing for a vendor the gates exclude. When fewer than
two vendors pass, the draw is also shown for every vendor with the gates set aside, so the
team can still see how robust the scores are; that pool is labelled as such.

`random.Random(seed)` makes the figures reproducible: the same seed, the same table. Ties
in a draw go to the vendor whose name sorts first, as in the ranking.
"""

from __future__ import annotations

import copy
import random
from operator import mul
from typing import Any

GATES_ASIDE = "gates aside"
QUALIFIED = "qualified"


def rank_acceptability(
    requirements: list[dict[str, Any]],
    fractions: dict[str, dict[str, float]],
    spread: float,
    samples: int,
    seed: int,
) -> list[dict[str, Any]]:
    """Per vendor: the share of weight draws in which it ranks first, second, ...

    `fractions` maps vendor -> requirement id -> fraction met (0..1). Returns one row per
    vendor, best first by its chance of ranking first: {vendor, first, places}.
    """
    counted = [r for r in requirements if r["priority"] != "wont" and r["weight"] > 0]
    vendors = sorted(fractions)
    if not vendors:
        return []
    key = (
        tuple((r["id"], r["weight"]) for r in counted),
        tuple((v, tuple(sorted(fractions[v].items()))) for v in vendors),
        spread,
        samples,
        seed,
    )
    if key not in _DRAWN:  # `crmproof report` judges a card twice, often on the same figures
        _DRAWN.clear()
        _DRAWN[key] = _drawn(counted, fractions, vendors, spread, samples, seed)
    return copy.deepcopy(_DRAWN[key])


_DRAWN: dict[tuple[Any, ...], list[dict[str, Any]]] = {}


def _drawn(
    counted: list[dict[str, Any]],
    fractions: dict[str, dict[str, float]],
    vendors: list[str],
    spread: float,
    samples: int,
    seed: int,
) -> list[dict[str, Any]]:
    base = [float(r["weight"]) for r in counted]
    rows = {v: [fractions[v].get(r["id"], 0.0) for r in counted] for v in vendors}
    places = {v: [0] * len(vendors) for v in vendors}
    draw = random.Random(seed).random
    # random.uniform(-spread, spread) and the sum of products, spelt out: the same floats
    # in the same order, at a third of the cost (thousands of draws on every report)
    low, width = -spread, spread - -spread
    for _ in range(samples):
        weights = [w * (1 + (low + width * draw())) for w in base]
        score = {v: sum(map(mul, weights, rows[v])) for v in vendors}
        for place, vendor in enumerate(sorted(vendors, key=lambda v: (-score[v], v))):
            places[vendor][place] += 1
    out = [
        {
            "vendor": v,
            "first": round(places[v][0] / samples, 4),
            "places": [round(n / samples, 4) for n in places[v]],
        }
        for v in vendors
    ]
    return sorted(out, key=lambda row: (-row["first"], row["vendor"]))


def pools(
    requirements: list[dict[str, Any]],
    fractions: dict[str, dict[str, float]],
    apart: dict[str, str],
    spread: float,
    samples: int,
    seed: int,
) -> dict[str, Any]:
    """The acceptability report: the qualified pool, vendors apart, and gates aside if needed."""
    qualified = {v: f for v, f in fractions.items() if v not in apart}
    found = [
        {
            "name": QUALIFIED,
            "vendors": rank_acceptability(requirements, qualified, spread, samples, seed),
        }
    ]
    if len(qualified) < 2 and len(fractions) > 1:
        found.append(
            {
                "name": GATES_ASIDE,
                "vendors": rank_acceptability(requirements, fractions, spread, samples, seed),
            }
        )
    return {
        "spread": spread,
        "samples": samples,
        "seed": seed,
        "pools": found,
        "apart": apart,
    }


def table(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) per pool: what every renderer shows."""
    out = []
    for pool in report["pools"]:
        n = max((len(row["places"]) for row in pool["vendors"]), default=0)
        header = ["vendor", "P(first)", *(_ordinal(i + 1) for i in range(n))]
        rows = [
            [row["vendor"], f"{row['first']:.1%}", *(f"{p:.1%}" for p in row["places"])]
            for row in pool["vendors"]
        ]
        title = (
            "vendors that pass the must gates"
            if pool["name"] == QUALIFIED
            else "every vendor, must gates set aside (for robustness only: not a ranking)"
        )
        out.append((title, header, rows))
    return out


def describe(report: dict[str, Any]) -> str:
    return (
        f"weights drawn {report['samples']} times within +/-{report['spread']:.0%} of the "
        f"team's values (seed {report['seed']})"
    )


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")
