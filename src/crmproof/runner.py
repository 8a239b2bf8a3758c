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
from crmproof.credentials import MissingCredential, resolve_settings
from crmproof.execute import ScenarioRun
from crmproof.external import ExternalAdapter
from crmproof.plan import Job
from crmproof.protocol import RecordRef
from crmproof.redaction import redact_file
from crmproof.results import ResultsWriter, read_events
from crmproof.workspace import Suite

Progress = Callable[[dict[str, Any]], None]


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


def suite_snapshot(suite: Suite) -> dict[str, Any]:
    """What scoring needs to know of the suite, so a run folder stands on its own."""
    catalog = suite.catalog
    return {
        "strategies": [s.model_dump() for s in catalog.strategies],
        "roles": [r.model_dump() for r in catalog.roles],
        "processes": [p.model_dump() for p in catalog.processes],
        "requirements": [r.model_dump() for r in catalog.requirements],
        "scenarios": [
            {
                "id": s.model.id,
                "title": s.model.title,
                "covers": s.model.covers,
                "tags": s.model.tags,
                "file": s.doc.path,
            }
            for s in suite.scenarios
        ],
    }


@dataclass
class Run:
    suite: Suite
    jobs: list[Job]
    reports: Path
    run_id: str = field(default_factory=new_run_id)
    progress: Progress | None = None
    # Set by `resume`: records a killed run created and did not clean up, per vendor.
    orphans: dict[str, list[RecordRef]] | None = None

    @classmethod
    def resume(
        cls, suite: Suite, reports: Path, run_id: str, progress: Progress | None = None
    ) -> Run:
        """The unfinished part of a killed run: its remaining jobs and its orphans."""
        folder = (reports / run_id).resolve()  # `latest` names the newest run
        path = folder / "results.jsonl"
        if not path.exists():
            raise ValueError(f"no run {run_id} in {reports}")
        run_id = folder.name
        events = list(read_events(path))
        first = next((e for e in events if e["event"] == "run"), None)
        if first is None:
            raise ValueError(f"{path} has no run event: it cannot be resumed")
        if any(e["event"] == "end" for e in events):
            raise ValueError(f"run {run_id} already finished: nothing to resume")
        by_id = {s.model.id: s for s in suite.scenarios}
        gone = sorted({sid for _, sid in first["plan"] if sid not in by_id})
        if gone:
            raise ValueError(f"scenario(s) {', '.join(gone)} of run {run_id} no longer exist")
        done = {(e["vendor"], e["scenario"]) for e in events if e["event"] == "scenario"}
        jobs = [Job(v, by_id[sid]) for v, sid in first["plan"] if (v, sid) not in done]
        cleaned = {
            (e["vendor"], e["entity"], e["id"])
            for e in events
            if e["event"] == "cleanup" and e["status"] == "ok"
        }
        orphans: dict[str, list[RecordRef]] = {}
        for e in events:
            if e["event"] == "step" and (e["vendor"], e["scenario"]) not in done:
                for ref in e.get("created") or []:
                    if (e["vendor"], ref["entity"], ref["id"]) not in cleaned:
                        orphans.setdefault(e["vendor"], []).append(RecordRef(**ref))
        return cls(suite, jobs, reports, run_id, progress, orphans)

    @property
    def folder(self) -> Path:
        return self.reports / self.run_id

    def execute(self) -> Path:
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
        writer = ResultsWriter(self.folder / "results.jsonl", all_secrets)
        try:
            if self.orphans is not None:
                writer.emit(
                    "resume",
                    run_id=self.run_id,
                    remaining=len(self.jobs),
                    orphans=sum(len(r) for r in self.orphans.values()),
                )
            else:
                self._emit_start(writer, evaluation)
            emit = self._emitter(writer)
            threads = []
            orphans = self.orphans or {}
            for vendor in dict.fromkeys([*(j.vendor for j in self.jobs), *orphans]):
                jobs = [j for j in self.jobs if j.vendor == vendor]
                settings, problem = resolved[vendor]
                thread = threading.Thread(
                    target=self._vendor_worker,
                    name=f"vendor-{vendor}",
                    args=(vendor, jobs, settings, problem, emit, orphans.get(vendor, [])),
                    daemon=True,
                )
                threads.append(thread)
                thread.start()
            for thread in threads:
                thread.join()
            writer.emit("end", run_id=self.run_id)
        finally:
            writer.close()
        return self.folder

    def _emit_start(self, writer: ResultsWriter, evaluation: Any) -> None:
        writer.emit(
            "run",
            run_id=self.run_id,
            evaluation=evaluation.name,
            scoring=evaluation.scoring.model_dump(),
            suite_sha256=suite_digest(self.suite),
            vendors={
                n: evaluation.vendors[n].label for n in dict.fromkeys(j.vendor for j in self.jobs)
            },
            plan=[[j.vendor, j.scenario.model.id] for j in self.jobs],
            suite=suite_snapshot(self.suite),
            fingerprints=fingerprints.of_suite(self.suite),
        )

    def _emitter(self, writer: ResultsWriter) -> Callable[..., None]:
        def emit(event: str, **fields: Any) -> None:
            for item in fields.get("evidence") or []:  # scrubbed before it is referenced
                redact_file(self.folder / item["path"], writer.secrets)
            record = writer.emit(event, **fields)
            if self.progress:
                self.progress(record)

        return emit

    def _vendor_worker(
        self,
        vendor: str,
        jobs: list[Job],
        settings: dict[str, Any] | None,
        problem: str | None,
        emit: Callable[..., None],
        orphans: list[RecordRef],
    ) -> None:
        evaluation = self.suite.evaluation.model  # type: ignore[union-attr]
        config = evaluation.vendors[vendor]
        adapter_name = config.label
        adapter = None
        try:
            if problem:
                raise RuntimeError(problem)
            if config.command:
                adapter = ExternalAdapter(
                    config.command, cwd=self.suite.root, timeout=evaluation.run.step_timeout
                )
            else:
                assert config.adapter is not None
                adapter = discovery.load(config.adapter, self.suite.adapters_dir).adapter()
            adapter.run_id = self.run_id
            evidence = self.folder / "evidence" / vendor
            evidence.mkdir(parents=True, exist_ok=True)
            adapter.evidence_dir = str(evidence)
            hello = adapter.hello()
            vendor_version = adapter.open(
                {
                    **(settings or {}),
                    "trace": evaluation.run.trace,
                    "timeout": evaluation.run.step_timeout,
                }
            )
            capabilities = adapter.capabilities()  # after open: settings may add actors
        except Exception as exc:
            emit(
                "vendor",
                vendor=vendor,
                adapter=adapter_name,
                status="error",
                message=problem or f"{type(exc).__name__}: {exc}",
            )
            for job in jobs:
                _scenario_error(emit, job, f"vendor unavailable: {problem or exc}")
            if adapter is not None:
                with contextlib.suppress(Exception):
                    adapter.close()
            return
        emit(
            "vendor",
            vendor=vendor,
            adapter=adapter_name,
            status="ready",
            adapter_version=hello.version,
            vendor_version=vendor_version,
            channel=hello.channel,
            capabilities=capabilities.model_dump(),
        )
        runner = ScenarioRun(
            adapter,
            capabilities,
            vendor,
            self.run_id,
            emit,
            scenario_timeout=evaluation.run.scenario_timeout,
        )
        try:
            if self.orphans is not None:
                runner.cleanup("(resumed run)", self._all_orphans(adapter, orphans))
            for job in jobs:
                try:
                    runner.run(job.scenario)
                except Exception as exc:  # a bug of ours must not lose the other scenarios
                    _scenario_error(emit, job, f"crmproof error: {type(exc).__name__}: {exc}")
            self._check_leftovers(adapter, vendor, emit)
        finally:
            with contextlib.suppress(Exception):
                adapter.close()

    def _all_orphans(self, adapter: Any, recorded: list[RecordRef]) -> list[RecordRef]:
        """What the killed run left: recorded creations, plus what the vendor still holds.

        A run killed after the vendor created a record but before the step event was on
        disk never learned its id; every record carries the run id, so the adapter's
        leftovers hook finds it. The records come back in cleanup order (newest first).
        """
        try:
            found = adapter.leftovers(self.run_id) or []
        except Exception:
            found = []
        known = {(r.entity, r.id) for r in recorded}
        unknown = [r for r in found if not r.kept and (r.entity, r.id) not in known]
        return [*recorded, *unknown]  # cleanup walks it backwards: the unknown ones first

    def _check_leftovers(self, adapter: Any, vendor: str, emit: Callable[..., None]) -> None:
        """Ask the vendor for anything carrying this run's id: cleanup, verified."""
        try:
            left = adapter.leftovers(self.run_id)
        except Exception as exc:
            emit(
                "leftovers",
                vendor=vendor,
                checked=False,
                records=[],
                message=f"{type(exc).__name__}: {exc}",
            )
            return
        emit(
            "leftovers",
            vendor=vendor,
            checked=left is not None,
            records=[r.model_dump() for r in left or []],
        )


def _scenario_error(emit: Callable[..., None], job: Job, message: str) -> None:
    """A scenario that could not run at all: an error, never a verdict on the product."""
    emit(
        "scenario",
        vendor=job.vendor,
        scenario=job.scenario.model.id,
        status="error",
        message=message,
        covers=job.scenario.model.covers,
        tags=job.scenario.model.tags,
        duration_ms=0,
        effort=None,
        evidence=[],
    )


def _point_latest(reports: Path, run_id: str) -> None:
    """reports/latest -> the newest run folder, replaced atomically."""
    link = reports / "latest"
    tmp = reports / f".latest-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(run_id, tmp)
    os.replace(tmp, link)
