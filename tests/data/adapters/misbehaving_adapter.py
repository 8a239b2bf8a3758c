"""The real Tryton adapter over the protocol, misbehaving on cue, for the isolation tests.

`misbehaving_adapter.py MODE WORKSPACE` serves the workspace's `tryton` adapter exactly as
`crmproof adapter serve` does, until it is asked to perform an operation whose data holds
the word TRIGGER. Then, by MODE, it crashes (exits at once), hangs (never answers), or
prints garbage instead of an outcome. The runner must turn that step into an error and
go on with the next scenario on a fresh adapter process.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TextIO

from crmproof import discovery
from crmproof.external import parse_message
from crmproof.protocol import Close, Operation
from crmproof.serve import handle
from crmproof.workspace import adapters_dir


def misbehave(mode: str, out: TextIO) -> None:
    if mode == "crash":
        os._exit(3)
    if mode == "hang":
        time.sleep(3600)
    if mode == "garbage":
        out.write("<html>500 Internal Server Error</html>\n")
        out.flush()


def main() -> int:
    mode, workspace = sys.argv[1], Path(sys.argv[2])
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr  # the adapter's prints must not reach the protocol stream
    adapter = discovery.load("tryton", adapters_dir(workspace)).adapter()
    out.write(adapter.hello().model_dump_json() + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        message = parse_message(line)
        if isinstance(message, Operation) and "TRIGGER" in json.dumps(message.data):
            misbehave(mode, out)
            continue
        out.write(handle(adapter, message).model_dump_json() + "\n")
        if isinstance(message, Close):
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
