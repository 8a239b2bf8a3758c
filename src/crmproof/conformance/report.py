"""The conformance report: a short table for the terminal, Markdown for a CI step summary.

Adapter bugs come first, since they are what the vendor must fix; the operations the
adapter rightly answers `unsupported` are folded into one line per entity, so a vendor gap
reads as a fact about the product rather than as noise.
"""

from __future__ import annotations

from tabulate import tabulate

from crmproof.conformance.kit import Finding
from crmproof.conformance.session import Report

LABELS = {
    "pass": "pass",
    "broken": "ADAPTER BROKEN",
    "lacks": "vendor lacks this",
    "skipped": "skipped",
}


def _folded(findings: list[Finding]) -> list[Finding]:
    """Undeclared operations answered as expected, one row per entity (or session)."""
    rows: list[Finding] = []
    groups: dict[str, list[str]] = {}
    for f in findings:
        if f.area == "undeclared" and f.verdict == "lacks" and "refused" not in f.detail:
            op, _, entity = f.check.partition(" ")
            groups.setdefault(entity or "session", []).append(op)
        else:
            rows.append(f)
    for entity, ops in groups.items():
        rows.append(
            Finding("undeclared", entity, "lacks", f"answered unsupported: {', '.join(ops)}")
        )
    return rows


def rows(report: Report) -> list[Finding]:
    """The findings to show: folded, adapter bugs first, else in the order they were made."""
    folded = _folded(report.findings)
    return sorted(folded, key=lambda f: 0 if f.verdict == "broken" else 1)


def summary(report: Report) -> str:
    counts = (
        f"{report.count('pass')} passed, {report.count('broken')} adapter broken, "
        f"{report.count('lacks')} vendor lacks this, {report.count('skipped')} skipped"
    )
    if report.conforms:
        return f"{counts}: the adapter conforms"
    return f"{counts}: the adapter does NOT conform (fix the ADAPTER BROKEN findings)"


def heading(report: Report) -> str:
    target = report.target
    who = f"{report.adapter} {report.version} ({report.channel})" if report.adapter else "?"
    vendor = f" on {report.vendor_version}" if report.vendor_version else ""
    settings = f", settings of vendor '{target.settings_from}'" if target.settings_from else ""
    return f"{target.label}: {target.how}{settings} -> {who}{vendor}; marker {report.marker}"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def terminal(report: Report) -> str:
    table = [[f.area, f.check, LABELS[f.verdict], _cut(f.detail, 110)] for f in rows(report)]
    parts = [
        f"crmproof adapter check: {heading(report)}",
        "",
        tabulate(table, headers=["area", "check", "verdict", "detail"], tablefmt="simple"),
        "",
        summary(report),
    ]
    return "\n".join(parts)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(report: Report) -> str:
    """A self-contained Markdown report, for `$GITHUB_STEP_SUMMARY` or a PR comment.

    The table is written unpadded: long details would otherwise pad every row.
    """
    verdict = "conforms" if report.conforms else "does NOT conform"
    table = [
        [
            f.area,
            _md(f.check),
            f"**{LABELS[f.verdict]}**" if f.verdict == "broken" else LABELS[f.verdict],
            _md(f.detail),
        ]
        for f in rows(report)
    ]
    return "\n".join(
        [
            f"# Adapter check: {report.target.label} {verdict}",
            "",
            _md(heading(report)),
            "",
            f"**{summary(report)}**",
            "",
            "| area | check | verdict | detail |",
            "|---|---|---|---|",
            *("| " + " | ".join(row) + " |" for row in table),
            "",
            "*ADAPTER BROKEN*: a bug of the adapter (invalid message, `error`, a record that is "
            "not canonical or cannot be read back, a declared capability answered "
            "`unsupported`). *vendor lacks this*: the vendor does not do it, or refused it "
            "for a business reason; a fact about the product, not a failure.",
            "",
        ]
    )
