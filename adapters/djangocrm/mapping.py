"""Canonical words to DjangoCRM's, and back: stages, closing reasons, form fields.

DjangoCRM's deal stages are per department (the fixtures give each sales department the
same eleven, by name), so stages are chosen by their label, never by id. Won and lost are
not stages but closing reasons: a success reason moves the deal to the success stage and
closes it; any other reason closes it as lost.
"""

from __future__ import annotations

# Canonical opportunity stage -> the deal stage label chosen for it.
STAGE_TO_DEAL = {
    "prospecting": "request",
    "qualification": "clarification of the requirements",
    "proposal": "commercial proposal",
    "negotiation": "agreement",
}
# Every deal stage label -> the canonical stage it counts as.
DEAL_TO_STAGE = {
    "request": "prospecting",
    "analysis of request": "prospecting",
    "clarification of the requirements": "qualification",
    "price offer": "proposal",
    "commercial proposal": "proposal",
    "commercial offer": "proposal",
    "agreement": "negotiation",
    "invoice": "negotiation",
    "receiving the first payment": "negotiation",
    "shipment": "negotiation",
    "closed (successful)": "won",
}
SUCCESS_REASON = "The deal was closed successfully"
DEFAULT_LOST_REASON = "The client is not responding"

# Task stages (radio buttons on the task form) <-> canonical activity stages.
TASK_STAGE_DONE = "completed"
TASK_STAGE_PLANNED = "pending"
TASK_DONE_STAGES = {"completed"}

# Canonical field -> form field, for the plain text fields of each form.
COMPANY_TEXT = {"name": "full_name", "email": "email", "phone": "phone", "website": "website"}
CONTACT_TEXT = {
    "first_name": "first_name",
    "last_name": "last_name",
    "email": "email",
    "phone": "phone",
    "title": "title",
}
LEAD_TEXT = {
    "first_name": "first_name",
    "last_name": "last_name",
    "email": "email",
    "phone": "phone",
    "company": "company_name",
}
TASK_TEXT = {"subject": "name", "description": "description", "due_date": "due_date"}
CASE_TEXT = {"subject": "request_for", "description": "description"}


def join_name(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


def deal_stage(stage_label: str | None, closing_reason: str | None) -> str | None:
    """The canonical stage of a deal from its stage and closing reason labels.

    A closing reason decides, whatever the stage field says afterwards: DjangoCRM lets the
    stage of a closed deal be changed, but the deal stays closed, as won or lost.
    """
    if closing_reason:
        return "won" if closing_reason == SUCCESS_REASON else "lost"
    return DEAL_TO_STAGE.get(stage_label or "")
