"""A local DjangoCRM (`django-crm-admin` 3.1, a Django admin UI) on 127.0.0.1.

DjangoCRM ships a hard-coded `webcrm/settings.py`, so the sandbox writes a settings module
of its own into the sandbox home that imports it and points the database, media folder
and mail at the sandbox. `setupdata` (migrations, fixtures, three users with random
passwords) runs once; the sandbox then sets the passwords of those users to values it
generated and keeps (mode 600) in the sandbox home, so they never touch the workspace.

Pins: django-crm-admin 3.1.x on Python 3.12 (its pinned mysqlclient builds from source,
so Debian's default-libmysqlclient-dev must be installed), Pillow (undeclared).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path

from crmproof.sandbox import (
    Launch,
    Log,
    SandboxError,
    SandboxHome,
    VendorSandbox,
    make_venv,
    run,
)

PACKAGES = ["django-crm-admin==3.1.*", "Pillow"]
SETTINGS_MODULE = "crmproof_djangocrm_settings"
# The CRM site and its login form; the prefixes are the ones webcrm/settings.py sets.
CRM_PREFIX = "/en/123/"
LOGIN_PATH = "/en/123/789-login/"

# Actor -> the DjangoCRM user that plays it. setupdata creates all three; the two sales
# managers sit in different departments (groups "Global sales" and "Local sales").
USERS = {
    "admin": "IamSUPER",
    "rep_a": "IamGlobalSALES",
    "rep_b": "IamLocalSALES",
}

SETTINGS_TEMPLATE = '''\
"""Written by crmproof's DjangoCRM sandbox: webcrm.settings, pointed at this folder."""
from pathlib import Path

from webcrm.settings import *  # noqa: F403

