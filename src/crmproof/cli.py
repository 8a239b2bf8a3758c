"""The `crmproof` command line: thin wrappers over the engine's modules."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from crmproof import discovery, sandbox


def _workspace(path: str | None) -> Path:
    return Path(path or ".").resolve()


@click.group()
@click.version_option(package_name="crmproof")
def main() -> None:
    """Make CRM vendors prove that their system supports your processes."""


@main.group("sandbox")
def sandbox_group() -> None:
    """Local vendor sandboxes on 127.0.0.1."""


def _sandbox_for(vendor: str, workspace: Path) -> sandbox.VendorSandbox:
    try:
        package = discovery.load(vendor, workspace)
    except discovery.AdapterNotFound as exc:
        raise click.ClickException(str(exc)) from None
    if package.sandbox is None:
        raise click.ClickException(f"adapter '{vendor}' has no local sandbox")
    return package.sandbox


@sandbox_group.command("up")
@click.argument("vendors", nargs=-1, required=True)
@click.option("--workspace", "-w", default=None, help="Workspace folder (default: .).")
def sandbox_up(vendors: tuple[str, ...], workspace: str | None) -> None:
    """Provision (once) and start VENDORS' sandboxes."""
    ws = _workspace(workspace)
    for vendor in vendors:
        try:
            state = sandbox.up(_sandbox_for(vendor, ws), log=lambda m: click.echo(m, err=True))
        except sandbox.SandboxError as exc:
            raise click.ClickException(f"{vendor}: {exc}") from None
        click.echo(f"{vendor}\t{state['url']}\tpid {state['pid']}")


@sandbox_group.command("down")
@click.argument("vendors", nargs=-1, required=True)
@click.option("--workspace", "-w", default=None)
def sandbox_down(vendors: tuple[str, ...], workspace: str | None) -> None:
    """Stop VENDORS' sandboxes (by their recorded PID)."""
    ws = _workspace(workspace)
    for vendor in vendors:
        stopped = sandbox.down(_sandbox_for(vendor, ws))
        click.echo(f"{vendor}\t{'stopped' if stopped else 'was not running'}")


@sandbox_group.command("status")
@click.argument("vendors", nargs=-1)
@click.option("--workspace", "-w", default=None)
def sandbox_status(vendors: tuple[str, ...], workspace: str | None) -> None:
    """Show whether each sandbox is running, and where."""
    ws = _workspace(workspace)
    names = vendors or tuple(
        n for n in discovery.available(ws) if discovery.load(n, ws).sandbox is not None
    )
    for vendor in names:
        st = sandbox.status(sandbox.SandboxHome(vendor))
        where = st.get("url", "-") if st["running"] else "-"
        click.echo(f"{vendor}\t{'running' if st['running'] else 'stopped'}\t{where}")


if __name__ == "__main__":
    sys.exit(main())
