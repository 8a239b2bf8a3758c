"""BottleCRM (`django-crm` 1.35 on PyPI) as a local sandbox on 127.0.0.1.

BottleCRM is built for PostgreSQL, Redis and Celery. Here it runs on SQLite with a
settings module of our own (written into the sandbox home, never into the workspace)
that imports `crm.settings` and overrides the database, the cache and Celery (eager:
without it every write waits for a broker that is not there and answers 500).

The package ships no manage.py and writes log files into its current directory, so
every Django command and the server run from `run/` inside the sandbox home.

Credentials are obtained the way a real API client would (see `signin.py`) and kept
in `credentials.json` in the sandbox home, mode 600, because BottleCRM allows only five
sign-in codes per e-mail address per hour: later `up`s reuse the tokens while they work.
The organisation's business set-up (a lead pipeline, lead sources) follows, through the
API (see `orgsetup.py`).
"""

from __future__ import annotations

import os
import secrets
from typing import ClassVar

from crmproof.sandbox import (
    Launch,
    Log,
    SandboxHome,
    VendorSandbox,
    make_venv,
    run,
)

from .orgsetup import ensure_org_setup
from .signin import Credentials, ensure_credentials

# Pinned: the adapter is written against this API. 1.35 needs Python 3.12 (on 3.11 pip
# silently picks an unrelated 2021 release); `packaging` is an undeclared dependency.
PACKAGE_VERSION = "1.35"
PACKAGES = [f"django-crm=={PACKAGE_VERSION}.*", "packaging", "gunicorn"]
PYTHON = "python3.12"
SETTINGS_MODULE = "crmproof_bottlecrm_settings"

SETTINGS_SOURCE = '''\
"""crmproof's BottleCRM sandbox: SQLite, in-process cache, eager Celery, console mail."""

import os

from crm.settings import *  # noqa: F403

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["CRMPROOF_BOTTLECRM_DB"],
        "OPTIONS": {"timeout": 30},
    }
}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "crmproof",
    }
}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = "cache+memory://"
# Sign-in codes are read from the mail printed into the server log.
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
MEDIA_ROOT = os.environ["CRMPROOF_BOTTLECRM_MEDIA"]
STATIC_ROOT = os.environ["CRMPROOF_BOTTLECRM_STATIC"]  # no UI is served; it only has to exist
# Row-level security is PostgreSQL's; on SQLite every request would warn that it is absent.
LOGGING["loggers"]["common.middleware.rls_context"] = {"level": "ERROR"}  # noqa: F405
'''


class Paths:
    """Where this vendor keeps its files inside the sandbox home."""

    def __init__(self, home: SandboxHome) -> None:
        self.home = home
        self.conf = home.root / "conf"  # the settings module, on PYTHONPATH
        self.workdir = home.root / "run"  # cwd: Django writes its own log files here
        self.db = home.data / "bottlecrm.sqlite3"
        self.media = home.data / "media"
        self.static = home.data / "static"
        self.migrated = home.data / "migrated"  # marker: which package version migrated
        self.credentials = home.root / "credentials.json"  # mode 600


