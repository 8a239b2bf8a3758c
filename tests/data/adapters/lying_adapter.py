"""An adapter program that claims what it cannot do, for the conformance kit's tests.

It speaks the protocol correctly (JSON lines, one reply per request) and touches no vendor,
but its hello declares `create case` and `find case` while it answers `create case` with
`unsupported` and `find case` with `error`. `crmproof adapter check` must call both claims
broken, name them, and exit non-zero.
"""

from __future__ import annotations

import json
import sys

HELLO = {
    "kind": "hello",
    "protocol": 1,
    "name": "liar",
    "version": "0.0.1",
    "channel": "api",
    "capabilities": {
        "entities": {"case": {"operations": ["create", "find"], "fields": ["subject"]}},
    },
}


def reply(message: dict) -> dict:
    kind = message.get("kind")
    if kind == "open":
        return {"kind": "opened", "vendor_version": "nothing 0"}
    if kind in ("begin", "close"):
        return {"kind": "ack"}
    if kind == "end":
        return {"kind": "ended"}
    if message.get("op") == "create" and message.get("entity") == "case":
        return {"kind": "outcome", "status": "unsupported", "message": "no cases here after all"}
    if message.get("op") == "find" and message.get("entity") == "case":
        return {"kind": "outcome", "status": "error", "message": "the case search blew up"}
    return {"kind": "outcome", "status": "unsupported", "message": "not declared"}


def main() -> int:
    print(json.dumps(HELLO), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        print(json.dumps(reply(message)), flush=True)
        if message.get("kind") == "close":
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
