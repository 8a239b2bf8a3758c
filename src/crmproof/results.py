"""results.jsonl: the run's only record of truth, one typed event a line, as it happens.

Everything else in a run folder (scorecard, JUnit, Markdown) is rendered from this file
alone, so `crmproof report` can re-render a run long after the vendors are gone. Secrets
known to the run are scrubbed from every line before it touches the disk.

What a killed run keeps, precisely (tests/unit/test_results_durability.py):
- every event is written and flushed to the operating system before `emit` returns, so a
  killed process (SIGKILL, Ctrl-C, a crash of crmproof) loses no event whose `emit` had
  returned, fsync or not: the kernel still holds the bytes and writes them out. Only the
  event being written at the kill can be missing or torn;
- the file is also fsynced at the run's start and end, at every scenario's end, and with
  the first event written `FSYNC_EVERY` seconds or more after the last fsync. So a crash
  of the machine itself (power, kernel) loses at most the events since the last
  scenario's end: the steps of the scenario, or with workers the scenarios, then running;
- a line torn by either is dropped when the run is resumed or read.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from crmproof.errors import ResultsError
from crmproof.events import READS, ResultEvent, RunStarted, StepStatus
from crmproof.redaction import redact_text

__all__ = ["FSYNC_EVERY", "UNDECIDING", "ResultsWriter", "read_deciding_events", "read_events"]

FSYNC_EVERY = 1.0
_DURABLE = frozenset({"run", "resume", "scenario", "end", "interrupted"})
_EVENT: TypeAdapter[ResultEvent] = TypeAdapter(ResultEvent)


class ResultsWriter:
    """Appends events to results.jsonl from any thread; each is flushed before `emit` returns."""

    def __init__(self, path: Path, secrets: Iterable[str] = ()) -> None:
        self.path = path
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        self._lock = threading.Lock()
        self._synced = time.monotonic()
        _drop_torn_tail(path)
        self._file = path.open("a", encoding="utf-8")

    def emit(self, event: ResultEvent) -> ResultEvent:
        """Write one event, scrubbed of the run's secrets; return it as it was written."""
        written = event.model_dump_json(exclude_none=True)
        line = redact_text(written, self.secrets)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
            now = time.monotonic()
            if event.event in _DURABLE or now - self._synced >= FSYNC_EVERY:
                os.fsync(self._file.fileno())
                self._synced = now
        # Read back only what redaction changed: an untouched line says what `event` says.
        return event if line is written else _EVENT.validate_json(line)

    def close(self) -> None:
        with self._lock:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()


def _drop_torn_tail(path: Path) -> None:
    """A killed run may leave half a line; appending after it would corrupt the next event."""
    if not path.exists():
        return
    with path.open("rb+") as data:
        data.seek(0, os.SEEK_END)
        size = data.tell()
        if size == 0:
            return
        data.seek(max(0, size - 1))
        if data.read(1) == b"\n":
            return
        data.seek(0)
        content = data.read()
        data.truncate(content.rfind(b"\n") + 1)


class _StepHead(BaseModel):
    """What a step line must say for a reader that skips the steps that decide nothing."""

    model_config = ConfigDict(extra="ignore")
    event: Literal["step"]
    vendor: str
    scenario: str
    status: StepStatus


_STEP_HEAD = TypeAdapter(_StepHead).validator.validate_json
UNDECIDING = frozenset({"passed", "skipped"})  # step statuses that decide no scenario


def read_deciding_events(path: Path) -> Iterator[ResultEvent]:
    """`read_events` less the passed and skipped steps, for scoring, which ignores them.

    A million steps are nearly all passed, and reading each in full is most of the cost
    of a report: such a line is read only as far as its kind, vendor, scenario and
    status. Any line that does not read so (damaged, of another kind, another status) is
    read in full as `read_events` reads it, so it gives the same event or the same
    error. What this reader does not check is the rest of a passed step: its other
    fields are checked by `read_events` (resume, merge, `crmproof verify`).
    """
    return _read(path, skip_passed=True)


def read_events(path: Path) -> Iterator[ResultEvent]:
    """Every complete event, as a model; a torn last line (the run was killed) is ignored.

    A damaged line anywhere else, or a file of another format, is a `ResultsError` that
    names the line: a report must never be drawn from a file it half understood.

    Lines are read as bytes and handed to pydantic-core's own JSON parser in one call each
    (a million steps are a million lines, so nothing else is done per line on the way):
    a blank line is looked at only when it fails to parse.
    """
    return _read(path, skip_passed=False)


def _read(path: Path, skip_passed: bool) -> Iterator[ResultEvent]:
    validate = _EVENT.validator.validate_json
    head = _STEP_HEAD
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.endswith(b"\n"):
                return  # torn by a kill: the event was never complete
            if skip_passed and b'"event":"step"' in line:
                try:
                    if head(line).status in UNDECIDING:
                        continue
                except ValidationError:
                    pass  # read in full below, which names the problem
            try:
                event = validate(line)
            except ValidationError as exc:
                if not line.strip():
                    continue
                text = line.decode("utf-8", "replace")
                raise ResultsError(f"{path}:{number}: {_problem(exc, text)}") from None
            if type(event) is RunStarted and event.format not in READS:
                readable = " and ".join(str(f) for f in sorted(READS))
                raise ResultsError(
                    f"{path}:{number}: results format {event.format}; this crmproof reads "
                    f"formats {readable} (re-run, or report it with the crmproof that wrote "
                    "it)"
                )
            yield event


def _problem(exc: ValidationError, line: str) -> str:
    first = exc.errors()[0]
    if first["type"] == "json_invalid":
        return "not a complete JSON event (the file is damaged)"
    where = ".".join(str(p) for p in first["loc"])
    if first["type"] == "union_tag_invalid":
        return f"unknown event kind: {first['msg']}"
    if first["type"] == "missing" and where.endswith("format"):
        return "written by an older crmproof (no format stamp)"
    return f"not a crmproof event: {where}: {first['msg']}"
