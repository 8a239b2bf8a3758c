"""The base class of an in-process adapter, and the exceptions it raises to say why.

An adapter author writes one method per supported (operation, entity) pair, named
`<op>_<entity>` (`create_account`, `advance_opportunity`) or `<op>` for a session operation
(`login`, `offline`). Each returns the canonical record (a dict with an `id`), or for
`find_*` a list of them. A `delete_*` whose vendor keeps the record by design returns
`{"id": ..., "kept": "cancelled: posted invoices cannot be deleted"}`. Anything the
adapter cannot do it simply does not define, or raises `Unsupported` for a finer reason
(a field, a stage). The runner never sees a vendor's
exceptions: `perform` turns them into an `Outcome`, so one broken call is one error step,
not a crashed run.
"""

from __future__ import annotations

import json
import os
import traceback
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import httpx

from crmproof import vocabulary
from crmproof.diagnostics import did_you_mean
from crmproof.errors import AdapterLoadError
from crmproof.har import HarRecorder, keeps
from crmproof.protocol import (
    PROTOCOL_VERSION,
    Capabilities,
    Channel,
    Effort,
    Evidence,
    Hello,
    Operation,
    Outcome,
    OutcomeStatus,
    RecordRef,
)
from crmproof.vocabulary import RefusalKind


class AdapterProblem(Exception):
    """Base of the exceptions that an adapter method raises on purpose."""

    status: ClassVar[OutcomeStatus] = "error"


class Unsupported(AdapterProblem):
    """The vendor cannot do this: a claim about the product, not a failure of the run."""

    status: ClassVar[OutcomeStatus] = "unsupported"


class Refused(AdapterProblem):
    """The vendor declined, for a reason of the product: say which `kind`.

    forbidden (this actor may not), not_found (no such record, or not for this actor),
    rule (a business rule or validation said no), conflict (a concurrent change). A rate
    limit, an outage or the harness's own credentials rejected are `VendorError`s: a
    privacy check must never pass because the vendor was busy.
    """

    status: ClassVar[OutcomeStatus] = "refused"

    def __init__(self, message: str, kind: RefusalKind = "rule") -> None:
        super().__init__(message)
        self.kind: RefusalKind = kind


class VendorError(AdapterProblem):
    """The vendor broke (5xx, timeout, garbage); says nothing about the product.

    `transient`: the vendor said the request was not handled and may be asked again
    (a rate limit, a 503): the engine retries it if the vendor's `retries` setting says so.
    Never set it where the request may have been done (a timed-out write).
    """

    status: ClassVar[OutcomeStatus] = "error"

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class StepContext:
    """What one `perform` call accumulates besides its result: created records, effort."""

    def __init__(self) -> None:
        self.created: list[RecordRef] = []
        self.effort: Effort | None = None
        self.evidence: list[Evidence] = []

    def created_record(self, entity: str, id_: Any) -> None:
        self.created.append(RecordRef(entity=entity, id=str(id_)))

    def add_effort(self, **counts: int) -> None:
        self.effort = (self.effort or Effort()) + Effort(**counts)


class AdapterDefinitionError(AdapterLoadError):
    """An adapter class names a method for an operation the vocabulary does not have."""


def _operation_of(method: str) -> tuple[str, str | None] | None:
    """`advance_opportunity` -> (advance, opportunity); `login` -> (login, None)."""
    if method in vocabulary.SESSION_OPERATIONS:
        return method, None
    op, _, entity = method.partition("_")
    if op in vocabulary.ENTITY_OPERATIONS and entity in vocabulary.ENTITIES:
        return op, entity
    return None


def _misspelt(method: str) -> str | None:
    """Why a public method looks like an operation method but is none, with a suggestion.

    `advance_oportunity` (a known operation, an unknown entity) and `advnce_opportunity`
    (an unknown operation close to a known one, a known entity) would otherwise never be
    called, and the adapter would quietly answer "unsupported" for a step it can do.
    """
    op, sep, entity = method.partition("_")
    if not sep:
        return None
    if op in vocabulary.ENTITY_OPERATIONS and entity not in vocabulary.ENTITIES:
        return f"'{entity}' is no entity{did_you_mean(entity, vocabulary.ENTITIES)}"
    if entity in vocabulary.ENTITIES and op not in vocabulary.ENTITY_OPERATIONS:
        hint = did_you_mean(op, vocabulary.ENTITY_OPERATIONS)
        if hint:
            return f"'{op}' is no operation{hint}"
    return None


