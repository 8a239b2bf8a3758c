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
