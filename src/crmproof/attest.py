"""attestation.intoto.json: a signed in-toto statement of what a run was and what it wrote.

When a vendor disputes a verdict after the contract is signed, the team must show what was
run, against which version, and that nobody edited the results since. The manifest alone
cannot: whoever edits results.jsonl can rewrite its digest too. The statement names every
run file (the manifest included) by SHA-256, and its predicate names the suite, each
vendor's product and adapter versions, crmproof's version, the run's start and end, and the
workspace files the run was made from; the team's Ed25519 key signs it in a DSSE envelope.

`crmproof report` re-renders the scorecard files. When they come out byte for byte the
same, nothing changes. When they differ (a newer crmproof renders differently), the
attestation is refreshed, but only if every file that is not rendered (results.jsonl,
evidence) still matches the statement and the old signature verifies with the signing key
at hand: re-signing is never a way to launder an edited results.jsonl.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from crmproof import __version__, dsse, manifest
from crmproof.keys import SigningKey
from crmproof.results import read_events

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://crmproof.dev/attestation/run/v1"
ATTESTATION = manifest.ATTESTATION
RENDERED = ("scorecard.json", "scorecard.md", "junit.xml", "ctrf.json", "index.html")
RESPONSES = "responses"


def _iso(at: float | None) -> str | None:
    if at is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1000):03d}Z"


def _files_under(folder: Path) -> Iterable[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def workspace_inputs(root: Path, requirements: str, scenarios: str) -> dict[str, str]:
    """The workspace files a run is made from, by SHA-256, read before the run starts.

    crmproof.yaml, the catalog and scenario folders and a `responses/` folder of vendor
    response files when there is one; hidden files and files outside the workspace are
    not recorded (and so never packed).
    """
    root = root.resolve()
    paths = [root / "crmproof.yaml"]
    for name in (requirements, scenarios, RESPONSES):
        paths += _files_under(root / name)
    out: dict[str, str] = {}
    for path in paths:
        resolved = path.resolve()
        if path.is_file() and resolved.is_relative_to(root):
            out[resolved.relative_to(root).as_posix()] = manifest.sha256_file(path)
    return out


def subjects_of(folder: Path) -> dict[str, str]:
    """Every run file the statement covers: the manifest's files and the manifest."""
    files = manifest.files(folder)
    if (folder / manifest.MANIFEST).exists():
        files[manifest.MANIFEST] = manifest.sha256_file(folder / manifest.MANIFEST)
    return dict(sorted(files.items()))


def predicate(folder: Path, inputs: dict[str, str]) -> dict[str, Any]:
    events = [e.model_dump(mode="json") for e in read_events(folder / "results.jsonl")]
    run = next(e for e in events if e["event"] == "run")
    end = next((e for e in events if e["event"] == "end"), None)
    ready = {e["vendor"]: e for e in events if e["event"] == "vendor"}
    recorded = json.loads((folder / manifest.MANIFEST).read_text()).get("adapters", {})
    vendors = {}
    for name, adapter in run.get("vendors", {}).items():
        event = ready.get(name, {})
        vendors[name] = {
            "adapter": adapter,
            "adapter_version": event.get("adapter_version"),
            "adapter_code_sha256": recorded.get(name, {}).get("code_sha256"),
            "product_version": event.get("vendor_version"),
            "channel": event.get("channel"),
            "status": event.get("status", "not started"),
        }
    return {
        "evaluation": run.get("evaluation"),
        "run_id": run["run_id"],
        "suite_sha256": run["suite_sha256"],
        "crmproof_version": __version__,
        "started": _iso(run.get("at")),
        "finished": _iso(end["at"]) if end else None,
        "complete": end is not None,
        "vendors": vendors,
        "inputs": dict(sorted(inputs.items())),
    }


def statement(subjects: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": n, "digest": {"sha256": d}} for n, d in subjects.items()],
        "predicateType": PREDICATE_TYPE,
        "predicate": body,
    }


def _write_envelope(folder: Path, body: dict[str, Any], key: SigningKey | None) -> dict[str, Any]:
    payload = json.dumps(statement(subjects_of(folder), body), indent=2).encode()
    env = dsse.envelope(payload, key)
    tmp = folder / f".{ATTESTATION}.tmp"
    tmp.write_text(json.dumps(env, indent=2) + "\n")
    os.replace(tmp, folder / ATTESTATION)
    return env


def write(folder: Path, key: SigningKey | None, inputs: dict[str, str]) -> dict[str, Any]:
    """Write the attestation of a run folder whose manifest is already written."""
    return _write_envelope(folder, predicate(folder, inputs), key)


def read(folder: Path) -> dict[str, Any] | None:
    """The envelope of a run folder, or None when the run has no attestation."""
    path = folder / ATTESTATION
    if not path.exists():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def read_statement(env: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(dsse.payload_of(env))
    return loaded


def is_signed(folder: Path) -> bool:
    env = read(folder)
    return bool(env and env.get("signatures"))


def _report_layer(name: str) -> bool:
    """Files a report may add or rewrite after the run: rendered views, the team's
    decisions and demo scores as the report took them in, and the suite-strength audit.
    results.jsonl and the evidence are never among them."""
    return name in RENDERED or name in ("decisions.yaml", "audit.json") or name.startswith("demos/")


def refresh(folder: Path, key: SigningKey | None) -> str | None:
    """After `crmproof report`: bring the attestation up to date, or say why it was not.

    Returns None when nothing had to change, else one line for the user.
    """
    env = read(folder)
    if env is None:
        return None
    subjects = {s["name"]: s["digest"]["sha256"] for s in read_statement(env).get("subject", [])}
    current = manifest.files(folder)
    changed = sorted(
        name
        for name in (set(current) | set(subjects)) - {manifest.MANIFEST}
        if current.get(name) != subjects.get(name)
    )
    if not changed:
        return None
    not_rendered = [name for name in changed if not _report_layer(name)]
    if not_rendered:
        return (
            f"the attestation was NOT refreshed: {', '.join(not_rendered)} differ from it; "
            "`crmproof verify` will fail"
        )
    body = read_statement(env)["predicate"]
    signed = bool(env.get("signatures"))
    if signed:
        if key is None:
            return (
                f"{', '.join(changed)} were re-rendered differently and the signing key is not "
                "at hand: the attestation was NOT refreshed (run `crmproof report` with it)"
            )
        problem = dsse.check_signature(env, key.public)
        if problem:
            return f"the attestation was NOT refreshed: {problem}"
    body["rendered_by"] = {"crmproof_version": __version__, "at": _iso(time.time())}
    manifest.refresh_files(folder)
    _write_envelope(folder, body, key if signed else None)
    return f"re-rendered {', '.join(changed)}: attestation refreshed"
