"""Evidence scrubbing: known secrets, credential headers, form fields, PNG metadata."""

from __future__ import annotations

import zipfile
from pathlib import Path

from crmproof.redaction import redact_file, redact_text


def test_headers_forms_and_known_secrets() -> None:
    trace = (
        '{"headers": [{"name": "Cookie", "value": "sessionid=abc123; csrftoken=x"},'
        ' {"name": "Accept", "value": "text/html"},'
        ' {"name": "authorization", "value": "Bearer bcrm_pat_zzz"}],'
        ' "postData": "username=rep&password=hunter2pw&csrfmiddlewaretoken=tok9"}'
        ' {"method": "fill", "params": {"value": "s3cret-pass"}}'
    )
    cleaned = redact_text(trace, ["s3cret-pass"])
    for leaked in ("abc123", "bcrm_pat_zzz", "hunter2pw", "tok9", "s3cret-pass"):
        assert leaked not in cleaned
    assert '"value": "text/html"' in cleaned  # ordinary headers are kept


def test_zip_members_and_png_text_chunks(tmp_path: Path) -> None:
    png = (
        b"\x89PNG\r\n\x1a\n"
        + (13).to_bytes(4, "big")
        + b"IHDR"
        + b"\0" * 13
        + b"crc!"
        + (9).to_bytes(4, "big")
        + b"tEXt"
        + b"Comment\0x"
        + b"crc!"
        + (0).to_bytes(4, "big")
        + b"IEND"
        + b"crc!"
    )
    archive = tmp_path / "trace.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("trace.trace", '{"value": "topsecret99"}')
        out.writestr("resources/shot.png", png)
    redact_file(archive, ["topsecret99"])
    with zipfile.ZipFile(archive) as back:
        assert b"topsecret99" not in back.read("trace.trace")
        shot = back.read("resources/shot.png")
        assert b"tEXt" not in shot and b"IHDR" in shot and shot.endswith(b"IEND" + b"crc!")


def test_the_quick_test_before_each_pattern_skips_nothing_they_would_match() -> None:
    """redact_text looks for fixed words before running its patterns: it must scrub all
    that the patterns alone scrub, whatever the case, and beyond ASCII."""
    from crmproof import redaction

    def patterns_alone(text: str) -> str:
        text = redaction._HEADER_JSON.sub(lambda m: f'{m.group(1)}"***"', text)
        return redaction._FORM_FIELDS.sub(lambda m: m.group(1) + "***", text)

    samples = [
        '{"name": "COOKIE", "value": "a=b"}',
        '{"name": "Set-Cookie", "value": "sid=1"}',
        '{"name": "Proxy-Authorization", "value": "Basic x"}',
        '{"name": "X-CSRFToken", "value": "t"}',
        "user=a&PASSWORD2=pw&Access_Token=zz&API_KEY=k&passwd=q",
        "pa\u017f\u017fword=long-s",  # the long s matches 's' ignoring case; lower() keeps it
        '{"name": "\u212aookie", "value": "kelvin"}',
        '{"at": 1.5, "event": "step", "step": "create account", "status": "passed"}',
    ]
    for text in samples:
        assert redact_text(text, []) == patterns_alone(text), text
    plain = '{"event": "step", "status": "passed"}'
    assert redact_text(plain, ["s3cret-pass"]) is plain  # untouched: the writer skips a re-read
