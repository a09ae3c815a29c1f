"""The emulator's API views: thin functions that validate the query, call actions, shape JSON.

Each view receives the parsed JSON body and returns `(payload, status)`; api.endpoint() does the
key check, envelope errors, transaction, faults and journal.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.db.models import TextField
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from nue_emulator import actions, extensions, faults, inputs, journal
from nue_emulator.api import (
    ApiError,
    encode,
    endpoint,
    extensions_enabled,
    failure,
    includes_param,
    int_param,
    invalid,
    json_list_param,
    no_route,
    not_found,
    public_base,
    success,
)
from nue_emulator.catalog import Catalog, currency_of, eligible
from nue_emulator.models import (
    Asset,
    Contact,
    Customer,
    Invoice,
    Order,
    PriceTag,
    Product,
    Subscription,
)

Result = tuple[Any, int]

QUOTE_SALT = "nue_emulator.quote"
INVOICE_SALT = "nue_emulator.invoice"
ORDER_PDF_SALT = "nue_emulator.order-pdf"
LINK_MAX_AGE = 7 * 24 * 3600  # magic links and invoice links expire after 7 days (§5.15)
QUOTE_TEMPLATES = {
    "standard": "Standard quote",
    "custom-branded-template": "Branded quote",
    "compact": "Compact quote",
}
ORDER_STATUSES = {
    "draft": "Draft",
    "active": "Activated",
    "activated": "Activated",
    "canceled": "Canceled",
    "cancelled": "Canceled",
}


def _page(request: HttpRequest, default_limit: int = 100) -> tuple[int, int]:
    return int_param(request, "page", 1, 1, 1_000_000), int_param(
        request, "limit", default_limit, 1, 500
    )


def _paginated(items: list[Any], page: int, limit: int) -> Result:
    start = (page - 1) * limit
    return success(
        items[start : start + limit],
        pagination={"page": page, "limit": limit, "total": len(items)},
    )


def _customer_or_404(customer_id: str) -> Customer:
    customer = Customer.objects.filter(id=customer_id).first()
    if customer is None:
        raise not_found("Customer", customer_id)
    return customer


def _customer_json(customer: Customer, with_contacts: bool) -> dict[str, Any]:
    doc = dict(customer.doc)
    if with_contacts:
        doc["contacts"] = [c.doc for c in customer.contacts.order_by("email")]
    return doc


# Customers and contacts --------------------------------------------------------------------------


@endpoint("customers", ("GET",))
def customers(request: HttpRequest, body: Any) -> Result:
    ids = json_list_param(request, "customerIds")
    includes = includes_param(request, ("contacts",))
    page, limit = _page(request)
    queryset = Customer.objects.order_by("name", "id").prefetch_related("contacts")
    if ids is not None:
        queryset = queryset.filter(id__in=ids)
    items = [_customer_json(c, "contacts" in includes) for c in queryset]
    return _paginated(items, page, limit)


@endpoint("customer", ("GET",))
def customer(request: HttpRequest, body: Any, customer_id: str) -> Result:
    includes = includes_param(request, ("contacts",))
    return success(_customer_json(_customer_or_404(customer_id), "contacts" in includes))


@endpoint("customer-contacts", ("GET", "POST"))
def customer_contacts(request: HttpRequest, body: Any, customer_id: str) -> Result:
    found = _customer_or_404(customer_id)
    if request.method == "POST":
        return success(actions.create_contacts(found, body), 201)
    page, limit = _page(request)
    return _paginated([c.doc for c in found.contacts.order_by("email")], page, limit)


@endpoint("contacts", ("GET",))
def contacts(request: HttpRequest, body: Any) -> Result:
    emails = json_list_param(request, "emails")
    customer_id = request.GET.get("customerId")
    page, limit = _page(request)
    queryset = Contact.objects.order_by("email")
    if emails is not None:
        queryset = queryset.filter(email__in=[e.strip().lower() for e in emails])
    if customer_id:
        queryset = queryset.filter(customer_id=customer_id)
    return _paginated([c.doc for c in queryset], page, limit)


@endpoint("contact", ("GET",))
def contact(request: HttpRequest, body: Any, contact_id: str) -> Result:
    found = Contact.objects.filter(id=contact_id).first()
    if found is None:
        raise not_found("Contact", contact_id)
    return success(found.doc)


# Catalog -----------------------------------------------------------------------------------------


@endpoint("catalog-products", ("GET",))
def catalog_products(request: HttpRequest, body: Any) -> Result:
    ids = json_list_param(request, "productIds")
    products = [extensions.product(p.doc) for p in Product.objects.all()]
    if ids is not None:
        products = [p for p in products if p["id"] in ids or p["sku"] in ids]
    # Nue's catalog endpoints answer a bare array (nue-api.md §1.4).
    return products, 200


# Nue's guide shows a product read by id but not how (nue-api.md §2.5): an extension.
@endpoint("catalog-product", (), extensions=("GET",))
def catalog_product(request: HttpRequest, body: Any, product_id: str) -> Result:
    found = (
        Product.objects.filter(id=product_id).first()
        or Product.objects.filter(sku=product_id).first()
    )
    if found is None:
        raise not_found("Product", product_id)
    return extensions.product(found.doc), 200


@endpoint("customer-products", ("GET",))
def customer_products(request: HttpRequest, body: Any, customer_id: str) -> Result:
    account = _customer_or_404(customer_id).doc
    catalog = Catalog.load()
    products = []
    for doc in catalog.products:
        entries = [e for e in doc["priceBookEntries"] if eligible(e, account)]
        if entries:
            options = catalog.options_in(doc.get("productOptions") or [], currency_of(account))
            found = {**doc, "priceBookEntries": entries, "productOptions": options}
            products.append(extensions.product(found))
    return products, 200


@endpoint("price-tags", ("GET",))
def price_tags(request: HttpRequest, body: Any) -> Result:
    code = request.GET.get("code")
    tags = [t.doc for t in PriceTag.objects.order_by("code")]
    if code:
        tags = [t for t in tags if t["code"].upper() == code.upper()]
    return tags, 200


# Orders ------------------------------------------------------------------------------------------


class OrderPdfs:
    """The `orderPdf` of orders as they are read: a link for an activated order, null otherwise.

    The getting-started guide checks "if pdf is available: if (order.orderPdf)", so Nue may
    give one; the emulator gives it for activated orders (a draft's document is its quote, the
    magic link). Like invoicePdf it is a signed link that expires, made when the order is read
    (on the host the request came to), so it is not stored in the order's document.
    """

    def __init__(self, request: HttpRequest) -> None:
        self.base = public_base(request)
        self.signer = signing.TimestampSigner(salt=ORDER_PDF_SALT)

    def link(self, order_id: str, status: str) -> str | None:
        if status != "Activated":
            return None
        return f"{self.base}/view-order-pdf/{self.signer.sign(order_id)}"

    def add(self, doc: dict[str, Any]) -> dict[str, Any]:
        return {**doc, "orderPdf": self.link(doc["id"], doc["status"])}


@endpoint("orders", ("GET", "POST"))
def orders(request: HttpRequest, body: Any) -> Result:
    if request.method == "POST":
        priced = actions.create_draft(inputs.body_obj(body))
        data = actions.draft_response(priced)
        data["order"] = OrderPdfs(request).add(data["order"])
        return success(data, 201, warnings=priced.ctx.warnings)
    ids = json_list_param(request, "customerIds", required=True) or []
    includes = includes_param(request, ("orderProducts", "assets", "invoices"))
    queryset = Order.objects.filter(customer_id__in=ids)
    statuses = _order_statuses(request.GET.get("status", ""))
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    # The stored JSON text goes out as is: decoding and re-encoding 10,000 orders would cost
    # seconds, splicing them costs milliseconds.
    column = "doc" if "orderProducts" in includes else "header"
    rows = list(
        queryset.order_by("-created", "-number")
        .annotate(raw=Cast(column, TextField()))
        .values_list("id", "status", "raw")
    )
    extras = _order_extras(request, [order_id for order_id, _, _ in rows], includes, ids)
    pdfs = OrderPdfs(request)
    parts = []
    for order_id, status, raw in rows:
        members = '"orderPdf":' + json.dumps(pdfs.link(order_id, status))
        extra = extras.get(order_id)
        if extra:
            members += "," + extra
        parts.append(raw.rstrip()[:-1] + "," + members + "}")
    body = '{"status":"SUCCESS","data":[' + ",".join(parts) + '],"warnings":[]}'
    return HttpResponse(body, content_type="application/json"), 200


def _order_statuses(raw: str) -> list[str]:
    statuses = []
    for value in (v.strip().lower() for v in raw.split(",") if v.strip()):
        if value not in ORDER_STATUSES:
            raise invalid("status", f"unknown status {value!r}; use draft, active or canceled.")
        statuses.append(ORDER_STATUSES[value])
    return statuses


def _related(
    request: HttpRequest, order_ids: list[str], includes: set[str], customer_ids: list[str]
) -> dict[str, dict[str, list[Any]]]:
    """Subscriptions, assets and invoices of these orders, as `includes` asks."""
    related: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    if not order_ids or not includes & {"assets", "invoices"}:
        return related
    today = timezone.localdate()
    if "assets" in includes:
        for order_id, doc in (
            Subscription.objects.filter(customer_id__in=customer_ids, order_id__isnull=False)
            .order_by("name", "version")
            .values_list("order_id", "doc")
        ):
            related[order_id]["assets"].append(actions.present_subscription(doc, today))
        for order_id, doc in Asset.objects.filter(customer_id__in=customer_ids).values_list(
            "order_id", "doc"
        ):
            related[order_id]["assets"].append(doc)
    if "invoices" in includes:
        base = public_base(request)
        for order_id, doc in (
            Invoice.objects.filter(customer_id__in=customer_ids, order_id__isnull=False)
            .order_by("invoice_date", "number")
            .values_list("order_id", "doc")
        ):
            related[order_id]["invoices"].append(_invoice_json(doc, base, set()))
    return related


def _order_extras(
    request: HttpRequest, order_ids: list[str], includes: set[str], customer_ids: list[str]
) -> dict[str, str]:
    """The JSON members to append to each order for `includes=assets,invoices`."""
    wanted = [name for name in ("assets", "invoices") if name in includes]
    if not wanted:
        return {}
    related = _related(request, order_ids, includes, customer_ids)
    return {
        order_id: ",".join(
            f'"{name}":' + json.dumps(related[order_id][name], default=encode) for name in wanted
        )
        for order_id in order_ids
    }


def _attach(
    request: HttpRequest, docs: list[dict[str, Any]], includes: set[str], customer_ids: list[str]
) -> None:
    related = _related(request, [doc["id"] for doc in docs], includes, customer_ids)
    for doc in docs:
        for name in ("assets", "invoices"):
            if name in includes:
                doc[name] = related[doc["id"]][name] if doc["id"] in related else []


# Nue documents only activation here (POST); reading one order and discarding a draft are the
# emulator's own (nue-api.md §5.4, §5.5) and served only with the extensions on.
@endpoint("order", ("POST",), extensions=("GET", "DELETE"))
def order(request: HttpRequest, body: Any, order_id: str) -> Result:
    pdfs = OrderPdfs(request)
    if request.method == "POST":
        activated = actions.activate(order_id, inputs.body_obj(body))
        return success({**activated, "order": pdfs.add(activated["order"])})
    if request.method == "DELETE":
        return success({"order": pdfs.add(actions.discard(order_id))})
    found = actions.order_or_404(order_id)
    includes = includes_param(request, ("orderProducts", "assets", "invoices"))
    doc = pdfs.add(found.doc)
    _attach(request, [doc], includes, [found.customer_id])
    return success(doc)


@endpoint("change-orders", ("POST",))
def change_orders(request: HttpRequest, body: Any) -> Result:
    priced = actions.create_change_order(inputs.body_obj(body))
    data = actions.change_response(priced)
    data["order"] = OrderPdfs(request).add(data["order"])
    return success(data, 201, warnings=priced.ctx.warnings)


@endpoint("invoice-preview", ("POST",))
def invoice_preview(request: HttpRequest, body: Any) -> Result:
    """Zero persistence and no tax (nue-api.md §2.4): the same engine, nothing stored."""
    body = inputs.body_obj(body)
    has_products, has_changes = "orderProducts" in body, "assetChanges" in body
    if has_products == has_changes:
        raise ApiError(
            400,
            "VALIDATION_ERROR",
            "Send exactly one of orderProducts or assetChanges.",
            [{"field": "orderProducts", "message": "exactly one of orderProducts/assetChanges"}],
        )
    if has_products and "products" in body:
        raise invalid("products", "is accepted only together with assetChanges.")
    if has_products:
        priced = actions.price_new_order(body, persist=False, preview_only=True)
    else:
        priced = actions.price_change_order(body, persist=False, preview_only=True)
    order_doc = {k: v for k, v in priced.order.items() if k not in ("id", "orderNumber")}
    return success(
        {"invoices": priced.invoices, "previewInvoices": priced.invoices, "order": order_doc},
        warnings=priced.ctx.warnings,
    )


@endpoint("magic-link", ("GET",))
def magic_link(
    request: HttpRequest, body: Any, order_id: str, template_id: str | None = None
) -> Result:
    found = actions.order_or_404(order_id)
    if template_id is not None and template_id not in QUOTE_TEMPLATES:
        raise ApiError(404, "NOT_FOUND", f"Quote template {template_id} was not found.")
    token = signing.dumps({"o": found.id, "t": template_id or "standard"}, salt=QUOTE_SALT)
    # Nue answers a bare object here, not the envelope (nue-api.md §1.4).
    return {"magicLink": f"{public_base(request)}/view-order/{token}"}, 200


# Subscriptions ----------------------------------------------------------------------------------


@endpoint("subscriptions", ("GET",))
def subscriptions(request: HttpRequest, body: Any) -> Result:
    ids = json_list_param(request, "customerIds")
    name = request.GET.get("name")
    if ids is None and not name:
        raise invalid("customerIds", "is required (or name).")
    includes = includes_param(request, ("product", "pricetags"))
    today = _as_of(request)
    queryset = Subscription.objects.filter(is_current=True)
    if ids is not None:
        queryset = queryset.filter(customer_id__in=ids)
    if name:
        queryset = queryset.filter(name=name)
    wanted = {s.strip().lower() for s in request.GET.get("status", "").split(",") if s.strip()}
    allowed = {"active", "pending", "canceled", "expired"}
    if wanted - allowed:
        raise invalid("status", f"use one or more of {', '.join(sorted(allowed))}.")
    catalog = Catalog.load() if includes else None
    docs = []
    for doc in queryset.order_by("name").values_list("doc", flat=True):
        item = actions.present_subscription(doc, today)
        if wanted and item["status"].lower() not in wanted:
            continue
        if catalog is not None and "product" in includes:
            item["product"] = catalog.by_product_id.get(item["productId"])
        if catalog is not None and "pricetags" in includes:
            item["pricetags"] = [
                catalog.tags_by_code[c.upper()]
                for c in item.get("priceTagCodes") or []
                if c.upper() in catalog.tags_by_code
            ]
        docs.append(item)
    return success(docs)


@endpoint("subscription", ("PATCH",))
def subscription(request: HttpRequest, body: Any, subscription_id: str) -> Result:
    return success([actions.update_subscription(subscription_id, inputs.body_obj(body))])


def _as_of(request: HttpRequest) -> date:
    """Snapshot view (nue-api.md §5.16): statuses as of `asOfDate`, default today.

    Nue describes a snapshot view but not how to ask for it (§2.7), so `asOfDate` is an
    extension. Without the extensions it is ignored, not rejected: Nue documents no error for a
    query parameter it does not read, and the emulator ignores every other such parameter; the
    answer is then the documented default, the current view, whatever date was sent.
    """
    raw = request.GET.get("asOfDate")
    if not raw or not extensions_enabled():
        return timezone.localdate()
    day = inputs.day(raw, "asOfDate")
    assert day is not None
    return day


@endpoint("product-relationships", ("GET",))
def product_relationships(request: HttpRequest, body: Any) -> Result:
    names = json_list_param(request, "subscriptionNames", required=True) or []
    catalog = Catalog.load()
    data = []
    rows = Subscription.objects.filter(is_current=True, name__in=names).order_by("name")
    for row in rows:
        product = catalog.by_product_id.get(row.doc["productId"])
        entry = catalog.entries.get(row.doc["priceBookEntryId"])
        currency = currency_of(entry.pbe) if entry else currency_of(row.doc)
        targets = actions.relationships(catalog, product, currency) if product else []
        data.append(
            {
                "subscriptionName": row.name,
                "subscriptionId": row.id,
                "customerId": row.customer_id,
                "productId": row.doc["productId"],
                "productName": row.doc["productName"],
                "priceBookEntryId": row.doc["priceBookEntryId"],
                "relationships": [
                    {
                        "relationshipType": kind,
                        "targetProductId": entry.product["id"],
                        "targetProductName": entry.product["name"],
                        "targetProductSku": entry.product["sku"],
                        "targetPriceBookEntryId": entry.pbe["id"],
                        "listPrice": entry.pbe["listPrice"],
                    }
                    for kind, entry in targets
                ],
            }
        )
    return success(data)


# Invoices ----------------------------------------------------------------------------------------


def _invoice_json(doc: dict[str, Any], base: str, includes: set[str]) -> dict[str, Any]:
    token = signing.dumps(doc["id"], salt=INVOICE_SALT)
    shown = {**doc, "invoicePdf": f"{base}/view-invoice/{token}", "paymentHostedUrl": None}
    if "paymentApplications" in includes:
        shown["paymentApplications"] = doc.get("paymentApplications", [])
    else:
        shown.pop("paymentApplications", None)
    return shown


# nue-api.md §2.8 and §3.5: an invoice read relates its assets, orders and payment applications
# via `includes`. `orders` (each order as the list of orders gives it without includes) and
# `paymentApplications` (what invoices:pay recorded) are served; `assets` is accepted, as Nue
# accepts it, and left out: no caller asks for it.
INVOICE_INCLUDES = ("assets", "orders", "paymentApplications")


def _invoices_json(
    request: HttpRequest, invoices: list[dict[str, Any]], includes: set[str]
) -> list[dict[str, Any]]:
    base = public_base(request)
    found = [_invoice_json(doc, base, includes) for doc in invoices]
    if "orders" in includes:
        ids = {doc["orderId"] for doc in invoices if doc.get("orderId")}
        pdfs = OrderPdfs(request)
        headers = {
            order_id: pdfs.add(header)
            for order_id, header in Order.objects.filter(id__in=ids).values_list("id", "header")
        }
        for doc in found:
            header = headers.get(doc.get("orderId") or "")
            doc["orders"] = [header] if header is not None else []
    return found


@endpoint("customer-invoices", ("GET",))
def customer_invoices(request: HttpRequest, body: Any, customer_id: str) -> Result:
    found = _customer_or_404(customer_id)
    page, limit = _page(request)
    includes = includes_param(request, INVOICE_INCLUDES)
    queryset = Invoice.objects.filter(customer=found)
    status = request.GET.get("status")
    docs = list(queryset.order_by("-invoice_date", "-number").values_list("doc", flat=True))
    if status:
        wanted = {s.strip().lower() for s in status.split(",") if s.strip()}
        docs = [d for d in docs if d["status"].lower() in wanted]
    payment = request.GET.get("paymentStatus")
    if payment:
        wanted = {s.strip().lower() for s in payment.split(",") if s.strip()}
        docs = [d for d in docs if d["paymentStatus"].lower() in wanted]
    start = (page - 1) * limit
    items = _invoices_json(request, docs[start : start + limit], includes)
    return success(items, pagination={"page": page, "limit": limit, "total": len(docs)})


@endpoint("pay-invoices", ("POST",))
def pay_invoices(request: HttpRequest, body: Any) -> Result:
    # nue-api.md §2.8, POST /billing/invoices:pay.
    return success(actions.pay_invoices(body))


@endpoint("customer-invoice", ("GET",))
def customer_invoice(request: HttpRequest, body: Any, customer_id: str, invoice_id: str) -> Result:
    found = _customer_or_404(customer_id)
    includes = includes_param(request, INVOICE_INCLUDES)
    invoice = (
        Invoice.objects.filter(customer=found, id=invoice_id).first()
        or Invoice.objects.filter(customer=found, number=invoice_id).first()
    )
    if invoice is None:
        raise not_found("Invoice", invoice_id)
    return success(_invoices_json(request, [invoice.doc], includes)[0])


@login_not_required
@csrf_exempt
def unknown_route(request: HttpRequest) -> HttpResponse:
    """No such endpoint: Nue's JSON error envelope, whatever the method (nue-api.md §1.5)."""
    return failure(no_route(request.path))


