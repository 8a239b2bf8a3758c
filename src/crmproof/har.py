"""HAR 1.2 evidence of every HTTP exchange an httpx-based adapter makes, per scenario.

When a vendor disputes a "not met", the team must be able to show what was sent and what
came back. The recorder wraps the transport of every client made by
`Adapter.http_client`, so an adapter author gets the evidence without writing a line for
it. HAR is the format Chromium's importer, Playwright and HTTP tools read.

Secrets are scrubbed when the file is written, not only later by the runner: credential
headers and cookies, the values of JSON members named like passwords and tokens, and every
credential the recorder saw in an `Authorization` header (a session token handed out by a
login answer appears in that answer's body too, written before the header used it).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import functools
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from crmproof.redaction import REDACTED, redact_text

POLICIES = ("none", "failures", "all")
MAX_BODY = 1_000_000  # characters of one body kept; a HAR stays openable in a viewer
_SECRET_HEADERS = {
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-csrftoken",
    "x-api-key",
}
_SECRET_KEY = re.compile(
    r"pass(word|wd)?\d?$|token|secret|api[-_]?key|session[-_]?id|csrf|credential",
    re.IGNORECASE,
)


def keeps(policy: str, status: str) -> bool:
    """Whether a scenario that ended with `status` keeps its evidence under `policy`."""
    return policy == "all" or (policy == "failures" and status != "passed")


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="milliseconds")


def _credentials_in(value: str) -> set[str]:
    """The secret parts of an Authorization value: its token, and for base64 `user:x:token`
    schemes (Basic, Tryton's Session) each long part of the decoded text."""
    found: set[str] = set()
    _, _, token = value.strip().partition(" ")
    token = token.strip() or value.strip()
    if len(token) >= 8:
        found.add(token)
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return found
    found |= {part for part in decoded.split(":")[1:] if len(part) >= 8}
    return found


def _scrub_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (REDACTED if _SECRET_KEY.search(str(k)) and v not in (None, "") else _scrub_json(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scrub_json(v) for v in value]
    return value


def _body_text(data: bytes, content_type: str) -> tuple[str, str | None]:
    """A body as HAR text: JSON with secret members masked, other text as is, binary as
    base64 (HAR's `encoding`)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(data[:MAX_BODY]).decode(), "base64"
    if "json" in content_type or text[:1] in ("{", "["):
        with contextlib.suppress(ValueError):
            text = json.dumps(_scrub_json(json.loads(text)), ensure_ascii=False)
    return text[:MAX_BODY], None


def _headers(headers: httpx.Headers) -> list[dict[str, str]]:
    return [
        {"name": name, "value": REDACTED if name.lower() in _SECRET_HEADERS else value}
        for name, value in headers.multi_items()
    ]


class _Timer:
    """httpcore's trace extension, turned into HAR's connect/send/wait/receive phases."""

    def __init__(self, chained: Callable[..., Any] | None) -> None:
        self.marks: dict[str, float] = {}
        self.chained = chained

    def __call__(self, name: str, info: dict[str, Any]) -> None:
        self.marks.setdefault(name, time.perf_counter())
        if self.chained is not None:
            self.chained(name, info)

    def phase(self, start: str, end: str) -> float:
        if start in self.marks and end in self.marks:
            return max(0.0, (self.marks[end] - self.marks[start]) * 1000)
        return -1.0


@dataclass(frozen=True)
class _Exchange:
    """One exchange as it happened; made into a HAR entry only if a HAR is written.

    Most scenarios pass and keep no HAR (evidence `failures`, the default), so an entry
    built as it happened was work nobody read.
    """

    request: httpx.Request
    response: httpx.Response | None
    timer: _Timer
    started: float
    total: float  # milliseconds
    error: Exception | None

    def entry(self) -> dict[str, Any]:
        return _entry(self.request, self.response, self.timer, self.started, self.total, self.error)


class HarRecorder:
    """Collects the exchanges of one adapter; `har` hands a scenario's over as a HAR."""

    def __init__(self) -> None:
        self._exchanges: list[_Exchange] = []
        self._lock = threading.Lock()

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx.Client whose every exchange is recorded (kwargs as httpx.Client's)."""
        inner = kwargs.pop("transport", None) or httpx.HTTPTransport(
            verify=kwargs.get("verify", True)
        )
        return httpx.Client(transport=RecordingTransport(inner, self), **kwargs)

    def reset(self) -> None:
        with self._lock:
            self._exchanges = []

    def add(self, exchange: _Exchange) -> None:
        with self._lock:
            self._exchanges.append(exchange)

    def __len__(self) -> int:
        with self._lock:
            return len(self._exchanges)

    def har(self, creator_version: str = "") -> dict[str, Any]:
        with self._lock:
            exchanges = list(self._exchanges)
        return {
            "log": {
                "version": "1.2",
                "creator": {"name": "crmproof", "version": creator_version or _version()},
                "pages": [],
                "entries": [x.entry() for x in exchanges],
            }
        }

    def _credentials(self) -> set[str]:
        """The credentials the recorded requests carried, to scrub from the HAR's text."""
        with self._lock:
            exchanges = list(self._exchanges)
        found: set[str] = set()
        for x in exchanges:
            found |= _credentials_in(x.request.headers.get("authorization", ""))
        return found

    def write(self, path: Path, secrets: Iterable[str] = ()) -> Path:
        """Write the HAR of what was recorded since the last reset, scrubbed, atomically."""
        text = json.dumps(self.har(), indent=1, ensure_ascii=False)
        text = redact_text(text, [*self._credentials(), *secrets])
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path


class RecordingTransport(httpx.BaseTransport):
    """Passes each request on, then records request, response (read) and timings."""

    def __init__(self, inner: httpx.BaseTransport, recorder: HarRecorder) -> None:
        self.inner = inner
        self.recorder = recorder

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timer = _Timer(request.extensions.get("trace"))
        request.extensions = {**request.extensions, "trace": timer}
        started, t0 = time.time(), time.perf_counter()
        try:
            response = self.inner.handle_request(request)
            response.read()  # the body belongs in the evidence; the client reuses it
        except Exception as exc:
            total = (time.perf_counter() - t0) * 1000
            self.recorder.add(_Exchange(request, None, timer, started, total, exc))
            raise
        total = (time.perf_counter() - t0) * 1000
        self.recorder.add(_Exchange(request, response, timer, started, total, None))
        return response

    def close(self) -> None:
        self.inner.close()


@functools.cache
def _version() -> str:
    """Looked up once: reading the package's metadata costs milliseconds, every scenario."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("crmproof")
    except PackageNotFoundError:
        return "0"


def _entry(
    request: httpx.Request,
    response: httpx.Response | None,
    timer: _Timer,
    started: float,
    total: float,
    error: Exception | None,
) -> dict[str, Any]:
    connect = timer.phase("connection.connect_tcp.started", "connection.connect_tcp.complete")
    send = timer.phase("http11.send_request_headers.started", "http11.send_request_body.complete")
    wait = timer.phase(
        "http11.send_request_body.complete", "http11.receive_response_headers.complete"
    )
    receive = timer.phase(
        "http11.receive_response_headers.complete", "http11.receive_response_body.complete"
    )
    send, wait, receive = (max(0.0, x) for x in (send, wait, receive))
    if response is None or wait == receive == send == 0:
        wait = total  # no phase marks (another transport): all of it counts as waiting
    blocked = max(0.0, total - send - wait - receive - max(0.0, connect))
    version = response.http_version if response is not None else "HTTP/1.1"
    body = request.content
    request_type = request.headers.get("content-type", "")
    har_request: dict[str, Any] = {
        "method": request.method,
        "url": str(request.url),
        "httpVersion": version,
        "cookies": [],
        "headers": _headers(request.headers),
        "queryString": [{"name": k, "value": v} for k, v in request.url.params.multi_items()],
        "headersSize": -1,
        "bodySize": len(body),
    }
    if body:
        text, _ = _body_text(body, request_type)
        har_request["postData"] = {
            "mimeType": request_type or "application/octet-stream",
            "text": text,
        }
    if response is not None:
        content_type = response.headers.get("content-type", "")
        text, encoding = _body_text(response.content, content_type)
        content: dict[str, Any] = {
            "size": len(response.content),
            "mimeType": content_type or "application/octet-stream",
            "text": text,
        }
        if encoding:
            content["encoding"] = encoding
        har_response: dict[str, Any] = {
            "status": response.status_code,
            "statusText": response.reason_phrase,
            "httpVersion": version,
            "cookies": [],
            "headers": _headers(response.headers),
            "content": content,
            "redirectURL": response.headers.get("location", ""),
            "headersSize": -1,
            "bodySize": len(response.content),
        }
    else:  # no answer: recorded as browsers do, status 0, with what went wrong
        har_response = {
            "status": 0,
            "statusText": "",
            "httpVersion": version,
            "cookies": [],
            "headers": [],
            "content": {"size": 0, "mimeType": "x-unknown"},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
            "_error": f"{type(error).__name__}: {error}",
        }
    return {
        "startedDateTime": _iso(started),
        "time": round(total, 3),
        "request": har_request,
        "response": har_response,
        "cache": {},
        "timings": {
            "blocked": round(blocked, 3),
            "dns": -1,
            "connect": round(connect, 3),
            "ssl": -1,
            "send": round(send, 3),
            "wait": round(wait, 3),
            "receive": round(receive, 3),
        },
    }
