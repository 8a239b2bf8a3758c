"""The pytest plugin's collection: item names, tags as markers, -k, and no effect without
--crmproof (collection needs no vendor)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def collect(*args: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode in (0, 5), proc.stdout + proc.stderr  # 5: everything deselected
    return [line for line in proc.stdout.splitlines() if "::" in line]


def test_every_scenario_and_vendor_is_an_item_named_after_its_yaml() -> None:
    items = collect("--crmproof", "examples/starter", "--crmproof-vendor", "tryton")
    assert items == [
        "scenarios/account.yaml::STARTER-ACCOUNT[tryton]",
        "scenarios/invoice.yaml::STARTER-ORDER-TO-INVOICE[tryton]",
        "scenarios/opportunity.yaml::STARTER-OPPORTUNITY-WON[tryton]",
        "scenarios/privacy.yaml::STARTER-REP-PRIVACY[tryton]",
        "scenarios/wrong.yaml::STARTER-WRONG[tryton]",
    ]
    every = collect("--crmproof", "examples/starter")
    assert len(every) == 15 and "scenarios/wrong.yaml::STARTER-WRONG[djangocrm]" in every


def test_tags_are_markers_and_k_selects_under_strict_markers() -> None:
    base = ("--crmproof", "examples/starter", "--strict-markers")
    assert collect(*base, "-m", "permissions and not demo-failure") == [
        f"scenarios/privacy.yaml::STARTER-REP-PRIVACY[{v}]"
        for v in ("tryton", "bottlecrm", "djangocrm")
    ]
    assert collect(*base, "-m", "demo-failure", "-k", "tryton") == [
        "scenarios/wrong.yaml::STARTER-WRONG[tryton]"
    ]


def test_without_the_option_the_plugin_changes_nothing() -> None:
    plain = collect("tests/unit/test_expect.py")
    assert plain and plain == collect("-p", "no:crmproof", "tests/unit/test_expect.py")
    assert not any("STARTER" in line for line in plain)
