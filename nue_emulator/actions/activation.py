"""What becomes of a stored draft: activation (`POST /orders/{id}`) carries out the plan it was
stored with (new versions of the subscriptions it changes; new subscriptions, assets and
entitlements for its new lines; invoices when asked), and discard (`DELETE /orders/{id}`, an
emulator extension) cancels it.

Separate from pricing because it works only from the stored order and plan, whichever kind of
draft made them, and is the one step that writes subscriptions.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone

from nue_emulator import extensions, inputs
from nue_emulator.actions.common import dec, new_id, now_iso
from nue_emulator.actions.invoicing import generate_invoices
from nue_emulator.actions.payment_methods import default_payment_methods, payment_method_object
from nue_emulator.actions.subscriptions import present_subscription
from nue_emulator.api import ApiError, not_found
from nue_emulator.catalog import currency_of
from nue_emulator.models import Asset, Contact, Customer, Order, Sequence, Subscription
from nue_emulator.pricing import money
from nue_emulator.seed import CUSTOM_FIELDS, salesforce_id

# Salesforce key prefixes of what activation syncs: orders are `801…` (nue-api.md §4); the
# subscription object is the Nue package's own (a custom object, `a…`).
SALESFORCE_ORDER = "801"
SALESFORCE_SUBSCRIPTION = "a0S"
DIRECT_CUSTOMER = "Direct Customer"


def order_or_404(order_id: str) -> Order:
    order = Order.objects.filter(id=order_id).first()
    if order is None:
        raise not_found("Order", order_id)
    return order


def not_a_draft(order: Order, verb: str) -> ApiError:
    return ApiError(
        409,
        "ORDER_NOT_DRAFT",
        f"Order {order.number} is {order.status}; only a Draft order can be {verb}.",
    )


def activation_options(body: dict[str, Any], customer: Customer) -> dict[str, Any]:
    options = inputs.obj(body.get("options"), "options", required=False) or {}
    hub = inputs.obj(body.get("transactionHub"), "transactionHub", required=False)
    if hub is not None:
        for name in ("externalSystem", "externalId", "transactionType"):
            inputs.text(hub.get(name), f"transactionHub.{name}")
    return {
        "generate": inputs.flag(options.get("generateInvoice"), "options.generateInvoice"),
        "activate": inputs.flag(options.get("activateInvoice"), "options.activateInvoice"),
        "poNumber": inputs.text(body.get("poNumber"), "poNumber", required=False),
        "poDate": inputs.day(body.get("poDate"), "poDate", required=False),
        "transactionHub": hub,
        # Sent here by client code against the real API (nue-api.md §2.1 [3P]); the guide puts it
        # on the draft. Either way it is checked alike, and here it is the order's own.
        "paymentMethodObject": payment_method_object(
            body.get("paymentMethodObject"), "paymentMethodObject", customer
        ),
    }


def activate(order_id: str, body: dict[str, Any], today: date | None = None) -> dict[str, Any]:
    """Activate a draft exactly once: a conditional UPDATE … WHERE status='Draft' is the first
    write, so of concurrent activations one wins and the others find no draft (409). Before it
    the body is checked, a payment method in it against the order's customer."""
    found = order_or_404(order_id)
    chosen = activation_options(body, found.customer)
    if not Order.objects.filter(id=order_id, status="Draft").update(status="Activated"):
        raise not_a_draft(order_or_404(order_id), "activated")
    order = Order.objects.select_related("customer").get(id=order_id)
    customer = order.customer
    today = today or timezone.localdate()
    doc = dict(order.doc)
    doc.update(
        {
            "status": "Activated",
            "activatedDate": now_iso() if today == timezone.localdate() else f"{today}T12:00:00Z",
            "orderPlacedDate": today,
            "lastModifiedDate": now_iso(),
            "poNumber": chosen["poNumber"] or doc.get("poNumber"),
            "poDate": chosen["poDate"] or doc.get("poDate"),
            "transactionHub": chosen["transactionHub"] or doc.get("transactionHub"),
            # Synced at once (Nue syncs on activation; the emulator has no delay to show).
            "externalId": salesforce_id(SALESFORCE_ORDER, order.id),
        }
    )
    subscriptions = apply_changes(order, doc, today)
    created, assets, entitlements = provision(order, doc, today, chosen["paymentMethodObject"])
    subscriptions.extend(created)
    invoices = []
    if chosen["generate"]:
        invoices = generate_invoices(order, doc, today, active=chosen["activate"])
    order.doc = doc
    order.status = "Activated"
    order.save(update_fields=["doc", "status"])
    sync_customer(customer)
    return {
        "order": doc,
        "subscriptions": [present_subscription(s, today) for s in subscriptions],
        "assets": assets,
        "entitlements": entitlements,
        "invoices": invoices,
    }


