"""A YAML file's data without composing a node per value, where that is certain to be exact.

Composing libyaml's nodes as Python objects (a node and two marks for every value) is most
of the cost of loading ten thousand scenarios. Most files are plain: mappings, lists and
scalars on single lines. For those, libyaml's C parser only checks the syntax (no Python
object per event), rapidyaml (ryml, C++) builds the tree and writes it as JSON, and the C
JSON decoder turns that into Python data. Every scalar is then resolved with the same
YAML 1.1 rules as SafeLoader's, so the data is the one `yamlsource` builds from nodes.

Anything this path cannot vouch for gives `UNSURE`, and the caller takes the node path,
which reports every problem exactly as before: a file libyaml refuses, an anchor, alias,
tag, merge key, block scalar, escape, tab or carriage return, a duplicate key, a string
whose plain form would read as a number, a boolean or null, a document deeper or larger
than the limits, or the two parsers disagreeing on the number of values.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from sys import intern
from typing import Any, Final

import yaml

try:
    import ryml
    from yaml.cyaml import CParser  # type: ignore[attr-defined]
except ImportError:  # no rapidyaml or no libyaml: every file takes the node path
    ryml = None

UNSURE: Final = object()

MAX_CHARS = 200_000  # larger files take the node path, which counts values as it goes
INTERN_MAX = 40  # as yamlsource: short texts are shared between documents
_TEXTS_MAX = 100_000  # bounds each cache of texts read

# Whatever either parser might read differently, or only the node path may refuse: tabs,
# carriage returns, escapes, line separators, a byte order mark; a directive or document
# marker; an anchor, alias, tag, complex key, block scalar or merge key at a token's start.
# The first pattern is a quick look for any of their characters; most files have none.
_SUSPECT = re.compile(r"[\t\r\\\x85\u2028\u2029\ufeff&*!?|>%<]")
_RISKY = re.compile(
    r"[\t\r\\\x85\u2028\u2029\ufeff]|<<|^(?:%|---|\.\.\.)|(?:^|[\s\[\]{},:-])[&*!?|>]",
    re.M,
)
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"


_batches = 0  # how many `batch()` blocks are open


@contextlib.contextmanager
def batch() -> Iterator[None]:
    """The fast path for the files read inside; outside, every file takes the node path.
    One thread at a time: a batch reuses one ryml tree and buffer.

    ryml's C++ prints its own error to the process's stderr before it raises, where
    libyaml accepted a file that ryml refuses (a flow mapping continued on a line indented
    less than its key, say). Only the node path's located diagnostic may reach the user,
    so file descriptor 2 points to /dev/null for the whole batch: once, since each switch
    is a system call and a batch reads ten thousand files. Nothing else writes to stderr
    while a workspace loads; a traceback is printed after the block, to the real stderr.
    """
    global _batches
    if ryml is None or _batches:
        _batches += 1
        try:
            yield
        finally:
            _batches -= 1
        return
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    _batches += 1
    _ryml.append(_Ryml())
    try:
        yield
    finally:
        _batches -= 1
        _ryml.clear()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


class _Ryml:
    """One tree and one output buffer, reused for every file of a batch.

    ryml.emit_json leaks its output buffer (a file's JSON, every time: 40 MiB over 10,000
    scenarios), and a new tree per file costs an allocation of its own; emitting into a
    buffer of ours, from a cleared tree, does neither.
    """

    def __init__(self) -> None:
        self.tree = ryml.Tree()
        self.buffer = bytearray(1 << 16)


_ryml: list[_Ryml] = []  # while a batch is open


def _json_of(text: str) -> str:
    kept = _ryml[0]
    tree = kept.tree
    tree.clear()
    tree.clear_arena()
    ryml.parse_in_arena(text, tree)
    try:
        written = ryml.emit_json_in_place(tree, kept.buffer)
    except IndexError:  # a file whose JSON is larger than any before
        kept.buffer = bytearray(2 * ryml.compute_json_length(tree))
        written = ryml.emit_json_in_place(tree, kept.buffer)
    return str(written, "utf-8")


class _Unsure(Exception):
    pass


def _tag(text: str) -> str:
    """The tag SafeLoader gives `text` written plain."""
    tag: str = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag


def _plain(text: str, tag: str) -> Any:
    if _tag(text) != tag:
        raise _Unsure
    node = yaml.ScalarNode(tag, text)
    read = _CONSTRUCTOR.construct_yaml_int if tag == _INT else _CONSTRUCTOR.construct_yaml_float
    return read(node)


def _int(text: str) -> Any:
    return _plain(text, _INT)


def _float(text: str) -> Any:
    if text.lstrip("-+").startswith("0."):
        raise _Unsure  # ryml writes `.5` as `0.5`, and SafeLoader reads `-.5` as text
    return _plain(text, _FLOAT)


def _constant(text: str) -> Any:
    raise _Unsure  # NaN, Infinity: never what SafeLoader would read


class _Numbers(dict[str, Any]):
    """Each number's text read once: the decoder looks it up in C, and calls back only once."""

    def __init__(self, read: Any) -> None:
        super().__init__()
        self.read = read

    def __missing__(self, text: str) -> Any:
        value = self.read(text)
        if len(self) < _TEXTS_MAX:
            self[text] = value
        return value


