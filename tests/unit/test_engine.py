"""The engine's semantics, pinned on the in-memory adapter: no vendor, a few seconds.

A whole workspace is written to a temporary folder and run by the real runner, so these
tests cover the path a user's step takes: YAML -> gate -> Operation -> Outcome -> typed
event in results.jsonl -> verdict in the scorecard.
"""

from __future__ import annotations

import gc
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crmproof import Adapter, AdapterDefinitionError, Capabilities, Operation, audit, vocabulary
from crmproof import workspace as workspaces
from crmproof.errors import ResultsError, ResumeError
from crmproof.events import (
    FORMAT,
    CleanupDone,
    LeftoversFound,
    RunStarted,
    ScenarioDone,
    StepDone,
)
from crmproof.plan import Filters, make_plan
from crmproof.protocol import Begin
from crmproof.results import read_events
from crmproof.runner import Run
from crmproof.scoring import score
from crmproof.serve import handle
from crmproof.validate import check
from tests import memory_adapter
from tests.memory_adapter import MemoryCrm, World

ADAPTERS = Path(__file__).resolve().parents[1] / "data" / "adapters"

CATALOG = """
strategies: [{id: ST, title: One company}]
roles: [{id: rep, title: Rep}]
processes:
  - id: P
    title: Sell
    strategy: ST
    steps: [{id: P-1, title: Sell, role: rep}]
requirements:
  - {id: R-ACCOUNT, step: P-1, kind: information-management, priority: must, weight: 3,
     text: t, success: s}
  - {id: R-DEAL, step: P-1, kind: process-control, priority: should, weight: 2,
     text: t, success: s}
  - {id: R-PRIVATE, step: P-1, kind: process-control, priority: should, weight: 1,
     text: t, success: s}
  - {id: R-LEAD, step: P-1, kind: process-control, priority: could, weight: 1,
     text: t, success: s}
"""

SCENARIOS = {
    "account.yaml": """
        id: ACCOUNT
        title: An account is kept
        covers: [R-ACCOUNT]
        steps:
          - create: account
            with: {name: "Acme ${run.id}", email: a@acme.test}
            save: acme
          - expect:
              get: account
              id: ${acme.id}
              fields: {name: "Acme ${run.id}"}
    """,
    "deal.yaml": """
        id: DEAL
        title: A deal is won
        covers: [R-DEAL]
        steps:
          - create: account
            with: {name: "Globex ${run.id}"}
            save: globex
          - create: opportunity
            with: {name: "Deal ${run.id}", account: "${globex.id}", amount: 100}
            save: deal
          - advance: opportunity
            id: ${deal.id}
            to: won
          - expect:
              get: opportunity
              id: ${deal.id}
              fields: {stage: won}
    """,
    "private.yaml": """
        id: PRIVATE
        title: Rep B cannot read rep A's lead
        covers: [R-PRIVATE]
        steps:
          - create: lead
            as: rep_a
            with: {name: "Lead ${run.id}"}
            save: lead
          - get: lead
            id: ${lead.id}
            as: rep_b
            refused: [forbidden, not_found]
    """,
    "convert.yaml": """
        id: CONVERT
        title: A lead converts to an opportunity
        covers: [R-LEAD]
        steps:
          - create: lead
            with: {name: "Lead ${run.id}"}
            save: lead
          - convert: lead
            id: ${lead.id}
            to: opportunity
            save: deal
          - expect:
              value: ${deal.stage}
              equals: prospecting
    """,
}


@pytest.fixture()
def world() -> Iterator[World]:
    MemoryCrm.world = World()
    yield MemoryCrm.world


