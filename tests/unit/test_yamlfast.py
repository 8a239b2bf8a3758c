"""The fast path (crmproof.yamlfast) yields exactly the data of the node path, or steps aside.

Every YAML file of the repository, tricky scalars and structures, hostile input and mutated
scenarios are read both ways: the data must be identical, types included, and where the
node path reports a problem the fast path must have stepped aside, so that the same
located diagnostics are given.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmproof import yamlfast, yamlsource
from crmproof.diagnostics import SpecError
from tests.unit.test_hostile_input import HOSTILE, SEEDS, mutate

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(
    p
    for p in ROOT.rglob("*.y*ml")
    if p.suffix in (".yaml", ".yml") and not {".venv", ".git", "node_modules"} & set(p.parts)
)


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    yield
    yamlsource.FAST = True


def strict(value: object) -> object:
    """`value` with every type spelled out: 1, 1.0 and True must not compare equal."""
    if isinstance(value, dict):
        return ("dict", [(k, strict(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [strict(v) for v in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


def read(raw: bytes | str, *, fast: bool) -> object:
    """Every document's data, or every diagnostic in full."""
    yamlsource.FAST = fast
    try:
        with yamlfast.batch():
            return [strict(d.data) for d in yamlsource.parse_documents(raw, "f.yaml")]
    except SpecError as exc:
        return [str(d) for d in exc.diagnostics]


def same_both_ways(raw: bytes | str) -> None:
    assert read(raw, fast=True) == read(raw, fast=False)


def taken(text: str) -> bool:
    with yamlfast.batch():
        return yamlfast.load(text, yamlsource.MAX_DEPTH) is not yamlfast.UNSURE


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_of_the_repository(path: Path) -> None:
    same_both_ways(path.read_bytes())


def test_plain_scenarios_take_the_fast_path() -> None:
    """Else the comparisons above would compare the node path with itself."""
    scenarios = [p for p in FILES if "scenarios" in p.parts]
    fast = [p for p in scenarios if taken(p.read_text())]
    assert len(scenarios) > 50 and len(fast) >= 0.9 * len(scenarios)


# numbers, booleans, nulls, dates, and texts that look like something, as SafeLoader
# (YAML 1.1) reads them
_WORDS = """
    0 -0 +1 12 012 0o17 0x1F 0b101 1_000 1:20 190:20:30 1.5 1. .5 -.5 +.5 0.5 -0.5
    1e3 1.0e3 1.0e+3 1.5E-3 1.2.3 .inf -.inf +.inf .Inf .NaN .nan NaN Infinity -Infinity
    123456789012345678901234567890 1_ 0_0
    yes Yes YES no No on On off OFF y n Y N true True TRUE false False null Null NULL ~
    2027-02-26 2027-02-26T10:00:00Z 2027-2-6 10:30 = << ${deal.id} ü #x a#b @x `x`
    x] x} x,y ' " %x !x &x *x | > ? - --
"""
SCALARS = [
    *_WORDS.split(),
    *["", "9" * 50, "1 2", "- a", "a: b", "Acme ${run.id}", "€ 12", "a #b", "? x", 'a"b'],
]


def _forms(text: str) -> list[str]:
    single = "'" + text.replace("'", "''") + "'"
    double = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return [text, single, double]


@pytest.mark.parametrize("scalar", SCALARS)
def test_scalars_plain_and_quoted(scalar: str) -> None:
    for form in _forms(scalar):
        for doc in (
            f"a: {form}\n",
            f"- {form}\n",
            f"a: [{form}, x]\n",
            f"a: {{k: {form}}}\n",
            f"{form}: v\n",
            f"steps:\n  - create: account\n    with: {{amount: {form}}}\n",
        ):
            same_both_ways(doc)


