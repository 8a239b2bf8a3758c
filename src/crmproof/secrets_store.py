"""The secrets file: credentials kept outside every workspace, readable by the owner only.

`crmproof sandbox up` writes what it creates (passwords, tokens) here, and `${env:NAME}` in
crmproof.yaml falls back to it when NAME is not in the environment. Keeping it outside the
workspace means a credential can never be committed with the evaluation, and one place to
look means the results writer knows every value it must scrub.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["crmproof_home", "read_secrets", "secrets_path", "write_secrets"]


def crmproof_home() -> Path:
    return Path(os.environ.get("CRMPROOF_HOME", Path.home() / ".local/share/crmproof"))


def secrets_path() -> Path:
    return crmproof_home() / "secrets.env"


def read_secrets() -> dict[str, str]:
    path = secrets_path()
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def write_secrets(values: Mapping[str, str]) -> None:
    """Merge `values` into the secrets file, atomically, readable by the owner only.

    Sandboxes start side by side (the test session starts all three at once), and each
    merges its values in: without the lock, two merges read the same old file and the
    last one written drops the other's values, so a vendor's tests read its old port.
    """
    path = secrets_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released as the file closes
        merged = {**read_secrets(), **values}
        tmp = path.with_suffix(".tmp")  # one writer at a time, under the lock
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("# written by `crmproof sandbox up`; never commit this file\n")
            for key in sorted(merged):
                out.write(f"{key}={merged[key]}\n")
        os.replace(tmp, path)
