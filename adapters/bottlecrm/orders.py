"""Canonical orders <-> BottleCRM estimates (`/api/invoices/estimates/`).

BottleCRM has no sales-order API; its quote-to-order document is the estimate
(`invoices/models.py` Estimate: "Estimates/Quotes - can be converted to Invoice"). It has
line items, an account, a contact and an opportunity, and a lifecycle the canonical
order stages map onto:

- Draft -> draft; Sent / Viewed -> quoted (`POST .../send/` mails it to the buyer);
- Accepted -> confirmed: the buyer accepts it on BottleCRM's client portal
  (`POST /api/public/estimate/<token>/accept/` with their name and e-mail,
  `invoices/public_views.py` PublicEstimateAcceptView), or staff convert it into an
  invoice (`POST .../convert/`, which marks it accepted too);
- Declined / Expired -> cancelled (the portal's decline, from Sent or Viewed only).

Its status is read-only over the staff API (`invoices/serializer.py`
EstimateCreateSerializer: "Accepting a quote authorises its price, so it is a
transition, not a field edit"). An estimate has no payment term and no column for the
customer's purchase-order number: the sandbox's organisation adds a text custom field
`po_number` to estimates (see orgsetup.py), which is what `reference` maps to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from crmproof.adapter import Refused, Unsupported

from . import mapping as m

ORDER_FIELDS = ["account", "opportunity", "lines", "reference", "total", "stage"]
ORDER_STAGES = ["draft", "quoted", "confirmed", "cancelled"]
ORDER_STAGES_READ = {
    "Draft": "draft",
    "Sent": "quoted",
    "Viewed": "quoted",
    "Accepted": "confirmed",
    "Declined": "cancelled",
    "Expired": "cancelled",
}
PO_NUMBER = "po_number"  # the estimate custom field the sandbox's organisation defines
TITLE_LIMIT = 100  # Estimate.title max_length


def order_out(
    data: Mapping[str, Any], product: Callable[[str], Mapping[str, Any] | None]
) -> m.Record:
    """An estimate's body, without its title and contact (the adapter adds those)."""
    unknown = sorted(set(data) - (set(ORDER_FIELDS) - {"total"}))
    if unknown:
        raise Unsupported(f"BottleCRM's estimate has no field for: {', '.join(unknown)}")
    if data.get("stage") not in (None, "draft"):
        raise Unsupported("a BottleCRM estimate starts as a draft; advance it instead")
    body: m.Record = {}
    if "account" in data:
        body["account_id"] = data["account"]
    if "opportunity" in data:
        body["opportunity_id"] = data["opportunity"] or None
    if "lines" in data:
        body["line_items"] = m.invoice_lines_out(data["lines"], product)
    if "reference" in data:
        body["custom_fields"] = {PO_NUMBER: data["reference"] or ""}
    return body


def order_in(obj: Mapping[str, Any]) -> m.Record:
    """A detail or a list row; only the detail carries lines and custom fields."""
    status = obj.get("status")
    record: m.Record = {
        "id": str(obj["id"]),
        "account": m.ref_id(obj.get("account")),
        "opportunity": m.ref_id(obj.get("opportunity")),
        "total": m.number(obj.get("total_amount")),
        "stage": ORDER_STAGES_READ.get(str(status), status),
    }
    if "custom_fields" in obj:
        record["reference"] = (obj.get("custom_fields") or {}).get(PO_NUMBER) or None
    if "line_items" in obj:
        record["lines"] = [
            {
                "product": item.get("name") or item.get("description"),
                "quantity": m.number(item.get("quantity")),
                "unit_price": m.number(item.get("unit_price")),
            }
            for item in obj["line_items"]
        ]
    return record


def invoice_of(obj: Mapping[str, Any]) -> str | None:
    """The invoice an estimate was converted into, if any."""
    return m.ref_id(obj.get("converted_to_invoice"))


def title_for(account_name: str, reference: Any) -> str:
    """BottleCRM requires a title on an estimate; the canonical order has none."""
    title = f"Order {account_name}" + (f" ({reference})" if reference else "")
    return title[:TITLE_LIMIT]


def transitions(status: str, target: str) -> list[str]:
    """The estimate actions that take `status` to canonical `target`, in order.

    `send` (staff), then `accept` or `decline` (the buyer, on the portal). A draft is
    sent before the buyer can answer it, as in BottleCRM's own flow.
    """
    if target not in ORDER_STAGES:
        raise Unsupported(f"BottleCRM has no estimate status for the order stage '{target}'")
    current = ORDER_STAGES_READ.get(status, status)
    if current == target:
        return []
    if current in ("confirmed", "cancelled") or target == "draft":
        raise Refused(f"BottleCRM cannot take an estimate from {status} to {target}")
    path = ["send"] if current == "draft" else []
    if target == "confirmed":
        path.append("accept")
    elif target == "cancelled":
        path.append("decline")
    return path
