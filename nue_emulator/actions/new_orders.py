"""New-order pricing: `POST /orders` (a draft) and `POST /orders/invoice-preview` for new products.
The header is validated, the bill-to contact found, lines built from `orderProducts` and priced,
and, for a draft, numbered and stored with the plan activation will carry out.

Separate from change orders, which start from existing subscriptions instead of products.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone

from nue_emulator import inputs, pricing
from nue_emulator.actions.common import Context
from nue_emulator.actions.drafts import (
    Priced,
    customer_from_body,
    options_of,
    order_doc,
    store_draft,
)
from nue_emulator.actions.invoicing import preview_invoices
from nue_emulator.actions.lines import Line, build_product_lines
from nue_emulator.actions.payment_methods import payment_method_object, payment_plan
from nue_emulator.api import ApiError, invalid
from nue_emulator.catalog import Catalog
from nue_emulator.models import Contact, Customer


def billing_period_of(value: Any, field_name: str) -> str | None:
    if value is None:
        return None
    if value not in pricing.BILLING_PERIODS:
        raise invalid(field_name, f"must be one of {', '.join(pricing.BILLING_PERIODS)}.")
    return str(value)


def bill_to_contact(customer: Customer, body: dict[str, Any]) -> Contact | None:
    ref = inputs.obj(body.get("billToContact"), "billToContact", required=False)
    contact_id = ref.get("id") if ref else body.get("billToContactId")
    path = "billToContact.id" if ref else "billToContactId"
    return _own_contact(customer, inputs.text(contact_id, path, required=False), path)


def ship_to_contact(customer: Customer, body: dict[str, Any]) -> Contact | None:
    """The create-draft guide's "comprehensive configuration" sample sends `shipToContact` as
    the contact's id, where `billToContact` is {id}: both shapes are taken for either."""
    value = body.get("shipToContact")
    if isinstance(value, dict):
        return _own_contact(
            customer, inputs.text(value.get("id"), "shipToContact.id"), "shipToContact.id"
        )
    return _own_contact(
        customer, inputs.text(value, "shipToContact", required=False), "shipToContact"
    )


def _own_contact(customer: Customer, contact_id: str | None, path: str) -> Contact | None:
    if contact_id is None:
        return None
    contact = Contact.objects.filter(id=contact_id, customer=customer).first()
    if contact is None:
        raise ApiError(
            400,
            "CONTACT_NOT_FOUND",
            f"Contact {contact_id} is not a contact of this customer.",
            [{"field": path, "message": "unknown contact"}],
        )
    return contact


SHIPPING_FIELDS = (
    "shippingStreet",
    "shippingCity",
    "shippingState",
    "shippingPostalCode",
    "shippingCountry",
)


def shipping_address(body: dict[str, Any]) -> dict[str, Any] | None:
    """The shipping address the order body gives for tax, if any: "either by explicitly including
    the shipping address in the order request body, or by omitting it and allowing the system to
    automatically fall back to using the shipping address already associated with the customer
    record" (new-orders.txt, Calculating Tax). Its fields are named as on customers and contacts
    (nue-api.md §3.7); the country is what a tax rate needs."""
    given = {name: inputs.text(body.get(name), name, required=False) for name in SHIPPING_FIELDS}
    if not any(given.values()):
        return None
    if given["shippingCountry"] is None:
        raise invalid("shippingCountry", "is required with a shipping address.")
    return given


def validate_header(body: dict[str, Any]) -> None:
    for name in (
        "name",
        "description",
        "orderReferenceNumber",
        "poNumber",
        "billingAccountId",
        "paymentMethod",
    ):
        inputs.text(
            body.get(name), name, required=False, max_length=2000 if name == "description" else 255
        )
    inputs.day(body.get("poDate"), "poDate", required=False)
    inputs.obj(body.get("transactionHub"), "transactionHub", required=False)


def subscriptions_only(lines: list[Line], path: str) -> None:
    """new-orders.txt, Current Limitations: "Only Subscriptions are currently supported in new
    order creation. Entitlements and asset support will be available in a future release." A
    line that would become an asset or an entitlement (a one-time product) is refused, an add-on
    on its bundle's line."""
    index = -1
    for line in lines:
        if line.parent is None:
            index += 1
        if line.entry.subscription:
            continue
        field = (
            f"{path}[{index}].priceBookEntryId"
            if line.parent is None
            else f"{path}[{index}].addOns"
        )
        name = line.entry.product["name"]
        raise ApiError(
            400,
            "UNSUPPORTED_PRODUCT",
            f"{name} is not a subscription product: new orders support subscriptions only; "
            "entitlements and assets are not supported in new orders yet.",
            [{"field": field, "message": "not a subscription product"}],
        )


def price_new_order(
    body: dict[str, Any],
    *,
    persist: bool,
    today: date | None = None,
    preview_only: bool = False,
    by_account_manager: bool = False,
) -> Priced:
    """A self-service new order, or (`by_account_manager`, the demo history only) one the
    account manager entered in Nue itself, where assets and entitlements are provisioned
    (POST /cpq/create-order, create-order-overview.txt) and the self-service limit is not."""
    customer = customer_from_body(body)
    ctx = Context(Catalog.load(), customer, today or timezone.localdate())
    effective = (
        inputs.required_day(body.get("effectiveDate"), "effectiveDate")
        if not preview_only
        else (inputs.day(body.get("effectiveDate"), "effectiveDate", required=False) or ctx.today)
    )
    validate_header(body)
    preview, calculate_tax = options_of(body, preview=preview_only)
    order_period = billing_period_of(body.get("billingPeriod"), "billingPeriod")
    bill_to = bill_to_contact(customer, body)
    ship_to_person = ship_to_contact(customer, body)
    ship_to = shipping_address(body)
    order_payment = payment_method_object(
        body.get("paymentMethodObject"), "paymentMethodObject", customer
    )
    raw_products = inputs.items(body.get("orderProducts"), "orderProducts")
    lines = build_product_lines(ctx, raw_products, "orderProducts", order_period)
    if not by_account_manager:
        subscriptions_only(lines, "orderProducts")
    for line in lines:
        line.price()
    doc = order_doc(
        ctx,
        body,
        lines,
        persist=persist,
        order_type="New",
        effective=effective,
        billing_period=order_period,
        calculate_tax=calculate_tax and not preview_only,
        bill_to=bill_to,
        ship_to=ship_to,
        ship_to_contact=ship_to_person,
    )
    invoices = preview_invoices(ctx, lines) if (preview or preview_only) else []
    plan = {
        "kind": "new",
        "newLines": [line.as_api() for line in lines],
        # Stored with the draft, saved and assigned on activation (create-draft-orders.txt).
        "paymentMethods": payment_plan(
            order_payment, {line.id: line.payment_method for line in lines}
        ),
    }
    return Priced(ctx, lines, doc, invoices, preview, plan)


def create_draft(
    body: dict[str, Any], today: date | None = None, *, by_account_manager: bool = False
) -> Priced:
    return store_draft(
        price_new_order(body, persist=True, today=today, by_account_manager=by_account_manager)
    )