# Emulator control (not part of Nue) -----------------------------------------------------------


@endpoint("emulator-faults", ("GET", "POST", "DELETE"))
def emulator_faults(request: HttpRequest, body: Any) -> Result:
    if request.method == "DELETE":
        faults.clear()
        return success([])
    if request.method == "POST":
        body = inputs.body_obj(body)
        try:
            fault = faults.Fault(
                route=str(body.get("route", "*")),
                method=str(body.get("method", "*")),
                status=inputs.integer(
                    body.get("status"), "status", required=False, minimum=100, maximum=599
                ),
                body=inputs.text(body.get("body"), "body", required=False),
                latency_ms=inputs.integer(
                    body.get("latencyMs"), "latencyMs", required=False, minimum=0, maximum=600_000
                )
                or 0,
                hang_seconds=float(
                    inputs.integer(
                        body.get("hangSeconds"),
                        "hangSeconds",
                        required=False,
                        minimum=0,
                        maximum=600,
                    )
                    or 0
                ),
                retry_after=inputs.integer(
                    body.get("retryAfter"), "retryAfter", required=False, minimum=0
                ),
                reset=inputs.flag(body.get("reset"), "reset"),
                times=inputs.integer(body.get("times"), "times", required=False),
                percent=inputs.integer(
                    body.get("percent"), "percent", required=False, minimum=1, maximum=100
                )
                or 100,
            )
        except ValueError as error:
            raise invalid("body", str(error)) from None
        faults.add(fault)
        return success(fault.as_api(), 201)
    return success([f.as_api() for f in faults.active()])


@endpoint("emulator-fault", ("DELETE",))
def emulator_fault(request: HttpRequest, body: Any, fault_id: str) -> Result:
    if not faults.remove(fault_id):
        raise not_found("Fault", fault_id)
    return success([f.as_api() for f in faults.active()])


@endpoint("emulator-journal", ("GET", "DELETE"))
def emulator_journal(request: HttpRequest, body: Any) -> Result:
    if request.method == "DELETE":
        journal.clear()
        return success([])
    return success([e.as_api() for e in journal.entries()])
