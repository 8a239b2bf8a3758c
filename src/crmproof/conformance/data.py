"""The conformance kit's data: what it writes to a vendor, and how it judges what comes back.

Fixtures are built from the canonical vocabulary alone (field types and names), never from
a vendor's shapes, so the same kit checks every adapter. Every record carries a unique
marker (`crmproof-check-<hex>`) in its name-like fields, so a leftover is easy to find and
a search can only hit the kit's own records. Comparisons are lenient where vendors
legitimately normalise (case of e-mails, punctuation of phones, 150 vs 150.00) and strict
about everything else.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from crmproof import vocabulary

MARK = "crmproof-check"

# Fields a record is known by: they carry the marker, and find/update use them.
NAME_FIELDS = ("name", "subject", "last_name", "first_name", "company", "code", "username")
# Free text that any vendor stores as given: safe to write in the full fixture.
FREE_TEXT = ("description", "title", "city", "reference")
# Text fields whose vocabulary doc names the values allowed.
ENUMERATED = {"priority": "normal", "kind": "task"}
# Numbers that have an obvious plausible value.
NUMBERS = {"amount": 1000, "price": 10, "probability": 50}
PHONE = "+1 555 0100"
# The one reference the fixtures fill: most records belong to an account.
PREREQUISITE = "account"


def new_marker() -> str:
    return f"{MARK}-{secrets.token_hex(4)}"


def read_only(entity: str) -> set[str]:
    """Fields the vocabulary documents as read only (totals): never written."""
    fields = vocabulary.ENTITIES[entity].fields
    return {name for name, f in fields.items() if "read only" in f.doc}


def field_type(entity: str, name: str) -> str:
    if name == "id":
        return "text"
    return str(vocabulary.ENTITIES[entity].fields[name].type)


def name_fields(entity: str, declared: Iterable[str]) -> list[str]:
    """The declared name-like fields to write; a contact has a full name or two parts."""
    have = set(declared)
    names = [f for f in NAME_FIELDS if f in have]
    if entity == "contact" and {"first_name", "last_name"} <= have:
        names = [f for f in names if f != "name"]
    return names


def name_value(entity: str, field: str, marker: str, serial: int = 1) -> str:
    """A name holding the marker; `serial` keeps names unique (vendors refuse duplicates)."""
    if field == "first_name":
        return "Check"
    if field in ("last_name", "code", "username"):
        return f"{marker}-{serial}"
    return f"{marker} {entity} {serial}"


def fixture(
    entity: str,
    declared: Iterable[str],
    marker: str,
    refs: Mapping[str, str],
    product: str | None,
    full: bool,
    serial: int = 1,
) -> dict[str, Any]:
    """Data for `create entity`: name-like fields, the account, lines; `full` adds the rest.

    The full fixture writes every declared field with a value any vendor should accept
    (e-mail, phone, numbers, dates, free text); the minimal one only what a record is
    likely to need, for vendors that refuse an optional field.
    """
    have = [f for f in declared if f in vocabulary.ENTITIES[entity].fields]
    data: dict[str, Any] = {
        f: name_value(entity, f, marker, serial) for f in name_fields(entity, have)
    }
    if PREREQUISITE in have and PREREQUISITE in refs and entity != PREREQUISITE:
        data[PREREQUISITE] = refs[PREREQUISITE]
    if "lines" in have:
        data["lines"] = [{"product": product or f"{marker} service", "quantity": 1, "price": 10}]
    if not full:
        return data
    skip = read_only(entity) | set(data)
    for name in have:
        if name in skip:
            continue
        kind = field_type(entity, name)
        if kind.startswith("ref:") and kind[4:] in refs and kind[4:] != entity:
            data[name] = refs[kind[4:]]
        elif kind == "email":
            data[name] = f"{marker}-{serial}@example.test"
        elif kind == "phone":
            data[name] = PHONE
        elif kind == "number" and name in NUMBERS:
            data[name] = NUMBERS[name]
        elif kind == "date":
            data[name] = (dt.date.today() + dt.timedelta(days=30)).isoformat()
        elif name in ENUMERATED:
            data[name] = ENUMERATED[name]
        elif name in FREE_TEXT:
            data[name] = f"{marker} {name}"
    return data


def update_field(entity: str, declared: Iterable[str]) -> str | None:
    """The one text field the kit updates: a name-like one, else free text."""
    have = set(declared)
    for name in (*name_fields(entity, have), *FREE_TEXT):
        if name in have and name not in read_only(entity):
            return name
    return None


def find_key(entity: str, written: Mapping[str, Any], declared: Iterable[str]) -> str:
    """The declared field to search by: one the kit wrote with the marker, else `id`."""
    have = set(declared)
    for name in name_fields(entity, have):
        if isinstance(written.get(name), str) and MARK in written[name]:
            return name
    for name in written:
        if name in have and field_type(entity, name) == "email":
            return name
    for name in FREE_TEXT:
        if name in have and isinstance(written.get(name), str) and MARK in written[name]:
            return name
    if PREREQUISITE in have and written.get(PREREQUISITE):
        return PREREQUISITE  # the kit's own account: only its records point at it
    return "id"


# -- judging records ------------------------------------------------------------------


def record_problems(entity: str, record: Any) -> list[str]:
    """What makes a returned record non-canonical: no id, foreign field or stage names."""
    if not isinstance(record, dict):
        return [f"a {entity} record must be a JSON object, not {type(record).__name__}"]
    problems = []
    if record.get("id") in (None, ""):
        problems.append(f"a {entity} record came back without an `id`")
    canonical = set(vocabulary.field_names(entity))
    foreign = sorted(k for k in record if k not in canonical)
    if foreign:
        problems.append(
            f"{entity} record has non-canonical field(s) {', '.join(foreign)} "
            f"(canonical: {', '.join(sorted(canonical))})"
        )
    stage = record.get("stage")
    stages = vocabulary.ENTITIES[entity].stages
    if stage is not None and stage not in stages:
        problems.append(
            f"{entity} stage {stage!r} is not canonical (one of {', '.join(stages) or 'none'})"
        )
    return problems


def _digits(value: Any) -> str:
    return re.sub(r"\D", "", str(value))


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _ref(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return None if value is None else str(value)


def same(entity: str, field: str, written: Any, read: Any) -> bool:
    """Whether the vendor kept `written`, allowing for the normalising vendors do."""
    kind = field_type(entity, field)
    if read is None:
        return written is None
    if kind.startswith("ref:"):
        return _ref(read) == _ref(written)
    if kind == "lines":
        return isinstance(read, list) and len(read) == len(written)
    if kind == "number":
        a, b = _number(written), _number(read)
        return a is not None and b is not None and abs(a - b) < 1e-6
    if kind == "phone":
        return _digits(read) == _digits(written)
    if kind == "email":
        return str(read).strip().lower() == str(written).strip().lower()
    if kind == "date":
        return str(read)[:10] == str(written)[:10]
    return str(read).strip() == str(written).strip()


def differences(entity: str, written: Mapping[str, Any], record: Mapping[str, Any]) -> list[str]:
    """Each written field the record lacks or holds otherwise, as `field: wrote X, read Y`."""
    out = []
    for name, value in written.items():
        if name not in record:
            out.append(f"{name}: written, but the record has no `{name}`")
        elif not same(entity, name, value, record[name]):
            out.append(f"{name}: wrote {value!r}, read back {record[name]!r}")
    return out


def non_json(value: Any, path: str = "") -> list[str]:
    """Paths of values that are not plain JSON: they would change on the wire."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in non_json(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in non_json(v, f"{path}[{i}]")]
    return [f"{path or 'value'} ({type(value).__name__})"]


def sample_value(entity: str, name: str, marker: str, refs: Mapping[str, str]) -> Any:
    """A plausible value for one field, or None when there is none to give (a reference
    to a record the kit has not made)."""
    kind = field_type(entity, name)
    if kind.startswith("ref:"):
        return refs.get(kind[4:])
    if kind == "email":
        return f"{marker}@example.test"
    if kind == "phone":
        return PHONE
    if kind == "number":
        return NUMBERS.get(name, 1)
    if kind == "date":
        return (dt.date.today() + dt.timedelta(days=30)).isoformat()
    return ENUMERATED.get(name, f"{marker} {name}")
