"""Local vendor sandboxes: provision once, start on 127.0.0.1, stop by PID.

What is generic lives here: where a sandbox keeps its files, making a virtual environment,
starting and stopping its server, waiting until it answers, and recording its URL and
credentials in a secrets file outside the workspace. What is specific to a vendor (which
packages, which settings, which set-up data) lives in that vendor's adapter folder, as a
`VendorSandbox` subclass exported as `sandbox` by `adapters/<vendor>/__init__.py`.

A vendor sandbox's files: `$CRMPROOF_HOME/sandboxes/<vendor>/` (default
`~/.local/share/crmproof`), holding `venv/`, `data/`, `server.log` and `state.json`.
Credentials go to `$CRMPROOF_HOME/secrets.env` (mode 600), which `${env:NAME}` in
crmproof.yaml falls back to when NAME is not in the environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx

from crmproof.errors import CrmproofError
from crmproof.secrets_store import crmproof_home, write_secrets

Log = Callable[[str], None]


class SandboxError(CrmproofError):
    """A sandbox could not be provisioned or started; the message says what to do."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SandboxHome:
    """The folder of one vendor's sandbox and the files in it."""

    vendor: str
    root: Path = field(init=False)

    def __post_init__(self) -> None:
        self.root = crmproof_home() / "sandboxes" / self.vendor

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name

    def state(self) -> dict[str, Any]:
        try:
            state: dict[str, Any] = json.loads(self.state_file.read_text())
            return state
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def save_state(self, state: Mapping[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, self.state_file)


def run(argv: list[str | Path], log: Log, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a set-up command; on failure raise SandboxError with the end of its output."""
    log("$ " + " ".join(str(a) for a in argv))
    proc = subprocess.run(
        [str(a) for a in argv],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        **kwargs,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise SandboxError(f"command failed ({proc.returncode}): {argv[0]}\n{tail}")
    return proc


def make_venv(home: SandboxHome, python: str, packages: list[str], log: Log) -> None:
    """Create the sandbox's own virtual environment with `packages`, once.

    A marker file records what was installed, so a second `up` skips this entirely,
    and a change of pins reinstalls.
    """
    marker = home.venv / ".crmproof-packages"
    wanted = "\n".join([python, *packages])
    if marker.exists() and marker.read_text().splitlines()[1:] == packages:
        return  # the same pins: nothing to do, whichever path found the interpreter
    exe = _find_python(python)
    run([exe, "-m", "venv", "--clear", home.venv], log)
    run([home.bin("python"), "-m", "pip", "install", "-q", "--upgrade", "pip"], log)
    run([home.bin("python"), "-m", "pip", "install", "-q", *packages], log)
    marker.write_text(wanted)


def _find_python(python: str) -> str:
    """An absolute interpreter for e.g. 'python3.12' that really runs.

    pyenv's real binaries come first: its shim is on PATH but fails unless that version
    is the selected one, so `which` alone can find a command that does not run.
    """
    import shutil

    version = python.removeprefix("python")
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [
        str(p) for p in sorted(pyenv_root.glob(f"versions/{version}*/bin/{python}"), reverse=True)
    ]
    if python == f"python{sys.version_info.major}.{sys.version_info.minor}":
        candidates.append(sys.executable)
    found = shutil.which(python)
    if found:
        candidates.append(found)
    for candidate in candidates:
        probe = subprocess.run([candidate, "-c", "pass"], capture_output=True)
        if probe.returncode == 0:
            return candidate
    raise SandboxError(f"{python} not found: install it (pyenv install {version}) and retry")


@dataclass
class Launch:
    """How to start a vendor's server."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None


class VendorSandbox(ABC):
    """A vendor's recipe. The engine calls these in order on `crmproof sandbox up`."""

    vendor: ClassVar[str]
    # How long to wait for the server's first answer after start.
    start_timeout: ClassVar[float] = 60.0

    @abstractmethod
    def provision(self, home: SandboxHome, log: Log) -> None:
        """Install and prepare the database; idempotent and fast when already done."""

    @abstractmethod
    def launch(self, home: SandboxHome, port: int) -> Launch:
        """The command that serves the vendor on 127.0.0.1:port."""

    def health_url(self, base_url: str) -> str:
        """A URL that answers (any status below 500) once the server is ready."""
        return base_url + "/"

    @abstractmethod
    def configure(self, home: SandboxHome, base_url: str, log: Log) -> dict[str, str]:
        """After start: obtain credentials; return the variables for secrets.env."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive for our purpose.
    with contextlib.suppress(FileNotFoundError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def _is_ours(pid: int, state: Mapping[str, Any]) -> bool:
    """Only a process whose command line is the one we started may be stopped."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return False
    argv = [a.decode(errors="replace") for a in cmdline if a]
    return argv[-len(state.get("argv", [])) :] == state.get("argv") if argv else False


def status(home: SandboxHome) -> dict[str, Any]:
    """The recorded state plus whether the server is running now."""
    state = home.state()
    pid = state.get("pid")
    running = isinstance(pid, int) and _alive(pid) and _is_ours(pid, state)
    return {**state, "vendor": home.vendor, "running": running}


@contextlib.contextmanager
def _locked(home: SandboxHome) -> Iterator[None]:
    """One `up` or `down` of a vendor at a time, across processes."""
    import fcntl

    home.root.mkdir(parents=True, exist_ok=True)
    with (home.root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def up(sandbox: VendorSandbox, log: Log = print) -> dict[str, Any]:
    """Provision if needed, start if not running, record URL and credentials."""
    home = SandboxHome(sandbox.vendor)
    with _locked(home):
        return _up(sandbox, home, log)


def _up(sandbox: VendorSandbox, home: SandboxHome, log: Log) -> dict[str, Any]:
    current = status(home)
    if current["running"]:
        if sandbox.launch(home, current["port"]).argv == current["argv"]:
            log(f"{sandbox.vendor}: already running at {current['url']} (pid {current['pid']})")
            return current
        # started by an older crmproof, with another command (a database it now serves
        # too): what it was told then is not what a run now needs
        log(f"{sandbox.vendor}: restarting: it runs a command this crmproof no longer gives")
        down_home(home)
    home.root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    sandbox.provision(home, log)
    port = free_port()
    launch = sandbox.launch(home, port)
    url = f"http://127.0.0.1:{port}"
    log(f"{sandbox.vendor}: starting on {url}")
    fd = os.open(home.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # may hold codes
    os.chmod(home.log, 0o600)
    with os.fdopen(fd, "ab") as logfile:
        proc = subprocess.Popen(
            launch.argv,
            cwd=launch.cwd or home.root,
            env={**os.environ, **launch.env},
            stdin=subprocess.DEVNULL,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as one by `down`
        )
    state = {"pid": proc.pid, "url": url, "port": port, "argv": launch.argv}
    home.save_state(state)
    if not _wait_http(sandbox.health_url(url), sandbox.start_timeout, proc):
        tail = "\n".join(home.log.read_text(errors="replace").splitlines()[-20:])
        down_home(home)
        raise SandboxError(f"{sandbox.vendor} did not answer on {url}; server log ends:\n{tail}")
    secrets = sandbox.configure(home, url, log)
    write_secrets(secrets)
    log(f"{sandbox.vendor}: ready at {url} in {time.monotonic() - started:.1f}s")
    return status(home)


def _wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if httpx.get(url, timeout=2.0).status_code < 500:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    return False


def down_home(home: SandboxHome, timeout: float = 10.0) -> bool:
    """Stop the recorded server (its process group) by PID; True if one was stopped."""
    state = home.state()
    pid = state.get("pid")
    if not pid or not _alive(pid) or not _is_ours(pid, state):
        home.save_state({k: v for k, v in state.items() if k != "pid"})
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    home.save_state({k: v for k, v in state.items() if k != "pid"})
    return True


def down(sandbox: VendorSandbox) -> bool:
    home = SandboxHome(sandbox.vendor)
    with _locked(home):
        return down_home(home)
