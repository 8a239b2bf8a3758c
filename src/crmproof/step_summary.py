"""The run as a CI job summary: appended to `$GITHUB_STEP_SUMMARY` when it is set.

A reviewer of a pull request reads the job page, not the artifacts. The gates come first
(a vendor that misses a must is out whatever its score), then the scores, then each must
that failed with the scenario, YAML line and expected vs actual that show why, then the
full scorecard folded away.
"""

from __future__ import annotations

import os
from pathlib import Path

from crmproof import render
from crmproof.scoring import Scorecard


def failed_musts(card: Scorecard) -> list[str]:
    """One Markdown bullet per must requirement not fully met, per vendor."""
    musts = [r for r in card.requirements if r["priority"] == "must"]
    lines = []
    for vendor in card.vendors:
        for req in musts:
            cell = vendor.requirements.get(req["id"])
            if cell is None or cell.verdict in ("met", "not covered"):
                continue
            lines.append(f"- **{vendor.name}** · `{req['id']}` {cell.verdict}: {req['text']}")
            for sid in cell.scenarios:
                result = vendor.scenarios.get(sid)
                if result is None or result.status == "passed":
                    continue
                step = result.failed_step
                where = f" (line {step.line}: {step.step})" if step else ""
                lines.append(f"  - `{sid}` {result.status}{where}: {result.message or ''}")
                if step is not None and step.expected is not None:
                    lines.append(f"    expected `{step.expected}`, actual `{step.actual}`")
    return lines


def markdown(card: Scorecard) -> str:
    out = [f"## crmproof: {card.evaluation}", "", f"Run `{card.run_id}`."]
    if not card.complete:
        out.append(f"**Incomplete run**: resume it with `crmproof run --resume {card.run_id}`.")
    out += ["", "### Gates", "", "| vendor | gate | score |", "|---|---|---|"]
    for name in card.ranking:
        v = next(x for x in card.vendors if x.name == name)
        if v.status != "ready":
            gate = f"not evaluated: {v.message}"
        elif v.disqualified:
            gate = "DISQUALIFIED by " + ", ".join(f"`{r}`" for r in v.disqualified_by)
        elif v.unproven_by:
            gate = "UNPROVEN: must(s) not shown or untested: " + ", ".join(
                f"`{r}`" for r in v.unproven_by
            )
        else:
            gate = "passed"
        if v.left_behind:
            gate += f"; {len(v.left_behind)} record(s) left behind"
        out.append(f"| {v.name} | {gate} | {v.score:.0%} |")
    musts = failed_musts(card)
    if musts:
        out += ["", "### Failed musts", "", *musts]
    out += [
        "",
        "<details><summary>Full scorecard</summary>",
        "",
        render.markdown(card),
        "</details>",
        "",
    ]
    return "\n".join(out)


def append(card: Scorecard) -> Path | None:
    """Append the summary to `$GITHUB_STEP_SUMMARY`; None when it is not set."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as out:
        out.write(markdown(card) + "\n")
    return path
