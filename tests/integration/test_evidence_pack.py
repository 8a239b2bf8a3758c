"""The evidence trail on a real run: the starter suite on the real Tryton sandbox, signed.

Runs `crmproof run`, `crmproof pack` and `crmproof verify` as a user would (separate
processes), verifies the pack somewhere else with nothing but the public key, and checks
that the three edits of a disputing party (a results line with its digest rewritten,
scorecard.json alone, another key) each fail with the reason named.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from crmproof.keys import SIGNING_KEY_ENV
from crmproof.secrets_store import read_secrets
from tests import cli
from tests.starter_run import StarterRun

pytestmark = pytest.mark.vendor("tryton")

ROOT = Path(__file__).resolve().parents[2]
STARTER = ROOT / "examples" / "starter"


def crmproof(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Without the caller's signing key, unless a test gives one."""
    return cli.crmproof(*args, cwd=cwd, env={SIGNING_KEY_ENV: None, **(env or {})})


@pytest.fixture(scope="module")
def signed_run(
    starter_run: StarterRun, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, Path]:
    """(run folder, its evidence pack, the public key) of the signed starter run on Tryton."""
    assert "signed: key id" in starter_run.stdout
    pack = tmp_path_factory.mktemp("evidence") / "evidence.zip"
    packed = crmproof(
        "pack",
        *("latest", "-w", str(STARTER), "--reports", str(starter_run.reports)),
        *("--out", str(pack)),
    )
    assert packed.returncode == 0, packed.stderr
    return starter_run.folder, pack, starter_run.public_key


def test_the_pack_verifies_elsewhere_with_only_the_public_key(
    signed_run: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, pack, public = signed_run
    shutil.copy(pack, tmp_path / "evidence.zip")
    shutil.copy(public, tmp_path / "team.pub")
    proc = crmproof(
        "verify",
        "evidence.zip",
        "--key",
        "team.pub",
        cwd=tmp_path,
        env={"CRMPROOF_HOME": str(tmp_path / "empty-home")},
    )
    assert proc.returncode == 0, proc.stderr
    assert "signature good" in proc.stdout
    with zipfile.ZipFile(pack) as archive:
        names = set(archive.namelist())
    scenarios = {f"workspace/scenarios/{p.name}" for p in (STARTER / "scenarios").glob("*.yaml")}
    assert scenarios and scenarios <= names
    assert {
        "README.txt",
        "run/results.jsonl",
        "run/attestation.intoto.json",
        "workspace/crmproof.yaml",
        "workspace/requirements/starter.yaml",
    } <= names


def test_no_secret_and_no_key_is_in_the_pack(signed_run: tuple[Path, Path, Path]) -> None:
    _, pack, public = signed_run
    secrets = {k: v for k, v in read_secrets().items() if any(w in k for w in ("PASS", "TOKEN"))}
    assert secrets  # the Tryton sandbox's passwords are among them
    private = (public.parent / "team.key").read_text().splitlines()[1]
    with zipfile.ZipFile(pack) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    for name, data in members.items():
        for secret_name, value in secrets.items():
            assert value.encode() not in data, f"{secret_name} in {name}"
        assert private.encode() not in data, name
        assert b"PRIVATE KEY" not in data, name


def test_untouched_run_verifies_and_each_edit_fails_with_its_reason(
    signed_run: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    folder, _, public = signed_run
    ok = crmproof("verify", str(folder), "--key", str(public))
    assert ok.returncode == 0, ok.stderr

    # (a) a failed scenario turned into a pass, its digest rewritten in the manifest
    edited = tmp_path / "results"
    shutil.copytree(folder, edited)
    lines = (edited / "results.jsonl").read_text().splitlines(keepends=True)
    index = next(
        i
        for i, line in enumerate(lines)
        if '"event":"scenario"' in line and '"STARTER-WRONG"' in line
    )
    event = json.loads(lines[index])
    assert event["status"] == "failed"
    event["status"] = "passed"
    lines[index] = json.dumps(event, ensure_ascii=False) + "\n"
    (edited / "results.jsonl").write_text("".join(lines))
    manifest = json.loads((edited / "manifest.json").read_text())
    manifest["files"]["results.jsonl"] = hashlib.sha256(
        (edited / "results.jsonl").read_bytes()
    ).hexdigest()
    (edited / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    proc = crmproof("verify", str(edited), "--key", str(public))
    assert proc.returncode == 1
    assert "results.jsonl: its SHA-256 differs from the signed attestation" in proc.stderr
    assert (
        "scorecard.json: vendor tryton, requirement O2C-1.1, field verdict: "
        'the file says "partly met", results.jsonl gives "met"' in proc.stderr
    )

    # (b) scorecard.json alone
    card_copy = tmp_path / "card"
    shutil.copytree(folder, card_copy)
    card = json.loads((card_copy / "scorecard.json").read_text())
    card["vendors"][0]["requirements"]["O2C-0.1"]["verdict"] = "met"
    (card_copy / "scorecard.json").write_text(json.dumps(card, indent=2))
    proc = crmproof("verify", str(card_copy), "--key", str(public))
    assert proc.returncode == 1
    assert (
        "scorecard.json: vendor tryton, requirement O2C-0.1, field verdict: "
        'the file says "met", results.jsonl gives "not met"' in proc.stderr
    )

    # (c) another key
    assert crmproof("key", "new", "--out", str(tmp_path / "other")).returncode == 0
    proc = crmproof("verify", str(folder), "--key", str(tmp_path / "other" / "crmproof.pub"))
    assert proc.returncode == 1
    assert "the signature does not verify with the given public key" in proc.stderr
