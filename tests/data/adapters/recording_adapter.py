"""An adapter program that writes down every request it is sent, for the protocol's tests.

`recording_adapter.py PROTOCOL LOG` says hello in protocol version PROTOCOL, appends each
request as it arrived to the JSON-lines file LOG, and keeps accounts in memory, so a test
can run a scenario through it and read what crmproof told the adapter (begin's marker).
"""

from __future__ import annotations

import json
import sys
from typing import Any

ACCOUNTS: dict[str, dict[str, Any]] = {}


def outcome(message: dict[str, Any]) -> dict[str, Any]:
    """The answer to a perform: create, get and delete accounts; nothing else is declared."""
    op, id_ = message["op"], message.get("id") or str(len(ACCOUNTS) + 1)
    if op == "create":
        ACCOUNTS[id_] = {"id": id_, **message["data"]}
        created = [{"entity": "account", "id": id_}]
        return {"kind": "outcome", "status": "ok", "record": ACCOUNTS[id_], "created": created}
    record = ACCOUNTS.pop(id_, {"id": id_}) if op == "delete" else ACCOUNTS.get(id_)
    if record is None:
        return {"kind": "outcome", "status": "refused", "refusal": "not_found"}
    return {"kind": "outcome", "status": "ok", "record": record}


REPLIES = {"open": {"kind": "opened"}, "end": {"kind": "ended"}}


def main() -> int:
    protocol, log = int(sys.argv[1]), sys.argv[2]
    entities = {"account": {"operations": ["create", "get", "delete"], "fields": ["name", "email"]}}
    hello = {"kind": "hello", "protocol": protocol, "name": "recorder", "version": "1"}
    print(json.dumps({**hello, "channel": "api", "capabilities": {"entities": entities}}))
    sys.stdout.flush()
    with open(log, "a") as written:
        for line in filter(str.strip, sys.stdin):
            written.write(line)
            written.flush()  # before the reply: after close's, the runner kills it
            message = json.loads(line)
            kind = message["kind"]
            reply = outcome(message) if kind == "perform" else REPLIES.get(kind, {"kind": "ack"})
            print(json.dumps(reply), flush=True)
            if kind == "close":
                break
    return 0


if __name__ == "__main__":
    sys.exit(main())
