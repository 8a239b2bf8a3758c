"""Running one scenario on one vendor: YAML step -> Operation -> Outcome -> step event.

A scenario goes through two phases:

1. **The gate** (`gate`): every step is turned, once, into the shape of the Operation it
   will perform (operation, entity, field names, target stage, actor) and checked once
   against the adapter's declared capabilities. A scenario with a step outside them is
   unsupported as a whole, before it touches the vendor or creates a record.
2. **Execution** (`ScenarioRun.run`): each step's `${...}` are resolved from what earlier
   steps saved, the Operation is performed, and the Outcome becomes the step's status:
   passed, failed, unsupported or error. After the first step that does not pass, the
   rest are skipped. Whatever happens, every record the scenario created is then deleted,
   newest first.

Every step ends as one `StepDone` event, every scenario as one `ScenarioDone`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from crmproof import vocabulary
from crmproof.adapter import Adapter
from crmproof.events import (
    CleanupDone,
    Gap,
    ResultEvent,
    ScenarioDone,
    ScenarioStatus,
    StepDone,
    StepStatus,
)
from crmproof.expect import judge
from crmproof.interpolation import InterpolationError, references, resolve
from crmproof.models import Budget, Expectation, Scenario, Step
from crmproof.proof import WRITES, differences, expected_after
from crmproof.protocol import (
    Capabilities,
    Effort,
    Evidence,
    Operation,
    Outcome,
    RecordRef,
)
from crmproof.vocabulary import REFUSAL_KINDS, RefusalKind
from crmproof.workspace import Loaded

Refusal = bool | RefusalKind | list[RefusalKind]

__all__ = [
    "Emit",
    "GateResult",
    "Plan",
    "ScenarioRun",
    "StepResult",
    "gate",
    "unsupported_reason",
]

Emit = Callable[[ResultEvent], Any]


@dataclass
class StepResult:
    """What one step came to, before it is written as a `StepDone` event."""

    status: StepStatus
    message: str | None = None
    expected: str | None = None
    actual: str | None = None
    saved: Any = None
    outcome: Outcome | None = None
    retried: list[str] = field(default_factory=list)


# -- effort budgets -------------------------------------------------------------------------


def over_budget(budget: Budget, effort: Effort | None) -> tuple[str, str] | None:
    """(expected, actual) when `effort` exceeds any count the budget caps, else None."""
    counts = (effort or Effort()).model_dump()
    limits = budget.limits()
    if all(counts.get(k, 0) <= v for k, v in limits.items()):
        return None
    expected = "at most " + ", ".join(f"{v} {k}" for k, v in limits.items())
    actual = ", ".join(f"{counts.get(k, 0)} {k}" for k in limits)
    return expected, actual


def _within_budget(budget: Budget, result: StepResult) -> StepResult:
    """A passed step that cost more than its budget fails, with expected vs actual."""
    effort = result.outcome.effort if result.outcome else None
    over = over_budget(budget, effort)
    if over is None:
        return result
    expected, actual = over
    return StepResult(
        "failed",
        f"done, but over its effort budget: expected {expected}; actual {actual}",
        expected=expected,
        actual=actual,
        saved=result.saved,
        outcome=result.outcome,
    )


# -- the capability gate ------------------------------------------------------------------


def _static(value: str | None) -> str | None:
    """A value known before the run, or None when it waits for a `${...}`."""
    return value if value is not None and "${" not in value else None


def unsupported_reason(caps: Capabilities, operation: Operation) -> str | None:
    """Why the adapter's declared capabilities rule this operation out, if they do."""
    what = f"{operation.op} {operation.entity}" if operation.entity else operation.op
    if not caps.supports(operation.op, operation.entity):
        return f"the adapter does not support {what}"
    if operation.entity:
        values = _values(operation)
        missing = caps.unsupported_fields(operation.entity, list(values), values)
        if missing:
            named = [_conditioned(caps, operation.entity, name, values) for name in missing]
            return f"the adapter does not map {operation.entity} field(s) {', '.join(named)}"
        stages = caps.entities[operation.entity].stages
        if operation.op == "advance" and stages and operation.to and operation.to not in stages:
            return f"the adapter cannot move a {operation.entity} to '{operation.to}'"
    if operation.actor and operation.actor not in caps.actors:
        return f"the adapter cannot act as '{operation.actor}'"
    return None


