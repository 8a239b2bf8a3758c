"""The `crmproof` command line: thin wrappers over the engine's modules."""

from __future__ import annotations

import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from crmproof import validate
from crmproof import workspace as workspaces
from crmproof.errors import CrmproofError, PlanError, UsageError, UserInputError
from crmproof.folders import run_folder as _run_folder
from crmproof.folders import workspace_path as _workspace

if TYPE_CHECKING:
    from crmproof import keys, sandbox
    from crmproof.adapter import Adapter
    from crmproof.events import ResultEvent
    from crmproof.runner import Run
    from crmproof.scoring import Scorecard


class _Commands(click.Group):
    """A user's mistake (a `CrmproofError`) is one clear line and exit 1; anything else is
    a bug of ours and keeps its traceback, so it is never disguised as a polite message."""

    # Commands kept in other modules, imported only when one of them is asked for: the
    # signing keys' cryptography must not slow down `crmproof validate`.
    _ELSEWHERE = {"verify": "verify_cmd", "pack": "pack_cmd", "key": "key_group"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self._ELSEWHERE])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._ELSEWHERE:
            from crmproof import evidence_cli

            found: click.Command = getattr(evidence_cli, self._ELSEWHERE[cmd_name])
            return found
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (UsageError, PlanError) as exc:  # the command's own words: exit 2
            raise click.UsageError(str(exc)) from None
        except CrmproofError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Commands)
@click.version_option(package_name="crmproof")
def main() -> None:
    """Make CRM vendors prove that their system supports your processes."""


def _load_checked(ws: Path, quiet_warnings: bool = False) -> workspaces.Suite:
    return _checked(workspaces.load(ws), quiet_warnings)


def _checked(suite: workspaces.Suite, quiet_warnings: bool = False) -> workspaces.Suite:
    validate.check(suite)
    for diagnostic in sorted(set(suite.diagnostics)):
        if diagnostic.severity == "error" or not quiet_warnings:
            click.echo(str(diagnostic), err=True)
    return suite


@main.command("validate")
@click.option("--workspace", "-w", default=None, help="Workspace folder (default: .).")
def validate_cmd(workspace: str | None) -> None:
    """Check every file of the workspace; exit non-zero on any error."""
    # A short command that makes no garbage cycles: the cyclic collector would only walk
    # every object loaded (millions for 10,000 scenarios), a third of the command's time.
    gc.disable()
    suite = _load_checked(_workspace(workspace))
    _check_decisions(suite)
    errors = len(suite.errors)
    warnings = len(suite.diagnostics) - errors
    requirements = suite.catalog.requirements
    covered = validate.covered_requirements(suite)
    uncovered = [r.id for r in requirements if r.id not in covered and r.verified_by != "demo"]
    demo = sum(r.verified_by == "demo" for r in requirements)
    click.echo(
        f"{len(suite.scenarios)} scenarios, {len(requirements)} requirements "
        f"({len(requirements) - len(uncovered)} covered"
        + (f", {demo} by demonstration" if demo else "")
        + (f", {len(uncovered)} not covered" if uncovered else ", every one covered")
        + f"): {errors} error(s), {warnings} warning(s)"
        + (
            f"; {len(suite.empty_scenario_files)} file(s) held no scenario"
            if suite.empty_scenario_files
            else ""
        ),
        err=True,
    )
    _list_stale(suite)
    sys.exit(1 if errors else 0)


def _list_stale(suite: workspaces.Suite) -> None:
    """What in reports/latest rests on a requirement or scenario changed since that run."""
    from crmproof import stale

    card = None if suite.errors else stale.of_run(suite.root / "reports" / "latest", suite)
    if card is None:
        return
    lines = stale.stale_lines(card)
    if lines:
        click.echo(
            f"{len(lines)} result(s) of run {card.run_id} are stale; re-run them with "
            "`crmproof run --stale`:",
            err=True,
        )
        for line in lines:
            click.echo(f"  stale: {line}", err=True)


def _check_decisions(suite: workspaces.Suite) -> None:
    """decisions.yaml and the demo score sheets, checked against the workspace and runs."""
    from crmproof import decide

    found = sorted(set(decide.check_workspace(suite, suite.root / "reports")))
    for diagnostic in found:
        click.echo(str(diagnostic), err=True)
    suite.diagnostics += found


