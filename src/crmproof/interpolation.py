"""`${name.field}`: the closed little language that moves data between steps.

It has exactly one form, a saved name followed by keys or list indexes, `${deal.id}`,
`${found.items.0.name}`, `${run.id}`; and `$${` for a literal `${`. Lookups are plain
dict keys and list indexes on data the adapter returned: never attributes, never calls,
never the environment or files. Anything else between `${` and `}` is a located error
at validation time, so nothing a YAML file says can ever run.

A value that is exactly one expression keeps its type (`amount: ${deal.amount}` stays a
number); an expression inside other text is rendered as text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from crmproof.errors import UserInputError

_SEGMENT = r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+"
_EXPR = re.compile(r"\$\$\{|\$\{([^{}]*)\}")
_VALID = re.compile(rf"^\s*([A-Za-z_][A-Za-z0-9_]*)((?:\.(?:{_SEGMENT}))*)\s*$")
MAX_DEPTH = 16


class InterpolationError(UserInputError):
    """A `${...}` that cannot be resolved at run time; the message says which and why."""


@dataclass(frozen=True)
class Reference:
    text: str  # as written, e.g. "${deal.id}"
    root: str | None  # "deal"; None when the expression is malformed
    path: tuple[str, ...]
    problem: str | None = None


def references(value: Any) -> Iterator[Reference]:
    """Every `${...}` in a value (strings inside dicts and lists included)."""
    if isinstance(value, str):
        if "${" in value:  # most text has none: skip the regular expressions
            yield from _in_text(value)
        return
    items: Iterable[Any]
    if isinstance(value, (dict, Mapping)):
        items = value.values()
    elif isinstance(value, list):
        items = value
    else:
        return
    for item in items:
        if isinstance(item, str):  # leaves inline: no generator per word of a scenario
            if "${" in item:
                yield from _in_text(item)
        elif isinstance(item, (dict, list, Mapping)):
            yield from references(item)


def _in_text(value: str) -> Iterator[Reference]:
    for match in _EXPR.finditer(value):
        if match.group(0) == "$${":
            continue
        inner = match.group(1)
        parsed = _VALID.match(inner)
        if parsed is None:
            yield Reference(match.group(0), None, (), _explain(inner))
            continue
        path = tuple(p for p in parsed.group(2).split(".") if p)
        if len(path) > MAX_DEPTH:
            yield Reference(match.group(0), None, (), "too many '.' steps")
            continue
        yield Reference(match.group(0), parsed.group(1), path)
    unclosed = value.replace("$${", "").count("${") - len(list(_EXPR.finditer(value)))
    if unclosed > 0:
        yield Reference(value, None, (), "'${' is not closed by '}'")


def _explain(inner: str) -> str:
    stripped = inner.strip()
    if not stripped:
        return "empty expression '${}'"
    if stripped.startswith("env:"):
        return "'${env:...}' is only allowed in crmproof.yaml settings, never in scenarios"
    if any(c in stripped for c in "()[]'\"+-*/ <>=!|&"):
        return (
            f"'${{{inner}}}' is not a name: only saved names and their fields "
            "(like ${deal.id}) can be used; there are no calls, indexes or operators"
        )
    return f"'${{{inner}}}' is not a name like ${{deal.id}}"


def resolve(value: Any, scope: Mapping[str, Any]) -> Any:
    """`value` with every `${...}` replaced from `scope`; raises InterpolationError."""
    if isinstance(value, str):
        return _resolve_text(value, scope) if "$" in value else value
    if type(value) is dict or isinstance(value, Mapping):
        return {k: resolve(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, scope) for v in value]
    return value


def _resolve_text(text: str, scope: Mapping[str, Any]) -> Any:
    matches = list(_EXPR.finditer(text))
    if not matches:
        return text
    if len(matches) == 1 and matches[0].span() == (0, len(text)) and matches[0].group(1):
        return _lookup(matches[0].group(1), scope)

    def render(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        found = _lookup(match.group(1), scope)
        return "" if found is None else str(found)

    return _EXPR.sub(render, text)


def _lookup(inner: str, scope: Mapping[str, Any]) -> Any:
    parsed = _VALID.match(inner)
    if parsed is None:
        raise InterpolationError(_explain(inner))
    root = parsed.group(1)
    if root not in scope:
        raise InterpolationError(f"'${{{inner}}}': nothing was saved as '{root}'")
    current: Any = scope[root]
    walked = root
    for part in (p for p in parsed.group(2).split(".") if p):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            keys = ", ".join(map(str, current)) if isinstance(current, Mapping) else ""
            has = f"; it has: {keys}" if keys else ""
            raise InterpolationError(f"'${{{inner}}}': '{walked}' has no '{part}'{has}")
        walked += "." + part
    return current
