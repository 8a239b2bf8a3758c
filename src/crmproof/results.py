"""results.jsonl: the run's only record of truth, one event a line, flushed as it happens.

Everything else in a run folder (scorecard, JUnit, Markdown) is rendered from this file
alone, so a run killed at any moment keeps every finished step, and `crmproof report`
can re-render a run long after the vendors are gone. Secrets known to the run are
replaced by `***` in every line before it touches the disk.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

REDACTED = "***"


class ResultsWriter:
    """Appends events to results.jsonl from any thread; each line is on disk on return."""

    def __init__(self, path: Path, secrets: Iterable[str] = ()) -> None:
        self.path = path
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        self._lock = threading.Lock()
        _drop_torn_tail(path)
        self._file = path.open("a", encoding="utf-8")

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        record = {"event": event, "at": round(time.time(), 3), **fields}
        line = self.redact(json.dumps(record, default=str, ensure_ascii=False))
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        return json.loads(line)

    def close(self) -> None:
        with self._lock:
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


def read_events(path: Path) -> Iterator[dict[str, Any]]:
    """Every complete event; a torn last line (the run was killed mid-write) is ignored."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.endswith("\n"):
                return
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue
