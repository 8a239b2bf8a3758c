"""An adapter program that claims what it cannot do, for the conformance kit's tests.

It speaks the protocol correctly (JSON lines, one reply per request) and touches no vendor,
but its hello declares `create case` and `find case` while it answers `create case` with
`unsupported` and `find case` with `error`; it declares that the product has no e-mail on
an account, yet stores one. `crmproof adapter check` must call all three broken, name
them, and exit non-zero.
"""

from __future__ import annotations

import json
import sys

HELLO = {
    "kind": "hello",
    "protocol": 2,
    "name": "liar",
    "version": "0.0.1",
    "channel": "api",
    "capabilities": {
        "entities": {
            "case": {"operations": ["create", "find"], "fields": ["subject"]},
            "account": {"operations": ["create"], "fields": ["name"]},
        },
        "not_offered": {"account.email": "the product keeps no e-mail on an account"},
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
    if message.get("op") == "create" and message.get("entity") == "account":
        record = {"id": "1", **message.get("data", {})}
        return {
            "kind": "outcome",
            "status": "ok",
            "record": record,
            "created": [{"entity": "account", "id": "1"}],
        }
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