def _render(suite: workspaces.Suite, folder: Path, **how: Any) -> Scorecard:
    """Take the workspace's decisions into the run folder, then write every report."""
    from crmproof import decide, render

    decide.collect(suite, folder)
    return render.write_all(folder, **how)


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
    from crmproof.events import ScenarioDone, VendorReady

    done = {"n": 0}
    started = time.monotonic()

    def show(event: ResultEvent) -> None:
        if isinstance(event, ScenarioDone):
            if not event.attempt:  # a re-run is shown, but its scenario was counted once
                done["n"] += 1
            status: str = event.status
            colour = {
                "passed": "green",
                "failed": "red",
                "error": "magenta",
                "not offered": "yellow",
                "not shown": "cyan",
                "untested": "magenta",
                "flaky": "magenta",
            }.get(status)
            if event.attempt and status != "flaky":
                status += " (re-run)"
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


_F = TypeVar("_F", bound=Callable[..., Any])


def _selection(command: _F) -> _F:
    """The options that choose a workspace's vendors and scenarios, alike for run and audit."""
    for option in reversed(
        (
            click.option("--workspace", "-w", default=None, help="Workspace folder (default: .)."),
            click.option(
                "--vendor", "-v", "vendors", multiple=True, help="Only this vendor (repeatable)."
            ),
            click.option(
                "-k",
                "ids",
                multiple=True,
                help="Only scenarios whose id matches this glob; VENDOR/GLOB for one vendor's.",
            ),
            click.option(
                "--tag", "-t", "tags", multiple=True, help="Only scenarios with this tag."
            ),
        )
    ):
        command = option(command)
    return command


