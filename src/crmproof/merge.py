"""Combining shard runs into one run folder, as Playwright Test's merge-reports does.

`crmproof run --shard i/n` on n CI machines gives n run folders, each with the plan's
i-th slice. A scorecard means something only for one suite, so the shards are checked
against a single suite fingerprint (`suite_sha256` of their run events) and refused when
they differ or overlap. The merged results.jsonl is an ordinary run's: one run event whose
plan is the union of the shards' plans, then every shard's events as they were written,
then one end event; reports and the manifest are rendered from it like any run's.

The pytest plugin (crmproof.pytest_items) runs each item as a part of one run: every part
carries the same run id, so each part's leftovers check also sees the records of parts
still running beside it. For such parts (`one_run`) only each vendor's last check is
kept: it ran after every other part had finished its scenario.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from crmproof.errors import ResultsError
from crmproof.events import (
    LeftoversFound,
    ResultEvent,
    Resumed,
    RunEnded,
    RunInterrupted,
    RunStarted,
    VendorReady,
)
from crmproof.protocol import RecordRef
from crmproof.results import ResultsWriter, read_events

RESULTS = "results.jsonl"


def _first_event(folder: Path) -> RunStarted:
    path = folder / RESULTS
    if not path.is_file():
        raise ResultsError(f"{folder}: no {RESULTS}: not a crmproof run folder")
    first = next(read_events(path), None)
    if not isinstance(first, RunStarted):
        raise ResultsError(f"{path}: no run event first: not a crmproof results file")
    return first


def check_shards(folders: Sequence[Path], suite_sha256: str | None = None) -> list[RunStarted]:
    """The shards' run events; raises ResultsError unless they are one suite's disjoint slices.

    `suite_sha256`, when given, is the fingerprint of the workspace doing the merge: the
    manifest signs that workspace's adapters, so it must be the suite the shards ran.
    """
    if not folders:
        raise ResultsError("nothing to merge: name the shard run folders")
    if len({f.resolve() for f in folders}) != len(folders):
        raise ResultsError("a run folder is named twice")
    runs = [_first_event(f) for f in folders]
    digests = {r.suite_sha256 for r in runs}
    if len(digests) > 1 or (suite_sha256 is not None and suite_sha256 not in digests):
        listed = "\n".join(
            f"  {f}: suite {r.suite_sha256[:12]}" for f, r in zip(folders, runs, strict=True)
        )
        mine = f"\n  this workspace: suite {suite_sha256[:12]}" if suite_sha256 else ""
        raise ResultsError(
            "these runs are not shards of one suite (their suite fingerprints differ), so "
            f"one scorecard cannot be drawn from them:\n{listed}{mine}"
        )
    if len({(r.evaluation, r.format, repr(r.scoring)) for r in runs}) > 1:
        raise ResultsError("these runs were made with different evaluation settings")
    seen: dict[tuple[str, str], Path] = {}
    for folder, run in zip(folders, runs, strict=True):
        for vendor, scenario in run.plan:
            if (vendor, scenario) in seen:
                raise ResultsError(
                    f"{scenario} on {vendor} is in both {seen[(vendor, scenario)]} and "
                    f"{folder}: shards must not overlap (use --shard i/n with one n)"
                )
            seen[(vendor, scenario)] = folder
    return runs


def _shard_events(folder: Path) -> Iterator[ResultEvent]:
    """A shard's events between its run event and its end event."""
    for event in read_events(folder / RESULTS):
        if not isinstance(event, (RunStarted, Resumed, RunEnded, RunInterrupted)):
            yield event


def _summary(
    folders: Sequence[Path], finished: bool = True
) -> tuple[dict[str, VendorReady], dict[str, list[LeftoversFound]], float]:
    """Per vendor, its vendor event and leftovers; and the last moment of any shard.

    A vendor that could not start in any shard shows that; every shard must have finished
    (unless the merge is of an interrupted run: `finished` False).
    """
    ready: dict[str, VendorReady] = {}
    leftovers: dict[str, list[LeftoversFound]] = {}
    last = 0.0
    for folder in folders:
        ended = False
        for event in read_events(folder / RESULTS):
            last = max(last, event.at)
            if isinstance(event, RunEnded):
                ended = True
            elif isinstance(event, VendorReady):
                kept = ready.get(event.vendor)
                if kept is None or (kept.status == "ready" and event.status != "ready"):
                    ready[event.vendor] = event
            elif isinstance(event, LeftoversFound):
                leftovers.setdefault(event.vendor, []).append(event)
        if not ended and finished:
            raise ResultsError(
                f"{folder}: this run did not finish; finish it with `crmproof run --resume "
                f"{folder.name}` before merging, or leave it out"
            )
    return ready, leftovers, last


def merge(
    folders: Sequence[Path],
    out: Path,
    run_id: str,
    suite_sha256: str | None = None,
    *,
    one_run: bool = False,
    order: Sequence[tuple[str, str]] = (),
    finished: bool = True,
) -> Path:
    """Write `out`/results.jsonl (and copy the evidence) from the shard run folders.

    `one_run`: the folders are parts of one run (the pytest plugin's), see the module
    docstring. `order`: the plan's order of (vendor, scenario); jobs outside it come last.
    `finished` False: the run was interrupted, and gets no end event, so `crmproof run
    --resume` can finish it.
    """
    runs = check_shards(folders, suite_sha256)
    if (out / RESULTS).exists():
        raise ResultsError(f"{out} already holds a run: merge into a new folder")
    ready, leftovers, last = _summary(folders, finished)  # checked before anything is written
    if one_run:
        leftovers = {v: [max(found, key=lambda e: e.at)] for v, found in leftovers.items()}
    vendors: dict[str, str] = {}
    for run in runs:
        vendors.update(run.vendors)
    rank = {job: n for n, job in enumerate(order)}
    plan = [job for run in runs for job in run.plan]
    plan.sort(key=lambda job: rank.get(job, len(rank)))
    started = runs[0].model_copy(
        update={
            "run_id": run_id,
            "at": min(r.at for r in runs),
            "vendors": vendors,
            "plan": plan,
        }
    )
    out.mkdir(parents=True, exist_ok=True)
    writer = ResultsWriter(out / RESULTS)
    try:
        writer.emit(started)
        for vendor_event in ready.values():
            writer.emit(vendor_event)
        for folder in folders:
            for event in _shard_events(folder):
                if not isinstance(event, (VendorReady, LeftoversFound)):
                    writer.emit(event)
            _copy_evidence(folder, out)
        for vendor, found in leftovers.items():
            writer.emit(_one_leftovers(vendor, found))
        if finished:
            writer.emit(RunEnded(run_id=run_id, at=last))
        else:
            writer.emit(RunInterrupted(run_id=run_id, at=last))
    finally:
        writer.close()
    return out


def _one_leftovers(vendor: str, found: list[LeftoversFound]) -> LeftoversFound:
    records: list[RecordRef] = [r for event in found for r in event.records]
    messages = [e.message for e in found if e.message]
    return LeftoversFound(
        vendor=vendor,
        checked=all(e.checked for e in found),
        records=records,
        message="; ".join(messages) or None,
        at=max(e.at for e in found),
    )


def _copy_evidence(folder: Path, out: Path) -> None:
    """Evidence files are named per vendor and scenario, and shards keep scenarios whole."""
    source = folder / "evidence"
    if source.is_dir():
        shutil.copytree(source, out / "evidence", dirs_exist_ok=True)
