"""`crmproof validate` at scale: 10,000 generated scenarios, time and peak memory.

The workspace is generated from the reference scenarios, each copied with a new id, in a
temporary folder. Two figures:

- the ratio against a baseline in this same process: the whole load + checks with
  libyaml's C loader against PyYAML's pure-Python loader, interleaved, repeated, min and
  median (on --ratio-scenarios scenarios, since the baseline is slow);
- the absolute cost of `crmproof validate` on --scenarios scenarios, each run in a fresh
  subprocess: wall time, CPU time (user + system; the honest figure on a shared machine)
  and the process's own peak resident memory (bench/measured.py). The issue's target is
  1.5 s, 150 MiB. Two figures: cold (an empty parse cache, as on a fresh clone: every
  file parsed) and warm (the cache a previous validate left: no file changed since).

The in-process ratio parses every time: each load gets an empty crmproof home, so no
parse cache.

    .venv/bin/python bench/validate_scale.py [--scenarios 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def generate(folder: Path, count: int) -> Path:
    """A workspace of `count` scenarios: the reference ones again and again, new ids."""
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "crmproof.yaml", folder / "crmproof.yaml")
    shutil.copytree(ROOT / "requirements", folder / "requirements")
    (folder / "adapters").symlink_to(ROOT / "adapters")
    texts = [p.read_text() for p in sorted((ROOT / "scenarios").rglob("*.yaml"))]
    (folder / "scenarios").mkdir()
    for i in range(count):
        text = re.sub(
            r"^id: (\S+)", rf"id: \g<1>-{i:05d}", texts[i % len(texts)], count=1, flags=re.M
        )
        (folder / "scenarios" / f"s{i:05d}.yaml").write_text(text)
    return folder


def in_process(ws: Path, loader: type) -> float:
    from crmproof import validate, workspace, yamlsource

    kept = yamlsource.LOADER
    yamlsource.LOADER = loader
    home = tempfile.mkdtemp(prefix="crmproof-home-")
    os.environ["CRMPROOF_HOME"] = home  # an empty parse cache: every file is parsed
    try:
        started = time.perf_counter()
        suite = workspace.load(ws)
        validate.check(suite)
        elapsed = time.perf_counter() - started
    finally:
        yamlsource.LOADER = kept
        shutil.rmtree(home)
    assert not suite.errors, suite.errors[:3]
    return elapsed


def ratio(ws: Path, repeat: int) -> None:
    from crmproof import yamlsource

    fast, slow = yamlsource.LOADER, yaml.SafeLoader
    times: dict[str, list[float]] = {"c": [], "python": []}
    in_process(ws, fast)  # warm imports and caches
    for i in range(repeat):
        order = [("c", fast), ("python", slow)]
        for name, loader in order if i % 2 == 0 else reversed(order):
            times[name].append(in_process(ws, loader))
    c, py = times["c"], times["python"]
    print(
        f"in process, load + checks, {repeat} interleaved runs: "
        f"C loader min {min(c):.3f}s median {statistics.median(c):.3f}s; "
        f"pure-Python loader min {min(py):.3f}s median {statistics.median(py):.3f}s"
    )
    print(
        f"ratio C / pure-Python: min {min(c) / min(py):.3f}x, "
        f"median {statistics.median(c) / statistics.median(py):.3f}x"
    )


def absolute(ws: Path, count: int, repeat: int) -> None:
    """Fresh processes: imports included, as a user pays them; cold and warm interleaved."""
    from measured import Measured

    runs: dict[str, list[Measured]] = {"cold": [], "warm": []}
    with tempfile.TemporaryDirectory(prefix="crmproof-home-") as warm_home:
        homes = {"warm": warm_home}
        validate_in(ws, count, warm_home)  # leaves the cache a previous validate leaves
        for _ in range(repeat):
            with tempfile.TemporaryDirectory(prefix="crmproof-home-") as cold_home:
                homes["cold"] = cold_home
                for name in runs:
                    runs[name].append(validate_in(ws, count, homes[name]))
    for name, done in runs.items():
        walls = [r.wall for r in done]
        cpus = [r.cpu for r in done]
        print(
            f"`crmproof validate` of {count} scenarios, {name} parse cache, {repeat} fresh "
            f"processes: wall min {min(walls):.2f}s median {statistics.median(walls):.2f}s; "
            f"CPU min {min(cpus):.2f}s median {statistics.median(cpus):.2f}s; peak RSS max "
            f"{max(r.peak_mib for r in done):.0f} MiB (target: 1.5 s, 150 MiB)",
            flush=True,
        )


def validate_in(ws: Path, count: int, home: str) -> Any:
    from measured import run_crmproof

    done = run_crmproof(["validate", "-w", str(ws)], env={**os.environ, "CRMPROOF_HOME": home})
    if done.returncode != 0 or f"{count} scenario" not in done.stderr:
        raise SystemExit(f"validate failed:\n{done.stderr[-2000:]}")
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenarios", type=int, default=10_000)
    parser.add_argument("--ratio-scenarios", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        small = generate(Path(tmp) / "small", args.ratio_scenarios)
        ratio(small, args.repeat)
        absolute(ROOT / "examples" / "starter", 5, args.repeat)  # the floor: imports, start-up
        big = generate(Path(tmp) / "big", args.scenarios)
        absolute(big, args.scenarios, args.repeat)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
