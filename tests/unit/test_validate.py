"""The validator: one located line per mistake, all of a file's mistakes at once."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crmproof import validate, workspace

DATA = Path(__file__).resolve().parent.parent / "data"


def messages(root: Path) -> list[str]:
    suite = workspace.load(root)
    validate.check(suite)
    return [str(d) for d in sorted(suite.diagnostics)]


def test_every_mistake_is_located_with_a_suggestion() -> None:
    found = "\n".join(messages(DATA / "badspec"))
    scen = str(Path("tests/data/badspec/scenarios/bad.yaml"))
    for expected in [
        f"{scen}:3:19: covers 'L2O-9.9', which is no requirement (did you mean 'L2O-",
        f"{scen}:6:36: unknown field 'emial' of account (did you mean 'email'?)",
        f"{scen}:9:43: opportunity.amount: expected a number, got 'lots'",
        f"{scen}:11:5: unknown operation 'advnce' (did you mean 'advance'?)",
        f"{scen}:15:9: '${{dael.id}}': no earlier step saves 'dael' (did you mean 'deal'?)",
        f"{scen}:16:9: unknown opportunity stage 'wonn' (did you mean 'won'?)",
        "unknown role 'repp' (did you mean 'rep'?)",
        "unknown process step 'L2O-9' (did you mean 'L2O-",
        "warning: requirement 'L2O-2.1' is covered by no scenario",
        f"{scen}:21:7: warning: this find checks what it finds but not what it must not",
    ]:
        assert expected in found, f"missing: {expected}\n--- got:\n{found}"


LATER = """\
id: BAD
title: [not, text]
covers: [L2O-1.1, NOPE-1]
steps:
  - create: acount
  - create: account
    with: {name: "${nobody.id}"}
"""


def test_checks_made_while_loading_report_the_same_from_the_parse_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loader runs each scenario's checks of meaning and then drops its data: parsed or
    read from the cache, beside a shape error or not, every diagnostic is the same."""
    monkeypatch.setenv("CRMPROOF_HOME", str(tmp_path / "home"))
    root = tmp_path / "ws"
    shutil.copytree(DATA / "badspec", root)
    (root / "scenarios" / "later.yaml").write_text(LATER)
    monkeypatch.chdir(root)
    suites = [workspace.load(root) for _ in range(2)]  # parsed, then from the cache
    for suite in suites:
        validate.check(suite)
    found = [[str(d) for d in suite.diagnostics] for suite in suites]
    assert found[1] == found[0]
    later = [m for m in found[0] if m.startswith("scenarios/later.yaml:")]
    assert later == [
        "scenarios/later.yaml:2:8: title: input should be a valid string (got list)",
        "scenarios/later.yaml:1:5: duplicate scenario id 'BAD' (first defined at "
        "scenarios/bad.yaml:1)",
        "scenarios/later.yaml:3:19: covers 'NOPE-1', which is no requirement",
        "scenarios/later.yaml:5:13: unknown entity 'acount' (did you mean 'account'?); "
        "expected one of: account, activity, case, contact, invoice, lead, opportunity, order, "
        "product, user",
        "scenarios/later.yaml:7:11: '${nobody.id}': no earlier step saves 'nobody'",
    ]
    assert all(doc.data is None for suite in suites for doc in suite.scenario_docs)
    assert validate.covered_requirements(suites[1]) == {"L2O-1.1", "L2O-9.9", "NOPE-1"}


def test_the_files_of_a_folder_are_those_rglob_finds_in_the_order_of_their_parts(
    tmp_path: Path,
) -> None:
    root = tmp_path / "scenarios"
    for name in [
        "b.yaml", "a/x.yml", "a-b/x.yaml", "a/.hidden.yaml", ".yaml", "..yaml", "c.yaml.txt",
        "d.YAML", "e.yaml.", "deep/er/f.yaml", "a/z.yaml", "a.yaml/inside.yaml",
    ]:  # fmt: skip
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("id: x\n")
    (root / "linked").symlink_to(root / "a")  # a linked folder: not walked into
    (root / "linked.yaml").symlink_to(root / "b.yaml")
    found = [p for p in root.rglob("*.y*ml") if p.suffix in (".yaml", ".yml")]
    expected = [str(p) for p in sorted(found, key=lambda p: p.parts)]
    assert workspace._yaml_files(root) == expected
    assert [p[len(str(root)) + 1 :] for p in expected] == [
        "..yaml", "a/.hidden.yaml", "a/x.yml", "a/z.yaml", "a-b/x.yaml", "a.yaml",
        "a.yaml/inside.yaml", "b.yaml", "deep/er/f.yaml", "linked.yaml",
    ]  # fmt: skip


def test_attribute_walking_is_not_an_expression() -> None:
    """`__class__` is only ever a dict key to the language, never a Python attribute."""
    import pytest

    from crmproof.interpolation import InterpolationError, resolve

    with pytest.raises(InterpolationError, match="'deal' has no '__class__'; it has: id"):
        resolve("${deal.__class__}", {"deal": {"id": "1"}})


def test_validate_command_exits_non_zero_with_located_lines(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "crmproof.cli", "validate", "-w", str(DATA / "badspec")],
        capture_output=True,
        text=True,
        cwd=DATA.parent.parent,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    located = [line for line in proc.stderr.splitlines() if ".yaml:" in line]
    assert len(located) >= 8, proc.stderr
    assert "error(s)" in proc.stderr.splitlines()[-1]


def test_the_starter_and_reference_workspaces_are_valid() -> None:
    root = DATA.parent.parent
    for ws in (root / "examples" / "starter", root):
        errors = [m for m in messages(ws) if ": warning: " not in m]
        assert errors == [], "\n".join(errors)


def test_docs_vocabulary_is_current() -> None:
    from crmproof import vocabulary

    docs = DATA.parent.parent / "docs" / "vocabulary.md"
    assert docs.read_text() == vocabulary.markdown(), (
        "run: crmproof vocabulary > docs/vocabulary.md"
    )


def test_schemas_are_current(tmp_path: Path) -> None:
    from crmproof.schemas import write_schemas

    committed = DATA.parent.parent / "schemas"
    for path in write_schemas(tmp_path):
        rel = path.relative_to(tmp_path)
        assert (committed / rel).read_text() == path.read_text(), f"run: crmproof schema ({rel})"
