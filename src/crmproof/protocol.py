"""The adapter protocol: plain, serialisable messages between the runner and an adapter.

Every message is a pydantic model, so the same protocol works in process (method calls
carrying these objects) and over stdin/stdout as JSON lines, with one JSON Schema per
message (`crmproof schema`). The runner never sees a vendor's own data shapes, only these.

The conversation, for one vendor; every request gets exactly one reply:

    hello    adapter -> runner  who it is, its channel and its capabilities (sent first)
    open     runner  -> adapter settings and where evidence goes        reply: opened
    begin    runner  -> adapter a scenario starts, with its marker       reply: ack
    perform  runner  -> adapter one Operation                            reply: outcome
    end      runner  -> adapter the scenario ended                       reply: ended
    close    runner  -> adapter release everything                       reply: ack
    error    adapter -> runner  instead of a reply: the request could not be handled
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crmproof.vocabulary import RefusalKind

PROTOCOL_VERSION = 3
"""The version of this protocol; an adapter's hello names the one it speaks.

2: `begin` carries the scenario's `marker`, which an external UI adapter needs to count
effort as an in-process one does.
3: `perform` carries `readback`, so a UI adapter can tell the runner's proof of a write
from a user's step and read it without drawing the page.
"""

OLDEST_PROTOCOL_VERSION = 1
"""The oldest version crmproof still speaks, so an adapter is not broken by a field it
never needed (`FIELDS_SINCE`)."""

FIELDS_SINCE: dict[str, dict[str, int]] = {"begin": {"marker": 2}, "perform": {"readback": 3}}
"""Fields a message gained after version 1, by the version that added them: an older
adapter is sent the message without them, as its schemas refuse unknown keys."""

Channel = Literal["api", "browser", "process"]
OutcomeStatus = Literal["ok", "refused", "unsupported", "error"]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


def kind_of(message: Message) -> str:
    """A protocol message's `kind` (hello, outcome, ...), or its class name for a part."""
    return str(getattr(message, "kind", type(message).__name__))


def to_line(message: Message, protocol: int) -> str:
    """`message` as the JSON line an adapter speaking `protocol` reads: without the fields
    added since that version (`FIELDS_SINCE`), which it would refuse."""
    newer = {f for f, since in FIELDS_SINCE.get(kind_of(message), {}).items() if since > protocol}
    return message.model_dump_json(exclude=newer) + "\n"


class EntitySupport(Message):
    """What an adapter can do with one canonical entity."""

    operations: list[str] = Field(description="Entity operations it performs, e.g. create, find.")
    fields: list[str] = Field(default_factory=list, description="Canonical fields it maps.")
    stages: list[str] = Field(default_factory=list, description="Canonical stages it can reach.")
    only_when: dict[str, dict[str, list[str]]] = Field(
        default_factory=dict,
        description="Fields mapped only for some values of another field, e.g. "
        "{'case': {'kind': ['email']}}: an activity links to a case only as an e-mail. A step "
        "that sets the other field to a value outside the list is outside the claim.",
    )


class Capabilities(Message):
    """The adapter's honest claim. A step outside it is recorded as unsupported."""

    entities: dict[str, EntitySupport] = Field(default_factory=dict)
    operations: list[str] = Field(
        default_factory=list, description="Session operations: login, offline, online."
    )
    actors: list[str] = Field(
        default_factory=list, description="Names a step may act as (`as:` / `login:`)."
    )
    not_offered: dict[str, str] = Field(
        default_factory=dict,
        description="What the product lacks, each with a reason citing the product: keys "
        "like 'create activity', 'lead.source', 'advance opportunity to negotiation'.",
    )
    channel_limits: dict[str, str] = Field(
        default_factory=dict,
        description="What this channel cannot exercise, whatever the product does: keys "
        "like 'offline' (an API has no connection to lose), with the reason.",
    )

    def supports(self, op: str, entity: str | None) -> bool:
        if entity is None:
            return op in self.operations
        support = self.entities.get(entity)
        return support is not None and op in support.operations

    def unsupported_fields(
        self, entity: str, names: list[str], values: Mapping[str, Any] | None = None
    ) -> list[str]:
        """The fields outside the claim; `values` are the step's own, for `only_when`."""
        support = self.entities.get(entity)
        known = {"id", *(support.fields if support else [])}
        return [
            n
            for n in names
            if n not in known or self.unmet_condition(entity, n, values or {}) is not None
        ]

    def unmet_condition(self, entity: str, name: str, values: Mapping[str, Any]) -> str | None:
        """The `other=value` of the step that puts a mapped field outside the claim, if any.

        A value the step does not fix (absent, or a `${...}` reference) leaves it inside:
        a search without a kind looks where the field exists.
        """
        support = self.entities.get(entity)
        conditions = support.only_when.get(name, {}) if support else {}
        for other, allowed in conditions.items():
            value = values.get(other)
            fixed = isinstance(value, str | int | float | bool) and "${" not in str(value)
            if fixed and str(value) not in allowed:
                return f"{other}={value}"
        return None


