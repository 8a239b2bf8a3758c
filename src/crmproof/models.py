"""The three kinds of file a team writes, as pydantic models.

- the evaluation, `crmproof.yaml`: its name, the vendors and how to reach them, scoring;
- catalog files, `requirements/*.yaml`: strategy, roles, processes, requirements;
- scenario files, `scenarios/**/*.yaml`: one scenario per YAML document.

These models check shape and types; `crmproof.validate` then checks meaning (the
vocabulary, references between files) with positions. Their JSON Schemas, exported by
`crmproof schema`, let editors complete and check the files as they are typed.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crmproof import vocabulary
from crmproof.vocabulary import RefusalKind

Id = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
        max_length=80,
        description="Letters, digits, '.', '-' and '_'.",
    ),
]
Priority = Literal["must", "should", "could", "wont"]
Kind = Literal["process-control", "information-management"]


class Spec(BaseModel):
    # Frozen: a loaded model is read, never changed in place (`model_copy` makes a changed
    # one), which is what lets models share the set of the keys they were given.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    def model_post_init(self, context: Any, /) -> None:
        """One set of the keys given for all models given the same keys.

        Pydantic makes a set per model; ten thousand scenarios' steps, expectations and
        scenarios repeat some thirty such sets, and their copies were a quarter of the
        models' memory (a set of up to four names costs 216 bytes, of five or more 728).
        Only assigning a field would change the set, and a frozen model refuses that.
        """
        given = self.__pydantic_fields_set__
        key = frozenset(given)
        shared = _FIELDS_SETS.get(key)
        if shared is None:
            shared = _FIELDS_SETS[key] = given
        _object_setattr(self, "__pydantic_fields_set__", shared)


_object_setattr = object.__setattr__
_FIELDS_SETS: dict[frozenset[str], set[str]] = {}


# -- the evaluation ------------------------------------------------------------------


class Transient(Spec):
    """Asking again after a transient answer: off unless a vendor's setting says so.

    Not `run.retries`, which re-runs a whole scenario that did not pass."""

    attempts: int = Field(
        0,
        ge=0,
        le=5,
        description="Times a transient answer (a rate limit, a 503) is asked again; each "
        "retry is recorded on its step. 0: never, the step is an error.",
    )
    backoff: float = Field(
        1.0, gt=0, le=60, description="Seconds before the first retry, doubled for each next one."
    )


class Vendor(Spec):
    adapter: str | None = Field(
        None, description="Adapter name: a folder in adapters/ or an installed entry point."
    )
    command: list[str] | None = Field(
        None,
        description="Or: an adapter program speaking the protocol on stdin/stdout, as argv.",
    )
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="Passed to the adapter; `${env:NAME}` reads the environment or secrets.env.",
    )
    description: str | None = None
    product: str | None = Field(
        None,
        description="The product this entry evaluates, when several entries evaluate one "
        "product through different channels (its API and its web UI): they are compared.",
    )
    workers: int | None = Field(
        None, ge=1, le=64, description="Scenarios of this vendor at once (default: run.workers)."
    )
    transient: Transient = Field(
        default_factory=Transient,
        description="Asking again, with backoff, after a transient answer, e.g. `{attempts: 2, "
        "backoff: 1}`; off by default.",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Vendor:
        if (self.adapter is None) == (self.command is None):
            raise ValueError("give either `adapter:` (a name) or `command:` (a program)")
        return self

    @property
    def label(self) -> str:
        return self.adapter or " ".join(self.command or [])


class Acceptability(Spec):
    spread: float = Field(
        0.25, ge=0, lt=1, description="Each weight is drawn uniformly within +/- this fraction."
    )
    samples: int = Field(2000, ge=1, le=1_000_000, description="Weight samples drawn.")
    seed: int = Field(7, description="Seed of the sampler: the same seed, the same figures.")


class Scoring(Spec):
    must_disqualifies: bool = Field(
        True, description="A must requirement not fully met disqualifies the vendor."
    )
    acceptability: Acceptability = Field(
        default_factory=Acceptability,
        description="Rank acceptability: each vendor's chance of each place, weights uncertain.",
    )


class RunPolicy(Spec):
    step_timeout: float = Field(60.0, gt=0, description="Seconds one step may take.")
    scenario_timeout: float = Field(600.0, gt=0, description="Seconds one scenario may take.")
    trace: Literal["on-failure", "always", "on-first-retry"] = Field(
        "on-failure",
        description="When browser adapters keep a Playwright trace; on-first-retry traces "
        "only the re-run of a failed scenario (tracing costs a third of a browser's time).",
    )
    retries: int = Field(
        0,
        ge=0,
        le=3,
        description="Re-runs of a scenario that failed or broke, traced (as Playwright's "
        "retries with trace on-first-retry); one that then passes is flaky, never met.",
    )
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Scenarios of one vendor run at once, where its adapter declares it safe.",
    )
    max_workers: int | None = Field(
        None,
        ge=1,
        le=256,
        description="Scenarios running at once over all vendors (default: the vendors or the "
        "cores, whichever is more), so a run never oversubscribes the machine; a freed slot "
        "goes to the worker that has waited longest.",
    )


class Evaluation(Spec):
    name: str
    description: str | None = None
    vendors: dict[str, Vendor]
    scoring: Scoring = Field(default_factory=Scoring)
    run: RunPolicy = Field(default_factory=RunPolicy)
    requirements: str = Field("requirements", description="Folder of catalog files.")
    adapters: str = Field("adapters", description="Folder of the workspace's own adapters.")
    scenarios: str = Field("scenarios", description="Folder of scenario files.")
    evaluators: dict[Id, str] = Field(
        default_factory=dict,
        description="Who may score demonstrations: an id (a score sheet's `evaluator:`) -> who.",
    )


# -- the catalog: strategy -> roles -> processes -> requirements ---------------------------


class Strategy(Spec):
    id: Id
    title: str
    description: str | None = None


class Role(Spec):
    id: Id
    title: str
    description: str | None = None


class ProcessStep(Spec):
    id: Id
    title: str
    role: str = Field(description="The role that owns this step.")
    description: str | None = None


class Process(Spec):
    id: Id
    title: str
    strategy: str = Field(description="The strategy this process serves.")
    description: str | None = None
    steps: list[ProcessStep] = Field(min_length=1)


class Requirement(Spec):
    id: Id
    step: str = Field(description="The process step this requirement supports.")
    kind: Kind
    priority: Priority
    weight: float = Field(1.0, ge=0, le=100)
    text: str = Field(description="What the CRM must do.")
    success: str = Field(description="How we will know, written before any vendor is seen.")
    verified_by: Literal["scenario", "demo"] = Field(
        "scenario",
        description="`demo`: judged by evaluators' score sheets (demos/), not by a scenario.",
    )


class Catalog(Spec):
    strategies: list[Strategy] = Field(default_factory=list)
    roles: list[Role] = Field(default_factory=list)
    processes: list[Process] = Field(default_factory=list)
    requirements: list[Requirement] = Field(default_factory=list)


# -- scenarios ------------------------------------------------------------------------

Entity = Annotated[
    str, Field(json_schema_extra={"enum": vocabulary.entity_names()}, description="An entity.")
]


class Expectation(Spec):
    """What must be true: a subject (value, get or find) and one or more matchers."""

    value: Any = Field(None, description="A value to check, usually `${saved.field}`.")
    get: Entity | None = Field(None, description="Read this entity's record `id:` and check it.")
    find: Entity | None = Field(None, description="Search this entity with `where:`.")
    id: str | None = None
    where: dict[str, Any] = Field(default_factory=dict)
    as_: str | None = Field(None, alias="as", description="Look as this actor.")
    equals: Any = None
    not_equals: Any = None
    contains: Any = None
    matches: str | None = Field(None, max_length=500, description="A regular expression.")
    count: int | None = Field(None, ge=0)
    only: list[str] | None = Field(
        None, description="The ids a find must return, and nothing else: `[${a.id}, ${b.id}]`."
    )
    exists: bool | None = None
    less_than: float | None = None
    greater_than: float | None = None
    fields: dict[str, Any] = Field(
        default_factory=dict, description="Field values the record (or each hit) must have."
    )
    within: float | None = Field(
        None, gt=0, le=600, description="Keep checking for up to this many seconds."
    )


class Budget(Spec):
    """The most a task may cost its user in a UI: the "give" a requirement allows.

    Only a browser channel counts effort, so a budget is judged there; through an API it
    is untested (channel), never met."""

    clicks: int | None = Field(None, ge=0)
    keystrokes: int | None = Field(None, ge=0)
    fields: int | None = Field(None, ge=0, description="Form fields filled.")
    pages: int | None = Field(None, ge=0, description="Pages or screens opened.")

    def limits(self) -> dict[str, int]:
        """The counts this budget caps, in a fixed order."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class Step(Spec):
    """One step: exactly one operation key, plus its modifiers."""

    create: Entity | None = None
    get: Entity | None = None
    update: Entity | None = None
    delete: Entity | None = None
    find: Entity | None = None
    convert: Entity | None = None
    advance: Entity | None = None
    invoice: Entity | None = None
    login: str | None = Field(None, description="Act as this actor from here on.")
    offline: bool | None = Field(None, description="`offline: true` cuts the connection.")
    online: bool | None = Field(None, description="`online: true` restores it.")
    expect: Expectation | None = None
    id: str | None = None
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    where: dict[str, Any] = Field(default_factory=dict)
    to: str | None = None
    save: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    as_: str | None = Field(None, alias="as", description="Act as this actor for this step.")
    refused: bool | RefusalKind | list[RefusalKind] = Field(
        False,
        description="The step passes only if the vendor refuses it: `true` (for any reason "
        "of the product), or the kinds that count, e.g. `[forbidden, not_found]` for privacy.",
    )
    title: str | None = Field(None, description="What this step proves, for the report.")
    budget: Budget | None = Field(
        None,
        description="The most this step may cost in a UI, e.g. `{clicks: 8, keystrokes: "
        "120}`: over it, the step fails on a browser vendor (untested through an API).",
    )

    @cached_property
    def operation(self) -> str:
        """The step's one operation key (the loader guarantees there is exactly one).

        Found once per step (the engine asks a dozen times per step) and kept in the
        instance's own dict, which pydantic neither validates, dumps nor compares.
        """
        for name in vocabulary.STEP_OPERATIONS:
            if name in self.__pydantic_fields_set__:
                return name
        raise AssertionError("a loaded step always has an operation")

    @property
    def entity(self) -> str | None:
        """The entity an entity operation acts on (`create: account` -> account)."""
        if self.operation not in vocabulary.ENTITY_OPERATIONS:
            return None
        value = getattr(self, self.operation)
        return value if isinstance(value, str) else None

    def label(self) -> str:
        """A short human label: `create account`, `advance opportunity to won`."""
        op = self.operation
        if op == vocabulary.EXPECT:
            assert self.expect is not None
            return f"expect {self.expect.find or self.expect.get or 'value'}"
        label = f"{op} {self.entity}" if self.entity else op
        if op == "login" and self.login:
            label += f" {self.login}"
        if self.to:
            label += f" to {self.to}"
        if self.as_:
            label += f" as {self.as_}"
        return label


