"""What a killed run keeps of results.jsonl, as crmproof.results promises it, tested exactly.

- SIGKILL: every event whose `emit` had returned is in the file, whole and in order, even
  with fsync switched off, because `emit` hands each line to the kernel before returning;
  at most the one event being emitted at the kill may be missing or torn, and a torn line
  is dropped on reading.
- A crash of the machine itself loses only what was not fsynced: the file is fsynced at
  the run's start and end, at every scenario's end, and with the first event written
  `FSYNC_EVERY` seconds or more after the last fsync.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crmproof import results
from crmproof.events import FORMAT, RunEnded, RunStarted, ScenarioDone, StepDone, SuiteSnapshot
from crmproof.results import FSYNC_EVERY, ResultsWriter, read_events

CHILD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    os.fsync = lambda fd: None  # no fsync at all: what survives SIGKILL is what was flushed
    from crmproof.events import StepDone
    from crmproof.results import ResultsWriter
    writer = ResultsWriter(Path(sys.argv[1]))
    out = os.fdopen(1, "w", buffering=1)
    i = 0
    while True:
        writer.emit(StepDone(vendor="v", scenario="S", index=i, line=1, step="x" * (i % 9000),
                             status="passed"))
        out.write(f"{i}\\n")  # acknowledged: emit has returned
        i += 1
    """
)


@pytest.mark.parametrize("kill_after", [1, 37, 400])
def test_sigkill_loses_no_event_whose_emit_returned(tmp_path: Path, kill_after: int) -> None:
    path = tmp_path / "results.jsonl"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    acked = -1
    while acked + 1 < kill_after:
        line = child.stdout.readline()
        assert line, "the writer died on its own"
        acked = int(line)
    os.kill(child.pid, signal.SIGKILL)
    acked = max([acked, *(int(n) for n in child.stdout.read().split())])
    child.wait()
    assert child.returncode == -signal.SIGKILL

    kept = [e.index for e in read_events(path) if isinstance(e, StepDone)]
    assert kept[: acked + 1] == list(range(acked + 1))  # every acknowledged event, in order
    assert len(kept) <= acked + 2  # plus at most the one being emitted when killed
    tail = path.read_bytes()
    if not tail.endswith(b"\n"):  # torn mid-line: dropped on reading and before appending
        ResultsWriter(path).close()
        assert path.read_bytes().endswith(b"\n")
        assert [e.index for e in read_events(path) if isinstance(e, StepDone)] == kept


def _run_started() -> RunStarted:
    return RunStarted(
        format=FORMAT,
        run_id="r",
        evaluation="e",
        suite_sha256="0" * 64,
        vendors={"v": "a"},
        plan=[("v", "S")],
        suite=SuiteSnapshot(),
    )


def test_fsync_at_boundaries_and_on_the_timer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [100.0]
    synced: list[int] = []  # lines in the file at each fsync
    path = tmp_path / "results.jsonl"
    monkeypatch.setattr(results.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(
        results.os, "fsync", lambda fd: synced.append(path.read_bytes().count(b"\n"))
    )

    def step(i: int) -> StepDone:
        return StepDone(vendor="v", scenario="S", index=i, line=1, step="s", status="passed")

    writer = ResultsWriter(path)
    writer.emit(_run_started())
    assert synced == [1]  # the run's start
    writer.emit(step(0))
    clock[0] += FSYNC_EVERY / 2
    writer.emit(step(1))
    assert synced == [1]  # steps within the interval: flushed, not fsynced
    clock[0] += FSYNC_EVERY / 2
    writer.emit(step(2))
    assert synced == [1, 4]  # the first event FSYNC_EVERY after the last fsync
    writer.emit(step(3))
    writer.emit(ScenarioDone(vendor="v", scenario="S", status="passed"))
    assert synced == [1, 4, 6]  # a scenario's end
    writer.emit(RunEnded(run_id="r"))
    assert synced == [1, 4, 6, 7]
    writer.close()
    assert synced[-1] == 7