@main.command("run")
@_selection
@click.option(
    "--requirement",
    "-r",
    "requirements",
    multiple=True,
    help="Only scenarios covering this requirement.",
)
@click.option("--reports", default=None, help="Folder for run folders (default: reports/).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Scenarios of one vendor at once, up to what its adapter declares safe.",
)
@click.option(
    "--retries",
    type=click.IntRange(0, 3),
    default=None,
    help="Re-runs of a scenario that did not pass (default: run.retries of crmproof.yaml).",
)
@click.option(
    "--resume",
    "resume",
    default=None,
    metavar="RUN_ID",
    help="Finish a killed run: skip its finished scenarios, clean up its orphans.",
)
@click.option(
    "--stale",
    "stale_only",
    is_flag=True,
    help="Only the scenarios whose results in the latest run are stale.",
)
@click.option(
    "--baseline",
    "baseline_file",
    default=None,
    type=click.Path(dir_okay=False, exists=True),
    help="Exit 1 only on a change from this baseline (default: baselines/<vendor>.yaml).",
)
@click.option(
    "--fail-on",
    type=click.Choice(["nothing", "disqualified", "failure", "disagreement"]),
    default="nothing",
    show_default=True,
    help="Exit 1 when a vendor is disqualified, when any scenario did not pass, or when "
    "two channels of one product disagree on a requirement.",
)
@click.option(
    "--shard",
    default=None,
    metavar="I/N",
    callback=lambda _c, _p, v: _shard_option(v),
    help="Run only the I-th of N slices of the plan (for CI machines; see `crmproof merge`).",
)
@click.option(
    "--evidence",
    type=click.Choice(["none", "failures", "all"]),
    default="failures",
    show_default=True,
    help="Which scenarios keep their evidence: HAR files of API vendors, browser traces.",
)
@click.option(
    "--no-progress",
    is_flag=True,
    help="One line per scenario instead of the live display (the default off a terminal).",
)
def run_cmd(
    workspace: str | None,
    vendors: tuple[str, ...],
    ids: tuple[str, ...],
    tags: tuple[str, ...],
    requirements: tuple[str, ...],
    reports: str | None,
    resume: str | None,
    stale_only: bool,
    baseline_file: str | None,
    fail_on: str,
    workers: int | None,
    retries: int | None = None,
    shard: tuple[int, int] | None = None,
    evidence: str = "failures",
    no_progress: bool = False,
) -> None:
    """Run the scenarios on the vendors and write the scorecard."""
    from crmproof import attest, channels_render, evidence_cli, render
    from crmproof.plan import Filters, make_plan
    from crmproof.plan import shard as plan_shard
    from crmproof.runner import Run

    ws = _workspace(workspace)
    suite = _load_checked(ws, quiet_warnings=True)
    if suite.errors:
        click.echo(
            f"{len(suite.errors)} error(s): nothing was run (see `crmproof validate`)", err=True
        )
        sys.exit(2)
    if suite.empty_scenario_files:
        click.echo(
            f"warning: {len(suite.empty_scenario_files)} scenario file(s) held no scenario: "
            + ", ".join(suite.empty_scenario_files),
            err=True,
        )
    signing = _signing_key()
    assert suite.evaluation is not None
    inputs = attest.workspace_inputs(
        ws, suite.evaluation.model.requirements, suite.evaluation.model.scenarios
    )
    base = Path(reports) if reports else ws / "reports"
    if resume:
        if ids or tags or requirements or vendors or stale_only or shard:
            raise click.UsageError("--resume runs the rest of the original plan: no filters")
        run = Run.resume(suite, base, resume)
        run.progress = _progress(len(run.jobs))
        jobs = run.jobs
    else:
        jobs = make_plan(suite, Filters(ids, tags, requirements, vendors))
        if stale_only:
            jobs = _stale_only(suite, base, jobs)
        if not jobs:
            raise PlanError("no scenario matches these filters: nothing to run")
        if shard:
            jobs = plan_shard(jobs, *shard)
            if not jobs:
                click.echo(f"shard {shard[0]}/{shard[1]} of this plan is empty: nothing to run")
                sys.exit(0)
        run = Run(suite, jobs, base, progress=_progress(len(jobs)))
    run.workers = workers
    run.retries = retries
    run.evidence = evidence
    click.echo(
        f"run {run.run_id}: {len(jobs)} scenario runs on "
        f"{', '.join(dict.fromkeys(j.vendor for j in jobs))}",
        err=True,
    )
    folder = _execute(run, jobs, live=not no_progress and sys.stderr.isatty())
    card = write_reports(suite, folder, signing, inputs)
    click.echo(render.terminal(card))
    report = render.channel_report(folder, card)
    click.echo(channels_render.terminal(report), nl=False)
    click.echo(evidence_cli.signature_line(signing))
    click.echo(f"reports: {workspaces.display_path(folder)}", err=True)
    if run.interrupted:
        click.echo(
            "interrupted: the running scenarios' records were deleted; finish the run with "
            f"`crmproof run --resume {run.run_id}`",
            err=True,
        )
        sys.exit(130)
    code = _exit_code(card, fail_on)
    if fail_on == "disagreement" and report.contradictions:
        code = 1
    if baseline_file or (ws / "baselines").is_dir():
        code = max(code, _check_baseline(ws, card, baseline_file))
    sys.exit(code)


def write_reports(
    suite: workspaces.Suite,
    folder: Path,
    signing: keys.SigningKey | None,
    inputs: dict[str, str],
) -> Scorecard:
    """Everything a finished run folder gets besides its results: reports, manifest,
    attestation, and the CI job summary. The pytest plugin writes its run the same way."""
    from crmproof import attest, step_summary

    card = _render(suite, folder, unsigned=signing is None)
    _write_manifest(suite, folder)
    attest.write(folder, signing, inputs)
    step_summary.append(card)
    return card


def _execute(run: Run, jobs: list[Any], live: bool) -> Path:
    """Run it, under the live display on a terminal. A first Ctrl-C stops it cleanly
    (crmproof.interrupt); a second one, during that cleanup, stops at once."""
    try:
        if not live:
            return run.execute()
        from crmproof.progress import LiveProgress

        display = LiveProgress(jobs)
        run.progress, run.on_scenario = display, display.scenario_started
        with display:
            return run.execute()
    except KeyboardInterrupt:
        raise click.ClickException(
            "stopped at once: records of the running scenarios may remain; "
            f"`crmproof run --resume {run.run_id}` deletes them and finishes the run"
        ) from None


