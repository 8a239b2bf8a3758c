"""Scenarios and vendors as pytest items, loaded by crmproof.pytest_plugin on `--crmproof`.

Every scenario and vendor is one item,
`scenarios/o2c/invoice-total.yaml::O2C-INVOICE-TOTAL[tryton]`; its tags are markers.

Each item is a run of one job through the same `Run` that `crmproof run` uses, into a part
folder of one shared run (one run id, so every record in the vendor carries it and the
leftovers check finds it). Under xdist the controller makes the run id and hands it to
its workers; when the session ends, the controller (or the only process) merges the parts
with `crmproof.merge` into one run folder and writes the scorecard, every report, the
manifest and the attestation exactly as `crmproof run` does.

What a scenario's status becomes in pytest: passed passes; failed fails with the YAML line,
expected vs actual and the evidence paths; not offered (the product lacks it, as its
adapter declares) is an xfail; not shown and untested (nothing was proven either way) are
skips; an error (the vendor or the harness broke: the requirement reads untested) fails,
so a CI job never goes green on a vendor that was down.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from crmproof import attest, keys, merge
from crmproof import workspace as workspaces
from crmproof.errors import CrmproofError
from crmproof.events import ScenarioDone, StepDone
from crmproof.plan import Filters, Job, make_plan
from crmproof.results import read_events
from crmproof.runner import Run, _point_latest, new_run_id, suite_digest

RUN_ID_KEY = "crmproof_run_id"
PARTS = ".parts"


class ScenarioFailed(Exception):
    """A scenario that did not pass: its events, for a report without a traceback."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class CrmproofSession:
    """Everything the plugin does once `--crmproof` is given."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.root = Path(config.getoption("crmproof")).resolve()
        self.suite = workspaces.load(self.root)
        from crmproof import validate

        validate.check(self.suite)
        if self.suite.errors:
            lines = "\n".join(str(d) for d in sorted(set(self.suite.errors)))
            raise pytest.UsageError(f"crmproof workspace {self.root} has errors:\n{lines}")
        try:
            self.jobs = make_plan(
                self.suite, Filters(vendors=tuple(config.getoption("crmproof_vendor")))
            )
        except CrmproofError as exc:
            raise pytest.UsageError(str(exc)) from None
        assert self.suite.evaluation is not None
        evaluation = self.suite.evaluation.model
        # read before anything runs, as `crmproof run` does
        self.inputs = attest.workspace_inputs(
            self.root, evaluation.requirements, evaluation.scenarios
        )
        reports = config.getoption("crmproof_reports")
        self.reports = Path(reports).resolve() if reports else self.root / "reports"
        workerinput = getattr(config, "workerinput", None)
        self.worker: str | None = workerinput.get("workerid") if workerinput else None
        self.run_id: str = workerinput[RUN_ID_KEY] if workerinput else new_run_id()
        self.folder = self.reports / self.run_id
        self.items_run = 0
        self.interrupted = False
        self.card_line: str | None = None
        for tag in sorted({t for s in self.suite.scenarios for t in s.model.tags}):
            config.addinivalue_line("markers", f"{tag}: crmproof scenario tag")
        config.addinivalue_line("markers", "crmproof_vendor(name): the vendor an item runs on")

    # -- xdist: the controller hands its run id to every worker -----------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[RUN_ID_KEY] = self.run_id

    def _is_controller(self) -> bool:
        dist = getattr(self.config.option, "dist", "no")
        return dist != "no" and self.worker is None

    # -- collection -------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> bool | None:
        if self._is_controller():
            return None  # xdist's controller collects nothing; its workers do
        items: list[pytest.Item] = []
        files: dict[str, ScenarioFile] = {}
        for job in self.jobs:
            path = Path(job.scenario.doc.path).resolve()
            rel = path.relative_to(self.root).as_posix()
            if rel not in files:
                files[rel] = ScenarioFile.from_parent(session, path=path, nodeid=rel)
            item = ScenarioItem.from_parent(
                files[rel], name=f"{job.scenario.model.id}[{job.vendor}]", job=job, plugin=self
            )
            items.append(item)
        session.items = items
        session.testscollected = len(items)
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter._numcollected = len(items)  # its count comes from collect reports
        hook = self.config.hook
        hook.pytest_collection_modifyitems(session=session, config=self.config, items=items)
        hook.pytest_collection_finish(session=session)
        return True

    # -- one item: one job, as a part of the shared run ---------------------------------

    def run_job(self, job: Job) -> tuple[ScenarioDone, list[StepDone]]:
        self.items_run += 1
        part_base = self.folder / PARTS / f"{self.worker or 'main'}-{self.items_run}"
        run = Run(self.suite, [job], part_base, run_id=self.run_id)
        run.evidence = self.config.getoption("crmproof_evidence")
        part = run.execute()
        if run.interrupted:  # Ctrl-C: the scenario's records are gone; stop the session
            self.interrupted = True
            raise KeyboardInterrupt
        events = list(read_events(part / "results.jsonl"))
        found = [e for e in events if isinstance(e, ScenarioDone)]
        if not found:
            raise ScenarioFailed(f"{job.scenario.model.id}: the run recorded no result")
        result = found[-1]
        steps = [e for e in events if isinstance(e, StepDone) and e.scenario == result.scenario]
        return result, steps

    # -- the run folder, once every item has run ----------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.worker is not None:
            return
        found = (self.folder / PARTS).glob("*/*/results.jsonl")
        parts = sorted(
            (p.parent for p in found if not p.parent.is_symlink()),  # not a part's `latest`
            key=lambda p: next(read_events(p / "results.jsonl")).at,
        )
        if not parts:
            return
        order = [(j.vendor, j.scenario.model.id) for j in self.jobs]
        merge.merge(
            parts,
            self.folder,
            self.run_id,
            suite_digest(self.suite),
            one_run=True,
            order=order,
            finished=not self.interrupted,
        )
        shutil.rmtree(self.folder / PARTS, ignore_errors=True)
        _point_latest(self.reports, self.run_id)
        from crmproof.cli import write_reports

        write_reports(self.suite, self.folder, keys.signing_key(), self.inputs)
        self.card_line = f"crmproof run {self.run_id}: {workspaces.display_path(self.folder)}"

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.card_line:
            terminalreporter.write_sep("-", "crmproof")
            terminalreporter.write_line(self.card_line)


class ScenarioFile(pytest.File):
    """A scenario file; its items are made by the plugin's collection, not by this node."""

    def collect(self) -> list[pytest.Item]:
        return []