def _values(operation: Operation) -> dict[str, Any]:
    """A step's field values, written and searched, for the fields it names."""
    return {**operation.where, **operation.data}


def _conditioned(caps: Capabilities, entity: str, name: str, values: Mapping[str, Any]) -> str:
    """`case when kind=task` for a field outside the claim only for that value, else `case`."""
    condition = caps.unmet_condition(entity, name, values)
    return f"{name} when {condition}" if condition else name


def _declaration_keys(caps: Capabilities, operation: Operation) -> list[str]:
    """The keys under which an adapter may have declared why it cannot do `operation`."""
    if operation.entity is None:
        return [operation.op]
    entity = operation.entity
    keys = [f"{operation.op} {entity}"]
    values = _values(operation)
    for name in caps.unsupported_fields(entity, list(values), values):
        keys += [f"{operation.op} {entity}.{name}", f"{entity}.{name}"]
        conditioned = _conditioned(caps, entity, name, values)
        if conditioned != name:
            keys.append(f"{entity}.{conditioned}")
    for name, value in [*operation.data.items(), *operation.where.items()]:
        if isinstance(value, str | int | float | bool):
            keys.append(f"{entity}.{name}={value}")  # one value the product lacks
    if operation.to:
        keys.append(f"{operation.op} {entity} to {operation.to}")
    return keys


def classify_gap(caps: Capabilities, operation: Operation, reason: str) -> tuple[Gap, str]:
    """What a step outside the adapter's reach means: a product fact, or nothing known.

    Declared channel limits make it untested; declared product gaps make it not offered,
    with the adapter's cited reason; anything else is not shown, because an adapter that
    has not mapped a step says nothing about whether the product can do it.
    """
    for key in _declaration_keys(caps, operation):
        if key in caps.channel_limits:
            return "untested", f"channel: {caps.channel_limits[key]} ({key})"
        if key in caps.not_offered:
            return "not offered", f"{key}: {caps.not_offered[key]}"
    return "not shown", f"not shown: {reason}"


@dataclass(frozen=True)
class GateResult:
    """The gate's answer for a scenario: None, or the first step ruled out and why."""

    index: int
    status: Gap
    reason: str


def _ruled_out(index: int, caps: Capabilities, operation: Operation, reason: str) -> GateResult:
    status, why = classify_gap(caps, operation, reason)
    return GateResult(index, status, why)


def _expect_shape(exp: Expectation, actor: str | None) -> Operation | None:
    if not (exp.find or exp.get):
        return None
    return Operation(
        op="find" if exp.find else "get",
        entity=exp.find or exp.get,
        where={**exp.where, **exp.fields},
        actor=_static(exp.as_) or actor,
    )


def _value_fields_problem(
    caps: Capabilities, exp: Expectation, saved: dict[str, str]
) -> tuple[Operation, str] | None:
    """A `value: ${deal.stage}` reads a field the adapter does not map for that entity."""
    for ref in references(exp.value):
        entity = saved.get(ref.root or "")
        if entity and entity in caps.entities and ref.path and ref.path[0] != "id":
            missing = caps.unsupported_fields(entity, [ref.path[0]])
            if missing:
                reading = Operation(op="get", entity=entity, where={missing[0]: None})
                return reading, f"the adapter does not map {entity} field(s) {missing[0]}"
    return None


def _lacking_fields(caps: Capabilities, shape: Operation) -> list[str]:
    """Fields of a step the product is declared to lack, when they are its only problem.

    Such a step still runs without them, so the rest of the scenario is proven; the
    scenario then proves its requirement only partly, naming what the product lacks.
    """
    if shape.entity is None or shape.entity not in caps.entities:
        return []
    entity = shape.entity
    values = _values(shape)
    missing = caps.unsupported_fields(entity, list(values), values)
    declared = [
        name
        for name in missing
        if f"{entity}.{name}" in caps.not_offered
        or f"{shape.op} {entity}.{name}" in caps.not_offered
        or f"{entity}.{_conditioned(caps, entity, name, values)}" in caps.not_offered
    ]
    if not missing or declared != missing:
        return []
    trimmed = _without(shape, set(missing))
    return missing if unsupported_reason(caps, trimmed) is None else []