def _check_baseline(ws: Path, card: Scorecard, baseline_file: str | None) -> int:
    """1 when a result differs from the vendor's baseline, naming each difference."""
    from crmproof import baseline
    from crmproof.errors import CrmproofError

    try:
        if baseline_file:
            expected, source = baseline.load(Path(baseline_file)), baseline_file
        else:
            expected, source = baseline.workspace_baselines(ws), "baselines/"
    except CrmproofError as exc:
        raise click.ClickException(str(exc)) from None
    if not expected:
        return 0
    unexpected = baseline.check(card, expected)
    if not unexpected:
        click.echo(f"baseline ({source}): every result as expected", err=True)
        return 0
    click.echo(f"baseline ({source}): {len(unexpected)} unexpected change(s):", err=True)
    for item in unexpected:
        click.echo(click.style(f"  {item}", fg="red"), err=True)
    return 1


def _stale_only(suite: workspaces.Suite, base: Path, jobs: list[Any]) -> list[Any]:
    """The planned jobs whose results in the latest run are stale."""
    from crmproof import stale

    card = stale.of_run(base / "latest", suite)
    if card is None:
        raise click.UsageError(f"--stale: no latest run in {base} to compare with")
    covering: dict[str, list[str]] = {}
    for loaded in suite.scenarios:
        for rid in loaded.model.covers:
            covering.setdefault(rid, []).append(loaded.model.id)
    wanted = set(stale.stale_jobs(card, covering))
    chosen = [j for j in jobs if (j.vendor, j.scenario.model.id) in wanted]
    if not chosen:
        click.echo(f"nothing is stale in run {card.run_id}: nothing to run", err=True)
        sys.exit(0)
    return chosen


@main.command("audit")
@_selection
@click.option(
    "--budget", default=1800.0, show_default=True, help="Seconds to spend per vendor at most."
)
@click.option("--reports", default=None, help="Folder of run folders (default: reports/).")
@click.option("--run", "run_id", default="latest", show_default=True, help="Run to attach it to.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Scenarios of one vendor audited at once, up to what its adapter declares safe "
    "(default: as for `run`).",
)
def audit_cmd(
    workspace: str | None,
    vendors: tuple[str, ...],
    ids: tuple[str, ...],
    tags: tuple[str, ...],
    budget: float,
    reports: str | None,
    run_id: str,
    workers: int | None,
) -> None:
    """Suite strength: re-run each passing scenario with one wrong answer injected.

    A scenario that still passes when a write did nothing, or a search ignored its
    filter, is weak at that step. The result is kept as audit.json in the run folder
    (default: the latest), and its scorecard shows each vendor's suite strength.
    """
    from crmproof import audit, render
    from crmproof.credentials import resolve_settings
    from crmproof.plan import Filters, make_plan
    from crmproof.runner import new_adapter, new_run_id, open_settings

    ws = _workspace(workspace)
    suite = _load_checked(ws, quiet_warnings=True)
    if suite.errors:
        raise UserInputError(f"{len(suite.errors)} error(s): see `crmproof validate`")
    assert suite.evaluation is not None
    evaluation = suite.evaluation.model
    jobs = make_plan(suite, Filters(ids, tags, (), vendors))
    chosen = list(dict.fromkeys(j.vendor for j in jobs))
    marker = new_run_id()
    report = audit.AuditReport()
    for vendor in chosen:
        settings, _ = resolve_settings(evaluation.vendors[vendor].settings)

        def opened(vendor: str = vendor, settings: dict[str, Any] = settings) -> Adapter:
            adapter = new_adapter(suite, vendor)
            adapter.run_id = marker
            adapter.open(open_settings(evaluation, settings))
            return adapter

        adapter = new_adapter(suite, vendor)
        adapter.run_id = marker
        try:
            adapter.open(open_settings(evaluation, settings))
            report.vendors += audit.run_mutations(
                {vendor: (adapter, adapter.declared())},
                [j.scenario for j in jobs if j.vendor == vendor],
                marker,
                budget,
                progress=lambda m: click.echo(m, err=True),
                more={vendor: opened},
                workers=workers or evaluation.vendors[vendor].workers or evaluation.run.workers,
            ).vendors
        finally:
            adapter.close()
    click.echo(audit.text(report), nl=False)
    folder = _run_folder(ws, run_id, reports) if _has_run(ws, run_id, reports) else None
    if folder is not None:
        (folder / "audit.json").write_text(report.model_dump_json(indent=2) + "\n")
        render.write_all(folder)
        _write_manifest(suite, folder)
        click.echo(f"suite strength added to {workspaces.display_path(folder)}", err=True)