def make_workspace(root: Path, scenarios: dict[str, str] = SCENARIOS) -> Path:
    (root / "adapters" / "memory").mkdir(parents=True)
    (root / "adapters" / "memory" / "__init__.py").write_text(
        "from tests.memory_adapter import MemoryCrm as adapter\n"
    )
    (root / "crmproof.yaml").write_text(
        "name: Engine\nvendors:\n  memory:\n    adapter: memory\n"
        "run: {step_timeout: 5, scenario_timeout: 0.2}\n"
    )
    (root / "requirements").mkdir()
    (root / "requirements" / "catalog.yaml").write_text(CATALOG)
    (root / "scenarios").mkdir()
    for name, text in scenarios.items():
        (root / "scenarios" / name).write_text(textwrap.dedent(text))
    return root


def two_channels(root: Path, product: str, more: str = "") -> Path:
    """The workspace's `memory` entry and a `memory-web` one, both of `product`."""
    config = root / "crmproof.yaml"
    entries = "".join(
        f"  {name}:\n    adapter: memory\n    product: {product}\n"
        for name in ("memory", "memory-web")
    )
    config.write_text(
        config.read_text().replace("  memory:\n    adapter: memory\n", entries + more)
    )
    return root


def run_workspace(root: Path, **filters: tuple[str, ...]) -> Path:
    suite = workspaces.load(root)
    check(suite)
    assert not suite.errors, suite.errors
    jobs = make_plan(suite, Filters(**filters))
    return Run(suite, jobs, root / "reports").execute()


def scenario_status(folder: Path) -> dict[str, str]:
    return {
        e.scenario: e.status
        for e in read_events(folder / "results.jsonl")
        if isinstance(e, ScenarioDone)
    }


def test_a_clean_run_passes_scores_and_cleans_up(tmp_path: Path, world: World) -> None:
    folder = run_workspace(make_workspace(tmp_path))
    assert scenario_status(folder) == {
        "ACCOUNT": "passed",
        "CONVERT": "passed",
        "DEAL": "passed",
        "PRIVATE": "passed",
    }
    card = score(read_events(folder / "results.jsonl"))
    (vendor,) = card.vendors
    assert {r: c.verdict for r, c in vendor.requirements.items()} == {
        "R-ACCOUNT": "met",
        "R-DEAL": "met",
        "R-PRIVATE": "met",
        "R-LEAD": "met",
    }
    assert vendor.score == 1.0 and not vendor.disqualified
    assert world.records == {}  # everything the run created was deleted
    assert vendor.leftovers == []


def test_an_adapter_knows_the_runs_marker_as_each_scenario_begins(
    tmp_path: Path, world: World
) -> None:
    """A UI adapter leaves `${run.id}` out of the user's keystrokes: it must know it."""
    folder = run_workspace(make_workspace(tmp_path))
    assert world.markers == [folder.name] * 4