def _without(operation: Operation, fields: AbstractSet[str]) -> Operation:
    return operation.model_copy(
        update={
            "data": {k: v for k, v in operation.data.items() if k not in fields},
            "where": {k: v for k, v in operation.where.items() if k not in fields},
        }
    )


@dataclass
class Plan:
    """The gate's answer for one scenario: ruled out, or runnable with some fields left out."""

    ruled_out: GateResult | None = None
    # step index -> fields the product lacks, left out of that step ("lead.source")
    lacking: dict[int, list[str]] = field(default_factory=dict)

    def lacking_fields(self) -> list[str]:
        return sorted({f for fields in self.lacking.values() for f in fields})


def gate(scenario: Scenario, caps: Capabilities) -> Plan:
    """Check every step against the declared capabilities, once, before anything runs."""
    plan = Plan()
    actor: str | None = None
    saved: dict[str, str] = {}  # saved name -> the entity of the record it holds
    for index, step in enumerate(scenario.steps):
        op = step.operation
        shape: Operation | None = None
        if op == "login":
            name = _static(step.login)
            if name is not None:
                if name not in caps.actors:
                    why = f"the adapter cannot act as '{name}'"
                    return Plan(GateResult(index, "not shown", why))
                actor = name
        elif op in vocabulary.SESSION_OPERATIONS:
            shape = Operation(op=op)
        elif op == vocabulary.EXPECT:
            assert step.expect is not None
            problem = _value_fields_problem(caps, step.expect, saved)
            if problem:
                return Plan(_ruled_out(index, caps, problem[0], problem[1]))
            shape = _expect_shape(step.expect, actor)
        else:
            entity = step.entity
            assert entity is not None
            shape = Operation(
                op=op,
                entity=entity,
                data=step.with_,
                where=step.where,
                to=_static(step.to),
                actor=_static(step.as_) or actor,
            )
            if step.save and op != "find":
                saved[step.save] = vocabulary.outcome_entity(op, entity)
        reason = unsupported_reason(caps, shape) if shape else None
        if shape and reason:
            lacking = _lacking_fields(caps, shape)
            # A search by a field the product lacks cannot be asked without it: left out,
            # it would ask another question (every account, not the group's divisions).
            searched = set(step.expect.where) if step.expect else set()
            if not lacking or searched & set(lacking):
                return Plan(_ruled_out(index, caps, shape, reason))
            plan.lacking[index] = [f"{shape.entity}.{name}" for name in lacking]
    return plan


# -- one scenario --------------------------------------------------------------------------