class BottleCRMSandbox(VendorSandbox):
    vendor: ClassVar[str] = "bottlecrm"
    start_timeout: ClassVar[float] = 60.0

    admin_email: ClassVar[str] = "crmproof-admin@example.com"
    rep_emails: ClassVar[dict[str, str]] = {
        "rep_a": "crmproof-rep-a@example.com",
        "rep_b": "crmproof-rep-b@example.com",
    }
    org_name: ClassVar[str] = "crmproof"

    # -- provision ----------------------------------------------------------------------

    def provision(self, home: SandboxHome, log: Log) -> None:
        paths = Paths(home)
        make_venv(home, PYTHON, PACKAGES, log)
        for folder in (paths.conf, paths.workdir, home.data, paths.media, paths.static):
            folder.mkdir(parents=True, exist_ok=True)
        settings_file = paths.conf / f"{SETTINGS_MODULE}.py"
        if not settings_file.exists() or settings_file.read_text() != SETTINGS_SOURCE:
            settings_file.write_text(SETTINGS_SOURCE)
        creds = self._credentials(paths)
        if not creds.secret_key:
            creds.secret_key = secrets.token_urlsafe(48)
            creds.admin_password = secrets.token_urlsafe(24)
            creds.save(paths.credentials)
        wanted = self._installed_version(home)
        if paths.db.exists() and paths.migrated.exists() and paths.migrated.read_text() == wanted:
            return
        log(f"bottlecrm: migrating {paths.db} (about two minutes when new)")
        env = {**os.environ, **self._env(home, creds)}
        admin = [home.bin("django-admin")]
        run([*admin, "migrate", "--noinput"], log, cwd=paths.workdir, env=env)
        # A Django superuser for /admin/ only; the API's admin is the org's ADMIN.
        run([*admin, "create_default_admin"], log, cwd=paths.workdir, env=env)
        paths.migrated.write_text(wanted)

    def _installed_version(self, home: SandboxHome) -> str:
        """The exact django-crm release installed, e.g. 1.35.0 (the API does not say)."""
        dist = sorted(home.venv.glob("lib/python*/site-packages/django_crm-*.dist-info"))
        return (
            dist[-1].name.removeprefix("django_crm-").removesuffix(".dist-info")
            if dist
            else PACKAGE_VERSION
        )

    def _credentials(self, paths: Paths) -> Credentials:
        return Credentials.load(paths.credentials)

    def _env(self, home: SandboxHome, creds: Credentials) -> dict[str, str]:
        """BottleCRM is configured by environment; these are its variables and ours."""
        paths = Paths(home)
        return {
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "PYTHONPATH": str(paths.conf),
            "PYTHONUNBUFFERED": "1",
            "CRMPROOF_BOTTLECRM_DB": str(paths.db),
            "CRMPROOF_BOTTLECRM_MEDIA": str(paths.media),
            "CRMPROOF_BOTTLECRM_STATIC": str(paths.static),
            "SECRET_KEY": creds.secret_key,
            "DEBUG": "False",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "ENV_TYPE": "dev",  # "prod" demands public URLs and a server_settings module
            "ADMIN_EMAIL": "crmproof-superuser@example.com",
            "ADMIN_PASSWORD": creds.admin_password,
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        }

    # -- launch -------------------------------------------------------------------------

    def launch(self, home: SandboxHome, port: int) -> Launch:
        creds = self._credentials(Paths(home))
        argv = [
            str(home.bin("gunicorn")),
            "crm.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            # One process: the in-process cache holds the sign-in throttles, and SQLite
            # takes one writer at a time anyway.
            "--workers",
            "1",
            "--timeout",
            "120",
        ]
        return Launch(argv=argv, env=self._env(home, creds), cwd=Paths(home).workdir)

    def health_url(self, base_url: str) -> str:
        return base_url + "/healthz/"

    # -- configure ----------------------------------------------------------------------

    def configure(self, home: SandboxHome, base_url: str, log: Log) -> dict[str, str]:
        paths = Paths(home)
        creds = self._credentials(paths)
        ensure_credentials(
            creds,
            base_url=base_url,
            server_log=home.log,
            admin_email=self.admin_email,
            rep_emails=self.rep_emails,
            org_name=self.org_name,
            save=lambda: creds.save(paths.credentials),
            log=log,
        )
        ensure_org_setup(base_url, creds.tokens["admin"], log)
        return {
            "BOTTLECRM_URL": base_url,
            "BOTTLECRM_TOKEN": creds.tokens["admin"],
            "BOTTLECRM_REP_A_TOKEN": creds.tokens["rep_a"],
            "BOTTLECRM_REP_B_TOKEN": creds.tokens["rep_b"],
            "BOTTLECRM_VERSION": self._installed_version(home),
        }
