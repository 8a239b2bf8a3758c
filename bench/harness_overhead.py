"""Harness overhead: the same Tryton calls, by a plain JSON-RPC client and through crmproof.

Like with like. First, one scenario (create an account, get it, and the cleanup's delete)
runs through crmproof's Tryton adapter while every request it sends is recorded: that is
create, a read-back of the new party, the get's read, an existence check before the
delete, and the delete. The plain client then replays exactly those requests (same
methods, same parameters and context, only the new party's id put in), the way a
hand-written script making the same calls would; the bench checks that it did.

Harness: the same scenario run by crmproof's own ScenarioRun: interpolation, capability
gate, the adapter, the results stream. Both run in this process against the running Tryton
sandbox (`crmproof sandbox up tryton`), in interleaved rounds (the order alternating), and
the bench prints the min and median per-scenario times and their ratio.

    .venv/bin/python bench/harness_overhead.py [N per round] [rounds]
"""

from __future__ import annotations

import base64
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from crmproof import discovery, workspace
from crmproof.credentials import resolve_settings
from crmproof.execute import ScenarioRun
from crmproof.models import Scenario
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
Call = tuple[str, list[Any]]  # method, params as sent


def _replace(value: Any, old: int, new: int) -> Any:
    if isinstance(value, list):
        return [_replace(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _replace(v, old, new) for k, v in value.items()}
    return new if value == old and type(value) is int else value


class Harness:
    """crmproof's Tryton adapter, a results file, and the calls of one recorded scenario."""

    def __init__(self, settings: dict[str, str]) -> None:
        self.adapter = discovery.load("tryton", ROOT / "adapters").adapter()
        self.adapter.open(settings)
        doc = next(parse_documents(SCENARIO, "bench.yaml"))
        self.loaded = workspace.Loaded(Scenario.model_validate(doc.data), doc)
        self.tmp = tempfile.TemporaryDirectory()
        self.writer = ResultsWriter(Path(self.tmp.name) / "results.jsonl")
        self.runs = 0

    def run(self, n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            self.runs += 1
            run = ScenarioRun(
                self.adapter,
                self.adapter.capabilities(),
                "tryton",
                f"bench-{self.runs}",
                self.writer.emit,
            )
            assert run.run(self.loaded) == "passed"
        return time.perf_counter() - started

    def record(self) -> tuple[list[Call], int]:
        """The requests one scenario sends, and the id of the party it created."""
        client = self.adapter._client_for(None)
        sent: list[Call] = []
        answers: list[Any] = []
        original = client._post

        def recording(url: str, method: str, params: list[Any]) -> Any:
            sent.append((method, json.loads(json.dumps(params))))
            answers.append(original(url, method, params))
            return answers[-1]

        client._post = recording  # type: ignore[method-assign]
        try:
            self.run(1)
        finally:
            del client._post
        created = int(answers[0][0])
        assert sent[0][0] == "model.party.party.create", sent[0][0]
        return sent, created

    def close(self) -> None:
        self.writer.close()
        self.adapter.close()
        self.tmp.cleanup()


class PlainClient:
    """httpx and JSON, as a script would: log in, then post the recorded requests."""

    def __init__(self, settings: dict[str, str], calls: list[Call], created: int) -> None:
        self.url = f"{settings['url'].rstrip('/')}/{settings['database']}/rpc/"
        self.http = httpx.Client(timeout=30)
        self.ids = 0
        uid, token = self.rpc(
            "common.db.login", [settings["user"], {"password": settings["password"]}, "en"]
        )[:2]
        session = f"{settings['user']}:{uid}:{token}".encode()
        self.http.headers["Authorization"] = "Session " + base64.b64encode(session).decode()
        context = self.rpc("model.res.user.get_preferences", [True, {}])
        assert created not in context.values(), "the party id is also a context value"
        self.calls, self.created = calls, created
        self.sent: list[str] = []

    def rpc(self, method: str, params: list[Any]) -> Any:
        self.ids += 1
        body = {"id": self.ids, "method": method, "params": params}
        answer = self.http.post(self.url, json=body).json()
        if answer.get("error"):
            raise RuntimeError(answer["error"])
        return answer["result"]

    def run(self, n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            (first, params), rest = self.calls[0], self.calls[1:]
            self.sent = [first]
            (party,) = self.rpc(first, params)
            for method, recorded in rest:
                self.sent.append(method)
                self.rpc(method, _replace(recorded, self.created, party))
        return time.perf_counter() - started


def rounds(plain: Callable[[int], float], harness: Callable[[int], float], n: int, k: int) -> None:
    times: dict[str, list[float]] = {"plain": [], "crmproof": []}
    for i in range(k):
        order = [("plain", plain), ("crmproof", harness)]
        for name, run in order if i % 2 == 0 else reversed(order):
            times[name].append(run(n) / n)
    p, h = times["plain"], times["crmproof"]
    print(
        f"plain client (same requests): min {min(p) * 1000:.2f} ms, "
        f"median {statistics.median(p) * 1000:.2f} ms per scenario"
    )
    print(
        f"through crmproof:             min {min(h) * 1000:.2f} ms, "
        f"median {statistics.median(h) * 1000:.2f} ms per scenario"
    )
    print(
        f"harness overhead ratio: min {min(h) / min(p):.3f}x, "
        f"median {statistics.median(h) / statistics.median(p):.3f}x "
        f"({k} interleaved rounds of {n})"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    settings, _ = resolve_settings(SETTINGS)
    harness = Harness(settings)
    try:
        calls, created = harness.record()
        plain = PlainClient(settings, calls, created)
        plain.run(1)
        assert plain.sent == [m for m, _ in calls], (plain.sent, calls)
        print(f"both make these {len(calls)} requests per scenario: {[m for m, _ in calls]}")
        harness.run(2)  # warm up
        rounds(plain.run, harness.run, n, k)
    finally:
        harness.close()


if __name__ == "__main__":
    main()
