"""Secrets never reach a report, a log line, an error message or evidence.

Two canary runs of the starter suite on all three vendors, the browser one included: one
with the sandboxes' real credentials (random,
unique strings), and one where every credential is replaced by a unique canary, so that
the vendors refuse them and every error path is taken. After each, every file of the run
folder (inside archives too), every member of its evidence pack (`crmproof pack`) and
everything crmproof printed is searched for the secrets.
"""

from __future__ import annotations

import re
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crmproof.secrets_store import read_secrets
from tests.cli import crmproof

ROOT = Path(__file__).resolve().parents[2]
STARTER = ROOT / "examples" / "starter"
SECRET_NAME = re.compile(r"PASS|TOKEN|SECRET|KEY", re.IGNORECASE)


def texts_of(folder: Path) -> dict[str, bytes]:
    """Every file of a run folder, and every member of every zip in it, as bytes."""
    out: dict[str, bytes] = {}
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        out[str(path)] = data
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    out[f"{path}!{name}"] = archive.read(name)
    return out


def occurrences(secrets: dict[str, str], haystacks: dict[str, bytes]) -> list[str]:
    found = []
    for name, secret in secrets.items():
        needle = secret.encode()
        found += [f"{name} in {where}" for where, data in haystacks.items() if needle in data]
    return found


def run_starter(tmp: Path, env: dict[str, str], *vendors: str) -> tuple[Path, str]:
    reports = tmp / "reports"
    proc = crmproof(
        *("run", "-w", str(STARTER), "--reports", str(reports)),
        *("--evidence", "all"),  # every scenario's HAR and trace is searched too
        *[a for v in vendors for a in ("--vendor", v)],
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pack = tmp / "evidence.zip"
    packed = crmproof(
        *("pack", "latest", "-w", str(STARTER), "--reports", str(reports), "--out", str(pack)),
        env=env,
    )
    assert packed.returncode == 0, packed.stdout + packed.stderr
    printed = proc.stdout + proc.stderr + packed.stdout + packed.stderr
    return (reports / "latest").resolve(), printed


def pack_texts(tmp: Path) -> dict[str, bytes]:
    """Every member of the evidence pack that run_starter wrote."""
    with zipfile.ZipFile(tmp / "evidence.zip") as archive:
        return {f"evidence.zip!{n}": archive.read(n) for n in archive.namelist()}


@pytest.fixture
def vendors(vendor_sandbox: Callable[[str], dict[str, Any]]) -> list[str]:
    names = ["tryton", "bottlecrm", "djangocrm"]
    for name in names:
        vendor_sandbox(name)
    return names


SESSION_COOKIE = re.compile(rb"(sessionid|csrftoken)=(?!\*\*\*)[A-Za-z0-9]{8,}")


def test_real_credentials_appear_nowhere(vendors: list[str], tmp_path: Path) -> None:
    secrets = {k: v for k, v in read_secrets().items() if SECRET_NAME.search(k)}
    assert len(secrets) >= 4  # passwords and tokens of both vendors
    folder, printed = run_starter(tmp_path, {}, *vendors)
    haystacks = texts_of(folder) | pack_texts(tmp_path) | {"crmproof output": printed.encode()}
    traces = [name for name in haystacks if name.endswith(".zip")]
    shots = [name for name in haystacks if name.endswith(".png")]
    assert traces and shots  # the browser vendor's evidence is among what was searched
    hars = [name for name in haystacks if name.endswith(".har")]
    assert any("/tryton/" in n for n in hars) and any("/bottlecrm/" in n for n in hars)
    assert occurrences(secrets, haystacks) == []
    cookies = [w for w, data in haystacks.items() if SESSION_COOKIE.search(data)]
    assert cookies == []


def test_canary_credentials_appear_nowhere(vendors: list[str], tmp_path: Path) -> None:
    names = [k for k in read_secrets() if SECRET_NAME.search(k)]
    canaries = {name: f"canary-{name.lower()}-{uuid.uuid4().hex}" for name in names}
    folder, printed = run_starter(tmp_path, canaries, *vendors)
    results = (folder / "results.jsonl").read_text()
    assert '"status":"error"' in results  # the canaries were refused: error paths taken
    haystacks = texts_of(folder) | pack_texts(tmp_path) | {"crmproof output": printed.encode()}
    assert occurrences(canaries, haystacks) == []
    assert "canary-" not in printed
