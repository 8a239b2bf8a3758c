"""The harness's own cost per step, on a loopback CRM, next to a plain client and Tavern.

A tiny REST CRM (accounts: POST, GET, PATCH, DELETE, search) runs in a separate process
on 127.0.0.1, so its own work never lands in the measured process. Three clients make
the same HTTP calls to it:

- crmproof: a scenario of --steps steps (create an account, then update, get and expect
  it in turn) through the engine (`ScenarioRun`: interpolation, the capability gate, the
  adapter, the read-back proof of every write, the HAR evidence of every exchange, the
  results stream) with a minimal adapter on the httpx client every crmproof HTTP adapter
  uses (`Adapter.http_client`). Every request it sends is recorded for the plain client;
- plain: httpx replaying exactly those recorded requests, only the new account's id put
  in, the way a hand-written script making the same calls would (the bench checks it);
- Tavern: the same requests as the stages of one Tavern test, run by Tavern's own runner
  (pytest) in its own environment (Tavern 3.7 cannot import under pytest 9, crmproof's
  test runner), made with pip on first use in .venv/tavern; see bench/tavern_driver.py.

crmproof and plain run interleaved (order alternating) and repeated; the figures are CPU
time of this process (user + system, the honest measure on a shared machine) and wall
time, min and median. The harness's cost per step is (crmproof - plain) / steps, from the
two minima and as the median of each round's own difference (the two runs of a round are
neighbours in time, so a shared machine's drift cancels out). Tavern
pays pytest's start-up once per run, so its cost per request is the slope between a run
of the calls and a run of them twice over.

    .venv/bin/python bench/step_cost.py [--steps 200] [--rounds 7]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

from crmproof import Adapter, Capabilities, EntitySupport, Operation, Refused, workspace
from crmproof.execute import ScenarioRun
from crmproof.models import Scenario
from crmproof.results import ResultsWriter
from crmproof.yamlsource import parse_documents

FIELDS = ["name", "email", "city", "industry"]


# -- the loopback CRM (its own process) ---------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as every client here uses
    disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms ACK wait
    records: dict[str, dict[str, Any]] = {}
    ids = iter(range(1, 1 << 60))

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        loaded: dict[str, Any] = json.loads(self.rfile.read(length)) if length else {}
        return loaded

    def _record(self) -> dict[str, Any] | None:
        return self.records.get(self.path.rsplit("/", 1)[-1])

    def do_POST(self) -> None:
        record = {"id": str(next(self.ids)), **self._body()}
        self.records[record["id"]] = record
        self._answer(201, record)

    def do_GET(self) -> None:
        if "?" in self.path:
            name = self.path.split("name=", 1)[-1]
            self._answer(200, [r for r in self.records.values() if r.get("name") == name])
            return
        record = self._record()
        self._answer(200, record) if record else self._answer(404, {"error": "not found"})

    def do_PATCH(self) -> None:
        record = self._record()
        if record is None:
            self._answer(404, {"error": "not found"})
            return
        record.update(self._body())
        self._answer(200, record)

    def do_DELETE(self) -> None:
        record = self.records.pop(self.path.rsplit("/", 1)[-1], None)
        self._answer(200 if record else 404, {})


def serve() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


# -- crmproof: a minimal adapter on httpx --------------------------------------------------

Call = tuple[str, str, Any]  # method, path, JSON body


class LoopbackCrm(Adapter):
    name = "loopback"

    def open(self, settings: Mapping[str, Any]) -> str | None:
        self.sent: list[Call] = []

        self.recording = True
        # as crmproof's HTTP adapters make theirs: every exchange recorded for the HAR
        self.http = self.http_client(
            base_url=settings["url"], event_hooks={"request": [self._record]}
        )
        return "1"

    def _record(self, request: httpx.Request) -> None:
        """What was sent, for the plain client to replay; off in the measured runs, since the
        plain client pays no such hook."""
        if self.recording:
            body = json.loads(request.content) if request.content else None
            self.sent.append((request.method, request.url.raw_path.decode(), body))

    def close(self) -> None:
        self.http.close()

    def capabilities(self) -> Capabilities:
        ops = ["create", "get", "update", "delete", "find"]
        return Capabilities(entities={"account": EntitySupport(operations=ops, fields=FIELDS)})

    def _json(self, response: httpx.Response) -> Any:
        if response.status_code == 404:
            raise Refused("not found", "not_found")
        response.raise_for_status()
        return response.json()

    def create_account(self, op: Operation) -> dict[str, Any]:
        created: dict[str, Any] = self._json(self.http.post("/accounts", json=op.data))
        return created

    def get_account(self, op: Operation) -> dict[str, Any]:
        found: dict[str, Any] = self._json(self.http.get(f"/accounts/{op.id}"))
        return found

    def update_account(self, op: Operation) -> dict[str, Any]:
        updated: dict[str, Any] = self._json(self.http.patch(f"/accounts/{op.id}", json=op.data))
        return updated

    def delete_account(self, op: Operation) -> dict[str, Any]:
        self._json(self.http.delete(f"/accounts/{op.id}"))
        return {"id": op.id}

    def find_account(self, op: Operation) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._json(
            self.http.get("/accounts", params={"name": op.where.get("name", "")})
        )
        return found


def scenario_text(steps: int) -> str:
    """create, then update / get / expect in turn: `steps` steps, writes proven."""
    lines = [
        "id: STEP-COST",
        "title: the harness's cost per step",
        "steps:",
        '  - create: account\n    with: {name: "Bench ${run.id}", city: Oslo}\n    save: acct',
    ]
    for i in range(1, steps):
        kind = i % 3
        if kind == 1:
            lines.append(
                f"  - update: account\n    id: ${{acct.id}}\n"
                f'    with: {{city: "City {i}", industry: Retail}}'
            )
        elif kind == 2:
            lines.append("  - get: account\n    id: ${acct.id}\n    save: seen")
        else:
            lines.append(
                "  - expect:\n      get: account\n      id: ${acct.id}\n"
                f'      fields: {{city: "City {i - 2}", name: "Bench ${{run.id}}"}}'
            )
    return "\n".join(lines) + "\n"


class Harness:
    def __init__(self, url: str, steps: int, folder: Path) -> None:
        self.adapter = LoopbackCrm()
        self.adapter.open({"url": url})
        doc = next(parse_documents(scenario_text(steps), "step_cost.yaml"))
        self.loaded = workspace.Loaded(Scenario.model_validate(doc.data), doc)
        self.writer = ResultsWriter(folder / "results.jsonl")
        self.caps = self.adapter.capabilities()
        self.runs = 0

    def run(self, recording: bool = False) -> list[Call]:
        self.runs += 1
        self.adapter.sent = []
        self.adapter.recording = recording
        run = ScenarioRun(self.adapter, self.caps, "loopback", f"r{self.runs}", self.writer.emit)
        assert run.run(self.loaded) == "passed"
        return self.adapter.sent


class Plain:
    """httpx replaying the recorded requests; the created id is the only thing put in."""

    def __init__(self, url: str, calls: list[Call]) -> None:
        self.http = httpx.Client(base_url=url)
        self.calls = calls
        assert calls[0][0] == "POST", calls[0]

    def run(self, old_id: str) -> list[Call]:
        sent: list[Call] = []
        new_id = ""
        for method, path, body in self.calls:
            if path.endswith(f"/{old_id}"):
                path = path[: -len(old_id)] + new_id
            response = self.http.request(method, path, json=body)
            if response.status_code >= 400:
                raise RuntimeError(f"{method} {path}: {response.status_code}")
            if method == "POST":
                new_id = response.json()["id"]
            else:
                response.json()
            if path.endswith(f"/{new_id}"):
                path = path[: -len(new_id)] + old_id
            sent.append((method, path, body))
        return sent


def created_id(calls: list[Call]) -> str:
    """The id of the account a recorded run created: the last part of its first GET."""
    return next(p for m, p, _ in calls if m == "GET" and "?" not in p).rsplit("/", 1)[-1]


def measure(fn: Any) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def crmproof_vs_plain(url: str, steps: int, rounds: int, folder: Path) -> list[Call]:
    harness = Harness(url, steps, folder)
    calls = harness.run(recording=True)  # warm-up, and the calls to replay
    old_id = created_id(calls)
    plain = Plain(url, calls)  # its bodies differ only by the run id crmproof put in
    replayed = plain.run(old_id)
    assert [(m, p) for m, p, _ in replayed] == [(m, p) for m, p, _ in calls], "not the same calls"
    # What `crmproof run` does once the suite and adapters are loaded (runner.py).
    gc.collect()
    gc.freeze()
    figures: dict[str, list[tuple[float, float]]] = {"crmproof": [], "plain": []}
    for i in range(rounds):
        order = [("crmproof", harness.run), ("plain", lambda: plain.run(old_id))]
        for name, fn in order if i % 2 == 0 else reversed(order):
            figures[name].append(measure(fn))
    again = harness.run(recording=True)
    new_id = created_id(again)
    same = [(m, p.replace(f"/{new_id}", f"/{old_id}")) for m, p, _ in again]
    assert same == [(m, p) for m, p, _ in calls], "the measured runs made other calls"
    harness.writer.close()
    gc.unfreeze()
    requests = len(calls)
    c_cpu = [c for c, _ in figures["crmproof"]]
    p_cpu = [c for c, _ in figures["plain"]]
    c_wall = [w for _, w in figures["crmproof"]]
    p_wall = [w for _, w in figures["plain"]]
    print(
        f"{steps} steps = {requests} HTTP requests (reads-back and cleanup included), "
        f"{rounds} interleaved rounds"
    )
    for label, c, p in (("CPU", c_cpu, p_cpu), ("wall", c_wall, p_wall)):
        # Each round's two runs are neighbours in time: their difference cancels the drift
        # of a shared machine's speed, which the two series' separate minima do not.
        paired = [(a - b) / steps for a, b in zip(c, p, strict=True)]
        print(
            f"  {label}: crmproof min {min(c) * 1000:.1f} ms median "
            f"{statistics.median(c) * 1000:.1f} ms; plain min {min(p) * 1000:.1f} ms median "
            f"{statistics.median(p) * 1000:.1f} ms; ratio min {min(c) / min(p):.2f}x "
            f"median {statistics.median(c) / statistics.median(p):.2f}x; harness per step "
            f"min {(min(c) - min(p)) / steps * 1000:.3f} ms, paired median "
            f"{statistics.median(paired) * 1000:.3f} ms"
        )
    print("  (target: harness cost <= 0.25 ms per step)")
    return calls


# -- Tavern --------------------------------------------------------------------------------


def tavern_file(url: str, calls: list[Call], copies: int, folder: Path) -> Path:
    """The recorded calls as one Tavern test, `copies` times over; ids saved and put in."""
    created = created_id(calls)
    stages = []
    for copy in range(copies):
        for n, (method, path, body) in enumerate(calls):
            request: dict[str, Any] = {
                "url": url + re.sub(rf"/{created}$", f"/{{acct_{copy}}}", path),
                "method": method,
            }
            if body is not None:
                request["json"] = body
            response: dict[str, Any] = {"status_code": 201 if method == "POST" else 200}
            if method == "POST":
                response["save"] = {"json": {f"acct_{copy}": "id"}}
            stages.append({"name": f"{copy}-{n}", "request": request, "response": response})
    test = folder / f"test_loopback_{copies}.tavern.yaml"
    test.write_text(yaml.safe_dump({"test_name": "loopback", "stages": stages}))
    return test


def tavern_python(venv: Path) -> Path | None:
    """Tavern's own environment (made with pip on first use), or None if it cannot be."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"making Tavern's environment in {venv} (pip install tavern 'pytest<9')")
        made = subprocess.run(
            [sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True
        )
        if made.returncode == 0:
            made = subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "tavern>=3", "pytest>=8,<9"],
                capture_output=True,
                text=True,
            )
        if made.returncode != 0:
            print(f"Tavern: could not be installed, skipped:\n{made.stderr[-1500:]}")
            return None
    return python