class Adapter(ABC):
    """One vendor, one channel. Subclass it; see the module docstring."""

    name: ClassVar[str]
    version: ClassVar[str] = "0.1.0"
    channel: ClassVar[Channel] = "api"
    # (operation, entity) -> method name, built when the class is defined.
    operations: ClassVar[dict[tuple[str, str | None], str]] = {}
    # What the product lacks, with a reason citing its source or documentation, keyed
    # like 'create activity', 'lead.source' or 'advance opportunity to negotiation'. A
    # step outside the capabilities that no declaration explains is "not shown": nobody
    # mapped it, which says nothing about the product.
    not_offered: ClassVar[dict[str, str]] = {}
    # What this channel cannot exercise (an API cannot go offline): "untested (channel)".
    channel_limits: ClassVar[dict[str, str]] = {}
    # How many scenarios may run at once, each on its own instance (session, browser
    # context): what the vendor's server and its database take safely.
    max_workers: ClassVar[int] = 1
    # Fields the vendor stores normalised, with the rule (`crmproof.proof.RULES`), so a
    # write read back is compared fairly: {"account.phone": "formatted"}.
    normalises: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Register the operation methods, refusing a name that matches no operation.

        A helper that is no operation method and happens to look like one is made
        private (`_create_one`), which also says it is not part of the adapter's API.
        """
        super().__init_subclass__(**kwargs)
        found: dict[tuple[str, str | None], str] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                if attr.startswith("_") or not callable(value):
                    continue
                operation = _operation_of(attr)
                if operation is not None:
                    found[operation] = attr
                    continue
                problem = _misspelt(attr)
                if problem and klass is cls:
                    raise AdapterDefinitionError(
                        f"{cls.__module__}.{cls.__qualname__}.{attr}: {problem}; an operation "
                        "method is named <operation>_<entity>; make a helper private (_name)"
                    )
        cls.operations = found

    def __init__(self) -> None:
        self.step = StepContext()
        self.evidence_dir: str = "."
        self.run_id: str = "adhoc"
        # What `${run.id}` reads in the current scenario (set by the engine before
        # `begin`): the mark that makes the harness's records unique. No user types it,
        # so a UI adapter leaves it out of the keystrokes it counts (BrowserAdapter.fill).
        self.marker: str = ""
        # none | failures | all: set by the runner (`crmproof run --evidence`)
        self.evidence_policy: str = "none"
        self.http_evidence = HarRecorder()
        self._claim: Capabilities | None = None

    def http_client(self, **kwargs: Any) -> httpx.Client:
        """An httpx.Client (same arguments) whose exchanges become this scenario's HAR."""
        return self.http_evidence.client(**kwargs)

    # -- lifecycle: override what you need -------------------------------------------

    def open(self, settings: Mapping[str, Any]) -> str | None:
        """Connect and log in; return the vendor's product version if known."""
        return None

    def begin(self, scenario: str) -> None:
        """A scenario starts: isolate it (fresh session, fresh browser context).

        An override calls this too, so the scenario's HAR starts empty."""
        self.http_evidence.reset()

    def end(self, scenario: str, status: str) -> list[Evidence]:
        """A scenario ended: return evidence gathered across it (its HAR, a trace).

        An override that records HTTP through `http_client` calls this too.
        """
        return self.http_har(scenario, status)

    def http_har(self, scenario: str, status: str) -> list[Evidence]:
        """Write `evidence/<vendor>/<scenario>.har` if the evidence policy keeps it."""
        recorded = len(self.http_evidence)
        try:
            if not (recorded and keeps(self.evidence_policy, status)):
                return []
            path = Path(self.evidence_dir) / f"{scenario}.har"
            self.http_evidence.write(path)
            run_folder = Path(self.evidence_dir).resolve().parent.parent
            relative = Path(os.path.relpath(path.resolve(), run_folder)).as_posix()
            return [Evidence(kind="http", path=relative, note=f"{recorded} exchanges")]
        finally:
            self.http_evidence.reset()

    def close(self) -> None:
        """Release connections, browsers, files."""

    def trace_next_scenario(self) -> None:
        """The next scenario re-runs one that did not pass: gather full evidence of it
        (a browser adapter traces it, whatever its trace policy)."""

    def leftovers(self, marker: str) -> list[RecordRef] | None:
        """Records still in the vendor whose names carry `marker` (a run id).

        The runner asks after every run, to prove its cleanup; None means this adapter
        cannot tell, and the scorecard says cleanup was not verified. A record the vendor
        keeps by design (a cancelled invoice) is listed with `kept` saying so.
        """
        return None

    @abstractmethod
    def capabilities(self) -> Capabilities:
        """The honest claim of what this adapter does with this vendor."""

    # -- the one entry point the runner calls -----------------------------------------

    def declared(self) -> Capabilities:
        """The capabilities with what the product lacks and the channel cannot do.

        An API channel has no connection to lose, so unless an adapter says otherwise,
        going offline is a limit of its channel, never a gap of the product; nor has it a
        user's clicks to count, so an effort budget is untested through it.
        """
        caps = self.capabilities()
        limits = dict(self.channel_limits)
        if self.channel == "api":
            for op in ("offline", "online"):
                if op not in caps.operations:
                    limits.setdefault(op, "an API has no connection to lose")
            limits.setdefault(
                "effort", "an API client makes no clicks or keystrokes; effort is counted in a UI"
            )
        return caps.model_copy(
            update={
                "not_offered": {**self.not_offered, **caps.not_offered},
                "channel_limits": {**limits, **caps.channel_limits},
            }
        )

    def hello(self) -> Hello:
        return Hello(
            protocol=PROTOCOL_VERSION,
            name=self.name,
            version=self.version,
            channel=self.channel,
            capabilities=self.declared(),
        )

    def perform(self, op: Operation) -> Outcome:
        """Run one operation by dispatching to `<op>_<entity>`; never raises."""
        self.step = StepContext()
        name = self.operations.get((op.op, op.entity))
        method = getattr(self, name) if name else None
        if method is None:
            what = f"{op.op} {op.entity}" if op.entity else op.op
            return Outcome(status="unsupported", message=f"{self.name} cannot {what}")
        unmapped = self._unmapped(op)
        if unmapped:
            return self._outcome(
                "unsupported",
                message=f"{self.name} does not map {op.entity} field(s) {', '.join(unmapped)}",
            )
        try:
            result = method(op)
        except Refused as refusal:
            return self._outcome("refused", message=str(refusal), refusal=refusal.kind)
        except VendorError as problem:
            return self._outcome("error", message=str(problem), transient=problem.transient)
        except AdapterProblem as problem:
            return self._outcome(problem.status, message=str(problem))
        except Exception as exc:  # an adapter bug must not take the run down
            where = traceback.extract_tb(exc.__traceback__)[-1]
            detail = f"{type(exc).__name__}: {exc} (at {where.name}:{where.lineno})"
            return self._outcome("error", message=f"adapter error: {detail}")
        if isinstance(result, list):
            return self._outcome("ok", records=result)
        if op.op == "delete" and isinstance(result, dict) and result.get("kept"):
            return self._outcome(
                "ok", record={"id": result.get("id", op.id)}, kept=str(result["kept"])
            )
        if op.op == "create" and op.entity and isinstance(result, dict) and "id" in result:
            ref = RecordRef(entity=op.entity, id=str(result["id"]))
            if ref not in self.step.created:
                self.step.created.insert(0, ref)
        return self._outcome("ok", record=result)

    def _unmapped(self, op: Operation) -> list[str]:
        """Fields a create, update or find names outside the adapter's claim.

        The runner never sends them (the gate stops or strips them), but a direct caller
        such as `crmproof adapter check` may: every adapter answers them unsupported
        rather than dropping them without a word.
        """
        if op.entity is None or op.op not in ("create", "update", "find"):
            return []
        claim = getattr(self, "_claim", None)
        if claim is None:
            claim = self._claim = self.capabilities()
        if op.entity not in claim.entities:
            return []
        values = {**op.where, **op.data}
        return claim.unsupported_fields(op.entity, list(values), values)

    def _outcome(self, status: OutcomeStatus, **kwargs: Any) -> Outcome:
        for key in ("record", "records"):  # as over the protocol: Decimals, dates -> JSON
            value = kwargs.get(key)
            if value is not None and not _json_native(value):
                kwargs[key] = json.loads(json.dumps(value, default=str))
        return Outcome(
            status=status,
            created=self.step.created,
            effort=self.step.effort,
            evidence=self.step.evidence,
            **kwargs,
        )


_SCALARS = (str, int, float, bool, type(None))


def _json_native(value: Any) -> bool:
    """Whether `value` is already what JSON gives back, so the round trip can be skipped:
    nearly every record an adapter returns is, and the round trip was a tenth of the
    harness's cost per step."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is dict:
        return all(type(k) is str and _json_native(v) for k, v in value.items())
    if kind is list:
        return all(_json_native(v) for v in value)
    return False
