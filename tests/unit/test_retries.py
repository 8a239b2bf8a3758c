"""Re-runs of scenarios that did not pass, and the flaky status (Playwright's retries).

A scenario that failed or broke is re-run (`run.retries`), traced by a browser adapter;
one that then passes is *flaky*: the scorecard shows it, and its requirement is never met.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crmproof import Operation
from crmproof import workspace as workspaces
from crmproof.cli import main
from crmproof.events import ScenarioDone, StepDone
from crmproof.render import junit, markdown
from crmproof.results import read_events
from crmproof.runner import Run
from crmproof.scoring import score
from tests.memory_adapter import MemoryCrm, World
from tests.unit.test_engine import make_workspace, run_workspace


@pytest.fixture()
def world() -> Iterator[World]:
    MemoryCrm.world = World()
    yield MemoryCrm.world


def with_retries(root: Path, retries: int) -> Path:
    config = root / "crmproof.yaml"
    config.write_text(
        config.read_text()
        .replace("run: {", f"run: {{retries: {retries}, scenario_timeout: 5, ")
        .replace(", scenario_timeout: 0.2}", "}")
    )
    return root


def test_a_pass_on_the_re_run_is_flaky_and_never_met(tmp_path: Path, world: World) -> None:
    world.faults["create opportunity"] = "error-once"
    folder = run_workspace(with_retries(make_workspace(tmp_path), 1), ids=("DEAL",))
    events = list(read_events(folder / "results.jsonl"))
    ends = [e for e in events if isinstance(e, ScenarioDone)]
    assert [(e.status, e.attempt) for e in ends] == [("error", None), ("flaky", 2)]
    steps = [e for e in events if isinstance(e, StepDone)]
    assert [s.attempt for s in steps] == [None] * 4 + [2] * 4
    card = score(events)
    (vendor,) = card.vendors
    assert vendor.scenarios["DEAL"].status == "flaky"
    assert vendor.requirements["R-DEAL"].verdict == "untested"
    assert vendor.requirements["R-DEAL"].fraction == 0.0
    assert "DEAL: flaky" in markdown(card)
    assert 'skipped message="flaky: passed only when re-run' in junit(card)
    assert world.records == {}  # both attempts cleaned up after themselves


def test_a_re_run_names_its_records_apart_from_the_first_attempts(
    tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record the first attempt made may outlive it (kept by the vendor's rules): the
    re-run must not meet it under the same name, as a resumed scenario does not."""
    names: list[str] = []
    create_account = MemoryCrm.create_account

    def naming(self: MemoryCrm, op: Operation) -> dict[str, Any]:
        names.append(op.data["name"])
        return create_account(self, op)

    monkeypatch.setattr(MemoryCrm, "create_account", naming)
    world.faults["create opportunity"] = "error-once"
    folder = run_workspace(with_retries(make_workspace(tmp_path), 1), ids=("DEAL",))
    run_id = folder.name
    assert names == [f"Globex {run_id}", f"Globex {run_id}-a2"]


def test_a_failure_that_stays_is_re_run_once_and_stays_failed(tmp_path: Path, world: World) -> None:
    world.faults["advance opportunity"] = "wrong"
    folder = run_workspace(with_retries(make_workspace(tmp_path), 1), ids=("DEAL", "ACCOUNT"))
    ends = [e for e in read_events(folder / "results.jsonl") if isinstance(e, ScenarioDone)]
    assert [(e.scenario, e.status, e.attempt) for e in ends] == [
        ("ACCOUNT", "passed", None),  # a pass is never re-run
        ("DEAL", "failed", None),
        ("DEAL", "failed", 2),
    ]
    card = score(read_events(folder / "results.jsonl"))
    assert card.vendors[0].requirements["R-DEAL"].verdict == "not met"
    failed = card.vendors[0].scenarios["DEAL"].failed_step
    assert failed is not None and failed.attempt == 2 and failed.index == 2


def test_without_retries_nothing_is_re_run(tmp_path: Path, world: World) -> None:
    world.faults["create opportunity"] = "error-once"
    folder = run_workspace(with_retries(make_workspace(tmp_path), 0), ids=("DEAL",))
    ends = [e for e in read_events(folder / "results.jsonl") if isinstance(e, ScenarioDone)]
    assert [(e.status, e.attempt) for e in ends] == [("error", None)]


def test_a_run_killed_during_a_re_run_resumes_that_scenario_and_its_orphans(
    tmp_path: Path, world: World
) -> None:
    world.faults["advance opportunity"] = "wrong"
    root = with_retries(make_workspace(tmp_path), 1)
    folder = run_workspace(root, ids=("DEAL",))
    lines = (folder / "results.jsonl").read_text().splitlines(keepends=True)
    first_retry_step = next(i for i, line in enumerate(lines) if '"attempt":2' in line)
    # killed right after the re-run's first step (it created an account)
    (folder / "results.jsonl").write_text("".join(lines[: first_retry_step + 1]))
    suite = workspaces.load(root)
    resumed = Run.resume(suite, root / "reports", folder.name)
    assert [j.scenario.model.id for j in resumed.jobs] == ["DEAL"]
    assert resumed.orphans is not None
    assert [r.entity for r in resumed.orphans["memory"]] == ["account"]


def test_retries_on_the_command_line_win_over_crmproof_yaml(tmp_path: Path, world: World) -> None:
    """As Playwright Test's `--retries`: a CI job, or a test that wants a failure as it
    fell, sets them for one run without editing the evaluation."""
    world.faults["create opportunity"] = "error-once"
    root = with_retries(make_workspace(tmp_path), 1)
    args = ["run", "-w", str(root), "-k", "DEAL", "--no-progress", "--retries", "0"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    folder = (root / "reports" / "latest").resolve()
    ends = [e for e in read_events(folder / "results.jsonl") if isinstance(e, ScenarioDone)]
    assert [(e.status, e.attempt) for e in ends] == [("error", None)], result.output
