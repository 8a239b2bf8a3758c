"""The conformance kit's workbench: talking to the adapter, making records, cleaning up.

The checks (`kit`) need records to work on. A record is made from a canonical
fixture by `create`, or, for an entity the adapter cannot create directly, by the
operation that makes one (`convert` a lead, `invoice` an order), after its prerequisites
(an account with a person at it, a product for the lines). Everything an operation
reports in `created` is remembered, and deleted at the end of its group of checks, as the
runner's cleanup does after a scenario.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from crmproof import vocabulary
from crmproof.conformance.data import PREREQUISITE, fixture, record_problems
from crmproof.conformance.link import Link
from crmproof.external import ProtocolError
from crmproof.protocol import Capabilities, EntitySupport, Operation, Outcome, RecordRef

Verdict = Literal["pass", "broken", "lacks", "skipped"]
Made = tuple[dict[str, Any], dict[str, Any]]  # a record, and the fields written to make it

# Operations that make a record of an entity the adapter cannot create directly.
PRODUCERS = {
    "opportunity": ("convert", "lead"),
    "order": ("convert", "opportunity"),
    "invoice": ("invoice", "order"),
}


@dataclass
class Finding:
    area: str  # an entity, or protocol / session / cleanup / undeclared
    check: str
    verdict: Verdict
    detail: str = ""


class Bench:
    """Plumbing and records for the checks; `record` receives each finding as it is made."""

    def __init__(
        self,
        link: Link,
        caps: Capabilities,
        marker: str,
        record: Callable[[Finding], None],
        progress: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.link = link
        self.caps = caps
        self.marker = marker
        self.record = record
        self.progress = progress
        self.created: list[RecordRef] = []
        self.gone: set[tuple[str, str]] = set()
        self.refs: dict[str, str] = {}
        self.product: str | None = None
        self.serial = 0

    # -- plumbing ---------------------------------------------------------------------

    def add(self, area: str, check: str, verdict: Verdict, detail: str = "") -> None:
        notes = self.link.take_notes()
        if notes:
            verdict = "broken"
            detail = "; ".join([*notes, detail] if detail else notes)
        self.record(Finding(area, check, verdict, detail))

    def perform(self, **fields: Any) -> Outcome:
        outcome = self.link.perform(Operation(**fields))
        for ref in outcome.created:
            if ref not in self.created:
                self.created.append(ref)
        return outcome

    def keep(self, entity: str, record_id: str) -> None:
        ref = RecordRef(entity=entity, id=record_id)
        if ref not in self.created:
            self.created.append(ref)

    def answered(self, area: str, check: str, outcome: Outcome, what: str) -> bool:
        """True on ok; otherwise records why not (`what` is the declared capability)."""
        if outcome.status == "ok":
            return True
        message = outcome.message or "(no message)"
        if outcome.status == "error":
            self.add(area, check, "broken", f"{what} answered error: {message}")
        elif outcome.status == "unsupported":
            self.add(
                area,
                check,
                "broken",
                f"the adapter declares {what} but answered unsupported: {message}",
            )
        else:
            self.add(area, check, "lacks", f"the vendor refused {what}: {message}")
        return False

    def support(self, entity: str) -> EntitySupport:
        return self.caps.entities.get(entity) or EntitySupport(operations=[])

    def stages(self, entity: str) -> list[str]:
        declared = self.support(entity).stages
        canonical = vocabulary.ENTITIES[entity].stages
        return [s for s in canonical if s in declared] if declared else list(canonical)

    # -- groups: one scenario each ----------------------------------------------------

    def group(self, name: str, body: Callable[[], None]) -> None:
        self.progress(f"checking {name}")
        self.created, self.gone, self.refs, self.product = [], set(), {}, None
        scenario = f"{self.marker}-{name}"
        try:
            self.link.begin(scenario)
        except ProtocolError as exc:
            self.add("protocol", f"begin ({name})", "broken", str(exc))
            return
        try:
            body()
        finally:
            self.cleanup(name)
            try:
                self.link.end(scenario, "passed")
            except ProtocolError as exc:
                self.add("protocol", f"end ({name})", "broken", str(exc))

    def cleanup(self, name: str) -> None:
        """Delete what the group created, newest first, as the runner's cleanup does."""
        deleted, kept, left, broken = 0, [], [], False
        for ref in reversed(list(self.created)):
            if (ref.entity, ref.id) in self.gone:
                continue
            outcome = self.perform(op="delete", entity=ref.entity, id=ref.id, cleanup=True)
            if outcome.status == "ok" and outcome.kept:
                kept.append(f"{ref.entity} {ref.id} ({outcome.kept})")
                self.gone.add((ref.entity, ref.id))
            elif outcome.status == "ok":
                deleted += 1
                self.gone.add((ref.entity, ref.id))
            else:
                broken = broken or outcome.status == "error"
                left.append(f"{ref.entity} {ref.id} ({outcome.status}: {outcome.message})")
        if left:
            verdict: Verdict = "broken" if broken else "lacks"
            self.add("cleanup", name, verdict, f"left in the vendor: {'; '.join(left)}")
        if kept:
            self.add("cleanup", name, "lacks", f"kept by the vendor by design: {'; '.join(kept)}")
        if deleted and not left:
            self.add("cleanup", name, "pass", f"{deleted} record(s) deleted")

    # -- making records ---------------------------------------------------------------

    def create(self, entity: str, area: str, check: str, quiet: bool = False) -> Made | None:
        """Create a fixture (full, else minimal); None when there is no record to go on."""
        declared = self.support(entity).fields
        self.serial += 1
        args = (entity, declared, self.marker, self.refs, self.product)
        full = self.inside_claim(entity, fixture(*args, full=True, serial=self.serial))
        written, note = full, ""
        outcome = self.perform(op="create", entity=entity, data=full)
        if outcome.status in ("refused", "unsupported"):
            # A finer refusal (one field's value) is the vendor's right: try the minimum.
            minimal = self.inside_claim(entity, fixture(*args, full=False, serial=self.serial))
            if minimal != full:
                second = self.perform(op="create", entity=entity, data=minimal)
                if second.status == "ok":
                    note = (
                        f"the full fixture was {outcome.status} ({outcome.message}); "
                        f"created with {', '.join(minimal) or 'no fields'} only"
                    )
                    written, outcome = minimal, second
        if not self.answered(area, check, outcome, f"create {entity}"):
            return None
        record, record_id, problems = _new_record(entity, outcome, f"create {entity}")
        if record_id and RecordRef(entity=entity, id=record_id) not in outcome.created:
            problems.append(
                "the new record is not listed in the outcome's `created`, so a run "
                "could not clean it up"
            )
            self.keep(entity, record_id)
        if problems:
            self.add(area, check, "broken", "; ".join(problems))
        elif not quiet:
            self.add(area, check, "pass", note or f"id {record_id}")
        if record_id is None or not isinstance(record, dict):
            return None
        return record, written

    def inside_claim(self, entity: str, data: dict[str, Any]) -> dict[str, Any]:
        """The fixture without fields claimed only for other values (`only_when`): an
        activity's case link, say, when the adapter maps it for e-mails and this is a task."""
        conditions = self.support(entity).only_when
        return {
            name: value
            for name, value in data.items()
            if all(
                str(data.get(other)) in allowed
                for other, allowed in conditions.get(name, {}).items()
            )
        }

    def produce(self, entity: str, area: str, quiet: bool = False) -> Made | None:
        """A record of an entity the adapter cannot create: by convert or invoice."""
        if entity not in PRODUCERS:
            return None
        op, source = PRODUCERS[entity]
        if not (self.caps.supports(op, source) and self.caps.supports("create", source)):
            return None
        if self.product is None:  # an invoice maps no lines, but its order needs a product
            self.prepare_product(source)
        made = self.create(source, area, f"create {source} (to {op})", quiet=True)
        if made is None:
            return None
        source_id = str(made[0]["id"])
        to = vocabulary.CONVERSIONS.get(source)
        outcome = self.perform(op=op, entity=source, id=source_id, to=to)
        if (
            outcome.status == "refused"
            and op == "invoice"
            and self.caps.supports("advance", source)
            and "confirmed" in self.stages(source)
        ):  # a vendor may invoice confirmed orders only
            step = self.perform(op="advance", entity=source, id=source_id, to="confirmed")
            if step.status == "ok":
                outcome = self.perform(op=op, entity=source, id=source_id)
        check = f"{op} {source}" + (f" to {to}" if to else "")
        if not self.answered(area, check, outcome, f"{op} {source}"):
            return None
        record, record_id, problems = _new_record(entity, outcome, f"{op} {source}")
        if record_id:
            self.keep(entity, record_id)
        if problems:
            self.add(area, check, "broken", "; ".join(problems))
        elif not quiet:
            self.add(area, check, "pass", f"{entity} {record_id}")
        if record_id is None or not isinstance(record, dict):
            return None
        return record, {}

    def fresh(self, entity: str, area: str, purpose: str) -> Made | None:
        if self.caps.supports("create", entity):
            return self.create(entity, area, f"create (for {purpose})", quiet=True)
        return self.produce(entity, area, quiet=True)

    def prepare(self, entity: str) -> None:
        """The records a fixture points at: an account, a product for its lines."""
        fields = self.support(entity).fields
        if (
            PREREQUISITE in fields
            and entity != PREREQUISITE
            and self.caps.supports("create", PREREQUISITE)
        ):
            made = self.create(PREREQUISITE, entity, f"create {PREREQUISITE} (prerequisite)", True)
            if made:
                self.refs[PREREQUISITE] = str(made[0]["id"])
            # A person at the account: some vendors sell to or bill only an account with one.
            contact = self.support("contact")
            if (
                made
                and entity != "contact"
                and "create" in contact.operations
                and PREREQUISITE in contact.fields
            ):
                person = self.create("contact", entity, "create contact (prerequisite)", True)
                if person:
                    self.refs["contact"] = str(person[0]["id"])
        self.prepare_product(entity)

    def prepare_product(self, entity: str) -> None:
        """A product for the entity's lines, made, or found where the adapter makes none."""
        if "lines" in self.support(entity).fields and "product" in self.caps.entities:
            if self.caps.supports("create", "product"):
                made = self.create("product", entity, "create product (prerequisite)", True)
                if made:
                    self.product = str(made[0].get("code") or made[1].get("code") or made[0]["id"])
            elif self.caps.supports("find", "product"):
                outcome = self.perform(op="find", entity="product", where={})
                hits = [r for r in outcome.records or [] if isinstance(r, dict)]
                if hits:
                    self.product = str(hits[0].get("code") or hits[0].get("id"))


def _new_record(entity: str, outcome: Outcome, what: str) -> tuple[Any, str | None, list[str]]:
    """The record an ok outcome brought, its id, and what is wrong with it."""
    record = outcome.record
    if record is None:
        problems = [f"{what} answered ok without the {entity} it made"]
    else:
        problems = record_problems(entity, record)
    record_id = str(record["id"]) if isinstance(record, dict) and record.get("id") else None
    return record, record_id, problems
