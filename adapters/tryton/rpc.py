"""A small Tryton JSON-RPC client: login, typed values, and Tryton errors as outcomes.

Tryton speaks JSON-RPC on `POST /<db>/rpc/`. Decimals and dates travel as tagged objects
(`{"__class__": "Decimal", "decimal": "1.50"}`), errors come back in the body as
`{"error": [kind, args]}`, and every model call takes the user's context as its last
parameter (without `company` in it, company fields read as null). This module hides all
of that, and turns errors into the adapter's three kinds: a business rule or access rule
is `Refused`, a broken server is `VendorError`.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import hashlib
import itertools
import json
import re
import tempfile
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import httpx

from crmproof.adapter import Refused, VendorError
from crmproof.vocabulary import RefusalKind

# SQLite behind Tryton's threaded server has no isolation: two writes at once collide
# ("The code on party must be unique"). Writes to one server are serialised across this
# process's threads and across processes (two runs, or a run and a test, at once).
_LOCKS: dict[str, ServerLock] = {}
_LOCKS_GUARD = threading.Lock()

# The error of Tryton's session check reading a session another client just logged out
# ('ir.msg_read_error' on ir.session, in the "en" the adapter logs in with).
SESSION_RACE = re.compile(r'You are trying to read records "[^"]*" of "Session" that don')
# Tryton answers every error as a UserError, an access error too (trytond/model/
# modelstorage.py: AccessError(UserError)), so only the words tell them apart. Every access
# message of trytond/ir/message.xml begins "You are not allowed to", but the button's,
# which ends "is not allowed."; no module's message does either. The words around them
# quote record names, so a name saying "access" must not make a business rule forbidden.
ACCESS_ERROR = re.compile(r"^You are not allowed to |^Calling button .* is not allowed\.$", re.S)


def refusal_kind(message: str) -> RefusalKind:
    """What Tryton's refusal with this message is: an access error, or a business rule."""
    return "forbidden" if ACCESS_ERROR.search(message.strip()) else "rule"


_SESSION_RACE_RETRIES = 3

# Methods that only read; they need no lock.
_READS = frozenset({"read", "search", "search_read", "search_count", "fields_get"})


class ServerLock:
    """A reentrant lock for one server URL: a thread lock plus a lock file for processes."""

    def __init__(self, url: str) -> None:
        digest = hashlib.sha256(url.encode()).hexdigest()[:16]
        self._path = Path(tempfile.gettempdir()) / f"crmproof-tryton-{digest}.lock"
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._file: IO[str] | None = None

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        if self._depth == 0:
            self._file = self._path.open("a")
            fcntl.flock(self._file, fcntl.LOCK_EX)
        self._depth += 1

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0 and self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        self._thread_lock.release()


def server_lock(url: str) -> ServerLock:
    with _LOCKS_GUARD:
        key = url.rstrip("/")
        if key not in _LOCKS:
            _LOCKS[key] = ServerLock(key)
        return _LOCKS[key]


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dt.datetime):
        raise TypeError("datetimes are not used by this adapter")
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    raise TypeError(f"cannot send {type(value).__name__} to Tryton")


def _decode(obj: dict[str, Any]) -> Any:
    kind = obj.get("__class__")
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if kind == "datetime":
        return dt.datetime(
            obj["year"],
            obj["month"],
            obj["day"],
            obj["hour"],
            obj["minute"],
            obj["second"],
            obj["microsecond"],
        )
    if kind == "bytes":
        return base64.b64decode(obj["base64"])
    return obj


def session_header(user: str, user_id: Any, key: str) -> str:
    """The Authorization header of a Tryton session (trytond/protocols/wrappers.py)."""
    return "Session " + base64.b64encode(f"{user}:{user_id}:{key}".encode()).decode()


