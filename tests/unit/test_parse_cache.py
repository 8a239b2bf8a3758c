"""A workspace loaded again gives the same suite without parsing what did not change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crmproof import parsecache, workspace, yamlsource
from crmproof.parsecache import ParseCache
from crmproof.yamlsource import parse_documents

SCENARIO = """\
id: S-1
title: One account
covers: [R-1]
steps:
  - create: account
    with: {name: "Acme ${run.id}", size: 12, ratio: 0.5, vip: true, note: null}
    save: acme
"""
STARTER = Path(__file__).resolve().parents[2] / "examples" / "starter"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A crmproof home of the test's own, so that no other test's cache is read."""
    monkeypatch.setenv("CRMPROOF_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _workspace(root: Path) -> Path:
    shutil.copytree(STARTER, root, ignore=shutil.ignore_patterns("reports"))
    return root


def _parse(root: Path, raw: bytes) -> tuple[list[yamlsource.Document], ParseCache]:
    cache = ParseCache(root, yamlsource.reader())
    docs = list(parse_documents(raw, "s.yaml", cache=cache))
    cache.save()
    return docs, cache


def test_a_text_parsed_once_is_not_parsed_again_and_gives_the_same_data(tmp_path: Path) -> None:
    raw = (SCENARIO + "---\nid: S-2\n").encode()
    first, cache = _parse(tmp_path, raw)
    assert (cache.hits, cache.misses) == (0, 1)
    again, cache = _parse(tmp_path, raw)
    assert (cache.hits, cache.misses) == (1, 0)
    assert [(d._index, d.data) for d in again] == [(d._index, d.data) for d in first]
    assert [d.data["id"] for d in again] == ["S-1", "S-2"]
    with_ = again[0].data["steps"][0]["with"]
    assert [type(v) for v in with_.values()] == [str, int, float, bool, type(None)]


def test_each_load_gets_data_of_its_own_so_it_can_drop_it(tmp_path: Path) -> None:
    """The cache keeps bytes, not the data it gave: else no scenario's data could be freed."""
    _parse(tmp_path, SCENARIO.encode())
    cache = ParseCache(tmp_path, yamlsource.reader())
    first, again = cache.get(SCENARIO.encode()), cache.get(SCENARIO.encode())
    assert first == again
    assert first is not None and again is not None and first[0][1] is not again[0][1]


def test_changed_bytes_are_parsed_again(tmp_path: Path) -> None:
    _parse(tmp_path, SCENARIO.encode())
    docs, cache = _parse(tmp_path, SCENARIO.replace("S-1", "S-9").encode())
    assert (cache.hits, cache.misses) == (0, 1)
    assert docs[0].data["id"] == "S-9"


def test_a_cached_document_still_knows_its_positions(tmp_path: Path) -> None:
    file = tmp_path / "s.yaml"
    file.write_text(SCENARIO)
    size = ("steps", 0, "with", "size")
    (parsed,) = yamlsource.load_documents(file, "s.yaml")
    assert parsed.where(size)[0] == 6
    for expected_hits in (0, 1):
        cache = ParseCache(tmp_path, yamlsource.reader())
        (doc,) = yamlsource.load_documents(file, "s.yaml", cache)
        cache.save()
        assert cache.hits == expected_hits
        assert doc.where(size) == parsed.where(size)
        with_ = ("steps", 0, "with")
        assert doc.where(with_, key=True) == parsed.where(with_, key=True)


def test_another_reader_or_a_torn_file_keeps_nothing(tmp_path: Path) -> None:
    _parse(tmp_path, SCENARIO.encode())
    other = ParseCache(tmp_path, "another parser")
    assert other.get(SCENARIO.encode()) is None
    path = ParseCache(tmp_path, yamlsource.reader()).path
    path.write_bytes(path.read_bytes()[:40])
    docs, cache = _parse(tmp_path, SCENARIO.encode())
    assert (cache.hits, cache.misses) == (0, 1)
    assert docs[0].data["id"] == "S-1"


def test_a_file_with_a_problem_is_never_kept_so_its_error_comes_every_time(
    tmp_path: Path,
) -> None:
    root = _workspace(tmp_path / "ws")
    (root / "scenarios" / "bad.yaml").write_text("id: S-2\nid: S-3\n")
    loads = [workspace.load(root) for _ in range(2)]
    first, again = ([str(d) for d in suite.errors] for suite in loads)
    assert len(first) == 1 and first[0].endswith(
        "bad.yaml:2:1: duplicate key 'id' (first given at line 1)"
    )
    assert again == first
    assert [s.model.id for s in loads[1].scenarios] == [s.model.id for s in loads[0].scenarios]
    assert loads[0].scenarios


def test_the_cache_is_kept_outside_the_workspace(tmp_path: Path, home: Path) -> None:
    root = _workspace(tmp_path / "ws")
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    workspace.load(root)
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
    (kept,) = parsecache.cache_folder().iterdir()
    assert kept.is_relative_to(home)
    assert kept.stat().st_mode & 0o077 == 0  # this user's only


def test_only_the_newest_workspaces_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsecache, "KEEP", 2)
    for name in ("a", "b", "c"):
        _parse(tmp_path / name, f"id: {name}\n".encode())
    assert len(list(parsecache.cache_folder().iterdir())) == 2
