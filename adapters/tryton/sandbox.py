"""A local Tryton 8.0 server on SQLite, with the business set-up a sale needs.

Tryton is an ERP: before an opportunity can become a sale and a sale an invoice, it needs a
company, an employee for the user, a chart of accounts, fiscal years, a payment term and
products with accounts; a complaint (a case) needs complaint types, a payment a payment
method. `prepare.py` does that inside the sandbox's own venv (proteus in direct mode),
once; a marker file holds a digest of the modules and of prepare.py, so a second `up`
only starts the server, and a changed recipe builds the database anew.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import secrets
import sqlite3
from pathlib import Path

from crmproof.sandbox import Launch, Log, SandboxHome, VendorSandbox, make_venv, run

from .webclient import install_sao

# The server stays on 8.0.x: the sao web client refuses a server of another major.minor.
PIN = ">=8.0,<8.1"
MODULES = [
    "party",
    "party_relationship",
    "company",
    "currency",
    "product",
    "sale",
    "sale_opportunity",
    "account",
    "account_invoice",
    # Cases are customer complaints; one invoice per customer needs invoice grouping.
    "sale_complaint",
    "sale_invoice_grouping",
]
PACKAGES = [
    f"trytond{PIN}",
    *(f"trytond-{m.replace('_', '-')}{PIN}" for m in MODULES),
    f"proteus{PIN}",
]
DATABASE = "crmproof"
# The web client's vendor entry works on its own copy of the prepared database. SQLite
# serialises a database's writes, so the adapters hold a database's server lock for each
# write, and a sao step holds it for the whole step: on one database the API entry's
# writes waited for the web entry's steps, and it finished each scenario within seconds
# of the web entry (70 scenario runs in 1,439 s; on its own copy, 293 s). Two channels
# of one product need the same product, not the same records.
WEB_DATABASE = "crmproof_web"
ADMIN = "admin"
# Sales reps, named like the other vendors' second and third actors.
REPS = ("rep_a", "rep_b")
PREPARE_SCRIPT = Path(__file__).with_name("prepare.py")


def _conf(home: SandboxHome) -> Path:
    return home.root / "trytond.conf"


def _secret_file(home: SandboxHome, name: str) -> Path:
    return home.root / f"{name}.password"


def _ensure_secret(path: Path) -> str:
    """A random password, made once and kept readable by the owner only."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(18))
    return path.read_text().strip()


def _recipe_digest() -> str:
    """What the prepared database depends on: a change of either re-prepares it."""
    text = "\n".join([*PACKAGES, *MODULES, PREPARE_SCRIPT.read_text()])
    return hashlib.sha256(text.encode()).hexdigest()


def _remove_database(home: SandboxHome, name: str) -> Path:
    """Delete a database's file with its logs: a stale write-ahead log would be replayed
    into the next database of that name. Returns the file's path."""
    path = home.data / f"{name}.sqlite"
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    return path


def _copy_database(home: SandboxHome, name: str) -> None:
    """A consistent copy of the prepared database under another name (SQLite's backup,
    which reads the write-ahead log too; a copy of the file alone may miss the latest)."""
    target = _remove_database(home, name)
    with (
        contextlib.closing(sqlite3.connect(home.data / f"{DATABASE}.sqlite")) as source,
        contextlib.closing(sqlite3.connect(target)) as copy,
    ):
        source.backup(copy)


def _end_sessions(home: SandboxHome, name: str) -> None:
    """Forget every session, as the server is about to start: none can be in use. Tryton
    checks each request against all of its user's sessions from the same address
    (trytond/ir/session.py, Session.check) and keeps them 30 days; a killed run or test
    never logs its sessions out, and each one left costs every later request (with 83 and
    65 left in the two databases, a count of parties took 13.1 ms at best; 10.8 ms with
    none)."""
    with contextlib.closing(sqlite3.connect(home.data / f"{name}.sqlite")) as db, db:
        db.execute("DELETE FROM ir_session")


