"""`crmproof adapter serve`: any in-process adapter, spoken to over stdin/stdout.

The same adapter answering over the protocol must give the same verdicts as in process,
which is how the protocol itself is tested. The adapter's own prints would corrupt the
stream, so while serving, Python's stdout is pointed at stderr and the protocol writes to
the original stdout alone.
"""

from __future__ import annotations

import os
import sys
from typing import IO

from crmproof.adapter import Adapter
from crmproof.external import ProtocolError, parse_message
from crmproof.protocol import (
    Ack,
    Begin,
    Close,
    End,
    Ended,
    Error,
    Message,
    Open,
    Opened,
    Operation,
    kind_of,
)


def handle(adapter: Adapter, message: Message) -> Message:
    """One request to its reply."""
    if isinstance(message, Open):
        adapter.run_id = message.run_id
        adapter.evidence_dir = message.evidence_dir
        adapter.evidence_policy = str(message.settings.get("evidence") or "none")
        version = adapter.open(message.settings)
        return Opened(vendor_version=version, capabilities=adapter.declared())
    if isinstance(message, Begin):
        adapter.marker = message.marker  # as the engine sets it in process
        adapter.begin(message.scenario)
        return Ack()
    if isinstance(message, Operation):
        return adapter.perform(message)
    if isinstance(message, End):
        return Ended(evidence=adapter.end(message.scenario, message.status))
    if isinstance(message, Close):
        adapter.close()
        return Ack()
    return Error(message=f"'{kind_of(message)}' is not a request an adapter answers")


def serve(adapter: Adapter, stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> int:
    """Speak the protocol until `close` or the end of input; returns an exit status."""
    out = stdout or os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    source = stdin or sys.stdin
    sys.stdout = sys.stderr  # nothing but protocol messages on the real stdout

    def send(message: Message) -> None:
        out.write(message.model_dump_json() + "\n")
        out.flush()

    send(adapter.hello())
    for line in source:
        if not line.strip():
            continue
        try:
            message = parse_message(line)
        except ProtocolError as exc:
            send(Error(message=str(exc)))
            continue
        try:
            reply = handle(adapter, message)
        except Exception as exc:  # report, keep serving: the runner decides what it means
            reply = Error(message=f"{type(exc).__name__}: {exc}")
        send(reply)
        if isinstance(message, Close):
            return 0
    adapter.close()
    return 0
