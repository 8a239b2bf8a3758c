"""The run's worker budget: how many scenarios run at once over all vendors, and who is next.

A freed slot goes to the worker that has waited longest, never back to the worker that
freed it. With `threading.Semaphore` it went back: a vendor's worker releases its slot at
the end of a scenario and asks again at once, before a waiting thread has even woken up.
So a worker of a vendor that loops from one scenario to the next kept its slot for as long
as that vendor had scenarios, and another vendor's second worker waited for a whole vendor
to end. In the reference evaluation (three slots, four workers) DjangoCRM's second browser
ran its first scenario 86 s into a 186 s run, when BottleCRM had run out of scenarios.
"""

from __future__ import annotations

import threading
from collections import deque
from types import TracebackType

__all__ = ["Slots"]


class Slots:
    """At most `size` holders at once, served first come, first served."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a worker budget needs at least one slot, not {size}")
        self.size = size
        self._lock = threading.Lock()
        self._free = size
        self._queue: deque[threading.Event] = deque()

    @property
    def waiting(self) -> int:
        """Workers waiting for a slot."""
        with self._lock:
            return len(self._queue)

    def acquire(self) -> None:
        with self._lock:
            if self._free and not self._queue:
                self._free -= 1
                return
            turn = threading.Event()
            self._queue.append(turn)
        turn.wait()  # release() hands its slot straight over: nobody can take it between

    def release(self) -> None:
        with self._lock:
            if self._queue:
                self._queue.popleft().set()
            elif self._free < self.size:
                self._free += 1
            else:
                raise RuntimeError("a slot was released that was never taken")

    def __enter__(self) -> Slots:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
