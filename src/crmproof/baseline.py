"""Per-vendor baselines: the verdicts a team expects, so CI flags only the unexpected.

After the contract the evaluation becomes a regression suite, and a vendor's known gaps
would keep it red forever. Like the OpenID conformance suite's expected-failure files, a
baseline lists, per vendor, the verdict expected of each requirement and the status of
each scenario; a run fails only where it differs, in either direction (a fix is news too:
accept it by writing the baseline again). A requirement or scenario absent from the
baseline is expected to be met / to pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from crmproof.errors import UserInputError
from crmproof.scoring import Scorecard, VendorCard

__all__ = ["Unexpected", "check", "dump", "load", "of_vendor", "workspace_baselines"]

HEADER = (
    "# crmproof baseline for {vendor}, written from run {run}.\n"
    "# `crmproof run` exits 1 only when a result differs from these; edit or rewrite it\n"
    "# (`crmproof baseline RUN`) to accept a change. Absent ids are expected met / passed.\n"
)


def of_vendor(card: Scorecard, vendor: VendorCard) -> dict[str, Any]:
    return {
        "vendor": vendor.name,
        "run": card.run_id,
        "vendor_version": vendor.vendor_version,
        "adapter_version": vendor.adapter_version,
        "requirements": {
            rid: cell.verdict
            for rid, cell in vendor.requirements.items()
            if cell.scenarios and not cell.stale
        },
        "scenarios": {sid: result.status for sid, result in vendor.scenarios.items()},
    }


def dump(card: Scorecard, vendor: VendorCard) -> str:
    body = str(yaml.safe_dump(of_vendor(card, vendor), sort_keys=False, allow_unicode=True))
    return HEADER.format(vendor=vendor.name, run=card.run_id) + body


def load(path: Path) -> dict[str, dict[str, Any]]:
    """Vendor -> its baseline, from a file of one YAML document per vendor."""
    try:
        docs = list(yaml.safe_load_all(path.read_text("utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise UserInputError(f"{path}: not a readable baseline: {exc}") from None
    out: dict[str, dict[str, Any]] = {}
    for number, doc in enumerate(docs, 1):
        if doc is None:
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("vendor"), str):
            raise UserInputError(f"{path}: document {number}: expected a mapping with `vendor:`")
        for key in ("requirements", "scenarios"):
            if not isinstance(doc.get(key) or {}, dict):
                raise UserInputError(f"{path}: {doc['vendor']}: `{key}:` must map ids to verdicts")
        out[doc["vendor"]] = doc
    return out


def workspace_baselines(root: Path) -> dict[str, dict[str, Any]]:
    """The baselines a workspace keeps in baselines/<vendor>.yaml."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((root / "baselines").glob("*.y*ml")):
        out.update(load(path))
    return out


@dataclass(frozen=True)
class Unexpected:
    vendor: str
    what: str  # "requirement" | "scenario"
    id: str
    expected: str
    actual: str

    def __str__(self) -> str:
        return f"{self.vendor} / {self.what} {self.id}: expected {self.expected}, got {self.actual}"


def check(card: Scorecard, baselines: dict[str, dict[str, Any]]) -> list[Unexpected]:
    """Every result of `card` that differs from its vendor's baseline.

    Only what this run tested is compared (a run filtered with -k or --stale leaves the
    rest untested, which is no change), and a stale cell is no evidence either way.
    """
    out: list[Unexpected] = []
    for vendor in card.vendors:
        expected = baselines.get(vendor.name)
        if expected is None:
            continue
        reqs = expected.get("requirements") or {}
        for rid, cell in vendor.requirements.items():
            ran = any(s in vendor.scenarios for s in cell.scenarios)
            if not ran or cell.stale:
                continue
            want = str(reqs.get(rid, "met"))
            if cell.verdict != want:
                out.append(Unexpected(vendor.name, "requirement", rid, want, cell.verdict))
        scenarios = expected.get("scenarios") or {}
        for sid, result in vendor.scenarios.items():
            want = str(scenarios.get(sid, "passed"))
            if result.status != want:
                out.append(Unexpected(vendor.name, "scenario", sid, want, result.status))
    return out
