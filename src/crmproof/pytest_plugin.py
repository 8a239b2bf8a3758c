"""The evaluation as pytest items: `pytest --crmproof [WORKSPACE] [--crmproof-vendor NAME]`.

Teams that already run pytest in CI get `-k`, `-m`, `--junitxml`, xdist and their own
plugins for free (see crmproof.pytest_items). Installed as a `pytest11` entry point, this
module is loaded by every pytest run in an environment with crmproof: without
`--crmproof` it only adds its options, and imports nothing of crmproof, so no other
project's test suite (crmproof's own included) can be changed or broken by it.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("crmproof", "crmproof: CRM vendor scenarios as test items")
    group.addoption(
        "--crmproof",
        nargs="?",
        const=".",
        default=None,
        metavar="WORKSPACE",
        help="Collect the workspace's scenarios on every vendor (default workspace: .).",
    )
    group.addoption(
        "--crmproof-vendor",
        action="append",
        default=[],
        metavar="NAME",
        help="Only this vendor (repeatable).",
    )
    group.addoption(
        "--crmproof-reports",
        default=None,
        metavar="DIR",
        help="Folder for run folders (default: WORKSPACE/reports).",
    )
    group.addoption(
        "--crmproof-evidence",
        default="failures",
        choices=["none", "failures", "all"],
        help="Which scenarios keep their evidence (as `crmproof run --evidence`).",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("crmproof") is None:
        return
    from crmproof.pytest_items import CrmproofSession

    config.pluginmanager.register(CrmproofSession(config), "crmproof-session")
