"""JSON Schemas for the files a team writes and for every adapter-protocol message.

Editors use the file schemas (the workspace's YAML files name them in a
`yaml-language-server` comment) to complete keys and flag mistakes as they are typed;
adapter authors in any language use the message schemas to check what they send.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crmproof.models import Catalog, Evaluation, Scenario
from crmproof.protocol import MESSAGES
from crmproof.responses import Response

FILE_KINDS = {
    "evaluation": Evaluation,
    "catalog": Catalog,
    "scenario": Scenario,
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
    protocol = out / "protocol"
    protocol.mkdir(exist_ok=True)
    for kind, model in MESSAGES.items():
        path = protocol / f"{kind}.schema.json"
        path.write_text(json.dumps(schema_of(model, f"crmproof protocol: {kind}"), indent=2) + "\n")
        written.append(path)
    return written
