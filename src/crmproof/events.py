"""The events of results.jsonl, one pydantic model each: the run's typed record of truth.

A run writes nothing but these, one per line, as they happen (`crmproof.results`), and
everything after the run (scoring, the reports, the manifest, resume) reads them back as
these same models. So a field means one thing from the moment a step ends to the cell
it decides, and a results file from another version, or with a damaged line, is refused
with its line number instead of being half understood.

The order of a run's events:

    run        the plan and a snapshot of the suite (once, first)
    resume     a killed run is being finished (instead of `run`, on resume)
    vendor     a vendor's adapter is ready, or could not start
    step       one step ended: passed, failed, not done, or why not
    cleanup    one record the scenario created was deleted (or kept by design)
    scenario   one scenario ended, with its status (a re-run of one that did not pass
               writes its steps and end again, with `attempt: 2`; the last end counts)
    leftovers  what the vendor still holds of this run, after all its scenarios
    end        the run finished
    interrupted  the run was stopped (Ctrl-C) after cleaning up: `--resume` finishes it
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crmproof.models import Process, Requirement, Role, Strategy
from crmproof.protocol import Channel, Effort, Evidence, RecordRef

__all__ = [
    "FORMAT",
    "READS",
    "Claim",
    "CleanupDone",
    "Event",
    "Fit",
    "LeftoversFound",
    "ResultEvent",
    "Resumed",
    "RunEnded",
    "RunInterrupted",
    "RunStarted",
    "ScenarioDone",
    "ScenarioInfo",
    "StepDone",
    "StepStatus",
    "SuiteSnapshot",
    "VendorReady",
]

FORMAT = 2
"""The version of this file format, stamped in the `run` event; bump it on any change.

2 (2026-11-30): the `interrupted` event, the `flaky` status, a step's `attempt` and
`retried`, the run's `products`. Format 1 files read the same, with those absent."""

READS = frozenset({1, FORMAT})
"""The formats this crmproof reads: older ones whose events are a subset of today's."""

# Why a step or scenario did not prove anything, told apart, because each means something
# else on the scorecard: the product lacks it (not offered), nobody mapped it (not shown:
# says nothing of the product), the channel cannot exercise it or the run broke (untested,
# error). Only passed and failed are verdicts drawn from the vendor's behaviour.
Gap = Literal["not offered", "not shown", "untested"]
StepStatus = Literal["passed", "failed", "not offered", "not shown", "untested", "error", "skipped"]
# A scenario that did not pass is re-run once (`run.retries`); one that then passes is
# *flaky*: shown as such, and never a verdict of met (scoring reads it as no decisive result).
ScenarioStatus = Literal[
    "passed", "failed", "not offered", "not shown", "untested", "error", "flaky"
]
CleanupStatus = Literal["ok", "kept", "refused", "unsupported", "error"]


def _now() -> float:
    return round(time.time(), 3)


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: float = Field(default_factory=_now, description="Unix time the event was written.")


class ScenarioInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    covers: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    file: str


class SuiteSnapshot(BaseModel):
    """What scoring needs of the suite, so a run folder stands on its own."""

    model_config = ConfigDict(extra="forbid")

    strategies: list[Strategy] = Field(default_factory=list)
    roles: list[Role] = Field(default_factory=list)
    processes: list[Process] = Field(default_factory=list)
    requirements: list[Requirement] = Field(default_factory=list)
    scenarios: list[ScenarioInfo] = Field(default_factory=list)


Fit = Literal["native", "configuration", "customization", "third-party", "roadmap", "not-offered"]


class Claim(BaseModel):
    """What a vendor's response file says of one requirement, before anything is run."""

    model_config = ConfigDict(extra="forbid")

    fit: Fit
    note: str | None = None


