"""`--shard i/n` slices a plan deterministically; merge refuses shards that are not one suite's."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from crmproof import workspace
from crmproof.errors import PlanError, ResultsError
from crmproof.events import FORMAT, RunEnded, RunStarted, SuiteSnapshot
from crmproof.merge import check_shards, merge
from crmproof.plan import Filters, make_plan, shard
from crmproof.results import ResultsWriter

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def plan() -> list:
    suite = workspace.load(ROOT)  # the reference suite: 63 scenarios on three vendors
    return make_plan(suite, Filters())


def keys(jobs: list) -> list[tuple[str, str]]:
    return [(j.vendor, j.scenario.model.id) for j in jobs]


def test_a_vendor_slash_glob_chooses_that_vendors_scenarios_only() -> None:
    """`-k djangocrm/L2O-*`: a plan of chosen pairs, e.g. what one run ran, re-run as is."""
    suite = workspace.load(ROOT)
    chosen = ("djangocrm/L2O-LOST-REASON", "tryton/PRM-*", "O2C-NO-DUPLICATE-ACCOUNT")
    got = keys(make_plan(suite, Filters(ids=chosen)))
    prm = sorted(s.model.id for s in suite.scenarios if s.model.id.startswith("PRM-"))
    vendors = list(suite.evaluation.model.vendors)  # type: ignore[union-attr]
    assert sorted(got) == sorted(
        [("djangocrm", "L2O-LOST-REASON")]
        + [("tryton", p) for p in prm]
        + [(v, "O2C-NO-DUPLICATE-ACCOUNT") for v in vendors]
    )


@pytest.mark.parametrize("count", [1, 2, 3, 7, 200])
def test_shards_are_disjoint_and_cover_the_plan(plan: list, count: int) -> None:
    slices = [keys(shard(plan, i, count)) for i in range(1, count + 1)]
    together = [job for part in slices for job in part]
    assert sorted(together) == sorted(keys(plan))
    assert len(set(together)) == len(together)
    sizes = [len(s) for s in slices]
    assert max(sizes) - min(sizes) <= 1  # balanced
    for vendor in {v for v, _ in keys(plan)}:  # and balanced for each vendor
        per_vendor = [sum(1 for v, _ in part if v == vendor) for part in slices]
        assert max(per_vendor) - min(per_vendor) <= 1


def test_shards_do_not_depend_on_the_plan_order(plan: list) -> None:
    shuffled = list(plan)
    random.Random(7).shuffle(shuffled)
    for i in (1, 2, 3):
        assert sorted(keys(shard(shuffled, i, 3))) == sorted(keys(shard(plan, i, 3)))
        assert keys(shard(plan, i, 3)) == [k for k in keys(plan) if k in keys(shard(plan, i, 3))]


@pytest.mark.parametrize(("index", "count"), [(0, 2), (3, 2), (1, 0)])
def test_a_shard_out_of_range_is_a_plan_error(plan: list, index: int, count: int) -> None:
    with pytest.raises(PlanError, match=r"1 <= i <= n"):
        shard(plan, index, count)


def fake_run(folder: Path, suite: str, plan: list[tuple[str, str]], ended: bool = True) -> Path:
    """A run folder with only its run (and end) event: enough for the suite checks."""
    folder.mkdir(parents=True)
    writer = ResultsWriter(folder / "results.jsonl")
    writer.emit(
        RunStarted(
            format=FORMAT,
            run_id=folder.name,
            evaluation="e",
            suite_sha256=suite,
            vendors={"tryton": "tryton"},
            plan=plan,
            suite=SuiteSnapshot(),
        )
    )
    if ended:
        writer.emit(RunEnded(run_id=folder.name))
    writer.close()
    return folder


def test_shards_of_different_suites_are_refused(tmp_path: Path) -> None:
    a = fake_run(tmp_path / "a", "1" * 64, [("tryton", "A")])
    b = fake_run(tmp_path / "b", "2" * 64, [("tryton", "B")])
    with pytest.raises(ResultsError, match="not shards of one suite") as info:
        merge([a, b], tmp_path / "out", "merged")
    assert "111111111111" in str(info.value) and "222222222222" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_the_merging_workspace_must_be_the_shards_suite(tmp_path: Path) -> None:
    a = fake_run(tmp_path / "a", "1" * 64, [("tryton", "A")])
    with pytest.raises(ResultsError, match="this workspace: suite 333333333333"):
        check_shards([a], "3" * 64)


def test_overlapping_or_unfinished_shards_are_refused(tmp_path: Path) -> None:
    a = fake_run(tmp_path / "a", "1" * 64, [("tryton", "A"), ("tryton", "B")])
    b = fake_run(tmp_path / "b", "1" * 64, [("tryton", "B")])
    with pytest.raises(ResultsError, match="B on tryton is in both"):
        merge([a, b], tmp_path / "out", "merged")
    c = fake_run(tmp_path / "c", "1" * 64, [("tryton", "C")], ended=False)
    with pytest.raises(ResultsError, match="did not finish"):
        merge([a, c], tmp_path / "out", "merged")
    assert not (tmp_path / "out").exists()
    with pytest.raises(ResultsError, match=r"no results\.jsonl"):
        merge([a, tmp_path], tmp_path / "out", "merged")
