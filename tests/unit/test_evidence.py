"""Signed attestations, `crmproof verify` and evidence packs, on a small real run.

The run is made by the real runner and CLI, against a protocol adapter program that needs
no vendor (tests/data/adapters/lying_adapter.py): what is under test here is the evidence
trail, which must fail, naming the reason, for every edit a disputing party could make.
The same checks on a real Tryton run are in tests/integration/test_evidence_pack.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import stat
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from crmproof import attest, dsse, keys, verify
from crmproof import workspace as workspaces
from crmproof.cli import main

DATA = Path(__file__).resolve().parents[1] / "data"

CATALOG = """\
strategies:
  - {id: S, title: Strategy}
roles:
  - {id: agent, title: Agent}
processes:
  - id: C2R
    title: Case to resolution
    strategy: S
    steps:
      - {id: C2R-1, title: Open a case, role: agent}
requirements:
  - id: C2R-1.1
    step: C2R-1
    kind: process-control
    priority: must
    weight: 3
    text: A case can be opened.
    success: The case is created.
  - id: C2R-1.2
    step: C2R-1
    kind: information-management
    priority: should
    weight: 1
    text: Cases can be found.
    success: The case is found by subject.
"""

OPEN = """\
id: OPEN-CASE
title: Open a case
covers: [C2R-1.1]
steps:
  - create: case
    with: {subject: "Broken ${run.id}"}
"""

FIND = """\
id: FIND-CASE
title: Find a case
covers: [C2R-1.2]
steps:
  - expect:
      find: case
      where: {subject: "Broken"}
      count: 0
