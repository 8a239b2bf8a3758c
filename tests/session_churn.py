"""Other clients of one Tryton user logging in and out without pause, as two runs at
once (or `pytest --crmproof -n 2`) do: what makes Tryton's session check collide."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def sessions_churning(
    client: type[Any], url: str, database: str, user: str, password: str
) -> Iterator[None]:
    """`client` is the tryton adapter's TrytonClient (tests import no adapter module)."""
    stop = threading.Event()

    def log_in_and_out() -> None:
        while not stop.is_set():
            other = client(url, database)
            other.login(user, password)
            other.close()

    threads = [threading.Thread(target=log_in_and_out) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join()
