"""The vendors' claims: one RFP response file per vendor, `responses/<vendor>.yaml`.

A vendor answers each requirement with a fit grade and a note before any proof is run,
as in a request for proposal. The scorecard sets that claim beside what the scenarios
proved, so a claim that failed (a broken promise) and a claim of "not offered" that the
product then did anyway both show. The file is read like every other workspace file:
each mistake is a located diagnostic, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crmproof.diagnostics import Diagnostic, SpecError, did_you_mean
from crmproof.yamlsource import Document, load_documents

RESPONSES_DIR = "responses"

Fit = Literal["native", "configuration", "customization", "third-party", "roadmap", "not-offered"]
# Fits that promise the requirement works with the product as bought (and configured).
PROMISED: frozenset[str] = frozenset({"native", "configuration"})


class Claim(BaseModel):
    """The vendor's answer to one requirement."""

    model_config = ConfigDict(extra="forbid")

    fit: Fit = Field(
        description=(
            "native: out of the box; configuration: standard settings, no code; "
            "customization: code or scripting; third-party: another product; "
            "roadmap: a future release; not-offered: the product does not do it."
        )
    )
    note: str = Field(description="How the product meets it, or why not, in a sentence or two.")


class Response(BaseModel):
    """One vendor's response file: a claim per requirement id."""

    model_config = ConfigDict(extra="forbid")

    vendor: str = Field(description="The vendor's name, as in crmproof.yaml `vendors:`.")
    product: str | None = Field(None, description="The product and version the claims are for.")
    responses: dict[str, Claim] = Field(
        default_factory=dict, description="Requirement id -> the vendor's claim."
    )


@dataclass
class LoadedResponse:
    model: Response
    doc: Document


@dataclass
class Responses:
    """Every response file of a workspace, by vendor, and what was wrong with them."""

    by_vendor: dict[str, LoadedResponse] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def claim(self, vendor: str, requirement: str) -> Claim | None:
        loaded = self.by_vendor.get(vendor)
        return loaded.model.responses.get(requirement) if loaded else None


def load_responses(root: Path) -> Responses:
    """Read `responses/*.yaml` under `root`; problems go to `.diagnostics`, never raised."""
    from crmproof.workspace import _load_model, display_path

    out = Responses()
    folder = root / RESPONSES_DIR
    if not folder.is_dir():
        return out
    for path in sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml")):
        try:
            docs = list(load_documents(path, display_path(path)))
        except SpecError as exc:
            out.diagnostics += exc.diagnostics
            continue
        for doc in docs[:1]:
            model, problems = _load_model(Response, doc)
            out.diagnostics += problems
            if model is None:
                continue
            if model.vendor in out.by_vendor:
                first = out.by_vendor[model.vendor].doc
                out.diagnostics.append(
                    doc.error(
                        ("vendor",),
                        f"a second response file for vendor '{model.vendor}' "
                        f"(the first is {first.path})",
                    )
                )
                continue
            out.by_vendor[model.vendor] = LoadedResponse(model, doc)
    return out


def check_responses(
    responses: Responses, requirement_ids: set[str], vendors: set[str] | None
) -> list[Diagnostic]:
    """Unknown requirement ids and vendors are errors; unanswered requirements warnings."""
    out: list[Diagnostic] = []
    for name, loaded in sorted(responses.by_vendor.items()):
        doc = loaded.doc
        if vendors is not None and name not in vendors:
            out.append(
                doc.error(
                    ("vendor",),
                    f"no vendor '{name}' in crmproof.yaml{did_you_mean(name, vendors)}",
                )
            )
        for req_id in loaded.model.responses:
            if req_id not in requirement_ids:
                out.append(
                    doc.error(
                        ("responses", req_id),
                        f"unknown requirement id '{req_id}'{did_you_mean(req_id, requirement_ids)}",
                        key=True,
                    )
                )
        missing = sorted(requirement_ids - set(loaded.model.responses))
        if missing and loaded.model.responses:  # an empty template is not yet an answer
            shown = ", ".join(missing[:8]) + (", ..." if len(missing) > 8 else "")
            out.append(
                doc.warning(
                    ("responses",),
                    f"{len(missing)} requirement(s) without a claim: {shown}",
                    key=True,
                )
            )
    return out
