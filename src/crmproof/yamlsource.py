"""Reading YAML so that every value remembers where it was written.

PyYAML's composer keeps a line and column for every node; we turn nodes into plain Python
data ourselves (never through PyYAML's constructors, so no tag can ever build an object)
and keep a map from each value's path (`("steps", 3, "with", "name")`) to its position.
Validation errors from pydantic carry such paths, so they become `file:line:col` messages.

The loader is also the first line of defence against hostile files: it bounds size, nesting
and alias expansion, refuses duplicate keys and non-standard tags, and reports bad
encodings, tabs and binary data as located errors.

Parsing uses libyaml's C parser (`yaml.CSafeLoader`), whose nodes carry the same line and
column marks as the pure-Python one at a sixteenth of the cost; PyYAML's own `SafeLoader`
is the fallback where PyYAML was built without libyaml. Both give the same diagnostics.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from sys import intern
from typing import TYPE_CHECKING, Any

import yaml

from crmproof.diagnostics import Diagnostic, SpecError

if TYPE_CHECKING:
    from crmproof.parsecache import ParseCache

MAX_BYTES = 2_000_000
MAX_LINE = 20_000
MAX_NODES = 200_000  # counted with aliases expanded: an alias bomb stops here
MAX_DEPTH = 64

Path_ = tuple[str | int, ...]

_PLAIN_TAGS: dict[str, str] = {}  # a plain scalar's resolved tag, by its text
_PLAIN_TAGS_MAX = 100_000


try:
    from yaml.cyaml import CParser  # type: ignore[attr-defined]
except ImportError:  # PyYAML built without libyaml: the pure-Python loader below
    CParser = object  # type: ignore[misc,assignment]


class _CLoader(CParser, yaml.resolver.Resolver):
    """libyaml's parser and composer with SafeLoader's tag rules, resolved once per text.

    PyYAML's resolver runs its regular expressions on every plain scalar and walks path
    resolvers nobody registered; scenarios repeat the same words (`account`, `true`, 150)
    thousands of times, so each distinct text is resolved once and remembered.
    """

    def __init__(self, stream: str) -> None:
        CParser.__init__(self, stream)
        yaml.resolver.Resolver.__init__(self)

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass  # no path resolvers are registered

    def ascend_resolver(self) -> None:
        pass

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = yaml.resolver.Resolver.resolve(  # type: ignore[no-untyped-call]
                    self, kind, value, implicit
                )
                if len(_PLAIN_TAGS) < _PLAIN_TAGS_MAX:
                    _PLAIN_TAGS[value] = tag
            return tag
        if kind is yaml.ScalarNode:  # quoted: text, as PyYAML's resolver says without paths
            return _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP


# libyaml's parser where PyYAML has it; the bench swaps in yaml.SafeLoader as its baseline.
LOADER: type[Any] = _CLoader if yaml.__with_libyaml__ else yaml.SafeLoader

# PyYAML's own Reader.NON_PRINTABLE: checked here so both loaders report it the same way.
_NON_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
# The ASCII part of what _NON_PRINTABLE allows, to delete with bytes.translate (C speed).
_PRINTABLE_ASCII = bytes([0x09, 0x0A, 0x0D, *range(0x20, 0x7F)])
_CONSTRUCTOR = yaml.constructor.SafeConstructor()  # stateless for plain scalars
_SCALARS = {
    "tag:yaml.org,2002:int": _CONSTRUCTOR.construct_yaml_int,
    "tag:yaml.org,2002:float": _CONSTRUCTOR.construct_yaml_float,
    "tag:yaml.org,2002:bool": _CONSTRUCTOR.construct_yaml_bool,
    "tag:yaml.org,2002:null": _CONSTRUCTOR.construct_yaml_null,
}

# Ten thousand scenarios say `account`, `create` and `${deal.id}` a million times: one
# string object each instead of one per occurrence (a fifth of a large workspace's memory).
_INTERN_MAX = 40
_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


class Document:
    """One YAML document: its data and where each part of it was written.

    Positions are worked out when first asked for, by parsing the document's text again:
    most documents never need one, and ten thousand scenarios' position tables would
    cost more time and memory than their data. A document read from a file does not even
    keep its text: the file is read again, and used only if its text is the one loaded
    (else every position is unknown, 1:1, rather than wrong).
    """

    __slots__ = (
        "_digest",
        "_file",
        "_index",
        "_keys",
        "_loader",
        "_source",
        "_values",
        "data",
        "path",
    )

    def __init__(
        self,
        path: str,
        data: Any,
        values: dict[Path_, tuple[int, int]] | None = None,
        keys: dict[Path_, tuple[int, int]] | None = None,
        *,
        source: str | None = None,
        index: int = 0,
        loader: type[Any] | None = None,
        file: Path | str | None = None,
    ) -> None:
        self.path = path
        self.data = data
        self._values = values
        self._keys = keys
        self._index = index
        self._loader = loader
        # the text, or the file it is in and the text's hash (str hashes are cached: free)
        self._file = file if source is not None else None
        self._digest = hash(source) if file is not None and source is not None else 0
        self._source = source if self._file is None else None

    @property
    def values(self) -> dict[Path_, tuple[int, int]]:
        """Where each value was written, by its path: `("steps", 3, "with", "name")`."""
        return self._positions()[0]

    @property
    def keys(self) -> dict[Path_, tuple[int, int]]:
        """Where each mapping key was written, by the path of its value."""
        return self._positions()[1]

    def _positions(self) -> tuple[dict[Path_, tuple[int, int]], dict[Path_, tuple[int, int]]]:
        if self._values is None or self._keys is None:
            values: dict[Path_, tuple[int, int]] = {}
            keys: dict[Path_, tuple[int, int]] = {}
            source = self._source if self._file is None else self._reread()
            if source is not None and self._loader is not None:
                loader = self._loader(source)
                try:
                    index = -1
                    while loader.check_node():
                        node = loader.get_node()
                        index += 1
                        if index == self._index:
                            _Builder(self.path, values, keys).build(node, ())
                            break
                finally:
                    loader.dispose()
            self._values, self._keys = values, keys
        return self._values, self._keys

    def _reread(self) -> str | None:
        if self._file is None:
            return None
        try:
            with open(self._file, "rb", buffering=0) as file:
                text = _decode(self.path, file.readall())
        except (OSError, SpecError):
            return None
        return text if hash(text) == self._digest else None

    def where(self, loc: Path_, *, key: bool = False) -> tuple[int, int]:
        """The position of `loc`, or of its closest written ancestor."""
        loc = tuple(loc)
        keys, values = self.keys, self.values
        while True:
            table = keys if key and loc in keys else values
            if loc in table:
                return table[loc]
            if not loc:
                return (1, 1)
            loc = loc[:-1]

    def error(self, loc: Path_, message: str, *, key: bool = False) -> Diagnostic:
        line, col = self.where(loc, key=key)
        return Diagnostic(self.path, line, col, message)

    def warning(self, loc: Path_, message: str, *, key: bool = False) -> Diagnostic:
        line, col = self.where(loc, key=key)
        return Diagnostic(self.path, line, col, message, "warning")


class _Builder:
    """Plain data from composed nodes; records positions only when given tables for them."""

    def __init__(
        self,
        path: str,
        values: dict[Path_, tuple[int, int]] | None = None,
        keys: dict[Path_, tuple[int, int]] | None = None,
    ) -> None:
        self.path = path
        self.values = values
        self.keys = keys
        self.nodes = 0
        self.problems: list[Diagnostic] = []

    def build(self, node: yaml.Node, loc: Path_, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBig(
                node, f"document too large: more than {MAX_NODES} values (with anchors expanded)"
            )
        if depth > MAX_DEPTH:
            raise _TooBig(node, f"nesting deeper than {MAX_DEPTH} levels")
        values = self.values
        if values is not None and loc not in values:
            mark = node.start_mark
            values[loc] = (mark.line + 1, mark.column + 1)
        tag = node.tag
        kind = type(node)
        if kind is yaml.ScalarNode and tag in (_STR, _TIMESTAMP):
            value = node.value  # the common case first; dates stay text (ISO strings)
            return intern(value) if len(value) <= _INTERN_MAX else value
        if tag not in _STANDARD_TAGS:
            self._problem(node, f"tag '{tag}' is not allowed: plain YAML values only")
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc, depth)
        if kind is yaml.SequenceNode:
            return [self.build(n, (*loc, i), depth + 1) for i, n in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar_value(node)

    def _problem(self, node: yaml.Node, message: str) -> None:
        self.problems.append(Diagnostic(self.path, *_pos(node), message))

    def _mapping(self, node: yaml.MappingNode, loc: Path_, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        keys = self.keys
        for key_node, value_node in node.value:
            if type(key_node) is not yaml.ScalarNode:
                self._problem(key_node, "keys must be plain text")
                continue
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._problem(key_node, "merge keys (<<) are not supported")
                continue
            key = intern(str(key_node.value))
            where = (*loc, key)
            if key in out:
                first = next(k for k, _ in node.value if str(k.value) == key)
                self._problem(
                    key_node, f"duplicate key '{key}' (first given at line {_pos(first)[0]})"
                )
                continue
            if keys is not None:
                mark = key_node.start_mark
                keys[where] = (mark.line + 1, mark.column + 1)
            out[key] = self.build(value_node, where, depth + 1)
        return out

    def _scalar_value(self, node: yaml.ScalarNode) -> Any:
        read = _SCALARS.get(node.tag)
        try:
            if read is None:
                raise ValueError
            value = read(node)
        except (ValueError, KeyError):  # `!!int abc`, `!!bool maybe`, `!!map text`
            kind = node.tag.rsplit(":", 1)[-1]
            self._problem(node, f"'{node.value}' is not a valid {kind}")
            return None
        if isinstance(value, datetime.date):
            return value.isoformat()
        return value


class _TooBig(Exception):
    def __init__(self, node: yaml.Node, message: str) -> None:
        self.node = node
        self.message = message


def _pos(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _decode(path: str, raw: bytes) -> str:
    if len(raw) > MAX_BYTES:
        raise SpecError(
            [Diagnostic(path, 1, 1, f"file too large ({len(raw)} bytes; the limit is {MAX_BYTES})")]
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(
            [
                Diagnostic(
                    path,
                    line,
                    col,
                    "not UTF-8 text: byte "
                    f"0x{raw[exc.start]:02x} cannot be decoded; save the "
                    "file as UTF-8",
                )
            ]
        ) from None
    rows = text.split("\n") if len(text) > MAX_LINE else ()  # a short text has no long line
    for number, row in enumerate(rows, 1):
        if len(row) > MAX_LINE:
            raise SpecError(
                [
                    Diagnostic(
                        path,
                        number,
                        MAX_LINE + 1,
                        f"line {number} is {len(row)} characters long; the limit is {MAX_LINE}",
                    )
                ]
            )
    if raw.isascii() and not raw.translate(None, _PRINTABLE_ASCII):
        return text  # every byte printable (most files): no NUL, nothing for the pattern
    nul = text.find("\0")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        col = nul - (text.rfind("\n", 0, nul) + 1) + 1
        raise SpecError([Diagnostic(path, line, col, "binary data (a NUL byte) in a YAML file")])
    bad = _NON_PRINTABLE.search(text)
    if bad:
        raise SpecError([_unprintable(path, text, bad.start(), ord(bad.group()))])
    return text


def _yaml_error(path: str, text: str, exc: yaml.YAMLError) -> Diagnostic:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    if "\\t" in problem or "\t" in problem or "tab" in problem or _char_at(text, line, col) == "\t":
        problem += " (YAML indents with spaces, not tabs)"
    return Diagnostic(path, line, col, f"invalid YAML: {problem}")


def reader() -> str:
    """What decides the plain data a text gives: this module, PyYAML and its loader."""
    own = hashlib.blake2b(Path(__file__).read_bytes(), digest_size=16).hexdigest()
    return f"{own} PyYAML {yaml.__version__} {LOADER.__name__}"


def load_documents(
    path: Path | str, display: str | None = None, cache: ParseCache | None = None
) -> Iterator[Document]:
    """Every document of a YAML file, with positions; raises SpecError on bad YAML."""
    shown = display or str(path)
    try:
        with open(path, "rb", buffering=0) as file:  # unbuffered: the fewest system calls
            raw = file.readall()
    except OSError as exc:
        raise SpecError([Diagnostic(shown, 1, 1, f"cannot read: {exc.strerror}")]) from None
    yield from parse_documents(raw, shown, path, cache)


def parse_documents(
    raw: bytes | str, path: str, file: Path | str | None = None, cache: ParseCache | None = None
) -> Iterator[Document]:
    """Every document of `raw`; `file`, where it was read from, is read again for positions.

    With a `cache`, a text parsed before gives its data without parsing; it is still
    decoded, and so still checked for what `_decode` refuses.
    """
    raw = raw.encode() if isinstance(raw, str) else raw
    text = _decode(path, raw)
    kept = cache.get(raw) if cache is not None else None
    if kept is not None:
        for index, data in kept:
            yield Document(path, data, source=text, index=index, loader=LOADER, file=file)
        return
    parsed: list[tuple[int, Any]] = []
    try:
        loader = LOADER(text)
    except yaml.reader.ReaderError as exc:  # raised on construction for unprintable text
        raise SpecError([_reader_error(path, text, exc)]) from None
    try:
        index = -1
        while loader.check_node():
            node = loader.get_node()
            index += 1
            if node is None:
                continue
            doc = Document(path, None, source=text, index=index, loader=LOADER, file=file)
            builder = _Builder(path)
            try:
                doc.data = builder.build(node, ())
            except _TooBig as big:
                raise SpecError([Diagnostic(path, *_pos(big.node), big.message)]) from None
            except RecursionError:
                raise SpecError([Diagnostic(path, *_pos(node), "nesting too deep")]) from None
            if builder.problems:
                raise SpecError(builder.problems)
            parsed.append((index, doc.data))
            yield doc
    except yaml.reader.ReaderError as exc:
        raise SpecError([_reader_error(path, text, exc)]) from None
    except yaml.YAMLError as exc:
        raise SpecError([_yaml_error(path, text, exc)]) from None
    except RecursionError:
        raise SpecError([Diagnostic(path, 1, 1, "nesting too deep")]) from None
    finally:
        loader.dispose()
    if cache is not None:
        cache.put(raw, parsed)


def _reader_error(path: str, text: str, exc: yaml.reader.ReaderError) -> Diagnostic:
    return _unprintable(path, text, min(exc.position, len(text)), exc.character)


def _unprintable(path: str, text: str, position: int, character: int) -> Diagnostic:
    line = text.count("\n", 0, position) + 1
    col = position - (text.rfind("\n", 0, position) + 1) + 1
    return Diagnostic(
        path,
        line,
        col,
        f"character U+{character:04X} is not allowed in "
        "YAML: remove it or write it as an escape in quotes",
    )


def _char_at(text: str, line: int, col: int) -> str:
    """The character at a 1-based mark: libyaml names no tab in its message, so look."""
    start = 0
    for _ in range(line - 1):
        start = text.find("\n", start) + 1
        if start == 0:
            return ""
    index = start + col - 1
    return text[index] if index < len(text) else ""
