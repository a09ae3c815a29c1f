"""The demo tenant in two currencies: a customer buys in its own (Globex in EUR), and every
record of its carries that currency."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tests.nue_emulator.conftest import ACME, GLOBEX, error, ok, subscription

START = (timezone.localdate() + timedelta(days=1)).isoformat()


def order_body(customer: str, entry: str, **line: object) -> dict[str, object]:
    return {
        "customer": {"id": customer},
        "effectiveDate": START,
        "orderProducts": [
            {
                "priceBookEntryId": entry,
                "quantity": 2,
                "subscriptionStartDate": START,
                "subscriptionTerm": 12,
                **line,
            }
        ],
    }


def test_each_product_has_an_entry_in_each_currency(catalog):
    for product in catalog.values():
        currencies = sorted(e["currencyIsoCode"] for e in product["priceBookEntries"])
        assert currencies == ["EUR", "USD"], product["sku"]


def test_a_customer_sees_the_entries_in_its_own_currency(api):
    for customer, currency in ((ACME, "USD"), (GLOBEX, "EUR")):
        products = api.get(f"/customers/{customer}/products").json()
        assert products
        assert {e["currencyIsoCode"] for p in products for e in p["priceBookEntries"]} == {currency}
    globex = ok(api.get(f"/customers/{GLOBEX}"))
    assert globex["currency"] == "EUR"


def test_a_bundles_options_name_the_entries_of_the_customers_currency(api, catalog):
    suite = next(
        p for p in api.get(f"/customers/{GLOBEX}/products").json() if p["sku"] == "PLATFORM-SUITE"
    )
    eur = {
        e["id"]
        for p in catalog.values()
        for e in p["priceBookEntries"]
        if e["currencyIsoCode"] == "EUR"
    }

    def entries(options):
        for option in options:
            yield option["priceBookEntryId"]
            yield from entries(option.get("productOptions") or [])

    named = list(entries(suite["productOptions"]))
    assert named
    assert set(named) <= eur


def test_a_globex_order_and_what_it_makes_are_in_euros(api, pbe):
    draft = ok(api.post("/orders", order_body(GLOBEX, pbe("PLAN-PRO-EU", "EUR"))), 201)
    order = draft["order"]
    assert order["currency"] == "EUR"
    assert order["orderProducts"][0]["listPrice"] == 27
    activated = ok(api.post(f"/orders/{order['id']}", {}))
    assert {s["currency"] for s in activated["subscriptions"]} == {"EUR"}
    invoices = ok(api.get(f"/customers/{GLOBEX}/invoices", limit=100))
    assert {i["currency"] for i in invoices} == {"EUR"}


def test_a_customer_cannot_buy_in_another_currency(api, pbe):
    error(
        api.post("/orders", order_body(ACME, pbe("PLAN-PRO-US", "EUR"))),
        400,
        "PRODUCT_NOT_ELIGIBLE",
    )
    error(api.post("/orders", order_body(GLOBEX, pbe("PLAN-PRO-EU"))), 400, "PRODUCT_NOT_ELIGIBLE")


def test_a_bundle_bought_in_euros_prices_its_add_ons_in_euros(api, pbe, catalog):
    body = order_body(
        GLOBEX,
        pbe("PLATFORM-SUITE", "EUR"),
        addOns=[{"productOptionId": "opt-admin-seats", "productOptionQuantity": 2}],
    )
    order = ok(api.post("/orders", body), 201)["order"]
    eur = {
        e["id"]
        for p in catalog.values()
        for e in p["priceBookEntries"]
        if e["currencyIsoCode"] == "EUR"
    }
    assert {line["priceBookEntryId"] for line in order["orderProducts"]} <= eur


def test_a_subscription_moves_only_to_targets_in_its_currency(api, pbe):
    sub = subscription(api, GLOBEX, "PLAN-PRO-EU")
    assert sub["currency"] == "EUR"
    found = ok(api.get("/subscriptions/product-relationships", subscriptionNames=[sub["name"]]))
    targets = found[0]["relationships"]
    assert targets
    assert {t["targetPriceBookEntryId"] for t in targets} <= {
        pbe(t["targetProductSku"], "EUR") for t in targets
    }
    upgrade = {
        "changeType": "Upgrade",
        "assetNumber": sub["name"],
        "targetPriceBookEntryId": pbe("PLAN-ENTERPRISE-EU"),  # the USD entry
        "startDate": START,
    }
    error(api.post("/change-orders", {"assetChanges": [upgrade]}), 400, "INVALID_TARGET_PRODUCT")
    upgrade["targetPriceBookEntryId"] = pbe("PLAN-ENTERPRISE-EU", "EUR")
    changed = ok(api.post("/change-orders", {"assetChanges": [upgrade]}), 201)
    assert changed["order"]["currency"] == "EUR"


def test_the_quote_page_prints_the_orders_currency(api, pbe):
    order = ok(api.post("/orders", order_body(GLOBEX, pbe("PLAN-PRO-EU", "EUR"))), 201)["order"]
    url = api.get(f"/orders/magiclink/order/{order['id']}").json()["magicLink"]
    path = url.split("/nue-emulator", 1)[1]
    page = api.client.get("/nue-emulator" + path, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Prices in EUR." in page
    assert "€648.00" in page  # 2 seats at €27 for 12 months, as Nue writes it
    assert "$" not in page.split("<footer")[0]
