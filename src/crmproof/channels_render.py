"""The channel report (crmproof.channels) as terminal text, Markdown and an HTML section.

The HTML is a fragment for the scorecard page: no script, no external file, the give/get
chart drawn as CSS bars (a bar per vendor per scenario, its length the user's clicks plus
keystrokes, on one scale for the whole chart), so it prints and reads without a browser's
JavaScript.
"""

from __future__ import annotations

from html import escape

from tabulate import tabulate

from crmproof.channels import EFFORT_KEYS, ChannelReport, Disagreement, GiveGetRow

__all__ = ["html", "markdown", "terminal"]


def _ratio(row: GiveGetRow) -> str:
    if not row.comparable:
        return "n/a (not done by both)"
    return "n/a" if row.ratio is None else f"{row.ratio:.2f}x"


def _effort(effort: dict[str, int]) -> str:
    return "/".join(str(effort.get(k, 0)) for k in EFFORT_KEYS)


def _side(status: str, effort: dict[str, int]) -> str:
    """A vendor's status, with its effort when it counted any."""
    return f"{status} {_effort(effort)}" if any(effort.values()) else status


def _verdicts(d: Disagreement) -> str:
    return ", ".join(f"{v}: {verdict}" for v, verdict in d.verdicts.items())


def _scenario_statuses(d: Disagreement) -> str:
    parts = []
    for vendor, statuses in d.scenarios.items():
        odd = [f"{sid} {status}" for sid, status in statuses.items() if status != "passed"]
        parts.append(f"{vendor}: {', '.join(odd) if odd else 'all passed'}")
    return "; ".join(parts)


def _give_get_rows(report: ChannelReport) -> list[list[str]]:
    return [
        [
            row.scenario,
            _side(row.left_status, row.left),
            _side(row.right_status, row.right),
            _ratio(row),
        ]
        for row in report.give_get
    ]


def _totals(report: ChannelReport) -> tuple[int, int]:
    """Clicks plus keystrokes over the scenarios both vendors passed."""
    done = [r for r in report.give_get if r.comparable]
    return (
        sum(GiveGetRow.work(r.left) for r in done),
        sum(GiveGetRow.work(r.right) for r in done),
    )


def terminal(report: ChannelReport) -> str:
    parts: list[str] = []
    for product, names in report.products.items():
        mine = [d for d in report.disagreements if d.product == product]
        contra = [d for d in mine if d.contradicts]
        parts.append(
            f"channel agreement, {product} ({' vs '.join(names)}): "
            f"{len(contra)} disagreement(s), {len(mine) - len(contra)} gap(s)"
        )
        for d in mine:
            kind = "DISAGREE" if d.contradicts else "gap"
            parts.append(f"  {kind} {d.requirement}: {_verdicts(d)} ({_scenario_statuses(d)})")
    if report.give_get_pair and report.give_get:
        left, right = report.give_get_pair
        parts += ["", f"give/get, {left} vs {right} (clicks/keystrokes/fields/pages):"]
        parts.append(
            tabulate(
                _give_get_rows(report),
                headers=["scenario", left, right, f"{left}/{right}"],
                tablefmt="simple",
            )
        )
        a, b = _totals(report)
        parts.append(f"scenarios both passed: {a} vs {b} clicks+keystrokes")
    return "\n".join(parts) + ("\n" if parts else "")