def tavern(url: str, calls: list[Call], rounds: int, folder: Path, venv: Path) -> None:
    python = tavern_python(venv)
    if python is None:
        return
    files = [tavern_file(url, calls, n, folder) for n in (1, 2)]
    driver = Path(__file__).with_name("tavern_driver.py")
    done = subprocess.run(
        [str(python), str(driver), str(rounds), *map(str, files)],
        capture_output=True,
        text=True,
        cwd=folder,
    )
    if done.returncode != 0:
        print(f"Tavern: failed, skipped:\n{done.stderr[-1500:]}")
        return
    times = json.loads(done.stdout.strip().splitlines()[-1])
    one, two = times[str(files[0])], times[str(files[1])]
    slope_min = (min(two) - min(one)) / len(calls)
    slope_med = (statistics.median(two) - statistics.median(one)) / len(calls)
    print(
        f"Tavern {rounds} rounds, the same {len(calls)} requests as the stages of one test "
        f"(CPU of its process): one run min {min(one) * 1000:.0f} ms, pytest's start-up "
        f"included; per request (the slope to a run of them twice over) min "
        f"{slope_min * 1000:.3f} ms, median {slope_med * 1000:.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--tavern-venv",
        default=str(Path(__file__).resolve().parent.parent / ".venv" / "tavern"),
        help="Tavern's own environment, made on first use (default: .venv/tavern).",
    )
    parser.add_argument("--no-tavern", action="store_true", help="Skip Tavern.")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        with tempfile.TemporaryDirectory() as tmp:
            calls = crmproof_vs_plain(url, args.steps, args.rounds, Path(tmp))
            if not args.no_tavern:
                tavern(url, calls, args.rounds, Path(tmp), Path(args.tavern_venv))
    finally:
        server.terminate()
        server.wait()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