def sync_customer(customer: Customer) -> None:
    """What getting-started-with-order-management.txt says a customer can check once its first
    order is activated: "the customer record automatically syncs to Salesforce, the externalId
    field populates with the Salesforce account id, customer type typically upgrades from
    'Prospect' to 'Direct Customer'"; its contacts sync with it (nue-api.md §4).

    Nue documents no name for the customer's type: the emulator calls it `type`, as Salesforce
    names the account field it syncs with."""
    doc = customer.doc
    synced = {
        "externalId": doc.get("externalId") or salesforce_id("001", customer.id),
        "type": DIRECT_CUSTOMER if doc.get("type") in (None, "Prospect") else doc["type"],
    }
    if any(doc.get(key) != value for key, value in synced.items()):
        customer.doc = {**doc, **synced}
        customer.save(update_fields=["doc"])
    for contact in Contact.objects.filter(customer=customer):
        if contact.doc.get("externalId") is None:
            contact.doc = {**contact.doc, "externalId": salesforce_id("003", contact.id)}
            contact.save(update_fields=["doc"])


def subscription_external_id(name: str) -> str:
    """The Salesforce record of a subscription, the same for all its versions: "activated orders
    create corresponding records in Salesforce … change orders update existing subscription
    records" (getting-started-with-order-management.txt)."""
    return salesforce_id(SALESFORCE_SUBSCRIPTION, f"subscription:{name}")


def apply_changes(order: Order, doc: dict[str, Any], today: date) -> list[dict[str, Any]]:
    versions = []
    for change in order.plan.get("changes", []):
        # Locks the current version (PostgreSQL): a concurrent activation changing the same
        # subscription waits, then finds it no longer current and gets the 409 below.
        current = (
            Subscription.objects.select_for_update()
            .filter(name=change["name"], is_current=True)
            .first()
        )
        if current is None or current.version != change["fromVersion"]:
            raise ApiError(
                409,
                "SUBSCRIPTION_CHANGED",
                f"{change['name']} changed after this change order was drafted; draft it again.",
            )
        version = current.version + 1
        new_doc = {
            **current.doc,
            **change["after"],
            # The hierarchy as stored now: a bundle activated earlier in this loop re-pointed it.
            "parentId": current.doc.get("parentId"),
            "rootId": current.doc.get("rootId"),
            "id": new_id(),
            "subscriptionVersion": version,
            "subscriptionCompositeId": f"{current.name}-{version}",
            "orderId": order.id,
            "orderNumber": order.number,
            "externalId": subscription_external_id(current.name),
            "lastModifiedDate": now_iso(),
        }
        finish_subscription(new_doc)
        Subscription.objects.filter(pk=current.pk).update(is_current=False)
        Subscription.objects.create(
            id=new_doc["id"],
            name=current.name,
            version=version,
            is_current=True,
            customer=order.customer,
            order=order,
            doc=new_doc,
        )
        repoint_hierarchy(order.customer_id, current.id, new_doc["id"])
        versions.append(new_doc)
    return versions


def repoint_hierarchy(customer_id: str, old_id: str, new_id: str) -> None:
    """A bundle's add-ons follow it to its new version: their parentId and rootId name the
    current version (an emulator decision; Nue does not say which version they name)."""
    rows = Subscription.objects.filter(customer_id=customer_id, is_current=True)
    for row in rows:
        moved = {k: new_id for k in ("parentId", "rootId") if row.doc.get(k) == old_id}
        if moved:
            row.doc = {**row.doc, **moved}
            row.save(update_fields=["doc"])


def finish_subscription(doc: dict[str, Any]) -> None:
    total = dec(doc["totalAmount"])
    term = int(doc.get("subscriptionTerm") or 0)
    doc["tcv"] = total
    doc["totalACV"] = money(total * 12 / term) if term else total
    doc["actualSubscriptionTerm"] = term


