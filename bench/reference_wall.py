"""The reference evaluation's wall time, before and after, in one bench run.

Versions of crmproof run the same suite (the scenarios and requirements of `--before`, the
commit where issue 13 was filed) on the same sandboxes, one after the other, interleaved
round by round (the order turns each round) and repeated:

- **before**: the repository as of `--before` (1a8e5d4): its code, its adapters and its
  crmproof.yaml, checked out in a temporary `git worktree` and run with PYTHONPATH at its
  src;
- **main**: the code, adapters and crmproof.yaml as of `--main` (the branch the change
  goes into), the same way;
- **after**: this checkout's code, adapters and crmproof.yaml (its run policy: workers per
  vendor, tracing only a re-run, one re-run of a scenario that did not pass).

The suite is held still on purpose: today's scenarios have more steps than the ones the
issue timed, so a run of each version's own suite would compare different work. So is the
work: today's adapters map scenarios that before's ruled out without running them, so
after the first run of before, every run runs only the (vendor, scenario) pairs before
ran, as `-k vendor/ID` (a version whose crmproof predates that syntax gets the ids, which
before's gate narrows to the same pairs). Round 1's before also passes through the
ruled-out ones, at no cost.

For each it measures the process's wall time and the run phase (from the run event to the
end event of results.jsonl, so loading and reporting are left out), with the 1-minute load
average around each run, since the machine may be shared. It also measures the CPU time
the run cost: the run's process tree (crmproof, Playwright's driver, Chromium; from
os.wait4, with the bench as subreaper of the processes that outlive their parents) plus
the vendors' sandbox servers (from /proc, before and after). On a machine of N cores no
schedule can make the wall shorter than that CPU time / N, so it is printed as the floor
of the run's wall. It prints min and median, and the ratios after/before and after/main
(the issue's target is after/before <= 0.35).

Then it checks what must not change, for after against before and against main: every
verdict and fraction, every scenario's status, and every browser vendor scenario's effort
counts, of its first attempt (a re-run names its records with `-a2` after the run id, so it
types three more characters for each). Each difference is listed, with whether the
vendor's adapter changed between the two versions (a flaky scenario on a loaded machine
also shows here as one).

Also the screenshots and traces a run wrote and the ones results.jsonl references.

    .venv/bin/python bench/reference_wall.py [--rounds 2] [--vendor djangocrm]
        [-k 'PRM-*'] [--before 1a8e5d4] [--main main] [--no-main] [--main-rounds 1]

The sandboxes must be up (`crmproof sandbox up tryton bottlecrm djangocrm`).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Version:
    name: str
    ref: str  # the commit its code and adapters are from
    root: Path  # where its src/ and adapters/ are
    workspace: Path  # the suite it runs: always the one of --before


@dataclass
class Result:
    version: str
    wall: float
    phase: float
    vendor_phase: dict[str, float]
    load: tuple[float, float]
    cpu: float  # seconds: the run's process tree and the sandbox servers
    statuses: dict[tuple[str, str], str]
    efforts: dict[tuple[str, str], Any]
    verdicts: dict[tuple[str, str], tuple[str, float]]
    files: int
    referenced: int
    retried: int = 0
    problems: list[str] = field(default_factory=list)
    ran: set[str] = field(default_factory=set)  # `vendor/id` that took time: not gated out
    marker: str = ""  # the run's id, which the scenarios type into the names they make


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def checkout(ref: str, folder: Path) -> Path:
    git("worktree", "add", "--detach", str(folder), ref)
    return folder


def selection(version: Version, globs: list[str]) -> list[str]:
    """What `-k` chooses for `version`: the `vendor/id` pairs before ran, where the
    version's crmproof knows them; else their ids, which choose each id on every vendor.
    Before's own gate rules out the same pairs again, so for it the ids are the same plan;
    a version between them runs more than before did, and this says so."""
    if "VENDOR/GLOB" in (version.root / "src/crmproof/cli.py").read_text():
        return globs
    ids = sorted({g.rpartition("/")[2] for g in globs})
    if version.name != "before" and ids != globs:
        print(f"{version.name} knows no vendor/id: it runs {len(ids)} ids on every vendor")
    return ids


def run_once(version: Version, reports: Path, args: argparse.Namespace) -> Result:
    command = [sys.executable, "-m", "crmproof.cli", "run", "-w", str(version.workspace)]
    command += ["--reports", str(reports)]
    for vendor in args.vendor:
        command += ["--vendor", vendor]
    for glob in selection(version, args.k):
        command += ["-k", glob]
    env = {**os.environ, "PYTHONPATH": str(version.root / "src")}
    load_before = os.getloadavg()[0]
    servers = server_cpu()
    problems: list[str] = []
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        cpu = usage.ru_utime + usage.ru_stime + reap_orphans(problems)
        err.seek(0)
        stderr = err.read()
    returncode = os.waitstatus_to_exitcode(status)
    cpu += server_cpu() - servers
    load_after = os.getloadavg()[0]
    if returncode not in (0, 1) or "Traceback" in stderr:
        problems.append(f"exit {returncode}: {stderr.strip()[-600:]}")
    folder = max((p for p in reports.iterdir() if p.is_dir() and not p.is_symlink()), default=None)
    if folder is None:
        raise SystemExit(f"{version.name}: no run folder in {reports}\n{stderr}")
    result = read_run(version.name, folder, wall, (load_before, load_after), problems)
    result.cpu = cpu
    return result


def become_subreaper() -> None:
    """Adopt the run's orphans, so their CPU is counted.

    Chromium's renderers and GPU process outlive the browser process that started them by
    a moment, and an orphan is reparented to init, taking its CPU time with it: the run's
    own wait4 figure missed about half of what Chromium spent (52 s of 113 s, DjangoCRM's
    PRM scenarios, against a /proc sampler). A subreaper (Linux's PR_SET_CHILD_SUBREAPER)
    gets them instead, and reaping them adds their time.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
        raise SystemExit(f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}")


def reap_orphans(problems: list[str], wait: float = 30.0) -> float:
    """CPU seconds of the run's orphans (see become_subreaper), reaped as they end."""
    spent, deadline = 0.0, time.monotonic() + wait
    while True:
        try:
            pid, _, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return spent  # none left
        if pid:
            spent += usage.ru_utime + usage.ru_stime
        elif time.monotonic() > deadline:
            problems.append(f"processes of the run still running {wait:.0f} s after it ended")
            return spent
        else:
            time.sleep(0.05)


def server_cpu() -> float:
    """CPU seconds the running sandbox servers have used so far (their own and their
    reaped children's), read from /proc by the pid each sandbox's state.json names."""
    home = Path(os.environ.get("CRMPROOF_HOME", Path.home() / ".local/share/crmproof"))
    total = 0.0
    for state in (home / "sandboxes").glob("*/state.json"):
        pid = json.loads(state.read_text()).get("pid")
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


def read_run(
    name: str, folder: Path, wall: float, load: tuple[float, float], problems: list[str]
) -> Result:
    """What a run folder says, read as plain JSON so any version's files read alike."""
    events = [json.loads(line) for line in (folder / "results.jsonl").open()]
    start = next(e["at"] for e in events if e["event"] == "run")
    marker = next(e["run_id"] for e in events if e["event"] == "run")
    end = next((e["at"] for e in events if e["event"] == "end"), events[-1]["at"])
    vendor_end: dict[str, float] = {}
    statuses: dict[tuple[str, str], str] = {}
    efforts: dict[tuple[str, str], Any] = {}
    referenced: set[str] = set()
    ran: set[str] = set()
    retried = 0
    for e in events:
        if "vendor" in e and e["event"] in ("scenario", "leftovers"):
            vendor_end[e["vendor"]] = max(vendor_end.get(e["vendor"], 0.0), e["at"] - start)
        for item in e.get("evidence") or []:
            referenced.add(item["path"])
        if e["event"] == "scenario":
            key = (e["vendor"], e["scenario"])
            statuses[key] = e["status"]  # the last attempt counts
            if e.get("duration_ms"):
                ran.add(f"{e['vendor']}/{e['scenario']}")
            if not e.get("attempt"):  # a re-run's names carry `-a2`: three more keys each
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
        cpu=0.0,
        phase=end - start,
        vendor_phase=vendor_end,
        load=load,
        statuses=statuses,
        efforts=efforts,
        verdicts=verdicts,
        marker=marker,
        files=len(files),
        referenced=len(set(files) & referenced),
        retried=retried,
        problems=problems,
        ran=ran,
    )


