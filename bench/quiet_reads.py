"""What the DjangoCRM adapter's read of a record costs, drawn and quiet.

A scenario's writes are each proven by a read-back (the runner's `get`, marked
`readback`), and the adapter looks things up that no user asks for (a company's contacts,
a deal's request). None of these is the user's effort, so the adapter reads them
quietly: the same page, fetched in the actor's session and parsed into a page of its own
without styles, scripts or painting (`ui.DjangoAdminUi.quietly`). A user's own `get` is
still drawn.

Both ways here are the adapter's own `get account` of the same company on the DjangoCRM
sandbox, the only difference being `readback`:

- **drawn**: `Operation(op="get", entity="account", id=...)`;
- **quiet**: the same with `readback=True`.

Each round reads the company `--reads` times each way, in turn, the order alternating.
The CPU time is that of this process and its children (Playwright's driver, Chromium)
and of the sandbox's server, from /proc; the figures are per read. It prints min and
median of each way, the ratio quiet/drawn, and checks both read the same record.

    .venv/bin/python bench/quiet_reads.py [--rounds 6] [--reads 10]

The DjangoCRM sandbox must be up (`crmproof sandbox up djangocrm`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from measured import print_ways, tree_cpu

from crmproof import discovery
from crmproof.protocol import Operation
from crmproof.sandbox import SandboxHome
from crmproof.secrets_store import read_secrets

ROOT = Path(__file__).resolve().parent.parent


def open_adapter(folder: Path) -> Any:
    secrets = read_secrets()
    adapter = discovery.load("djangocrm", ROOT / "adapters").adapter()
    adapter.evidence_dir = str(folder)
    adapter.open(
        {
            "trace": "on-first-retry",
            "url": secrets["DJANGOCRM_URL"],
            "user": secrets["DJANGOCRM_ADMIN_USER"],
            "password": secrets["DJANGOCRM_ADMIN_PASSWORD"],
        }
    )
    return adapter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--reads", type=int, default=10)
    args = parser.parse_args()
    state = SandboxHome("djangocrm").state()
    if not state.get("pid"):
        sys.exit("the DjangoCRM sandbox is not up: crmproof sandbox up djangocrm")
    server = [int(state["pid"])]
    adapter = open_adapter(Path(os.environ.get("TMPDIR", "/tmp")) / "quiet-reads-bench")
    adapter.marker = f"bench-{int(time.time())}"
    adapter.begin("quiet-reads")
    created = adapter.perform(
        Operation(
            op="create",
            entity="account",
            data={"name": f"Quiet reads {adapter.marker}", "email": "q@bench.test"},
        )
    )
    if created.status != "ok":
        sys.exit(f"could not create the company: {created.message}")
    company = str(created.record["id"])
    ways = {
        "drawn": Operation(op="get", entity="account", id=company),
        "quiet": Operation(op="get", entity="account", id=company, readback=True),
    }
    cpu: dict[str, list[float]] = {w: [] for w in ways}
    wall: dict[str, list[float]] = {w: [] for w in ways}
    try:
        records = {w: adapter.perform(op).record for w, op in ways.items()}
        if records["drawn"] != records["quiet"]:
            sys.exit(f"the two ways read differently: {json.dumps(records)}")
        for round_ in range(args.rounds):
            order = list(ways) if round_ % 2 == 0 else list(reversed(ways))
            for way in order:
                started, spent = time.perf_counter(), tree_cpu(server)
                for _ in range(args.reads):
                    adapter.perform(ways[way])
                cpu[way].append((tree_cpu(server) - spent) / args.reads * 1000)
                wall[way].append((time.perf_counter() - started) / args.reads * 1000)
    finally:
        adapter.perform(Operation(op="delete", entity="account", id=company, cleanup=True))
        adapter.end("quiet-reads", "passed")
        adapter.close()
    print(
        f"get account of one DjangoCRM company, {args.rounds} rounds of {args.reads} reads "
        "each way; per read, CPU of crmproof, Playwright's driver, Chromium and the server"
    )
    print_ways(cpu, wall, "quiet", "drawn", "ms")


if __name__ == "__main__":
    main()