@dataclass
class ScenarioRun:
    """Runs scenarios one after another on one adapter, emitting their events."""

    adapter: Adapter
    capabilities: Capabilities
    vendor: str
    run_id: str
    emit: Emit
    scenario_timeout: float = 600.0
    scope: dict[str, Any] = field(default_factory=dict)
    created: list[RecordRef] = field(default_factory=list)
    actor: str | None = None
    effort: Effort | None = None
    plan: Plan = field(default_factory=Plan)
    transient_attempts: int = 0  # the vendor's `transient.attempts`: off unless set
    backoff: float = 1.0
    prove_writes: bool = True  # off only to measure what the read-back costs (bench/)
    retried: list[str] = field(default_factory=list)  # this step's transient answers
    attempt: int | None = None  # set by run(): None on a first attempt
    _known: set[RecordRef] | None = field(default=None, repr=False)
    _known_of: list[RecordRef] | None = field(default=None, repr=False)

    def run(self, loaded: Loaded, attempt: int = 1) -> ScenarioStatus:
        """Run one scenario; `attempt` > 1 is the runner's re-run of one that did not pass,
        and a re-run that passes ends as flaky, never as passed."""
        scenario: Scenario = loaded.model
        # A re-run names its records apart from the first attempt's, as a resume does
        # (runner.Run.marker): a record the first attempt made may outlive it, kept by the
        # vendor's rules, and meeting it under the same name would change what the re-run
        # proves and what it costs. The run id stays part of every name, for leftovers.
        marker = self.run_id if attempt <= 1 else f"{self.run_id}-a{attempt}"
        self.scope = {"run": {"id": marker}}
        self.created, self.actor, self.effort = [], None, None
        self.attempt = attempt if attempt > 1 else None
        plan = gate(scenario, self.capabilities)
        if plan.ruled_out is not None:
            return self._unsupported_up_front(loaded, plan.ruled_out)
        self.plan = plan
        started = time.monotonic()
        status: ScenarioStatus = "passed"
        message: str | None = None
        self.adapter.marker = marker
        try:
            self.adapter.begin(scenario.id)
        except Exception as exc:
            status, message = "error", f"could not start the scenario: {exc}"
        for index, step in enumerate(scenario.steps):
            if status == "passed" and time.monotonic() - started > self.scenario_timeout:
                status = "error"
                message = f"scenario timed out after {self.scenario_timeout:g}s"
            if status != "passed":
                self.emit(self._step_event(loaded, index, StepResult("skipped")))
                continue
            t0 = time.monotonic()
            self.retried = []
            result = self.step(step, {f.split(".", 1)[1] for f in plan.lacking.get(index, [])})
            if step.budget is not None and result.status == "passed" and self._counts_effort():
                result = _within_budget(step.budget, result)
            result.retried = self.retried
            outcome = result.outcome
            if outcome and outcome.effort:
                self.effort = (self.effort or Effort()) + outcome.effort
            self.emit(self._step_event(loaded, index, result, time.monotonic() - t0))
            if result.status != "passed":
                status, message = _scenario_status(result.status), result.message
            elif step.save:
                self.scope[step.save] = result.saved
        if status == "passed" and scenario.budgeted():
            status, message = self._scenario_budget(scenario)
        self.cleanup(scenario.id)
        evidence: list[Evidence] = []
        try:
            evidence = self.adapter.end(scenario.id, status)
        except Exception as exc:
            message = message or f"could not end the scenario: {exc}"
        if self.attempt and status == "passed":
            status = "flaky"
            message = f"passed only when re-run (attempt {attempt}); it did not pass before"
        self.emit(
            ScenarioDone(
                vendor=self.vendor,
                scenario=scenario.id,
                status=status,
                message=message,
                covers=scenario.covers,
                tags=scenario.tags,
                duration_ms=round((time.monotonic() - started) * 1000, 1),
                effort=self.effort,
                evidence=evidence,
                lacking=plan.lacking_fields(),
                asked=_fields_asked(scenario),
                attempt=self.attempt,
            )
        )
        return status

    # -- effort budgets ------------------------------------------------------------------

    def _counts_effort(self) -> bool:
        """Whether this channel counts a user's effort (a browser does; an API declares
        the limit `effort`, by default)."""
        return "effort" not in self.capabilities.channel_limits

    def _scenario_budget(self, scenario: Scenario) -> tuple[ScenarioStatus, str | None]:
        """A passed scenario with budgets: untested through a channel that counts no
        effort, failed over the scenario's own budget, else passed."""
        if not self._counts_effort():
            limit = self.capabilities.channel_limits["effort"]
            return "untested", f"channel: {limit} (effort: its budget is untested here)"
        if scenario.budget is not None:
            over = over_budget(scenario.budget, self.effort)
            if over is not None:
                expected, actual = over
                return "failed", (
                    f"the scenario is over its effort budget: expected {expected}; actual {actual}"
                )
        return "passed", None

    def _step_event(
        self, loaded: Loaded, index: int, result: StepResult, seconds: float = 0.0
    ) -> StepDone:
        step: Step = loaded.model.steps[index]
        outcome = result.outcome
        return StepDone(
            vendor=self.vendor,
            scenario=loaded.model.id,
            index=index,
            line=loaded.doc.where(("steps", index))[0],
            step=step.title or step.label(),
            status=result.status,
            duration_ms=round(seconds * 1000, 1),
            message=result.message,
            expected=result.expected,
            actual=result.actual,
            effort=outcome.effort if outcome else None,
            created=outcome.created if outcome else [],
            evidence=outcome.evidence if outcome else [],
            retried=result.retried,
            attempt=self.attempt,
        )

    def _unsupported_up_front(self, loaded: Loaded, ruled_out: GateResult) -> ScenarioStatus:
        scenario: Scenario = loaded.model
        for index in range(len(scenario.steps)):
            if index == ruled_out.index:
                result = StepResult(ruled_out.status, ruled_out.reason)
            else:
                result = StepResult("skipped")
            self.emit(self._step_event(loaded, index, result))
        self.emit(
            ScenarioDone(
                vendor=self.vendor,
                scenario=scenario.id,
                status=ruled_out.status,
                message=ruled_out.reason,
                covers=scenario.covers,
                tags=scenario.tags,
            )
        )
        return ruled_out.status

    # -- one step -----------------------------------------------------------------------

    def step(self, step: Step, lacking: AbstractSet[str] = frozenset()) -> StepResult:
        """Perform one step that passed the gate; its values are resolved only now.

        `lacking` are fields the product is declared to lack: they are left out.
        """
        op = step.operation
        try:
            if op == vocabulary.EXPECT:
                assert step.expect is not None
                return self._expect(step.expect, lacking)
            if op == "login":
                return self._login(str(resolve(step.login, self.scope)))
            if op in vocabulary.SESSION_OPERATIONS:
                return self._perform(Operation(op=op, actor=self.actor), step.refused)
            return self._entity_step(step, lacking)
        except InterpolationError as exc:
            return StepResult("error", f"cannot resolve: {exc}")

    def _entity_step(self, step: Step, lacking: AbstractSet[str]) -> StepResult:
        resolved_id = resolve(step.id, self.scope)
        operation = Operation(
            op=step.operation,
            entity=step.entity,
            id=None if resolved_id is None else str(resolved_id),
            data=resolve(step.with_, self.scope),
            where=resolve(step.where, self.scope),
            to=resolve(step.to, self.scope),
            actor=resolve(step.as_, self.scope) or self.actor,
        )
        operation = _without(operation, lacking) if lacking else operation
        if _static(step.to) is None and operation.to is not None:
            # the gate could not see a stage that only a `${...}` named
            reason = unsupported_reason(self.capabilities, operation)
            if reason:
                return StepResult(*classify_gap(self.capabilities, operation, reason))
        result = self._perform(operation, step.refused)
        outcome = result.outcome
        if (
            self.prove_writes
            and result.status == "passed"
            and outcome is not None
            and not _accepted(step.refused)
        ):
            result = self._proven(operation, result)
            outcome = result.outcome
        if result.status == "passed" and outcome is not None:
            if operation.op == "find":
                items = outcome.records or []
                result.saved = {"count": len(items), "items": items}
            else:
                result.saved = outcome.record or {}
            if operation.op == "delete" and operation.id:
                self.created = [
                    r
                    for r in self.created
                    if not (r.entity == operation.entity and r.id == operation.id)
                ]
        return result

    def _proven(self, operation: Operation, result: StepResult) -> StepResult:
        """Read a write back from the vendor: an "ok" that changed nothing is not done."""
        assert result.outcome is not None and operation.entity is not None
        entity = vocabulary.outcome_entity(operation.op, operation.entity)
        record = result.outcome.record or {}
        record_id = record.get("id") or operation.id
        if (
            operation.op not in WRITES
            or not record_id
            or not self.capabilities.supports("get", entity)
        ):
            return result
        readback = self._ask(
            Operation(
                op="get", entity=entity, id=str(record_id), actor=operation.actor, readback=True
            )
        )
        if readback.status == "refused" and readback.refusal == "not_found":
            return StepResult(
                "failed",
                f"not done: the vendor answered the {operation.op} with ok, but holds no "
                f"{entity} {record_id}",
                expected=f"{entity} {record_id}",
                actual="not found",
                outcome=result.outcome,
            )
        if readback.status != "ok" or readback.record is None:
            return StepResult(
                "error",
                f"the vendor answered the {operation.op}, but the record could not be read "
                f"back to prove it: {readback.message}",
                outcome=result.outcome,
            )
        diffs = differences(
            entity, expected_after(operation), readback.record, self.adapter.normalises
        )
        if diffs:
            return StepResult(
                "failed",
                f"not done: the vendor answered the {operation.op} with ok, but holds "
                + "; ".join(f"{n} {held!r}" for n, _, held in diffs),
                expected="; ".join(f"{n} {want!r}" for n, want, _ in diffs),
                actual="; ".join(f"{n} {held!r}" for n, _, held in diffs),
                outcome=result.outcome,
            )
        outcome = result.outcome.model_copy(update={"record": {**record, **readback.record}})
        return StepResult("passed", result.message, outcome=outcome)

    def _ask(self, operation: Operation) -> Outcome:
        """Perform; a transient answer is asked again, with backoff, if the vendor's
        `transient.attempts` allow, and every retry is kept on the step (never hidden)."""
        outcome = self.adapter.perform(operation)
        for attempt in range(self.transient_attempts):
            if outcome.status != "error" or not outcome.transient:
                break
            self.retried.append(outcome.message or "a transient answer")
            time.sleep(self.backoff * 2**attempt)
            outcome = self.adapter.perform(operation)
        return outcome

    def _perform(self, operation: Operation, refused: Refusal) -> StepResult:
        outcome = self._ask(operation)
        if outcome.created:
            known = self._known_created()
            for ref in outcome.created:
                if ref not in known:
                    self.created.append(ref)
                    known.add(ref)
        return self._judged(operation, outcome, refused)

    def _known_created(self) -> set[RecordRef]:
        """`self.created` as a set, kept beside it: a scenario of a thousand creates must
        not rebuild it at every step (that made each create cost grow with the count)."""
        if self._known is None or self._known_of is not self.created:
            self._known, self._known_of = set(self.created), self.created
        return self._known

    def _judged(self, operation: Operation, outcome: Outcome, refused: Refusal) -> StepResult:
        """The Outcome as a status; an adapter's "unsupported" is classified like the gate's."""
        if outcome.status == "unsupported":
            reason = outcome.message or "the adapter answered unsupported"
            status, why = classify_gap(self.capabilities, operation, reason)
            return StepResult(status, why, outcome=outcome)
        return _judge_outcome(outcome, refused)

    def _login(self, actor: str) -> StepResult:
        if actor not in self.capabilities.actors:
            return StepResult("not shown", f"the adapter cannot act as '{actor}'")
        if "login" in self.capabilities.operations:
            result = self._perform(Operation(op="login", actor=actor), False)
            if result.status == "failed":  # the harness's credentials: never a verdict
                return StepResult(
                    "error",
                    f"the log-in of '{actor}' failed, so nothing of theirs is tested: "
                    f"{result.message}",
                    outcome=result.outcome,
                )
            if result.status != "passed":
                return result
        self.actor = actor
        return StepResult("passed")

    # -- expectations -------------------------------------------------------------------

    def _subject(self, exp: Expectation) -> tuple[Any, StepResult | None, str]:
        """The value an expectation (already resolved) looks at, or an early end; and, when
        a get was refused, the vendor's reason, which a failed judgement then names."""
        if not (exp.find or exp.get):
            return exp.value, None, ""
        op = "find" if exp.find else "get"
        operation = Operation(
            op=op,
            entity=exp.find or exp.get,
            id=None if exp.id is None else str(exp.id),
            where=exp.where,
            actor=exp.as_ or self.actor,
        )
        outcome = self._ask(operation)
        if outcome.status == "refused" and op == "get":
            # nothing there, as far as this actor can see
            return None, None, outcome.message or "no reason given"
        if outcome.status != "ok":
            return None, self._judged(operation, outcome, False), ""
        return (outcome.records or []) if op == "find" else outcome.record, None, ""

    def _expect(self, written: Expectation, lacking: AbstractSet[str]) -> StepResult:
        given = {name: getattr(written, name) for name in written.model_fields_set}
        exp = written.model_copy(update=resolve(given, self.scope))
        if lacking:
            exp = exp.model_copy(
                update={
                    "where": {k: v for k, v in exp.where.items() if k not in lacking},
                    "fields": {k: v for k, v in exp.fields.items() if k not in lacking},
                }
            )
        deadline = time.monotonic() + (exp.within or 0)
        while True:
            subject, early, refused = self._subject(exp)
            if early is not None:
                return early
            judgement = judge(exp, subject)
            if judgement.ok:
                return StepResult("passed", saved=subject)
            if time.monotonic() >= deadline:
                within = f" within {exp.within:g}s" if exp.within else ""
                why = f" (the vendor refused the get: {refused})" if refused else ""
                return StepResult(
                    "failed",
                    f"{judgement.message}{within}{why}",
                    expected=judgement.expected,
                    actual=judgement.actual,
                )
            time.sleep(min(0.5, max(0.05, deadline - time.monotonic())))

    # -- cleanup --------------------------------------------------------------------------

    def cleanup(self, scenario_id: str, refs: list[RecordRef] | None = None) -> None:
        """Delete what the scenario created, newest first, as the default user."""
        for ref in reversed(self.created if refs is None else refs):
            outcome = self.adapter.perform(
                Operation(op="delete", entity=ref.entity, id=ref.id, cleanup=True)
            )
            kept = outcome.status == "ok" and outcome.kept
            self.emit(
                CleanupDone(
                    vendor=self.vendor,
                    scenario=scenario_id,
                    entity=ref.entity,
                    id=ref.id,
                    status="kept" if kept else outcome.status,
                    message=outcome.kept if kept else outcome.message,
                )
            )
        self.created = []


