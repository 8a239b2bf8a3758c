"""The `crmproof` command line: thin wrappers over the engine's modules."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click

from crmproof import discovery, render, sandbox, validate
from crmproof import workspace as workspaces
from crmproof.errors import CrmproofError, PlanError, ResultsError, UserInputError
from crmproof.events import ResultEvent, ScenarioDone, VendorReady
from crmproof.plan import Filters, make_plan
from crmproof.plan import shard as plan_shard
from crmproof.runner import Run
from crmproof.scoring import Scorecard


def _workspace(path: str | None) -> Path:
    return Path(path or ".").resolve()


@click.group()
@click.version_option(package_name="crmproof")
def main() -> None:
    """Make CRM vendors prove that their system supports your processes."""


def _load_checked(ws: Path, quiet_warnings: bool = False) -> workspaces.Suite:
    suite = workspaces.load(ws)
    validate.check(suite)
    for diagnostic in sorted(set(suite.diagnostics)):
        if diagnostic.severity == "error" or not quiet_warnings:
            click.echo(str(diagnostic), err=True)
    return suite


@main.command("validate")
@click.option("--workspace", "-w", default=None, help="Workspace folder (default: .).")
def validate_cmd(workspace: str | None) -> None:
    """Check every file of the workspace; exit non-zero on any error."""
    suite = _load_checked(_workspace(workspace))
    errors = len(suite.errors)
    warnings = len(suite.diagnostics) - errors
    requirements = suite.catalog.requirements
    covered = validate.covered_requirements(suite)
    uncovered = [r.id for r in requirements if r.id not in covered]
    click.echo(
        f"{len(suite.scenarios)} scenarios, {len(requirements)} requirements "
        f"({len(requirements) - len(uncovered)} covered"
        + (f", {len(uncovered)} not covered" if uncovered else ", every one covered")
        + f"): {errors} error(s), {warnings} warning(s)",
        err=True,
    )
    sys.exit(1 if errors else 0)


@main.command("schema")
@click.option("--out", "-o", default="schemas", show_default=True, help="Folder to write to.")
def schema_cmd(out: str) -> None:
    """Write JSON Schemas for crmproof.yaml, catalog files and scenario files."""
    from crmproof.schemas import write_schemas

    for path in write_schemas(Path(out)):
        click.echo(str(path))


@main.command("vocabulary")
def vocabulary_cmd() -> None:
    """Print the canonical vocabulary (entities, fields, stages, operations) as Markdown."""
    from crmproof import vocabulary

    click.echo(vocabulary.markdown(), nl=False)


def _progress(total: int) -> Callable[[ResultEvent], None]:
    done = {"n": 0}
    started = time.monotonic()

    def show(event: ResultEvent) -> None:
        if isinstance(event, ScenarioDone):
            done["n"] += 1
            status = event.status
            colour = {
                "passed": "green",
                "failed": "red",
                "error": "magenta",
                "unsupported": "yellow",
            }.get(status)
            click.echo(
                f"[{done['n']:>3}/{total}] {event.vendor:<10} {event.scenario:<36} "
                + click.style(f"{status:<11}", fg=colour)
                + f" {event.duration_ms / 1000:6.2f}s"
                + f"  (elapsed {time.monotonic() - started:5.1f}s)",
                err=True,
            )
        elif isinstance(event, VendorReady) and event.status != "ready":
            click.echo(click.style(f"{event.vendor}: {event.message}", fg="red"), err=True)

    return show


@main.command("run")
@click.option("--workspace", "-w", default=None, help="Workspace folder (default: .).")
@click.option("--vendor", "-v", "vendors", multiple=True, help="Only this vendor (repeatable).")
@click.option("-k", "ids", multiple=True, help="Only scenarios whose id matches this glob.")
@click.option("--tag", "-t", "tags", multiple=True, help="Only scenarios with this tag.")
@click.option(
    "--requirement",
    "-r",
    "requirements",
    multiple=True,
    help="Only scenarios covering this requirement.",
)
@click.option("--reports", default=None, help="Folder for run folders (default: reports/).")
@click.option(
    "--resume",
    "resume",
    default=None,
    metavar="RUN_ID",
    help="Finish a killed run: skip its finished scenarios, clean up its orphans.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["nothing", "disqualified", "failure"]),
    default="nothing",
    show_default=True,
    help="Exit 1 when a vendor is disqualified, or when any scenario did not pass.",
)
@click.option(
    "--shard",
    default=None,
    metavar="I/N",
    callback=lambda _c, _p, v: _shard_option(v),
    help="Run only the I-th of N slices of the plan (for CI machines; see `crmproof merge`).",
)
def run_cmd(
    workspace: str | None,
    vendors: tuple[str, ...],
    ids: tuple[str, ...],
    tags: tuple[str, ...],
    requirements: tuple[str, ...],
    reports: str | None,
    resume: str | None,
    fail_on: str,
    shard: tuple[int, int] | None = None,
) -> None:
    """Run the scenarios on the vendors and write the scorecard."""
    ws = _workspace(workspace)
    suite = _load_checked(ws, quiet_warnings=True)
    if suite.errors:
        click.echo(
            f"{len(suite.errors)} error(s): nothing was run (see `crmproof validate`)", err=True
        )
        sys.exit(2)
    base = Path(reports) if reports else ws / "reports"
    if resume:
        if ids or tags or requirements or vendors or shard:
            raise click.UsageError("--resume runs the rest of the original plan: no filters")
        run = Run.resume(suite, base, resume)
        run.progress = _progress(len(run.jobs))
        jobs = run.jobs
    else:
        jobs = make_plan(suite, Filters(ids, tags, requirements, vendors))
        if not jobs:
            raise PlanError("no scenario matches these filters: nothing to run")
        if shard:
            jobs = plan_shard(jobs, *shard)
            if not jobs:
                click.echo(f"shard {shard[0]}/{shard[1]} of this plan is empty: nothing to run")
                sys.exit(0)
        run = Run(suite, jobs, base, progress=_progress(len(jobs)))
    click.echo(
        f"run {run.run_id}: {len(jobs)} scenario runs on "
        f"{', '.join(dict.fromkeys(j.vendor for j in jobs))}",
        err=True,
    )
    folder = run.execute()
    card = render.write_all(folder)
    _write_manifest(suite, folder)
    click.echo(render.terminal(card))
    click.echo(f"reports: {workspaces.display_path(folder)}", err=True)
    sys.exit(_exit_code(card, fail_on))


def _shard_option(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    index, _, count = value.partition("/")
    if not (index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
        raise click.BadParameter(f"'{value}': write I/N with 1 <= I <= N, such as 2/4")
    return int(index), int(count)


@main.command("merge")
@click.argument("runs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--out", "-o", required=True, help="The merged run folder to write.")
@click.option("--workspace", "-w", default=None, help="Workspace folder (default: .).")
@click.option(
    "--fail-on",
    type=click.Choice(["nothing", "disqualified", "failure"]),
    default="nothing",
    show_default=True,
    help="Exit 1 when a vendor is disqualified, or when any scenario did not pass.",
)
def merge_cmd(runs: tuple[str, ...], out: str, workspace: str | None, fail_on: str) -> None:
    """Combine shard runs (`crmproof run --shard I/N`) into one run folder and scorecard."""
    from crmproof import merge
    from crmproof.runner import new_run_id, suite_digest

    suite = _load_checked(_workspace(workspace), quiet_warnings=True)
    if suite.errors:
        raise UserInputError(f"{len(suite.errors)} error(s) in the workspace: nothing merged")
    folder = Path(out).resolve()
    merge.merge([Path(r) for r in runs], folder, new_run_id(), suite_digest(suite))
    card = render.write_all(folder)
    _write_manifest(suite, folder)
    click.echo(render.terminal(card))
    click.echo(f"merged {len(runs)} run(s): {workspaces.display_path(folder)}", err=True)
    sys.exit(_exit_code(card, fail_on))


def _write_manifest(suite: workspaces.Suite, folder: Path) -> None:
    from crmproof import manifest

    assert suite.evaluation is not None
    adapters: dict[str, Path | None] = {
        name: (suite.adapters_dir / v.adapter) if v.adapter else None
        for name, v in suite.evaluation.model.vendors.items()
    }
    manifest.write(folder, adapters)


@main.command("verify")
@click.argument("run", required=False)
@click.option("--workspace", "-w", default=None)
@click.option("--reports", default=None, help="Folder of run folders (default: reports/).")
def verify_cmd(run: str | None, workspace: str | None, reports: str | None) -> None:
    """Check RUN's files (default: the latest) against its manifest.json."""
    from crmproof import manifest

    folder = _run_folder(_workspace(workspace), run, reports)
    problems = manifest.verify(folder)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        sys.exit(1)
    click.echo(f"{workspaces.display_path(folder)}: every file matches its manifest")


