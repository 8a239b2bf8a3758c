"""Vendor faults: a step errors with the reason, the run goes on, the scorecard says untested.

Faults come from a proxy between the Tryton adapter and the real Tryton sandbox (5xx,
garbage, hangs, dropped connections), from a port nothing listens on, and from stopping
the real BottleCRM sandbox in the middle of a run. BottleCRM runs beside Tryton in the
same run to show that one vendor's bad day does not touch another's results.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crmproof import discovery, sandbox
from tests.cli import command
from tests.faultproxy import FaultProxy
from tests.raw_events import read_events

ROOT = Path(__file__).resolve().parents[2]
STARTER = ROOT / "examples" / "starter"
TRYTON_SCENARIOS = ["STARTER-ACCOUNT", "STARTER-OPPORTUNITY-WON"]


def workspace(tmp: Path, step_timeout: float = 3.0) -> Path:
    ws = tmp / "ws"
    shutil.copytree(STARTER, ws)
    text = (ws / "crmproof.yaml").read_text()
    text = text.replace("../../adapters", str(ROOT / "adapters"))
    text = text.replace("url: ${env:TRYTON_URL}", "url: ${env:FAULTY_TRYTON_URL}")
    text += f"run: {{step_timeout: {step_timeout}, scenario_timeout: 60}}\n"
    (ws / "crmproof.yaml").write_text(text)
    return ws


def start_run(ws: Path, tryton_url: str, *args: str) -> subprocess.Popen[str]:
    """The starter suite on Tryton (its URL possibly a fault) and BottleCRM beside it; the
    starter's browser vendor proves nothing here and costs a minute a run."""
    if "--vendor" not in args:
        args = (*args, "--vendor", "tryton", "--vendor", "bottlecrm")
    return subprocess.Popen(
        command("run", "-w", str(ws), "--reports", str(ws / "reports"), *args),
        env={**os.environ, "FAULTY_TRYTON_URL": tryton_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], ws: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    assert "Traceback" not in err
    folder = (ws / "reports" / "latest").resolve()
    events = list(read_events(folder / "results.jsonl"))
    assert events[-1]["event"] == "end"  # the run went on to the end
    return events, json.loads((folder / "scorecard.json").read_text())


def statuses(events: list[dict[str, Any]], vendor: str) -> dict[str, tuple[str, str]]:
    return {
        e["scenario"]: (e["status"], e.get("message") or "")
        for e in events
        if e["event"] == "scenario" and e["vendor"] == vendor
    }


def verdicts(card: dict[str, Any], vendor: str) -> dict[str, str]:
    cards = {v["name"]: v for v in card["vendors"]}
    return {rid: c["verdict"] for rid, c in cards[vendor]["requirements"].items()}


@pytest.fixture
def vendors(vendor_sandbox: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    return {"tryton": vendor_sandbox("tryton"), "bottlecrm": vendor_sandbox("bottlecrm")}


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("error500", "500"), ("garbage", "JSON"), ("hang", "timed out"), ("drop", "")],
)
def test_faulty_vendor_errors_and_the_run_goes_on(
    vendors: dict[str, Any], tmp_path: Path, mode: str, reason: str
) -> None:
    # The step timeout also bounds BottleCRM's steps: long enough for a loaded machine.
    ws = workspace(tmp_path, step_timeout=5.0)
    # Logins pass, so the vendor opens; every call after that meets the fault.
    with FaultProxy(vendors["tryton"]["url"], spare=b'"common.') as proxy:
        proxy.mode = mode  # type: ignore[assignment]
        proc = start_run(
            ws,
            proxy.url,
            *[a for s in TRYTON_SCENARIOS for a in ("-k", s)],
            "-k",
            "STARTER-REP-PRIVACY",
        )
        events, card = finish(proc, ws)  # a hang would show as this wait timing out
    tryton = statuses(events, "tryton")
    assert {s for s, _ in tryton.values()} == {"error"}, tryton
    assert all(reason in message for _, message in tryton.values()), tryton
    assert verdicts(card, "tryton")["O2C-1.1"] == "untested"
    assert verdicts(card, "tryton")["O2C-2.1"] == "untested"
    assert "not met" not in verdicts(card, "tryton").values()
    assert statuses(events, "bottlecrm") == {
        "STARTER-ACCOUNT": ("passed", ""),
        "STARTER-OPPORTUNITY-WON": ("passed", ""),
        "STARTER-REP-PRIVACY": ("passed", ""),
    }


def test_vendor_refusing_connections(vendors: dict[str, Any], tmp_path: Path) -> None:
    port = sandbox.free_port()  # nothing listens there
    ws = workspace(tmp_path)
    events, card = finish(start_run(ws, f"http://127.0.0.1:{port}"), ws)
    vendor = next(e for e in events if e["event"] == "vendor" and e["vendor"] == "tryton")
    assert vendor["status"] == "error"
    assert "refused" in vendor["message"].lower() or "reached" in vendor["message"]
    assert {s for s, _ in statuses(events, "tryton").values()} == {"error"}
    assert set(verdicts(card, "tryton").values()) == {"untested"}
    assert "passed" in {s for s, _ in statuses(events, "bottlecrm").values()}


def test_real_vendor_stopped_mid_run(vendors: dict[str, Any], tmp_path: Path) -> None:
    ws = workspace(tmp_path, step_timeout=5.0)
    recipe = discovery.load("bottlecrm", ROOT / "adapters").sandbox
    assert recipe is not None
    proc = start_run(ws, vendors["tryton"]["url"], "--vendor", "bottlecrm")
    results = None
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            found = list((ws / "reports").glob("2*/results.jsonl"))
            if found and b'"event":"scenario"' in found[0].read_bytes():
                results = found[0]
                break
            time.sleep(0.05)
        assert results is not None, "no scenario finished"
        sandbox.down(recipe)  # the real server dies under the run
        events, card = finish(proc, ws)
    finally:
        sandbox.up(recipe, log=lambda m: None)
    bottle = statuses(events, "bottlecrm")
    assert len(bottle) == 5
    errored = [s for s, (status, _) in bottle.items() if status == "error"]
    assert errored, bottle
    first = next(e["scenario"] for e in events if e["event"] == "scenario")
    assert bottle[first][0] != "error"
    covers = {e["scenario"]: e["covers"] for e in events if e["event"] == "scenario"}
    only_errored = {
        rid
        for rid in verdicts(card, "bottlecrm")
        if all(bottle[s][0] == "error" for s, c in covers.items() if rid in c)
        and any(rid in c for c in covers.values())
    }
    assert only_errored
    assert {verdicts(card, "bottlecrm")[r] for r in only_errored} == {"untested"}
