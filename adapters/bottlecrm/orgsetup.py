"""The business set-up of the sandbox's BottleCRM organisation, made over the API.

A BottleCRM organisation is configured by its admin, as a customer's would be: which lead
sources it uses (BottleCRM seeds a default list an organisation extends), and whether its
leads move on a pipeline. Both are product features used through BottleCRM's own API,
idempotently, each time the sandbox starts:

* a lead pipeline made from BottleCRM's own template (`create_default_stages`: New,
  Contacted, Qualified, Proposal, Won, Lost). Without one BottleCRM tracks leads by
  status only, and no status means "qualified" (its template files Contacted,
  Qualified and Proposal all under "in process");
* the lead sources the organisation's sales team records besides BottleCRM's defaults.
"""

from __future__ import annotations

from typing import Any

import httpx

from crmproof.sandbox import Log, SandboxError

LEAD_PIPELINE = "Leads"
# Besides BottleCRM's defaults (call, e-mail, partner, campaign, web form, referral, ...).
LEAD_SOURCES = ("Trade show",)


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
