"""Obtaining BottleCRM API tokens over HTTP, exactly as a real client would.

BottleCRM has no password login on its API. A person asks for a sign-in code by e-mail
(`/api/auth/magic-link/request/`), the sandbox's console mail backend prints that mail
into the server log, we read the code there and exchange it for a JWT
(`/api/auth/magic-link/verify-code/`). The admin creates the organisation (`/api/org/`)
and invites the sales reps (`/api/users/`); each person switches into the organisation
(`/api/auth/switch-org/`) and mints a non-expiring personal access token
(`/api/profile/tokens/`, `bcrm_pat_...`), which is what the adapter uses.

Sign-in codes are limited to five per address per hour, so tokens are kept in the
sandbox home and only re-obtained when they stop working (a rebuilt database, say).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from crmproof.sandbox import Log, SandboxError

CODE_SUBJECT = re.compile(r"^Subject: Your BottleCRM sign-in code: (\d{6})\s*$", re.MULTILINE)
MAIL_SEPARATOR = "-" * 79


@dataclass
class Credentials:
    """Everything secret about one BottleCRM sandbox, kept in its home (mode 600)."""

    secret_key: str = ""
    admin_password: str = ""
    org_id: str = ""
    tokens: dict[str, str] = field(default_factory=dict)  # actor -> bcrm_pat_...

    @classmethod
    def load(cls, path: Path) -> Credentials:
        try:
            data = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return cls()
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(asdict(self), out, indent=2)
        os.replace(tmp, path)


class SignIn:
    """One HTTP conversation with the sandbox's auth endpoints."""

    def __init__(self, base_url: str, server_log: Path, log: Log) -> None:
        self.http = httpx.Client(base_url=base_url + "/api", timeout=60.0)
        self.server_log = server_log
        self.log = log

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, bearer: str | None = None, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        response = self.http.request(method, path, headers=headers, **kw)
        if response.status_code >= 400:
            raise SandboxError(
                f"bottlecrm: {method} /api{path} answered {response.status_code}: "
                f"{response.text[:300]}"
            )
        return response.json()

    def token_works(self, token: str, org_id: str) -> bool:
        """True when a personal token still authenticates, in our organisation."""
        if not token or not org_id:
            return False
        # The token's own organisation, as the API sees it.
        response = self.http.get("/org/settings/", headers={"Authorization": f"Bearer {token}"})
        return response.status_code == 200 and response.json().get("id") == org_id

    def code_from_mail(self, email: str, since: int, timeout: float = 15.0) -> str:
        """The sign-in code mailed to `email`, printed into the server log after `since`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.server_log.open("rb") as handle:
                handle.seek(since)
                text = handle.read().decode(errors="replace")
            for message in reversed(text.split(MAIL_SEPARATOR)):
                match = CODE_SUBJECT.search(message)
                if match and re.search(rf"^To: .*{re.escape(email)}", message, re.MULTILINE):
                    return match.group(1)
            time.sleep(0.2)
        raise SandboxError(
            f"bottlecrm: no sign-in code for {email} appeared in {self.server_log}. BottleCRM "
            "sends at most 5 codes per address per hour and answers the same either way: "
            "if tokens were re-obtained many times lately, wait up to an hour and retry."
        )

    def sign_in(self, email: str) -> dict[str, Any]:
        """Magic-link code sign-in; returns the verify-code answer (JWT, organisations)."""
        since = self.server_log.stat().st_size if self.server_log.exists() else 0
        self.log(f"bottlecrm: requesting a sign-in code for {email}")
        self._call("POST", "/auth/magic-link/request/", json={"email": email, "delivery": "code"})
        code = self.code_from_mail(email, since)
        return self._call(
            "POST", "/auth/magic-link/verify-code/", json={"email": email, "code": code}
        )

    def switch_org(self, access: str, org_id: str) -> str:
        answer = self._call("POST", "/auth/switch-org/", bearer=access, json={"org_id": org_id})
        return str(answer["access_token"])

    def create_org(self, access: str, name: str) -> str:
        answer = self._call("POST", "/org/", bearer=access, json={"name": name})
        return str(answer["org"]["id"])

    def mint_token(self, access: str, name: str) -> str:
        answer = self._call("POST", "/profile/tokens/", bearer=access, json={"name": name})
        return str(answer["token"])

    def invite(self, admin_token: str, email: str, role: str) -> None:
        """Add `email` to the admin's organisation; an existing member is fine."""
        response = self.http.post(
            "/users/",
            headers={"Authorization": f"Bearer {admin_token}"},
            json={"email": email, "role": role},
        )
        already = ("already exists", "already in organization")
        if response.status_code == 201 or any(text in response.text for text in already):
            return
        raise SandboxError(
            f"bottlecrm: inviting {email} answered {response.status_code}: {response.text[:300]}"
        )


def ensure_credentials(
    creds: Credentials,
    *,
    base_url: str,
    server_log: Path,
    admin_email: str,
    rep_emails: dict[str, str],
    org_name: str,
    save: Callable[[], None],
    log: Log,
) -> None:
    """Make `creds` hold a working token for the admin and each rep, signing in if not."""
    client = SignIn(base_url, server_log, log)
    try:
        if not client.token_works(creds.tokens.get("admin", ""), creds.org_id):
            answer = client.sign_in(admin_email)
            orgs = {o["name"]: str(o["id"]) for o in answer.get("organizations", [])}
            creds.org_id = orgs.get(org_name) or client.create_org(answer["access_token"], org_name)
            access = client.switch_org(answer["access_token"], creds.org_id)
            creds.tokens = {"admin": client.mint_token(access, "crmproof admin")}
            save()  # at once: each sign-in spends one of five codes an hour
        for actor, email in rep_emails.items():
            if client.token_works(creds.tokens.get(actor, ""), creds.org_id):
                continue
            client.invite(creds.tokens["admin"], email, "USER")
            answer = client.sign_in(email)
            access = client.switch_org(answer["access_token"], creds.org_id)
            creds.tokens[actor] = client.mint_token(access, f"crmproof {actor}")
            save()
    finally:
        client.close()
