"""An adapter in another process, spoken to in JSON lines over its stdin and stdout.

`ExternalAdapter` looks to the runner exactly like an in-process adapter, so a vendor can
write its adapter in any language. It also isolates the run from it: an adapter that
crashes, hangs past the step timeout or prints garbage turns the current step into an
error, is stopped (by its PID), and is started afresh for the next scenario.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from crmproof.adapter import Adapter
from crmproof.errors import AdapterLoadError
from crmproof.protocol import (
    MESSAGES,
    OLDEST_PROTOCOL_VERSION,
    PROTOCOL_VERSION,
    Ack,
    Begin,
    Capabilities,
    Close,
    End,
    Ended,
    Error,
    Evidence,
    Hello,
    Message,
    Open,
    Opened,
    Operation,
    Outcome,
    kind_of,
    to_line,
)

MAX_LINE = 10_000_000


class ProtocolError(AdapterLoadError):
    """The adapter process broke the protocol: died, hung, or sent something invalid."""


def parse_message(line: str) -> Message:
    """One line as a protocol message, checked against its schema; raises ProtocolError."""
    if len(line) > MAX_LINE:
        raise ProtocolError(f"a line of {len(line)} characters is over the limit")
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"not JSON: {line[:120]!r} ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ProtocolError(
            f"a message is a JSON object, not {type(data).__name__}: {line[:120]!r}"
        )
    kind = data.get("kind")
    model = MESSAGES.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise ProtocolError(f"unknown message kind {kind!r}; expected one of {sorted(MESSAGES)}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ProtocolError(f"invalid {kind} message: {where}: {first['msg']}") from None


class ExternalAdapter(Adapter):
    """A proxy for an adapter program; see the module docstring."""

    name = "external"
    channel = "process"

    def __init__(
        self,
        argv: Sequence[str],
        cwd: Path | None = None,
        timeout: float = 60.0,
        start_timeout: float = 30.0,
    ) -> None:
        super().__init__()
        self.argv = list(argv)
        self.cwd = cwd
        self.timeout = timeout
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._settings: Mapping[str, Any] | None = None
        self._capabilities: Capabilities | None = None
        self._hello = self._start()
        # An external adapter learns who it is from its program's hello, not its class.
        self.name = self._hello.name  # type: ignore[misc]
        self.version = self._hello.version  # type: ignore[misc]
        self.channel = self._hello.channel  # type: ignore[misc,assignment]

    # -- the process -----------------------------------------------------------------

    def _start(self) -> Hello:
        try:
            self._proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=None,  # the adapter's own diagnostics go to our stderr
                text=True,
                bufsize=1,
                start_new_session=True,
            )
        except OSError as exc:
            raise ProtocolError(f"cannot start {self.argv[0]}: {exc.strerror}") from None
        self._lines = queue.Queue()
        threading.Thread(target=self._read, args=(self._proc, self._lines), daemon=True).start()
        hello = self._receive(self.start_timeout, "hello")
        if not isinstance(hello, Hello):
            self._stop()
            raise ProtocolError(f"the adapter's first message must be hello, not {kind_of(hello)}")
        if not OLDEST_PROTOCOL_VERSION <= hello.protocol <= PROTOCOL_VERSION:
            self._stop()
            raise ProtocolError(
                f"the adapter speaks protocol version {hello.protocol}, and this crmproof "
                f"speaks {OLDEST_PROTOCOL_VERSION} to {PROTOCOL_VERSION}: upgrade the one "
                "that is behind"
            )
        return hello

    @staticmethod
    def _read(proc: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)  # end of output: the process has gone

    def _receive(self, timeout: float, waiting_for: str) -> Message:
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                self._stop()
                raise ProtocolError(
                    f"no {waiting_for} within {timeout:g}s: the adapter hangs; it was stopped"
                ) from None
            if line is None:
                code = self._proc.wait() if self._proc else None
                self._proc = None
                raise ProtocolError(f"the adapter exited (status {code}) before its {waiting_for}")
            if line.strip():
                try:
                    return parse_message(line)
                except ProtocolError:
                    self._stop()
                    raise

    def _request(self, message: Message, expect: type[Message], timeout: float) -> Message:
        if self._proc is None or self._proc.poll() is not None:
            raise ProtocolError("the adapter is not running")
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(to_line(message, self._hello.protocol))
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self._stop()
            raise ProtocolError("the adapter closed its input: it has crashed") from None
        reply = self._receive(timeout, expect.model_fields["kind"].default)
        if isinstance(reply, Error):
            raise ProtocolError(f"the adapter reported: {reply.message}")
        if not isinstance(reply, expect):
            self._stop()
            raise ProtocolError(
                f"expected {expect.model_fields['kind'].default}, got {kind_of(reply)}"
            )
        return reply

    def _stop(self) -> None:
        """Stop the adapter process (its own process group) by its PID."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            proc.wait(timeout=5)

    # -- the Adapter interface ------------------------------------------------------------

    def capabilities(self) -> Capabilities:
        return self._capabilities or self._hello.capabilities

    def hello(self) -> Hello:
        return self._hello

    def open(self, settings: Mapping[str, Any]) -> str | None:
        self._settings = settings
        message = Open(settings=dict(settings), run_id=self.run_id, evidence_dir=self.evidence_dir)
        reply = self._request(message, Opened, self.start_timeout + self.timeout)
        assert isinstance(reply, Opened)
        self._capabilities = reply.capabilities
        return reply.vendor_version

    def _restart(self) -> None:
        assert self._settings is not None
        self._hello = self._start()
        self.open(self._settings)

    def begin(self, scenario: str) -> None:
        if self._proc is None and self._settings is not None:  # it crashed: start afresh
            self._restart()
        self._request(Begin(scenario=scenario, marker=self.marker), Ack, self.timeout)

    def perform(self, op: Operation) -> Outcome:
        try:
            if self._proc is None and self._settings is not None:
                self._restart()  # it crashed or hung earlier: cleanup must still happen
            reply = self._request(op, Outcome, self.timeout)
        except ProtocolError as exc:
            return Outcome(status="error", message=f"adapter process: {exc}")
        assert isinstance(reply, Outcome)
        return reply

    def end(self, scenario: str, status: str) -> list[Evidence]:
        if self._proc is None:
            return []
        reply = self._request(End(scenario=scenario, status=status), Ended, self.timeout)
        assert isinstance(reply, Ended)
        return reply.evidence

    def close(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(ProtocolError):
                self._request(Close(), Ack, 10.0)
        self._stop()