def _fields_asked(scenario: Scenario) -> int:
    """How many distinct entity fields a scenario writes, filters or checks."""
    asked: set[str] = set()
    for step in scenario.steps:
        if step.entity:
            asked |= {f"{step.entity}.{k}" for k in (*step.with_, *step.where)}
        elif step.expect and (step.expect.find or step.expect.get):
            entity = step.expect.find or step.expect.get
            asked |= {f"{entity}.{k}" for k in (*step.expect.where, *step.expect.fields)}
    return len(asked)


def _scenario_status(status: StepStatus) -> ScenarioStatus:
    assert status != "skipped" and status != "passed"
    return status


def _accepted(refused: Refusal) -> set[str]:
    """The refusal kinds a step accepts: none, every kind (`true`), or the ones it names."""
    if refused is False:
        return set()
    if refused is True:
        return set(REFUSAL_KINDS)
    return {refused} if isinstance(refused, str) else set(refused)


def _judge_outcome(outcome: Outcome, refused: Refusal) -> StepResult:
    """An adapter's Outcome as the step's status, against what the step expected."""
    accepted = _accepted(refused)
    if outcome.status == "ok" and accepted:
        return StepResult(
            "failed",
            "expected the vendor to refuse this, but it complied",
            expected="refused" if refused is True else f"refused ({', '.join(sorted(accepted))})",
            actual="done",
            outcome=outcome,
        )
    if outcome.status == "refused" and not accepted:
        return StepResult(
            "failed",
            f"the vendor refused: {outcome.message}",
            expected="done",
            actual=f"refused ({outcome.refusal or 'no kind given'})",
            outcome=outcome,
        )
    if outcome.status == "refused" and refused is not True and outcome.refusal not in accepted:
        return StepResult(
            "failed",
            f"the vendor refused for another reason: {outcome.message}",
            expected=f"refused ({', '.join(sorted(accepted))})",
            actual=f"refused ({outcome.refusal or 'no kind given'})",
            outcome=outcome,
        )
    status: StepStatus = "error" if outcome.status == "error" else "passed"
    return StepResult(status, outcome.message, outcome=outcome)
