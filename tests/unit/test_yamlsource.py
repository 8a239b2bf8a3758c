"""The YAML loader keeps positions and turns every hostile or broken input into a Diagnostic."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmproof.diagnostics import SpecError
from crmproof.yamlsource import Document, load_documents, parse_documents


def one(text: str | bytes) -> Document:
    return next(iter(parse_documents(text, "f.yaml")))


def error_of(text: str | bytes) -> str:
    with pytest.raises(SpecError) as info:
        list(parse_documents(text, "f.yaml"))
    return str(info.value)


def test_positions_of_values_and_keys() -> None:
    doc = one("a: 1\nsteps:\n  - create: account\n    with: {name: x}\n")
    assert doc.where(("steps", 0, "with", "name")) == (4, 18)
    assert doc.where(("steps", 0, "with"), key=True) == (4, 5)
    assert doc.where(("nowhere", 3)) == (1, 1)


def test_duplicate_keys_are_errors() -> None:
    assert "f.yaml:2:1: duplicate key 'a' (first given at line 1)" in error_of("a: 1\na: 2\n")


def test_tags_never_build_objects() -> None:
    msg = error_of("x: !!python/object/apply:os.system ['echo hi']\n")
    assert "f.yaml:1:4: tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed" in msg


def test_alias_bomb_is_bounded() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 10)}]")
    assert "document too large" in error_of("\n".join(lines) + "\n")


def test_tabs_encoding_and_binary() -> None:
    assert "tabs" in error_of("a:\n\tb: 1\n")
    assert "f.yaml:1:4: not UTF-8 text" in error_of(b"a: \xff\xfe\n")
    assert "binary data" in error_of(b"a: b\x00c\n")


def test_dates_stay_text() -> None:
    assert one("d: 2026-12-31\n").data == {"d": "2026-12-31"}


def test_a_file_is_read_again_for_positions(tmp_path: Path) -> None:
    """A document from a file keeps no text; a file changed since gives 1:1, never a lie."""
    path = tmp_path / "s.yaml"
    path.write_text("a: 1\nsteps:\n  - create: account\n")
    doc = next(load_documents(path))
    assert doc.data == {"a": 1, "steps": [{"create": "account"}]}
    assert doc.where(("steps", 0, "create")) == (3, 13)
    again = next(load_documents(path))
    path.write_text("\n\na: 1\nsteps:\n  - create: account\n")
    assert again.where(("steps", 0, "create")) == (1, 1)


def test_the_printable_ascii_shortcut_agrees_with_the_pattern() -> None:
    """_decode skips its checks for printable ASCII: the same bytes the pattern allows."""
    from crmproof import yamlsource

    for byte in range(128):
        shortcut = not bytes([byte]).translate(None, yamlsource._PRINTABLE_ASCII)
        pattern = byte != 0 and not yamlsource._NON_PRINTABLE.search(chr(byte))
        assert shortcut == pattern, byte