def _has_run(ws: Path, run: str, reports: str | None) -> bool:
    base = Path(reports) if reports else ws / "reports"
    return (base / run / "results.jsonl").exists()


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
    from crmproof import attest, evidence_cli, merge, render
    from crmproof.runner import new_run_id, suite_digest

    suite = _load_checked(_workspace(workspace), quiet_warnings=True)
    if suite.errors:
        raise UserInputError(f"{len(suite.errors)} error(s) in the workspace: nothing merged")
    folder = Path(out).resolve()
    signing = _signing_key()
    assert suite.evaluation is not None
    inputs = attest.workspace_inputs(
        suite.root, suite.evaluation.model.requirements, suite.evaluation.model.scenarios
    )
    merge.merge([Path(r) for r in runs], folder, new_run_id(), suite_digest(suite))
    card = render.write_all(folder, unsigned=signing is None)
    _write_manifest(suite, folder)
    attest.write(folder, signing, inputs)  # the merged run is attested like any run
    from crmproof import step_summary

    step_summary.append(card)  # the CI job that merges the shards reports them
    click.echo(render.terminal(card))
    click.echo(evidence_cli.signature_line(signing))
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
    from crmproof import decide

    manifest.reseal(folder, decide.source_files(folder))


def _signing_key() -> keys.SigningKey | None:
    from crmproof import keys

    return keys.signing_key()


def _exit_code(card: Scorecard, fail_on: str) -> int:
    if fail_on == "disqualified" and any(v.disqualified for v in card.vendors):
        return 1
    if fail_on == "failure" and any(
        r.status != "passed" for v in card.vendors for r in v.scenarios.values()
    ):
        return 1
    return 0


@main.command("report")
@click.argument("run", required=False)
@click.option("--workspace", "-w", default=None)
@click.option("--reports", default=None, help="Folder of run folders (default: reports/).")
@click.option("--json", "as_json", is_flag=True, help="Print scorecard.json instead.")
def report_cmd(run: str | None, workspace: str | None, reports: str | None, as_json: bool) -> None:
    """Re-render RUN's scorecard (default: the latest) from its results.jsonl alone."""
    from crmproof import attest, decide, evidence_cli, manifest, render
    from crmproof.fingerprints import of_suite

    ws = _workspace(workspace)
    folder = _run_folder(ws, run, reports)
    suite = workspaces.load(ws)
    # the workspace's fingerprints now, as fingerprints.of_workspace(ws) would load them
    current = None if suite.errors else of_suite(suite)
    _checked(suite, quiet_warnings=True)
    layer = set(manifest.REPORT_FILES) | set(decide.source_files(folder))
    sealed = (folder / manifest.MANIFEST).exists()
    tampered = [
        p for p in (manifest.verify(folder) if sealed else []) if p.split(": ", 1)[-1] not in layer
    ]
    if tampered:
        raise UserInputError(
            "the run's own files no longer match manifest.json; not re-reporting:\n"
            + "\n".join(tampered)
        )
    card = _render(suite, folder, unsigned=not attest.is_signed(folder), current=current)
    manifest.reseal(folder, decide.source_files(folder))
    refreshed = evidence_cli.refresh_attestation(folder)
    if refreshed:
        click.echo(refreshed, err=True)
    if as_json:
        click.echo(json.dumps(card.model_dump(), indent=2))
    else:
        click.echo(render.terminal(card))
        if not attest.is_signed(folder):  # as `crmproof run` ends, so does its report
            click.echo(evidence_cli.signature_line(None))
    if card.stale:
        click.echo(f"stale view: {workspaces.display_path(folder / 'index.stale.html')}", err=True)


