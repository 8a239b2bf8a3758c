"""Harness overhead: the same Tryton calls, by a plain JSON-RPC client and through crmproof.

Baseline: httpx posts create / read / delete of a party, N times, the way a hand-written
script would. Harness: a scenario doing the same (create account, get it, and the
cleanup's delete), run N times by crmproof's own ScenarioRun: interpolation, capability
checks, the adapter, the results stream with an fsync per step. Both run in this process
against the running Tryton sandbox (`crmproof sandbox up tryton`); the figure is the ratio
of the two wall times.

    .venv/bin/python bench/harness_overhead.py [N]
"""

from __future__ import annotations

import base64
import sys
import tempfile
import time
from pathlib import Path

import httpx

from crmproof import discovery, workspace
from crmproof.credentials import resolve_settings
from crmproof.execute import ScenarioRun
from crmproof.results import ResultsWriter
from crmproof.yamlsource import parse_documents

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {
    "url": "${env:TRYTON_URL}",
    "database": "${env:TRYTON_DATABASE}",
    "user": "${env:TRYTON_USER}",
    "password": "${env:TRYTON_PASSWORD}",
}
SCENARIO = b"""
id: BENCH
title: create, read, delete an account
steps:
  - create: account
    with: {name: "Bench ${run.id}"}
    save: acct
  - get: account
    id: ${acct.id}
"""


def plain_client(settings: dict[str, str], n: int) -> float:
    url = f"{settings['url'].rstrip('/')}/{settings['database']}/rpc/"
    http = httpx.Client(timeout=30)

    def rpc(method: str, params: list[object], auth: str | None = None) -> object:
        headers = {"Authorization": auth} if auth else {}
        answer = http.post(
            url, json={"id": 1, "method": method, "params": params}, headers=headers
        ).json()
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer["result"]

    uid, token = rpc(
        "common.db.login", [settings["user"], {"password": settings["password"]}, "en"]
    )[:2]  # type: ignore[index]
    auth = "Session " + base64.b64encode(f"{settings['user']}:{uid}:{token}".encode()).decode()
    context = rpc("model.res.user.get_preferences", [True, {}], auth)
    started = time.perf_counter()
    for i in range(n):
        (party,) = rpc("model.party.party.create", [[{"name": f"Bench plain {i}"}], context], auth)  # type: ignore[misc]
        rpc("model.party.party.read", [[party], ["name", "contact_mechanisms"], context], auth)
        rpc("model.party.party.delete", [[party], context], auth)
    return time.perf_counter() - started


def through_crmproof(settings: dict[str, str], n: int) -> float:
    adapter = discovery.load("tryton", ROOT / "adapters").adapter()
    adapter.open(settings)
    doc = next(parse_documents(SCENARIO, "bench.yaml"))
    from crmproof.models import Scenario

    loaded = workspace.Loaded(Scenario.model_validate(doc.data), doc)
    with tempfile.TemporaryDirectory() as tmp:
        writer = ResultsWriter(Path(tmp) / "results.jsonl")
        try:
            started = time.perf_counter()
            for i in range(n):
                run = ScenarioRun(
                    adapter, adapter.capabilities(), "tryton", f"bench-{i}", writer.emit
                )
                assert run.run(loaded) == "passed"
            return time.perf_counter() - started
        finally:
            writer.close()
            adapter.close()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    settings, _ = resolve_settings(SETTINGS)
    plain_client(settings, 3)  # warm both paths up
    through_crmproof(settings, 3)
    baseline = plain_client(settings, n)
    harness = through_crmproof(settings, n)
    print(f"plain JSON-RPC client: {baseline / n * 1000:.1f} ms per create+read+delete")
    print(f"through crmproof:      {harness / n * 1000:.1f} ms per scenario (same calls)")
    print(f"harness overhead ratio: {harness / baseline:.2f}x the plain client")


if __name__ == "__main__":
    main()
