"""A vendor that lies, or has a bad day, must not move a product verdict the wrong way.

The reference suite runs against the real Tryton and BottleCRM sandboxes through the
fault proxy on 127.0.0.1, which misbehaves in one precise way per test:

- a rate limit (429) or an outage (503) on one rep's requests: a privacy must never
  passes because the vendor was busy; it is untested;
- a rejected log-in of one actor: that actor's scenarios are untested, never not met;
- a write answered "ok" and never done (BottleCRM's stage move, Tryton's lost button):
  the requirements resting on it are not met;
- a search that ignores its filter: the requirements resting on it are not met.

Each test first proves its fault really fired, so a verdict can be read into it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from crmproof import discovery, sandbox
from crmproof.credentials import resolve_settings
from tests.cli import crmproof
from tests.faultproxy import Fault, FaultProxy, Reply, Seen, rpc_result, status
from tests.raw_events import read_events

ROOT = Path(__file__).resolve().parents[2]
PRIVACY = {
    "PRM-DEALS-KEPT-APART": "PRM-2.1",
    "PRM-NO-CHANGES-TO-OTHERS-DEAL": "PRM-2.2",
    "PRM-ACCOUNTS-KEPT-APART": "PRM-2.3",
    "L2O-LEAD-PRIVATE": "L2O-1.2",
}
URL_VARIABLE = {"tryton": "TRYTON_URL", "bottlecrm": "BOTTLECRM_URL"}


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[dict[str, dict[str, Any]]]:
    """Tryton and BottleCRM only (this module needs no browser vendor); left as found."""
    recipes = {v: discovery.load(v, ROOT / "adapters").sandbox for v in URL_VARIABLE}
    running = {v: sandbox.status(sandbox.SandboxHome(v))["running"] for v in URL_VARIABLE}
    started = {}
    for vendor, recipe in recipes.items():
        assert recipe is not None
        started[vendor] = sandbox.up(recipe, log=lambda m: None)
    yield started
    for vendor, recipe in recipes.items():
        if not running[vendor]:
            sandbox.down(recipe)  # type: ignore[arg-type]


def settings(vendor: str) -> dict[str, Any]:
    """The vendor's settings of the reference crmproof.yaml, resolved (actors' users)."""
    evaluation = yaml.safe_load((ROOT / "crmproof.yaml").read_text())
    resolved, _ = resolve_settings(evaluation["vendors"][vendor]["settings"])
    return resolved


def run(
    tmp: Path, vendor: str, proxy: FaultProxy, scenarios: list[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Run the reference suite's `scenarios` on `vendor` through `proxy`.

    Returns each scenario's event and the vendor's verdict per requirement. A scenario
    is not re-run (`--retries 0`): the fault fires on every request it matches, so a
    re-run would only fall the same way again, at the cost of the whole scenario.
    """
    reports = tmp / "reports"
    proc = crmproof(
        *("run", "-w", str(ROOT), "--reports", str(reports), "--vendor", vendor),
        *("--retries", "0"),
        *[a for s in scenarios for a in ("-k", s)],
        env={URL_VARIABLE[vendor]: proxy.url},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = (reports / "latest").resolve()
    events = list(read_events(folder / "results.jsonl"))
    assert events[-1]["event"] == "end"
    done = {e["scenario"]: e for e in events if e["event"] == "scenario"}
    assert set(done) == set(scenarios), done
    card = json.loads((folder / "scorecard.json").read_text())
    (mine,) = [v for v in card["vendors"] if v["name"] == vendor]
    return done, {rid: c["verdict"] for rid, c in mine["requirements"].items()}


def faulty_run(
    tmp: Path,
    sandboxes: dict[str, dict[str, Any]],
    vendor: str,
    name: str,
    fault: Fault,
    scenarios: list[str],
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """`run` through a proxy applying `fault`, which must have fired at least once."""
    with FaultProxy(sandboxes[vendor]["url"]) as proxy:
        proxy.rule(name, fault)
        outcome = run(tmp, vendor, proxy, scenarios)
    assert proxy.fired[name] > 0, f"the fault '{name}' never fired"
    return outcome


def bottle_actor(seen: Seen, token: str) -> bool:
    return seen.header("Authorization") == f"Bearer {token}"


def tryton_session_user(seen: Seen) -> str | None:
    """The user of a Tryton request's session (`Session base64(user:id:token)`)."""
    kind, _, value = seen.header("Authorization").partition(" ")
    if kind != "Session":
        return None
    return base64.b64decode(value).decode().split(":", 1)[0]


def tryton_method(seen: Seen) -> str:
    body = seen.json()
    return str(body.get("method", "")) if isinstance(body, dict) else ""


TRYTON_READS = ("search_read", ".read", ".search", "search_count")


# -- transient answers are errors, never refusals -------------------------------------


def test_rate_limited_rep_leaves_bottlecrm_privacy_untested(
    sandboxes: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    rep_b = settings("bottlecrm")["actors"]["rep_b"]
    done, verdicts = faulty_run(
        tmp_path,
        sandboxes,
        "bottlecrm",
        "429 on rep B",
        lambda seen: status(429) if bottle_actor(seen, rep_b) else None,
        list(PRIVACY),
    )
    assert {s: e["status"] for s, e in done.items()} == dict.fromkeys(PRIVACY, "error")
    assert all("429" in (e["message"] or "") for e in done.values()), done
    assert {verdicts[r] for r in PRIVACY.values()} == {"untested"}


def test_unavailable_for_a_rep_leaves_tryton_privacy_untested(
    sandboxes: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    rep_b = settings("tryton")["actors"]["rep_b"]["user"]

    def outage(seen: Seen) -> Reply | None:
        if tryton_session_user(seen) == rep_b and tryton_method(seen).endswith(TRYTON_READS):
            return status(503, b"<html>Service Unavailable</html>")
        return None

    done, verdicts = faulty_run(
        tmp_path, sandboxes, "tryton", "503 on rep B's reads", outage, list(PRIVACY)
    )
    assert {s: e["status"] for s, e in done.items()} == dict.fromkeys(PRIVACY, "error")
    assert {verdicts[r] for r in PRIVACY.values()} == {"untested"}


def test_rejected_session_of_a_rep_is_an_error_not_a_refusal(
    sandboxes: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """Tryton answers 401 to rep B's session, even fresh: not "forbidden", an error."""
    rep_b = settings("tryton")["actors"]["rep_b"]["user"]
    done, verdicts = faulty_run(
        tmp_path,
        sandboxes,
        "tryton",
        "401 on rep B's session",
        lambda seen: (
            status(401, b"Unauthorized")
            if tryton_session_user(seen) == rep_b and tryton_method(seen).startswith("model.")
            else None
        ),
        ["PRM-DEALS-KEPT-APART"],
    )
    assert done["PRM-DEALS-KEPT-APART"]["status"] == "error"
    assert verdicts["PRM-2.1"] == "untested"


# -- a rejected actor log-in: that actor's steps are untested --------------------------


@pytest.mark.parametrize("vendor", ["tryton", "bottlecrm"])
def test_rejected_actor_login_leaves_its_steps_untested(
    sandboxes: dict[str, dict[str, Any]], tmp_path: Path, vendor: str
) -> None:
    actor = settings(vendor)["actors"]["rep_b"]

    def rejected(seen: Seen) -> Reply | None:
        if vendor == "bottlecrm" and bottle_actor(seen, actor):
            return status(401, b'{"detail": "Invalid token."}')
        if (
            vendor == "tryton"
            and tryton_method(seen) == "common.db.login"
            and json.dumps(actor["user"]).encode() in seen.body
        ):
            return status(401, b"Unauthorized")
        return None

    done, verdicts = faulty_run(
        tmp_path, sandboxes, vendor, "rep B's login rejected", rejected, list(PRIVACY)
    )
    for scenario, event in done.items():
        assert event["status"] == "error", (scenario, event)
        assert verdicts[PRIVACY[scenario]] == "untested"


# -- writes answered "ok" and never done --------------------------------------------------

LOSING = ["L2O-WON-AND-LOST", "L2O-LOST-REASON"]


def test_swallowed_stage_move_fails_bottlecrm_requirements(
    sandboxes: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    def swallow(seen: Seen) -> Reply | None:
        if (
            seen.method == "PATCH"
            and seen.route.endswith("/move/")
            and "/opportunities/" in (seen.route)
        ):
            return Reply(200, b'{"error": false, "message": "Opportunity moved"}')
        return None

    done, verdicts = faulty_run(
        tmp_path, sandboxes, "bottlecrm", "stage move swallowed", swallow, LOSING
    )
    for scenario, event in done.items():
        assert event["status"] == "failed", (scenario, event)
        assert "not done" in (event["message"] or ""), event
    assert verdicts["L2O-5.1"] == "not met"
    assert verdicts["L2O-5.2"] == "not met"


def test_swallowed_lost_marking_fails_tryton_requirements(
    sandboxes: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """Tryton marks a deal lost by its Lost button, or (once it has a quotation) by
    cancelling its sale: both answer "ok" and do nothing. The cleanup's own cancel, after
    the adapter gave up (it presses at most five times), goes through, so nothing is left."""
    pressed: dict[str, int] = {}

    def swallow(seen: Seen) -> Reply | None:
        method = tryton_method(seen)
        if method == "model.sale.opportunity.lost":
            return rpc_result(seen, None)
        if method == "model.sale.sale.cancel":
            key = json.dumps(seen.json()["params"][0])
            pressed[key] = pressed.get(key, 0) + 1
            if pressed[key] <= 5:
                return rpc_result(seen, None)
        return None

    scenarios = [*LOSING, "L2O-DISQUALIFY-LEAD"]
    done, verdicts = faulty_run(
        tmp_path, sandboxes, "tryton", "lost-marking swallowed", swallow, scenarios
    )
    assert {e["status"] for e in done.values()} == {"failed"}, done
    assert verdicts["L2O-5.1"] == "not met"
    assert verdicts["L2O-5.2"] == "not met"
    assert verdicts["L2O-2.2"] == "not met"


def test_create_acknowledged_but_never_done_is_not_met_on_tryton(
    sandboxes: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """Tryton answers a party's create with an id it never made: a product verdict,
    read back as not found (never an error that would leave it untested)."""

    def swallow(seen: Seen) -> Reply | None:
        if tryton_method(seen) == "model.party.party.create":
            return rpc_result(seen, [987654321])
        return None

    done, verdicts = faulty_run(
        tmp_path, sandboxes, "tryton", "create swallowed", swallow, ["L2O-LEAD-ON-ACCOUNT"]
    )
    event = done["L2O-LEAD-ON-ACCOUNT"]
    assert event["status"] == "failed", event
    # the adapter reads its new party back at once, and finds none
    assert "no account with id 987654321" in (event["message"] or ""), event
    assert verdicts["L2O-1.3"] == "not met"


# -- a search that ignores its filter -----------------------------------------------------

LEAD_SEARCHES = {
    "L2O-CAPTURE-LEAD": "L2O-1.1",
    "L2O-LEAD-ON-ACCOUNT": "L2O-1.3",
    "L2O-LEAD-VALUE": "L2O-2.3",
    "L2O-DISQUALIFY-LEAD": "L2O-2.2",
    "L2O-LEAD-PRIVATE": "L2O-1.2",
}


def test_search_ignoring_its_filter_fails_tryton_lead_requirements(
    sandboxes: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """Tryton's lead search loses its domain: it answers every opportunity it holds.

    Reads of one record by its id are left alone: only the search is broken.
    """

    def unfiltered(seen: Seen) -> Seen | None:
        if tryton_method(seen) != "model.sale.opportunity.search_read":
            return None
        body = seen.json()
        domain = body["params"][0]
        if not domain or any(isinstance(c, list) and c[:1] == ["id"] for c in domain):
            return None
        return seen.with_json({**body, "params": [[], *body["params"][1:]]})

    done, verdicts = faulty_run(
        tmp_path, sandboxes, "tryton", "filter ignored", unfiltered, list(LEAD_SEARCHES)
    )
    assert {s: e["status"] for s, e in done.items()} == dict.fromkeys(LEAD_SEARCHES, "failed")
    assert {verdicts[r] for r in LEAD_SEARCHES.values()} == {"not met"}
