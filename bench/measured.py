"""A crmproof command in a fresh process, with its own wall time, CPU time and peak memory.

The peak is the child's own VmHWM, read by the child itself as it exits: getrusage's
ru_maxrss for a child also counts the parent's memory at the fork (Linux keeps the old
image's high-water mark through exec), so a bench that grew large would be measured
instead of the command. CPU time (user + system) comes from os.wait4, for that child.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
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
