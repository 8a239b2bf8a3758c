"""`crmproof validate` at scale: 10,000 generated scenarios, time and peak memory.

The workspace is generated from the reference scenarios, each copied with a new id, in a
temporary folder. Two figures:

- the ratio against the previous path in this same process: the whole load + checks with
  the fast YAML path (crmproof.yamlfast: libyaml checks the syntax, rapidyaml builds the
  data) against the node path it replaces (libyaml's composer, a node per value),
  interleaved, repeated, min and median, on --ratio-scenarios scenarios;
- the absolute cost of `crmproof validate` on --scenarios scenarios, each run in a fresh
  subprocess, with the fast path and without it (interleaved): wall time, CPU time (user +
  system; the honest figure on a shared machine) and the process's own peak resident
  memory (bench/measured.py). The issue's target is 1.5 s, 150 MiB.

Nothing is cached between runs: every figure is a cold one.

    .venv/bin/python bench/validate_scale.py [--scenarios 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_PATH = "import crmproof.yamlsource as y; y.FAST = False"


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


def in_process(ws: Path, fast: bool) -> tuple[float, float]:
    """Wall and CPU seconds of load + checks, without the cyclic collector, as `validate`."""
    from crmproof import validate, workspace, yamlsource

    yamlsource.FAST = fast
    gc.disable()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        suite = workspace.load(ws)
        validate.check(suite)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        yamlsource.FAST = True
        gc.enable()
    assert not suite.errors, suite.errors[:3]
    return wall, cpu


def _figures(name: str, values: list[float]) -> str:
    return f"{name} min {min(values):.3f}s median {statistics.median(values):.3f}s"


def ratio(ws: Path, count: int, repeat: int) -> None:
    times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    in_process(ws, True)  # warm imports and caches
    in_process(ws, False)
    for i in range(repeat):
        for fast in (True, False) if i % 2 == 0 else (False, True):
            times[fast].append(in_process(ws, fast))
    for what, index in (("CPU", 1), ("wall", 0)):
        new = [t[index] for t in times[True]]
        old = [t[index] for t in times[False]]
        print(
            f"in process, load + checks of {count} scenarios, {repeat} interleaved runs, "
            f"{what}: {_figures('fast path', new)}; {_figures('node path', old)}; "
            f"ratio fast / node: min {min(new) / min(old):.3f}x, "
            f"median {statistics.median(new) / statistics.median(old):.3f}x",
            flush=True,
        )


def absolute(ws: Path, count: int, repeat: int, *, compare: bool) -> None:
    """Fresh processes: imports included, as a user pays them."""
    from measured import run_crmproof

    runs: dict[str, list] = {"fast path": [], "node path": []}
    setups = {"fast path": "", "node path": NODE_PATH} if compare else {"fast path": ""}
    for i in range(repeat):
        order = list(setups.items())
        for name, setup in order if i % 2 == 0 else reversed(order):
            done = run_crmproof(["validate", "-w", str(ws)], setup=setup)
            if done.returncode != 0 or f"{count} scenario" not in done.stderr:
                raise SystemExit(f"validate failed:\n{done.stderr[-2000:]}")
            runs[name].append(done)
    for name, measured in runs.items():
        if not measured:
            continue
        walls = [r.wall for r in measured]
        cpus = [r.cpu for r in measured]
        print(
            f"`crmproof validate` of {count} scenarios, {name}, {repeat} fresh processes: "
            f"wall min {min(walls):.2f}s median {statistics.median(walls):.2f}s; "
            f"CPU min {min(cpus):.2f}s median {statistics.median(cpus):.2f}s; "
            f"peak RSS max {max(r.peak_mib for r in measured):.0f} MiB "
            "(target: 1.5 s, 150 MiB)",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenarios", type=int, default=10_000)
    parser.add_argument("--ratio-scenarios", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        big = generate(Path(tmp) / "big", args.scenarios)
        same = args.ratio_scenarios == args.scenarios
        small = big if same else generate(Path(tmp) / "ratio", args.ratio_scenarios)
        ratio(small, args.ratio_scenarios, args.repeat)
        # the floor: imports and start-up
        absolute(ROOT / "examples" / "starter", 5, args.repeat, compare=False)
        absolute(big, args.scenarios, args.repeat, compare=True)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
