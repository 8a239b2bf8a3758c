"""The vendors' response files: located errors for unknown ids, vendors and fit grades."""

from __future__ import annotations

import shutil
from pathlib import Path

from crmproof import validate, workspace
from crmproof.responses import load_responses

ROOT = Path(__file__).resolve().parent.parent.parent


def _workspace(tmp_path: Path, response: str) -> Path:
    """The reference workspace's catalog and evaluation, with one response file."""
    root = tmp_path / "ws"
    root.mkdir(parents=True)
    shutil.copy(ROOT / "crmproof.yaml", root / "crmproof.yaml")
    shutil.copytree(ROOT / "requirements", root / "requirements")
    (root / "scenarios").mkdir()
    (root / "responses").mkdir()
    (root / "responses" / "tryton.yaml").write_text(response)
    return root


def _messages(root: Path) -> list[str]:
    suite = workspace.load(root)
    validate.check(suite)
    return [str(d) for d in sorted(suite.diagnostics) if "responses" in d.path]


def test_unknown_requirement_vendor_and_fit_are_located(tmp_path: Path) -> None:
    root = _workspace(
        tmp_path,
        "vendor: trytn\n"
        "responses:\n"
        "  L2O-1.1: {fit: native, note: On the lead form.}\n"
        "  L2O-9.1: {fit: native, note: Nowhere.}\n",
    )
    found = "\n".join(_messages(root))
    assert "tryton.yaml:1:9: no vendor 'trytn' in crmproof.yaml (did you mean 'tryton'?)" in found
    assert "tryton.yaml:4:3: unknown requirement id 'L2O-9.1' (did you mean 'L2O-" in found
    root = _workspace(
        tmp_path / "fit", "vendor: tryton\nresponses:\n  C2R-1.1: {fit: nativ, note: Typo.}\n"
    )
    found = "\n".join(_messages(root))
    assert "tryton.yaml:3:18: responses.C2R-1.1.fit: input should be 'native'" in found


def test_a_valid_file_loads_its_claims_and_warns_of_unanswered_ids(tmp_path: Path) -> None:
    root = _workspace(
        tmp_path,
        "vendor: tryton\nresponses:\n  L2O-1.1: {fit: configuration, note: A lead source.}\n",
    )
    responses = load_responses(root)
    claim = responses.claim("tryton", "L2O-1.1")
    assert claim is not None and claim.fit == "configuration"
    assert responses.claim("tryton", "L2O-1.2") is None
    found = _messages(root)
    assert len(found) == 1 and "warning: 64 requirement(s) without a claim" in found[0]


def test_the_reference_workspace_has_a_complete_response_per_vendor() -> None:
    responses = load_responses(ROOT)
    assert sorted(responses.by_vendor) == ["bottlecrm", "djangocrm", "tryton"]
    suite = workspace.load(ROOT)
    ids = {r.id for r in suite.catalog.requirements}
    for loaded in responses.by_vendor.values():
        assert set(loaded.model.responses) == ids
    assert responses.diagnostics == []