STRUCTURES = {
    "empty values": "a:\nb: \nc: ~\nd: []\ne: {}\n- x\n",
    "empty values in a map": "a:\nb: \nc: ~\nd: []\ne: {}\n",
    "empty items": "-\n- \n- []\n- {}\n-   - x\n",
    "multi-line plain": "a: one\n  two\n\n  three\nb: x\n",
    "multi-line quoted": "a: \"one\n  two\n\n  three\"\nb: 'x\n  y'\n",
    "multi-line flow": "a: [1, 2,\n  3, {b: c,\n  d: e}]\n",
    "folded": "a: >\n  one\n  two\n\n  three\nb: x\n",
    "literal": "a: |\n  one\n   two\n\nb: x\n",
    "keep and strip": "a: |+\n  one\n\nb: >-\n  two\n",
    "indent indicator": "a: |2\n   one\n  two\n",
    "more indented fold": "a: >\n  one\n    two\n  three\n",
    "folded at the end": "a: >\n  one\n  two\n\n\n",
    "kept at the end": "a: |+\n  one\n\n\n",
    "stripped folded": "a: >-\n  one\n\n  two\n",
    "leading blank lines": "a: |\n\n\n  one\nb: >\n\n  two\n",
    "folded with indented lines": "a: >\n  p\n\n    code\n    more\n\n  q\n  r\n",
    "header comment": "a: > # note\n  one # not a comment\n",
    "block in a sequence": "- |\n  one\n- >-\n  two\n  three\n- x\n",
    "nested block": "s:\n  - d: >\n      long\n      text\n    e: 1\n",
    "empty block": "a: |\nb: >\n\nc: 1\n",
    "less indented end": "a:\n  b: |\n    x\n  c: y\n",
    "comments": "# head\na: 1 # one\n# mid\nb: [x, # in flow\n  y]\n",
    "document start": "---\na: 1\n",
    "document end": "a: 1\n...\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "directive": "%YAML 1.1\n---\na: 1\n",
    "anchor and alias": "a: &x {b: 1}\nc: *x\n",
    "tag": "a: !!str 12\nb: !!int '3'\n",
    "custom tag": "a: !thing x\n",
    "merge key": "a: &x {b: 1}\nc: {<<: *x}\n",
    "duplicate key": "a: 1\nb: 2\na: 3\n",
    "duplicate key in flow": "a: {x: 1, x: 2}\n",
    "duplicate key after quoting": "a: 1\n'a': 2\n",
    "complex key": "? [a, b]\n: c\n",
    "explicit key": "? a\n: b\n",
    "quoted keys": "'a b': 1\n\"c\": 2\n3: x\n",
    "null key": "~: x\n",
    "empty key": '"": x\n',
    "tab": "a:\n\tb: 1\n",
    "tab in value": "a: x\ty\n",
    "crlf": "a: 1\r\nb: 2\r\n",
    "escapes": 'a: "x\\ty\\u00e9\\x41\\N\\_"\n',
    "nbsp": "a: x\u00a0y\n",
    "unicode": "naïve: Ünïcödé ✓ 😀\n",
    "trailing spaces": "a: x   \nb: 'y'   \n",
    "indentless sequence": "a:\n- 1\n- b: 2\n  c: 3\n",
    "compact nested sequence": "- - - a\n    - b\n",
    "scalar document": "just text\n",
    "number document": "12\n",
    "empty document": "",
    "comment only": "# nothing\n",
    "syntax error": "a: b: c\n",
    "unclosed flow": "a: [1, 2\n",
    "reserved indicator": "a: @x\n",
    "bad indentation": "a:\n  b: 1\n c: 2\n",
    "colon in flow": "a: {b:c, d: e}\n",
    "question in text": "a: why? because\nb: is it ok ?\n",
    "ampersand in quotes": 'a: "R & D"\nb: "x *y"\n',
    "deep": "a: " + "[" * 70 + "]" * 70 + "\n",
    "at the limit": "a: " + "[" * 62 + "x" + "]" * 62 + "\n",
    "just past the limit": "a: " + "[" * 64 + "x" + "]" * 64 + "\n",
    "wide": "a: [" + ", ".join(str(i) for i in range(5000)) + "]\n",
    "long line of text": "a: " + "x" * 5000 + "\n",
}


def test_ryml_never_writes_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    """libyaml accepts this flow mapping, ryml refuses it and prints why: to /dev/null."""
    text = "s:\n  w: {n: x,\n e: y}\n"
    assert not taken(text)
    same_both_ways(text)
    assert capfd.readouterr().err == ""


def test_outside_a_batch_every_file_takes_the_node_path() -> None:
    assert yamlfast.load("a: 1\n", yamlsource.MAX_DEPTH) is yamlfast.UNSURE
    assert taken("a: 1\n")


@pytest.mark.parametrize("case", list(STRUCTURES))
def test_structures(case: str) -> None:
    same_both_ways(STRUCTURES[case])


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_input(case: str) -> None:
    same_both_ways(HOSTILE[case])


edit = st.tuples(
    st.integers(0, 5000),
    st.integers(0, 3),
    st.sampled_from(
        [
            *b": - { } [ ] , # ' \" yes 012 1.5 .5 ~ '' \\ ? | > ! &a *a".split(),
            *[b"", b": ", b"- ", b"  ", b"\n", b"\n  ", b"&a ", b"\t", b"\r", b"---\n"],
            *[b"...\n", b"\xc3\xa9"],
        ]
    ),
)


@settings(max_examples=400, deadline=None)
@given(seed=st.sampled_from(SEEDS), edits=st.lists(edit, min_size=1, max_size=5))
def test_mutated_scenarios(seed: bytes, edits: list[tuple[int, int, bytes]]) -> None:
    same_both_ways(mutate(seed, edits))


BROKEN = {
    "bad1.yaml": "id: BAD-1\ntitle: x\ncovers: [O2C-1.1, NOPE-1]\nsteps:\n  - create: acount\n"
    '    with: {name: "a ${nothing.id}", amount: yes}\n  - creat: account\n'
    '  - expect: {get: account, id: "${x.id}", fields: {nme: 1}}\n',
    "bad2.yaml": "id: BAD-2\ntitle: y\ncovers: [O2C-1.1]\nsteps:\n  - create: account\n"
    "    with: {name: a, name: b}\n",
    "bad3.yaml": 'id: BAD-3\ntitle: "z\nsteps: [\n',
    "bad4.yaml": "id: BAD-4\ntitle: t\ncovers: [O2C-1.1]\nextra: 1\nsteps:\n"
    "  - create: account\n    with: {name: x, phone: 12}\n    sav: x\n",
    "empty.yaml": "",
}


def test_a_workspace_reads_the_same_both_ways(tmp_path: Path) -> None:
    """Every located error and warning of `crmproof validate`, with and without the fast path."""
    from crmproof import validate, workspace
    from tests.unit.test_hostile_input import load_scenario

    load_scenario(tmp_path, b"id: X\n")  # a copy of the starter workspace
    for name, text in BROKEN.items():
        (tmp_path / "ws" / "scenarios" / name).write_text(text)
    found = []
    for fast in (True, False):
        yamlsource.FAST = fast
        suite = workspace.load(tmp_path / "ws")
        validate.check(suite)
        found.append(sorted(str(d) for d in suite.diagnostics))
    assert found[0] == found[1]
    assert any("bad1.yaml:8:52: unknown field 'nme'" in d for d in found[0])
    assert any("bad2.yaml:6:21: duplicate key 'name'" in d for d in found[0])
