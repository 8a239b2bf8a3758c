"""The reference evaluation's wall time, before and after, in one bench run.

Three versions of crmproof run the reference evaluation on the same sandboxes, one after
the other, interleaved round by round (the order turns each round) and repeated:

- **before**: the repository as of the commit where issue 13 was filed (`--before`,
  1a8e5d4): its code, its scenarios, its adapters and its crmproof.yaml, checked out in a
  temporary `git worktree` and run with PYTHONPATH at its src;
- **main**: the repository as of `--main` (the branch the change goes into), the same way;
- **after**: this checkout.

For each it measures the process's wall time and the run phase (from the run event to the
end event of results.jsonl, so loading and reporting are left out), with the 1-minute load
average around each run, since the machine may be shared. It prints min and median, and the
ratios after/before and after/main (the issue's target is after/before <= 0.35).

Then it checks what must not change:

- after against main (the same suite, before and after this change): every verdict and
  fraction, every scenario's status, and every browser vendor scenario's effort counts
  must be identical; differences are listed (a flaky scenario on a loaded machine shows
  here as one);
- after against before: the suite and the adapters changed on purpose between the two
  commits (issues 11 and 12), so only the effort counts of the browser vendor's scenarios
  are compared, and each difference is listed with whether the scenario file or the
  adapter changed since.

Also the screenshots and traces a run wrote and the ones results.jsonl references.

    CRMPROOF_HOME=... .venv/bin/python bench/reference_wall.py [--rounds 2]
        [--vendor djangocrm] [-k 'PRM-*'] [--before 1a8e5d4] [--main main] [--no-main]
        [--main-rounds 1]

The sandboxes must be up (`crmproof sandbox up tryton bottlecrm djangocrm`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BROWSER_VENDOR = "djangocrm"


@dataclass
class Version:
    name: str
    root: Path  # its workspace, and its src/
    scenarios: dict[str, str] = field(default_factory=dict)  # id -> file text

    def __post_init__(self) -> None:
        self.scenarios = scenario_texts(self.root)  # read now: a worktree is removed after


@dataclass
class Result:
    version: str
    wall: float
    phase: float
    vendor_phase: dict[str, float]
    load: tuple[float, float]
    statuses: dict[tuple[str, str], str]
    efforts: dict[tuple[str, str], Any]
    verdicts: dict[tuple[str, str], tuple[str, float]]
    files: int
    referenced: int
    retried: int = 0
    problems: list[str] = field(default_factory=list)


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def checkout(ref: str, folder: Path) -> Path:
    git("worktree", "add", "--detach", str(folder), ref)
    return folder


def run_once(version: Version, reports: Path, args: argparse.Namespace) -> Result:
    command = [sys.executable, "-m", "crmproof.cli", "run", "-w", str(version.root)]
    command += ["--reports", str(reports)]
    for vendor in args.vendor:
        command += ["--vendor", vendor]
    for glob in args.k:
        command += ["-k", glob]
    env = {**os.environ, "PYTHONPATH": str(version.root / "src")}
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=4 * 3600)
    wall = time.perf_counter() - started
    load_after = os.getloadavg()[0]
    problems = []
    if proc.returncode not in (0, 1) or "Traceback" in proc.stderr:
        problems.append(f"exit {proc.returncode}: {proc.stderr.strip()[-600:]}")
    folder = max((p for p in reports.iterdir() if p.is_dir() and not p.is_symlink()), default=None)
    if folder is None:
        raise SystemExit(f"{version.name}: no run folder in {reports}\n{proc.stderr}")
    return read_run(version.name, folder, wall, (load_before, load_after), problems)


def read_run(
    name: str, folder: Path, wall: float, load: tuple[float, float], problems: list[str]
) -> Result:
    """What a run folder says, read as plain JSON so any version's files read alike."""
    events = [json.loads(line) for line in (folder / "results.jsonl").open()]
    start = next(e["at"] for e in events if e["event"] == "run")
    end = next((e["at"] for e in events if e["event"] == "end"), events[-1]["at"])
    vendor_end: dict[str, float] = {}
    statuses: dict[tuple[str, str], str] = {}
    efforts: dict[tuple[str, str], Any] = {}
    referenced: set[str] = set()
    retried = 0
    for e in events:
        if "vendor" in e and e["event"] in ("scenario", "leftovers"):
            vendor_end[e["vendor"]] = max(vendor_end.get(e["vendor"], 0.0), e["at"] - start)
        for item in e.get("evidence") or []:
            referenced.add(item["path"])
        if e["event"] == "scenario":
            key = (e["vendor"], e["scenario"])
            statuses[key] = e["status"]  # the last attempt counts
            efforts[key] = e.get("effort")
            retried += bool(e.get("attempt"))
    card = json.loads((folder / "scorecard.json").read_text())
    verdicts = {
        (v["name"], rid): (cell["verdict"], cell["fraction"])
        for v in card["vendors"]
        for rid, cell in v["requirements"].items()
    }
    files = [
        p.relative_to(folder).as_posix() for p in (folder / "evidence").rglob("*") if p.is_file()
    ]
    return Result(
        version=name,
        wall=wall,
        phase=end - start,
        vendor_phase=vendor_end,
        load=load,
        statuses=statuses,
        efforts=efforts,
        verdicts=verdicts,
        files=len(files),
        referenced=len(set(files) & referenced),
        retried=retried,
        problems=problems,
    )