class TrytonSandbox(VendorSandbox):
    vendor = "tryton"
    start_timeout = 60.0

    def provision(self, home: SandboxHome, log: Log) -> None:
        # Two `up`s at once (two test sessions, say) must not build the database together.
        home.root.mkdir(parents=True, exist_ok=True)
        with (home.root / ".provision.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._provision(home, log)
            finally:
                with contextlib.suppress(OSError):
                    fcntl.flock(lock, fcntl.LOCK_UN)

    def _provision(self, home: SandboxHome, log: Log) -> None:
        self._prepare(home, log)
        if not (home.data / f"{WEB_DATABASE}.sqlite").exists():  # a new database's copy
            _copy_database(home, WEB_DATABASE)
        for name in (DATABASE, WEB_DATABASE):
            _end_sessions(home, name)

    def _prepare(self, home: SandboxHome, log: Log) -> None:
        make_venv(home, "python3.11", PACKAGES, log)
        web_root = install_sao(home, log)
        home.data.mkdir(parents=True, exist_ok=True)
        _ensure_secret(_secret_file(home, ADMIN))
        for rep in REPS:
            _ensure_secret(_secret_file(home, rep))
        _conf(home).write_text(
            "[database]\n"
            "uri = sqlite://\n"
            f"path = {home.data}\n"
            "[web]\n"
            # The same server serves sao, the web client, beside its JSON-RPC API.
            f"root = {web_root}\n"
            "[session]\n"
            "timeout = 86400\n"
            "[password]\n"
            # The passwords are random tokens; the default entropy check is for humans.
            "entropy = 0\n"
        )
        marker = home.root / ".crmproof-prepared"
        digest = _recipe_digest()
        if marker.exists() and marker.read_text() == digest:
            return
        log("tryton: creating the database (about 30 s)")
        marker.unlink(missing_ok=True)
        _remove_database(home, WEB_DATABASE)  # copied anew from the new one
        _remove_database(home, DATABASE).touch()  # trytond-admin needs the file to exist
        run(
            [
                home.bin("trytond-admin"),
                "-c",
                _conf(home),
                "-d",
                DATABASE,
                "--email",
                "admin@example.com",
                "-u",
                *MODULES,
                "--activate-dependencies",
            ],
            log,
            env={**os.environ, "TRYTONPASSFILE": str(_secret_file(home, ADMIN))},
        )
        run(
            [
                home.bin("python"),
                PREPARE_SCRIPT,
                _conf(home),
                DATABASE,
                *(f"{rep}:{_secret_file(home, rep)}" for rep in REPS),
            ],
            log,
        )
        marker.write_text(digest)

    def launch(self, home: SandboxHome, port: int) -> Launch:
        # trytond reads TRYTOND_<SECTION>__<OPTION> from the environment, so the port
        # need not be written into the shared config file.
        # Both databases are named: trytond 8.0 sets up a pool for a database it was not
        # started with on its first request, and that pool held no model ('res.user').
        return Launch(
            argv=[str(home.bin("trytond")), "-c", str(_conf(home)), "-d", DATABASE, WEB_DATABASE],
            env={"TRYTOND_WEB__LISTEN": f"127.0.0.1:{port}"},
        )

    def configure(self, home: SandboxHome, base_url: str, log: Log) -> dict[str, str]:
        values = {
            "TRYTON_URL": base_url,
            # sao, the web client, is served by the same server (`[web] root`).
            "TRYTON_WEB_URL": f"{base_url}/",
            "TRYTON_DATABASE": DATABASE,
            "TRYTON_WEB_DATABASE": WEB_DATABASE,
            "TRYTON_USER": ADMIN,
            "TRYTON_PASSWORD": _secret_file(home, ADMIN).read_text().strip(),
        }
        for rep in REPS:
            values[f"TRYTON_{rep.upper()}_USER"] = rep
            values[f"TRYTON_{rep.upper()}_PASSWORD"] = _secret_file(home, rep).read_text().strip()
        return values
