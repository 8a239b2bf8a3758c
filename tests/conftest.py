"""Shared fixtures. Vendor sandboxes are real servers, started once per test session.

A sandbox that cannot start fails the tests that need it, loudly: never a skip.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from crmproof import discovery, sandbox
from tests.starter_run import StarterRun, run_starter

WORKSPACE = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def workspace() -> Path:
    return WORKSPACE


VENDORS = ("tryton", "bottlecrm", "djangocrm")


class Sandboxes:
    """The three vendor sandboxes, started together in the background.

    On a fresh machine their provisioning (virtual environments, migrations) is most of
    CI's time, so it starts as soon as collection shows a test that needs one, and the
    unit tests (collected first) run meanwhile. Sandboxes this session started are
    stopped at its end; ones already running are left alone.
    """

    def __init__(self) -> None:
        self.futures: dict[str, Future[dict[str, Any]]] = {}
        self.pool: ThreadPoolExecutor | None = None
        self.recipes: dict[str, Any] = {}
        self.running: dict[str, bool] = {}

    def start(self) -> None:
        if self.futures:
            return
        self.recipes = {v: discovery.load(v, WORKSPACE / "adapters").sandbox for v in VENDORS}
        self.running = {v: sandbox.status(sandbox.SandboxHome(v))["running"] for v in VENDORS}
        self.pool = ThreadPoolExecutor(max_workers=len(VENDORS), thread_name_prefix="sandbox")
        for name, recipe in self.recipes.items():
            assert recipe is not None, f"{name} has no sandbox"
            self.futures[name] = self.pool.submit(sandbox.up, recipe, lambda m: None)

    def get(self, vendor: str) -> dict[str, Any]:
        """`vendor`'s status once it is up; the test fails (never skips) if it cannot start."""
        self.start()
        try:
            return self.futures[vendor].result()
        except sandbox.SandboxError as exc:
            pytest.fail(f"{vendor} sandbox could not start: {exc}", pytrace=False)

    def stop(self) -> None:
        if self.pool is None:
            return
        self.pool.shutdown(wait=True)
        for name, future in self.futures.items():
            if not self.running[name] and future.exception() is None:
                sandbox.down(self.recipes[name])


SANDBOXES = Sandboxes()


def pytest_collection_finish(session: pytest.Session) -> None:
    """After -k and -m have deselected: start only for a test that will run."""
    wanted = any("vendor_sandbox" in getattr(item, "fixturenames", ()) for item in session.items)
    if wanted and not session.config.option.collectonly:
        SANDBOXES.start()


def pytest_sessionfinish(session: pytest.Session) -> None:
    SANDBOXES.stop()


@pytest.fixture(scope="session")
def vendor_sandbox() -> Any:
    """`vendor_sandbox("tryton")` waits for that sandbox and returns its status."""
    return SANDBOXES.get


@pytest.fixture(scope="session")
def starter_run(vendor_sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> StarterRun:
    """The starter suite's run on Tryton, which several modules read and none changes."""
    vendor_sandbox("tryton")
    return run_starter(tmp_path_factory.mktemp("starter"))
