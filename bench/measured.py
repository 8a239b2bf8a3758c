"""What the benches measure with: a crmproof command in a fresh process (wall time, CPU
time and peak memory), the CPU of a process tree, and two ways' figures side by side.

The peak is the child's own VmHWM, read by the child itself as it exits: getrusage's
ru_maxrss for a child also counts the parent's memory at the fork (Linux keeps the old
image's high-water mark through exec), so a bench that grew large would be measured
instead of the command. CPU time (user + system) comes from os.wait4, for that child.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_WRAPPER = """
import atexit, sys
def _peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                sys.stderr.write("\\nVMHWM_KB " + line.split()[1] + "\\n")
atexit.register(_peak)
sys.argv = ["crmproof", *sys.argv[1:]]
from crmproof.cli import main
main()
"""


@dataclass
class Measured:
    wall: float  # seconds
    cpu: float  # seconds, user + system
    peak_mib: float
    returncode: int
    stdout: str
    stderr: str


def run_crmproof(
    args: list[str], env: Mapping[str, str] | None = None, setup: str = ""
) -> Measured:
    """`crmproof ARGS` in a fresh process, measured; `setup` is Python run before it."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", setup + "\n" + _WRAPPER, *args],
            stdout=out,
            stderr=err,
            env=dict(env) if env is not None else None,
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    found = re.findall(r"VMHWM_KB (\d+)", stderr)
    return Measured(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_mib=int(found[-1]) / 1024 if found else float("nan"),
        returncode=child.returncode,
        stdout=stdout,
        stderr=stderr,
    )


def tree_cpu(roots: Iterable[int] = ()) -> float:
    """CPU seconds of this process, the `roots` (a sandbox's server, say) and every
    descendant of them still running, from /proc."""
    children: dict[int, list[int]] = defaultdict(list)
    spent: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children[int(fields[1])].append(int(entry))
        spent[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    total, stack = 0.0, [os.getpid(), *roots]
    while stack:
        pid = stack.pop()
        total += spent.get(pid, 0.0)
        stack += children[pid]
    return total


def print_ways(
    cpu: dict[str, list[float]], wall: dict[str, list[float]], new: str, old: str, unit: str
) -> None:
    """Each way's CPU and wall figures (min and median), then the ratios new/old."""
    for way in cpu:
        c, w = cpu[way], wall[way]
        print(
            f"  {way:6}  CPU min {min(c):7.2f} {unit}  median {statistics.median(c):7.2f} {unit}"
            f"   wall min {min(w):7.2f} {unit}  median {statistics.median(w):7.2f} {unit}"
        )
    for what, figures in (("CPU", cpu), ("wall", wall)):
        ratio_min = min(figures[new]) / min(figures[old])
        ratio_median = statistics.median(figures[new]) / statistics.median(figures[old])
        print(f"  ratio {new}/{old}, {what}: min {ratio_min:.2f}x  median {ratio_median:.2f}x")
