"""Recording a payment against invoices: `POST /billing/invoices:pay` (nue-api.md §2.8: "Record a
payment: {payInvoices:[{invoiceId, customerId, transactionAmount, paymentSource:"Nue",
paymentMethod:"CreditCard"}]}; full or partial; updates payment status and creates a payment
application").

Every item is checked before any invoice changes, so a refused request records nothing. Nue
documents no answer body; the emulator answers with the payment applications it created.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from nue_emulator import inputs
from nue_emulator.actions.common import dec, new_id, now_iso
from nue_emulator.api import invalid, not_found
from nue_emulator.models import Invoice
from nue_emulator.pricing import ZERO

MAX_PAYMENTS = 100
# The payment statuses under which an invoice takes no more payment (§3.5).
CLOSED = frozenset({"paid", "canceled", "writtenoff", "refunded", "creditback", "applied"})


def _amount(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise invalid(field, "must be a number.")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise invalid(field, "must be a number.") from None
    if not amount.is_finite() or amount <= 0:
        raise invalid(field, "must be greater than 0.")
    if amount != amount.quantize(Decimal("0.01")):
        raise invalid(field, "must have at most 2 decimal places.")
    return amount


def pay_invoices(body: Any) -> list[dict[str, Any]]:
    payments = inputs.items(
        inputs.body_obj(body).get("payInvoices"), "payInvoices", max_items=MAX_PAYMENTS
    )
    checked: list[tuple[Invoice, dict[str, Any]]] = []
    owed: dict[str, Decimal] = {}
    for index, raw in enumerate(payments):
        at = f"payInvoices[{index}]"
        item = inputs.obj(raw, at)
        assert item is not None
        invoice_id = inputs.required_text(item.get("invoiceId"), f"{at}.invoiceId", max_length=64)
        customer_id = inputs.required_text(
            item.get("customerId"), f"{at}.customerId", max_length=64
        )
        amount = _amount(item.get("transactionAmount"), f"{at}.transactionAmount")
        source = inputs.required_text(
            item.get("paymentSource"), f"{at}.paymentSource", max_length=64
        )
        method = inputs.required_text(
            item.get("paymentMethod"), f"{at}.paymentMethod", max_length=64
        )
        invoice = Invoice.objects.select_for_update().filter(id=invoice_id).first()
        if invoice is None:
            raise not_found("Invoice", invoice_id)
        if invoice.customer_id != customer_id:
            raise invalid(f"{at}.customerId", "is not the invoice's customer.")
        doc = invoice.doc
        if doc["status"] != "Active" or str(doc.get("paymentStatus", "")).lower() in CLOSED:
            raise invalid(f"{at}.invoiceId", f"invoice {invoice.number} is not open for payment.")
        left = owed.get(invoice.id, dec(doc["balance"])) - amount
        if left < 0:
            raise invalid(
                f"{at}.transactionAmount", f"is more than the balance of invoice {invoice.number}."
            )
        owed[invoice.id] = left
        checked.append((invoice, {"amount": amount, "source": source, "method": method}))
    applied = []
    for invoice, payment in checked:
        doc = invoice.doc
        balance = dec(doc["balance"]) - payment["amount"]
        application = {
            "id": new_id(),
            "invoiceId": invoice.id,
            "invoiceNumber": invoice.number,
            "customerId": invoice.customer_id,
            "transactionAmount": payment["amount"],
            "paymentSource": payment["source"],
            "paymentMethod": payment["method"],
            "appliedDate": now_iso(),
        }
        doc["balance"] = balance
        doc["paidAmount"] = dec(doc.get("paidAmount") or ZERO) + payment["amount"]
        doc["paymentStatus"] = "Paid" if balance == 0 else "PartiallyPaid"
        doc["paymentApplications"] = [*doc.get("paymentApplications", []), application]
        invoice.doc = doc
        invoice.save(update_fields=["doc"])
        applied.append(application)
    return applied
