"""One single-document YAML file read into a model, every problem located.

The decision layer's files (decisions.yaml, demos/*.yaml) hold one document each; this
reads one the way the workspace reads crmproof.yaml, so their mistakes look the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from crmproof.diagnostics import Diagnostic
from crmproof.yamlsource import Document


def load_one(
    path: Path, model: type[BaseModel]
) -> tuple[Any | None, Document | None, list[Diagnostic]]:
    """(the model or None, its document or None, the located problems); never raises."""
    from crmproof.workspace import _documents, _load_model

    problems: list[Diagnostic] = []
    for doc, errs in _documents(path):
        problems += errs
        if doc is None:
            continue
        found, errs = _load_model(model, doc)
        return found, doc, problems + errs
    return None, None, problems
