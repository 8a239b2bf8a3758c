"""Hostile and broken input: always a located error, in bounded time, and nothing runs.

The property-based test feeds the whole loading pipeline (YAML -> models -> checks of
meaning) generated and mutated documents, and asserts it never raises: whatever the input,
a user gets diagnostics, never a traceback.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmproof import validate, workspace
from crmproof.diagnostics import Diagnostic

ROOT = Path(__file__).resolve().parents[2]
STARTER = ROOT / "examples" / "starter"
SEEDS = [p.read_bytes() for p in sorted((STARTER / "scenarios").glob("*.yaml"))]


def load_scenario(tmp: Path, content: bytes) -> list[Diagnostic]:
    """Put `content` in a copy of the starter workspace and load + check it all."""
    ws = tmp / "ws"
    if not ws.exists():
        shutil.copytree(STARTER, ws)
        (ws / "crmproof.yaml").write_text(
            (ws / "crmproof.yaml").read_text().replace("../../adapters", str(ROOT / "adapters"))
        )
    (ws / "scenarios" / "fuzzed.yaml").write_bytes(content)
    suite = workspace.load(ws)
    validate.check(suite)
    return suite.diagnostics


def errors_in_fuzzed(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.path.endswith("fuzzed.yaml") and d.severity == "error"]


def mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    for position, delete, insert in edits:
        at = position % (len(data) + 1)
        data = data[:at] + insert + data[at + delete :]
    return data


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
edit = st.tuples(
    st.integers(0, 5000),
    st.integers(0, 8),
    st.binary(max_size=6)
    | st.sampled_from(
        [
            b"${",
            b"}",
            b"\t",
            b"- ",
            b": ",
            b"&a ",
            b"*a",
            b"!!python/name:os.system ",
            b"\n  ",
            b"'",
            b'"',
            b"{",
            b"[",
            b"\xff",
            b"\x00",
            b"---\n",
        ]
    ),
)


@settings(
    max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.sampled_from(SEEDS), edits=st.lists(edit, min_size=1, max_size=6))
def test_mutated_scenarios_never_raise(
    tmp_path: Path, seed: bytes, edits: list[tuple[int, int, bytes]]
) -> None:
    load_scenario(tmp_path, mutate(seed, edits))  # must not raise


@settings(
    max_examples=100, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(doc=json_values)
def test_generated_documents_never_raise(tmp_path: Path, doc: object) -> None:
    load_scenario(tmp_path, yaml.safe_dump(doc).encode())


HOSTILE = {
    "alias bomb": (
        "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
        + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 10)}]\n"
            for i in range(9)
        )
    ).encode(),
    "huge file": b"id: X\ntitle: " + b"y" * 3_000_000 + b"\n",
    "huge line": b'id: X\ntitle: T\nsteps:\n  - create: account\n    with: {name: "'
    + b"n" * 500_000
    + b'"}\n',
    "deep nesting": b"id: " + b"[" * 5000 + b"]" * 5000 + b"\n",
    "deep block nesting": "".join("  " * i + f"k{i}:\n" for i in range(300)).encode(),
    "binary": bytes(range(256)) * 10,
    "latin-1": "id: Caf\xe9\ntitle: x\n".encode("latin-1"),
    "utf-16": "id: X\ntitle: x\n".encode("utf-16"),
    "tabs": b"id: X\ntitle: x\nsteps:\n\t- create: account\n",
    "duplicate keys": b"id: X\nid: Y\ntitle: x\nsteps: [{create: account}]\n",
    "python tag": b"id: !!python/object/apply:os.system ['touch /tmp/crmproof-pwned']\n",
    "custom tag": b"id: !Ref x\ntitle: t\nsteps: [{create: account}]\n",
    "merge key": b"base: &b {create: account}\nid: X\ntitle: t\nsteps: [{<<: *b}]\n",
    "expression to attribute": b"id: X\ntitle: t\nsteps:\n  - create: account\n"
    b'    with: {name: "${run.__class__.__mro__}"}\n',
    "expression to env": b"id: X\ntitle: t\nsteps:\n  - create: account\n"
    b'    with: {name: "${env:HOME}"}\n',
    "expression to code": b"id: X\ntitle: t\nsteps:\n  - create: account\n"
    b"    with: {name: \"${__import__('os').system('id')}\"}\n",
    "expression to file": b"id: X\ntitle: t\nsteps:\n  - create: account\n"
    b"    with: {name: \"${open('/etc/passwd').read()}\"}\n",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_input_gives_a_located_error_quickly(tmp_path: Path, name: str) -> None:
    started = time.monotonic()
    diagnostics = load_scenario(tmp_path, HOSTILE[name])
    elapsed = time.monotonic() - started
    errors = errors_in_fuzzed(diagnostics)
    assert errors, f"{name}: no error reported"
    assert all(d.line >= 1 and d.col >= 1 for d in errors)
    assert elapsed < 60, f"{name}: took {elapsed:.1f}s: the loader's bounds did not hold"
    assert not Path("/tmp/crmproof-pwned").exists()