def differences(a: dict[Any, Any], b: dict[Any, Any]) -> list[tuple[Any, Any, Any]]:
    return [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def suite_workspace(suite: Path, code: Path, folder: Path) -> Path:
    """The scenarios and requirements of `suite` (a workspace), run as `code` would run
    them: with its adapters and its crmproof.yaml, whose run policy (workers, tracing,
    re-runs) is part of what changed."""
    shutil.copytree(
        suite, folder, ignore=shutil.ignore_patterns(".git", "src", "adapters", "reports", "bench")
    )
    shutil.copy(code / "crmproof.yaml", folder / "crmproof.yaml")
    (folder / "adapters").symlink_to(code / "adapters")
    return folder


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
    become_subreaper()

    scratch = Path(tempfile.mkdtemp(prefix="reference-wall-"))
    before = checkout(args.before, scratch / "before")
    versions = [Version("before", args.before, before, before)]
    if not args.no_main:
        code = checkout(args.main, scratch / "main")
        versions.append(
            Version("main", args.main, code, suite_workspace(before, code, scratch / "main-ws"))
        )
    versions.append(
        Version("after", "HEAD", ROOT, suite_workspace(before, ROOT, scratch / "after-ws"))
    )
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
                if version.name == "before" and round_ == 0:
                    # Today's adapters run scenarios that before's ruled out unrun (it had
                    # not mapped them): they would add work, not compare it. Every later
                    # run runs only what before ran.
                    args.k = sorted(result.ran)
                    print(
                        f"before ran {len(result.ran)} scenario runs "
                        "(its gate ruled the rest out, at no cost); every later run runs "
                        f"only those (vendor/id): {' '.join(args.k)}",
                        flush=True,
                    )
                phases = ", ".join(f"{v} {s:.0f}s" for v, s in sorted(result.vendor_phase.items()))
                print(
                    f"round {round_ + 1} {version.name:<6} wall {result.wall:7.1f}s  "
                    f"run phase {result.phase:7.1f}s ({phases})  CPU {result.cpu:7.1f}s  "
                    f"re-runs {result.retried}  load {result.load[0]:.1f} -> {result.load[1]:.1f}",
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
    cores = os.cpu_count() or 1
    print(f"\n         CPU of the run (min / median)   floor of the wall on {cores} cores")
    for name, rs in by.items():
        cmin, cmed = summary(rs, "cpu")
        print(f"{name:<8} {cmin:10.1f}s / {cmed:7.1f}s          {cmin / cores:10.1f}s")
    for name, rs in by.items():
        # A version's runs of one suite must end alike; a run that broke early is fast and
        # would flatter the other side (before's DjangoCRM once failed every scenario in
        # seconds: its run id held "403", which its adapter read as a refusal).
        for r in rs[1:]:
            both = set(rs[0].statuses) & set(r.statuses)  # round 1's before also gates
            diffs = differences(
                {k: rs[0].statuses[k] for k in both}, {k: r.statuses[k] for k in both}
            )
            if diffs:
                print(
                    f"WARNING: {name}'s runs disagree on {len(diffs)} scenario statuses "
                    f"(e.g. {diffs[0][0]}: {diffs[0][1]} -> {diffs[0][2]}): its times are "
                    "not of the same work, and the ratios below do not hold"
                )
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
    refs = {v.name: v.ref for v in versions}
    after = by["after"][-1]
    for base in ("before", "main"):
        if base not in by:
            continue
        was = by[base][-1]
        # the vendors that count a user's effort: the browser ones, in either version
        browsers = sorted({k[0] for r in (was, after) for k, v in r.efforts.items() if v})
        print(f"\nafter against {base} (the same suite; nothing may change):")
        for label, old, new in (
            ("verdicts", was.verdicts, after.verdicts),
            ("scenario statuses", was.statuses, after.statuses),
            (
                f"effort counts ({', '.join(browsers) or 'no browser vendor'})",
                {k: v for k, v in was.efforts.items() if k[0] in browsers},
                {k: v for k, v in after.efforts.items() if k[0] in browsers},
            ),
        ):
            diffs = differences(old, new)
            print(
                f"  {label}: {'IDENTICAL' if not diffs else f'{len(diffs)} DIFFERENT'}"
                f" ({len(set(old) | set(new))} compared)"
            )
            for key, then, now in diffs:
                vendor = key[0] if key[0] in after.vendor_phase else None
                changed = vendor and git("diff", "--stat", refs[base], "--", f"adapters/{vendor}")
                why = f"; the {vendor} adapter changed since {base}" if changed else ""
                why += markers_only(then, now, len(was.marker))
                print(f"    {key}: {base} {then} -> after {now}{why}")


def markers_only(then: Any, now: Any, marker: int) -> str:
    """Say so when two efforts differ only by whole markers' keystrokes: a version that
    counted the run's id typed into names (1a8e5d4 did; `keys_for` no longer does)."""
    if not (isinstance(then, dict) and isinstance(now, dict)) or not marker:
        return ""
    fewer = then.get("keystrokes", 0) - now.get("keystrokes", 0)
    rest = {k: v for k, v in then.items() if k != "keystrokes"}
    if rest != {k: v for k, v in now.items() if k != "keystrokes"} or fewer <= 0:
        return ""
    if fewer % marker:
        return ""
    return f"; keystrokes only: {fewer // marker} markers of {marker} keys, which it counted"


if __name__ == "__main__":
    main()
