"""Secrets out of evidence: traces, screenshots and text files, rewritten in place.

A Playwright trace records every request's headers (cookies, authorization), every form
post and every `fill` (a password, typed at login). The runner knows the run's secrets
and sees every evidence file an adapter reports, so it scrubs each one here before the
run folder is complete; an adapter author need not remember to. Redaction replaces known
secret values, and the values of credential-bearing headers and form fields whatever
they are, with `***`.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

REDACTED = "***"
_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-csrftoken")
# "name": "Cookie", "value": "..."  (the shape of headers in trace.network and HAR)
_HEADER_JSON = re.compile(
    r'("name"\s*:\s*"(?:' + "|".join(_HEADERS) + r')"\s*,\s*"value"\s*:\s*)"(?:[^"\\]|\\.)*"',
    re.IGNORECASE,
)
# password=...&csrfmiddlewaretoken=... in form posts, in any text
_FORM_FIELDS = re.compile(
    r"((?:password\d?|passwd|csrfmiddlewaretoken|token|access_token|api_key)=)[^&\s\"'\\]+",
    re.IGNORECASE,
)

# Words that each pattern cannot match without (lower case): the cheap test before it.
_HEADER_WORDS = ("authorization", "cookie", "x-csrftoken")
_FORM_WORDS = ("passw", "token", "api_key")


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """`text` with secrets and credential values replaced; the same object if none was.

    The patterns run only where their fixed words occur (every results.jsonl line passes
    here, and almost none holds a header or a form post).
    """
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    # Beyond ASCII, case-insensitive matching has more cases than lower(): always look.
    lowered = text.lower() if text.isascii() else None
    if lowered is None or any(name in lowered for name in _HEADER_WORDS):
        text = _HEADER_JSON.sub(lambda m: f'{m.group(1)}"{REDACTED}"', text)
    if lowered is None or ("=" in text and any(word in lowered for word in _FORM_WORDS)):
        text = _FORM_FIELDS.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def _redact_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data  # images and other binaries: handled by their own kind below
    return redact_text(text, secrets).encode("utf-8")


def _strip_png_text(data: bytes) -> bytes:
    """Drop a PNG's text chunks (tEXt, zTXt, iTXt): metadata that could carry anything."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data
    out, pos = [data[:8]], 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if kind not in (b"tEXt", b"zTXt", b"iTXt"):
            out.append(data[pos:end])
        pos = end
    return b"".join(out)


def redact_file(path: Path, secrets: Iterable[str]) -> None:
    """Scrub one evidence file in place (atomically); unknown kinds are left as they are."""
    secrets = list(secrets)
    if not path.is_file():
        return
    if zipfile.is_zipfile(path):
        tmp = path.with_name(f".{path.name}.redacting")
        with (
            zipfile.ZipFile(path) as source,
            zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as target,
        ):
            for item in source.infolist():
                data = source.read(item)
                if item.filename.endswith(".png"):
                    data = _strip_png_text(data)
                else:
                    data = _redact_bytes(data, secrets)
                target.writestr(item, data)
        os.replace(tmp, path)
        return
    data = path.read_bytes()
    cleaned = _strip_png_text(data) if path.suffix == ".png" else _redact_bytes(data, secrets)
    if cleaned != data:
        tmp = path.with_name(f".{path.name}.redacting")
        tmp.write_bytes(cleaned)
        os.replace(tmp, path)
