"""DSSE envelopes: the signature wrapper that in-toto and SLSA tools already verify.

The signature covers the pre-authentication encoding (PAE) of the payload type and the
exact payload bytes, so a verifier never has to re-serialise JSON to check it: what was
signed is the base64 payload, byte for byte. An envelope without signatures is how an
unsigned run is written: the same statement, plainly carrying no signature.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crmproof.keys import SigningKey, key_id

PAYLOAD_TYPE = "application/vnd.in-toto+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSEv1 pre-authentication encoding."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def envelope(payload: bytes, key: SigningKey | None) -> dict[str, Any]:
    signatures = []
    if key is not None:
        signature = key.private.sign(pae(PAYLOAD_TYPE, payload))
        signatures.append({"keyid": key.key_id, "sig": base64.b64encode(signature).decode()})
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode(),
        "signatures": signatures,
    }


class EnvelopeError(ValueError):
    """The envelope is not a well-formed DSSE envelope."""


def payload_of(env: Any) -> bytes:
    if not isinstance(env, dict) or not isinstance(env.get("payload"), str):
        raise EnvelopeError("not a DSSE envelope (no payload)")
    if env.get("payloadType") != PAYLOAD_TYPE:
        raise EnvelopeError(f"payloadType is {env.get('payloadType')!r}, not {PAYLOAD_TYPE!r}")
    try:
        return base64.b64decode(env["payload"], validate=True)
    except binascii.Error:
        raise EnvelopeError("the payload is not valid base64") from None


def check_signature(env: dict[str, Any], public: Ed25519PublicKey) -> str | None:
    """None when a signature of `public` covers the payload; else why not."""
    payload = payload_of(env)
    wanted = key_id(public)
    signatures = env.get("signatures") or []
    if not signatures:
        return "the attestation is UNSIGNED: nothing shows who wrote this run"
    for item in signatures:
        if not isinstance(item, dict):
            continue
        try:
            signature = base64.b64decode(str(item.get("sig", "")), validate=True)
            public.verify(signature, pae(PAYLOAD_TYPE, payload))
            return None
        except (binascii.Error, InvalidSignature):
            continue
    made_by = ", ".join(str(s.get("keyid", "?"))[:16] for s in signatures if isinstance(s, dict))
    return (
        f"the signature does not verify with the given public key (key id {wanted[:16]}); "
        f"it was made by key id {made_by}: a different key, or the attestation was edited"
    )
