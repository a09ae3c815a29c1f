"""Subscriptions, invoices and the printable invoice page."""

from __future__ import annotations

import json
from datetime import date

from tests.nue_emulator.conftest import ACME, GLOBEX, error, ok


def test_it_lists_a_customers_current_subscriptions(api):
    subs = ok(api.get("/subscriptions", customerIds=[ACME]))
    by_sku = {s["productSku"]: s for s in subs}
    assert by_sku["PLAN-PRO-US"]["quantity"] == 5
    assert by_sku["PLAN-PRO-US"]["subscriptionVersion"] == 2
    assert by_sku["ADMIN-SEATS"]["rootId"] == by_sku["PLATFORM-SUITE"]["id"]
    assert by_sku["ADMIN-SEATS"]["subscriptionLevel"] == 2
    assert all(s["customerId"] == ACME for s in subs)
    assert all(s["status"] == "Active" for s in subs)
    assert by_sku["PLAN-PRO-US"]["nextBillingDate"] > date.today().isoformat()


def test_it_filters_subscriptions_by_status(api):
    expired = ok(api.get("/subscriptions", customerIds=[GLOBEX], status="expired"))
    assert [s["productSku"] for s in expired] == ["PLAN-STARTER-EU"]


def test_it_includes_products_and_price_tags(api):
    subs = ok(api.get("/subscriptions", customerIds=[ACME], includes="product,pricetags"))
    pro = next(s for s in subs if s["productSku"] == "PLAN-PRO-US")
    assert pro["product"]["sku"] == "PLAN-PRO-US"
    assert [t["code"] for t in pro["pricetags"]] == ["WELCOME10"]


def test_it_finds_a_subscription_by_name(api):
    pro = next(
        s
        for s in ok(api.get("/subscriptions", customerIds=[ACME]))
        if s["productSku"] == "PLAN-PRO-US"
    )
    assert [s["id"] for s in ok(api.get("/subscriptions", name=pro["name"]))] == [pro["id"]]


def test_it_pages_and_filters_invoices(api):
    everything = api.get(f"/customers/{ACME}/invoices").json()
    total = everything["pagination"]["total"]
    assert total >= 20
    page = api.get(f"/customers/{ACME}/invoices", page=2, limit=5).json()
    assert page["pagination"] == {"page": 2, "limit": 5, "total": total}
    assert [i["id"] for i in page["data"]] == [i["id"] for i in everything["data"][5:10]]
    dates = [i["invoiceDate"] for i in everything["data"]]
    assert dates == sorted(dates, reverse=True)
    paid = ok(api.get(f"/customers/{ACME}/invoices", paymentStatus="paid"))
    assert paid
    assert all(i["balance"] == 0 for i in paid)
    unpaid = [i for i in everything["data"] if i["balance"] > 0]
    overdue = [i for i in unpaid if i["dueDate"] < date.today().isoformat()]
    assert len(overdue) == 1
    assert ok(api.get(f"/customers/{ACME}/invoices", status="draft")) == []


def test_it_returns_one_invoice_with_items_and_details(api):
    first = ok(api.get(f"/customers/{ACME}/invoices", limit=1))[0]
    invoice = ok(api.get(f"/customers/{ACME}/invoices/{first['id']}"))
    assert invoice["name"].startswith("INV-")
    item = invoice["items"][0]
    assert {"productName", "quantity", "amount", "taxAmount", "startDate", "endDate"} <= set(item)
    assert item["details"][0]["startDate"] == item["startDate"]
    assert (
        round(sum(i["amount"] + i["taxAmount"] for i in invoice["items"]), 2) == invoice["amount"]
    )
    error(api.get(f"/customers/{GLOBEX}/invoices/{first['id']}"), 404)


def test_it_relates_each_invoice_to_its_order_with_includes_orders(api):
    plain = ok(api.get(f"/customers/{ACME}/invoices", limit=500))
    assert all("orders" not in i for i in plain)
    invoices = ok(api.get(f"/customers/{ACME}/invoices", limit=500, includes="orders"))
    orders = {o["id"]: o for o in ok(api.get("/orders", customerIds=[ACME]))}
    assert invoices
    for invoice in invoices:
        assert [o["id"] for o in invoice["orders"]] == [invoice["orderId"]]
        related = invoice["orders"][0]
        assert related["orderNumber"] == orders[related["id"]]["orderNumber"]
        assert related["customerId"] == ACME
    one = ok(api.get(f"/customers/{ACME}/invoices/{invoices[0]['id']}", includes="orders"))
    # The order's PDF link is signed with the time it was made: compare all but it.
    assert [_without_pdf(o) for o in one["orders"]] == [
        _without_pdf(o) for o in invoices[0]["orders"]
    ]


def _without_pdf(order: dict) -> dict:
    return {key: value for key, value in order.items() if key != "orderPdf"}


def test_it_accepts_only_the_documented_invoice_includes(api):
    ok(api.get(f"/customers/{ACME}/invoices", includes="assets,orders,paymentApplications"))
    error(api.get(f"/customers/{ACME}/invoices", includes="subscriptions"), 400)


