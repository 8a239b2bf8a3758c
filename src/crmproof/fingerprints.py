"""Fingerprints of what a result rests on: each requirement and each scenario, per part.

An evaluation lasts months and its requirements are rewritten after workshops; a result
proven against last month's wording must not keep counting as met (Doorstop calls such a
link *suspect*). Each run records these fingerprints in its `run` event; comparing them
with the workspace as it is now names what changed, part by part ("success", "steps"),
so a reader sees why a cell is stale, not just that it is.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmproof.workspace import Suite

__all__ = ["REQUIREMENT_PARTS", "Changes", "compare", "of_suite", "of_workspace"]

# The parts of a requirement a verdict rests on; a new title or description changes no proof.
REQUIREMENT_PARTS = ("text", "success", "priority", "weight", "step")

Fingerprints = dict[str, Any]  # evaluation name; requirements and scenarios: id -> part -> hash


def _digest(value: Any) -> str:
    if isinstance(value, str):
        value = " ".join(value.split())  # re-wrapping a folded YAML paragraph changes nothing
    blob = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def of_suite(suite: Suite) -> Fingerprints:
    """Per requirement and per scenario, a short hash of each part a verdict rests on."""
    requirements = {
        req.id: {part: _digest(getattr(req, part)) for part in REQUIREMENT_PARTS}
        for req in suite.catalog.requirements
    }
    scenarios = {
        loaded.model.id: {
            "steps": _digest(
                [s.model_dump(by_alias=True, exclude_defaults=True) for s in loaded.model.steps]
            )
        }
        for loaded in suite.scenarios
    }
    name = suite.evaluation.model.name if suite.evaluation else None
    return {"evaluation": name, "requirements": requirements, "scenarios": scenarios}


def of_workspace(root: Path) -> Fingerprints | None:
    """The fingerprints of the workspace at `root` now; None when it cannot be read whole."""
    from crmproof.workspace import EVALUATION_FILE, load

    if not (root / EVALUATION_FILE).exists():
        return None
    suite = load(root)
    if suite.errors:  # a file that does not load would look as if its items were removed
        return None
    return of_suite(suite)


@dataclass
class Changes:
    """What changed since a run: id -> the parts that differ, or ["removed"]."""

    requirements: dict[str, list[str]] = field(default_factory=dict)
    scenarios: dict[str, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.requirements or self.scenarios)

    def reason(self, kind: str, item_id: str) -> str | None:
        """Why results resting on requirement or scenario `item_id` are stale, if they are."""
        parts = (self.requirements if kind == "requirement" else self.scenarios).get(item_id)
        if parts is None:
            return None
        if parts == ["removed"]:
            return f"{kind} {item_id} was removed"
        return f"{kind} {item_id} changed ({', '.join(parts)})"

    def describe(self) -> list[str]:
        return [
            reason
            for kind, items in (("requirement", self.requirements), ("scenario", self.scenarios))
            for item_id in sorted(items)
            if (reason := self.reason(kind, item_id))
        ]


def compare(recorded: Fingerprints, current: Fingerprints) -> Changes:
    """Parts of the recorded requirements and scenarios that differ now.

    Items added since the run are not stale: they were never proven, and the scorecard
    already shows them as untested or not covered once they are run.
    """
    changes = Changes()
    for kind, out in (("requirements", changes.requirements), ("scenarios", changes.scenarios)):
        now = current.get(kind, {})
        for item_id, parts in recorded.get(kind, {}).items():
            if item_id not in now:
                out[item_id] = ["removed"]
                continue
            differ = [p for p, digest in parts.items() if now[item_id].get(p) != digest]
            if differ:
                out[item_id] = differ
    return changes
