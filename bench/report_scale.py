"""`crmproof report` at scale: a run of 100,000 and of 1,000,000 step events.

A workspace of --scenarios scenarios (the reference ones copied with new ids, as in
validate_scale.py) and a run folder written with the real event models: the run event with
the suite's snapshot and fingerprints, each vendor ready, every scenario's steps (one in 40
scenarios fails a step, some steps carry effort and evidence), its cleanups and its end,
the leftovers check and the run's end, then the manifest and an unsigned attestation, as
`crmproof run` leaves them. The number of scenarios and vendors is the same at both sizes;
only the steps per scenario grow, so a report whose memory followed the events would show
it in the ratio of the two peaks.

Figures:

- in process, interleaved and repeated, min and median: scoring the file as `crmproof
  report` does (`score(read_deciding_events(...))`) against two baselines in the same
  process: reading every line in full (`read_events`, as it did) and only parsing every
  line with `json.loads`;
- `crmproof report` in a fresh process at each size: wall, CPU (user + system, the honest
  figure on a shared machine) and the peak RSS of that process (bench/measured.py), and the ratio of
  1M to 100k for each. The issue's target: 10 s at 1M, memory not growing with events.

    .venv/bin/python bench/report_scale.py [--sizes 100000 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measured import run_crmproof
from validate_scale import generate

from crmproof import attest, fingerprints, manifest, runner, workspace
from crmproof.events import (
    FORMAT,
    CleanupDone,
    LeftoversFound,
    RunEnded,
    RunStarted,
    ScenarioDone,
    StepDone,
    VendorReady,
)
from crmproof.protocol import Effort, Evidence, RecordRef

VENDORS = {"alpha": "tryton", "beta": "bottlecrm", "gamma": "djangocrm"}
STATUSES = ("failed", "not offered", "untested", "error")


def write_run(ws: Path, steps_total: int) -> Path:
    """A sealed run folder under ws/reports holding `steps_total` step events."""
    run_id = f"bench-{steps_total}"
    folder = ws / "reports" / run_id
    if (folder / manifest.MANIFEST).exists():  # kept from an earlier bench (--keep)
        return folder
    suite = workspace.load(ws)
    assert not suite.errors, suite.errors[:3]
    folder.mkdir(parents=True)
    (folder / "evidence").mkdir()
    (folder / "evidence" / "shot.png").write_bytes(b"\x89PNG bench")
    scenarios = [s.model for s in suite.scenarios]
    runs = len(scenarios) * len(VENDORS)
    per = max(1, steps_total // runs)
    extra = steps_total - per * runs  # the first `extra` scenario runs get one step more
    at = 1_800_000_000.0
    written = 0
    with (folder / "results.jsonl").open("w", encoding="utf-8") as out:

        def emit(event: object) -> None:
            out.write(event.model_dump_json(exclude_none=True) + "\n")  # type: ignore[attr-defined]

        emit(
            RunStarted(
                at=at,
                format=FORMAT,
                run_id=run_id,
                evaluation="bench",
                scoring={"must_disqualifies": True},
                suite_sha256=runner.suite_digest(suite),
                vendors=VENDORS,
                plan=[(v, s.id) for v in VENDORS for s in scenarios],
                suite=runner.suite_snapshot(suite),
                fingerprints=fingerprints.of_suite(suite),
            )
        )
        for vendor in VENDORS:
            emit(
                VendorReady(
                    at=at,
                    vendor=vendor,
                    adapter=VENDORS[vendor],
                    status="ready",
                    adapter_version="1.0",
                    vendor_version="7.0",
                    channel="api",
                )
            )
        number = 0
        for vendor in VENDORS:
            for scenario in scenarios:
                count = per + (1 if number < extra else 0)
                failing = number % 40 == 7
                status = STATUSES[(number // 40) % len(STATUSES)] if failing else "passed"
                for index in range(count):
                    at += 0.001
                    last = index == count - 1
                    emit(
                        StepDone(
                            at=at,
                            vendor=vendor,
                            scenario=scenario.id,
                            index=index,
                            line=7 + 3 * index,
                            step=f"create account {index}",
                            status=status if failing and last else "passed",
                            duration_ms=12.5,
                            message="the vendor kept the old value" if failing and last else None,
                            expected="Net 30 days" if failing and last else None,
                            actual="Net 60 days" if failing and last else None,
                            effort=Effort(clicks=2, keystrokes=40, fields=3, pages=1)
                            if index % 4 == 0
                            else None,
                            created=[RecordRef(entity="account", id=str(number * 1000 + index))]
                            if index % 3 == 0
                            else [],
                            evidence=[Evidence(kind="screenshot", path="evidence/shot.png")]
                            if failing and last
                            else [],
                        )
                    )
                    written += 1
                emit(
                    CleanupDone(
                        at=at,
                        vendor=vendor,
                        scenario=scenario.id,
                        entity="account",
                        id=str(number * 1000),
                        status="ok",
                    )
                )
                emit(
                    ScenarioDone(
                        at=at,
                        vendor=vendor,
                        scenario=scenario.id,
                        status=status,
                        message="the vendor kept the old value" if failing else None,
                        covers=scenario.covers,
                        tags=scenario.tags,
                        duration_ms=12.5 * count,
                        effort=Effort(clicks=count, keystrokes=20 * count, fields=count, pages=1),
                        asked=5,
                    )
                )
                number += 1
            emit(LeftoversFound(at=at, vendor=vendor, checked=True, records=[]))
        emit(RunEnded(at=at, run_id=run_id))
    assert written == steps_total, (written, steps_total)
    manifest.write(folder, {v: None for v in VENDORS})
    attest.write(folder, None, attest.workspace_inputs(ws, "requirements", "scenarios"))
    return folder


def in_process(folders: dict[int, Path], repeat: int) -> None:
    """Scoring as `crmproof report` reads the file (`read_deciding_events`), as it did
    (`read_events`: every line in full), and json.loads of every line: interleaved,
    min and median."""
    from crmproof.results import read_deciding_events, read_events
    from crmproof.scoring import score

    def plain(path: Path) -> float:
        started = time.process_time()
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                json.loads(line)
        return time.process_time() - started

    def scored(path: Path) -> float:
        started = time.process_time()
        score(read_deciding_events(path))
        return time.process_time() - started

    def scored_fully(path: Path) -> float:
        started = time.process_time()
        score(read_events(path))
        return time.process_time() - started

    smallest = min(folders)
    path = folders[smallest] / "results.jsonl"
    times: dict[str, list[float]] = {"json": [], "score": [], "full": []}
    for i in range(repeat):
        order = [("json", plain), ("score", scored), ("full", scored_fully)]
        for name, fn in order if i % 2 == 0 else reversed(order):
            times[name].append(fn(path))
    j, s, f = times["json"], times["score"], times["full"]
    print(
        f"in process, {smallest:,} step events, {repeat} interleaved runs (CPU): "
        f"score(read_deciding_events) min {min(s):.2f}s median {statistics.median(s):.2f}s; "
        f"score(read_events) min {min(f):.2f}s median {statistics.median(f):.2f}s; "
        f"json.loads per line min {min(j):.2f}s median {statistics.median(j):.2f}s"
    )
    print(
        f"  ratio to json.loads: min {min(s) / min(j):.2f}x "
        f"median {statistics.median(s) / statistics.median(j):.2f}x; "
        f"to reading every line in full: min {min(s) / min(f):.2f}x "
        f"median {statistics.median(s) / statistics.median(f):.2f}x"
    )


def report_once(ws: Path, folder: Path) -> tuple[float, float, float]:
    """One `crmproof report` in a fresh process: wall s, CPU s, its own peak RSS MiB."""
    env = {**os.environ, "CRMPROOF_HOME": str(ws / ".home")}
    done = run_crmproof(["report", str(folder), "-w", str(ws)], env)
    if done.returncode != 0:
        raise SystemExit(f"crmproof report failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.wall, done.cpu, done.peak_mib


def absolute(ws: Path, folders: dict[int, Path], repeat: int) -> None:
    figures: dict[int, list[tuple[float, float, float]]] = {n: [] for n in folders}
    for i in range(repeat):  # interleaved: each size once per round, order alternating
        sizes = sorted(folders)
        for n in sizes if i % 2 == 0 else reversed(sizes):
            figures[n].append(report_once(ws, folders[n]))
    for n, runs in sorted(figures.items()):
        walls, cpus, peaks = zip(*runs, strict=True)
        print(
            f"`crmproof report` of {n:,} step events, {repeat} fresh processes: "
            f"wall min {min(walls):.2f}s median {statistics.median(walls):.2f}s; "
            f"CPU min {min(cpus):.2f}s median {statistics.median(cpus):.2f}s; "
            f"peak RSS max {max(peaks):.0f} MiB"
        )
    if len(figures) > 1:
        small, big = min(figures), max(figures)
        cpu = [statistics.median(c for _, c, _ in figures[n]) for n in (small, big)]
        rss = [max(r for _, _, r in figures[n]) for n in (small, big)]
        print(
            f"{big:,} / {small:,} events ({big / small:.0f}x): CPU {cpu[1] / cpu[0]:.2f}x, "
            f"peak RSS {rss[1] / rss[0]:.2f}x (target: 10 s at 1M, RSS ratio about 1)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--scenarios", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", help="Write the workspace here and keep it.")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(args.keep or tmp) / "ws"
        if not (ws / "crmproof.yaml").exists():
            generate(ws, args.scenarios)
        folders = {}
        for n in args.sizes:
            started = time.perf_counter()
            folders[n] = write_run(ws, n)
            size = (folders[n] / "results.jsonl").stat().st_size / 2**20
            took = time.perf_counter() - started
            print(f"wrote {n:,} step events ({size:.0f} MiB) in {took:.0f}s", flush=True)
        in_process(folders, args.repeat)
        absolute(ws, folders, args.repeat)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
