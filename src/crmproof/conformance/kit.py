"""The conformance kit's checks: each declared capability tried on the real vendor.

For every entity the adapter declares, a small canonical fixture goes through create, get
(the written fields must come back), find, update, advance through the declared stages,
and delete (after which the record must be gone); convert and invoice are tried where
declared. Every operation the adapter does *not* declare is sent too, and must come back
`unsupported`. Each group of checks is one scenario (begin ... end), and everything it
created is deleted at its end, as the runner's cleanup would.

Each check gets one verdict: `pass`; `broken` (an adapter bug: an invalid message, an
`error`, a non-canonical record, a declared capability answered `unsupported`, a record
that cannot be read back, a plain `ok` to a delete that left the record); `lacks` (the
vendor does not do this, refused it for a business reason, or keeps a record by design and
the outcome says so in `kept`); or `skipped` (an earlier check left nothing to try it on).
"""

from __future__ import annotations

import functools
import time
from typing import Any

from crmproof import vocabulary
from crmproof.conformance.bench import Bench, Finding, Verdict
from crmproof.conformance.data import (
    MARK,
    NAME_FIELDS,
    differences,
    field_type,
    find_key,
    fixture,
    name_value,
    record_problems,
    same,
    sample_value,
    update_field,
)
from crmproof.protocol import Capabilities, Outcome

__all__ = ["Finding", "Kit", "Verdict", "applicable", "capability_problems"]

ABSENT_ID = f"{MARK}-absent"
FIND_PATIENCE = 5.0  # seconds a search index may take to show a new record


def applicable(entity: str) -> list[str]:
    """The entity operations that mean something for `entity` in the vocabulary."""
    ops = ["create", "get", "update", "delete", "find"]
    if vocabulary.ENTITIES[entity].stages:
        ops.append("advance")
    if entity in vocabulary.CONVERSIONS:
        ops.append("convert")
    if entity == "order":
        ops.append("invoice")
    return ops


def capability_problems(caps: Capabilities) -> list[str]:
    """Everything in a capability claim that is not canonical vocabulary."""
    problems = []
    for entity, support in caps.entities.items():
        if entity not in vocabulary.ENTITIES:
            problems.append(f"unknown entity {entity!r}")
            continue
        known = vocabulary.ENTITIES[entity]
        for op in support.operations:
            if op not in vocabulary.ENTITY_OPERATIONS:
                problems.append(f"{entity}: unknown operation {op!r}")
            elif op not in applicable(entity):
                problems.append(f"{entity}: {op!r} does not apply to a {entity}")
        foreign = [f for f in support.fields if f != "id" and f not in known.fields]
        if foreign:
            problems.append(f"{entity}: non-canonical field(s) {', '.join(foreign)}")
        for name, conditions in support.only_when.items():
            if name not in support.fields:
                problems.append(f"{entity}: only_when names {name!r}, which is not in its fields")
            foreign = [other for other in conditions if other not in known.fields]
            if foreign:
                problems.append(f"{entity}: only_when on non-canonical {', '.join(foreign)}")
        stages = [s for s in support.stages if s not in known.stages]
        if stages:
            problems.append(f"{entity}: non-canonical stage(s) {', '.join(stages)}")
    for op in caps.operations:
        if op not in vocabulary.SESSION_OPERATIONS:
            problems.append(f"unknown session operation {op!r}")
    for kind, declared in (
        ("not_offered", caps.not_offered),
        ("channel_limits", caps.channel_limits),
    ):
        for key, reason in declared.items():
            problem = declaration_problem(key)
            if problem:
                problems.append(f"{kind} {key!r}: {problem}")
            elif not reason.strip():
                problems.append(f"{kind} {key!r}: give the reason (cite the product)")
    return problems


# What a channel may be unable to exercise besides session operations.
CHANNEL_WORDS = frozenset({"effort"})


