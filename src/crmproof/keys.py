"""The team's Ed25519 signing key: made once, kept outside the workspace, named by an id.

A scorecard shown in a dispute must carry a signature that only the team could have made.
The private key lives under `$CRMPROOF_HOME/keys/` (or wherever `CRMPROOF_SIGNING_KEY`
points), never in the workspace, where it would be committed or packed with the evidence.
The public half travels separately: whoever verifies a run must get it from the team, not
from the run, or anyone could re-sign an edited run with a key of their own.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crmproof.errors import UserInputError
from crmproof.secrets_store import crmproof_home

SIGNING_KEY_ENV = "CRMPROOF_SIGNING_KEY"
DEFAULT_NAME = "crmproof"


def keys_dir() -> Path:
    return crmproof_home() / "keys"


def default_private_key() -> Path:
    return keys_dir() / f"{DEFAULT_NAME}.key"


def default_public_key() -> Path:
    return keys_dir() / f"{DEFAULT_NAME}.pub"


def key_id(public: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key: short enough to read aloud, unique to the key."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    path: Path

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def private_pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def new_pair(
    out: Path, name: str = DEFAULT_NAME, workspace: Path | None = None
) -> tuple[Path, Path]:
    """Write NAME.key (mode 600) and NAME.pub into `out`; never overwrite a key."""
    if workspace is not None and (workspace / "crmproof.yaml").exists() and _inside(out, workspace):
        raise UserInputError(
            f"{out}: inside the workspace {workspace}: a private key there would be committed "
            f"or packed; keep it outside (default {keys_dir()})"
        )
    private_path, public_path = out / f"{name}.key", out / f"{name}.pub"
    for path in (private_path, public_path):
        if path.exists():
            raise UserInputError(
                f"{path}: a key already exists: runs signed with it would no longer verify "
                "if it were replaced; choose another --out or --name"
            )
    out.mkdir(parents=True, exist_ok=True)
    private = Ed25519PrivateKey.generate()
    pem = SigningKey(private, private_path).private_pem()
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    public_path.write_bytes(public_pem(private.public_key()))
    return private_path, public_path


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserInputError(f"{path}: cannot read the {what}: {exc.strerror}") from None


def load_private(path: Path) -> SigningKey:
    data = _read(path, "signing key")
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UserInputError(
            f"{path}: the signing key can be read by other users; `chmod 600 {path}` first"
        )
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise UserInputError(
            f"{path}: not an unencrypted PEM private key (`crmproof key new` makes one)"
        ) from None
    if not isinstance(private, Ed25519PrivateKey):
        raise UserInputError(f"{path}: not an Ed25519 key (`crmproof key new` makes one)")
    return SigningKey(private, path)


def load_public(path: Path) -> Ed25519PublicKey:
    data = _read(path, "public key")
    if b"PRIVATE KEY" in data:
        raise UserInputError(
            f"{path}: this is a private key; verify with its public half (the .pub file)"
        )
    try:
        public = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise UserInputError(
            f"{path}: not a PEM public key (`crmproof key new` makes one)"
        ) from None
    if not isinstance(public, Ed25519PublicKey):
        raise UserInputError(f"{path}: not an Ed25519 public key")
    return public


def signing_key() -> SigningKey | None:
    """The key a run signs with: `$CRMPROOF_SIGNING_KEY`, else the default file, else none.

    A key named in the environment that cannot be read is an error, not an unsigned run:
    the user asked for a signature.
    """
    named = os.environ.get(SIGNING_KEY_ENV)
    if named:
        return load_private(Path(named).expanduser())
    if default_private_key().exists():
        return load_private(default_private_key())
    return None
