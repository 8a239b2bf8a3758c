"""The conformance kit's line to an adapter, with every message checked against the protocol.

An external adapter's lines are already parsed and validated by `ExternalAdapter`; an
in-process adapter's messages are Python objects that never cross a wire, so here each one
is serialised and parsed back (`parse_message(model.model_dump_json())`), and the kit works
with what came back: exactly what a runner on the other end of the protocol would see.
A value that is not plain JSON (a Decimal, a date) is reported too: in process it compares
one way, over the protocol another, and verdicts must not depend on how an adapter runs.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError

from crmproof.adapter import Adapter
from crmproof.conformance.data import non_json
from crmproof.external import ExternalAdapter, ProtocolError, parse_message
from crmproof.protocol import (
    Capabilities,
    Ended,
    Hello,
    Message,
    Opened,
    Operation,
    Outcome,
    kind_of,
)

M = TypeVar("M", bound=Message)


def roundtrip(message: M) -> M:
    """`message` as it arrives after a trip over the protocol; raises ProtocolError."""
    try:
        line = message.model_dump_json()
    except (PydanticSerializationError, ValueError, TypeError) as exc:
        raise ProtocolError(f"{kind_of(message)} cannot be written as JSON: {exc}") from None
    parsed = parse_message(line)
    if not isinstance(parsed, type(message)):
        raise ProtocolError(f"a {kind_of(message)} message read back as {kind_of(parsed)}")
    return parsed


def _crash(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


class Link:
    """Hello, open, begin, perform, end, close; protocol problems are kept in `notes`."""

    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter
        self.external = isinstance(adapter, ExternalAdapter)
        # Protocol problems seen since the kit last looked (drained by `take_notes`).
        self.notes: list[str] = []

    def take_notes(self) -> list[str]:
        notes, self.notes = self.notes, []
        return notes

    def _check(self, message: M) -> M:
        if self.external:
            return message  # ExternalAdapter validated the line it came from
        parsed = roundtrip(message)
        odd = non_json(message.model_dump())
        if odd:
            self.notes.append(
                f"{kind_of(message)} holds values that are not plain JSON: {', '.join(odd[:5])}; "
                "over the protocol they arrive as strings, so verdicts would differ"
            )
        return parsed

    def hello(self) -> Hello:
        """The adapter's hello, validated; raises ProtocolError."""
        try:
            hello = self.adapter.hello()
        except ProtocolError:
            raise
        except Exception as exc:
            raise ProtocolError(f"hello raised {_crash(exc)}") from None
        if not isinstance(hello, Hello):
            raise ProtocolError(f"hello() returned {type(hello).__name__}, not a Hello message")
        return self._check(hello)

    def open(self, settings: Mapping[str, Any]) -> tuple[str | None, Capabilities]:
        """Open the vendor: its version, and the capabilities as they stand after open.

        Settings can change a claim (the actors configured, say), so the kit checks what
        the adapter claims once open, as the runner does.
        """
        try:
            version = self.adapter.open(settings)
            capabilities = self.adapter.declared()
        except ProtocolError:
            raise
        except Exception as exc:
            raise ProtocolError(f"open raised {_crash(exc)}") from None
        if self.external:  # the adapter's `opened` line was validated as it came in
            return version, capabilities
        try:
            opened = Opened(vendor_version=version, capabilities=capabilities)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ProtocolError(f"invalid opened message: {where}: {first['msg']}") from None
        opened = self._check(opened)
        return opened.vendor_version, opened.capabilities or capabilities

    def begin(self, scenario: str) -> None:
        try:
            self.adapter.begin(scenario)
        except ProtocolError:
            raise
        except Exception as exc:
            raise ProtocolError(f"begin raised {_crash(exc)}") from None

    def perform(self, op: Operation) -> Outcome:
        """One operation; never raises: a broken answer is an `error` outcome."""
        try:
            outcome = self.adapter.perform(op)
        except Exception as exc:
            return Outcome(status="error", message=f"perform raised {_crash(exc)}")
        if not isinstance(outcome, Outcome):
            return Outcome(
                status="error", message=f"perform returned {type(outcome).__name__}, not Outcome"
            )
        try:
            return self._check(outcome)
        except ProtocolError as exc:
            # Keep what it created, so the kit can still clean up.
            return Outcome(
                status="error", message=f"invalid outcome: {exc}", created=outcome.created
            )

    def end(self, scenario: str, status: str) -> None:
        try:
            evidence = self.adapter.end(scenario, status)
            self._check(Ended(evidence=list(evidence)))
        except ProtocolError:
            raise
        except ValidationError as exc:
            raise ProtocolError(
                f"end returned invalid evidence: {exc.errors()[0]['msg']}"
            ) from None
        except Exception as exc:
            raise ProtocolError(f"end raised {_crash(exc)}") from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.adapter.close()
