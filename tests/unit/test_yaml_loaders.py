"""libyaml's C loader and PyYAML's pure-Python fallback read every file the same way.

The C loader is the default for speed; the fallback must stay a drop-in, so both are run on
every reference and starter file, on hostile input and on mutated scenarios.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from crmproof import yamlsource
from crmproof.diagnostics import SpecError
from tests.unit.test_hostile_input import HOSTILE, SEEDS, mutate

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(
    p
    for folder in ("scenarios", "requirements", "examples/starter")
    for p in (ROOT / folder).rglob("*.yaml")
)
LOADERS = [yaml.SafeLoader, yamlsource.LOADER]


@pytest.fixture(autouse=True)
def _restore_loader() -> Iterator[None]:
    kept = yamlsource.LOADER
    yield
    yamlsource.LOADER = kept


def test_the_c_loader_is_the_default() -> None:
    assert yaml.__with_libyaml__
    assert issubclass(yamlsource.LOADER, yaml.cyaml.CParser)


def read_with(loader: type, raw: bytes) -> object:
    """Data and positions of every document, or the diagnostics of the error."""
    yamlsource.LOADER = loader
    try:
        return [(d.data, d.values, d.keys) for d in yamlsource.parse_documents(raw, "f.yaml")]
    except SpecError as exc:
        return [(d.line, d.col, d.severity) for d in exc.diagnostics]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_same_data_and_positions(path: Path) -> None:
    raw = path.read_bytes()
    python, c = (read_with(loader, raw) for loader in LOADERS)
    assert python == c
    assert isinstance(c, list) and c and isinstance(c[0], tuple) and len(c[0]) == 3


OWN_CHECKS = {
    "duplicate key": (b"a: 1\na: 2\n", "f.yaml:2:1: duplicate key 'a' (first given at line 1)"),
    "tag": (b"x: !!python/name:os.system ''\n", "f.yaml:1:4: tag 'tag:yaml.org,2002:python/"),
    "tab": (b"a:\n\tb: 1\n", "(YAML indents with spaces, not tabs)"),
    "tab in flow": (b"a: [1,\n\t2]\nb:\n\t- 1\n", "(YAML indents with spaces, not tabs)"),
    "control character": (b"a: 1\nb: x\x07y\n", "f.yaml:2:5: character U+0007 is not allowed"),
    "not utf-8": (b"a: \xff\n", "f.yaml:1:4: not UTF-8 text"),
    "merge key": (b"b: &b {x: 1}\nc: {<<: *b}\n", "f.yaml:2:5: merge keys (<<) are not supported"),
    "bad int": (b"a: 1\nb: !!int abc\n", "f.yaml:2:4: 'abc' is not a valid int"),
    "bad bool": (b"b: [!!bool maybe]\n", "f.yaml:1:5: 'maybe' is not a valid bool"),
    "scalar as map": (b'b: !!map "x"\n', "f.yaml:1:4: 'x' is not a valid map"),
}


@pytest.mark.parametrize("loader", LOADERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("case", list(OWN_CHECKS))
def test_own_checks_read_the_same(loader: type, case: str) -> None:
    raw, expected = OWN_CHECKS[case]
    yamlsource.LOADER = loader
    with pytest.raises(SpecError) as info:
        list(yamlsource.parse_documents(raw, "f.yaml"))
    assert expected in str(info.value)


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_input_reads_the_same(case: str) -> None:
    """Read alike (expressions are refused later, by validation), or both refuse it.

    Nesting beyond libyaml's limit of 1000 levels is refused by libyaml where it starts;
    PyYAML refuses it where Python's recursion limit strikes: the positions differ.
    """
    python, c = (read_with(loader, HOSTILE[case]) for loader in LOADERS)
    if case == "deep nesting":
        assert python and c and all(len(r) == 3 and r[2] == "error" for r in (*python, *c))  # type: ignore[misc]
    else:
        assert python == c


edit = st.tuples(
    st.integers(0, 5000),
    st.integers(0, 3),
    st.sampled_from(
        [b"", b":", b"- ", b"  ", b"\t", b"{", b"]", b"&a ", b"*a", b"'", b'"', b"\n", b"#", b"|"]
    ),
)


@settings(max_examples=300, deadline=None)
@given(seed=st.sampled_from(SEEDS), edits=st.lists(edit, min_size=1, max_size=4))
def test_mutated_files_read_alike_where_both_accept(
    seed: bytes, edits: list[tuple[int, int, bytes]]
) -> None:
    """Where both accept a file, data and positions are equal; otherwise each gives a located
    error. The two parsers differ at the edges of YAML: PyYAML reads `[a:]` as a mapping
    and refuses a tab before a top-level key, libyaml the other way round.
    """
    raw = mutate(seed, edits)
    python, c = (read_with(loader, raw) for loader in LOADERS)
    accepted = [bool(r) and isinstance(r[0][1], dict) for r in (python, c)]  # type: ignore[index]
    if all(accepted):
        assert python == c
    for result, ok in zip((python, c), accepted, strict=True):
        if not ok:
            assert result and all(line >= 1 and col >= 1 for line, col, _ in result)  # type: ignore[union-attr]