_DECODER = json.JSONDecoder(
    parse_int=_Numbers(_int).__getitem__,
    parse_float=_Numbers(_float).__getitem__,
    parse_constant=_constant,
)


_SHARED: dict[str, str] = {}  # each short text that reads the same written plain, shared


def _share(value: str) -> str:
    """A string value, shared if short; _Unsure if, written plain, it would be no string.

    JSON does not say whether a string was quoted in the YAML: `"yes"` and `yes` both come
    out as "yes", but SafeLoader reads the plain one as True.
    """
    tag = _tag(value)
    if tag != _STR and tag != _TIMESTAMP:
        raise _Unsure
    if len(value) > INTERN_MAX:
        return value
    value = intern(value)
    if len(_SHARED) < _TEXTS_MAX:
        _SHARED[value] = value
    return value


def _settle(data: Any, depth: int, limit: int, events: list[int]) -> Any:
    """`data` with short texts and every key shared, as the node path shares them; counts
    in `events[0]` the parse events it stands for.

    Raises _Unsure where a text would not read as one written plain, or where the data lies
    deeper than the node path allows. A duplicate key, which JSON keeps only once, shows as
    fewer events than libyaml counted.
    """
    if depth >= limit:
        raise _Unsure  # its values would lie deeper than the node path allows
    shared = _SHARED.get
    if type(data) is dict:
        events[0] += 2 + 2 * len(data)  # start, end; each key and each scalar value
        out = {}
        for key, value in data.items():
            # ryml rewrites some keys (`.Inf` comes out as ".inf"): a key must read as text
            key = shared(key) or _share(key)
            kind = type(value)
            if kind is str:
                value = shared(value) or _share(value)
            elif kind is dict or kind is list:
                events[0] -= 1
                value = _settle(value, depth + 1, limit, events)
            out[key] = value
        return out
    events[0] += 2 + len(data)
    for i, value in enumerate(data):
        kind = type(value)
        if kind is str:
            data[i] = shared(value) or _share(value)
        elif kind is dict or kind is list:
            events[0] -= 1
            data[i] = _settle(value, depth + 1, limit, events)
    return data


def load(text: str, max_depth: int) -> Any:
    """The one document of `text` as plain data, or UNSURE (always, outside a `batch()`)."""
    if not _batches or ryml is None or len(text) > MAX_CHARS:
        return UNSURE
    suspect = _SUSPECT.search(text) or "---" in text or "..." in text
    if suspect and _RISKY.search(text):
        return UNSURE
    try:
        events = CParser(text).raw_parse()  # libyaml accepts it: no syntax error to report
    except yaml.YAMLError:
        return UNSURE
    try:
        out = _json_of(text)
    except Exception:  # ryml refuses what libyaml accepted: the node path decides
        return UNSURE
    if not out:
        return UNSURE  # no document: the node path says so
    try:
        data = _DECODER.decode(out)
        if type(data) is not dict and type(data) is not list:
            return UNSURE  # a scalar or empty document: rare, and the node path knows it
        counted = [4]  # the stream's and the document's start and end
        data = _settle(data, 0, max_depth, counted)
    except (_Unsure, ValueError, RecursionError):
        return UNSURE
    if counted[0] != events:
        return UNSURE  # the parsers disagree on the structure
    return data
