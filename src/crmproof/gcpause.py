"""Steering Python's cyclic garbage collector around the long-lived objects crmproof makes.

Loading ten thousand scenarios allocates millions of long-lived objects and no garbage
cycles; each allocation burst triggers a full collection that walks everything loaded so
far, which made loading quadratic in practice (pydantic's model building took five times
as long with the collector on). Reference counting still frees everything at once.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic collection inside the block; the collector's previous state after it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def frozen_heap() -> Iterator[None]:
    """What is alive when a run starts (the suite, every module, the adapters) lives until
    it ends: kept out of the collector's generations, so that each full collection during
    the run walks only what the run made since (on a large suite, it walked every loaded
    scenario's objects again and again).
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
