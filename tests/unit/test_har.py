"""HAR evidence from a real HTTP exchange: schema-valid, timed, and scrubbed of secrets."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import jsonschema
import pytest

from crmproof.adapter import Adapter
from crmproof.har import HarRecorder, keeps
from crmproof.protocol import Capabilities

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "data" / "schemas" / "har-1.2.schema.json").read_text()
)
TOKEN = "sess-4f9d2c7e1a8b"


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        answer = {"result": [7, TOKEN], "echo": body.get("method")}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", f"sessionid={TOKEN}; HttpOnly")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_exchanges_become_a_valid_scrubbed_har(server: str, tmp_path: Path) -> None:
    recorder = HarRecorder()
    with recorder.client(timeout=5) as client:
        login = {"method": "login", "params": ["admin", {"password": "hunter2-secret"}]}
        assert client.post(f"{server}/rpc/?db=x", json=login).json()["result"][1] == TOKEN
        session = base64.b64encode(f"admin:7:{TOKEN}".encode()).decode()
        client.headers["Authorization"] = f"Session {session}"
        client.post(f"{server}/rpc/", json={"method": "read", "api_key": "k-123456789"})
    path = recorder.write(tmp_path / "S.har", secrets=["hunter2-secret"])
    text = path.read_text()
    har = json.loads(text)
    jsonschema.validate(har, SCHEMA)
    first, second = har["log"]["entries"]
    assert first["request"]["queryString"] == [{"name": "db", "value": "x"}]
    assert first["response"]["status"] == 200
    assert json.loads(first["response"]["content"]["text"])["echo"] == "login"
    for entry in (first, second):
        timings = entry["timings"]
        phases = [timings[k] for k in ("blocked", "connect", "send", "wait", "receive")]
        assert entry["time"] == pytest.approx(sum(p for p in phases if p >= 0), abs=0.01)
        assert timings["wait"] > 0
    # the token handed out by the login answer is scrubbed there too, once a header used it
    for secret in ("hunter2-secret", TOKEN, session, "k-123456789"):
        assert secret not in text
    assert '"password": "***"' in first["request"]["postData"]["text"]


def test_a_failed_exchange_is_recorded_with_its_error(tmp_path: Path) -> None:
    recorder = HarRecorder()
    with recorder.client(timeout=2) as client, pytest.raises(httpx.ConnectError):
        client.get("http://127.0.0.1:9/nothing-listens-here")
    har = json.loads(recorder.write(tmp_path / "E.har").read_text())
    jsonschema.validate(har, SCHEMA)
    (entry,) = har["log"]["entries"]
    assert entry["response"]["status"] == 0
    assert "ConnectError" in entry["response"]["_error"]


@pytest.mark.parametrize(
    ("policy", "status", "kept"),
    [
        ("none", "failed", False),
        ("failures", "passed", False),
        ("failures", "error", True),
        ("all", "passed", True),
    ],
)
def test_the_evidence_policy(policy: str, status: str, kept: bool) -> None:
    assert keeps(policy, status) is kept


class HttpOnly(Adapter):
    name = "http-only"

    def capabilities(self) -> Capabilities:
        return Capabilities()


@pytest.mark.parametrize(("policy", "kept"), [("failures", False), ("all", True)])
def test_an_adapters_scenario_har_is_written_only_where_the_policy_keeps_it(
    server: str, tmp_path: Path, policy: str, kept: bool
) -> None:
    """What an adapter's `http_client` sends becomes its scenario's HAR, built only when
    the policy keeps it; either way the next scenario starts with none."""
    adapter = HttpOnly()
    adapter.evidence_dir = str(tmp_path / "run" / "evidence" / "v")
    adapter.evidence_policy = policy
    adapter.begin("S")
    with adapter.http_client(timeout=5) as client:
        for method in ("login", "read"):
            client.post(f"{server}/rpc/", json={"method": method})
    evidence = adapter.end("S", "passed")
    har = tmp_path / "run" / "evidence" / "v" / "S.har"
    if kept:
        (item,) = evidence
        assert (item.kind, item.path, item.note) == ("http", "evidence/v/S.har", "2 exchanges")
        entries = json.loads(har.read_text())["log"]["entries"]
        assert [json.loads(e["request"]["postData"]["text"])["method"] for e in entries] == [
            "login",
            "read",
        ]
    else:
        assert evidence == [] and not har.exists()
    assert len(adapter.http_evidence) == 0
