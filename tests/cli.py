"""The real command line, in a fresh interpreter, as a user or CI calls it.

Integration tests that run crmproof end to end go through this one function, so that a
traceback (a crash where a user mistake should get a located message) fails every one of
them the same way, and a hung run fails on a timeout instead of holding CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["command", "crmproof"]


def command(*args: str) -> list[str]:
    """The argv of a crmproof call, for tests that manage the process themselves."""
    return [sys.executable, "-m", "crmproof.cli", *args]


def crmproof(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str | None] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run crmproof; `env` overrides this process's environment (None removes a name)."""
    environ = dict(os.environ)
    for name, value in (env or {}).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    done = subprocess.run(
        command(*args), capture_output=True, text=True, timeout=timeout, cwd=cwd, env=environ
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done