def _exit_code(card: Scorecard, fail_on: str) -> int:
    if fail_on == "disqualified" and any(v.disqualified for v in card.vendors):
        return 1
    if fail_on == "failure" and any(
        r.status != "passed" for v in card.vendors for r in v.scenarios.values()
    ):
        return 1
    return 0


def _run_folder(ws: Path, run: str | None, reports: str | None) -> Path:
    base = Path(reports) if reports else ws / "reports"
    folder = Path(run) if run and Path(run).is_dir() else base / (run or "latest")
    if not (folder / "results.jsonl").exists():
        raise ResultsError(f"no results.jsonl in {folder}")
    return folder.resolve()


@main.command("report")
@click.argument("run", required=False)
@click.option("--workspace", "-w", default=None)
@click.option("--reports", default=None, help="Folder of run folders (default: reports/).")
@click.option("--json", "as_json", is_flag=True, help="Print scorecard.json instead.")
def report_cmd(run: str | None, workspace: str | None, reports: str | None, as_json: bool) -> None:
    """Re-render RUN's scorecard (default: the latest) from its results.jsonl alone."""
    folder = _run_folder(_workspace(workspace), run, reports)
    card = render.write_all(folder)
    if as_json:
        click.echo(json.dumps(card.model_dump(), indent=2))
    else:
        click.echo(render.terminal(card))


