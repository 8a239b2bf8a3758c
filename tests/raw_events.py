"""results.jsonl as plain dicts, for tests that look at events the way a user's script would.

Every line is still read and validated by crmproof's own typed reader first, so a test
that uses this cannot pass on a file crmproof would refuse.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crmproof.results import read_events as read_typed


def read_events(path: Path) -> Iterator[dict[str, Any]]:
    for event in read_typed(path):
        yield event.model_dump(mode="json")