def test_it_serves_a_printable_invoice(api, anonymous):
    invoice = ok(api.get(f"/customers/{ACME}/invoices", limit=1))[0]
    page = anonymous.client.get(invoice["invoicePdf"].removeprefix("http://testserver"))
    assert page.status_code == 200
    html = page.content.decode()
    assert invoice["name"] in html
    assert "<script" not in html
    assert "style=" not in html
    assert page["Cache-Control"] == "private, no-store"
    css = anonymous.client.get("/nue-emulator/_emulator/print.css")
    assert css.status_code == 200
    assert css["Content-Type"].startswith("text/css")


def test_it_builds_links_from_the_request_host_when_standalone(api, settings):
    settings.SITE_URL = ""
    invoice = ok(api.get(f"/customers/{ACME}/invoices", limit=1))[0]
    assert invoice["invoicePdf"].startswith("http://testserver/nue-emulator/view-invoice/")


def test_it_lists_eligible_products_for_a_customer(api):
    acme = {p["sku"] for p in api.get(f"/customers/{ACME}/products").json()}
    globex = {p["sku"] for p in api.get(f"/customers/{GLOBEX}/products").json()}
    assert "PLAN-PRO-US" in acme
    assert "PLAN-PRO-EU" not in acme
    assert "PLAN-PRO-EU" in globex
    assert "PLATFORM-SUITE" in acme & globex


def test_it_exposes_bundle_options_and_price_tags(api, catalog):
    suite = catalog["PLATFORM-SUITE"]
    options = {o["productOptionId"]: o for o in suite["productOptions"]}
    assert options["opt-analytics-core"]["optionType"] == "Bundled"
    assert options["opt-admin-seats"]["optionType"] == "Required"
    nested = {o["productOptionId"] for o in options["opt-integration-pack"]["productOptions"]}
    assert nested == {"opt-connector-runtime", "opt-sfdc-connector", "opt-api-endpoints"}
    assert suite["priceBookEntries"][0]["listPrice"] == 400.0
    tags = {t["code"]: t for t in api.get("/catalog/price-tags").json()}
    assert tags["SEATS-TIERED"]["priceType"] == "Tiered"
    assert api.get("/catalog/price-tags", code="welcome10").json()[0]["code"] == "WELCOME10"


def test_it_updates_auto_renew_and_custom_fields_only(api):
    pro = next(
        s
        for s in ok(api.get("/subscriptions", customerIds=[ACME]))
        if s["productSku"] == "PLAN-PRO-US"
    )
    response = api.client.patch(
        f"/nue-emulator/subscriptions/{pro['name']}",
        json.dumps({"autoRenew": False, "CostCenter__c": "R&D"}),
        content_type="application/json",
        **api.headers,
    )
    updated = ok(response)[0]
    assert updated["autoRenew"] is False
    assert updated["CostCenter__c"] == "R&D"
    assert updated["subscriptionVersion"] == pro["subscriptionVersion"]
    bad = api.client.patch(
        f"/nue-emulator/subscriptions/{pro['id']}",
        json.dumps({"quantity": 9}),
        content_type="application/json",
        **api.headers,
    )
    error(bad, 400)
    # Only custom fields configured on subscriptions (create-draft-orders.txt).
    unknown = api.client.patch(
        f"/nue-emulator/subscriptions/{pro['id']}",
        json.dumps({"CostCentre__c": "R&D"}),
        content_type="application/json",
        **api.headers,
    )
    assert error(unknown, 400, "INVALID_CUSTOM_FIELD")["errors"][0]["field"] == "CostCentre__c"
    mistyped = api.client.patch(
        f"/nue-emulator/subscriptions/{pro['id']}",
        json.dumps({"RenewalReviewed__c": "yes"}),
        content_type="application/json",
        **api.headers,
    )
    error(mistyped, 400, "INVALID_CUSTOM_FIELD")
    missing = api.client.patch(
        "/nue-emulator/subscriptions/SUB-99999999",
        json.dumps({"autoRenew": True}),
        content_type="application/json",
        **api.headers,
    )
    error(missing, 404)


def test_it_creates_contacts_with_unique_emails(api):
    created = ok(
        api.post(
            f"/customers/{ACME}/contacts",
            [
                {
                    "firstName": "Cara",
                    "lastName": "Doe",
                    "email": "cara@acme.example",
                    "title": "Buyer",
                },
            ],
        ),
        201,
    )
    assert created[0]["customerId"] == ACME
    assert created[0]["name"] == "Cara Doe"
    found = ok(api.get("/contacts", emails=["cara@acme.example"]))
    assert [c["id"] for c in found] == [created[0]["id"]]
    error(
        api.post(
            f"/customers/{ACME}/contacts",
            [{"firstName": "Ada", "lastName": "Again", "email": "ADA@acme.example"}],
        ),
        400,
        "DUPLICATE_EMAIL",
    )
    error(
        api.post(
            f"/customers/{ACME}/contacts",
            [{"firstName": "No", "lastName": "Mail", "email": "not-an-email"}],
        ),
        400,
    )
    error(api.post(f"/customers/{ACME}/contacts", {"firstName": "x"}), 400)