class RunStarted(Event):
    event: Literal["run"] = "run"
    format: int = Field(description=f"The results format; this crmproof writes {FORMAT}.")
    run_id: str
    evaluation: str
    scoring: dict[str, Any] = Field(default_factory=dict)
    suite_sha256: str
    vendors: dict[str, str] = Field(description="Vendor name -> its adapter (name or command).")
    plan: list[tuple[str, str]] = Field(description="(vendor, scenario id), in run order.")
    suite: SuiteSnapshot
    fingerprints: dict[str, Any] = Field(
        default_factory=dict,
        description="A fingerprint of every requirement and scenario, so a later report can "
        "tell which verdicts rest on something changed since (stale).",
    )
    claims: dict[str, dict[str, Claim]] = Field(
        default_factory=dict,
        description="Vendor -> requirement -> the vendor's claim, as its response file "
        "stood when the run started.",
    )
    ci_run_id: str | None = Field(
        None,
        description="The id every shard of one CI evaluation shares (CRMPROOF_RUN_ID, or "
        "the CI's own run), reported in ctrf.json so the shards' reports group.",
    )


class Resumed(Event):
    event: Literal["resume"] = "resume"
    run_id: str
    remaining: int
    orphans: int


class VendorReady(Event):
    event: Literal["vendor"] = "vendor"
    vendor: str
    adapter: str
    status: Literal["ready", "error"]
    message: str | None = None
    adapter_version: str | None = None
    vendor_version: str | None = None
    channel: Channel | None = None
    capabilities: dict[str, Any] | None = None


class StepDone(Event):
    event: Literal["step"] = "step"
    vendor: str
    scenario: str
    index: int = Field(description="The step's place in the scenario, from 0.")
    line: int = Field(description="The step's line in its scenario file.")
    step: str = Field(description="The step's title, or a label such as `create account`.")
    status: StepStatus
    duration_ms: float = 0
    message: str | None = None
    expected: str | None = None
    actual: str | None = None
    effort: Effort | None = None
    created: list[RecordRef] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    retried: list[str] = Field(
        default_factory=list,
        description="Transient answers (rate limits, 503s) asked again under the vendor's "
        "`retries` setting before this result, with the vendor's message each.",
    )
    attempt: int | None = Field(
        None, description="The re-run of a scenario that did not pass (2, ...); absent: the first."
    )


class ScenarioDone(Event):
    event: Literal["scenario"] = "scenario"
    vendor: str
    scenario: str
    status: ScenarioStatus
    message: str | None = None
    covers: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    duration_ms: float = 0
    effort: Effort | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    lacking: list[str] = Field(
        default_factory=list,
        description="Fields the product is declared to lack, left out ('lead.source'): "
        "a pass then proves the requirement only partly.",
    )
    asked: int = Field(0, description="Distinct entity fields the scenario uses.")
    attempt: int | None = Field(
        None, description="The re-run of a scenario that did not pass (2, ...); absent: the first."
    )


class CleanupDone(Event):
    event: Literal["cleanup"] = "cleanup"
    vendor: str
    scenario: str
    entity: str
    id: str
    status: CleanupStatus
    message: str | None = None


class LeftoversFound(Event):
    event: Literal["leftovers"] = "leftovers"
    vendor: str
    checked: bool = Field(description="False: the adapter cannot tell what is left.")
    records: list[RecordRef] = Field(default_factory=list)
    message: str | None = None


class RunEnded(Event):
    event: Literal["end"] = "end"
    run_id: str


class RunInterrupted(Event):
    """Ctrl-C: every vendor stopped at a step boundary and deleted what its running
    scenario had created. That scenario has no `scenario` event, so `--resume` runs it
    again from its first step; the run has no `end`, so it stays resumable."""

    event: Literal["interrupted"] = "interrupted"
    run_id: str


ResultEvent = Annotated[
    RunStarted
    | Resumed
    | VendorReady
    | StepDone
    | ScenarioDone
    | CleanupDone
    | LeftoversFound
    | RunEnded
    | RunInterrupted,
    Field(discriminator="event"),
]