def provision(
    order: Order, doc: dict[str, Any], today: date, payment_method: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Subscriptions for recurring lines, assets for physical goods, entitlements for services;
    each subscription takes its default payment method as the order's objects say."""
    new_lines = order.plan.get("newLines", [])
    if not new_lines:
        return [], [], []
    methods = default_payment_methods(order.customer, order.plan, new_lines, payment_method)
    recurring = sum(1 for line in new_lines if line["subscriptionEndDate"] is not None)
    first = Sequence.take("subscription", recurring) if recurring else 0
    by_line: dict[str, dict[str, Any]] = {}
    subscriptions: list[dict[str, Any]] = []
    assets: list[dict[str, Any]] = []
    entitlements: list[dict[str, Any]] = []
    line_docs = {line["id"]: line for line in doc["orderProducts"]}
    numbered = 0
    for line in new_lines:
        if line["subscriptionEndDate"] is None:
            record = asset_doc(order, line, today)
            kind = "asset" if line["productCategory"] == "PhysicalGoods" else "entitlement"
            Asset.objects.create(
                id=record["id"], kind=kind, customer=order.customer, order=order, doc=record
            )
            (assets if kind == "asset" else entitlements).append(record)
            if line["id"] in line_docs:
                line_docs[line["id"]]["assetId"] = record["id"]
            continue
        name = f"SUB-{first + numbered:08d}"
        numbered += 1
        parent = by_line.get(line.get("parentId") or "")
        parent_name = parent["name"] if parent else line.get("parentSubscriptionName")
        # rootId (nue-api.md §3.3) names the top of the bundle: an add-on added to an existing
        # bundle hangs under a subscription that already knows its own root.
        root = by_line.get(line.get("rootId") or "")
        if parent is None and parent_name:
            parent = Subscription.objects.get(name=parent_name, is_current=True).doc
            root = parent
        root_id = (root.get("rootId") or root["id"]) if root else None
        root_name = (root.get("rootSubscriptionName") or root["name"]) if root else None
        sub = {
            "id": new_id(),
            "name": name,
            "subscriptionCompositeId": f"{name}-1",
            "subscriptionVersion": 1,
            "subscriptionLevel": line["level"],
            "parentId": parent["id"] if parent else None,
            "rootId": root_id,
            "parentSubscriptionName": parent_name,
            "rootSubscriptionName": root_name,
            "parentObjectType": "Subscription" if parent else None,
            "customerId": order.customer_id,
            "currency": currency_of(doc),
            "billingAccountId": doc.get("billingAccountId"),
            "productId": line["productId"],
            "productName": line["productName"],
            "productSku": line["productSku"],
            "productCategory": line["productCategory"],
            "priceBookEntryId": line["priceBookEntryId"],
            "priceBookId": line["priceBookId"],
            "productOptionId": line["productOptionId"],
            "optionType": line["optionType"],
            "orderId": order.id,
            "orderNumber": order.number,
            "orderProductId": line["id"],
            "uom": line["uom"],
            "subscriptionStartDate": line["subscriptionStartDate"],
            "subscriptionEndDate": line["subscriptionEndDate"],
            "subscriptionTerm": line["subscriptionTerm"],
            "renewalTerm": line["subscriptionTerm"],
            "autoRenew": True,
            "evergreen": False,
            "orderOnDate": today,
            "billingPeriod": line["billingPeriod"],
            "billingTiming": "In Advance",
            "quantity": line["quantity"],
            "listPrice": line["listPrice"],
            "salesPrice": line["salesPrice"],
            "totalAmount": line["totalPrice"],
            "taxAmount": line["tax"],
            "status": "Active",
            "isFreeTrial": line["isFreeTrial"],
            "freeTrialEndDate": line["subscriptionEndDate"] if line["isFreeTrial"] else None,
            "cancellationDate": None,
            "defaultPaymentMethodId": methods[line["id"]],
            "priceTagCodes": line["priceTagCodes"],
            "externalId": subscription_external_id(name),
            "createdDate": now_iso(),
            "lastModifiedDate": now_iso(),
            **inherited_custom_fields(line),
        }
        finish_subscription(sub)
        Subscription.objects.create(
            id=sub["id"],
            name=name,
            version=1,
            is_current=True,
            customer=order.customer,
            order=order,
            doc=sub,
        )
        by_line[line["id"]] = sub
        if line["id"] in line_docs and extensions.enabled():
            line_docs[line["id"]]["subscriptionName"] = name
            line_docs[line["id"]]["subscriptionId"] = sub["id"]
        subscriptions.append(sub)
    return subscriptions, assets, entitlements


def inherited_custom_fields(line: dict[str, Any]) -> dict[str, Any]:
    """An order product's custom fields that its subscription inherits: those "provided that the
    same custom field (with matching API name and compatible data type) exists on the
    Subscription object" (new-orders.txt)."""
    ours, theirs = CUSTOM_FIELDS["OrderProduct"], CUSTOM_FIELDS["Subscription"]
    return {
        k: v
        for k, v in line.items()
        if k.endswith("__c") and k in theirs and theirs[k] == ours.get(k)
    }


def asset_doc(order: Order, line: dict[str, Any], today: date) -> dict[str, Any]:
    asset_id = new_id()
    physical = line["productCategory"] == "PhysicalGoods"
    base = {
        "id": asset_id,
        "name": line["productName"],
        "status": "Active",
        "customerId": order.customer_id,
        "orderId": order.id,
        "orderProductId": line["id"],
        "productId": line["productId"],
        "productName": line["productName"],
        "productCategory": line["productCategory"],
        "quantity": line["quantity"],
        "startDate": line["subscriptionStartDate"],
        "price": line["totalPrice"],
        "createdDate": now_iso(),
    }
    if physical:
        return {
            **base,
            "assetNumber": asset_id,
            "installDate": None,
            "parentAssetObject": None,
            "listPrice": line["listPrice"],
        }
    return {
        **base,
        "entitlementNumber": asset_id,
        "usedQuantity": 0,
        "endDate": None,
        "parentEntitlementObject": None,
    }


def discard(order_id: str) -> dict[str, Any]:
    """Emulator-only `DELETE /orders/{id}`: a draft becomes Canceled (nue-api.md §5.4)."""
    if not Order.objects.filter(id=order_id, status="Draft").update(status="Canceled"):
        raise not_a_draft(order_or_404(order_id), "discarded")
    order = Order.objects.get(id=order_id)
    order.doc = {
        **order.doc,
        "status": "Canceled",
        "canceledDate": now_iso(),
        "lastModifiedDate": now_iso(),
    }
    order.save(update_fields=["doc"])
    return order.doc