"""


def make_workspace(root: Path, extra_comment: str = "") -> Path:
    ws = root / "ws"
    (ws / "requirements").mkdir(parents=True)
    (ws / "scenarios").mkdir()
    (ws / "responses").mkdir()
    command = json.dumps([sys.executable, str(DATA / "adapters" / "lying_adapter.py")])
    (ws / "crmproof.yaml").write_text(
        f"name: Tiny suite\nvendors:\n  liar:\n    command: {command}\n"
    )
    (ws / "requirements" / "catalog.yaml").write_text(CATALOG)
    (ws / "scenarios" / "open.yaml").write_text(OPEN + extra_comment)
    (ws / "scenarios" / "find.yaml").write_text(FIND)
    (ws / "responses" / "liar.yaml").write_text(
        "vendor: liar\nresponses:\n  C2R-1.1: {fit: native, note: out of the box}\n"
    )
    return ws


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


def crmproof(
    *args: str, home: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Done:
    """The real command line, in this process (a fresh interpreter per call is slow)."""
    environ: dict[str, str | None] = {keys.SIGNING_KEY_ENV: None, "CRMPROOF_HOME": str(home)}
    here = Path.cwd()
    os.chdir(cwd or here)
    try:
        result = CliRunner().invoke(main, list(args), env={**environ, **(env or {})})
    finally:
        os.chdir(here)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Done(result.exit_code, result.stdout, result.stderr)


class Run:
    def __init__(self, ws: Path, home: Path, folder: Path, printed: str) -> None:
        self.ws, self.home, self.folder, self.printed = ws, home, folder, printed

    @property
    def public(self) -> Path:
        return self.home / "keys" / "crmproof.pub"

    def copy(self, to: Path) -> Path:
        shutil.copytree(self.folder, to)
        return to


def make_run(root: Path, signed: bool = True, extra_comment: str = "", **env: str) -> Run:
    home = root / "home"
    ws = make_workspace(root, extra_comment)
    if signed:
        made = crmproof("key", "new", home=home)
        assert made.returncode == 0, made.stderr
    proc = crmproof("run", "-w", str(ws), home=home, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return Run(ws, home, (ws / "reports" / "latest").resolve(), proc.stdout + proc.stderr)


@pytest.fixture(scope="module")
def signed_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return make_run(tmp_path_factory.mktemp("signed"))


def rewrite_manifest_digest(folder: Path, name: str) -> None:
    path = folder / "manifest.json"
    recorded = json.loads(path.read_text())
    recorded["files"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    path.write_text(json.dumps(recorded, indent=2) + "\n")


def problems(folder: Path, public: Path | None) -> list[str]:
    return verify.check_folder(folder, keys.load_public(public) if public else None).problems


# -- an untouched run -----------------------------------------------------------------------


def test_an_untouched_signed_run_verifies(signed_run: Run) -> None:
    proc = crmproof(
        "verify", str(signed_run.folder), "--key", str(signed_run.public), home=Path("/nonexistent")
    )
    assert proc.returncode == 0, proc.stderr
    assert "signature good" in proc.stdout
    assert "scorecard.json follows from results.jsonl" in proc.stdout
    assert "signed: key id" in signed_run.printed
    assert "UNSIGNED" not in (signed_run.folder / "scorecard.md").read_text()


def test_the_statement_is_in_toto_v1_and_names_what_was_run(signed_run: Run) -> None:
    env = json.loads((signed_run.folder / attest.ATTESTATION).read_text())
    assert env["payloadType"] == "application/vnd.in-toto+json"
    statement = json.loads(base64.b64decode(env["payload"]))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == attest.PREDICATE_TYPE
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    on_disk = {
        p.relative_to(signed_run.folder).as_posix()
        for p in signed_run.folder.rglob("*")
        if p.is_file() and p.name != attest.ATTESTATION
    }
    assert set(subjects) == on_disk and "manifest.json" in subjects
    for name, digest in subjects.items():
        assert hashlib.sha256((signed_run.folder / name).read_bytes()).hexdigest() == digest
    events = [json.loads(line) for line in (signed_run.folder / "results.jsonl").open()]
    run = events[0]
    predicate = statement["predicate"]
    assert predicate["evaluation"] == "Tiny suite"
    assert predicate["suite_sha256"] == run["suite_sha256"]
    assert predicate["crmproof_version"]
    assert predicate["started"].startswith("20") and predicate["finished"]
    assert predicate["vendors"]["liar"]["adapter_version"] == "0.0.1"
    assert predicate["vendors"]["liar"]["product_version"] == "nothing 0"
    assert set(predicate["inputs"]) == {
        "crmproof.yaml",
        "requirements/catalog.yaml",
        "scenarios/open.yaml",
        "scenarios/find.yaml",
        "responses/liar.yaml",
    }


# -- the three edits of the issue ------------------------------------------------------------


def test_editing_any_results_line_and_its_manifest_digest_fails(
    signed_run: Run, tmp_path: Path
) -> None:
    lines = (signed_run.folder / "results.jsonl").read_text().splitlines(keepends=True)
    assert len(lines) >= 6
    for index in range(len(lines)):
        folder = signed_run.copy(tmp_path / f"line{index}")
        event = json.loads(lines[index])
        event["at"] = event["at"] + 1
        edited = [*lines[:index], json.dumps(event) + "\n", *lines[index + 1 :]]
        (folder / "results.jsonl").write_text("".join(edited))
        rewrite_manifest_digest(folder, "results.jsonl")
        found = problems(folder, signed_run.public)
        assert "results.jsonl: its SHA-256 differs from the signed attestation" in "\n".join(
            found
        ), (index, found)
        assert any(p.startswith("manifest.json: its SHA-256 differs") for p in found)


def test_flipping_a_verdict_in_results_names_the_cell(signed_run: Run, tmp_path: Path) -> None:
    folder = signed_run.copy(tmp_path / "flip")
    text = (folder / "results.jsonl").read_text()
    lines = text.splitlines(keepends=True)
    index = next(
        i for i, line in enumerate(lines) if '"event":"scenario"' in line and '"OPEN-CASE"' in line
    )
    event = json.loads(lines[index])
    assert event["status"] == "not shown"
    event["status"] = "passed"
    lines[index] = json.dumps(event) + "\n"
    (folder / "results.jsonl").write_text("".join(lines))
    rewrite_manifest_digest(folder, "results.jsonl")
    proc = crmproof("verify", str(folder), "--key", str(signed_run.public), home=signed_run.home)
    assert proc.returncode == 1
    assert "results.jsonl: its SHA-256 differs from the signed attestation" in proc.stderr
    assert (
        "scorecard.json: vendor liar, requirement C2R-1.1, field verdict: the file says "
        '"not shown", results.jsonl gives "met"' in proc.stderr
    )
    assert "does NOT verify" in proc.stderr


def test_editing_scorecard_json_alone_names_file_and_cell(signed_run: Run, tmp_path: Path) -> None:
    folder = signed_run.copy(tmp_path / "card")
    card = json.loads((folder / "scorecard.json").read_text())
    liar = next(v for v in card["vendors"] if v["name"] == "liar")
    liar["requirements"]["C2R-1.1"]["verdict"] = "met"
    (folder / "scorecard.json").write_text(json.dumps(card, indent=2))
    proc = crmproof("verify", str(folder), "--key", str(signed_run.public), home=signed_run.home)
    assert proc.returncode == 1
    assert "manifest.json: changed: scorecard.json" in proc.stderr
    assert "scorecard.json: its SHA-256 differs from the signed attestation" in proc.stderr
    assert (
        'scorecard.json: vendor liar, requirement C2R-1.1, field verdict: the file says "met", '
        'results.jsonl gives "not shown"' in proc.stderr
    )
    # Even with every digest "fixed", the scorecard no longer follows from the results.
    rewrite_manifest_digest(folder, "scorecard.json")
    assert any("field verdict" in p for p in problems(folder, signed_run.public))


def test_swapping_the_public_key_fails(signed_run: Run, tmp_path: Path) -> None:
    other = tmp_path / "other"
    assert crmproof("key", "new", "--out", str(other), home=tmp_path).returncode == 0
    proc = crmproof(
        "verify", str(signed_run.folder), "--key", str(other / "crmproof.pub"), home=tmp_path
    )
    assert proc.returncode == 1
    assert "the signature does not verify with the given public key" in proc.stderr
    assert "it was made by key id" in proc.stderr


def test_re_signing_an_edited_run_with_another_key_fails(signed_run: Run, tmp_path: Path) -> None:
    folder = signed_run.copy(tmp_path / "forged")
    text = (folder / "results.jsonl").read_text().replace('"not shown"', '"passed"')
    (folder / "results.jsonl").write_text(text)
    rewrite_manifest_digest(folder, "results.jsonl")
    forger_dir = tmp_path / "forger"
    private, _ = keys.new_pair(forger_dir)
    env = json.loads((folder / attest.ATTESTATION).read_text())
    body = attest.read_statement(env)["predicate"]
    (folder / attest.ATTESTATION).unlink()
    attest._write_envelope(folder, body, keys.load_private(private))
    found = problems(folder, signed_run.public)
    assert any("signature does not verify" in p for p in found), found
    assert any(p.startswith("scorecard.json: vendor liar") for p in found), found


def test_an_edited_statement_breaks_the_signature(signed_run: Run, tmp_path: Path) -> None:
    folder = signed_run.copy(tmp_path / "statement")
    path = folder / attest.ATTESTATION
    env = json.loads(path.read_text())
    statement = attest.read_statement(env)
    statement["predicate"]["vendors"]["liar"]["product_version"] = "nothing 9"
    env["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    path.write_text(json.dumps(env))
    assert any("signature does not verify" in p for p in problems(folder, signed_run.public))


def test_added_and_missing_files_are_named(signed_run: Run, tmp_path: Path) -> None:
    folder = signed_run.copy(tmp_path / "files")
    (folder / "junit.xml").unlink()
    (folder / "extra.txt").write_text("slipped in\n")
    found = problems(folder, signed_run.public)
    assert "junit.xml: missing (listed in the signed attestation)" in found
    assert "extra.txt: added since the run (not in the signed attestation)" in found


def test_a_signed_run_without_a_public_key_does_not_pass(signed_run: Run, tmp_path: Path) -> None:
    proc = crmproof("verify", str(signed_run.folder), home=tmp_path)
    assert proc.returncode == 1
    assert "no public key to check it: pass --key" in proc.stderr


# -- unsigned runs ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def unsigned_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return make_run(tmp_path_factory.mktemp("unsigned"), signed=False)


def test_an_unsigned_run_is_marked_plainly(unsigned_run: Run, tmp_path: Path) -> None:
    assert "UNSIGNED" in unsigned_run.printed
    assert (
        "> **UNSIGNED: this run carries no signature"
        in (unsigned_run.folder / "scorecard.md").read_text()
    )
    assert "UNSIGNED" in (unsigned_run.folder / "index.html").read_text()
    env = json.loads((unsigned_run.folder / attest.ATTESTATION).read_text())
    assert env["signatures"] == []
    proc = crmproof("verify", str(unsigned_run.folder), home=unsigned_run.home)
    assert proc.returncode == 0, proc.stderr
    assert "UNSIGNED" in proc.stderr and "UNSIGNED" in proc.stdout
    other = tmp_path / "k"
    keys.new_pair(other)
    keyed = crmproof(
        "verify", str(unsigned_run.folder), "--key", str(other / "crmproof.pub"), home=tmp_path
    )
    assert keyed.returncode == 1
    assert "UNSIGNED, but a public key was given" in keyed.stderr


def test_report_keeps_the_unsigned_mark_and_verifies(unsigned_run: Run, tmp_path: Path) -> None:
    folder = unsigned_run.copy(tmp_path / "copy")
    proc = crmproof("report", str(folder), home=unsigned_run.home)
    assert proc.returncode == 0, proc.stderr
    assert "UNSIGNED" in (folder / "scorecard.md").read_text()
    assert verify.check_folder(folder, None).problems == []


# -- crmproof report and the attestation ----------------------------------------------------


def test_report_on_an_untouched_run_changes_nothing(signed_run: Run, tmp_path: Path) -> None:
    folder = signed_run.copy(tmp_path / "report")
    before = (folder / attest.ATTESTATION).read_bytes()
    proc = crmproof("report", str(folder), home=signed_run.home)
    assert proc.returncode == 0, proc.stderr
    # The report may take in the workspace's decisions (decisions.yaml, demos/): then the
    # attestation is refreshed and still verifies; without them nothing would change.
    if not (folder / "decisions.yaml").exists():
        assert (folder / attest.ATTESTATION).read_bytes() == before
    assert problems(folder, signed_run.public) == []


def test_a_differently_rendered_report_is_re_signed(signed_run: Run, tmp_path: Path) -> None:
    folder = signed_run.copy(tmp_path / "rerender")
    with (folder / "scorecard.md").open("a") as md:
        md.write("\nas a newer crmproof renders it\n")
    key = keys.load_private(signed_run.home / "keys" / "crmproof.key")
    assert attest.refresh(folder, key) == "re-rendered scorecard.md: attestation refreshed"
    assert problems(folder, signed_run.public) == []
    statement = attest.read_statement(json.loads((folder / attest.ATTESTATION).read_text()))
    assert statement["predicate"]["rendered_by"]["crmproof_version"]


def test_report_never_re_signs_edited_results(signed_run: Run, tmp_path: Path) -> None:
    folder = signed_run.copy(tmp_path / "launder")
    text = (folder / "results.jsonl").read_text().replace('"not shown"', '"passed"')
    (folder / "results.jsonl").write_text(text)
    proc = crmproof("report", str(folder), home=signed_run.home)
    # `report` refuses to re-render a run whose own files no longer match its manifest,
    # so nothing is re-signed: the edit stays visible.
    assert "not re-reporting:\nchanged: results.jsonl" in proc.stderr
    found = problems(folder, signed_run.public)
    assert any(p.startswith("results.jsonl: its SHA-256 differs") for p in found), found


def test_report_without_the_key_leaves_a_stale_attestation_named(
    signed_run: Run, tmp_path: Path
) -> None:
    folder = signed_run.copy(tmp_path / "nokey")
    with (folder / "scorecard.md").open("a") as md:
        md.write("\nre-rendered\n")
    message = attest.refresh(folder, None)
    assert message and "the signing key is not at hand" in message
    assert "scorecard.md: its SHA-256 differs from the signed attestation" in "\n".join(
        problems(folder, signed_run.public)
    )


# -- keys ---------------------------------------------------------------------------------


def test_key_new_writes_a_private_key_only_its_owner_reads(tmp_path: Path) -> None:
    proc = crmproof("key", "new", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    private = tmp_path / "keys" / "crmproof.key"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert (tmp_path / "keys" / "crmproof.pub").read_text().startswith("-----BEGIN PUBLIC KEY")
    again = crmproof("key", "new", home=tmp_path)
    assert again.returncode == 1 and "a key already exists" in again.stderr
    assert "Traceback" not in again.stderr


def test_key_new_refuses_the_workspace(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    proc = crmproof("key", "new", "--out", "keys", home=tmp_path, cwd=ws)
    assert proc.returncode == 1
    assert "inside the workspace" in proc.stderr
    assert not (ws / "keys").exists()


def test_a_named_key_that_cannot_be_read_stops_the_run(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    proc = crmproof(
        "run",
        "-w",
        str(ws),
        home=tmp_path,
        env={keys.SIGNING_KEY_ENV: str(tmp_path / "nope.key")},
    )
    assert proc.returncode == 1
    assert "nope.key: cannot read the signing key" in proc.stderr
    assert not (ws / "reports").exists()


def test_an_unprotected_signing_key_is_refused(tmp_path: Path) -> None:
    private, _ = keys.new_pair(tmp_path / "k")
    private.chmod(0o644)
    with pytest.raises(keys.UserInputError, match="chmod 600"):
        keys.load_private(private)


def test_pae_is_dsse_v1() -> None:
    assert dsse.pae("t", b"ab") == b"DSSEv1 1 t 2 ab"


# -- evidence packs -----------------------------------------------------------------------


def test_a_pack_verifies_with_only_the_public_key(signed_run: Run, tmp_path: Path) -> None:
    target = tmp_path / "evidence.zip"
    proc = crmproof(
        "pack", "latest", "-w", str(signed_run.ws), "--out", str(target), home=signed_run.home
    )
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
        readme = archive.read("README.txt").decode()
    assert {
        "README.txt",
        "run/results.jsonl",
        "run/scorecard.json",
        "run/manifest.json",
        "run/attestation.intoto.json",
        "workspace/crmproof.yaml",
        "workspace/requirements/catalog.yaml",
        "workspace/scenarios/open.yaml",
        "workspace/scenarios/find.yaml",
        "workspace/responses/liar.yaml",
    } <= names
    assert not any("keys" in n or n.endswith(".key") for n in names)
    assert "crmproof verify evidence.zip --key TEAM.pub" in readme
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(target, elsewhere / "evidence.zip")
    shutil.copy(signed_run.public, elsewhere / "team.pub")
    checked = crmproof(
        "verify", "evidence.zip", "--key", "team.pub", home=elsewhere / "home", cwd=elsewhere
    )
    assert checked.returncode == 0, checked.stderr
    assert "signature good" in checked.stdout


def _rezip(source: Path, target: Path, change: dict[str, bytes]) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            new.writestr(name, change.get(name, old.read(name)))


def test_an_edited_pack_fails_naming_the_member(signed_run: Run, tmp_path: Path) -> None:
    target = tmp_path / "evidence.zip"
    pack_proc = crmproof(
        "pack", "-w", str(signed_run.ws), "--out", str(target), home=signed_run.home
    )
    assert pack_proc.returncode == 0, pack_proc.stderr
    edited = tmp_path / "edited.zip"
    _rezip(target, edited, {"workspace/scenarios/open.yaml": (OPEN + "# later\n").encode()})
    outcome = verify.check_pack(edited, keys.load_public(signed_run.public))
    assert outcome.problems == [
        "workspace/scenarios/open.yaml: changed since the run "
        "(the signed attestation recorded it at the run)"
    ]
    card = tmp_path / "card.zip"
    with zipfile.ZipFile(target) as archive:
        scorecard = archive.read("run/scorecard.json").replace(b'"not shown"', b'"met"', 1)
    _rezip(target, card, {"run/scorecard.json": scorecard})
    found = verify.check_pack(card, keys.load_public(signed_run.public)).problems
    assert "run/scorecard.json: its SHA-256 differs from the signed attestation" in "\n".join(found)


def test_pack_refuses_a_workspace_edited_since_the_run(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    (run.ws / "scenarios" / "find.yaml").write_text(FIND + "# edited after the run\n")
    proc = crmproof("pack", "-w", str(run.ws), home=run.home)
    assert proc.returncode == 1
    assert "the workspace changed since run" in proc.stderr
    assert "scenarios/find.yaml: changed since the run" in proc.stderr
    assert not list((run.ws / "reports").glob("*.zip"))


def test_a_secret_never_enters_a_pack(tmp_path: Path) -> None:
    canary = "canary-token-5f1e0c9a"
    run = make_run(tmp_path, extra_comment=f"# token: {canary}\n", LIAR_API_TOKEN=canary)
    proc = crmproof("pack", "-w", str(run.ws), home=run.home, env={"LIAR_API_TOKEN": canary})
    assert proc.returncode == 1
    assert "workspace/scenarios/open.yaml: holds LIAR_API_TOKEN" in proc.stderr
    assert canary not in proc.stdout + proc.stderr
    assert not list((run.ws / "reports").glob("*.zip"))


def test_a_pack_with_an_unsafe_path_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("../escape.txt", "x")
    outcome = verify.check_pack(bad, None)
    assert outcome.problems == [f"{bad}: ../escape.txt: an unsafe path in the archive"]
    assert not (tmp_path / "escape.txt").exists()


# -- an empty scenario file ---------------------------------------------------------------


@pytest.mark.parametrize("content", ["", "   \n\n", "# a scenario, some day\n# more\n"])
def test_an_empty_scenario_file_gets_a_located_warning(tmp_path: Path, content: str) -> None:
    ws = make_workspace(tmp_path)
    (ws / "scenarios" / "later.yaml").write_text(content)
    suite = workspaces.load(ws)
    warnings = [str(d) for d in suite.diagnostics if "holds no scenario" in d.message]
    assert len(warnings) == 1
    assert warnings[0].endswith(
        "scenarios/later.yaml:1:1: warning: this file holds no scenario: it is empty or only "
        "comments (write the scenario, or delete the file)"
    )
    proc = crmproof("validate", "-w", str(ws), home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "later.yaml:1:1: warning: this file holds no scenario" in proc.stderr
    assert "1 file(s) held no scenario" in proc.stderr
    if not content:  # `run` says so too, once is enough
        run = crmproof("run", "-w", str(ws), home=tmp_path)
        assert "warning: 1 scenario file(s) held no scenario: " in run.stderr
        assert "later.yaml" in run.stderr


def test_a_file_with_a_scenario_is_not_counted_empty(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    proc = crmproof("validate", "-w", str(ws), home=tmp_path)
    assert "held no scenario" not in proc.stderr