@main.group("adapter")
def adapter_group() -> None:
    """Adapters: serve one over the protocol, or check one for conformance."""


@adapter_group.command("serve")
@click.argument("name")
@click.option("--workspace", "-w", default=None)
def adapter_serve(name: str, workspace: str | None) -> None:
    """Speak the adapter protocol on stdin/stdout for the in-process adapter NAME."""
    from crmproof.serve import serve

    package = discovery.load(name, workspaces.adapters_dir(_workspace(workspace)))
    sys.exit(serve(package.adapter()))


@adapter_group.command("check")
@click.argument("target")
@click.option("--workspace", "-w", default=None, help="Workspace folder (default: .).")
@click.option("--settings-from", default=None, metavar="VENDOR", help="Use VENDOR's settings.")
@click.option(
    "--markdown",
    "markdown_file",
    default=None,
    type=click.Path(dir_okay=False),
    help="Also write the report as Markdown (for a CI step summary).",
)
def adapter_check(
    target: str, workspace: str | None, settings_from: str | None, markdown_file: str | None
) -> None:
    """Self-test an adapter on its real vendor; TARGET is a vendor, an adapter or a command.

    Exits 1 when the adapter is broken; a vendor's missing feature does not fail it.
    """
    from crmproof import conformance
    from crmproof.conformance import report as check_report

    found = conformance.resolve_target(target, _workspace(workspace), settings_from)
    report = conformance.check(found, progress=lambda m: click.echo(m, err=True))
    click.echo(check_report.terminal(report))
    if markdown_file:
        Path(markdown_file).write_text(check_report.markdown(report), encoding="utf-8")
    sys.exit(0 if report.conforms else 1)


@main.group("sandbox")
def sandbox_group() -> None:
    """Local vendor sandboxes on 127.0.0.1."""


def _sandbox_for(vendor: str, ws: Path) -> sandbox.VendorSandbox:
    package = discovery.load(vendor, workspaces.adapters_dir(ws))
    if package.sandbox is None:
        raise UserInputError(f"adapter '{vendor}' has no local sandbox")
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
            raise sandbox.SandboxError(f"{vendor}: {exc}") from None
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
    names = vendors or tuple(discovery.available(workspaces.adapters_dir(ws)))
    for vendor in names:
        st = sandbox.status(sandbox.SandboxHome(vendor))
        where = st.get("url", "-") if st["running"] else "-"
        click.echo(f"{vendor}\t{'running' if st['running'] else 'stopped'}\t{where}")


def run() -> None:
    """The console script: a user's mistake is one clear line and exit 2; a bug of ours
    keeps its traceback, so it is never disguised as a polite message."""
    try:
        main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CrmproofError as exc:
        click.echo(f"crmproof: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    run()