@main.command("diff")
@click.argument("run_a")
@click.argument("run_b")
@click.option("--workspace", "-w", default=None)
@click.option("--reports", default=None, help="Folder of run folders (default: reports/).")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print Markdown.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--effort-threshold",
    default=0.2,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Report effort that moved by more than this share.",
)
def diff_cmd(
    run_a: str,
    run_b: str,
    workspace: str | None,
    reports: str | None,
    as_markdown: bool,
    as_json: bool,
    effort_threshold: float,
) -> None:
    """What changed from RUN_A to RUN_B (run ids, run folders or results files)."""
    from crmproof import diff
    from crmproof.errors import CrmproofError

    ws = _workspace(workspace)
    try:
        runs = [diff.load_run(_run_path(ws, run, reports)) for run in (run_a, run_b)]
    except CrmproofError as exc:
        raise click.ClickException(str(exc)) from None
    result = diff.compare(runs[0], runs[1], effort_threshold)
    if as_json:
        click.echo(result.model_dump_json(indent=2))
    elif as_markdown:
        click.echo(diff.markdown(result), nl=False)
    else:
        click.echo(diff.terminal(result), nl=False)


def _run_path(ws: Path, run: str, reports: str | None) -> Path:
    if Path(run).exists():
        return Path(run)
    folder = (Path(reports) if reports else ws / "reports") / run
    if not folder.exists():
        raise click.ClickException(f"no run {run}: neither a path nor a folder in {folder.parent}")
    return folder


@main.command("baseline")
@click.argument("run", required=False)
@click.option("--workspace", "-w", default=None)
@click.option("--reports", default=None, help="Folder of run folders (default: reports/).")
@click.option("--vendor", "-v", "vendors", multiple=True, help="Only this vendor (repeatable).")
@click.option(
    "--out",
    default=None,
    help="A .yaml file (one document per vendor) or a folder (default: baselines/).",
)
def baseline_cmd(
    run: str | None,
    workspace: str | None,
    reports: str | None,
    vendors: tuple[str, ...],
    out: str | None,
) -> None:
    """Write the verdicts of RUN (default: the latest) as the expected ones, per vendor."""
    from crmproof import baseline, diff
    from crmproof.errors import CrmproofError

    ws = _workspace(workspace)
    try:
        card = diff.load_card(_run_path(ws, run or "latest", reports))
    except CrmproofError as exc:
        raise click.ClickException(str(exc)) from None
    chosen = [v for v in card.vendors if not vendors or v.name in vendors]
    unknown = set(vendors) - {v.name for v in card.vendors}
    if unknown or not chosen:
        raise click.UsageError(
            f"no vendor {', '.join(sorted(unknown)) or 'at all'} in run {card.run_id}; "
            f"it has: {', '.join(v.name for v in card.vendors)}"
        )
    target = Path(out) if out else ws / "baselines"
    if target.suffix in (".yaml", ".yml"):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("---\n".join(baseline.dump(card, v) for v in chosen), encoding="utf-8")
        written = [target]
    else:
        target.mkdir(parents=True, exist_ok=True)
        written = []
        for vendor in chosen:
            path = target / f"{vendor.name}.yaml"
            path.write_text(baseline.dump(card, vendor), encoding="utf-8")
            written.append(path)
    for path in written:
        click.echo(workspaces.display_path(path))


@main.group("import")
def import_group() -> None:
    """Bring in what a team already keeps elsewhere (a requirement spreadsheet)."""


@import_group.command("requirements")
@click.argument("sheet_file", metavar="FILE.xlsx|FILE.csv", type=click.Path(dir_okay=False))
@click.option("--workspace", "-w", default=None, help="Workspace folder (default: .).")
@click.option(
    "--out",
    default=None,
    help="Catalog file to write or update (default: requirements/imported.yaml).",
)
@click.option("--sheet", default=None, help="The worksheet to read (default: the first).")
@click.option("--strategy", default=None, help="The strategy new processes serve.")
def import_requirements_cmd(
    sheet_file: str, workspace: str | None, out: str | None, sheet: str | None, strategy: str | None
) -> None:
    """Write catalog YAML from a requirement matrix; a second import updates it in place.

    Columns (any order, any case): id, process, step, role, text, kind, priority, weight,
    success. Every bad cell is reported, located, and nothing is written.
    """
    from crmproof import importer
    from crmproof.errors import CrmproofError

    ws = _workspace(workspace)
    suite = workspaces.load(ws)
    folder = suite.evaluation.model.requirements if suite.evaluation else "requirements"
    target = Path(out) if out else ws / folder / "imported.yaml"
    try:
        result = importer.import_requirements(Path(sheet_file), suite, target, sheet, strategy)
    except importer.SheetErrors as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        click.echo(f"{len(exc.problems)} error(s): nothing was written", err=True)
        sys.exit(1)
    except CrmproofError as exc:
        raise click.ClickException(str(exc)) from None
    for line in result.summary():
        click.echo(line)


