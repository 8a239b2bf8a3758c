"""The business set-up of the sandbox's BottleCRM organisation, made over the API.

A BottleCRM organisation is configured by its admin, as a customer's would be: which lead
sources it uses (BottleCRM seeds a default list an organisation extends), and whether its
leads move on a pipeline. Both are product features used through BottleCRM's own API,
idempotently, each time the sandbox starts:

* a lead pipeline made from BottleCRM's own template (`create_default_stages`: New,
  Contacted, Qualified, Proposal, Won, Lost). Without one BottleCRM tracks leads by
  status only, and no status means "qualified" (its template files Contacted,
  Qualified and Proposal all under "in process");
* the lead sources the organisation's sales team records besides BottleCRM's defaults;
* custom fields (`/api/custom-fields/`, BottleCRM's per-organisation schema extension,
  `common/models.py` CustomFieldDefinition) for what its models have no column for: an
  account's parent account, an estimate's customer PO number, a deal's lost reason.
"""

from __future__ import annotations

from typing import Any

import httpx

from crmproof.sandbox import Log, SandboxError

LEAD_PIPELINE = "Leads"
# Besides BottleCRM's defaults (call, e-mail, partner, campaign, web form, referral, ...).
LEAD_SOURCES = ("Trade show",)
# (target model, key, label): text custom fields, as an admin adds them in Settings.
CUSTOM_FIELDS = (
    ("Account", "parent_account", "Parent account"),
    ("Estimate", "po_number", "Customer PO number"),
    ("Opportunity", "lost_reason", "Lost reason"),
)


def ensure_org_setup(base_url: str, admin_token: str, log: Log) -> None:
    with httpx.Client(
        base_url=base_url.rstrip("/") + "/api",
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=60.0,
    ) as http:

        def call(method: str, path: str, **kw: Any) -> Any:
            response = http.request(method, path, **kw)
            if response.status_code >= 400:
                raise SandboxError(
                    f"bottlecrm: {method} /api{path} answered {response.status_code}: "
                    f"{response.text[:300]}"
                )
            return response.json()

        listed = call("GET", "/leads/pipelines/").get("pipelines", [])
        # The list carries no stages; each pipeline's detail does.
        pipelines = [call("GET", f"/leads/pipelines/{row['id']}/") for row in listed]
        if not any(
            str(stage.get("name", "")).lower() == "qualified"
            for pipeline in pipelines
            for stage in pipeline.get("stages") or []
        ):
            log(f"bottlecrm: adding the lead pipeline '{LEAD_PIPELINE}' (default stages)")
            call(
                "POST",
                "/leads/pipelines/",
                json={"name": LEAD_PIPELINE, "is_default": True, "create_default_stages": True},
            )
        sources = call("GET", "/leads/sources/").get("sources", [])
        have = {str(row.get("label", "")).lower() for row in sources}
        for label in LEAD_SOURCES:
            if label.lower() not in have:
                log(f"bottlecrm: adding the lead source '{label}'")
                call("POST", "/leads/sources/", json={"label": label})
        defined = call("GET", "/custom-fields/", params={"include_counts": "false"})
        have_fields = {(row["target_model"], row["key"]) for row in defined["definitions"]}
        for target, key, label in CUSTOM_FIELDS:
            if (target, key) not in have_fields:
                log(f"bottlecrm: adding the custom field '{label}' to {target}")
                call(
                    "POST",
                    "/custom-fields/",
                    json={
                        "target_model": target,
                        "key": key,
                        "label": label,
                        "field_type": "text",
                        "is_filterable": True,
                    },
                )
