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

    def wants(self, scenario: Scenario) -> bool:
        if self.ids and not any(fnmatch.fnmatchcase(scenario.id, g) for g in self.ids):
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
    chosen = [s for s in suite.scenarios if filters.wants(s.model)]
    return [Job(v, s) for v in vendors for s in chosen]
