"""JSON Schemas for the files a team writes, every adapter-protocol message and every event.

Editors use the file schemas (the workspace's YAML files name them in a
`yaml-language-server` comment) to complete keys and flag mistakes as they are typed;
adapter authors in any language use the message schemas to check what they send.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from crmproof.decisions import DecisionsFile
from crmproof.demos import ScoreSheet
from crmproof.events import ResultEvent
from crmproof.models import Catalog, Evaluation, Scenario
from crmproof.protocol import MESSAGES
from crmproof.responses import Response

FILE_KINDS = {
    "evaluation": Evaluation,
    "catalog": Catalog,
    "scenario": Scenario,
    "decisions": DecisionsFile,
    "scoresheet": ScoreSheet,
    "response": Response,
}


def schema_of(model: Any, title: str) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title, **schema}


def write_schemas(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, model in FILE_KINDS.items():
        path = out / f"{kind}.schema.json"
        path.write_text(json.dumps(schema_of(model, f"crmproof {kind} file"), indent=2) + "\n")
        written.append(path)
    events = out / "results-event.schema.json"
    schema = TypeAdapter(ResultEvent).json_schema()
    events.write_text(
        json.dumps(
            {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": "crmproof results.jsonl: one line, one event",
                **schema,
            },
            indent=2,
        )
        + "\n"
    )
    written.append(events)
    protocol = out / "protocol"
    protocol.mkdir(exist_ok=True)
    for kind, model in MESSAGES.items():
        path = protocol / f"{kind}.schema.json"
        path.write_text(json.dumps(schema_of(model, f"crmproof protocol: {kind}"), indent=2) + "\n")
        written.append(path)
    return written
