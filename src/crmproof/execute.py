"""Running one scenario on one vendor: YAML step -> Operation -> Outcome -> step event.

Follow a step through `ScenarioRun.step`: its `${...}` are resolved from what earlier steps
saved, the adapter's declared capabilities are checked (a step outside them is
unsupported without calling the vendor), the Operation is performed, and the Outcome
becomes one of passed, failed, unsupported or error. After the first step that does not
pass, the rest are skipped. Whatever happens, every record the scenario created is then
deleted, newest first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crmproof.adapter import Adapter
from crmproof.expect import judge
from crmproof.interpolation import InterpolationError, references, resolve
from crmproof.models import Expectation, Scenario, Step
from crmproof.protocol import Capabilities, Effort, Operation, Outcome, RecordRef
from crmproof.workspace import Loaded

Emit = Callable[..., Any]


@dataclass
class StepResult:
    status: str  # passed, failed, unsupported, error
    message: str | None = None
    expected: str | None = None
    actual: str | None = None
    saved: Any = None
    outcome: Outcome | None = None


def _op_of(step: Step) -> str:
    for name in (
        "create",
        "get",
        "update",
        "delete",
        "find",
        "convert",
        "advance",
        "invoice",
        "login",
        "offline",
        "online",
        "expect",
    ):
        if name in step.model_fields_set:
            return name
    raise AssertionError("validated steps have an operation")


def describe(step: Step) -> str:
    """A short human label for a step: `create account`, `advance opportunity to won`."""
    op = _op_of(step)
    if op == "expect":
        exp = step.expect
        assert exp is not None
        subject = f"{exp.find or exp.get or 'value'}"
        return f"expect {subject}"
    target = getattr(step, op)
    label = f"{op} {target}" if isinstance(target, str) else op
    if step.to:
        label += f" to {step.to}"
    if step.as_:
        label += f" as {step.as_}"
    return label


@dataclass
class ScenarioRun:
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

    # -- one scenario -------------------------------------------------------------------

    def run(self, loaded: Loaded) -> str:
        scenario: Scenario = loaded.model
        self.scope = {"run": {"id": self.run_id}}
        self.created, self.actor, self.effort = [], None, None
        ruled_out = self.plan_check(scenario)
        if ruled_out is not None:
            return self._unsupported_up_front(loaded, *ruled_out)
        started = time.monotonic()
        status, message = "passed", None
        evidence: list[dict[str, Any]] = []
        try:
            self.adapter.begin(scenario.id)
        except Exception as exc:
            status, message = "error", f"could not start the scenario: {exc}"
        for index, step in enumerate(scenario.steps):
            line = loaded.doc.where(("steps", index))[0]
            common = {
                "vendor": self.vendor,
                "scenario": scenario.id,
                "index": index,
                "line": line,
                "step": step.title or describe(step),
            }
            if status == "passed" and time.monotonic() - started > self.scenario_timeout:
                status = "error"
                message = f"scenario timed out after {self.scenario_timeout:g}s"
            if status != "passed":
                self.emit("step", **common, status="skipped", duration_ms=0)
                continue
            t0 = time.monotonic()
            result = self.step(step)
            outcome = result.outcome
            if outcome and outcome.effort:
                self.effort = (self.effort or Effort()) + outcome.effort
            self.emit(
                "step",
                **common,
                status=result.status,
                duration_ms=round((time.monotonic() - t0) * 1000, 1),
                message=result.message,
                expected=result.expected,
                actual=result.actual,
                effort=outcome.effort.model_dump() if outcome and outcome.effort else None,
                created=[r.model_dump() for r in outcome.created] if outcome else [],
                evidence=[e.model_dump() for e in outcome.evidence] if outcome else [],
            )
            if result.status != "passed":
                status, message = result.status, result.message
            elif step.save:
                self.scope[step.save] = result.saved
        self.cleanup(scenario.id)
        try:
            evidence = [e.model_dump() for e in self.adapter.end(scenario.id, status)]
        except Exception as exc:
            evidence = []
            message = message or f"could not end the scenario: {exc}"
        self.emit(
            "scenario",
            vendor=self.vendor,
            scenario=scenario.id,
            status=status,
            message=message,
            covers=scenario.covers,
            tags=scenario.tags,
            duration_ms=round((time.monotonic() - started) * 1000, 1),
            effort=self.effort.model_dump() if self.effort else None,
            evidence=evidence,
        )
        return status

    # -- one step -----------------------------------------------------------------------

    def step(self, step: Step) -> StepResult:
        op = _op_of(step)
        try:
            if op == "expect":
                assert step.expect is not None
                return self._expect(step.expect)
            if op == "login":
                return self._login(str(resolve(step.login, self.scope)))
            if op in ("offline", "online"):
                return self._perform_checked(Operation(op=op, actor=self.actor), step)
            return self._entity_step(op, step)
        except InterpolationError as exc:
            return StepResult("error", f"cannot resolve: {exc}")

    def _entity_step(self, op: str, step: Step) -> StepResult:
        resolved_id = resolve(step.id, self.scope)
        operation = Operation(
            op=op,
            entity=getattr(step, op),
            id=None if resolved_id is None else str(resolved_id),
            data=resolve(step.with_, self.scope),
            where=resolve(step.where, self.scope),
            to=resolve(step.to, self.scope),
            actor=step.as_ or self.actor,
        )
        result = self._perform_checked(operation, step)
        outcome = result.outcome
        if result.status == "passed" and outcome is not None:
            if op == "find":
                items = outcome.records or []
                result.saved = {"count": len(items), "items": items}
            else:
                result.saved = outcome.record or {}
            if op == "delete" and operation.id:
                self.created = [
                    r
                    for r in self.created
                    if not (r.entity == operation.entity and r.id == operation.id)
                ]
        return result

    def plan_check(self, scenario: Scenario) -> tuple[int, str] | None:
        """The first step the adapter's declared capabilities rule out, before any runs.

        A scenario that cannot be completed on this vendor is unsupported as a whole; not
        running its first steps saves the time and the records they would create.
        """
        actor: str | None = None
        saved: dict[str, str] = {}  # saved name -> the entity it holds
        for index, step in enumerate(scenario.steps):
            op = _op_of(step)
            operation: Operation | None = None
            if op == "login":
                if step.login and "${" not in step.login:
                    if step.login not in self.capabilities.actors:
                        return index, f"the adapter cannot act as '{step.login}'"
                    actor = step.login
            elif op in ("offline", "online"):
                operation = Operation(op=op)
            elif op == "expect":
                assert step.expect is not None
                operation, reason = self._expect_shape(step.expect, actor, saved)
                if reason:
                    return index, reason
            else:
                to = step.to if step.to and "${" not in step.to else None
                entity = getattr(step, op)
                operation = Operation(
                    op=op,
                    entity=entity,
                    data=step.with_,
                    where=step.where,
                    to=to,
                    actor=step.as_ or actor,
                )
                if step.save and op != "find":
                    saved[step.save] = "opportunity" if op == "convert" else entity
            reason = self.unsupported_reason(operation) if operation else None
            if reason:
                return index, reason
        return None

    def _expect_shape(
        self, exp: Expectation, actor: str | None, saved: dict[str, str]
    ) -> tuple[Operation | None, str | None]:
        """An expectation's lookup, and any field it reads that the adapter does not map."""
        for ref in references(exp.value):
            entity = saved.get(ref.root or "")
            if entity and ref.path and ref.path[0] not in ("id",):
                missing = self.capabilities.unsupported_fields(entity, [ref.path[0]])
                if missing and entity in self.capabilities.entities:
                    return None, f"the adapter does not map {entity} field(s) {missing[0]}"
        if not (exp.find or exp.get):
            return None, None
        return Operation(
            op="find" if exp.find else "get",
            entity=exp.find or exp.get,
            where={**exp.where, **exp.fields},
            actor=exp.as_ or actor,
        ), None

    def _unsupported_up_front(self, loaded: Loaded, bad: int, reason: str) -> str:
        scenario: Scenario = loaded.model
        for index, step in enumerate(scenario.steps):
            self.emit(
                "step",
                vendor=self.vendor,
                scenario=scenario.id,
                index=index,
                line=loaded.doc.where(("steps", index))[0],
                step=step.title or describe(step),
                status="unsupported" if index == bad else "skipped",
                duration_ms=0,
                message=reason if index == bad else None,
            )
        self.emit(
            "scenario",
            vendor=self.vendor,
            scenario=scenario.id,
            status="unsupported",
            message=reason,
            covers=scenario.covers,
            tags=scenario.tags,
            duration_ms=0,
            effort=None,
            evidence=[],
        )
        return "unsupported"

    def unsupported_reason(self, operation: Operation) -> str | None:
        """Why the adapter's declared capabilities rule this operation out, if they do."""
        caps = self.capabilities
        what = f"{operation.op} {operation.entity}" if operation.entity else operation.op
        if not caps.supports(operation.op, operation.entity):
            return f"the adapter does not support {what}"
        if operation.entity:
            names = [*operation.data, *operation.where]
            missing = caps.unsupported_fields(operation.entity, names)
            if missing:
                return f"the adapter does not map {operation.entity} field(s) {', '.join(missing)}"
            stages = caps.entities[operation.entity].stages
            if (
                operation.op == "advance"
                and stages
                and operation.to is not None
                and operation.to not in stages
            ):
                return f"the adapter cannot move a {operation.entity} to '{operation.to}'"
        if operation.actor and operation.actor not in caps.actors:
            return f"the adapter cannot act as '{operation.actor}'"
        return None

    def _perform_checked(self, operation: Operation, step: Step) -> StepResult:
        reason = self.unsupported_reason(operation)
        if reason:
            return StepResult("unsupported", reason)
        outcome = self.adapter.perform(operation)
        for ref in outcome.created:
            if ref not in self.created:
                self.created.append(ref)
        return self._judge_outcome(outcome, step.refused)

    @staticmethod
    def _judge_outcome(outcome: Outcome, refusal_expected: bool) -> StepResult:
        if outcome.status == "ok" and refusal_expected:
            return StepResult(
                "failed",
                "expected the vendor to refuse this, but it complied",
                expected="refused",
                actual="done",
                outcome=outcome,
            )
        if outcome.status == "refused" and not refusal_expected:
            return StepResult(
                "failed",
                f"the vendor refused: {outcome.message}",
                expected="done",
                actual="refused",
                outcome=outcome,
            )
        status = {
            "ok": "passed",
            "refused": "passed",
            "unsupported": "unsupported",
            "error": "error",
        }[outcome.status]
        return StepResult(status, outcome.message, outcome=outcome)

    def _login(self, actor: str) -> StepResult:
        if actor not in self.capabilities.actors:
            return StepResult("unsupported", f"the adapter cannot act as '{actor}'")
        if "login" in self.capabilities.operations:
            outcome = self.adapter.perform(Operation(op="login", actor=actor))
            result = self._judge_outcome(outcome, False)
            if result.status != "passed":
                return result
        self.actor = actor
        return StepResult("passed", outcome=None)

    # -- expectations -------------------------------------------------------------------

    def _subject(self, exp: Expectation) -> tuple[Any, StepResult | None]:
        """The value an expectation (already resolved) looks at, or an early end."""
        if exp.find or exp.get:
            op = "find" if exp.find else "get"
            operation = Operation(
                op=op,
                entity=exp.find or exp.get,
                id=None if exp.id is None else str(exp.id),
                where=exp.where,
                actor=exp.as_ or self.actor,
            )
            reason = self.unsupported_reason(operation)
            if reason:
                return None, StepResult("unsupported", reason)
            outcome = self.adapter.perform(operation)
            if outcome.status == "refused" and op == "get":
                return None, None  # nothing there, as far as this actor can see
            if outcome.status != "ok":
                return None, self._judge_outcome(outcome, False)
            return (outcome.records or []) if op == "find" else outcome.record, None
        return exp.value, None

    def _expect(self, written: Expectation) -> StepResult:
        given = {name: getattr(written, name) for name in written.model_fields_set}
        exp = written.model_copy(update=resolve(given, self.scope))
        deadline = time.monotonic() + (exp.within or 0)
        while True:
            subject, early = self._subject(exp)
            if early is not None:
                return early
            verdict = judge(exp, subject)
            if verdict.ok:
                return StepResult("passed", saved=subject)
            if time.monotonic() >= deadline:
                within = f" within {exp.within:g}s" if exp.within else ""
                return StepResult(
                    "failed",
                    f"{verdict.message}{within}",
                    expected=verdict.expected,
                    actual=verdict.actual,
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
                "cleanup",
                vendor=self.vendor,
                scenario=scenario_id,
                entity=ref.entity,
                id=ref.id,
                status="kept" if kept else outcome.status,
                message=outcome.kept if kept else outcome.message,
            )
        self.created = []
