"""Two shards of the starter suite on Tryton, merged, score exactly like one unsharded run."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crmproof import discovery, sandbox
from crmproof.results import read_events
from tests import cli

ROOT = Path(__file__).resolve().parents[2]
STARTER = ROOT / "examples" / "starter"


@pytest.fixture(scope="module")
def tryton() -> Iterator[None]:
    """Only Tryton: this test needs no other vendor."""
    recipe = discovery.load("tryton", ROOT / "adapters").sandbox
    assert recipe is not None
    was_running = sandbox.status(sandbox.SandboxHome("tryton"))["running"]
    try:
        sandbox.up(recipe, lambda m: None)
    except sandbox.SandboxError as exc:
        pytest.fail(f"tryton sandbox could not start: {exc}", pytrace=False)
    yield
    if not was_running:
        sandbox.down(recipe)


def crmproof(*args: str) -> subprocess.CompletedProcess[str]:
    # the suite fingerprint covers spec files by path: one folder for all
    return cli.crmproof(*args, cwd=ROOT, timeout=900)


def run_folder(reports: Path) -> Path:
    (folder,) = [p for p in reports.iterdir() if p.is_dir() and not p.is_symlink()]
    return folder


def cells(folder: Path) -> dict[str, Any]:
    """Every verdict of a scorecard: per vendor its requirement cells, scenario statuses,
    score, rollups and the rest; and the ranking."""
    card = json.loads((folder / "scorecard.json").read_text())
    out: dict[str, Any] = {"ranking": card["ranking"], "complete": card["complete"]}
    for vendor in card["vendors"]:
        for key, value in vendor.items():
            if key == "scenarios":
                value = {sid: (s["status"], s["effort"]) for sid, s in value.items()}
            if key == "leftovers" and value is not None:  # other runs, other records' ids
                value = sorted(
                    json.dumps({k: v for k, v in r.items() if k != "id"}, sort_keys=True)
                    for r in value
                )
            if key not in ("vendor_version",):  # the one volatile field
                out[f"{vendor['name']}.{key}"] = value
    return out


def test_two_shards_merged_score_like_one_run(tryton: None, tmp_path: Path) -> None:
    whole, shards = tmp_path / "whole", tmp_path / "shards"
    done = crmproof("run", "-w", str(STARTER), "--vendor", "tryton", "--reports", str(whole))
    assert done.returncode == 0, done.stderr
    plans = []
    for i in (1, 2):
        part = shards / str(i)
        done = crmproof(
            "run",
            "-w",
            str(STARTER),
            "--vendor",
            "tryton",
            "--shard",
            f"{i}/2",
            "--reports",
            str(part),
        )
        assert done.returncode == 0, done.stderr
        (first, *_) = read_events(run_folder(part) / "results.jsonl")
        plans.append(set(map(tuple, first.plan)))
    assert plans[0] and plans[1] and not plans[0] & plans[1]

    merged = tmp_path / "merged"
    done = crmproof(
        "merge",
        str(run_folder(shards / "1")),
        str(run_folder(shards / "2")),
        "--out",
        str(merged),
        "-w",
        str(STARTER),
    )
    assert done.returncode == 0, done.stderr
    expected, got = cells(run_folder(whole)), cells(merged)
    assert set(got) == set(expected)
    for key in sorted(expected):
        assert got[key] == expected[key], key
    assert got["tryton.requirements"]  # cells there are, cell for cell equal
    assert "STARTER-WRONG" in json.dumps(got)  # the failing-on-purpose scenario is there
    verify = crmproof("verify", str(merged))
    assert verify.returncode == 0, verify.stdout + verify.stderr

    other = crmproof(
        "merge",
        str(run_folder(whole)),
        str(run_folder(shards / "1")),
        "--out",
        str(tmp_path / "bad"),
        "-w",
        str(STARTER),
    )
    assert other.returncode != 0 and "in both" in other.stderr
