"""`${env:NAME}` in crmproof.yaml: credentials come from the environment, never the files.

A value missing from the environment is looked up in the secrets file that
`crmproof sandbox up` writes outside the workspace. The resolved values are also returned
as the set of secrets, so the results writer can redact them from everything it writes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from crmproof.errors import UserInputError
from crmproof.secrets_store import read_secrets, secrets_path

_ENV = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
# Variables whose values are redacted everywhere; a URL or a user name is not a secret.
_SECRET_NAME = re.compile(r"PASS|TOKEN|SECRET|KEY|CREDENTIAL|COOKIE", re.IGNORECASE)


class MissingCredential(UserInputError):
    """A `${env:NAME}` of crmproof.yaml has no value in the environment or the secrets file."""


def resolve_settings(
    settings: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], set[str]]:
    """Settings with every `${env:NAME}` replaced, and the set of values that were secret."""
    env = dict(os.environ if environ is None else environ)
    stored = read_secrets()
    secrets: set[str] = set()

    def value_of(name: str) -> str:
        if name in env:
            found = env[name]
        elif name in stored:
            found = stored[name]
        else:
            raise MissingCredential(
                f"${{env:{name}}} is not set: export {name}, or run `crmproof sandbox up` "
                f"for a local sandbox (it records credentials in {secrets_path()})"
            )
        if _SECRET_NAME.search(name):
            secrets.add(found)
        return found

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return _ENV.sub(lambda m: value_of(m.group(1)), value)
        if isinstance(value, Mapping):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    resolved = walk(settings)
    return resolved, secrets