class ScenarioItem(pytest.Item):
    def __init__(self, *, job: Job, plugin: CrmproofSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job = job
        self.plugin = plugin
        for tag in job.scenario.model.tags:
            self.add_marker(tag)
        self.add_marker(pytest.mark.crmproof_vendor(job.vendor))

    def runtest(self) -> None:
        result, steps = self.plugin.run_job(self.job)
        status, message = result.status, result.message or ""
        if status == "passed":
            return
        if status == "not offered":
            pytest.xfail(f"not offered: {message}")
        if status in ("not shown", "untested"):
            pytest.skip(f"{status}: {message}")
        raise ScenarioFailed(self._explain(result, steps))

    def _explain(self, result: ScenarioDone, steps: list[StepDone]) -> str:
        path = workspaces.display_path(Path(self.job.scenario.doc.path))
        lines = []
        for step in steps:
            if step.status in ("passed", "skipped"):
                continue
            lines.append(
                f"{path}:{step.line}: step {step.index + 1} ({step.step}) "
                f"{step.status}: {step.message or ''}"
            )
            if step.expected is not None:
                lines.append(f"    expected: {step.expected}")
                lines.append(f"    actual:   {step.actual}")
        if not lines or result.status == "error":
            lines.append(f"{path}: {result.status}: {result.message or ''}")
        for item in result.evidence:
            shown = workspaces.display_path(self.plugin.folder / item.path)
            lines.append(f"    evidence ({item.kind}): {shown}")
        return "\n".join(lines)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            return excinfo.value.text
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        line = self.job.scenario.doc.where(("id",))[0]
        return self.path, line - 1, self.name