def markdown(report: ChannelReport) -> str:
    out: list[str] = []
    if report.products:
        out += ["## Channel agreement", ""]
        for product, names in report.products.items():
            mine = [d for d in report.disagreements if d.product == product]
            out.append(f"**{product}** through {', '.join(f'`{n}`' for n in names)}:")
            out.append("")
            if not mine:
                out += ["Every requirement got the same verdict through each channel.", ""]
                continue
            out += ["| requirement | kind | verdicts | scenarios not passed |", "|---|---|---|---|"]
            for d in mine:
                kind = "**disagreement**" if d.contradicts else "gap"
                out.append(
                    f"| {d.requirement} {d.title} | {kind} | {_verdicts(d)} | "
                    f"{_scenario_statuses(d)} |"
                )
            out.append("")
    if report.give_get_pair and report.give_get:
        left, right = report.give_get_pair
        out += [
            "## Give/get between UIs",
            "",
            f"The same scenario in `{left}` and `{right}`: status, then "
            "clicks/keystrokes/fields/pages; the ratio is clicks plus keystrokes.",
            "",
            tabulate(
                _give_get_rows(report),
                headers=["scenario", left, right, f"{left}/{right}"],
                tablefmt="github",
            ),
            "",
        ]
        a, b = _totals(report)
        out += [f"Scenarios both passed: {a} vs {b} clicks plus keystrokes.", ""]
    return "\n".join(out)


def html(report: ChannelReport) -> str:
    """The section of the scorecard page; empty when there is nothing to compare."""
    out: list[str] = []
    if report.products:
        out.append('<section id="channels"><h2>Channel agreement</h2>')
        for product, names in report.products.items():
            mine = [d for d in report.disagreements if d.product == product]
            out.append(f"<h3>{escape(product)}: {escape(' vs '.join(names))}</h3>")
            if not mine:
                out.append("<p>Every requirement got the same verdict through each channel.</p>")
                continue
            out.append(
                "<table><tr><th>requirement</th><th>kind</th><th>verdicts</th>"
                "<th>scenarios not passed</th></tr>"
            )
            for d in mine:
                kind = "<strong>disagreement</strong>" if d.contradicts else "gap"
                out.append(
                    f"<tr><td>{escape(d.requirement)} {escape(d.title)}</td><td>{kind}</td>"
                    f"<td>{escape(_verdicts(d))}</td><td>{escape(_scenario_statuses(d))}</td></tr>"
                )
            out.append("</table>")
        out.append("</section>")
    if report.give_get_pair and report.give_get:
        out.append(_chart(report))
    return "\n".join(out)


def _chart(report: ChannelReport) -> str:
    assert report.give_get_pair is not None
    left, right = report.give_get_pair
    scale = max(
        [GiveGetRow.work(r.left) for r in report.give_get]
        + [GiveGetRow.work(r.right) for r in report.give_get]
        + [1]
    )
    rows = []
    for row in report.give_get:
        bars = []
        for name, effort, status, css in (
            (left, row.left, row.left_status, "gg-left"),
            (right, row.right, row.right_status, "gg-right"),
        ):
            work = GiveGetRow.work(effort)
            width = 100 * work / scale
            title = f"{name}: {status}, " + ", ".join(f"{effort[k]} {k}" for k in EFFORT_KEYS)
            bars.append(
                f'<div class="gg-bar {css}" style="width:{width:.1f}%" title="{escape(title)}">'
                f"<span>{work}</span></div>"
            )
        rows.append(
            f'<tr><th scope="row">{escape(row.scenario)}</th>'
            f'<td class="gg-bars">{"".join(bars)}</td><td>{escape(_ratio(row))}</td></tr>'
        )
    a, b = _totals(report)
    return (
        '<section id="give-get"><h2>Give/get between UIs</h2>'
        "<style>"
        ".gg-bars{width:60%}.gg-bar{height:12px;margin:2px 0;min-width:2px;"
        "font-size:10px;line-height:12px;color:#fff;white-space:nowrap}"
        ".gg-bar span{padding-left:3px}.gg-left{background:#2f6db5}.gg-right{background:#d9822b}"
        ".gg-key span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px}"
        "</style>"
        f'<p class="gg-key">Clicks plus keystrokes for the same scenario:'
        f'<span class="gg-left"></span>{escape(left)}'
        f'<span class="gg-right"></span>{escape(right)}. '
        f"Scenarios both passed: {a} vs {b}.</p>"
        f"<table><tr><th>scenario</th><th>effort</th><th>{escape(left)}/{escape(right)}</th>"
        "</tr>" + "".join(rows) + "</table></section>"
    )
