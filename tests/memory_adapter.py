"""A small CRM kept in a dict, for pinning the engine's semantics without a vendor.

It behaves like a well-mannered vendor (ids, stages, refusals of what an actor may not
see) and can be told to misbehave per operation: refuse, break, hang, answer with wrong
data, or lack the capability altogether. Every call is logged, so a test can tell what
the engine asked of the vendor, in which order.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from crmproof import (
    Adapter,
    Capabilities,
    EntitySupport,
    Operation,
    RecordRef,
    Refused,
    VendorError,
)

FIELDS = {
    "account": ["name", "email", "city"],
    "lead": ["name", "email", "stage"],
    "opportunity": ["name", "account", "amount", "stage"],
}
STAGES = {
    "lead": ["new", "qualified", "converted"],
    "opportunity": ["prospecting", "qualification", "won", "lost"],
}


class World:
    """The CRM's state, shared by every adapter instance (a resumed run opens a new one)."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self.owners: dict[tuple[str, str], str | None] = {}
        self.calls: list[str] = []
        # "create account" or "get lead as rep_b" -> refuse|error|error-once|hang|wrong|busy
        self.faults: dict[str, str] = {}
        self.busy = 0  # how many more times a "busy" fault answers 429 before it passes
        self.lacks: set[str] = set()  # "advance opportunity" is not declared
        self.ids = itertools.count(1)
        self.sessions = 0
        self.markers: list[str] = []  # what `${run.id}` read as each scenario began


