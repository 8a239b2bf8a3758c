"""Products, orders (`sale.sale`) and invoices (`account.invoice`).

Over RPC Tryton runs no on_change helpers, so a sale line gets its unit, price and
description here, and a sale its invoice and shipment address and, as choosing the party
in the client does, the party's payment term. Confirming a sale creates its invoice (and,
for goods, a shipment) in the same call; with the standard invoice grouping (module
sale_invoice_grouping), a customer's next sale joins its draft invoice. An invoice is paid
with its Pay wizard and a payment method. Tryton keeps what has reached the books: a
confirmed sale can never be deleted, a posted invoice only cancelled, a paid one not even
that.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from crmproof.adapter import Refused, Unsupported
from crmproof.protocol import Operation

from .base import TrytonBase
from .values import (
    INVOICE_FROM_STATE,
    ORDER_FROM_STATE,
    decimal,
    iso,
    number,
    record_id,
    ref,
    states_for,
)

PRODUCT = "product.product"
SALE = "sale.sale"
INVOICE = "account.invoice"
OPPORTUNITY = "sale.opportunity"
PRODUCT_FIELDS = {"code", "name", "price"}
ORDER_FIELDS = {"account", "opportunity", "lines", "reference", "payment_term", "stage"}
INVOICE_FIELDS = {"account", "order", "lines", "total", "due_date", "payment_term", "stage"}
_PRODUCT_READ = ["code", "name", "list_price_used", "template", "active"]
_LINE_READ = ["lines.product.code", "lines.quantity", "lines.unit_price", "lines.amount"]
_ORDER_READ = [
    "party",
    "origin",
    "reference",
    "payment_term.rec_name",
    "total_amount",
    "state",
    "invoices",
    "shipments",
    *_LINE_READ,
]
_INVOICE_READ = [
    "party",
    "sales",
    "number",
    "total_amount",
    "payment_term.rec_name",
    "state",
    *_LINE_READ,
]
# Due dates are on the invoice's receivable move lines, which a sales user may not read.
_DUE_READ = "lines_to_pay.maturity_date"
PAYMENT_METHOD = "Cash"


def _lines(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "product": (line.get("product.") or {}).get("code"),
            "quantity": number(line["quantity"]),
            "unit_price": number(line["unit_price"]),
            "amount": number(line["amount"]),
        }
        for line in row["lines."]
    ]


class OrderOps(TrytonBase):
    # -- product ---------------------------------------------------------------------

    def create_product(self, op: Operation) -> dict[str, Any]:
        data = op.data
        self.reject_unknown(data, PRODUCT_FIELDS, "product")
        if not data.get("name"):
            raise Refused("a Tryton product needs a name")
        unit = self.call("ir.model.data", "get_id", "product", "uom_unit")
        template = {
            "name": data["name"],
            "code": data.get("code"),
            "type": "service",  # no stock moves: a service sells without a warehouse
            "list_price": decimal(data.get("price", 0), "price"),
            "default_uom": unit,
            "salable": True,
            "sale_uom": unit,
            "account_category": self._sales_category(),
            "products": [["create", [{}]]],
        }
        template_id = self._create_one("product.template", template)
        (product_id,) = self.call(PRODUCT, "search", [["template", "=", template_id]])
        return self._product_record(product_id)

    def get_product(self, op: Operation) -> dict[str, Any]:
        return self._product_record(record_id(op.id, "product"))

    def update_product(self, op: Operation) -> dict[str, Any]:
        product_id = record_id(op.id, "product")
        self.reject_unknown(op.data, PRODUCT_FIELDS, "product")
        row = self.read_one(PRODUCT, product_id, _PRODUCT_READ, "product")
        values: dict[str, Any] = {}
        for field, name in (("name", "name"), ("code", "code")):
            if field in op.data:
                values[name] = op.data[field]
        if "price" in op.data:
            values["list_price"] = decimal(op.data["price"], "price")
        if values:
            self.call("product.template", "write", [row["template"]], values)
        return self._product_record(product_id)

    def find_product(self, op: Operation) -> list[dict[str, Any]]:
        self.reject_unknown(op.where, PRODUCT_FIELDS, "product")
        names = {"id": "id", "code": "code", "name": "name", "price": "list_price"}
        domain = [
            [names[f], "=", decimal(v, f) if f == "price" else v] for f, v in op.where.items()
        ]
        rows = self.search_read(PRODUCT, domain, _PRODUCT_READ, order=[("id", "ASC")])
        return [self._product_from_row(row) for row in rows]

    def delete_product(self, op: Operation) -> dict[str, Any]:
        product_id = self.target_id(op, PRODUCT, "product")
        if product_id is None:
            return {"id": op.id}
        template = self.read_one(PRODUCT, product_id, ["template.products"], "product")
        variants = template["template."]["products"]
        try:
            if len(variants) == 1:
                self.call("product.template", "delete", [template["template."]["id"]])
            else:
                self.call(PRODUCT, "delete", [product_id])
        except Refused as refusal:
            if not op.cleanup:
                raise
            self.call(PRODUCT, "write", [product_id], {"active": False})
            return {"id": str(product_id), "kept": f"archived: Tryton keeps it ({refusal})"}
        return {"id": str(product_id)}

    def _product_record(self, product_id: int) -> dict[str, Any]:
        return self._product_from_row(self.read_one(PRODUCT, product_id, _PRODUCT_READ, "product"))

    @staticmethod
    def _product_from_row(row: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": str(row["id"]),
            "code": row["code"],
            "name": row["name"],
            "price": number(row["list_price_used"]),
        }

    def _sales_category(self) -> int | None:
        rows = self.search_read("product.category", [["accounting", "=", True]], ["id"], limit=1)
        return rows[0]["id"] if rows else None

    # -- order -----------------------------------------------------------------------

    def create_order(self, op: Operation) -> dict[str, Any]:
        data = op.data
        self.reject_unknown(data, ORDER_FIELDS, "order")
        if not data.get("account"):
            raise Refused("a Tryton sale needs the account (party) it sells to")
        party_id = record_id(data["account"], "account")
        address = self._address_of(party_id)
        values: dict[str, Any] = {
            "party": party_id,
            "invoice_address": address,
            "shipment_address": address,
            **self._party_term(SALE, party_id, default=False),
            **self._order_values(data),
        }
        if data.get("lines"):
            values["lines"] = [["create", self._sale_lines(data["lines"])]]
        sale_id = self._create_one(SALE, values)
        # Record it now: a later stage change may fail, and the sale must still be cleaned.
        self.step.created_record("order", sale_id)
        stage = data.get("stage")
        if stage and stage != "draft":
            self._advance_sale(sale_id, stage)
        return self._order_record(sale_id)

    def get_order(self, op: Operation) -> dict[str, Any]:
        return self._order_record(record_id(op.id, "order"))

    def update_order(self, op: Operation) -> dict[str, Any]:
        sale_id = record_id(op.id, "order")
        data = op.data
        self.reject_unknown(data, ORDER_FIELDS - {"stage"}, "order")
        row = self.read_one(SALE, sale_id, ["lines", "state"], "order")
        values = self._order_values(data)
        if data.get("account"):
            party_id = record_id(data["account"], "account")
            address = self._address_of(party_id)
            values.update(party=party_id, invoice_address=address, shipment_address=address)
            if not data.get("payment_term"):
                values.update(self._party_term(SALE, party_id, default=True))
        if "lines" in data:
            if row["state"] != "draft":
                raise Refused("Tryton changes the lines of a draft sale only")
            actions: list[Any] = [["delete", row["lines"]]] if row["lines"] else []
            if data["lines"]:
                actions.append(["create", self._sale_lines(data["lines"])])
            values["lines"] = actions
        if values:
            self.call(SALE, "write", [sale_id], values)
        return self._order_record(sale_id)

    def find_order(self, op: Operation) -> list[dict[str, Any]]:
        self.reject_unknown(op.where, ORDER_FIELDS - {"lines"} | {"total"}, "order")
        domain = []
        for field, value in op.where.items():
            if field == "account":
                domain.append(["party", "=", record_id(value, "account")])
            elif field == "opportunity":
                domain.append(["origin", "=", f"{OPPORTUNITY},{record_id(value, 'opportunity')}"])
            elif field == "payment_term":
                domain.append(["payment_term.name", "=", value])
            elif field == "total":
                domain.append(["total_amount", "=", decimal(value, "total")])
            elif field == "stage":
                domain.append(["state", "in", states_for(ORDER_FROM_STATE, value)])
            else:
                domain.append([field, "=", record_id(value, "order") if field == "id" else value])
        rows = self.search_read(SALE, domain, _ORDER_READ, order=[("id", "ASC")])
        return [self._order_from_row(row) for row in rows]

    def advance_order(self, op: Operation) -> dict[str, Any]:
        sale_id = record_id(op.id, "order")
        if not op.to:
            raise Refused("advance order needs a target stage")
        self._advance_sale(sale_id, op.to)
        return self._order_record(sale_id)

    def delete_order(self, op: Operation) -> dict[str, Any]:
        sale_id = self.target_id(op, SALE, "order")
        if sale_id is None:
            return {"id": op.id}
        row = self.read_one(SALE, sale_id, ["state", "shipments.state"], "order")
        if row["state"] in ("draft", "quotation"):
            # Cancel first: the opportunity it came from then reads lost, instead of being
            # stranded as converted with no sale (a state Tryton cannot leave).
            self.call(SALE, "cancel", [sale_id])
        elif row["state"] != "cancelled":
            if op.cleanup:
                self._retire_shipments(row["shipments."])
                return {
                    "id": str(sale_id),
                    "kept": f"{row['state']}: Tryton keeps a sale once "
                    "confirmed (its open shipments were cancelled)",
                }
            raise Refused(
                f"Tryton keeps a sale once confirmed (this one is {row['state']}); "
                "only draft, quoted or cancelled sales can be deleted"
            )
        self.call(SALE, "delete", [sale_id])
        return {"id": str(sale_id)}

    def invoice_order(self, op: Operation) -> dict[str, Any]:
        """Tryton invoices a sale when it is confirmed: confirm it if need be."""
        sale_id = record_id(op.id, "order")
        row = self.read_one(SALE, sale_id, ["state"], "order")
        if row["state"] in ("draft", "quotation"):
            self._advance_sale(sale_id, "confirmed")
        elif row["state"] == "cancelled":
            raise Refused("Tryton does not invoice a cancelled sale")
        invoices = self.search_read(
            INVOICE,
            [["sales", "=", sale_id], ["state", "!=", "cancelled"]],
            ["id"],
            order=[("id", "ASC")],
        )
        if not invoices:
            raise Refused("Tryton made no invoice for this sale (it may invoice on shipment)")
        return self._invoice_record(invoices[0]["id"])

    def _advance_sale(self, sale_id: int, stage: str) -> None:
        state = self.read_one(SALE, sale_id, ["state"], "order")["state"]
        if ORDER_FROM_STATE[state] == stage:
            return
        if stage == "draft":
            self.call(SALE, "draft", [sale_id])
        elif stage == "cancelled":
            self.call(SALE, "cancel", [sale_id])
        elif stage in ("quoted", "confirmed"):
            if state in ("cancelled", "confirmed", "processing", "done"):
                raise Refused(f"Tryton cannot take a {state} sale to {stage}")
            if state == "draft":
                self._sale_button(sale_id, "quote")
            if stage == "confirmed":
                self._confirm_sale(sale_id)
        elif stage == "done":
            raise Unsupported(
                "Tryton marks a sale done itself, once shipped and paid; it cannot be set"
            )
        else:
            raise Unsupported(f"orders have no stage {stage!r} in Tryton")

    def _confirm_sale(self, sale_id: int) -> None:
        """Confirm; Tryton then processes the sale, making its invoice and shipments."""
        self._sale_button(sale_id, "confirm")
        for invoice_id in self.read_one(SALE, sale_id, ["invoices"], "order")["invoices"]:
            self.step.created_record("invoice", invoice_id)

    def _sale_button(self, sale_id: int, button: str) -> None:
        try:
            self.call(SALE, button, [sale_id])
        except Refused as refusal:
            if "can not call" not in str(refusal):
                raise
            lines = self.read_one(SALE, sale_id, ["lines"], "order")["lines"]
            why = "it has no lines" if not lines else "Tryton does not allow it in this state"
            raise Refused(f"cannot {button} the sale: {why} ({refusal})") from None

    def _retire_shipments(self, shipments: list[dict[str, Any]]) -> None:
        """Cancel the shipments of a confirmed sale, the most cleanup can do for it."""
        open_ids = [s["id"] for s in shipments if s["state"] not in ("done", "cancelled")]
        if open_ids:
            self.call("stock.shipment.out", "cancel", open_ids)

    def _party_term(self, model: str, party_id: int, default: bool) -> dict[str, Any]:
        """The payment term the client fills in when the party is chosen (on_change_party).

        The party's own customer term; failing that, with `default`, the model's default
        (otherwise Tryton applies that default itself on create).
        """
        rows = self.search_read(
            "party.party", [["id", "=", party_id]], ["customer_payment_term"], limit=1
        )
        term = rows[0]["customer_payment_term"] if rows else None
        if term:
            return {"payment_term": term}
        if default:
            defaults = self.call(model, "default_get", ["payment_term"], False)
            return {"payment_term": defaults.get("payment_term")}
        return {}

    def _order_values(self, data: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if "reference" in data:
            values["reference"] = data["reference"]
        if data.get("payment_term"):
            values["payment_term"] = self.lookup_id(
                "account.invoice.payment_term", data["payment_term"], "payment term"
            )
        if data.get("opportunity"):
            values["origin"] = f"{OPPORTUNITY},{record_id(data['opportunity'], 'opportunity')}"
        return values

    def _sale_lines(self, lines: list[Any]) -> list[dict[str, Any]]:
        if not isinstance(lines, list):
            raise Refused("order lines must be a list of {product, quantity, unit_price}")
        result = []
        for line in lines:
            product = self._product_for_line(line.get("product"))
            price = line.get("unit_price", line.get("price"))
            result.append(
                {
                    "product": product["id"],
                    "quantity": float(line.get("quantity", 1)),
                    "unit": product["sale_uom"],
                    "unit_price": decimal(price, "unit_price")
                    if price is not None
                    else product["list_price_used"],
                    "description": product["name"],
                }
            )
        return result

    def _product_for_line(self, key: Any) -> dict[str, Any]:
        """A product by code, or failing that by id."""
        fields = ["name", "sale_uom", "list_price_used"]
        rows = self.search_read(PRODUCT, [["code", "=", str(key)]], fields, limit=1)
        if not rows and str(key).isdigit():
            rows = self.search_read(PRODUCT, [["id", "=", int(key)]], fields, limit=1)
        if not rows:
            raise Refused(f"no product with code or id {key!r}")
        return rows[0]

    def _address_of(self, party_id: int) -> int:
        rows = self.search_read("party.address", [["party", "=", party_id]], ["id"], limit=1)
        if rows:
            return rows[0]["id"]
        if not self.exists("party.party", party_id):
            raise Refused(f"no account with id {party_id}")
        return self._create_one("party.address", {"party": party_id})

    def _order_record(self, sale_id: int) -> dict[str, Any]:
        return self._order_from_row(self.read_one(SALE, sale_id, _ORDER_READ, "order"))

    @staticmethod
    def _order_from_row(row: dict[str, Any]) -> dict[str, Any]:
        origin = row.get("origin") or ""
        opportunity = origin.split(",")[1] if origin.startswith(f"{OPPORTUNITY},") else None
        term = row.get("payment_term.")
        return {
            "id": str(row["id"]),
            "account": ref(row["party"]),
            "opportunity": opportunity,
            "reference": row["reference"],
            "payment_term": term["rec_name"] if term else None,
            "total": number(row["total_amount"]),
            "stage": ORDER_FROM_STATE[row["state"]],
            "lines": _lines(row),
        }

    # -- invoice ---------------------------------------------------------------------

    def get_invoice(self, op: Operation) -> dict[str, Any]:
        return self._invoice_record(record_id(op.id, "invoice"))

    def find_invoice(self, op: Operation) -> list[dict[str, Any]]:
        self.reject_unknown(op.where, INVOICE_FIELDS - {"lines", "due_date"}, "invoice")
        domain: list[Any] = [["type", "=", "out"]]
        for field, value in op.where.items():
            if field == "account":
                domain.append(["party", "=", record_id(value, "account")])
            elif field == "order":
                domain.append(["sales", "=", record_id(value, "order")])
            elif field == "payment_term":
                domain.append(["payment_term.name", "=", value])
            elif field == "total":
                domain.append(["total_amount", "=", decimal(value, "total")])
            elif field == "stage":
                domain.append(["state", "in", states_for(INVOICE_FROM_STATE, value)])
            else:
                domain.append(["id", "=", record_id(value, "invoice")])
        return [self._invoice_from_row(row) for row in self._invoice_rows(domain)]

    def advance_invoice(self, op: Operation) -> dict[str, Any]:
        invoice_id = record_id(op.id, "invoice")
        state = self.read_one(INVOICE, invoice_id, ["state"], "invoice")["state"]
        if INVOICE_FROM_STATE[state] == op.to:
            return self._invoice_record(invoice_id)
        if op.to == "posted":
            self.call(INVOICE, "post", [invoice_id])
        elif op.to == "cancelled":
            self.call(INVOICE, "cancel", [invoice_id])
        elif op.to == "draft":
            self.call(INVOICE, "draft", [invoice_id])
        elif op.to == "paid":
            if state in ("draft", "validated"):
                self.call(INVOICE, "post", [invoice_id])  # only an issued invoice is paid
            elif state == "cancelled":
                raise Refused("Tryton does not pay a cancelled invoice")
            self._pay_invoice(invoice_id)
        else:
            raise Unsupported(f"invoices have no stage {op.to!r} in Tryton")
        return self._invoice_record(invoice_id)

    def delete_invoice(self, op: Operation) -> dict[str, Any]:
        """Delete a draft invoice; cancel one Tryton keeps (numbered, or a sale's)."""
        invoice_id = self.target_id(op, INVOICE, "invoice")
        if invoice_id is None:
            return {"id": op.id}
        row = self.read_one(INVOICE, invoice_id, ["state", "number", "sales"], "invoice")
        if not row["number"] and not row["sales"] and row["state"] in ("draft", "cancelled"):
            self.call(INVOICE, "delete", [invoice_id])
            return {"id": str(invoice_id)}
        if row["state"] == "paid":
            if op.cleanup:
                return {"id": str(invoice_id), "kept": f"paid: {_PAID_KEPT}"}
            raise Refused(f"Tryton keeps a paid invoice: {_PAID_KEPT}")
        if op.cleanup and row["state"] != "cancelled":
            # A sale's draft invoice comes back when deleted; a posted one is numbered.
            # Cancelling (a reversing move for a posted one) is as far as Tryton goes.
            self.call(INVOICE, "cancel", [invoice_id])
        if op.cleanup:
            return {
                "id": str(invoice_id),
                "kept": "cancelled: Tryton keeps a numbered or "
                "sale's invoice; it was cancelled instead of deleted",
            }
        why = "it is numbered" if row["number"] else "its sale would invoice it again"
        raise Refused(f"Tryton does not delete this invoice ({row['state']}): {why}")

    def _pay_invoice(self, invoice_id: int) -> None:
        """Pay what is left to pay, as a clerk does with the invoice's Pay wizard.

        The wizard's first form proposes the payee, the amount left and today's date; the
        clerk picks the payment method and presses OK, which pays and reconciles in full.
        """
        method = self.lookup_id("account.invoice.payment.method", PAYMENT_METHOD, "payment method")
        context = {"active_model": INVOICE, "active_id": invoice_id, "active_ids": [invoice_id]}
        wizard, rpc = "wizard.account.invoice.pay", self.rpc
        with rpc.lock:  # wizard sessions are written to the database too
            session, start, _ = rpc.call(f"{wizard}.create", rpc.context)
            try:
                form = rpc.call(f"{wizard}.execute", session, {}, start, {**rpc.context, **context})
                proposed = form["view"]["defaults"]
                values = {k: v for k, v in proposed.items() if not k.endswith(".")}
                values["payment_method"] = method
                answer = rpc.call(
                    f"{wizard}.execute",
                    session,
                    {start: values},
                    "choice",
                    {**rpc.context, **context},
                )
            finally:
                rpc.call(f"{wizard}.delete", session, rpc.context)
        if answer.get("view"):  # it asks how to book a part payment: not a full payment
            raise Refused("Tryton did not take the payment as paying the invoice in full")
        state = self.read_one(INVOICE, invoice_id, ["state"], "invoice")["state"]
        if state != "paid":
            raise Refused(f"the payment was booked but Tryton reads the invoice {state}")

    def _invoice_rows(self, domain: list[Any]) -> list[dict[str, Any]]:
        """Invoices with their due dates, or without them for a user who may not see them."""
        try:
            return self.search_read(
                INVOICE, domain, [*_INVOICE_READ, _DUE_READ], order=[("id", "ASC")]
            )
        except Refused as refusal:
            if "not allowed to access" not in str(refusal):
                raise
            return self.search_read(INVOICE, domain, _INVOICE_READ, order=[("id", "ASC")])

    def _invoice_record(self, invoice_id: int) -> dict[str, Any]:
        rows = self._invoice_rows([["id", "=", invoice_id]])
        if not rows:
            raise Refused(f"no invoice with id {invoice_id}", "not_found")
        return self._invoice_from_row(rows[0])

    @staticmethod
    def _invoice_from_row(row: dict[str, Any]) -> dict[str, Any]:
        term = row.get("payment_term.")
        due = [m["maturity_date"] for m in row.get("lines_to_pay.", []) if m.get("maturity_date")]
        return {
            "id": str(row["id"]),
            "account": ref(row["party"]),
            "order": ref(row["sales"][0]) if row["sales"] else None,
            "total": number(row["total_amount"]),
            "due_date": iso(min(due)) if due else None,
            "payment_term": term["rec_name"] if term else None,
            "stage": INVOICE_FROM_STATE[row["state"]],
            "lines": _lines(row),
        }


_PAID_KEPT = "its payment is in the books, and a paid invoice cannot be cancelled"

__all__ = ["Decimal", "OrderOps"]