class Hello(Message):
    kind: Literal["hello"] = "hello"
    protocol: int = Field(
        description=f"The protocol version the adapter speaks; this crmproof speaks "
        f"{OLDEST_PROTOCOL_VERSION} to {PROTOCOL_VERSION}, and sends an adapter of an older "
        "version only the fields that version has."
    )
    name: str
    version: str = Field(description="The adapter's own version.")
    channel: Channel
    capabilities: Capabilities


class Open(Message):
    kind: Literal["open"] = "open"
    settings: dict[str, Any] = Field(default_factory=dict)
    run_id: str
    evidence_dir: str = Field(description="Folder where the adapter may write evidence files.")


class Opened(Message):
    kind: Literal["opened"] = "opened"
    vendor_version: str | None = Field(None, description="The vendor's product version.")
    capabilities: Capabilities | None = Field(
        None, description="Capabilities as they stand with these settings (e.g. actors)."
    )


class Begin(Message):
    kind: Literal["begin"] = "begin"
    scenario: str
    marker: str = Field(
        description="What `${run.id}` reads in this attempt of the scenario (the run id, "
        "with -a2 on a re-run): the harness puts it in names to keep its records apart. "
        "No user types it, so a UI adapter leaves it out of the effort it counts; the "
        "records a run leaves behind are found by it. Since protocol 2."
    )


class RecordRef(Message):
    """A record the adapter created in the vendor, so the runner can clean it up."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity: str
    id: str
    kept: str | None = Field(
        None,
        description="Set when the vendor keeps this record by design (a posted invoice): "
        "how it was neutralised instead, e.g. 'cancelled'.",
    )


class Operation(Message):
    """One canonical operation, with every `${...}` already resolved."""

    kind: Literal["perform"] = "perform"
    op: str = Field(description="A canonical operation name (see crmproof.vocabulary).")
    entity: str | None = None
    id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict, description="Fields for create/update.")
    where: dict[str, Any] = Field(default_factory=dict, description="Filter for find.")
    to: str | None = Field(None, description="Target stage (advance) or entity (convert).")
    actor: str | None = Field(None, description="Act as this actor; None is the default user.")
    cleanup: bool = Field(False, description="A delete made by the runner's cleanup.")
    readback: bool = Field(
        False,
        description="A get made by the runner to prove the write just before it. No user "
        "asks for it and it counts no effort, so a UI adapter may read the record in the "
        "actor's session without drawing the page (fetched and parsed, say), or on the page "
        "the vendor drew from the stored record after the write (where a save's redirect "
        "led), if untouched since. It must read what the vendor holds, never answer from "
        "what it sent. Since protocol 3.",
    )


class Effort(Message):
    """What the user had to do in the UI for one step: the 'give' of give/get."""

    clicks: int = 0
    keystrokes: int = 0
    fields: int = 0
    pages: int = 0

    def __add__(self, other: Effort) -> Effort:
        return Effort(
            clicks=self.clicks + other.clicks,
            keystrokes=self.keystrokes + other.keystrokes,
            fields=self.fields + other.fields,
            pages=self.pages + other.pages,
        )


class Evidence(Message):
    kind: Literal["screenshot", "trace", "http", "log"]
    path: str = Field(description="Relative to the run folder.")
    note: str | None = None


class Outcome(Message):
    """The answer to one Operation.

    ok: done (record holds the result; find puts its hits in `records`).
    refused: the vendor declined it (not found, forbidden, a business rule); `message` says.
    unsupported: the vendor cannot do this, a claim about the product.
    error: the vendor or the adapter broke; says nothing about the product.
    """

    kind: Literal["outcome"] = "outcome"
    status: OutcomeStatus
    record: dict[str, Any] | None = None
    records: list[dict[str, Any]] | None = None
    message: str | None = None
    refusal: RefusalKind | None = Field(
        None,
        description="For a refusal: forbidden, not_found, rule (a business rule or "
        "validation said no) or conflict.",
    )
    transient: bool = Field(
        False,
        description="For an error: the vendor did not handle the request and may be asked "
        "again (a rate limit, a 503). The vendor's `retries` setting decides.",
    )
    created: list[RecordRef] = Field(default_factory=list)
    kept: str | None = Field(
        None,
        description="For a delete: the vendor keeps the record by design; how it was "
        "neutralised instead (cancelled, archived).",
    )
    effort: Effort | None = None
    evidence: list[Evidence] = Field(default_factory=list)


class End(Message):
    kind: Literal["end"] = "end"
    scenario: str
    status: str = Field(description="The scenario's status, so a trace can be kept on failure.")


class Ended(Message):
    kind: Literal["ended"] = "ended"
    evidence: list[Evidence] = Field(default_factory=list)


class Close(Message):
    kind: Literal["close"] = "close"


class Ack(Message):
    kind: Literal["ack"] = "ack"


class Error(Message):
    kind: Literal["error"] = "error"
    message: str


MESSAGES: dict[str, type[Message]] = {
    "hello": Hello,
    "open": Open,
    "opened": Opened,
    "begin": Begin,
    "perform": Operation,
    "outcome": Outcome,
    "end": End,
    "ended": Ended,
    "close": Close,
    "ack": Ack,
    "error": Error,
}
