"""A run: plan -> one worker per vendor -> results.jsonl -> scorecard.

Each vendor gets its own thread, its own adapter instance and its own scenarios in order;
vendors never wait for each other, and one vendor breaking (it will not start, its adapter
cannot be imported, its server dies) turns its scenarios into errors without touching the
others. The runner only knows adapters through `crmproof.discovery` and the protocol.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmproof import discovery, fingerprints
from crmproof.adapter import Adapter
from crmproof.credentials import MissingCredential, resolve_settings
from crmproof.ctrf import ci_run_id
from crmproof.errors import ResumeError
from crmproof.events import (
    FORMAT,
    Claim,
    CleanupDone,
    LeftoversFound,
    ResultEvent,
    Resumed,
    RunEnded,
    RunInterrupted,
    RunStarted,
    ScenarioDone,
    ScenarioInfo,
    StepDone,
    SuiteSnapshot,
    VendorReady,
)
from crmproof.execute import Emit, ScenarioRun
from crmproof.external import ExternalAdapter
from crmproof.gcpause import frozen_heap
from crmproof.interrupt import Interrupted, abandon_scenario, terminate_as_interrupt, wait_for
from crmproof.models import Evaluation
from crmproof.plan import Job
from crmproof.protocol import RecordRef
from crmproof.redaction import redact_file
from crmproof.results import ResultsWriter, read_events
from crmproof.slots import Slots
from crmproof.workspace import Suite

Progress = Callable[[ResultEvent], None]


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def suite_digest(suite: Suite) -> str:
    """SHA-256 over every spec file of the suite, in a stable order."""
    digest = hashlib.sha256()
    docs = [c.doc for c in suite.catalogs] + suite.scenario_docs
    if suite.evaluation:
        docs.append(suite.evaluation.doc)
    for path in sorted({d.path for d in docs}):
        digest.update(path.encode() + b"\0" + Path(path).read_bytes() + b"\0")
    return digest.hexdigest()


def suite_snapshot(suite: Suite) -> SuiteSnapshot:
    """What scoring needs to know of the suite, so a run folder stands on its own."""
    catalog = suite.catalog
    return SuiteSnapshot(
        strategies=catalog.strategies,
        roles=catalog.roles,
        processes=catalog.processes,
        requirements=catalog.requirements,
        scenarios=[
            ScenarioInfo(
                id=s.model.id,
                title=s.model.title,
                covers=s.model.covers,
                tags=s.model.tags,
                file=s.doc.path,
            )
            for s in suite.scenarios
        ],
    )


@dataclass
class Run:
    suite: Suite
    jobs: list[Job]
    reports: Path
    run_id: str = field(default_factory=new_run_id)
    progress: Progress | None = None
    # Set by `resume`: records a killed run created and did not clean up, per vendor.
    orphans: dict[str, list[RecordRef]] | None = None
    # Scenarios of one vendor at once (--workers); None: as crmproof.yaml says.
    workers: int | None = None
    retries: int | None = None  # `--retries`: instead of crmproof.yaml's run.retries
    # none | failures | all: which scenarios keep their evidence (HAR files, traces)
    evidence: str = "failures"
    # Set on Ctrl-C: every worker stops at its next step boundary and cleans up
    stop: threading.Event = field(default_factory=threading.Event)
    interrupted: bool = False
    # 0 for a run, n for its n-th resume: see `marker`.
    attempt: int = 0
    # Told (vendor, scenario id) when a worker picks a scenario up: for a live display.
    on_scenario: Callable[[str, str], None] | None = None
    _budget: Slots = field(init=False, repr=False)
    _emit: Emit | None = field(default=None, init=False, repr=False)

    @classmethod
    def resume(
        cls, suite: Suite, reports: Path, run_id: str, progress: Progress | None = None
    ) -> Run:
        """The unfinished part of a killed run: its remaining jobs and its orphans."""
        folder = (reports / run_id).resolve()  # `latest` names the newest run
        path = folder / "results.jsonl"
        if not path.exists():
            raise ResumeError(f"no run {run_id} in {reports}")
        run_id = folder.name
        first: RunStarted | None = None
        resumes = 0
        done: set[tuple[str, str]] = set()
        cleaned: set[tuple[str, str, str]] = set()
        created: list[tuple[str, str, RecordRef]] = []  # (vendor, scenario, record)
        for event in read_events(path):
            if isinstance(event, RunStarted):
                first = event
            elif isinstance(event, Resumed):
                resumes += 1
            elif isinstance(event, RunEnded):
                raise ResumeError(f"run {run_id} already finished: nothing to resume")
            elif isinstance(event, ScenarioDone):
                done.add((event.vendor, event.scenario))
            elif isinstance(event, CleanupDone) and event.status == "ok":
                cleaned.add((event.vendor, event.entity, event.id))
            elif isinstance(event, StepDone):
                created += [(event.vendor, event.scenario, ref) for ref in event.created]
                if event.attempt:  # a re-run began: until it ends, the scenario is unfinished
                    done.discard((event.vendor, event.scenario))
        if first is None:
            raise ResumeError(f"{path} has no run event: it cannot be resumed")
        by_id = {s.model.id: s for s in suite.scenarios}
        gone = sorted({sid for _, sid in first.plan if sid not in by_id})
        if gone:
            raise ResumeError(f"scenario(s) {', '.join(gone)} of run {run_id} no longer exist")
        jobs = [Job(v, by_id[sid]) for v, sid in first.plan if (v, sid) not in done]
        orphans: dict[str, list[RecordRef]] = {}
        for vendor, scenario, ref in created:
            if (vendor, scenario) not in done and (vendor, ref.entity, ref.id) not in cleaned:
                orphans.setdefault(vendor, []).append(ref)
        run = cls(suite, jobs, reports, run_id, progress, orphans)
        run.attempt = resumes + 1
        return run

    @property
    def folder(self) -> Path:
        return self.reports / self.run_id

    def execute(self) -> Path:
        with frozen_heap():
            return self._execute()

    def _execute(self) -> Path:
        assert self.suite.evaluation is not None
        evaluation = self.suite.evaluation.model
        self.folder.mkdir(parents=True, exist_ok=True)
        _point_latest(self.reports, self.run_id)
        resolved: dict[str, tuple[dict[str, Any] | None, str | None]] = {}
        all_secrets: set[str] = set()
        for name in {*(j.vendor for j in self.jobs), *(self.orphans or {})}:
            try:
                settings, found = resolve_settings(evaluation.vendors[name].settings)
                resolved[name] = (settings, None)
                all_secrets |= found
            except MissingCredential as exc:
                resolved[name] = (None, str(exc))
        vendors = {*(j.vendor for j in self.jobs), *(self.orphans or {})}
        self._budget = Slots(evaluation.run.max_workers or max(len(vendors), os.cpu_count() or 1))
        writer = ResultsWriter(self.folder / "results.jsonl", all_secrets)
        try:
            if self.orphans is not None:
                writer.emit(
                    Resumed(
                        run_id=self.run_id,
                        remaining=len(self.jobs),
                        orphans=sum(len(r) for r in self.orphans.values()),
                    )
                )
            else:
                self._emit_start(writer, evaluation)
            emit = self._emit = self._emitter(writer)
            threads = []
            orphans = self.orphans or {}
            for vendor in dict.fromkeys([*(j.vendor for j in self.jobs), *orphans]):
                jobs = [j for j in self.jobs if j.vendor == vendor]
                vendor_settings, problem = resolved[vendor]
                thread = threading.Thread(
                    target=self._vendor_worker,
                    name=f"vendor-{vendor}",
                    args=(vendor, jobs, vendor_settings, problem, emit, orphans.get(vendor, [])),
                    daemon=True,
                )
                threads.append(thread)
                thread.start()
            try:
                with terminate_as_interrupt():
                    wait_for(threads)
            except KeyboardInterrupt:  # Ctrl-C or SIGTERM: see crmproof.interrupt
                self.interrupt()
                wait_for(threads)  # a second Ctrl-C stops at once, records left to --resume
            if not self.interrupted:
                writer.emit(RunEnded(run_id=self.run_id))
        finally:
            writer.close()
        _drop_unreferenced_evidence(self.folder)
        return self.folder

    @property
    def marker(self) -> str:
        """What `${run.id}` reads in the scenarios: the run id, and on a resume the run id
        and the attempt. A stopped scenario runs again from its first step, and a record it
        made the first time may still be there, kept by the vendor's rules (a deactivated
        account whose name must be unique); a new name keeps the two apart. The run id is
        still part of every name, so the leftovers check finds both."""
        return self.run_id if not self.attempt else f"{self.run_id}-r{self.attempt}"

    def interrupt(self) -> None:
        """Stop the run cleanly (Ctrl-C): every worker stops at its next step boundary and
        deletes what its scenario created; the run ends without `end`, so it can resume."""
        if self.stop.is_set():
            return
        self.stop.set()
        self.interrupted = True
        if self._emit is not None:
            self._emit(RunInterrupted(run_id=self.run_id))

    def _emit_start(self, writer: ResultsWriter, evaluation: Evaluation) -> None:
        writer.emit(
            RunStarted(
                format=FORMAT,
                run_id=self.run_id,
                evaluation=evaluation.name,
                scoring=evaluation.scoring.model_dump(),
                suite_sha256=suite_digest(self.suite),
                vendors={
                    n: evaluation.vendors[n].label
                    for n in dict.fromkeys(j.vendor for j in self.jobs)
                },
                plan=[(j.vendor, j.scenario.model.id) for j in self.jobs],
                products={
                    n: v.product for n, v in evaluation.vendors.items() if v.product is not None
                },
                suite=suite_snapshot(self.suite),
                fingerprints=fingerprints.of_suite(self.suite),
                claims=self._claims(),
                ci_run_id=ci_run_id(),
            )
        )

    def _claims(self) -> dict[str, dict[str, Claim]]:
        """Each vendor's claims as its response file stands now, so the run keeps them.

        A vendor claims what its product does, whatever the channel: an entry without a
        response file of its own (`tryton-web`) is held to its product's (`tryton`).
        """
        from crmproof.responses import load_responses

        found = load_responses(self.suite.root)
        entries = self.suite.evaluation.model.vendors  # type: ignore[union-attr]
        out: dict[str, dict[str, Claim]] = {}
        for vendor in sorted({j.vendor for j in self.jobs}):
            product = entries[vendor].product if vendor in entries else None
            loaded = found.by_vendor.get(vendor) or found.by_vendor.get(product or vendor)
            if loaded is not None:
                out[vendor] = {
                    rid: Claim(fit=claim.fit, note=claim.note)
                    for rid, claim in loaded.model.responses.items()
                }
        return out

    def _emitter(self, writer: ResultsWriter) -> Emit:
        def emit(event: ResultEvent) -> None:
            evidence = getattr(event, "evidence", None) or []
            for item in evidence:  # scrubbed before it is referenced
                redact_file(self.folder / item.path, writer.secrets)
            written = writer.emit(event)
            if self.progress:
                self.progress(written)
            if isinstance(event, StepDone) and self.stop.is_set():
                raise Interrupted(event.scenario)

        return emit

    def _vendor_worker(
        self,
        vendor: str,
        jobs: list[Job],
        settings: dict[str, Any] | None,
        problem: str | None,
        emit: Emit,
        orphans: list[RecordRef],
    ) -> None:
        evaluation = self.suite.evaluation.model  # type: ignore[union-attr]
        config = evaluation.vendors[vendor]
        adapter_name = config.label
        adapter: Adapter | None = None
        try:
            if problem:
                raise RuntimeError(problem)
            adapter = new_adapter(self.suite, vendor)
            adapter.run_id = self.run_id
            evidence = self.folder / "evidence" / vendor
            evidence.mkdir(parents=True, exist_ok=True)
            adapter.evidence_dir = str(evidence)
            adapter.evidence_policy = self.evidence
            hello = adapter.hello()
            vendor_version = adapter.open(self._open_settings(settings))
            capabilities = adapter.declared()  # after open: settings may add actors
        except Exception as exc:
            emit(
                VendorReady(
                    vendor=vendor,
                    adapter=adapter_name,
                    status="error",
                    message=problem or f"{type(exc).__name__}: {exc}",
                )
            )
            for job in jobs:
                _scenario_error(emit, job, f"vendor unavailable: {problem or exc}")
            if adapter is not None:
                with contextlib.suppress(Exception):
                    adapter.close()
            return
        emit(
            VendorReady(
                vendor=vendor,
                adapter=adapter_name,
                status="ready",
                adapter_version=hello.version,
                vendor_version=vendor_version,
                channel=hello.channel,
                capabilities=capabilities.model_dump(),
            )
        )
        try:
            if self.orphans is not None:
                ScenarioRun(adapter, capabilities, vendor, self.run_id, emit).cleanup(
                    "(resumed run)", self._all_orphans(adapter, orphans, vendor)
                )
            queue: list[Job] = list(jobs)
            lock = threading.Lock()
            retries = evaluation.run.retries if self.retries is None else self.retries

            def work(mine: Adapter) -> None:
                runner = ScenarioRun(
                    mine,
                    capabilities,
                    vendor,
                    self._own_names(vendor) + self.marker,
                    emit,
                    scenario_timeout=evaluation.run.scenario_timeout,
                    transient_attempts=evaluation.vendors[vendor].transient.attempts,
                    backoff=evaluation.vendors[vendor].transient.backoff,
                )
                while True:
                    with lock:
                        if not queue or self.stop.is_set():
                            return
                        job = queue.pop(0)
                    with self._budget:
                        if self.stop.is_set():  # stopped while this worker waited: not begun
                            return
                        if self.on_scenario:
                            self.on_scenario(vendor, job.scenario.model.id)
                        try:
                            _run_with_retries(runner, job, retries)
                        except Interrupted:
                            abandon_scenario(runner, mine, job.scenario.model.id, self.folder)
                            return
                        except Exception as exc:  # a bug of ours must not lose the others
                            _scenario_error(
                                emit, job, f"crmproof error: {type(exc).__name__}: {exc}"
                            )

            def extra_worker() -> None:
                """Another worker: its own adapter, opened, used and closed in its thread
                (a browser library binds its objects to the thread that made them)."""
                mine = new_adapter(self.suite, vendor)
                mine.run_id, mine.evidence_dir = self.run_id, adapter.evidence_dir
                mine.evidence_policy = self.evidence
                try:
                    mine.open(self._open_settings(settings))
                    work(mine)
                except Exception:  # the first worker still takes every scenario left
                    return
                finally:
                    with contextlib.suppress(Exception):
                        mine.close()

            wanted = min(self._workers(vendor, adapter), len(jobs))
            extras = [threading.Thread(target=extra_worker, daemon=True) for _ in range(wanted - 1)]
            for thread in extras:
                thread.start()
            work(adapter)  # this thread opened it, so this thread uses it
            for thread in extras:
                thread.join()
            self._check_leftovers(adapter, vendor, emit)
        finally:
            with contextlib.suppress(Exception):
                adapter.close()

    def _open_settings(self, settings: dict[str, Any] | None) -> dict[str, Any]:
        """`open_settings`, with the run's evidence policy: `--evidence all` traces every
        browser scenario, `none` traces none, `failures` leaves the configured policy."""
        evaluation = self.suite.evaluation.model  # type: ignore[union-attr]
        opened = open_settings(evaluation, settings or {})
        trace = {"all": "always", "none": "never"}.get(self.evidence, opened["trace"])
        return {**opened, "trace": trace, "evidence": self.evidence}

    def _workers(self, vendor: str, adapter: Adapter) -> int:
        """How many scenarios of a vendor run at once: asked for, and safe for its adapter."""
        evaluation = self.suite.evaluation.model  # type: ignore[union-attr]
        asked = self.workers or evaluation.vendors[vendor].workers or evaluation.run.workers
        return max(1, min(asked, adapter.max_workers))

    def _own_names(self, vendor: str) -> str:
        """`<vendor>-` before the run id in the names a vendor's scenarios make, when
        another entry evaluates the same product (its API and its web UI share one
        server): each entry then cleans up and checks only its own records.
        `tryton-web-<run>` does not contain `tryton-<run>`, nor the other way round."""
        evaluation = self.suite.evaluation.model  # type: ignore[union-attr]
        product = evaluation.vendors[vendor].product
        sharing = [v for v in evaluation.vendors.values() if product and v.product == product]
        return f"{vendor}-" if len(sharing) > 1 else ""

    def _all_orphans(
        self, adapter: Adapter, recorded: list[RecordRef], vendor: str
    ) -> list[RecordRef]:
        """What the killed run left: recorded creations, plus what the vendor still holds.

        A run killed after the vendor created a record but before the step event was on
        disk never learned its id; every record carries the run id, so the adapter's
        leftovers hook finds it. The records come back in cleanup order (newest first).
        """
        try:
            found = adapter.leftovers(self._own_names(vendor) + self.run_id) or []
        except Exception:
            found = []
        known = {(r.entity, r.id) for r in recorded}
        unknown = [r for r in found if not r.kept and (r.entity, r.id) not in known]
        return [*recorded, *unknown]  # cleanup walks it backwards: the unknown ones first

    def _check_leftovers(self, adapter: Adapter, vendor: str, emit: Emit) -> None:
        """Ask the vendor for anything carrying this run's id: cleanup, verified."""
        try:
            left = adapter.leftovers(self._own_names(vendor) + self.run_id)
        except Exception as exc:
            emit(
                LeftoversFound(vendor=vendor, checked=False, message=f"{type(exc).__name__}: {exc}")
            )
            return
        emit(LeftoversFound(vendor=vendor, checked=left is not None, records=left or []))


