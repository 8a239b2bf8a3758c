"""sao, Tryton's web client, installed from the npm registry beside the sandbox's server.

sao refuses a server whose major.minor differs from its own, so the version follows the
installed trytond: `tryton-sao@~<major>.<minor>.0`, the newest patch of that series. Its
built files ship in the npm package; `npm install --omit=dev` adds the browser libraries
it loads from `node_modules/`. trytond then serves the folder as its `[web] root`.

The install happens once: a marker in the folder records the series, so a second `up`
reuses it, and a server of another series installs the matching client anew.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from crmproof.sandbox import Log, SandboxError, SandboxHome, run

PACKAGE = "tryton-sao"
MARKER = ".crmproof-sao"


def sao_root(home: SandboxHome) -> Path:
    return home.root / "sao"


def server_series(home: SandboxHome, log: Log) -> str:
    """The installed trytond's major.minor, e.g. '8.0'."""
    proc = run([home.bin("python"), "-c", "import trytond; print(trytond.__version__)"], log)
    major, minor, *_ = proc.stdout.strip().split(".")
    return f"{major}.{minor}"


def install_sao(home: SandboxHome, log: Log) -> Path:
    """The sao folder for this server's series, installed from npm if not there yet."""
    spec = f"{PACKAGE}@~{server_series(home, log)}.0"
    root = sao_root(home)
    marker = root / MARKER
    if marker.exists() and json.loads(marker.read_text()).get("spec") == spec:
        return root
    npm = shutil.which("npm")
    if npm is None:
        raise SandboxError("npm not found: install Node.js and npm (apt-get install -y npm)")
    log(f"tryton: installing the web client {spec} from npm (about 2 min)")
    work = home.root / "sao.partial"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    packed = run([npm, "pack", spec, "--json"], log, cwd=work)
    info = json.loads(packed.stdout)[0]
    run(["tar", "xzf", info["filename"]], log, cwd=work)
    unpacked = work / "package"
    # The built client is in dist/; its libraries (jQuery, Bootstrap, ...) are runtime
    # dependencies. Their peer-dependency ranges conflict, which npm would refuse.
    run(
        [npm, "install", "--omit=dev", "--legacy-peer-deps", "--no-audit", "--no-fund"],
        log,
        cwd=unpacked,
    )
    if not (unpacked / "index.html").exists():
        raise SandboxError(f"{spec} has no index.html: not a built web client")
    (unpacked / MARKER).write_text(json.dumps({"spec": spec, "version": info["version"]}))
    shutil.rmtree(root, ignore_errors=True)
    unpacked.rename(root)
    shutil.rmtree(work, ignore_errors=True)
    return root


def installed_version(home: SandboxHome) -> str | None:
    marker = sao_root(home) / MARKER
    if not marker.exists():
        return None
    return str(json.loads(marker.read_text()).get("version") or "") or None
