"""ctrf.json: the run in the Common Test Report Format (https://ctrf.io), beside junit.xml.

CI dashboards, GitHub test reporters and merge tools read CTRF. One test per scenario and
vendor. JUnit has no place for "unsupported" (a claim about the product) as opposed to
"skipped", or for an error that says nothing about the product, so each test keeps
crmproof's own status in `rawStatus` and its requirements, evidence and failed step in
`extra`.

Shards of one evaluation (`crmproof run --shard i/n` on several CI machines) share one run
id: from `CRMPROOF_RUN_ID`, else from the CI's run (GitHub's run id and attempt), recorded
in the run event when the run starts (so a report rendered later says the same), else the
run's own id. Each shard's report carries it in `results.extra.runId`, so they group.
"""

from __future__ import annotations

import os
import platform
import time
import uuid
from pathlib import Path
from typing import Any

from crmproof.events import ResultEvent, RunStarted
from crmproof.results import read_events
from crmproof.scoring import Scorecard

SPEC_VERSION = "0.0.0"
STATUS = {
    "passed": "passed",
    "failed": "failed",
    "error": "other",
    "not offered": "skipped",
    "not shown": "skipped",
    "untested": "skipped",
    "skipped": "skipped",
}
CONTENT_TYPES = {".har": "application/json", ".zip": "application/zip", ".png": "image/png"}


def ci_run_id() -> str | None:
    """The id every shard of this CI evaluation shares, from the environment, if any."""
    explicit = os.environ.get("CRMPROOF_RUN_ID")
    if explicit:
        return explicit
    github = os.environ.get("GITHUB_RUN_ID")
    if github:
        return f"github-{github}-{os.environ.get('GITHUB_RUN_ATTEMPT', '1')}"
    return None


def _ms(seconds: float | None) -> int:
    return round((seconds or 0) * 1000)


def report(card: Scorecard, events: list[ResultEvent]) -> dict[str, Any]:
    """The CTRF document of a scored run (`events` are its results.jsonl)."""
    run = next(e for e in events if isinstance(e, RunStarted))
    files = {s.id: s for s in run.suite.scenarios}
    tests: list[dict[str, Any]] = []
    for vendor in card.vendors:
        planned = [sid for v, sid in run.plan if v == vendor.name]
        for sid in planned:
            result = vendor.scenarios.get(sid)
            spec = files.get(sid)
            test: dict[str, Any] = {
                "name": f"{sid}[{vendor.name}]",
                "status": STATUS.get(result.status, "other") if result else "pending",
                "duration": round(result.duration_ms) if result else 0,
                "rawStatus": result.status if result else "not run",
                "suite": [card.evaluation, vendor.name],
                "tags": list(spec.tags) if spec else [],
                "type": vendor.channel or "api",
            }
            if spec is not None:
                test["filePath"] = spec.file
            extra: dict[str, Any] = {"vendor": vendor.name, "covers": spec.covers if spec else []}
            if result:
                if result.message:
                    test["message"] = result.message
                step = result.failed_step
                if step is not None:
                    test["line"] = step.line
                    extra["failedStep"] = step.model_dump(
                        include={"index", "line", "step", "status", "expected", "actual"}
                    )
                if result.evidence:
                    test["attachments"] = [
                        {
                            "name": Path(e.path).name,
                            "contentType": CONTENT_TYPES.get(
                                Path(e.path).suffix, "application/octet-stream"
                            ),
                            "path": e.path,
                        }
                        for e in result.evidence
                    ]
                if result.effort:
                    extra["effort"] = result.effort
            test["extra"] = extra
            tests.append(test)
    counts = {k: sum(t["status"] == k for t in tests) for k in STATUS.values()}
    counts["pending"] = sum(t["status"] == "pending" for t in tests)
    start = _ms(card.started)
    stop = _ms(card.finished) if card.finished else max(start, _ms(time.time()))
    shared = run.ci_run_id or card.run_id
    return {
        "reportFormat": "CTRF",
        "specVersion": SPEC_VERSION,
        "reportId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"crmproof:{card.run_id}")),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stop / 1000)),
        "generatedBy": "crmproof",
        "results": {
            "tool": {"name": "crmproof", "version": _version()},
            "summary": {
                "tests": len(tests),
                "passed": counts["passed"],
                "failed": counts["failed"],
                "skipped": counts["skipped"],
                "pending": counts["pending"],
                "other": counts["other"],
                "suites": len(card.vendors),
                "start": start,
                "stop": stop,
                "duration": stop - start,
                "extra": {
                    "complete": card.complete,
                    "disqualified": [v.name for v in card.vendors if v.disqualified],
                    "scores": {v.name: v.score for v in card.vendors},
                    "ranking": card.ranking,
                },
            },
            "tests": tests,
            "environment": {
                "reportName": card.evaluation,
                "osPlatform": platform.system().lower(),
                "osRelease": platform.release(),
                "extra": {
                    "vendors": {
                        v.name: {"version": v.vendor_version, "adapter": v.adapter}
                        for v in card.vendors
                    }
                },
            },
            "extra": {
                "runId": shared,
                "crmproofRunId": card.run_id,
                "suiteSha256": card.suite_sha256,
                "shard": [v.name for v in card.vendors],
            },
        },
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("crmproof")
    except PackageNotFoundError:
        return "0"


def write(folder: Path, card: Scorecard) -> Path:
    """Write `ctrf.json` into a run folder, atomically."""
    import json

    path = folder / "ctrf.json"
    # only the run event is needed: a million step events are not held to find it
    run = next(e for e in read_events(folder / "results.jsonl") if isinstance(e, RunStarted))
    document = report(card, [run])
    tmp = folder / ".ctrf.json.tmp"
    tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