@main.command("export")
@click.argument("run", required=False)
@click.option("--workspace", "-w", default=None)
@click.option("--reports", default=None, help="Folder of run folders (default: reports/).")
@click.option(
    "--xlsx",
    "xlsx",
    required=True,
    type=click.Path(dir_okay=False),
    help="Write the scorecard as an Excel workbook to this file.",
)
def export_cmd(run: str | None, workspace: str | None, reports: str | None, xlsx: str) -> None:
    """Export RUN's scorecard (default: the latest), as its last report judged it."""
    from crmproof import decide, export_xlsx
    from crmproof.errors import UserInputError
    from crmproof.results import read_events
    from crmproof.scoring import score

    ws = _workspace(workspace)
    folder = _run_folder(ws, run, reports)
    try:
        card = decide.judge_folder(score(read_events(folder / "results.jsonl")), folder)
    except (ValueError, UserInputError) as exc:
        raise click.ClickException(f"{folder}: {exc}") from None
    try:
        out = export_xlsx.write(card, folder, Path(xlsx).resolve(), responses=ws)
    except OSError as exc:
        raise click.ClickException(f"cannot write {xlsx}: {exc.strerror}") from None
    click.echo(f"wrote {workspaces.display_path(out)}", err=True)


@main.group("adapter")
def adapter_group() -> None:
    """Adapters: serve one over the protocol, or check one for conformance."""


@adapter_group.command("serve")
@click.argument("name")
@click.option("--workspace", "-w", default=None)
def adapter_serve(name: str, workspace: str | None) -> None:
    """Speak the adapter protocol on stdin/stdout for the in-process adapter NAME."""
    from crmproof import discovery
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
    from crmproof import discovery

    package = discovery.load(vendor, workspaces.adapters_dir(ws))
    if package.sandbox is None:
        raise UserInputError(f"adapter '{vendor}' has no local sandbox")
    return package.sandbox


@sandbox_group.command("up")
@click.argument("vendors", nargs=-1, required=True)
@click.option("--workspace", "-w", default=None, help="Workspace folder (default: .).")
def sandbox_up(vendors: tuple[str, ...], workspace: str | None) -> None:
    """Provision (once) and start VENDORS' sandboxes."""
    from crmproof import sandbox

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
    from crmproof import sandbox

    ws = _workspace(workspace)
    for vendor in vendors:
        stopped = sandbox.down(_sandbox_for(vendor, ws))
        click.echo(f"{vendor}\t{'stopped' if stopped else 'was not running'}")


@sandbox_group.command("status")
@click.argument("vendors", nargs=-1)
@click.option("--workspace", "-w", default=None)
def sandbox_status(vendors: tuple[str, ...], workspace: str | None) -> None:
    """Show whether each sandbox is running, and where."""
    from crmproof import discovery, sandbox

    ws = _workspace(workspace)
    names = vendors or tuple(discovery.available(workspaces.adapters_dir(ws)))
    for vendor in names:
        st = sandbox.status(sandbox.SandboxHome(vendor))
        where = st.get("url", "-") if st["running"] else "-"
        click.echo(f"{vendor}\t{'running' if st['running'] else 'stopped'}\t{where}")


@main.command("init")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option(
    "--from",
    "source",
    default=None,
    type=click.Path(file_okay=False, exists=True),
    help="Copy this workspace (e.g. examples/starter) instead of the starter templates.",
)
@click.option("--name", default=None, help="The evaluation's name in crmproof.yaml.")
def init_cmd(folder: str, source: str | None, name: str | None) -> None:
    """Start a workspace in FOLDER (new or empty) that validates and runs as written."""
    from crmproof import scaffold
    from crmproof.errors import CrmproofError

    try:
        if source:
            written = scaffold.copy_workspace(Path(source), Path(folder))
        else:
            written = scaffold.init_workspace(Path(folder), name)
    except CrmproofError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{folder}: {len(written)} files written", err=True)
    click.echo(
        f"next: cd {folder} && crmproof validate && crmproof sandbox up tryton && crmproof run",
        err=True,
    )


if __name__ == "__main__":
    main()
