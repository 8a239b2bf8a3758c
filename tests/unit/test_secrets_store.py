"""The secrets file keeps every sandbox's values when sandboxes start side by side."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from crmproof.secrets_store import read_secrets, secrets_path, write_secrets


def test_merges_at_the_same_time_lose_no_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRMPROOF_HOME", str(tmp_path))
    start = threading.Barrier(6)

    def vendor(n: int) -> None:
        start.wait()
        for i in range(40):
            write_secrets({f"VENDOR{n}_KEY{i}": f"v{n}-{i}"})

    threads = [threading.Thread(target=vendor, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert read_secrets() == {f"VENDOR{n}_KEY{i}": f"v{n}-{i}" for n in range(6) for i in range(40)}
    assert secrets_path().stat().st_mode & 0o777 == 0o600