def differences(a: dict[Any, Any], b: dict[Any, Any]) -> list[tuple[Any, Any, Any]]:
    return [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def scenario_texts(root: Path) -> dict[str, str]:
    """Scenario id -> its file's text, for telling a changed scenario from a changed run."""
    out = {}
    for path in (root / "scenarios").rglob("*.y*ml"):
        text = path.read_text()
        for line in text.splitlines():
            if line.startswith("id:"):
                out[line.split(":", 1)[1].strip()] = text
                break
    return out


def summary(results: list[Result], what: str) -> tuple[float, float]:
    values = [getattr(r, what) for r in results]
    return min(values), statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--before", default="1a8e5d4", help="the commit of 'before'")
    parser.add_argument("--main", default="main", help="the commit of 'main'")
    parser.add_argument("--no-main", action="store_true", help="compare with before only")
    parser.add_argument(
        "--main-rounds", type=int, default=None, help="rounds of main (default: --rounds)"
    )
    parser.add_argument("--vendor", action="append", default=[], help="only this vendor")
    parser.add_argument("-k", action="append", default=[], help="only scenarios matching")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="reference-wall-"))
    versions = [Version("before", checkout(args.before, scratch / "before"))]
    if not args.no_main:
        versions.append(Version("main", checkout(args.main, scratch / "main")))
    versions.append(Version("after", ROOT))
    print(
        f"before = {git('rev-parse', '--short', args.before)}, "
        + ("" if args.no_main else f"main = {git('rev-parse', '--short', args.main)}, ")
        + f"after = {git('rev-parse', '--short', 'HEAD')} (+ working tree)"
        + f"; vendors: {', '.join(args.vendor) or 'all'}; scenarios: {', '.join(args.k) or 'all'}"
        + f"; {os.cpu_count()} cores",
        flush=True,
    )
    results: list[Result] = []
    try:
        for round_ in range(args.rounds):
            order = versions if round_ % 2 == 0 else versions[::-1]
            main_rounds = args.rounds if args.main_rounds is None else args.main_rounds
            for version in order:
                if version.name == "main" and round_ >= main_rounds:
                    continue
                reports = scratch / f"{version.name}-{round_}"
                result = run_once(version, reports, args)
                results.append(result)
                phases = ", ".join(f"{v} {s:.0f}s" for v, s in sorted(result.vendor_phase.items()))
                print(
                    f"round {round_ + 1} {version.name:<6} wall {result.wall:7.1f}s  "
                    f"run phase {result.phase:7.1f}s ({phases})  re-runs {result.retried}  "
                    f"load {result.load[0]:.1f} -> {result.load[1]:.1f}",
                    flush=True,
                )
                for problem in result.problems:
                    print(f"    problem: {problem}", flush=True)
    finally:
        for version in versions:
            if version.root != ROOT:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(version.root)],
                    cwd=ROOT,
                    capture_output=True,
                )
    report(results, versions, args)
    print(f"\nrun folders: {scratch}")


