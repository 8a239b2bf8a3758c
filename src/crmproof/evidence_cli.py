"""The evidence commands: `crmproof verify`, `crmproof pack` and `crmproof key new`.

They live beside cli.py, not in it, so that the evidence trail (signing, verifying,
packing) is one module to read; cli.py registers them on its command group.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from crmproof import attest, keys, render
from crmproof import workspace as workspaces
from crmproof.errors import CrmproofError
from crmproof.folders import run_folder, workspace_path


def _folder(workspace: str | None, run: str | None, reports: str | None) -> Path:
    return run_folder(workspace_path(workspace), run, reports)


def refresh_attestation(folder: Path) -> str | None:
    """After `crmproof report`: refresh the attestation if re-rendering changed a file."""
    try:
        signing = keys.signing_key()
    except CrmproofError:
        signing = None
    return attest.refresh(folder, signing)


def signature_line(signing: keys.SigningKey | None) -> str:
    if signing is None:
        return click.style(render.UNSIGNED, fg="yellow", bold=True)
    return f"signed: key id {signing.key_id[:16]} ({signing.path})"


@click.command("verify")
@click.argument("run", required=False)
@click.option("--workspace", "-w", default=None)
@click.option("--reports", default=None, help="Folder of run folders (default: reports/).")
@click.option(
    "--key",
    "key_file",
    default=None,
    type=click.Path(dir_okay=False),
    help="The team's public key (default: $CRMPROOF_HOME/keys/crmproof.pub if present).",
)
def verify_cmd(
    run: str | None, workspace: str | None, reports: str | None, key_file: str | None
) -> None:
    """Check RUN (default: the latest) or an evidence pack (.zip): signature, digests, scorecard.

    Fails, naming the file and cell, when a file differs from the signed attestation or the
    manifest, when the signature does not verify with the public key, or when scorecard.json
    does not follow from results.jsonl.
    """
    from crmproof import verify

    key_path = Path(key_file) if key_file else keys.default_public_key()
    public = None
    if key_file or key_path.exists():
        try:
            public = keys.load_public(key_path)
        except CrmproofError as exc:
            raise click.ClickException(str(exc)) from None
    if run and run.endswith(".zip") and not Path(run).is_file():
        raise click.ClickException(f"{run}: no such evidence pack")
    if run and run.endswith(".zip"):
        target = Path(run).resolve()
        outcome = verify.check_pack(target, public)
    else:
        target = _folder(workspace, run, reports)
        outcome = verify.check_folder(target, public)
        ws = workspace_path(workspace)
        if (ws / workspaces.EVALUATION_FILE).exists():  # the decisions, as the report took them
            from crmproof import decide, manifest

            outcome.problems += manifest.verify_sources(target, ws, decide.source_files(ws))
    for problem in outcome.problems:
        click.echo(problem, err=True)
    shown = workspaces.display_path(target)
    if not outcome.ok:
        click.echo(f"{shown}: does NOT verify ({len(outcome.problems)} problem(s))", err=True)
        sys.exit(1)
    if outcome.unsigned:
        click.echo(click.style(f"{shown}: {render.UNSIGNED}", fg="yellow", bold=True), err=True)
    signature = (
        f"signature good (key id {outcome.signed_by[:16]}, {key_path})"
        if outcome.signed_by
        else "UNSIGNED"
    )
    click.echo(
        f"{shown}: verifies: {signature}; every file matches its manifest and the "
        f"attestation ({outcome.files} files); scorecard.json follows from results.jsonl"
    )


@click.command("pack")
@click.argument("run", required=False)
@click.option("--workspace", "-w", default=None)
@click.option("--reports", default=None, help="Folder of run folders (default: reports/).")
@click.option(
    "--out",
    "-o",
    default=None,
    type=click.Path(dir_okay=False),
    help="Archive to write (default: <reports>/<run-id>.evidence.zip).",
)
def pack_cmd(run: str | None, workspace: str | None, reports: str | None, out: str | None) -> None:
    """Write RUN's evidence pack (default: the latest): one zip that verifies on its own."""
    from crmproof import pack

    ws = Path(workspace or ".").resolve()
    folder = _folder(workspace, run, reports)
    try:
        written = pack.write(folder, ws, Path(out) if out else None)
    except CrmproofError as exc:
        raise click.ClickException(str(exc)) from None
    for warning in written.warnings:
        click.echo(click.style(f"warning: {warning}", fg="yellow"), err=True)
    click.echo(
        f"{workspaces.display_path(written.path)}: {written.size} bytes, "
        f"{len(written.members)} files (`crmproof verify {workspaces.display_path(written.path)}"
        " --key TEAM.pub` checks it)"
    )


@click.group("key")
def key_group() -> None:
    """The team's signing key: runs are signed with it, `verify` checks with its .pub."""


@key_group.command("new")
@click.option(
    "--out",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder for NAME.key and NAME.pub (default: $CRMPROOF_HOME/keys/).",
)
@click.option("--name", default=keys.DEFAULT_NAME, show_default=True, help="File name stem.")
@click.option("--workspace", "-w", default=None, help="Workspace the key must stay out of.")
def key_new(out: str | None, name: str, workspace: str | None) -> None:
    """Make an Ed25519 key pair; the private key (mode 600) stays outside the workspace."""
    try:
        private, public = keys.new_pair(
            Path(out) if out else keys.keys_dir(), name, Path(workspace or ".").resolve()
        )
        key = keys.load_private(private)
    except CrmproofError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"private key: {private} (mode 600: keep it secret, never in the workspace)")
    click.echo(f"public key:  {public} (give it to whoever verifies your runs)")
    click.echo(f"key id:      {key.key_id}")
    if out and Path(private).resolve() != keys.default_private_key().resolve():
        click.echo(f"runs sign with it when {keys.SIGNING_KEY_ENV}={private} is set")
