"""Shared fixtures. Vendor sandboxes are real servers, started once per test session.

A sandbox that cannot start fails the tests that need it, loudly: never a skip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from crmproof import discovery, sandbox

WORKSPACE = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def workspace() -> Path:
    return WORKSPACE


VENDORS = ("tryton", "bottlecrm", "djangocrm")


@pytest.fixture(scope="session")
def vendor_sandbox() -> Iterator[Callable[[str], dict[str, Any]]]:
    """`vendor_sandbox("tryton")` waits for that sandbox and returns its status.

    The first call starts all three sandboxes at once, in parallel: on a fresh machine
    their provisioning (virtual environments, migrations) is most of CI's time. Sandboxes
    this session started are stopped at its end; ones already running are left alone.
    """
    recipes = {v: discovery.load(v, WORKSPACE / "adapters").sandbox for v in VENDORS}
    running = {v: sandbox.status(sandbox.SandboxHome(v))["running"] for v in VENDORS}
    pool = ThreadPoolExecutor(max_workers=len(VENDORS))
    futures: dict[str, Future[dict[str, Any]]] = {}

    def get(vendor: str) -> dict[str, Any]:
        if not futures:
            for name, recipe in recipes.items():
                assert recipe is not None, f"{name} has no sandbox"
                futures[name] = pool.submit(sandbox.up, recipe, lambda m: None)
        try:
            return futures[vendor].result()
        except sandbox.SandboxError as exc:
            pytest.fail(f"{vendor} sandbox could not start: {exc}", pytrace=False)

    yield get
    pool.shutdown(wait=True)
    for name, future in futures.items():
        if not running[name] and future.exception() is None:
            sandbox.down(recipes[name])  # type: ignore[arg-type]
