"""`crmproof adapter check`: a vendor's self-test of its adapter, before the evaluation.

The target is whatever a vendor has at hand: a vendor of crmproof.yaml (its adapter or
command, and its settings), an adapter by name (settings borrowed from the vendor that
uses it), or any command line speaking the protocol (`--settings-from VENDOR` lends it
settings). The kit (`kit`) then runs against the real vendor and sorts every finding
into an adapter bug, a vendor gap, or a pass, so the vendor fixes the former before the
evaluation and the team reads the latter as a product fact. Only adapter bugs fail it.
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmproof import discovery
from crmproof import workspace as workspaces
from crmproof.adapter import Adapter
from crmproof.conformance.data import new_marker
from crmproof.conformance.kit import Finding, Kit, capability_problems
from crmproof.conformance.link import Link
from crmproof.credentials import MissingCredential, resolve_settings
from crmproof.diagnostics import did_you_mean
from crmproof.errors import AdapterLoadError, UsageError
from crmproof.external import ExternalAdapter, ProtocolError
from crmproof.models import Evaluation
from crmproof.yamlsource import load_documents


class TargetError(UsageError):
    """The target names nothing checkable, or its settings cannot be resolved."""


@dataclass
class Target:
    """What to check and how to reach its vendor."""

    label: str  # how the report names it
    adapter: str | None = None  # an in-process adapter's name
    argv: list[str] | None = None  # or an adapter program
    settings: dict[str, Any] = field(default_factory=dict)
    settings_from: str | None = None  # the crmproof.yaml vendor the settings came from
    root: Path = Path(".")
    adapters_dir: Path = Path("adapters")
    step_timeout: float = 60.0

    @property
    def how(self) -> str:
        if self.adapter:
            return f"in-process adapter '{self.adapter}'"
        return f"program `{shlex.join(self.argv or [])}`"


@dataclass
class Report:
    target: Target
    marker: str
    findings: list[Finding] = field(default_factory=list)
    adapter: str | None = None
    version: str | None = None
    channel: str | None = None
    vendor_version: str | None = None

    def count(self, verdict: str) -> int:
        return sum(1 for f in self.findings if f.verdict == verdict)

    @property
    def conforms(self) -> bool:
        """No adapter bug was found (vendor gaps are facts, not failures)."""
        return self.count("broken") == 0


def _evaluation(root: Path) -> Evaluation | None:
    path = root / workspaces.EVALUATION_FILE
    if not path.exists():
        return None
    try:
        doc = next(load_documents(path, workspaces.display_path(path)))
        return Evaluation.model_validate(doc.data)
    except Exception as exc:
        raise TargetError(f"{path}: cannot be read ({exc}); run `crmproof validate`") from None


def resolve_target(target: str, root: Path, settings_from: str | None = None) -> Target:
    """A vendor name, an adapter name or a command line, as something to check."""
    evaluation = _evaluation(root)
    vendors = evaluation.vendors if evaluation else {}
    adapters_dir = workspaces.adapters_dir(root, evaluation)
    if settings_from is not None and settings_from not in vendors:
        hint = did_you_mean(settings_from, list(vendors))
        raise TargetError(f"--settings-from: no vendor '{settings_from}' in crmproof.yaml{hint}")
    found = Target(
        label=target,
        root=root,
        adapters_dir=adapters_dir,
        step_timeout=evaluation.run.step_timeout if evaluation else 60.0,
    )
    lender = settings_from
    if target in vendors:
        vendor = vendors[target]
        found.adapter, found.argv = vendor.adapter, vendor.command
        lender = lender or target
    elif target in discovery.available(adapters_dir):
        found.adapter = target
        users = [name for name, v in vendors.items() if v.adapter == target]
        lender = lender or (users[0] if users else None)
    else:
        argv = shlex.split(target)
        program = argv[0] if argv else ""
        if len(argv) == 1 and "/" not in program and not shutil.which(program):
            known = [*vendors, *discovery.available(adapters_dir)]
            hint = did_you_mean(target, known)
            raise TargetError(
                f"'{target}' is no vendor of crmproof.yaml, no adapter and no program{hint}; "
                f"known: {', '.join(dict.fromkeys(known)) or 'none'}"
            )
        found.argv = argv
    if lender is not None:
        try:
            found.settings, _ = resolve_settings(vendors[lender].settings)
        except MissingCredential as exc:
            raise TargetError(f"settings of vendor '{lender}': {exc}") from None
        found.settings_from = lender
    return found


def _instantiate(target: Target) -> Adapter:
    if target.argv is not None:
        return ExternalAdapter(target.argv, cwd=target.root, timeout=target.step_timeout)
    assert target.adapter is not None
    try:
        package = discovery.load(target.adapter, target.adapters_dir)
        return package.adapter()
    except AdapterLoadError as exc:
        raise ProtocolError(str(exc)) from None
    except Exception as exc:
        raise ProtocolError(
            f"the adapter class failed to start: {type(exc).__name__}: {exc}"
        ) from None


def check(
    target: Target,
    progress: Callable[[str], None] = lambda _: None,
    marker: str | None = None,
) -> Report:
    """Run the conformance kit on `target` against its real vendor; never raises."""
    report = Report(target, marker or new_marker())

    def add(area: str, check: str, verdict: Any, detail: str = "") -> None:
        report.findings.append(Finding(area, check, verdict, detail))

    try:
        adapter = _instantiate(target)
    except ProtocolError as exc:
        add("protocol", "start", "broken", str(exc))
        return report
    link = Link(adapter)
    with tempfile.TemporaryDirectory(prefix="crmproof-check-") as evidence:
        adapter.run_id = report.marker
        adapter.marker = report.marker  # what the kit's names carry, as a run's `${run.id}`
        adapter.evidence_dir = evidence
        try:
            hello = link.hello()
        except ProtocolError as exc:
            add("protocol", "hello", "broken", str(exc))
            link.close()
            return report
        report.adapter, report.version, report.channel = hello.name, hello.version, hello.channel
        add("protocol", "hello", "pass", f"{hello.name} {hello.version} ({hello.channel})")
        try:
            settings = {**target.settings, "trace": "on-failure", "timeout": target.step_timeout}
            report.vendor_version, capabilities = link.open(settings)
        except ProtocolError as exc:
            add("protocol", "open", "broken", f"could not open the vendor: {exc}")
            link.close()
            return report
        add("protocol", "open", "pass", report.vendor_version or "")
        problems = capability_problems(capabilities)
        claimed = ", ".join(capabilities.entities) or "no entities"
        if capabilities != hello.capabilities:
            claimed += " (as claimed once open)"
        add(
            "protocol",
            "capabilities",
            "broken" if problems else "pass",
            "; ".join(problems) or claimed,
        )
        try:
            kit = Kit(link, capabilities, report.marker, report.findings.append, progress)
            kit.run()
        finally:
            with contextlib.suppress(Exception):
                link.close()
    return report