_HOME = Path({home!r})
SECRET_KEY = {secret_key!r}
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(_HOME / "data" / "crm.sqlite3"),
        # Writes from several adapters at once (and DjangoCRM's own threads) otherwise
        # fail at once with "database is locked": take the write lock up front, wait for
        # it, and let readers read during a write.
        "OPTIONS": {{
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }},
    }}
}}
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# Django's advice for test runs (docs: topics/testing/overview, "Password hashing"): PBKDF2's
# 1,200,000 rounds cost about a second of CPU per log-in, and a harness logs in hundreds of
# times. The passwords are random and the server listens on 127.0.0.1 only; PBKDF2 hashes
# still verify, and become MD5 at their next log-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
MEDIA_ROOT = _HOME / "data" / "media"
GEOIP_PATH = MEDIA_ROOT / "geodb"
LOAD_EXCHANGE_RATE = False
'''

# Run inside `django-admin shell`: the passwords arrive by environment, not argv.
# The superuser also joins the "Global sales" department: a deal takes its department
# (and so its stages) from its owner's groups, so an admin without one could not own deals.
SET_UP_USERS = """
import json, os
from django.contrib.auth.models import Group, User
for username, password in json.loads(os.environ["CRMPROOF_PASSWORDS"]).items():
    user = User.objects.get(username=username)
    user.set_password(password)
    user.save()
User.objects.get(username="IamSUPER").groups.add(Group.objects.get(name="Global sales"))
# Standard configuration, as an administrator adds it under CRM > Lead Sources: the
# sales team's own lead source next to DjangoCRM's fixtures (distributor, website form,
# website email, exhibition), in each sales department that has lead sources.
from crm.models import LeadSource
for department_id in set(LeadSource.objects.values_list("department_id", flat=True)):
    LeadSource.objects.get_or_create(name="Trade show", department_id=department_id)
# Standard configuration, as an administrator adds it under Settings > Email Accounts: a
# main account per user, without which DjangoCRM sends no e-mail (crm/utils/send_email.py:
# 26-36). The sandbox's mail backend is the console one, so nothing leaves the machine.
from massmail.models import EmailAccount
for user in User.objects.filter(username__in=json.loads(os.environ["CRMPROOF_PASSWORDS"])):
    EmailAccount.objects.get_or_create(
        owner=user,
        main=True,
        defaults=dict(
            name=f"{user.username} mail",
            email_host="127.0.0.1",
            imap_host="127.0.0.1",
            email_host_user=user.username,
            email_host_password="unused: the console mail backend sends nothing",
            from_email=f"{user.username.lower()}@crmproof.test",
            do_import=False,
            massmail=False,
        ),
    )
print("users set up")
"""
# Bump when the set-up steps change, so an existing sandbox redoes them.
SETUP_VERSION = "4"


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


class DjangoCrmSandbox(VendorSandbox):
    """Provision once (about 45 s), then start `runserver` in about 2 s."""

    vendor = "djangocrm"
    start_timeout = 60.0

    def _env(self, home: SandboxHome) -> dict[str, str]:
        return {
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "PYTHONPATH": str(home.root / "settings"),
            "PYTHONUNBUFFERED": "1",
        }

    def _credentials(self, home: SandboxHome) -> dict[str, str]:
        """username -> password, generated once and kept readable by the owner only."""
        path = home.root / "credentials.json"
        if path.exists():
            return json.loads(path.read_text())
        creds = {user: secrets.token_urlsafe(18) for user in USERS.values()}
        _write_private(path, json.dumps(creds, indent=2))
        return creds

    def _write_settings(self, home: SandboxHome) -> None:
        """(Re)write the settings module when its template changed; the key stays."""
        folder = home.root / "settings"
        folder.mkdir(parents=True, exist_ok=True)
        for sub in ("docs", "exported", "geodb", "pics", "locks"):
            (home.data / "media" / sub).mkdir(parents=True, exist_ok=True)
        key_file = home.root / "secret_key"
        if not key_file.exists():
            _write_private(key_file, secrets.token_urlsafe(40))
        text = SETTINGS_TEMPLATE.format(home=str(home.root), secret_key=key_file.read_text())
        target = folder / f"{SETTINGS_MODULE}.py"
        if not target.exists() or target.read_text() != text:
            _write_private(target, text)

    def provision(self, home: SandboxHome, log: Log) -> None:
        make_venv(home, "python3.12", PACKAGES, log)
        self._write_settings(home)
        database = home.data / ".crmproof-setupdata"
        users = home.data / ".crmproof-users"
        if database.exists() and users.exists() and users.read_text() == SETUP_VERSION:
            return
        home.data.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self._env(home)}
        admin = home.bin("django-admin")
        if not database.exists():
            (home.data / "crm.sqlite3").unlink(missing_ok=True)
            run([admin, "setupdata"], log, env=env, cwd=home.root, timeout=600)
            database.write_text("setupdata done\n")
        env["CRMPROOF_PASSWORDS"] = json.dumps(self._credentials(home))
        proc = run([admin, "shell", "-c", SET_UP_USERS], log, env=env, cwd=home.root)
        if "users set up" not in proc.stdout:
            raise SandboxError(f"setting up DjangoCRM users failed:\n{proc.stdout}")
        users.write_text(SETUP_VERSION)

    def launch(self, home: SandboxHome, port: int) -> Launch:
        return Launch(
            argv=[
                str(home.bin("django-admin")),
                "runserver",
                f"127.0.0.1:{port}",
                "--noreload",
            ],
            env=self._env(home),
            cwd=home.root,
        )

    def health_url(self, base_url: str) -> str:
        return base_url + LOGIN_PATH

    def configure(self, home: SandboxHome, base_url: str, log: Log) -> dict[str, str]:
        creds = self._credentials(home)
        values = {"DJANGOCRM_URL": base_url}
        for actor, username in USERS.items():
            key = actor.upper()
            values[f"DJANGOCRM_{key}_USER"] = username
            values[f"DJANGOCRM_{key}_PASSWORD"] = creds[username]
        return values


def installed_version(url: str) -> str | None:
    """django-crm-admin's version, when `url` is this machine's sandbox; None otherwise.

    DjangoCRM's UI shows no version, so only the sandbox, which installed it, can say.
    """
    home = SandboxHome(DjangoCrmSandbox.vendor)
    if (
        home.state().get("url", "").rstrip("/") != url.rstrip("/")
        or not home.bin("python").exists()
    ):
        return None
    probe = subprocess.run(
        [
            str(home.bin("python")),
            "-c",
            "import importlib.metadata as m; print(m.version('django-crm-admin'))",
        ],
        capture_output=True,
        text=True,
    )
    return probe.stdout.strip() or None if probe.returncode == 0 else None