def declaration_problem(key: str) -> str | None:
    """Why a not_offered / channel_limits key names nothing of the vocabulary, if it does.

    Keys: 'offline' (a session operation), 'effort' (effort counting), 'create activity',
    'lead.source', 'activity.kind=call' (one value of a field), 'create lead.source',
    'advance opportunity to negotiation', 'activity.case when kind=task' (a field the
    product lacks for one value of another).
    """
    if " when " in key:
        field_key, _, condition = key.partition(" when ")
        other, equals, _value = condition.partition("=")
        entity = field_key.partition(".")[0]
        if "." not in field_key or " " in field_key or not equals:
            return f"write 'entity.field when other=value', not {key!r}"
        problem = declaration_problem(field_key)
        if problem or entity not in vocabulary.ENTITIES:
            return problem
        return None if other in vocabulary.ENTITIES[entity].fields else f"no field {other!r}"
    words = key.split(" ")
    if len(words) == 1 and "." not in key:
        known = key in vocabulary.SESSION_OPERATIONS or key in CHANNEL_WORDS
        return None if known else f"no operation {key!r}"
    if len(words) == 1:
        entity, _, field = key.partition(".")
        field = field.partition("=")[0]  # 'activity.kind=call': one value of a field
        if entity not in vocabulary.ENTITIES:
            return f"no entity {entity!r}"
        return None if field in vocabulary.ENTITIES[entity].fields else f"no field {key!r}"
    op, target = words[0], words[1]
    if op not in vocabulary.ENTITY_OPERATIONS:
        return f"no operation {op!r}"
    entity, _, field = target.partition(".")
    if entity not in vocabulary.ENTITIES:
        return f"no entity {entity!r}"
    if field and field not in vocabulary.ENTITIES[entity].fields:
        return f"no field {target!r}"
    if len(words) == 4 and words[2] == "to":
        stages = vocabulary.ENTITIES[entity].stages
        return None if words[3] in stages else f"no {entity} stage {words[3]!r}"
    return None if len(words) == 2 else f"not a declaration key: {key!r}"


def field_declaration(key: str) -> tuple[str, str, tuple[str, str] | None] | None:
    """(entity, field, (other, value) or None) for a declaration about a field on create:
    'lead.amount', 'create lead.amount', 'activity.kind=call', 'activity.case when
    kind=task'; None for any other key (an operation, a stage, a channel word)."""
    if declaration_problem(key):
        return None
    key, _, when = key.partition(" when ")
    condition = tuple(when.split("=", 1)) if when else None
    words = key.split(" ")
    if len(words) == 2 and words[0] == "create":
        key = words[1]
    elif len(words) != 1:
        return None
    entity, dot, field = key.partition(".")
    if not dot:
        return None
    if "=" in field:  # one value of a field: 'activity.kind=call'
        field, _, value = field.partition("=")
        return entity, field, (field, value)
    return entity, field, condition  # type: ignore[return-value]


