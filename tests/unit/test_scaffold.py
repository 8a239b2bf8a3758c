"""`crmproof init`: a workspace that validates as written; never over an existing folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from click.testing import CliRunner

from crmproof.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _validate(ws: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crmproof.cli", "validate"],
        cwd=ws,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_init_writes_a_workspace_that_validates(tmp_path: Path) -> None:
    ws = tmp_path / "x"
    result = CliRunner().invoke(main, ["init", str(ws)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    checked = _validate(ws)
    assert checked.returncode == 0, checked.stderr
    assert "2 scenarios, 3 requirements (3 covered, every one covered)" in checked.stderr
    assert "0 error(s), 0 warning(s)" in checked.stderr
    for path in [*ws.glob("*.yaml"), *ws.glob("*/*.yaml"), *ws.glob(".github/workflows/*")]:
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
        target = first.split("=", 1)[1]
        assert target.startswith("https://") or (path.parent / target).is_file(), path
    assert (ws / ".gitignore").read_text().splitlines()[-1] == "reports/"
    responses = yaml.safe_load((ws / "responses" / "tryton.yaml").read_text())
    assert responses["vendor"] == "tryton"
    assert responses["responses"] == {}  # to be answered by the vendor, one line each:
    text = (ws / "responses" / "tryton.yaml").read_text()
    assert all(f"#  {rid}: {{fit: native" in text for rid in ("WIN-1.1", "WIN-1.2", "WIN-2.1"))
    workflow = yaml.safe_load((ws / ".github" / "workflows" / "crmproof.yml").read_text())
    steps = " ".join(str(s) for s in workflow["jobs"]["evaluate"]["steps"])
    assert "crmproof run" in steps and "GITHUB_STEP_SUMMARY" in steps and "junit.xml" in steps


def test_init_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = CliRunner().invoke(main, ["init", str(tmp_path)])
    assert result.exit_code == 1
    assert "not empty (notes.txt)" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert "Traceback" not in result.output


def test_init_from_copies_a_workspace_with_working_references(tmp_path: Path) -> None:
    ws = tmp_path / "copy"
    source = ROOT / "examples" / "starter"
    result = CliRunner().invoke(main, ["init", str(ws), "--from", str(source)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (ws / "scenarios").iterdir()) == sorted(
        p.name for p in (source / "scenarios").iterdir()
    )
    checked = _validate(ws)
    assert checked.returncode == 0, checked.stderr
    first = (ws / "scenarios" / "account.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/scenario.schema.json"


def test_the_error_for_a_missing_workspace_names_a_command_that_exists(tmp_path: Path) -> None:
    checked = _validate(tmp_path)
    assert "`crmproof init DIR` makes one" in checked.stderr
    made = CliRunner().invoke(main, ["init", str(tmp_path / "DIR")])
    assert made.exit_code == 0
