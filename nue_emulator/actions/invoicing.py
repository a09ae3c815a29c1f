"""Invoices from order lines: each line's amount and tax spread over its billing periods and
grouped by invoice date, as the preview a draft shows and as the invoices activation creates.

Separate because both drafting (the preview) and activation (the real invoices, and the later
periods the seeded history bills) need the same schedule, and neither should import the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from nue_emulator import pricing
from nue_emulator.actions.common import (
    DEFAULT_BILLING_PERIOD,
    Context,
    as_date,
    dec,
    new_id,
    now_iso,
    opt_date,
)
from nue_emulator.actions.lines import Line
from nue_emulator.catalog import currency_of
from nue_emulator.models import Customer, Invoice, Order, Sequence
from nue_emulator.pricing import ZERO

DEFAULT_PAYMENT_TERM_DAYS = 30


def payment_term_days(customer: Customer) -> int:
    term = str(customer.doc.get("paymentTerm") or "")
    digits = "".join(ch for ch in term if ch.isdigit())
    return int(digits) if digits else DEFAULT_PAYMENT_TERM_DAYS


def invoice_items(
    line_docs: list[dict[str, Any]], anchors: Mapping[str, Any] | None = None
) -> list[tuple[dict[str, Any], list[pricing.Slice]]]:
    """Each order line's amount (and tax) spread over its billing periods: a change line's on
    the billing cycle of the subscription it changes (`anchors`, by line id), so its invoices
    fall on that subscription's billing dates rather than starting a cycle on the change date.
    A change modifies the subscription and "billing is updated"
    (getting-started-with-order-management.txt, step 7): it is the same subscription, billed on
    its own dates, with the partial period before them billed on its own (nue-api.md §4)."""
    anchors = anchors or {}
    entries = []
    for line in line_docs:
        total, tax_amount = dec(line["totalPrice"]), dec(line["tax"])
        if total == 0 and tax_amount == 0:
            continue
        header = {
            "orderProductId": line["id"],
            "productId": line["productId"],
            "productName": line["productName"],
            "productSku": line["productSku"],
            "assetNumber": line.get("assetNumber") or line.get("subscriptionName"),
            "changeType": line.get("changeType"),
            "quantity": line["quantity"],
            "unitPrice": dec(line["listPrice"]),
            "salesPrice": dec(line["salesPrice"]),
        }
        end = opt_date(line["subscriptionEndDate"])
        slices = pricing.schedule(
            total,
            tax_amount,
            as_date(line["subscriptionStartDate"]),
            end,
            line.get("billingPeriod") or DEFAULT_BILLING_PERIOD,
            opt_date(anchors.get(line["id"])),
        )
        entries.append((header, slices))
    return entries


def invoice_doc(
    draft: pricing.InvoiceDraft,
    customer: Customer,
    *,
    invoice_id: str | None = None,
    number: str | None = None,
    order: dict[str, Any] | None = None,
    status: str = "Draft",
) -> dict[str, Any]:
    amount_without_tax = draft.amount_without_tax
    tax_amount = draft.tax_amount
    amount = amount_without_tax + tax_amount
    return {
        "id": invoice_id,
        "name": number,
        "invoiceNumber": number,
        "status": status,
        "paymentStatus": "NotTransferred" if status == "Draft" else "Transferred",
        "customerId": customer.id,
        "customerName": customer.name,
        "orderId": order["id"] if order else None,
        "orderNumber": order["orderNumber"] if order else None,
        "currency": currency_of(order or customer.doc),
        "invoiceDate": draft.invoice_date,
        "dueDate": draft.invoice_date + timedelta(days=payment_term_days(customer)),
        "startDate": min(i["startDate"] for i in draft.items),
        "endDate": max(i["endDate"] for i in draft.items),
        "amount": amount,
        "amountWithoutTax": amount_without_tax,
        "taxAmount": tax_amount,
        "balance": amount,
        "paidAmount": ZERO,
        "poNumber": order.get("poNumber") if order else None,
        "poDate": order.get("poDate") if order else None,
        "createdDate": now_iso(),
        "items": draft.items,
    }


def billing_anchors(lines: list[Line]) -> dict[str, date]:
    """The billing cycle each change line joins, by line id: kept in the draft's plan."""
    return {line.id: line.billing_anchor for line in lines if line.billing_anchor is not None}


def preview_invoices(ctx: Context, lines: list[Line]) -> list[dict[str, Any]]:
    items = invoice_items([line.as_api() for line in lines], billing_anchors(lines))
    drafts = pricing.group_invoices(items)
    return [invoice_doc(d, ctx.customer) for d in drafts]


def generate_invoices(
    order: Order, doc: dict[str, Any], today: date, *, active: bool
) -> list[dict[str, Any]]:
    """Invoices up to the later of today and the order's first billing date (nue-api.md §2.1)."""
    lines = doc["orderProducts"]
    starts = [as_date(line["subscriptionStartDate"]) for line in lines]
    target = max(today, min(starts)) if starts else today
    drafts = pricing.group_invoices(invoice_items(lines, order.plan.get("billingAnchors")), target)
    if not drafts:
        return []
    first = Sequence.take("invoice", len(drafts))
    created = []
    for offset, draft in enumerate(drafts):
        number = f"INV-{first + offset:08d}"
        invoice = invoice_doc(
            draft,
            order.customer,
            invoice_id=new_id(),
            number=number,
            order=doc,
            status="Active" if active else "Draft",
        )
        Invoice.objects.create(
            id=invoice["id"],
            number=number,
            customer=order.customer,
            order=order,
            status=invoice["status"],
            invoice_date=draft.invoice_date,
            doc=invoice,
        )
        created.append(invoice)
    return created