class MemoryCrm(Adapter):
    name = "memory"
    version = "1.0"
    world: ClassVar[World] = World()

    max_workers = 4  # a dict takes any number of sessions

    def open(self, settings: Mapping[str, Any]) -> str | None:
        self.world.sessions += 1
        return "memory-1"

    def begin(self, scenario: str) -> None:
        super().begin(scenario)
        self.world.markers.append(self.marker)

    def capabilities(self) -> Capabilities:
        entities = {}
        for entity, fields in FIELDS.items():
            ops = [
                op
                for op in ("create", "get", "update", "delete", "find", "advance", "convert")
                if (op != "advance" or entity in STAGES)
                and (op != "convert" or entity == "lead")
                and f"{op} {entity}" not in self.world.lacks
            ]
            entities[entity] = EntitySupport(
                operations=ops, fields=fields, stages=STAGES.get(entity, [])
            )
        return Capabilities(entities=entities, operations=["login"], actors=["rep_a", "rep_b"])

    def leftovers(self, marker: str) -> list[RecordRef] | None:
        return [
            RecordRef(entity=entity, id=id_)
            for (entity, id_), record in self.world.records.items()
            if marker in str(record.get("name", ""))
        ]

    # -- the machinery every operation shares --------------------------------------------

    def _call(self, op: Operation) -> str | None:
        what = f"{op.op} {op.entity}" if op.entity else op.op
        fields = f" with {','.join(sorted(op.data))}" if op.data else ""
        self.world.calls.append(f"{what} {op.id or ''}".strip() + fields)
        fault = self.world.faults.get(f"{what} as {op.actor}") or self.world.faults.get(what)
        if fault == "error-once":  # a passing hiccup: the next call goes through
            self.world.faults.pop(what, None)
            raise VendorError(f"{what}: 502 bad gateway, this once")
        if fault == "refuse":
            raise Refused(f"{what}: a business rule says no", "rule")
        if fault == "error":
            raise VendorError(f"{what}: 503 service unavailable")
        if fault == "busy" and self.world.busy > 0:
            self.world.busy -= 1
            raise VendorError(f"{what}: 429 too many requests", transient=True)
        if fault == "hang":
            time.sleep(0.3)
        return fault

    def _record(self, op: Operation) -> dict[str, Any]:
        key = (str(op.entity), str(op.id))
        if key not in self.world.records:
            raise Refused(f"{op.entity} {op.id}: not found", "not_found")
        owner = self.world.owners.get(key)
        if op.actor and owner and op.actor != owner:
            raise Refused(f"{op.entity} {op.id}: not found", "not_found")  # a rep may not see it
        return self.world.records[key]

    def _create(self, op: Operation, **defaults: Any) -> dict[str, Any]:
        fault = self._call(op)
        id_ = str(next(self.world.ids))
        record = {"id": id_, **defaults, **op.data}
        if fault == "swallow":  # acknowledged, never performed
            return record
        self.world.records[(str(op.entity), id_)] = record
        self.world.owners[(str(op.entity), id_)] = op.actor
        self.step.created_record(str(op.entity), id_)
        if fault == "wrong":
            return {**record, "name": "someone else"}
        return dict(record)

    def _get(self, op: Operation) -> dict[str, Any]:
        self._call(op)
        return dict(self._record(op))

    def _update(self, op: Operation) -> dict[str, Any]:
        self._call(op)
        record = self._record(op)
        record.update(op.data)
        return dict(record)

    def _delete(self, op: Operation) -> dict[str, Any]:
        self._call(op)
        self._record(op)
        del self.world.records[(str(op.entity), str(op.id))]
        return {"id": op.id}

    def _find(self, op: Operation) -> list[dict[str, Any]]:
        fault = self._call(op)
        hits = [
            dict(r)
            for (entity, _), r in self.world.records.items()
            if entity == op.entity and all(str(r.get(k)) == str(v) for k, v in op.where.items())
        ]
        return [] if fault == "wrong" else hits

    def _advance(self, op: Operation) -> dict[str, Any]:
        fault = self._call(op)
        record = self._record(op)
        if fault != "wrong":
            record["stage"] = op.to
        return dict(record)

    # -- the operations, one method each, as an adapter author writes them ----------------

    def create_account(self, op: Operation) -> dict[str, Any]:
        return self._create(op)

    def get_account(self, op: Operation) -> dict[str, Any]:
        return self._get(op)

    def update_account(self, op: Operation) -> dict[str, Any]:
        return self._update(op)

    def delete_account(self, op: Operation) -> dict[str, Any]:
        return self._delete(op)

    def find_account(self, op: Operation) -> list[dict[str, Any]]:
        return self._find(op)

    def create_lead(self, op: Operation) -> dict[str, Any]:
        return self._create(op, stage="new")

    def get_lead(self, op: Operation) -> dict[str, Any]:
        return self._get(op)

    def update_lead(self, op: Operation) -> dict[str, Any]:
        return self._update(op)

    def delete_lead(self, op: Operation) -> dict[str, Any]:
        return self._delete(op)

    def find_lead(self, op: Operation) -> list[dict[str, Any]]:
        return self._find(op)

    def advance_lead(self, op: Operation) -> dict[str, Any]:
        return self._advance(op)

    def convert_lead(self, op: Operation) -> dict[str, Any]:
        lead = self._get(op)
        lead_op = op.model_copy(update={"op": "create", "entity": "opportunity", "data": {}})
        deal = self._create(lead_op, name=lead.get("name"), stage="prospecting")
        self.world.records[("lead", str(op.id))]["stage"] = "converted"
        return deal

    def create_opportunity(self, op: Operation) -> dict[str, Any]:
        return self._create(op, stage="prospecting")

    def get_opportunity(self, op: Operation) -> dict[str, Any]:
        return self._get(op)

    def update_opportunity(self, op: Operation) -> dict[str, Any]:
        return self._update(op)

    def delete_opportunity(self, op: Operation) -> dict[str, Any]:
        return self._delete(op)

    def find_opportunity(self, op: Operation) -> list[dict[str, Any]]:
        return self._find(op)

    def advance_opportunity(self, op: Operation) -> dict[str, Any]:
        return self._advance(op)

    def login(self, op: Operation) -> dict[str, Any]:
        self._call(op)
        return {"id": op.actor}
