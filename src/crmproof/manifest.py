"""manifest.json: a SHA-256 of every file of a run, of the suite and of each adapter.

A scorecard attached to a contract is worth something only if it can be checked later:
`crmproof verify RUN` recomputes every digest and names any file that changed, went
missing or was added since the run was written.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from crmproof.errors import ResultsError
from crmproof.events import RunStarted, VendorReady
from crmproof.results import read_events

MANIFEST = "manifest.json"
# Written after the manifest and covering it (see crmproof.attest), so not listed in it.
ATTESTATION = "attestation.intoto.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    return _sha256(path)


def _files(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): _sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and p.name != MANIFEST
        and p != folder / ATTESTATION
        and not p.name.startswith(".")
        and ".stale." not in p.name  # views against today's workspace (crmproof.stale)
    }


def adapter_digest(folder: Path) -> str:
    """One digest over an adapter package's Python files: its exact code."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def write(folder: Path, adapters: dict[str, Path | None]) -> dict[str, Any]:
    """Write the manifest of a finished run folder."""
    run: RunStarted | None = None
    vendors: dict[str, VendorReady] = {}
    for event in read_events(folder / "results.jsonl"):
        if isinstance(event, RunStarted):
            run = event
        elif isinstance(event, VendorReady):
            vendors[event.vendor] = event
    if run is None:
        raise ResultsError(f"{folder / 'results.jsonl'}: no run event: nothing to sign for")
    manifest = {
        "run_id": run.run_id,
        "suite_sha256": run.suite_sha256,
        "adapters": {
            name: {
                "adapter": run.vendors.get(name),
                "adapter_version": vendors[name].adapter_version if name in vendors else None,
                "vendor_version": vendors[name].vendor_version if name in vendors else None,
                "code_sha256": adapter_digest(path) if path and path.is_dir() else None,
            }
            for name, path in adapters.items()
        },
        "files": _files(folder),
    }
    tmp = folder / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, folder / MANIFEST)
    return manifest


def files(folder: Path) -> dict[str, str]:
    """Every file of a run folder a manifest lists, by its SHA-256."""
    return _files(folder)


def refresh_files(folder: Path) -> dict[str, Any]:
    """Re-list the files after `crmproof report` re-rendered them; the rest stays as run."""
    path = folder / MANIFEST
    recorded = json.loads(path.read_text())
    recorded["files"] = _files(folder)
    tmp = folder / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(recorded, indent=2) + "\n")
    os.replace(tmp, path)
    return dict(recorded)


def verify(folder: Path) -> list[str]:
    """Problems found: changed, missing or unlisted files. Empty means intact."""
    path = folder / MANIFEST
    if not path.exists():
        return [f"{path}: no manifest: this run folder cannot be verified"]
    recorded = json.loads(path.read_text())["files"]
    present = _files(folder)
    problems = [
        f"changed: {name}"
        for name, digest in recorded.items()
        if name in present and present[name] != digest
    ]
    problems += [f"missing: {name}" for name in recorded if name not in present]
    problems += [f"added since the run: {name}" for name in present if name not in recorded]
    return problems


REPORT_FILES = ("scorecard.json", "scorecard.md", "junit.xml", "ctrf.json", "index.html")
"""Files a report writes; `crmproof report` may rewrite them, the run's own files never."""


def reseal(folder: Path, decision_files: list[str]) -> list[str]:
    """After `crmproof report`: record the new report and decision files in the manifest.

    The run's own files (results.jsonl, evidence) keep the digests recorded when the run
    was written, and must still match them: a tampered run is never sealed again. Returns
    the problems found; the manifest is rewritten only when there are none. A run folder
    without a manifest stays without one.
    """
    path = folder / MANIFEST
    if not path.exists():
        return []
    manifest = json.loads(path.read_text())
    layer = set(REPORT_FILES) | set(decision_files) | set(manifest.get("decision_files", []))
    problems = [p for p in verify(folder) if p.split(": ", 1)[-1] not in layer]
    if problems:
        return problems
    present = _files(folder)
    files = {n: d for n, d in manifest["files"].items() if n not in layer}
    files.update({n: present[n] for n in sorted(layer) if n in present})
    manifest["files"] = dict(sorted(files.items()))
    manifest["decision_files"] = sorted(decision_files)
    tmp = folder / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, path)
    return []


def verify_sources(folder: Path, workspace: Path, current: list[str]) -> list[str]:
    """Decision files edited in the workspace since the run's report took them in.

    `current` names the workspace's decision files now (decisions.yaml, demos/*.yaml).
    """
    path = folder / MANIFEST
    if not path.exists():
        return []
    manifest = json.loads(path.read_text())
    recorded = manifest.get("decision_files")
    if recorded is None:
        return []
    problems = []
    for name in recorded:
        source = workspace / name
        if not source.is_file():
            problems.append(f"removed from the workspace since the report: {name}")
        elif _sha256(source) != manifest["files"].get(name):
            problems.append(f"edited in the workspace since the report: {name}")
    # A decision file added since says nothing of this run until a report takes it in
    # (`crmproof report`); `current` is kept for callers that list what is there now.
    del current
    return problems