def test_a_run_leaves_no_object_frozen_out_of_the_collector(
    tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner keeps what a run starts with out of the collector only while it runs:
    a process that runs crmproof again (pytest, the plugin) gets its collector back."""
    seen: list[int] = []
    get_account = MemoryCrm.get_account

    def watching(self: MemoryCrm, op: Operation) -> dict[str, Any]:
        seen.append(gc.get_freeze_count())
        return get_account(self, op)

    monkeypatch.setattr(MemoryCrm, "get_account", watching)
    before = gc.get_freeze_count()
    folder = run_workspace(make_workspace(tmp_path), ids=("ACCOUNT",))
    assert scenario_status(folder) == {"ACCOUNT": "passed"}
    assert seen and min(seen) > before  # frozen while it ran
    assert gc.get_freeze_count() == before


def test_cleanup_deletes_newest_first_even_after_a_failure(tmp_path: Path, world: World) -> None:
    world.faults["advance opportunity"] = "wrong"  # says done, changes nothing
    folder = run_workspace(make_workspace(tmp_path), ids=("DEAL",))
    events = list(read_events(folder / "results.jsonl"))
    steps = [e for e in events if isinstance(e, StepDone)]
    # The write is read back: an "ok" that changed nothing fails the step itself.
    assert [s.status for s in steps] == ["passed", "passed", "failed", "skipped"]
    assert steps[2].expected == "stage 'won'" and steps[2].actual == "stage 'prospecting'"
    assert steps[2].message.startswith("not done: the vendor answered the advance with ok")
    assert steps[2].line == 12  # the `- advance:` line of deal.yaml
    cleanups = [e for e in events if isinstance(e, CleanupDone)]
    assert [c.entity for c in cleanups] == ["opportunity", "account"]
    assert world.records == {}
    card = score(events)
    assert card.vendors[0].requirements["R-DEAL"].verdict == "not met"
    failed = card.vendors[0].scenarios["DEAL"].failed_step
    assert failed is not None and failed.index == 2


def test_a_refusal_expected_passes_and_one_not_expected_fails(tmp_path: Path, world: World) -> None:
    world.faults["create account"] = "refuse"
    folder = run_workspace(make_workspace(tmp_path), ids=("PRIVATE", "ACCOUNT"))
    assert scenario_status(folder) == {"PRIVATE": "passed", "ACCOUNT": "failed"}


def test_a_refused_get_fails_an_expectation_with_the_vendors_reason(
    tmp_path: Path, world: World
) -> None:
    """A refused get is nothing there, as far as the actor can see; when an expectation
    then fails, its message names why the vendor refused (a browser offline, say)."""
    offline = """
        id: OFFLINE
        title: The rep reads an account offline
        covers: [R-ACCOUNT]
        steps:
          - create: account
            with: {name: "Acme ${run.id}"}
            save: acme
          - expect:
              get: account
              id: ${acme.id}
              as: rep_a
              fields: {name: "Acme ${run.id}"}
    """
    world.faults["get account as rep_a"] = "refuse"
    folder = run_workspace(make_workspace(tmp_path, {"offline.yaml": offline}))
    (failed,) = [
        e
        for e in read_events(folder / "results.jsonl")
        if isinstance(e, StepDone) and e.status == "failed"
    ]
    assert failed.message == (
        "expected a record to check fields on, got none (the vendor refused the get: "
        "get account: a business rule says no)"
    )


def test_a_broken_vendor_is_an_error_never_a_verdict(tmp_path: Path, world: World) -> None:
    world.faults["create opportunity"] = "error"
    folder = run_workspace(make_workspace(tmp_path), ids=("DEAL",))
    card = score(read_events(folder / "results.jsonl"))
    assert card.vendors[0].scenarios["DEAL"].status == "error"
    assert card.vendors[0].requirements["R-DEAL"].verdict == "untested"
    assert world.records == {}  # the account made before the error is still cleaned up


def test_a_hanging_step_runs_the_scenario_out_of_time(tmp_path: Path, world: World) -> None:
    world.faults["create account"] = "hang"  # 0.3 s, over the 0.2 s scenario budget
    folder = run_workspace(make_workspace(tmp_path), ids=("DEAL",))
    steps = [e for e in read_events(folder / "results.jsonl") if isinstance(e, StepDone)]
    assert [s.status for s in steps] == ["passed", "skipped", "skipped", "skipped"]
    done = [e for e in read_events(folder / "results.jsonl") if isinstance(e, ScenarioDone)]
    assert done[0].status == "error" and "timed out" in (done[0].message or "")


def test_the_gate_rules_a_scenario_out_before_any_call(tmp_path: Path, world: World) -> None:
    world.lacks.add("advance opportunity")
    folder = run_workspace(make_workspace(tmp_path), ids=("DEAL",))
    assert world.calls == []  # not even the account was created
    steps = [e for e in read_events(folder / "results.jsonl") if isinstance(e, StepDone)]
    assert [s.status for s in steps] == ["skipped", "skipped", "not shown", "skipped"]
    assert steps[2].message == "not shown: the adapter does not support advance opportunity"
    card = score(read_events(folder / "results.jsonl"))
    assert card.vendors[0].requirements["R-DEAL"].verdict == "not shown"


def test_a_gap_is_not_offered_only_where_the_adapter_says_why(
    tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Declared product gaps disqualify a must; unmapped ones leave the vendor unproven."""
    world.lacks |= {"advance opportunity", "create account"}
    monkeypatch.setattr(
        MemoryCrm, "not_offered", {"create account": "MemoryCrm 1.0 has no accounts (doc 3.1)"}
    )
    folder = run_workspace(make_workspace(tmp_path), ids=("ACCOUNT", "DEAL"))
    card = score(read_events(folder / "results.jsonl"))
    (vendor,) = card.vendors
    assert vendor.scenarios["ACCOUNT"].status == "not offered"
    assert "MemoryCrm 1.0 has no accounts" in (vendor.scenarios["ACCOUNT"].message or "")
    assert vendor.requirements["R-ACCOUNT"].verdict == "not offered"
    assert vendor.disqualified and vendor.disqualified_by == ["R-ACCOUNT"]
    monkeypatch.setattr(MemoryCrm, "not_offered", {})
    folder = run_workspace(make_workspace(tmp_path / "again"), ids=("ACCOUNT",))
    (vendor,) = score(read_events(folder / "results.jsonl")).vendors
    assert vendor.requirements["R-ACCOUNT"].verdict == "not shown"
    assert not vendor.disqualified and vendor.unproven_by == ["R-ACCOUNT"]


def test_an_api_channel_cannot_go_offline_so_offline_is_untested(
    tmp_path: Path, world: World
) -> None:
    offline = """
        id: OFFLINE
        title: Work without a connection
        covers: [R-ACCOUNT]
        steps:
          - offline: true
          - create: account
            with: {name: "Field ${run.id}"}
    """
    folder = run_workspace(make_workspace(tmp_path, {"offline.yaml": offline}))
    (vendor,) = score(read_events(folder / "results.jsonl")).vendors
    assert vendor.scenarios["OFFLINE"].status == "untested"
    assert vendor.scenarios["OFFLINE"].message == (
        "channel: an API has no connection to lose (offline)"
    )
    assert vendor.requirements["R-ACCOUNT"].verdict == "untested"
    assert world.calls == []


def test_the_gate_knows_what_a_conversion_makes(
    tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`${deal.stage}` after converting a lead reads an opportunity's field, not a lead's."""
    monkeypatch.setitem(memory_adapter.FIELDS, "opportunity", ["name", "account", "amount"])
    folder = run_workspace(make_workspace(tmp_path), ids=("CONVERT",))
    steps = [e for e in read_events(folder / "results.jsonl") if isinstance(e, StepDone)]
    assert [s.status for s in steps] == ["skipped", "skipped", "not shown"]
    assert "opportunity field(s) stage" in (steps[2].message or "") and world.calls == []
    assert vocabulary.outcome_entity("convert", "opportunity") == "order"
    assert vocabulary.outcome_entity("invoice", "order") == "invoice"


def test_resume_finishes_a_killed_run_without_repeats(tmp_path: Path, world: World) -> None:
    root = make_workspace(tmp_path)
    folder = run_workspace(root)
    path = folder / "results.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    # Killed in DEAL's third step: before its cleanup, mid-way through writing a line.
    cut = next(i for i, line in enumerate(lines) if '"index":2' in line and "DEAL" in line)
    path.write_text("".join(lines[:cut]) + lines[cut][:20])
    # The vendor still holds what DEAL had created, and one record whose step event never
    # reached the disk: only its name, which carries the run id, gives it away.
    run_id = folder.name
    recorded = [
        ref
        for event in read_events(path)
        if isinstance(event, StepDone) and event.scenario == "DEAL"
        for ref in event.created
    ]
    for ref in recorded:
        world.records[(ref.entity, ref.id)] = {"id": ref.id, "name": "kept"}
    assert len(world.records) == 2
    world.records[("account", "900")] = {"id": "900", "name": f"Lost {run_id}"}
    world.calls.clear()
    suite = workspaces.load(root)
    done_before = set(scenario_status(folder))
    resumed = Run.resume(suite, root / "reports", "latest")
    assert {j.scenario.model.id for j in resumed.jobs}.isdisjoint(done_before)
    resumed.execute()
    events = list(read_events(path))
    finished = [e.scenario for e in events if isinstance(e, ScenarioDone)]
    assert sorted(finished) == sorted(SCENARIOS_IDS) and len(finished) == len(set(finished))
    assert sum(isinstance(e, RunStarted) for e in events) == 1
    assert world.records == {}  # the orphans, recorded and unrecorded, are gone
    newest_first = [f"delete {r.entity} {r.id}" for r in reversed(recorded)]
    assert world.calls[:3] == ["delete account 900", *newest_first]
    with pytest.raises(ResumeError, match="already finished"):
        Run.resume(suite, root / "reports", "latest")


SCENARIOS_IDS = ["ACCOUNT", "CONVERT", "DEAL", "PRIVATE"]


def test_results_are_typed_and_a_damaged_file_is_refused_with_its_line(
    tmp_path: Path, world: World
) -> None:
    folder = run_workspace(make_workspace(tmp_path), ids=("ACCOUNT",))
    path = folder / "results.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    assert isinstance(next(read_events(path)), RunStarted)
    path.write_text(lines[0] + '{"event": "step", "vendor": 3}\n' + "".join(lines[1:]))
    with pytest.raises(ResultsError, match=r"results.jsonl:2: not a crmproof event"):
        list(read_events(path))
    stamp = f'"format":{FORMAT}'
    path.write_text(lines[0].replace(stamp, '"format":99') + "".join(lines[1:]))
    with pytest.raises(ResultsError, match=r"results.jsonl:1: results format 99"):
        list(read_events(path))
    path.write_text(lines[0].replace(stamp, '"format":1') + "".join(lines[1:]))
    assert len(list(read_events(path))) == len(lines)  # format 1: today's events, fewer
    path.write_text(lines[0].replace(f"{stamp},", "") + "".join(lines[1:]))
    with pytest.raises(ResultsError, match="older crmproof"):
        list(read_events(path))


def test_a_misspelt_operation_method_fails_when_the_class_is_defined() -> None:
    with pytest.raises(AdapterDefinitionError, match="did you mean 'opportunity'"):

        class Typo(Adapter):
            name = "typo"

            def capabilities(self) -> Capabilities:
                return Capabilities()

            def advance_oportunity(self, op: Operation) -> dict[str, str]:
                return {}

    with pytest.raises(AdapterDefinitionError, match="did you mean 'advance'"):

        class Typo2(Adapter):
            name = "typo2"

            def capabilities(self) -> Capabilities:
                return Capabilities()

            def advnce_opportunity(self, op: Operation) -> dict[str, str]:
                return {}

    assert ("advance", "opportunity") in MemoryCrm.operations


def test_an_adapter_of_another_protocol_version_is_a_clear_error(tmp_path: Path) -> None:
    from crmproof.external import ExternalAdapter, ProtocolError

    program = tmp_path / "future.py"
    program.write_text(
        "import json\n"
        'print(json.dumps({"kind": "hello", "protocol": 99, "name": "future", "version": "9",'
        ' "channel": "api", "capabilities": {}}), flush=True)\n'
        "input()\n"
    )
    with pytest.raises(ProtocolError, match="speaks protocol version 99, and this crmproof"):
        ExternalAdapter([sys.executable, str(program)], cwd=tmp_path)


@pytest.mark.parametrize("protocol", [1, 2, 3])
def test_an_external_adapter_is_told_the_runs_marker_as_each_scenario_begins(
    tmp_path: Path, protocol: int
) -> None:
    """A UI adapter in another process leaves `${run.id}` out of effort as one in process
    does, so begin tells it (protocol 2); an adapter of protocol 1 still runs, without it."""
    root = make_workspace(tmp_path, {"account.yaml": SCENARIOS["account.yaml"]})
    log = tmp_path / "requests.jsonl"
    command = [sys.executable, str(ADAPTERS / "recording_adapter.py"), str(protocol)]
    (root / "crmproof.yaml").write_text(
        f"name: Engine\nvendors:\n  recorder:\n    command: {json.dumps([*command, str(log)])}\n"
    )
    folder = run_workspace(root)
    assert scenario_status(folder) == {"ACCOUNT": "passed"}
    requests = [json.loads(line) for line in log.read_text().splitlines()]
    create = next(r for r in requests if r["kind"] == "perform" and r["op"] == "create")
    assert create["data"]["name"] == f"Acme {folder.name}"  # what the scenario's ${run.id} read
    told = {"marker": folder.name} if protocol >= 2 else {}
    begins = [r for r in requests if r["kind"] == "begin"]
    assert begins == [{"kind": "begin", "scenario": "ACCOUNT", **told}]
    # The get that proves the create is marked as the runner's (protocol 3), and the
    # scenario's own get is not; an older adapter is sent neither mark.
    gets = [r for r in requests if r["kind"] == "perform" and r["op"] == "get"]
    assert [g.get("readback") for g in gets] == ([True, False] if protocol >= 3 else [None, None])


def test_a_served_adapter_is_given_the_marker_begin_carries(world: World) -> None:
    """`crmproof adapter serve` sets it as the engine does in process, for a UI adapter."""
    handle(MemoryCrm(), Begin(scenario="ACCOUNT", marker="20261201-004500-ab12-a2"))
    assert world.markers == ["20261201-004500-ab12-a2"]


def test_a_field_the_product_lacks_is_left_out_and_the_requirement_partly_met(
    tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lead with a source on a product without lead sources: the rest is still proven."""
    lead = """
        id: LEAD-SOURCE
        title: A lead keeps its source
        covers: [R-LEAD]
        steps:
          - create: lead
            with: {name: "Lead ${run.id}", email: l@x.test, source: Trade show}
            save: lead
          - expect:
              get: lead
              id: ${lead.id}
              fields: {name: "Lead ${run.id}", email: l@x.test, source: Trade show}
    """
    monkeypatch.setattr(MemoryCrm, "not_offered", {"lead.source": "MemoryCrm has no sources"})
    folder = run_workspace(make_workspace(tmp_path, {"lead.yaml": lead}))
    (vendor,) = score(read_events(folder / "results.jsonl")).vendors
    result = vendor.scenarios["LEAD-SOURCE"]
    assert result.status == "passed" and result.lacking == ["lead.source"]
    cell = vendor.requirements["R-LEAD"]
    assert cell.verdict == "partly met" and cell.lacking == ["lead.source"]
    assert cell.fraction == round(2 / 3, 4)  # name and email shown, source lacking
    assert world.calls[0] == "create lead with email,name"  # the source was left out


def test_only_the_refusals_a_step_names_count_and_an_outage_is_never_one(
    tmp_path: Path, world: World
) -> None:
    """Rep B must not see rep A's lead: a business rule or a 503 proves nothing of that."""
    world.faults["get lead as rep_b"] = "refuse"  # refused, but by a business rule
    folder = run_workspace(make_workspace(tmp_path), ids=("PRIVATE",))
    steps = [e for e in read_events(folder / "results.jsonl") if isinstance(e, StepDone)]
    assert steps[1].status == "failed"
    assert (steps[1].expected, steps[1].actual) == (
        "refused (forbidden, not_found)",
        "refused (rule)",
    )
    world.faults["get lead as rep_b"] = "error"  # the vendor is down: untested, never met
    folder = run_workspace(make_workspace(tmp_path / "down"), ids=("PRIVATE",))
    (vendor,) = score(read_events(folder / "results.jsonl")).vendors
    assert vendor.scenarios["PRIVATE"].status == "error"
    assert vendor.requirements["R-PRIVATE"].verdict == "untested"


def test_a_failed_log_in_of_an_actor_is_an_error_of_the_run(tmp_path: Path, world: World) -> None:
    login = """
        id: LOGIN
        title: Rep A works
        covers: [R-ACCOUNT]
        steps:
          - login: rep_a
          - create: account
            with: {name: "Rep's ${run.id}"}
    """
    world.faults["login"] = "refuse"
    folder = run_workspace(make_workspace(tmp_path, {"login.yaml": login}))
    (vendor,) = score(read_events(folder / "results.jsonl")).vendors
    assert vendor.scenarios["LOGIN"].status == "error"
    assert "log-in of 'rep_a' failed" in (vendor.scenarios["LOGIN"].message or "")
    assert vendor.requirements["R-ACCOUNT"].verdict == "untested"


def test_a_create_acknowledged_but_never_performed_is_not_done(
    tmp_path: Path, world: World
) -> None:
    world.faults["create account"] = "swallow"
    folder = run_workspace(make_workspace(tmp_path), ids=("ACCOUNT",))
    (vendor,) = score(read_events(folder / "results.jsonl")).vendors
    failed = vendor.scenarios["ACCOUNT"].failed_step
    assert failed is not None and failed.index == 0 and failed.status == "failed"
    assert failed.actual == "not found"
    assert vendor.requirements["R-ACCOUNT"].verdict == "not met"  # a product verdict


@pytest.mark.parametrize(("attempts", "status"), [(0, "error"), (2, "passed"), (1, "error")])
def test_transient_answers_are_retried_only_as_the_vendor_setting_says(
    tmp_path: Path, world: World, attempts: int, status: str
) -> None:
    """A 429 is an error unless `transient` allows asking again; each retry is recorded."""
    world.faults["get account"] = "busy"
    world.busy = 2
    root = make_workspace(tmp_path)
    text = (root / "crmproof.yaml").read_text()
    transient = f"    transient: {{attempts: {attempts}, backoff: 0.01}}\n"
    (root / "crmproof.yaml").write_text(
        text.replace("adapter: memory\n", "adapter: memory\n" + transient)
    )
    folder = run_workspace(root, ids=("ACCOUNT",))
    assert scenario_status(folder) == {"ACCOUNT": status}
    steps = [e for e in read_events(folder / "results.jsonl") if isinstance(e, StepDone)]
    # the create's read-back is the first get: it meets the 429s
    assert len(steps[0].retried) == min(attempts, 2)
    assert all("429" in message for message in steps[0].retried)
    assert steps[0].status == ("passed" if status == "passed" else "error")
    if status == "error":
        assert "429" in (steps[0].message or "")


def test_the_audit_finds_a_scenario_that_would_pass_on_a_broken_product(
    tmp_path: Path, world: World
) -> None:
    """A find that checks its hit but not what must be absent is weak; writes are proven."""
    weak = """
        id: WEAK-FIND
        title: A lead is found
        covers: [R-LEAD]
        steps:
          - create: lead
            with: {name: "Lead ${run.id}"}
            save: lead
          - expect:
              find: lead
              where: {name: "Lead ${run.id}"}
              fields: {name: "Lead ${run.id}"}
    """
    root = make_workspace(tmp_path, {**SCENARIOS, "weak.yaml": weak})
    suite = workspaces.load(root)
    adapter = MemoryCrm()
    adapter.open({})
    report = audit.run_mutations(
        {"memory": (adapter, adapter.declared())}, suite.scenarios, "audit-1", budget=60
    )
    (vendor,) = report.vendors
    assert vendor.scenarios == 5 and vendor.not_tried == 0
    assert [(w.scenario, w.step, w.mutation) for w in vendor.weaknesses] == [
        ("WEAK-FIND", 1, "find everything")
    ]
    assert vendor.tried == 10 and vendor.caught == 9  # 8 writes; 1 find, answered 2 ways
    assert world.records == {}  # every trial cleaned up after itself
    assert "WEAK at step 2 (expect lead)" in audit.text(report)


def test_the_audit_runs_side_by_side_like_the_runner_each_worker_its_own_adapter(
    tmp_path: Path, world: World
) -> None:
    """Workers as in `run`: capped by the adapter's max_workers, no session shared."""
    suite = workspaces.load(make_workspace(tmp_path))
    opened: list[MemoryCrm] = []

    def more() -> Adapter:
        adapter = MemoryCrm()
        adapter.open({})
        opened.append(adapter)
        return adapter

    first = more()
    report = audit.run_mutations(
        {"memory": (first, first.declared())},
        suite.scenarios,
        "audit-2",
        budget=60,
        more={"memory": more},
        workers=9,  # more than the adapter's 4
    )
    (vendor,) = report.vendors
    assert len(opened) == MemoryCrm.max_workers == world.sessions
    assert (vendor.scenarios, vendor.tried, vendor.caught, vendor.errored) == (4, 7, 7, 0), (
        vendor
    )  # as one worker finds
    assert world.records == {}


def test_scenarios_of_a_vendor_run_side_by_side_each_in_its_own_session(
    tmp_path: Path, world: World
) -> None:
    root = make_workspace(tmp_path)
    suite = workspaces.load(root)
    run = Run(suite, make_plan(suite, Filters()), root / "reports")
    run.workers = 3
    folder = run.execute()
    assert world.sessions == 3  # one adapter, one session, per worker
    assert sorted(scenario_status(folder).values()) == ["passed"] * 4
    assert world.records == {}


def test_two_entries_of_one_product_name_and_check_only_their_own_records(
    tmp_path: Path, world: World
) -> None:
    """An API and a web entry of one product share its server (here, the one World): each
    entry's names carry its own marker, so neither counts the other's records as left
    behind, or deletes them."""
    root = two_channels(make_workspace(tmp_path), product="mem")
    names: list[str] = []
    original = MemoryCrm.create_account

    def held(self: MemoryCrm, op: Operation) -> dict[str, Any]:
        names.append(str(op.data["name"]))
        return original(self, op)

    MemoryCrm.create_account = held  # type: ignore[method-assign]
    try:
        folder = run_workspace(root, ids=("ACCOUNT",))
    finally:
        MemoryCrm.create_account = original  # type: ignore[method-assign]
    run_id = folder.name
    assert sorted(n.split(" ")[-1] for n in names) == [
        f"memory-{run_id}",
        f"memory-web-{run_id}",
    ]
    found = [e for e in read_events(folder / "results.jsonl") if isinstance(e, LeftoversFound)]
    assert {e.vendor for e in found} == {"memory", "memory-web"}
    assert all(e.checked and e.records == [] for e in found)


def test_a_channel_without_a_response_file_is_held_to_its_products_claims(
    tmp_path: Path, world: World
) -> None:
    """The vendor claims what the product does, not what one channel does: the web entry
    of a product whose API entry has a response file is judged against the same claims."""
    root = two_channels(
        make_workspace(tmp_path), product="memory", more="  other:\n    adapter: memory\n"
    )
    (root / "responses").mkdir()
    (root / "responses" / "memory.yaml").write_text(
        "vendor: memory\nresponses:\n  R-ACCOUNT: {fit: native, note: Accounts are built in.}\n"
    )
    folder = run_workspace(root, ids=("ACCOUNT",))
    (started,) = [e for e in read_events(folder / "results.jsonl") if isinstance(e, RunStarted)]
    assert {v: sorted(c) for v, c in started.claims.items()} == {
        "memory": ["R-ACCOUNT"],
        "memory-web": ["R-ACCOUNT"],
    }  # `other` is another product: it claimed nothing
    card = score(list(read_events(folder / "results.jsonl")))
    kept = {v.name: v.promises for v in card.vendors}
    assert kept["memory-web"] == kept["memory"]
