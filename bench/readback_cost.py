"""What proving writes costs: the same scenario with and without the write read-back.

After every create, update, advance and convert the engine reads the record back from
the vendor (proof.py), so a vendor that answers "ok" and does nothing cannot pass. That
is one more request per write. This bench runs one write-heavy scenario (an account
created and updated, an opportunity created and advanced twice, the cleanup's deletes)
through crmproof's own ScenarioRun on a real vendor, once with the read-back (the
default) and once without (`prove_writes=False`, which only this bench sets), in
interleaved rounds with the order alternating, and prints the min and median time per
scenario of each and their ratio.

    .venv/bin/python bench/readback_cost.py [tryton|bottlecrm] [N per round] [rounds]

It needs the vendor's sandbox running (`crmproof sandbox up tryton`).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

from crmproof import discovery, workspace
from crmproof.credentials import resolve_settings
from crmproof.execute import ScenarioRun
from crmproof.models import Scenario
from crmproof.results import ResultsWriter
from crmproof.yamlsource import parse_documents

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = b"""
id: BENCH-WRITES
title: an account and a deal, written and moved
steps:
  - create: account
    with: {name: "Bench ${run.id}", email: "bench.${run.id}@bench.test"}
    save: acct
  - update: account
    id: ${acct.id}
    with: {phone: "+1 555 0100"}
  - create: opportunity
    with: {account: "${acct.id}", name: "Bench deal ${run.id}", amount: 1000, stage: prospecting}
    save: deal
  - advance: opportunity
    id: ${deal.id}
    to: qualification
  - advance: opportunity
    id: ${deal.id}
    to: lost
"""


class Bench:
    """One adapter on one vendor, and the scenario, run with or without proving writes."""

    def __init__(self, vendor: str) -> None:
        evaluation = yaml.safe_load((ROOT / "crmproof.yaml").read_text())
        settings, _ = resolve_settings(evaluation["vendors"][vendor]["settings"])
        self.vendor = vendor
        self.adapter = discovery.load(vendor, ROOT / "adapters").adapter()
        self.adapter.open({**settings, "timeout": 60})
        self.caps = self.adapter.declared()
        doc = next(parse_documents(SCENARIO, "bench.yaml"))
        self.loaded = workspace.Loaded(Scenario.model_validate(doc.data), doc)
        self.tmp = tempfile.TemporaryDirectory()
        self.writer = ResultsWriter(Path(self.tmp.name) / "results.jsonl")
        self.runs = 0

    def run(self, n: int, prove: bool) -> float:
        started = time.perf_counter()
        for _ in range(n):
            self.runs += 1
            run = ScenarioRun(
                self.adapter, self.caps, self.vendor, f"bench-{self.runs}", self.writer.emit
            )
            run.prove_writes = prove
            status = run.run(self.loaded)
            assert status == "passed", status
        return time.perf_counter() - started

    def close(self) -> None:
        self.writer.close()
        self.adapter.close()
        self.tmp.cleanup()


def main() -> None:
    vendor = sys.argv[1] if len(sys.argv) > 1 else "tryton"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    k = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    bench = Bench(vendor)
    try:
        bench.run(1, True)  # warm up: sessions, caches, the server's own
        bench.run(1, False)
        times: dict[bool, list[float]] = {True: [], False: []}
        for i in range(k):
            for prove in (True, False) if i % 2 == 0 else (False, True):
                times[prove].append(bench.run(n, prove) / n)
    finally:
        bench.close()
    on, off = times[True], times[False]
    print(f"{vendor}: {k} interleaved rounds of {n} scenarios (5 writes each)")
    print(f"without read-back: min {min(off):.3f} s, median {statistics.median(off):.3f} s")
    print(f"with read-back:    min {min(on):.3f} s, median {statistics.median(on):.3f} s")
    print(
        f"read-back cost ratio: min {min(on) / min(off):.3f}x, "
        f"median {statistics.median(on) / statistics.median(off):.3f}x"
    )


if __name__ == "__main__":
    main()