class TrytonClient:
    """One logged-in session on one Tryton database."""

    def __init__(
        self,
        url: str,
        database: str,
        timeout: float = 30.0,
        client: Callable[..., httpx.Client] = httpx.Client,
    ) -> None:
        self.url = url.rstrip("/")
        self.database = database
        self.http = client(timeout=timeout)  # the adapter's http_client: HAR evidence
        self.lock = server_lock(f"{self.url}/{database}")
        self.context: dict[str, Any] = {}
        self.user_id: int | None = None
        self._credentials: tuple[str, str] | None = None
        self._ids = itertools.count(1)
        self.session_collisions = 0  # calls asked again after a session check collided

    def close(self) -> None:
        """Log out, then close. A session left open costs every later request: Tryton
        checks each one against all of its user's sessions from the same address
        (trytond/ir/session.py, Session.check), for 30 days (`[session] max_age`). 1,222
        left by runs made a one-row read take 150 ms."""
        authorization = self.http.headers.get("Authorization")
        if authorization:
            self._log_out(authorization)
        self.http.close()

    def end_session(self, user: str, user_id: Any, key: str) -> None:
        """Log out a session another client opened (sao, in a browser)."""
        self._log_out(session_header(user, user_id, key))

    def _log_out(self, authorization: str) -> None:
        """Best effort, and brief: a session already gone (expired, or refused a moment
        ago) has nothing left to end, and a server that stopped answering must not hold
        the run's end for a whole request timeout."""
        body = json.dumps({"id": next(self._ids), "method": "common.db.logout", "params": []})
        headers = {"Content-Type": "application/json", "Authorization": authorization}
        with contextlib.suppress(httpx.HTTPError):
            self.http.post(self._rpc_url, content=body, headers=headers, timeout=5.0)

    def server_version(self) -> str:
        """The server's series, e.g. '8.0' (Tryton does not expose its patch level)."""
        return str(self._post(f"{self.url}/rpc/", "common.server.version", []))

    def login(self, user: str, password: str) -> None:
        self._credentials = (user, password)
        self.http.headers.pop("Authorization", None)
        try:
            answer = self._post(
                self._rpc_url, "common.db.login", [user, {"password": password}, "en"]
            )
        except _Unauthorized:  # the harness's own credentials: an error, never a verdict
            raise VendorError(f"Tryton refused the login of user '{user}'") from None
        self.user_id, token = answer[0], answer[1]
        self.http.headers["Authorization"] = session_header(user, self.user_id, token)
        try:  # not through call(): a refused session must not log in again, and again
            self.context = self._post(self._rpc_url, "model.res.user.get_preferences", [True, {}])
        except _Unauthorized:
            raise VendorError(f"Tryton gave user '{user}' a session it then refused") from None

    def call(self, method: str, *params: Any) -> Any:
        """Call `method` with `params` as given (the caller adds the context if needed)."""
        try:
            return self._post(self._rpc_url, method, list(params))
        except _Unauthorized:
            if self._credentials is None:
                raise VendorError(f"Tryton asked for a log-in before {method}") from None
        # The session expired or was dropped: log in again once, then retry.
        self.login(*self._credentials)
        try:
            return self._post(self._rpc_url, method, list(params))
        except _Unauthorized:
            # Tryton says "not allowed" in a UserError; HTTP 401/403 is about the session,
            # so about the harness's credentials: an error, never a product's refusal.
            raise VendorError(
                f"Tryton rejected a fresh session of this user for {method} (HTTP 401/403)"
            ) from None

    def model(self, model: str, method: str, *args: Any, context: dict | None = None) -> Any:
        """`model.<model>.<method>(*args, context)`, serialised unless it only reads."""
        params = [*args, {**self.context, **(context or {})}]
        if method in _READS:
            return self._call_confirming(f"model.{model}.{method}", params)
        with self.lock:
            return self._call_confirming(f"model.{model}.{method}", params)

    def _call_confirming(self, method: str, params: list[Any]) -> Any:
        """Call, answering 'yes' to Tryton's warnings as a user clicking on OK would."""
        for _ in range(5):
            try:
                return self.call(method, *params)
            except _Warning as warning:
                self.call(
                    "model.res.user.warning.create",
                    [{"user": self.user_id, "name": warning.name, "always": False}],
                    self.context,
                )
        raise VendorError(f"Tryton kept asking for confirmation on {method}")

    @property
    def _rpc_url(self) -> str:
        return f"{self.url}/{self.database}/rpc/"

    def _post_once(self, url: str, method: str, params: list[Any]) -> Any:
        body = json.dumps(
            {"id": next(self._ids), "method": method, "params": params}, default=_encode
        )
        try:
            response = self.http.post(
                url, content=body, headers={"Content-Type": "application/json"}
            )
        except httpx.TimeoutException as exc:
            raise VendorError(f"Tryton did not answer {method} in time: {exc}") from exc
        except httpx.HTTPError as exc:
            raise VendorError(f"Tryton could not be reached for {method}: {exc}") from exc
        if response.status_code in (401, 403):
            raise _Unauthorized(method)
        if response.status_code == 429:  # transient: never a refusal
            raise VendorError(f"Tryton rate-limited {method} (429)", transient=True)
        if response.status_code >= 400:
            raise VendorError(
                f"Tryton answered HTTP {response.status_code} to {method}",
                transient=response.status_code in (502, 503, 504),  # not handled: ask again
            )
        try:
            answer = json.loads(response.text, object_hook=_decode)
        except ValueError as exc:
            raise VendorError(f"Tryton sent no JSON for {method}") from exc
        if not isinstance(answer, dict):
            raise VendorError(f"Tryton sent an unexpected answer to {method}")
        if answer.get("error"):
            raise _error(method, answer["error"])
        return answer.get("result")

    def _post(self, url: str, method: str, params: list[Any]) -> Any:
        """Post, asking again while Tryton's session check trips on another client's
        log-out: `Session.check` (trytond/ir/session.py) lists all of the user's sessions
        from this address, then reads each, and a session logged out in between makes
        that read fail. The check runs in its own transaction before the method, so the
        method has not run, and the collision is not the product refusing anything."""
        for _ in range(_SESSION_RACE_RETRIES):
            try:
                return self._post_once(url, method, params)
            except Refused as refusal:
                if not SESSION_RACE.search(str(refusal)):
                    raise
                self.session_collisions += 1
        return self._post_once(url, method, params)


class _Unauthorized(Exception):
    """HTTP 401/403: the session is not (or no longer) valid."""


class _Warning(Exception):
    """A Tryton UserWarning: a question the user must confirm before the action goes on."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def _error(method: str, error: Any) -> Exception:
    """Translate Tryton's `error` member into the exception the adapter raises."""
    kind, args = (error[0], error[1]) if isinstance(error, list) and len(error) == 2 else ("", "")
    if kind == "UserError":
        message, description = args[0], args[1] if len(args) > 1 else ""
        return Refused(f"{message} {description}".strip(), refusal_kind(str(message)))
    if kind == "UserWarning":
        return _Warning(args[0], args[1])
    if kind == "ConcurrencyException":
        return Refused(str(args), "conflict")
    if kind == "RateLimitException":
        return VendorError(f"Tryton rate-limited {method}: a transient answer", transient=True)
    if kind == "LoginException":
        return VendorError(f"Tryton asks for more login information: {args[1]}")
    first = str(error[0]) if isinstance(error, list) and error else str(error)
    return VendorError(f"Tryton failed on {method}: {first}")