def report(results: list[Result], versions: list[Version], args: argparse.Namespace) -> None:
    by = {v.name: [r for r in results if r.version == v.name] for v in versions}
    print("\n                 run phase (min / median)      process wall (min / median)")
    for name, rs in by.items():
        (pmin, pmed), (wmin, wmed) = summary(rs, "phase"), summary(rs, "wall")
        print(f"{name:<8} {pmin:10.1f}s / {pmed:7.1f}s          {wmin:10.1f}s / {wmed:7.1f}s")
    for base in ("before", "main"):
        if base not in by:
            continue
        (amin, amed), (bmin, bmed) = summary(by["after"], "phase"), summary(by[base], "phase")
        print(
            f"ratio after/{base} of the run phase: {amin / bmin:.2f}x min, {amed / bmed:.2f}x "
            f"median" + ("  (target <= 0.35x)" if base == "before" else "")
        )
    loads = [x for r in results for x in r.load]
    print(f"1-minute load average during the runs: {min(loads):.1f} .. {max(loads):.1f}")
    for name, rs in by.items():
        last = rs[-1]
        print(
            f"evidence files of {name}: {last.files}, referenced from results.jsonl: "
            f"{last.referenced}"
        )

    after = by["after"][-1]
    if "main" in by:
        main_run = by["main"][-1]
        print("\nafter against main (the same suite; nothing may change):")
        for label, a, b in (
            ("verdicts", main_run.verdicts, after.verdicts),
            ("scenario statuses", main_run.statuses, after.statuses),
            (
                f"{BROWSER_VENDOR} effort counts",
                {k: v for k, v in main_run.efforts.items() if k[0] == BROWSER_VENDOR},
                {k: v for k, v in after.efforts.items() if k[0] == BROWSER_VENDOR},
            ),
        ):
            diffs = differences(a, b)
            print(
                f"  {label}: {'IDENTICAL' if not diffs else f'{len(diffs)} DIFFERENT'}"
                f" ({len(a)} compared)"
            )
            for key, was, now in diffs:
                print(f"    {key}: main {was} -> after {now}")

    before = by["before"][-1]
    print(f"\nafter against before: {BROWSER_VENDOR} effort counts per scenario")
    was_text = next(v.scenarios for v in versions if v.name == "before")
    now_text = next(v.scenarios for v in versions if v.name == "after")
    adapter_changed = bool(
        git("diff", "--stat", args.before, "HEAD", "--", f"adapters/{BROWSER_VENDOR}")
    )
    old = {k: v for k, v in before.efforts.items() if k[0] == BROWSER_VENDOR}
    new = {k: v for k, v in after.efforts.items() if k[0] == BROWSER_VENDOR}
    same = [k for k in set(old) & set(new) if old[k] == new[k]]
    diffs = differences(old, new)
    print(f"  identical: {len(same)} of {len(set(old) | set(new))} scenarios")
    for (vendor, sid), was, now in diffs:
        why = []
        if sid not in was_text:
            why.append("new scenario")
        elif was_text.get(sid) != now_text.get(sid):
            why.append("scenario file changed")
        if adapter_changed:
            why.append("adapter changed")
        statuses = f"{before.statuses.get((vendor, sid))} -> {after.statuses.get((vendor, sid))}"
        print(f"    {sid} ({statuses}): {was} -> {now}; {', '.join(why) or 'UNEXPLAINED'}")


if __name__ == "__main__":
    main()
