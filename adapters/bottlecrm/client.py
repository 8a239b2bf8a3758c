"""BottleCRM's REST API over httpx, with its answers turned into the adapter's outcomes.

Every call names the actor it is made as; each actor has its own personal access token
(`Authorization: Bearer bcrm_pat_...`), so BottleCRM applies that person's record-level
rules. The vendor's answers become exceptions the engine understands:

* 404 (BottleCRM answers 404 for a record the caller may not open, exactly as for one
  that does not exist) and every other 4xx: `Refused`, with the vendor's own message;
* 5xx, timeouts, connection failures and non-JSON bodies: `VendorError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx

from crmproof.adapter import Refused, VendorError

PAGE_SIZE = 10  # BottleCRM's page size (REST_FRAMEWORK PAGE_SIZE); lists take offset
TRANSIENT = frozenset({502, 503, 504})  # not handled: safe to ask again, even a write


class NotFound(Refused):
    """BottleCRM answered 404: the record is gone, or this actor may not open it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="not_found")


def vendor_message(body: Any) -> str:
    """The human part of a BottleCRM error body, whose shape differs per endpoint."""
    if isinstance(body, dict):
        for key in ("errors", "detail", "message", "error"):
            value = body.get(key)
            if value and value is not True:
                return _flatten(value)
        return _flatten(body)
    return str(body)[:300]


def _flatten(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_flatten(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return " ".join(_flatten(v) for v in value)
    return str(value)


class Api:
    """One BottleCRM server, reached with one token per actor."""

    def __init__(
        self,
        base_url: str,
        tokens: Mapping[str, str],
        timeout: float = 30.0,
        client: Callable[..., httpx.Client] = httpx.Client,
    ) -> None:
        self.tokens = dict(tokens)
        # `client` is the adapter's http_client: every exchange becomes HAR evidence
        self.http = client(base_url=base_url.rstrip("/") + "/api", timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def call(
        self,
        actor: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        token = self.tokens.get(actor)
        if not token:
            raise VendorError(f"no BottleCRM token configured for actor '{actor}'")
        what = f"{method} /api{path}"
        try:
            response = self.http.request(
                method,
                path,
                json=json,
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.TimeoutException as exc:
            raise VendorError(f"{what} timed out: {exc}") from exc
        except httpx.HTTPError as exc:
            raise VendorError(f"{what} failed: {type(exc).__name__}: {exc}") from exc
        try:
            body = response.json() if response.content else {}
        except ValueError:
            body = None
        status = response.status_code
        if status >= 500:
            # 502/503/504: a gateway or the server said it did not handle it: ask again
            raise VendorError(
                f"{what} answered {status}: {response.text[:300]}", transient=status in TRANSIENT
            )
        if status == 404:
            raise NotFound(f"{what}: not found ({vendor_message(body)})")
        if status == 429:
            raise VendorError(
                f"{what} was rate-limited (429): a transient answer, not a refusal", transient=True
            )
        if status == 401:
            raise VendorError(f"{what}: BottleCRM rejected the harness's token for '{actor}' (401)")
        if status == 403:
            raise Refused(f"BottleCRM forbids this (403): {vendor_message(body)}", "forbidden")
        if status == 409:
            raise Refused(f"BottleCRM reports a conflict (409): {vendor_message(body)}", "conflict")
        if status >= 400:
            raise Refused(f"BottleCRM refused ({status}): {vendor_message(body)}")
        if body is None:
            raise VendorError(f"{what} answered {status} with a non-JSON body")
        if isinstance(body, dict) and body.get("error") is True:
            raise Refused(f"BottleCRM refused: {vendor_message(body)}")
        return body

    def pages(
        self,
        actor: str,
        path: str,
        params: Mapping[str, Any],
        rows: Callable[[Any], list[dict[str, Any]]],
        count: Callable[[Any], int],
    ) -> Iterator[dict[str, Any]]:
        """Every row of a list, page by page (offsets of PAGE_SIZE) until none is left.

        Each list has its own shape, so `rows` picks a page's records out of the answer
        and `count` tells how many there are in all (for lists split in two halves, such
        as open and closed leads, the larger half: both are paged by the same offset).
        """
        offset = 0
        while True:
            body = self.call(actor, "GET", path, params={**params, "offset": offset})
            page = rows(body)
            yield from page
            offset += PAGE_SIZE
            if not page or offset >= count(body):
                return
