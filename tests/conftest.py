"""Shared fixtures. Vendor sandboxes are real servers, started once per test session.

A sandbox that cannot start fails the tests that need it, loudly: never a skip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from crmproof import discovery, sandbox

WORKSPACE = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def workspace() -> Path:
    return WORKSPACE


@pytest.fixture(scope="session")
def vendor_sandbox() -> Iterator[Callable[[str], dict[str, Any]]]:
    """`vendor_sandbox("tryton")` starts that sandbox (once) and returns its status.

    Sandboxes this session started are stopped at its end; ones already running are left.
    """
    started: list[sandbox.VendorSandbox] = []
    cache: dict[str, dict[str, Any]] = {}

    def get(vendor: str) -> dict[str, Any]:
        if vendor not in cache:
            recipe = discovery.load(vendor, WORKSPACE / "adapters").sandbox
            assert recipe is not None, f"{vendor} has no sandbox"
            was_running = sandbox.status(sandbox.SandboxHome(vendor))["running"]
            try:
                cache[vendor] = sandbox.up(recipe, log=lambda m: None)
            except sandbox.SandboxError as exc:
                pytest.fail(f"{vendor} sandbox could not start: {exc}", pytrace=False)
            if not was_running:
                started.append(recipe)
        return cache[vendor]

    yield get
    for recipe in started:
        sandbox.down(recipe)


def vendor_settings(vendor: str) -> dict[str, str]:
    """The credentials the sandbox recorded, as the adapter's settings would resolve them."""
    return sandbox.read_secrets()