def new_adapter(suite: Suite, vendor: str) -> Adapter:
    """The adapter of a vendor of crmproof.yaml: in process by name, or its program."""
    assert suite.evaluation is not None
    evaluation = suite.evaluation.model
    config = evaluation.vendors[vendor]
    if config.command:
        return ExternalAdapter(config.command, cwd=suite.root, timeout=evaluation.run.step_timeout)
    assert config.adapter is not None
    return discovery.load(config.adapter, suite.adapters_dir).adapter()


def open_settings(evaluation: Evaluation, settings: dict[str, Any]) -> dict[str, Any]:
    """What `open` receives: the vendor's resolved settings and the run policy."""
    return {**settings, "trace": evaluation.run.trace, "timeout": evaluation.run.step_timeout}


# What a re-run may change: the vendor or the harness did not get through this time.
# The gaps (not offered, not shown, untested) are declared, so a re-run cannot change them.
RETRIED = ("failed", "error")


def _run_with_retries(runner: ScenarioRun, job: Job, retries: int) -> None:
    """Playwright's model: a scenario that did not pass is re-run, traced (`on-first-retry`);
    one that then passes ends flaky (execute.ScenarioRun.run), so a pass that needed a
    second chance is shown for what it is and never scored met."""
    status = runner.run(job.scenario)
    for attempt in range(2, retries + 2):
        if status not in RETRIED:
            return
        runner.adapter.trace_next_scenario()
        status = runner.run(job.scenario, attempt=attempt)


def _scenario_error(emit: Emit, job: Job, message: str) -> None:
    """A scenario that could not run at all: an error, never a verdict on the product."""
    emit(
        ScenarioDone(
            vendor=job.vendor,
            scenario=job.scenario.model.id,
            status="error",
            message=message,
            covers=job.scenario.model.covers,
            tags=job.scenario.model.tags,
        )
    )


def _drop_unreferenced_evidence(folder: Path) -> None:
    """Remove evidence files no event references (a trace an adapter kept of its own
    housekeeping, a stopped scenario's HAR): the runner scrubs only what is referenced,
    so nothing else may stay in the run folder."""
    evidence = folder / "evidence"
    if not evidence.is_dir():
        return
    referenced = {
        item.path
        for event in read_events(folder / "results.jsonl")
        for item in getattr(event, "evidence", None) or []
    }
    for path in evidence.rglob("*"):
        if path.is_file() and path.relative_to(folder).as_posix() not in referenced:
            path.unlink()


def _point_latest(reports: Path, run_id: str) -> None:
    """reports/latest -> the newest run folder, replaced atomically."""
    link = reports / "latest"
    tmp = reports / f".latest-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(run_id, tmp)
    os.replace(tmp, link)
