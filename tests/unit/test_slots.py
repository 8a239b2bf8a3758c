"""The run's worker budget hands a freed slot to the worker that waited longest."""

from __future__ import annotations

import threading
import time

import pytest

from crmproof.slots import Slots


def _until(condition: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_a_freed_slot_goes_to_the_waiting_worker_not_back_to_the_one_that_freed_it() -> None:
    """A vendor's worker frees its slot at the end of a scenario and asks again at once.
    threading.Semaphore gave the slot back to it, and another vendor's worker waited for
    that whole vendor to end."""
    slots = Slots(1)
    order: list[str] = []
    slots.acquire()  # worker A runs a scenario

    def worker_b() -> None:
        with slots:
            order.append("B")

    waiting = threading.Thread(target=worker_b)
    waiting.start()
    _until(lambda: slots.waiting == 1)
    slots.release()  # A's scenario ends ...
    slots.acquire()  # ... and A asks for its next one at once
    order.append("A")
    slots.release()
    waiting.join(5)
    assert order == ["B", "A"]


def test_waiting_workers_are_served_in_the_order_they_came() -> None:
    slots = Slots(1)
    order: list[int] = []
    slots.acquire()

    def worker(number: int) -> None:
        with slots:
            order.append(number)

    threads = []
    for number in range(5):
        thread = threading.Thread(target=worker, args=(number,))
        thread.start()
        threads.append(thread)
        _until(lambda n=number: slots.waiting == n + 1)
    slots.release()
    for thread in threads:
        thread.join(5)
    assert order == [0, 1, 2, 3, 4]


def test_never_more_holders_than_slots() -> None:
    slots = Slots(3)
    lock = threading.Lock()
    holding = most = 0

    def worker() -> None:
        nonlocal holding, most
        for _ in range(200):
            with slots:
                with lock:
                    holding += 1
                    most = max(most, holding)
                time.sleep(0)
                with lock:
                    holding -= 1

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert most == 3 and holding == 0 and slots.waiting == 0


def test_a_slot_released_twice_is_a_bug_said_at_once() -> None:
    slots = Slots(1)
    with slots:
        pass
    with pytest.raises(RuntimeError, match="never taken"):
        slots.release()
    with pytest.raises(ValueError, match="at least one slot"):
        Slots(0)
