"""`crmproof verify`: the signature, every digest, and a scorecard that follows from results.

Digests alone prove nothing against someone who can rewrite them: whoever changes a
verdict in results.jsonl can rewrite its SHA-256 in manifest.json too. So a run verifies
only when (1) the team's public key verifies the attestation's signature, (2) every run
file matches both the signed statement and the manifest, and (3) the scorecard scored
afresh from results.jsonl equals scorecard.json, cell by cell. Each problem names the
file and, for the scorecard, the vendor, requirement and field that differ.

An evidence pack (a zip written by `crmproof pack`) verifies the same way, and its
workspace files must match the digests the signed statement recorded at the run.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crmproof import attest, dsse, manifest, render
from crmproof.errors import CrmproofError
from crmproof.keys import key_id
from crmproof.results import read_events

MAX_DIFFERENCES = 20
PACK_RUN = "run"
PACK_WORKSPACE = "workspace"
MAX_PACK_BYTES = 2_000_000_000


@dataclass
class Outcome:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    signed_by: str | None = None  # key id of the signature that verified
    unsigned: bool = False
    files: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


_PLURALS = {
    "vendors": "vendor",
    "requirements": "requirement",
    "scenarios": "scenario",
    "processes": "process",
    "strategies": "strategy",
    "roles": "role",
    "rollups": "rollup",
}


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    """A list of records as a dict by their name or id, when every record has one."""
    for name in ("name", "id"):
        if items and all(isinstance(i, dict) and name in i for i in items):
            keyed = {str(i[name]): i for i in items}
            if len(keyed) == len(items):
                return keyed
    return None


def differences(
    written: Any, derived: Any, where: tuple[str, ...] = (), parent: str = ""
) -> list[tuple[str, Any, Any]]:
    """(place, written value, derived value) for every leaf that differs."""
    place = ", ".join(where) or "the whole file"
    if isinstance(written, list) and isinstance(derived, list):
        a, b = _keyed(written), _keyed(derived)
        if a is not None and b is not None:
            written, derived = a, b
        elif len(written) == len(derived):
            written, derived = dict(enumerate(written)), dict(enumerate(derived))
    if isinstance(written, dict) and isinstance(derived, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(set(written) | set(derived), key=str):
            if isinstance(key, int):
                label: tuple[str, ...] = (f"item {key}",)
            elif parent in _PLURALS:
                label = (f"{_PLURALS[parent]} {key}",)
            elif key in _PLURALS:  # its members name themselves: "vendor tryton"
                label = ()
            else:
                label = (f"field {key}",)
            child = (*where, *label)
            if key not in written:
                out.append((", ".join(child or (f"field {key}",)), "(absent)", derived[key]))
            elif key not in derived:
                out.append((", ".join(child or (f"field {key}",)), written[key], "(absent)"))
            else:
                out += differences(written[key], derived[key], child, str(key))
        return out
    if written != derived:
        return [(place, written, derived)]
    return []


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def check_scorecard(folder: Path) -> list[str]:
    """scorecard.json against the scorecard scored afresh from results.jsonl."""
    path = folder / "scorecard.json"
    if not path.exists():
        return ["scorecard.json: missing"]
    try:
        written = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return [f"scorecard.json: not valid JSON ({exc})"]
    try:
        derived = json.loads(render.derive(folder).model_dump_json())
    except (CrmproofError, KeyError, ValueError, StopIteration, TypeError, AttributeError) as exc:
        return [f"results.jsonl: cannot be scored ({type(exc).__name__}: {exc})"]
    found = differences(written, derived)
    problems = [
        f"scorecard.json: {place}: the file says {_shown(a)}, results.jsonl gives {_shown(b)}"
        for place, a, b in found[:MAX_DIFFERENCES]
    ]
    if len(found) > MAX_DIFFERENCES:
        problems.append(f"scorecard.json: ... and {len(found) - MAX_DIFFERENCES} more")
    return problems


def _compare(recorded: dict[str, str], present: dict[str, str], against: str) -> list[str]:
    problems = [
        f"{name}: its SHA-256 differs from the {against} (edited since the run)"
        for name, digest in recorded.items()
        if name in present and present[name] != digest
    ]
    problems += [
        f"{name}: missing (listed in the {against})" for name in recorded if name not in present
    ]
    problems += [
        f"{name}: added since the run (not in the {against})"
        for name in present
        if name not in recorded
    ]
    return problems


def check_folder(
    folder: Path, public: Ed25519PublicKey | None, *, signature: bool = True
) -> Outcome:
    """Everything `crmproof verify` checks of a run folder; the signature too, unless told."""
    out = Outcome()
    out.problems += [f"{manifest.MANIFEST}: {p}" for p in manifest.verify(folder)]
    env = attest.read(folder)
    if env is None:
        out.problems.append(
            f"{attest.ATTESTATION}: missing: nothing signed says what this run wrote"
        )
    else:
        _check_attestation(folder, env, public, out, signature)
    out.problems += check_scorecard(folder)
    out.files = len(manifest.files(folder))
    return out


def _check_attestation(
    folder: Path,
    env: dict[str, Any],
    public: Ed25519PublicKey | None,
    out: Outcome,
    signature: bool = True,
) -> dict[str, Any] | None:
    try:
        statement = attest.read_statement(env)
    except (dsse.EnvelopeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        out.problems.append(f"{attest.ATTESTATION}: {exc}")
        return None
    if statement.get("_type") != attest.STATEMENT_TYPE:
        out.problems.append(f"{attest.ATTESTATION}: _type is not {attest.STATEMENT_TYPE}")
    if statement.get("predicateType") != attest.PREDICATE_TYPE:
        out.problems.append(f"{attest.ATTESTATION}: predicateType is not {attest.PREDICATE_TYPE}")
    signatures = env.get("signatures") or []
    if not signatures:
        out.unsigned = True
        if public is not None and signature:
            out.problems.append(
                f"{attest.ATTESTATION}: UNSIGNED, but a public key was given: "
                "nothing shows who wrote this run"
            )
    elif not signature:
        pass
    elif public is None:
        ids = ", ".join(str(s.get("keyid", "?"))[:16] for s in signatures if isinstance(s, dict))
        out.problems.append(
            f"{attest.ATTESTATION}: signed by key id {ids}, but no public key to check it: "
            "pass --key with the team's public key"
        )
    else:
        problem = dsse.check_signature(env, public)
        if problem:
            out.problems.append(f"{attest.ATTESTATION}: {problem}")
        else:
            out.signed_by = key_id(public)
    subjects = {
        str(s.get("name")): str((s.get("digest") or {}).get("sha256"))
        for s in statement.get("subject", [])
        if isinstance(s, dict)
    }
    out.problems += [
        f"{p}" for p in _compare(subjects, attest.subjects_of(folder), "signed attestation")
    ]
    predicate = statement.get("predicate") or {}
    first = next(iter(read_events(folder / "results.jsonl")), None)
    run: dict[str, Any] = first.model_dump(mode="json") if first is not None else {}
    for name in ("run_id", "suite_sha256"):
        if predicate.get(name) != run.get(name):
            out.problems.append(
                f"{attest.ATTESTATION}: {name} {predicate.get(name)!r} differs from "
                f"results.jsonl's {run.get(name)!r}"
            )
    return statement


def check_inputs(workspace: Path, inputs: dict[str, str]) -> list[str]:
    """Workspace files against the digests the statement recorded at the run."""
    present = {
        name: manifest.sha256_file(workspace / name)
        for name in inputs
        if (workspace / name).is_file()
    }
    return [
        f"{name}: {'changed since the run' if name in present else 'missing'}"
        + " (the signed attestation recorded it at the run)"
        for name in inputs
        if present.get(name) != inputs[name]
    ]


def recorded_inputs(folder: Path) -> dict[str, str]:
    env = attest.read(folder)
    if env is None:
        return {}
    inputs = attest.read_statement(env).get("predicate", {}).get("inputs", {})
    return dict(inputs) if isinstance(inputs, dict) else {}


def _safe_members(archive: zipfile.ZipFile) -> list[str]:
    problems = []
    total = 0
    for info in archive.infolist():
        parts = PurePosixPath(info.filename).parts
        if info.filename.startswith("/") or ".." in parts or "\\" in info.filename:
            problems.append(f"{info.filename}: an unsafe path in the archive")
        total += info.file_size
    if total > MAX_PACK_BYTES:
        problems.append(f"the archive unpacks to {total} bytes: too large to verify")
    return problems


def check_pack(pack: Path, public: Ed25519PublicKey | None) -> Outcome:
    """Verify an evidence pack: its run folder, and its workspace files against the run."""
    try:
        archive = zipfile.ZipFile(pack)
    except (zipfile.BadZipFile, OSError) as exc:
        return Outcome(problems=[f"{pack}: not a readable zip archive ({exc})"])
    with archive, tempfile.TemporaryDirectory(prefix="crmproof-verify-") as tmp:
        unsafe = _safe_members(archive)
        if unsafe:
            return Outcome(problems=[f"{pack}: {p}" for p in unsafe])
        archive.extractall(tmp)
        root = Path(tmp)
        folder = root / PACK_RUN
        if not (folder / "results.jsonl").is_file():
            return Outcome(problems=[f"{pack}: no {PACK_RUN}/results.jsonl: not an evidence pack"])
        out = check_folder(folder, public)
        out.problems = [f"{PACK_RUN}/{p}" for p in out.problems]
        inputs = recorded_inputs(folder)
        out.problems += [
            f"{PACK_WORKSPACE}/{p}" for p in check_inputs(root / PACK_WORKSPACE, inputs)
        ]
        packed = {
            p.relative_to(root / PACK_WORKSPACE).as_posix()
            for p in (root / PACK_WORKSPACE).rglob("*")
            if p.is_file()
        }
        out.problems += [
            f"{PACK_WORKSPACE}/{name}: not recorded by the attestation at the run"
            for name in sorted(packed - set(inputs))
        ]
        out.files += len(packed)
        return out
