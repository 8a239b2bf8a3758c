"""The whole chain on real vendors: YAML -> runner -> adapter -> results -> scorecard.

Runs the starter suite through the real `crmproof` command, as a user would, then reads
what it wrote and asks Tryton itself whether anything the run created is left.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crmproof import discovery
from crmproof.credentials import resolve_settings
from tests.cli import crmproof
from tests.raw_events import read_events

ROOT = Path(__file__).resolve().parents[2]
STARTER = ROOT / "examples" / "starter"


@pytest.fixture(scope="module")
def starter_run(
    vendor_sandbox: Callable[[str], dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    vendor_sandbox("tryton")
    vendor_sandbox("bottlecrm")
    reports = tmp_path_factory.mktemp("reports")
    proc = crmproof(
        *("run", "-w", str(STARTER), "--vendor", "tryton", "--vendor", "bottlecrm"),
        *("--reports", str(reports)),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return (reports / "latest").resolve(), proc.stdout


def test_wrong_expectation_fails_and_the_rest_pass(starter_run: tuple[Path, str]) -> None:
    folder, _ = starter_run
    events = list(read_events(folder / "results.jsonl"))
    status = {(e["vendor"], e["scenario"]): e["status"] for e in events if e["event"] == "scenario"}
    messages = {
        k: e.get("message") for e in events if e["event"] == "scenario" for k in [e["scenario"]]
    }
    assert status == {
        ("tryton", "STARTER-ACCOUNT"): "passed",
        ("tryton", "STARTER-OPPORTUNITY-WON"): "passed",
        ("tryton", "STARTER-ORDER-TO-INVOICE"): "passed",
        ("tryton", "STARTER-REP-PRIVACY"): "failed",  # every Tryton sales user sees all leads
        ("tryton", "STARTER-WRONG"): "failed",
        ("bottlecrm", "STARTER-ACCOUNT"): "passed",
        ("bottlecrm", "STARTER-OPPORTUNITY-WON"): "passed",
        ("bottlecrm", "STARTER-ORDER-TO-INVOICE"): "passed",  # its estimates are its orders
        ("bottlecrm", "STARTER-REP-PRIVACY"): "passed",
        ("bottlecrm", "STARTER-WRONG"): "failed",
    }, messages
    wrong = [
        e
        for e in events
        if e["event"] == "step" and e["status"] == "failed" and e["scenario"] == "STARTER-WRONG"
    ]
    assert len(wrong) == 2
    for step in wrong:
        assert step["expected"].startswith("'Pied Piper ")
        assert step["actual"].startswith("'Hooli ")
        assert step["line"] == 12  # the expect step in wrong.yaml
    steps = [e for e in events if e["event"] == "step" and e["status"] == "passed"]
    vendor_calls = [e for e in steps if not e["step"].startswith(("login", "expect value"))]
    assert vendor_calls and all(e["duration_ms"] > 0 for e in vendor_calls)


def test_scorecard_files_and_terminal_table(starter_run: tuple[Path, str]) -> None:
    folder, stdout = starter_run
    card = json.loads((folder / "scorecard.json").read_text())
    tryton = card["vendors"][0]
    assert tryton["vendor_version"].startswith("8.0")
    verdicts = {rid: cell["verdict"] for rid, cell in tryton["requirements"].items()}
    assert verdicts == {
        "O2C-0.1": "not met",
        "O2C-1.1": "partly met",
        "O2C-2.1": "met",
        "O2C-3.1": "met",
        "O2C-3.2": "met",
    }
    bottlecrm = card["vendors"][1]
    verdicts = {rid: cell["verdict"] for rid, cell in bottlecrm["requirements"].items()}
    assert verdicts == {
        "O2C-0.1": "met",
        "O2C-1.1": "partly met",
        "O2C-2.1": "met",
        "O2C-3.1": "met",
        "O2C-3.2": "met",
    }
    assert bottlecrm["leftovers"] is not None
    assert [r for r in bottlecrm["leftovers"] if not r["kept"]] == []
    assert tryton["disqualified"] and tryton["disqualified_by"] == ["O2C-1.1"]
    assert stdout.index("DISQUALIFIED") < stdout.index("requirement")  # said first
    assert "STARTER-WRONG" in stdout and "expected: 'Pied Piper" in stdout
    assert (folder / "scorecard.md").read_text().startswith("# Scorecard: Starter suite")
    assert '<testsuite name="tryton" tests="5" failures="2"' in (folder / "junit.xml").read_text()
    rerendered = crmproof("report", str(folder)).stdout
    assert rerendered.splitlines()[2:] == stdout.splitlines()[2:]


def test_no_record_of_the_run_is_left_in_tryton(starter_run: tuple[Path, str]) -> None:
    """Everything is deleted, except what Tryton keeps by design, which is neutralised.

    An ERP keeps a confirmed sale, its posted invoice and the won opportunity for the
    books; cleanup cancels or archives those, and says so, record by record.
    """
    folder, stdout = starter_run
    events = list(read_events(folder / "results.jsonl"))
    run_id = events[0]["run_id"]
    cleanups = [e for e in events if e["event"] == "cleanup"]
    assert cleanups and all(e["status"] in ("ok", "kept") for e in cleanups), cleanups
    kept_in_cleanup = {(e["entity"], e["id"]) for e in cleanups if e["status"] == "kept"}
    package = discovery.load("tryton", ROOT / "adapters")
    adapter = package.adapter()
    settings, _ = resolve_settings(
        {
            "url": "${env:TRYTON_URL}",
            "database": "${env:TRYTON_DATABASE}",
            "user": "${env:TRYTON_USER}",
            "password": "${env:TRYTON_PASSWORD}",
        }
    )
    adapter.open(settings)
    try:
        remaining = adapter.leftovers(run_id)
    finally:
        adapter.close()
    assert remaining is not None
    assert [r for r in remaining if not r.kept] == []
    kept = {(r.entity, r.id): r.kept for r in remaining}
    assert set(kept) <= kept_in_cleanup | {(r[0], r[1]) for r in kept}
    assert {e for e, _ in kept} <= {"account", "opportunity", "order", "invoice"}
    assert any(v.startswith("cancelled") for k, v in kept.items() if k[0] == "invoice")
    assert "tryton cleanup: verified, 0 record(s) left behind" in stdout


def test_manifest_verifies_and_catches_tampering(
    starter_run: tuple[Path, str], tmp_path: Path
) -> None:
    import shutil

    folder, _ = starter_run

    def verify(target: Path) -> subprocess.CompletedProcess[str]:
        return crmproof("verify", str(target))

    manifest = json.loads((folder / "manifest.json").read_text())
    assert "results.jsonl" in manifest["files"] and "scorecard.json" in manifest["files"]
    assert manifest["adapters"]["tryton"]["code_sha256"]
    assert verify(folder).returncode == 0
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    with (copy / "results.jsonl").open("a") as results:
        results.write('{"event": "scenario", "vendor": "tryton", "status": "passed"}\n')
    tampered = verify(copy)
    assert tampered.returncode == 1
    assert "changed: results.jsonl" in tampered.stderr
