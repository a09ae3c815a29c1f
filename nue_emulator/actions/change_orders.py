"""Change-order pricing: `POST /change-orders` (a draft) and `POST /orders/invoice-preview` for
asset changes. The body's `assetChanges` go through the ChangeBuilder, its cross-sold `products`
become new lines, and the draft is stored with a plan naming each subscription's version it
changes, so activation can refuse a change drafted against an older one.

Separate from actions/asset_changes.py, which prices each change on its own and knows nothing of
the order around it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone

from nue_emulator import inputs
from nue_emulator.actions.asset_changes import ChangeBuilder, snapshot
from nue_emulator.actions.drafts import (
    Priced,
    customer_from_body,
    draft_response,
    options_of,
    order_doc,
    store_draft,
)
from nue_emulator.actions.invoicing import billing_anchors, preview_invoices
from nue_emulator.actions.lines import build_product_lines
from nue_emulator.actions.payment_methods import payment_plan
from nue_emulator.api import invalid
from nue_emulator.catalog import Catalog
from nue_emulator.pricing import ZERO


def price_change_order(
    body: dict[str, Any], *, persist: bool, today: date | None = None, preview_only: bool = False
) -> Priced:
    customer = customer_from_body(body) if ("customer" in body or "customerId" in body) else None
    if not preview_only:
        for name in ("priceTagIds", "priceTagCodes", "description"):
            if name in body:
                raise invalid(name, "is not accepted on change orders.")
    preview, calculate_tax = options_of(body, preview=preview_only)
    builder = ChangeBuilder(Catalog.load(), customer, today or timezone.localdate())
    raw_changes = inputs.items(body.get("assetChanges"), "assetChanges")
    for index, raw_value in enumerate(raw_changes):
        path = f"assetChanges[{index}]"
        raw = inputs.obj(raw_value, path)
        assert raw is not None
        for name in ("priceTagIds", "priceTagCodes"):
            if name in raw:
                raise invalid(f"{path}.{name}", "price tags are not accepted on change orders.")
        builder.apply(raw, path)
    ctx = builder.ctx
    assert ctx is not None
    raw_products = inputs.items(body.get("products"), "products", required=False)
    cross_sell = build_product_lines(ctx, raw_products, "products", None)
    for line in cross_sell:
        line.price()
    lines = builder.lines + cross_sell
    effective = min((line.start for line in lines), default=ctx.today)
    doc = order_doc(
        ctx,
        body,
        lines,
        persist=persist,
        order_type="Change",
        effective=effective,
        billing_period=None,
        calculate_tax=calculate_tax and not preview_only,
        bill_to=None,
    )
    invoices = preview_invoices(ctx, lines) if (preview or preview_only) else []
    plan = {
        "kind": "change",
        "changes": [
            {"name": name, "fromVersion": state.row.version, "after": state.doc}
            for name, state in builder.states.items()
            if state.doc != builder.originals[name]
        ],
        "newLines": [line.as_api() for line in builder.new_lines + cross_sell],
        "paymentMethods": payment_plan(
            None, {line.id: line.payment_method for line in builder.new_lines + cross_sell}
        ),
        "billingAnchors": billing_anchors(lines),
    }
    priced = Priced(ctx, lines, doc, invoices, preview, plan)
    priced.order["assetChanges"] = [
        {
            "assetNumber": name,
            "subscriptionId": state.row.id,
            "changeTypes": sorted(
                {
                    ln.change_type
                    for ln in builder.lines
                    if ln.asset_number == name and ln.change_type
                }
            ),
            "before": snapshot(builder.originals[name]),
            "after": ChangeBuilder.after_snapshot(state),
            "amount": sum(
                (ln.total for ln in builder.lines if ln.subscription_id == state.row.id), ZERO
            ),
        }
        for name, state in builder.states.items()
        if state.doc != builder.originals[name]
    ]
    return priced


def create_change_order(body: dict[str, Any], today: date | None = None) -> Priced:
    return store_draft(price_change_order(body, persist=True, today=today))


def change_response(priced: Priced) -> dict[str, Any]:
    data = draft_response(priced)
    data["assetChanges"] = priced.order["assetChanges"]
    return data