class Scenario(Spec):
    id: Id
    title: str
    covers: list[str] = Field(default_factory=list, description="Requirement ids it proves.")
    tags: list[str] = Field(default_factory=list)
    description: str | None = None
    budget: Budget | None = Field(
        None,
        description="The most the whole scenario may cost in a UI (its steps' effort "
        "added up): over it, the scenario fails on a browser vendor.",
    )
    steps: list[Step] = Field(min_length=1)

    def budgeted(self) -> bool:
        return self.budget is not None or any(s.budget is not None for s in self.steps)


STEP_KEYS = [(f.alias or name) for name, f in Step.model_fields.items()]
EXPECT_KEYS = [(f.alias or name) for name, f in Expectation.model_fields.items()]


def _grammar_drift() -> list[str]:
    """Words of the vocabulary that these models have no key for: caught at import."""
    return [
        *(f"step key '{op}'" for op in vocabulary.STEP_OPERATIONS if op not in STEP_KEYS),
        *(f"expect key '{m}'" for m in vocabulary.MATCHERS if m not in EXPECT_KEYS),
        *(f"expect key '{s}'" for s in vocabulary.EXPECT_SUBJECTS if s not in EXPECT_KEYS),
    ]


if _grammar_drift():  # pragma: no cover - a developer's mistake, shown at once
    raise ImportError(f"crmproof.models lacks {', '.join(_grammar_drift())} of the vocabulary")