class Kit(Bench):
    """Runs the checks through a `Link`: one group (scenario) per entity, then the rest."""

    def run(self) -> None:
        for entity in vocabulary.ENTITIES:
            if entity in self.caps.entities:
                self.group(entity, functools.partial(self.entity_checks, entity))
        if self.caps.operations or self.caps.actors:
            self.group("session", self.session_checks)
        self.group("undeclared", self.undeclared_checks)
        if any(field_declaration(key) for key in self.caps.not_offered):
            self.group("declared lacking", self.declared_lacking_checks)

    # -- one entity ---------------------------------------------------------------------

    def entity_checks(self, entity: str) -> None:
        ops = set(self.support(entity).operations)
        self.prepare(entity)
        if "create" in ops:
            made = self.create(entity, entity, "create")
        else:
            made = self.produce(entity, entity)
        if made is None:
            self.probe(entity, ops)
        else:
            record, written = made
            record_id = str(record["id"])
            if not written:  # produced: compare with what the producer returned
                written = {k: v for k, v in record.items() if k not in ("id", "lines")}
            if "get" in ops:
                self.check_get(entity, record_id, written)
            if "find" in ops:
                self.check_find(entity, record_id, written)
            if "update" in ops:
                self.check_update(entity, record_id, written)
            if "delete" in ops:
                self.check_delete(entity, record_id, written)
        if "advance" in ops:
            self.check_advance(entity)
        if "convert" in ops:
            self.check_produce_from(entity, "convert")
        if "invoice" in ops:
            self.check_produce_from(entity, "invoice")

    def probe(self, entity: str, ops: set[str]) -> None:
        """No record to work on: a search for the marker must still answer, with nothing."""
        if "find" in ops:
            field = next((f for f in NAME_FIELDS if f in self.support(entity).fields), "id")
            outcome = self.perform(op="find", entity=entity, where={field: ABSENT_ID})
            if self.answered(entity, "find (nothing matches)", outcome, f"find {entity}"):
                hits = outcome.records
                if hits is None or hits:
                    self.add(
                        entity,
                        "find (nothing matches)",
                        "broken",
                        f"find {field}={ABSENT_ID!r} should answer `records: []`, got {hits!r}",
                    )
                else:
                    self.add(entity, "find (nothing matches)", "pass")
        why = f"the kit has no {entity} to try it on (it cannot create one through this adapter)"
        for op in ("get", "update", "delete"):
            if op in ops:
                self.add(entity, op, "skipped", why)

    def check_get(self, entity: str, record_id: str, written: dict[str, Any]) -> None:
        outcome = self.perform(op="get", entity=entity, id=record_id)
        if outcome.status == "refused":
            self.add(
                entity,
                "get",
                "broken",
                f"the {entity} just created cannot be read back: refused: {outcome.message}",
            )
            return
        if not self.answered(entity, "get", outcome, f"get {entity}"):
            return
        record = outcome.record
        if record is None:
            self.add(entity, "get", "broken", "get answered ok without a record")
            return
        problems = record_problems(entity, record)
        if isinstance(record, dict):
            if str(record.get("id")) != record_id:
                problems.append(f"get {record_id} returned the record {record.get('id')!r}")
            problems += differences(entity, written, record)
        checked = ", ".join(sorted(written)) or "id"
        self.add(entity, "get", "broken" if problems else "pass", "; ".join(problems) or checked)

    def _find(self, entity: str, key: str, value: Any, record_id: str) -> Outcome:
        """Search until the record shows (a search index may lag a little)."""
        deadline = time.monotonic() + FIND_PATIENCE
        while True:
            outcome = self.perform(op="find", entity=entity, where={key: value})
            ids = [str(r.get("id")) for r in outcome.records or [] if isinstance(r, dict)]
            if outcome.status != "ok" or record_id in ids or time.monotonic() > deadline:
                return outcome
            time.sleep(0.5)

    def check_find(self, entity: str, record_id: str, written: dict[str, Any]) -> None:
        key = find_key(entity, written, self.support(entity).fields)
        value = record_id if key == "id" else written[key]
        check = f"find by {key}"
        outcome = self._find(entity, key, value, record_id)
        if not self.answered(entity, check, outcome, f"find {entity}"):
            return
        if outcome.records is None:
            self.add(entity, check, "broken", "find answered ok without `records` (a list)")
            return
        problems = [p for hit in outcome.records[:5] for p in record_problems(entity, hit)]
        ids = [str(r.get("id")) for r in outcome.records if isinstance(r, dict)]
        if record_id not in ids:
            problems.append(
                f"find {key}={value!r} did not return the {entity} just created "
                f"(id {record_id}; got {len(ids)} record(s))"
            )
        detail = (
            "; ".join(dict.fromkeys(problems)) or f"{len(ids)} record(s), the new one among them"
        )
        self.add(entity, check, "broken" if problems else "pass", detail)

    def check_update(self, entity: str, record_id: str, written: dict[str, Any]) -> None:
        field = update_field(entity, self.support(entity).fields)
        if field is None:
            self.add(entity, "update", "skipped", "no declared text field to update")
            return
        base = written.get(field) or name_value(entity, field, self.marker)
        value = f"{base}-updated"
        check = f"update {field}"
        outcome = self.perform(op="update", entity=entity, id=record_id, data={field: value})
        if not self.answered(entity, check, outcome, f"update {entity}"):
            return
        written[field] = value
        record = outcome.record
        problems = record_problems(entity, record) if record is not None else []
        if (
            isinstance(record, dict)
            and field in record
            and not same(entity, field, value, record[field])
        ):
            problems.append(f"update answered {field}={record[field]!r}, not {value!r}")
        if self.caps.supports("get", entity):
            again = self.perform(op="get", entity=entity, id=record_id)
            if again.status != "ok" or not isinstance(again.record, dict):
                problems.append(f"get after update answered {again.status}: {again.message}")
            elif not same(entity, field, value, again.record.get(field)):
                problems.append(
                    f"after update, get reads {field}={again.record.get(field)!r}, not {value!r}"
                )
        self.add(
            entity, check, "broken" if problems else "pass", "; ".join(problems) or "read back"
        )

    def check_delete(self, entity: str, record_id: str, written: dict[str, Any]) -> None:
        outcome = self.perform(op="delete", entity=entity, id=record_id)
        if not self.answered(entity, "delete", outcome, f"delete {entity}"):
            return
        self.gone.add((entity, record_id))
        if outcome.kept:  # the vendor keeps it by design, and the adapter says how
            self.add(entity, "delete", "lacks", f"the vendor keeps it by design: {outcome.kept}")
            return
        self.add(entity, "delete", "pass")
        check = "gone after delete"
        if self.caps.supports("get", entity):
            again = self.perform(op="get", entity=entity, id=record_id)
            if again.status == "refused":
                self.add(entity, check, "pass", f"get refused: {again.message}")
            elif again.status == "ok":
                stage = again.record.get("stage") if isinstance(again.record, dict) else None
                kept = f" (stage {stage})" if stage else ""
                self.add(
                    entity,
                    check,
                    "broken",
                    f"delete answered ok, yet get still returns it{kept}: when the vendor "
                    "keeps a record by design (archived, cancelled), the outcome must say "
                    "so in `kept`",
                )
            else:
                self.answered(entity, check, again, f"get {entity}")
        elif self.caps.supports("find", entity):
            key = find_key(entity, written, self.support(entity).fields)
            value = record_id if key == "id" else written[key]
            again = self.perform(op="find", entity=entity, where={key: value})
            if self.answered(entity, check, again, f"find {entity}"):
                ids = [str(r.get("id")) for r in again.records or [] if isinstance(r, dict)]
                if record_id in ids:
                    self.add(entity, check, "broken", "delete answered ok, yet find still finds it")
                else:
                    self.add(entity, check, "pass", "find no longer finds it")

    def check_advance(self, entity: str) -> None:
        """Walk one record through the declared stages; each terminal stage on its own."""
        canonical = vocabulary.ENTITIES[entity]
        declared = self.stages(entity)
        terminal = [s for s in declared if s in canonical.terminal]
        walk = [s for s in declared if s not in canonical.terminal]
        made = self.fresh(entity, entity, "advance") if walk else None
        if walk and made is None:
            self.add(entity, "advance", "skipped", f"no {entity} to advance")
        if made is not None:
            current = made[0].get("stage")
            start = canonical.stages.index(current) if current in canonical.stages else 0
            for stage in walk:
                if canonical.stages.index(stage) <= start:
                    continue
                if not self.advance(entity, str(made[0]["id"]), stage):
                    break
        for stage in terminal:
            made = self.fresh(entity, entity, f"advance to {stage}")
            if made is None:
                self.add(entity, f"advance to {stage}", "skipped", f"no {entity} to advance")
            else:
                self.advance(entity, str(made[0]["id"]), stage)

    def advance(self, entity: str, record_id: str, stage: str) -> bool:
        check = f"advance to {stage}"
        outcome = self.perform(op="advance", entity=entity, id=record_id, to=stage)
        if not self.answered(entity, check, outcome, f"advance {entity} to {stage}"):
            return False
        record = outcome.record
        problems = record_problems(entity, record) if record is not None else []
        if isinstance(record, dict) and "stage" in record and record["stage"] != stage:
            problems.append(f"advanced to {stage!r}, but the record says {record['stage']!r}")
        self.add(entity, check, "broken" if problems else "pass", "; ".join(problems))
        return not problems

    def check_produce_from(self, source: str, op: str) -> None:
        """`convert` a lead or opportunity, `invoice` an order: a canonical record back."""
        target = vocabulary.CONVERSIONS.get(source) if op == "convert" else "invoice"
        if target is None:
            return
        made = self.fresh(source, source, op)
        if made is None:
            self.add(source, op, "skipped", f"no {source} to {op}")
            return
        source_id = str(made[0]["id"])
        check = f"{op} to {target}" if op == "convert" else op
        outcome = self.perform(
            op=op, entity=source, id=source_id, to=vocabulary.CONVERSIONS.get(source)
        )
        if (
            op == "invoice"
            and outcome.status == "refused"
            and self.caps.supports("advance", source)
            and "confirmed" in self.stages(source)
        ):
            step = self.perform(op="advance", entity=source, id=source_id, to="confirmed")
            if step.status == "ok":
                outcome = self.perform(op=op, entity=source, id=source_id)
        if not self.answered(source, check, outcome, f"{op} {source}"):
            return
        record = outcome.record
        if record is None:
            self.add(source, check, "broken", f"{op} answered ok without the {target} it made")
            return
        problems = record_problems(target, record)
        if isinstance(record, dict) and record.get("id"):
            self.keep(target, str(record["id"]))
        self.add(source, check, "broken" if problems else "pass", "; ".join(problems))

    # -- sessions and what is not declared ----------------------------------------------

    def session_checks(self) -> None:
        ops = self.caps.operations
        finder = next((e for e in self.caps.entities if self.caps.supports("find", e)), None)
        for actor in self.caps.actors:
            if "login" in ops:
                outcome = self.perform(op="login", actor=actor)
                if self.answered("session", f"login as {actor}", outcome, "login"):
                    self.add("session", f"login as {actor}", "pass")
            elif finder:
                field = next((f for f in NAME_FIELDS if f in self.support(finder).fields), "id")
                outcome = self.perform(
                    op="find", entity=finder, where={field: ABSENT_ID}, actor=actor
                )
                if self.answered("session", f"find {finder} as {actor}", outcome, "acting as"):
                    self.add("session", f"find {finder} as {actor}", "pass")
        for op in ("offline", "online"):
            if op in ops:
                outcome = self.perform(op=op)
                if self.answered("session", op, outcome, op):
                    self.add("session", op, "pass")

    def undeclared_checks(self) -> None:
        for entity, known in vocabulary.ENTITIES.items():
            for op in applicable(entity):
                if self.caps.supports(op, entity):
                    continue
                name = next((f for f in NAME_FIELDS if f in known.fields), None)
                data = {name: name_value(entity, name, self.marker)} if name else {}
                fields: dict[str, Any] = {"op": op, "entity": entity}
                if op in ("create", "update"):
                    fields["data"] = data
                if op not in ("create", "find"):
                    fields["id"] = ABSENT_ID
                if op == "find":
                    fields["where"] = data
                if op == "advance":
                    fields["to"] = known.stages[0]
                if op == "convert":
                    fields["to"] = vocabulary.CONVERSIONS[entity]
                self.expect_unsupported(f"{op} {entity}", self.perform(**fields), entity)
        for op in vocabulary.SESSION_OPERATIONS:
            if op not in self.caps.operations:
                actor = f"{MARK}-actor" if op == "login" else None
                self.expect_unsupported(op, self.perform(op=op, actor=actor), None)

    def declared_lacking_checks(self) -> None:
        """A field the adapter declares the product lacks is sent anyway, on a create: it
        must come back unsupported or refused. An `ok` contradicts the declaration (the
        vendor stored it) or drops the field without a word; either is a broken adapter."""
        for key in sorted(self.caps.not_offered):
            target = field_declaration(key)
            if target is None:
                continue
            entity, name, condition = target
            if not self.caps.supports("create", entity):
                self.add("declared lacking", key, "skipped", f"the adapter creates no {entity}")
                continue
            self.prepare(entity)
            linked = field_type(entity, name).removeprefix("ref:")
            if linked in self.caps.entities and linked not in self.refs:
                made = self.fresh(linked, "declared lacking", f"a {linked} to link as {name}")
                if made:
                    self.refs[linked] = str(made[0]["id"])
            value = sample_value(entity, name, self.marker, self.refs)
            if value is None:
                self.add("declared lacking", key, "skipped", f"no record to link as {name}")
                continue
            self.serial += 1
            args = (entity, self.support(entity).fields, self.marker, self.refs, self.product)
            data = self.inside_claim(entity, fixture(*args, full=True, serial=self.serial))
            data[name] = value
            if condition:
                data[condition[0]] = condition[1]
            outcome = self.perform(op="create", entity=entity, data=data)
            reason = self.caps.not_offered[key]
            if outcome.status in ("unsupported", "refused"):
                detail = f"answered {outcome.status}: {outcome.message or reason}"
                self.add("declared lacking", key, "lacks", detail)
            elif outcome.status == "ok":
                held = (outcome.record or {}).get(name)
                self.add(
                    "declared lacking",
                    key,
                    "broken",
                    f"declared lacking ({reason}), yet the vendor stored {name} = {held!r}: "
                    "the declaration contradicts the adapter"
                    if same(entity, name, value, held)
                    else f"answered ok and left {name} out: answer unsupported for a field "
                    "the product lacks, so nothing is dropped without a word",
                )
            else:
                self.add("declared lacking", key, "broken", f"answered error: {outcome.message}")

    def _declared_gap(self, what: str) -> str:
        """What the scorecard will say of an undeclared operation, from the declarations."""
        if what in self.caps.channel_limits:
            return f"untested (channel): {self.caps.channel_limits[what]}"
        if what in self.caps.not_offered:
            return f"not offered: {self.caps.not_offered[what]}"
        return "not shown: no not_offered declaration says why the product lacks it"

    def expect_unsupported(self, what: str, outcome: Outcome, entity: str | None) -> None:
        declared = what in self.caps.not_offered or what in self.caps.channel_limits
        if outcome.status == "unsupported":
            detail = "; ".join(m for m in (outcome.message, self._declared_gap(what)) if m)
            self.add("undeclared", what, "lacks", detail)
        elif outcome.status == "refused":
            self.add(
                "undeclared",
                what,
                "lacks",
                f"refused ({outcome.message}); `unsupported` is the answer for an "
                "operation an adapter does not declare",
            )
        elif outcome.status == "ok":
            record = outcome.record
            if (
                entity
                and isinstance(record, dict)
                and record.get("id")
                and what.startswith("create")
            ):
                self.keep(entity, str(record["id"]))
            self.add(
                "undeclared",
                what,
                "broken",
                f"declared lacking ({self._declared_gap(what)}), yet the call succeeded: "
                "the declaration contradicts the adapter"
                if declared
                else "answered ok to an operation the adapter does not declare: declare it, "
                "or answer unsupported",
            )
        else:
            self.add("undeclared", what, "broken", f"answered error: {outcome.message}")
