"""`crmproof pack RUN`: one zip to attach to a contract, that verifies on its own.

It holds the run folder (results, scorecard, evidence, manifest, signed attestation), the
workspace files the run was made from (crmproof.yaml, requirements, scenarios, response
files) and a README on how to verify it. The workspace files must still be as they were at
the run: the signed statement recorded their digests then, and a pack with a scenario
edited since would show a suite that never ran, so packing refuses and names the file.
Nothing secret enters the pack: every member is searched for the credentials crmproof
knows of (the sandboxes' secrets file, secret-named environment variables, the signing
key) before the archive is written.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from crmproof import attest, keys, verify
from crmproof.errors import ResultsError, UserInputError
from crmproof.secrets_store import read_secrets

SECRET_NAME = re.compile(r"PASS|TOKEN|SECRET|KEY|CREDENTIAL|COOKIE", re.IGNORECASE)
NOT_SECRET = {keys.SIGNING_KEY_ENV}  # a path, not a key


@dataclass
class Pack:
    path: Path
    members: dict[str, int] = field(default_factory=dict)  # name: uncompressed size
    warnings: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def known_secrets() -> dict[str, str]:
    """Name to value of every credential crmproof knows of; values never leave this module."""
    found = {
        name: value
        for source in (read_secrets(), os.environ)
        for name, value in source.items()
        if SECRET_NAME.search(name) and name not in NOT_SECRET and len(value) >= 4
    }
    try:
        signing = keys.signing_key()
    except UserInputError:
        signing = None
    if signing is not None:
        body = b"".join(signing.private_pem().splitlines()[1:-1]).decode()
        found["the signing key"] = body
    return found


def readme(run_id: str, name: str, signed_by: str | None, evaluation: str | None) -> str:
    signature = (
        f"Signed with the team's Ed25519 key, key id {signed_by}."
        if signed_by
        else "UNSIGNED: this run was not signed; its digests show only that the files agree."
    )
    return f"""crmproof evidence pack: run {run_id} of "{evaluation}"

{signature}

  run/                        the run folder as crmproof wrote it
    results.jsonl             every event of the run, as it happened: the record of truth
    scorecard.json, .md, ...  the scorecard rendered from results.jsonl
    evidence/                 screenshots and traces of browser vendors
    manifest.json             SHA-256 of every run file, the suite and each adapter's code
    attestation.intoto.json   in-toto Statement v1 in a DSSE envelope: every run file by
                              SHA-256, the suite fingerprint, each vendor's product and
                              adapter versions, crmproof's version, start and end, and the
                              digests of the workspace files below as they were at the run
  workspace/                  crmproof.yaml, requirements, scenarios (and response files)

To verify it, get the team's public key from the team itself (never from this archive),
install crmproof (`pip install -e .` in a clone of its repository) and run:

  crmproof verify {name} --key TEAM.pub

It checks the signature, every file's SHA-256 against the signed statement and the
manifest, the workspace files against the digests recorded at the run, and re-derives
the scorecard from results.jsonl, naming any file and cell that differ.
"""


def _members(folder: Path, workspace: Path, inputs: dict[str, str]) -> dict[str, Path]:
    members = {
        f"{verify.PACK_RUN}/{p.relative_to(folder).as_posix()}": p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    }
    members |= {f"{verify.PACK_WORKSPACE}/{name}": workspace / name for name in sorted(inputs)}
    return members


def _contents(name: str, path: Path) -> list[tuple[str, bytes]]:
    """A member's bytes, and those of every entry when it is itself a zip (a trace)."""
    data = path.read_bytes()
    out = [(name, data)]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as inner:
            out += [(f"{name}!{entry}", inner.read(entry)) for entry in inner.namelist()]
    return out


def write(folder: Path, workspace: Path, out: Path | None = None) -> Pack:
    """Write the evidence pack of a run folder; refuse when it could not verify."""
    env = attest.read(folder)
    if env is None:
        raise ResultsError(
            f"{folder}: no {attest.ATTESTATION}: this run cannot be packed as evidence "
            "(it was written before crmproof attested runs)"
        )
    statement = attest.read_statement(env)
    predicate = statement.get("predicate", {})
    run_id = str(predicate.get("run_id", folder.name))
    contents = verify.check_folder(folder, None, signature=False)
    if contents.problems:
        raise ResultsError(
            f"{folder}: the run no longer matches its attestation; nothing was packed:\n  "
            + "\n  ".join(contents.problems)
        )
    inputs = verify.recorded_inputs(folder)
    changed = verify.check_inputs(workspace, inputs)
    if changed:
        raise UserInputError(
            f"{workspace}: the workspace changed since run {run_id}; the pack must hold the "
            "files as they were at the run (restore them, e.g. from version control, and "
            "pack again):\n  " + "\n  ".join(changed)
        )
    members = _members(folder, workspace, inputs)
    secrets = known_secrets()
    leaks = [
        f"{where}: holds {secret_name}"
        for name, path in members.items()
        for where, data in _contents(name, path)
        for secret_name, value in secrets.items()
        if value.encode() in data
    ]
    if leaks:
        raise UserInputError(
            "a secret would enter the evidence pack; nothing was packed (write credentials "
            "as ${env:NAME} in crmproof.yaml):\n  " + "\n  ".join(leaks)
        )
    signed_by = None
    signatures = env.get("signatures") or []
    if signatures and isinstance(signatures[0], dict):
        signed_by = str(signatures[0].get("keyid"))
    target = out or folder.parent / f"{run_id}.evidence.zip"
    result = Pack(target)
    tmp = target.with_name(f".{target.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        text = readme(run_id, target.name, signed_by, predicate.get("evaluation"))
        archive.writestr("README.txt", text)
        result.members["README.txt"] = len(text.encode())
        for name, path in members.items():
            archive.write(path, name)
            result.members[name] = path.stat().st_size
    os.replace(tmp, target)
    if not signatures:
        result.warnings.append("the run is UNSIGNED: the pack shows consistency, not authorship")
    return result
