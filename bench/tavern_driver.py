"""Runs Tavern tests in Tavern's own virtual environment, for bench/step_cost.py.

Tavern 3.7 imports a pytest 8 internal that pytest 9 (crmproof's test runner) renamed,
so it cannot share crmproof's environment; step_cost.py makes a separate one and runs
this file there. It runs each given Tavern file once to warm up, then `rounds` times,
interleaved, and prints each run's CPU time as JSON: {file: [seconds, ...]}.

    python bench/tavern_driver.py ROUNDS FILE...
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> None:
    from tavern.core import run

    rounds, files = int(sys.argv[1]), sys.argv[2:]
    args = ["-q", "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir", os.getcwd()]

    def once(path: str) -> float:
        cpu = time.process_time()
        with open(os.devnull, "w") as quiet:
            stdout, sys.stdout = sys.stdout, quiet
            try:
                code = run(path, pytest_args=args)
            finally:
                sys.stdout = stdout
        if code != 0:
            raise SystemExit(f"Tavern failed on {path} ({code})")
        return time.process_time() - cpu

    for path in files:
        once(path)
    times: dict[str, list[float]] = {path: [] for path in files}
    for i in range(rounds):
        for path in files if i % 2 == 0 else reversed(files):
            times[path].append(once(path))
    print(json.dumps(times))


if __name__ == "__main__":
    main()
