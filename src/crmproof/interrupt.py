"""Ctrl-C during a run: stop at the next step boundary, clean up, leave a resumable run.

SIGTERM, which CI sends when a job is cancelled and `kill` sends by default, is taken the
same way while the workers run (a background job ignores SIGINT). The signal reaches the
main thread only; the vendor workers learn of it through a
`threading.Event`. A worker that emits a step event after the stop was asked raises
`Interrupted` out of the scenario, deletes what that scenario created and stops. The
scenario gets no `scenario` event, so `--resume` runs it again from its first step; the
run gets an `interrupted` event instead of `end`, so it stays resumable.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from crmproof.adapter import Adapter
from crmproof.execute import ScenarioRun


class Interrupted(Exception):
    """The run was asked to stop (Ctrl-C) while this vendor was inside a scenario."""


def abandon_scenario(
    scenario_run: ScenarioRun, adapter: Adapter, scenario_id: str, folder: Path
) -> None:
    """Delete what the stopped scenario created; drop its evidence (it will run again).

    Evidence that no event references would never be scrubbed by the runner, so it is
    removed rather than left in the run folder.
    """
    scenario_run.cleanup(scenario_id)
    with contextlib.suppress(Exception):
        for item in adapter.end(scenario_id, "interrupted"):
            (folder / item.path).unlink(missing_ok=True)


def wait_for(threads: list[threading.Thread]) -> None:
    """Wait until every thread has ended, in a way Ctrl-C can interrupt without harm.

    Python 3.11's `Thread.join`, interrupted by KeyboardInterrupt, can mark a running
    thread as stopped; the next join then returns at once and the process would exit
    under a worker still cleaning up. Polling `is_alive` has no such state.
    """
    while any(thread.is_alive() for thread in threads):
        time.sleep(0.05)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises KeyboardInterrupt in the main thread, like Ctrl-C.

    Outside the main thread (a run started by a test's thread) Python cannot take
    signals, and nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
