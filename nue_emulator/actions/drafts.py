"""What every draft is made of, new order or change order alike: the customer the body names,
the options it sets, the order document (its lines taxed, its number taken when stored), the
response (`order`, pending `assets`, `previewInvoices`) and the stored Order.

Separate so that new-order pricing and change-order pricing each build their lines their own way
and then share one document, one response and one way of storing, without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from nue_emulator import extensions, inputs, pricing
from nue_emulator.actions.common import Context, new_id, now_iso
from nue_emulator.actions.lines import Line
from nue_emulator.api import ApiError, invalid
from nue_emulator.catalog import currency_of
from nue_emulator.models import Contact, Customer, Order, Sequence
from nue_emulator.seed import CUSTOM_FIELDS


def customer_from_body(body: dict[str, Any]) -> Customer:
    ref = inputs.obj(body.get("customer"), "customer", required="customerId" not in body)
    customer_id = inputs.required_text(
        ref.get("id") if ref is not None else body.get("customerId"),
        "customer.id" if ref is not None else "customerId",
    )
    customer = Customer.objects.filter(id=customer_id).first()
    if customer is None:
        raise ApiError(
            400,
            "CUSTOMER_NOT_FOUND",
            f"Customer {customer_id} was not found.",
            [{"field": "customer.id", "message": "unknown customer"}],
        )
    return customer


def tax_address(
    ctx: Context,
    bill_to: Contact | None,
    ship_to: dict[str, Any] | None,
    ship_to_contact: Contact | None = None,
) -> tuple[str | None, str | None]:
    """Tax follows the shipping address (nue-api.md §4): the one the order body gives, else
    (new-orders.txt, Calculating Tax) the customer's. Between them (an emulator decision,
    §5.12): the ship-to contact's shipping address, the order's own, then the bill-to
    contact's."""
    contacts = (ship_to_contact, bill_to)
    for doc in (ship_to, *(c.doc if c else None for c in contacts), ctx.account):
        if doc and doc.get("shippingCountry"):
            return doc["shippingCountry"], doc.get("shippingState")
    return None, None


def apply_tax(
    ctx: Context,
    lines: list[Line],
    bill_to: Contact | None,
    ship_to: dict[str, Any] | None,
    ship_to_contact: Contact | None = None,
) -> None:
    country, state = tax_address(ctx, bill_to, ship_to, ship_to_contact)
    if country is None:
        ctx.warnings.append(
            {
                "code": "TAX_ADDRESS_MISSING",
                "message": "No shipping address on the customer or bill-to contact (nor on the "
                "order or its ship-to contact); tax was not calculated.",
            }
        )
        return
    rate = pricing.tax_rate(country, state)
    for line in lines:
        line.tax = pricing.tax(line.total, rate)


def pending_assets(lines: list[Line]) -> list[dict[str, Any]]:
    """What activation will create, as the draft response's `assets` (status PendingActivation)."""
    return [
        {
            "id": None,
            "orderProductId": line.id,
            "assetNumber": line.asset_number,
            "productId": line.entry.product["id"],
            "productName": line.entry.product["name"],
            "productCategory": line.entry.product["productCategory"],
            "quantity": line.after["quantity"] if line.after else line.quantity,
            "startDate": line.start,
            "endDate": line.after["subscriptionEndDate"] if line.after else line.end,
            "coTermAsset": line.coterm_asset,
            "changeType": line.change_type,
            "status": "PendingActivation",
        }
        for line in lines
    ]


def order_doc(
    ctx: Context,
    body: dict[str, Any],
    lines: list[Line],
    *,
    persist: bool,
    order_type: str,
    effective: date,
    billing_period: str | None,
    calculate_tax: bool,
    bill_to: Contact | None,
    ship_to: dict[str, Any] | None = None,
    ship_to_contact: Contact | None = None,
) -> dict[str, Any]:
    """The draft's order document: its lines taxed when asked, an id and number when stored."""
    custom = inputs.custom_fields(body, CUSTOM_FIELDS["Order"])
    if calculate_tax:
        apply_tax(ctx, lines, bill_to, ship_to, ship_to_contact)
    order_id = number = None
    if persist:
        order_id = new_id()
        number = f"O-{Sequence.take('order'):08d}"
    totals = pricing.totals(line.priced() for line in lines)
    starts = [line.start for line in lines]
    ends = [line.end for line in lines if line.end]
    first_recurring = next((line for line in lines if line.end), None)
    created = now_iso()
    return {
        "id": order_id,
        "orderNumber": number,
        "name": body.get("name")
        or (
            f"Change order {number}"
            if order_type == "Change" and number
            else f"Order {number}"
            if number
            else None
        ),
        "description": body.get("description") if order_type == "New" else None,
        "status": "Draft",
        "orderType": order_type,
        "customerId": ctx.customer.id,
        "customerName": ctx.customer.name,
        "effectiveDate": effective,
        "orderStartDate": min(starts) if starts else effective,
        "orderEndDate": max(ends) if ends else None,
        "subscriptionStartDate": first_recurring.start if first_recurring else None,
        "subscriptionEndDate": first_recurring.end if first_recurring else None,
        "subscriptionTerm": first_recurring.term if first_recurring else None,
        "billingPeriod": billing_period,
        "currency": currency_of(ctx.customer.doc),
        **totals.as_api(),
        "calculateTax": calculate_tax,
        "orderPlacedDate": None,
        "activatedDate": None,
        "canceledDate": None,
        "createdDate": created,
        "lastModifiedDate": created,
        "orderReferenceNumber": body.get("orderReferenceNumber"),
        "poNumber": body.get("poNumber"),
        "poDate": body.get("poDate"),
        "billToContact": {"id": bill_to.id} if bill_to else None,
        # Stored as the guide sends it: the contact's id.
        "shipToContact": ship_to_contact.id if ship_to_contact else None,
        **(ship_to or {}),
        "paymentMethod": body.get("paymentMethod"),
        "billingAccountId": body.get("billingAccountId"),
        "transactionHub": body.get("transactionHub"),
        "externalId": None,
        "orderProducts": [extensions.order_line(line.as_api()) for line in lines],
        **custom,
    }


def options_of(body: dict[str, Any], *, preview: bool = False) -> tuple[bool, bool]:
    options = inputs.obj(body.get("options"), "options", required=False) or {}
    if preview:
        for name in ("generateInvoice", "activateInvoice", "asyncPayment"):
            if name in options:
                raise invalid(f"options.{name}", "is not accepted by invoice preview.")
    return (
        inputs.flag(options.get("previewInvoice"), "options.previewInvoice"),
        inputs.flag(options.get("calculateTax"), "options.calculateTax"),
    )


@dataclass
class Priced:
    ctx: Context
    lines: list[Line]
    order: dict[str, Any]
    invoices: list[dict[str, Any]]
    preview: bool
    plan: dict[str, Any]


def draft_response(priced: Priced) -> dict[str, Any]:
    data: dict[str, Any] = {
        "order": priced.order,
        "assets": pending_assets(priced.lines),
        "subscriptions": [],
        "entitlements": [],
        "invoices": priced.invoices,
        "previewInvoices": priced.invoices,
    }
    return data


def store_draft(priced: Priced) -> Priced:
    """Saves a priced draft with the plan activation will carry out."""
    Order.objects.create(
        id=priced.order["id"],
        number=priced.order["orderNumber"],
        customer=priced.ctx.customer,
        status="Draft",
        order_type=priced.order["orderType"],
        doc=priced.order,
        plan=priced.plan,
    )
    return priced
