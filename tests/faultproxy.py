"""A small HTTP proxy on 127.0.0.1 that forwards to a real vendor and fails on command.

Tests put it between an adapter and a real sandbox to see the harness survive a vendor's
bad day: 5xx answers, malformed bodies, hangs, connections dropped mid-request. It serves
only loopback, forwards only to the one upstream it was given, and stops by itself.

Beyond a bad day, it can lie like a broken product: `rule(name, fault)` adds a fault that
looks at each request and either answers it itself (a 429 for one rep's reads, an "ok"
for a write it never forwards) or forwards a changed request (a search stripped of its
filter). `fired[name]` counts the requests a fault took, so a test can prove its fault
really happened before it reads anything into a verdict.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

Mode = Literal["pass", "error500", "garbage", "hang", "drop"]


@dataclass(frozen=True)
class Seen:
    """One request as the proxy received it."""

    method: str
    path: str  # with its query string
    headers: dict[str, str]
    body: bytes

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), "")

    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def with_query(self, query: dict[str, str]) -> Seen:
        route = self.route + (f"?{urlencode(query)}" if query else "")
        return replace(self, path=route)

    def with_json(self, body: Any) -> Seen:
        return replace(self, body=json.dumps(body).encode())


@dataclass(frozen=True)
class Reply:
    """An answer the proxy gives itself, without asking the vendor."""

    status: int
    body: bytes = b"{}"
    kind: str = "application/json"


# A fault: None lets the request by, a Reply answers it, a Seen forwards that instead.
Fault = Callable[[Seen], "Reply | Seen | None"]


def status(code: int, body: bytes = b'{"detail": "injected"}') -> Reply:
    return Reply(code, body)


def rpc_result(seen: Seen, result: Any) -> Reply:
    """A JSON-RPC success for `seen` (as Tryton answers), carrying `result`."""
    request = seen.json() or {}
    return Reply(200, json.dumps({"id": request.get("id"), "result": result}).encode())


class FaultProxy:
    def __init__(self, upstream: str, spare: bytes = b"", hang_seconds: float = 30.0) -> None:
        """`spare`: requests whose body holds it always pass (a login, say)."""
        self.upstream = upstream.rstrip("/")
        self.spare = spare
        self.mode: Mode = "pass"
        self.requests = 0
        self.rules: list[tuple[str, Fault]] = []
        self.fired: dict[str, int] = {}
        self._switch: tuple[int, Mode] | None = None
        self._lock = threading.Lock()
        self._released = threading.Event()
        self.hang_seconds = hang_seconds
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                proxy._handle(self)

            def do_POST(self) -> None:
                proxy._handle(self)

            def do_PATCH(self) -> None:
                proxy._handle(self)

            def do_PUT(self) -> None:
                proxy._handle(self)

            def do_DELETE(self) -> None:
                proxy._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._released.set()
        self.server.shutdown()
        self.server.server_close()

    def after(self, requests: int, mode: Mode) -> None:
        """Forward `requests` more requests faithfully, then fail as `mode`."""
        with self._lock:
            self._switch = (self.requests + requests, mode)

    def rule(self, name: str, fault: Fault) -> None:
        """Apply `fault` to every request from now on (rules are tried in order)."""
        with self._lock:
            self.rules.append((name, fault))
            self.fired.setdefault(name, 0)

    def _ruled(self, seen: Seen) -> Reply | Seen:
        for name, fault in list(self.rules):
            answer = fault(seen)
            if answer is not None:
                with self._lock:
                    self.fired[name] += 1
                return answer
        return seen

    def _current_mode(self) -> Mode:
        with self._lock:
            self.requests += 1
            if self._switch and self.requests > self._switch[0]:
                self.mode, self._switch = self._switch[1], None
            return self.mode

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        mode = self._current_mode()
        if self.spare and self.spare in body:
            mode = "pass"
        if mode == "drop":
            request.close_connection = True
            request.connection.close()
            return
        if mode == "hang":
            self._released.wait(self.hang_seconds)
            request.close_connection = True
            return
        if mode == "error500":
            self._answer(request, 500, b"<html>Internal Server Error</html>", "text/html")
            return
        if mode == "garbage":
            self._answer(request, 200, b'{"result": [1, 2,\x00 garbage', "application/json")
            return
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in ("host", "content-length", "connection")
        }
        ruled = self._ruled(Seen(request.command, request.path, headers, body))
        if isinstance(ruled, Reply):
            self._answer(request, ruled.status, ruled.body, ruled.kind)
            return
        answer = httpx.request(
            ruled.method,
            self.upstream + ruled.path,
            headers=ruled.headers,
            content=ruled.body,
            timeout=60,
        )
        self._answer(
            request,
            answer.status_code,
            answer.content,
            answer.headers.get("content-type", "application/octet-stream"),
        )

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, status: int, body: bytes, kind: str) -> None:
        request.send_response(status)
        request.send_header("Content-Type", kind)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


def wait_for(predicate: object, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False
