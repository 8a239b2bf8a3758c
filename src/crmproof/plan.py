"""Which scenarios run on which vendors: the cross product, filtered.

Filters combine as a user expects from pytest's `-k`/`-m`: an id glob, a tag and a
requirement id each narrow the set; several values of one filter widen it again.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from crmproof.errors import PlanError
from crmproof.models import Scenario
from crmproof.workspace import Loaded, Suite


@dataclass(frozen=True)
class Filters:
    ids: Sequence[str] = ()
    tags: Sequence[str] = ()
    requirements: Sequence[str] = ()
    vendors: Sequence[str] = ()

    def wants(self, scenario: Scenario, vendor: str) -> bool:
        """`ids` are globs of scenario ids, or of `vendor/id` for one vendor's: a plan of
        chosen (vendor, scenario) pairs, as a run lists them (pytest's node ids)."""
        if self.ids and not any(
            fnmatch.fnmatchcase(f"{vendor}/{scenario.id}" if "/" in g else scenario.id, g)
            for g in self.ids
        ):
            return False
        if self.tags and not set(self.tags) & set(scenario.tags):
            return False
        return not (self.requirements and not set(self.requirements) & set(scenario.covers))


@dataclass(frozen=True)
class Job:
    vendor: str
    scenario: Loaded


def make_plan(suite: Suite, filters: Filters) -> list[Job]:
    assert suite.evaluation is not None
    vendors = list(suite.evaluation.model.vendors)
    if filters.vendors:
        unknown = [v for v in filters.vendors if v not in vendors]
        if unknown:
            raise PlanError(
                f"no vendor {', '.join(unknown)} in crmproof.yaml; known: {', '.join(vendors)}"
            )
        vendors = [v for v in vendors if v in filters.vendors]
    return [Job(v, s) for v in vendors for s in suite.scenarios if filters.wants(s.model, v)]


def shard(jobs: list[Job], index: int, count: int) -> list[Job]:
    """The `index`-th of `count` slices of a plan (1-based), for `crmproof run --shard i/n`.

    Round-robin over the plan sorted by (vendor, scenario id): the same plan gives every
    machine the same slices whatever order it was listed in, each scenario stays whole on
    one machine, and each shard gets an even share of every vendor, so a slow browser
    vendor is spread too. The slices are disjoint and together are the plan.
    """
    if count < 1 or not 1 <= index <= count:
        raise PlanError(f"--shard {index}/{count}: write i/n with 1 <= i <= n, such as 1/4")
    ordered = sorted((j.vendor, j.scenario.model.id) for j in jobs)
    mine = {job for k, job in enumerate(ordered) if k % count == index - 1}
    return [j for j in jobs if (j.vendor, j.scenario.model.id) in mine]
