"""Change orders: the ten change types, deltas, prorations, cross-sell, activation."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from nue_emulator.models import Order, Subscription
from tests.nue_emulator.conftest import ACME, GLOBEX, error, ok, subscription

TODAY = date.today()


def iso(day: date) -> str:
    return day.isoformat()


@pytest.fixture
def buy(api, pbe):
    """Activate a new subscription for Acme and return its (current) record."""

    def purchase(sku="PLAN-PRO-US", quantity=5, start=TODAY, term=12, **line):
        body = {
            "customer": {"id": ACME},
            "effectiveDate": iso(start),
            "orderProducts": [
                {
                    "priceBookEntryId": pbe(sku),
                    "quantity": quantity,
                    "subscriptionStartDate": iso(start),
                    "subscriptionTerm": term,
                    **line,
                }
            ],
        }
        order = ok(api.post("/orders", body), 201)["order"]
        return ok(api.post(f"/orders/{order['id']}", {}))["subscriptions"]

    return purchase


def change(api, *changes, **extra):
    return ok(api.post("/change-orders", {"assetChanges": list(changes), **extra}), 201)


def activate(api, data):
    return ok(api.post(f"/orders/{data['order']['id']}", {"options": {"generateInvoice": True}}))


def test_it_adds_quantity_as_a_delta_and_prorates_it(api, buy):
    sub = buy(start=date(2026, 1, 1))[0]
    data = change(
        api,
        {
            "changeType": "UpdateQuantity",
            "assetNumber": sub["name"],
            "quantity": 3,
            "startDate": "2026-07-01",
        },
        options={"previewInvoice": True},
    )
    line = data["order"]["orderProducts"][0]
    assert data["order"]["orderType"] == "Change"
    assert data["order"]["status"] == "Draft"
    assert line["changeType"] == "UpdateQuantity"
    assert line["quantity"] == 3
    assert line["subscriptionEndDate"] == "2026-12-31"
    assert line["totalPrice"] == 3 * 25 * 6  # six whole months left
    summary = data["assetChanges"][0]
    assert (summary["before"]["quantity"], summary["after"]["quantity"]) == (5, 8)
    assert data["invoices"]
    # Nothing changes until the change order is activated.
    current = ok(api.get("/subscriptions", customerIds=[ACME]))
    assert [s["quantity"] for s in current if s["name"] == sub["name"]] == [5]
    assert Subscription.objects.get(name=sub["name"], is_current=True).version == 1
    activated = activate(api, data)
    assert activated["subscriptions"][0]["quantity"] == 8
    assert activated["subscriptions"][0]["subscriptionVersion"] == 2
    assert Subscription.objects.filter(name=sub["name"]).count() == 2


def test_it_prorates_a_partial_month_by_days(api, buy):
    sub = buy(start=date(2026, 1, 1))[0]
    data = change(
        api,
        {
            "changeType": "UpdateQuantity",
            "assetNumber": sub["name"],
            "quantity": 1,
            "startDate": "2026-12-17",
        },
    )
    # 15 of December's 31 days: 25 x 15/31.
    assert data["order"]["orderProducts"][0]["totalPrice"] == round(25 * 15 / 31, 2)


def test_it_reduces_quantity_with_a_credit(api, buy):
    sub = buy(start=date(2026, 1, 1))[0]
    data = change(
        api,
        {
            "changeType": "UpdateQuantity",
            "assetNumber": sub["name"],
            "quantity": -2,
            "startDate": "2026-07-01",
        },
    )
    assert data["order"]["orderProducts"][0]["totalPrice"] == -2 * 25 * 6
    assert data["assetChanges"][0]["after"]["quantity"] == 3


def test_it_refuses_to_reduce_below_one(api, buy):
    sub = buy(start=date(2026, 1, 1))[0]
    error(
        api.post(
            "/change-orders",
            {
                "assetChanges": [
                    {
                        "changeType": "UpdateQuantity",
                        "assetNumber": sub["name"],
                        "quantity": -5,
                        "startDate": "2026-07-01",
                    }
                ]
            },
        ),
        400,
    )


def test_it_extends_the_term_as_a_delta(api, buy):
    sub = buy(start=date(2026, 1, 1))[0]
    data = change(api, {"changeType": "UpdateTerm", "assetNumber": sub["name"], "term": 6})
    summary = data["assetChanges"][0]
    assert summary["after"]["subscriptionTerm"] == 18
    assert summary["after"]["subscriptionEndDate"] == "2027-06-30"
    assert data["order"]["orderProducts"][0]["totalPrice"] == 5 * 25 * 6


def test_it_renews_from_the_day_after_the_end(api, buy):
    sub = buy(start=date(2026, 1, 1))[0]
    data = change(
        api,
        {
            "changeType": "Renew",
            "assetNumber": sub["name"],
            "renewalTerm": 12,
            "startDate": "2027-01-01",
        },
    )
    line = data["order"]["orderProducts"][0]
    assert (line["subscriptionStartDate"], line["subscriptionEndDate"]) == (
        "2027-01-01",
        "2027-12-31",
    )
    assert line["totalPrice"] == 1500.0
    error(
        api.post(
            "/change-orders",
            {
                "assetChanges": [
                    {
                        "changeType": "Renew",
                        "assetNumber": sub["name"],
                        "renewalTerm": 12,
                        "startDate": "2027-02-01",
                    }
                ]
            },
        ),
        400,
        "DATE_MISMATCH",
    )


def test_it_coterms_to_a_date(api, buy):
    sub = buy(start=date(2026, 1, 1))[0]
    data = change(
        api, {"changeType": "CoTerm", "assetNumber": sub["name"], "coTermDate": "2027-03-31"}
    )
    assert data["assetChanges"][0]["after"]["subscriptionEndDate"] == "2027-03-31"
    assert data["order"]["orderProducts"][0]["totalPrice"] == 5 * 25 * 3


def test_it_cancels_with_a_credit_for_the_unused_term(api, buy):
    sub = buy(start=date(2026, 1, 1))[0]
    # cancellationDate is the last day of service ("Ends the subscription on that date").
    data = change(
        api, {"changeType": "Cancel", "assetNumber": sub["name"], "cancellationDate": "2026-09-30"}
    )
    line = data["order"]["orderProducts"][0]
    assert line["totalPrice"] == -5 * 25 * 3
    assert line["subscriptionStartDate"] == "2026-10-01"
    after = data["assetChanges"][0]["after"]
    assert after["status"] == "Canceled"
    assert after["subscriptionEndDate"] == "2026-09-30"
    activated = activate(api, data)
    assert activated["subscriptions"][0]["status"] == "Canceled"
    assert activated["subscriptions"][0]["autoRenew"] is False
    error(
        api.post(
            "/change-orders",
            {
                "assetChanges": [
                    {
                        "changeType": "UpdateQuantity",
                        "assetNumber": sub["name"],
                        "quantity": 1,
                        "startDate": "2026-09-01",
                    }
                ]
            },
        ),
        400,
        "SUBSCRIPTION_CANCELED",
    )


def test_it_ends_on_the_cancellation_date_with_no_credit_for_that_day(api, buy):
    sub = buy("PLATFORM-SUITE", 1, start=date(2026, 1, 1))[0]
    data = change(
        api, {"changeType": "Cancel", "assetNumber": sub["name"], "cancellationDate": "2026-12-31"}
    )
    assert all(line["totalPrice"] == 0 for line in data["order"]["orderProducts"])
    assert all(c["after"]["subscriptionEndDate"] == "2026-12-31" for c in data["assetChanges"])


def test_it_keeps_a_future_cancellation_active_until_its_date(api, buy, extensions):
    sub = buy(start=TODAY - timedelta(days=30))[0]
    last_day = TODAY + timedelta(days=60)
    data = change(
        api, {"changeType": "Cancel", "assetNumber": sub["name"], "cancellationDate": iso(last_day)}
    )
    activated = activate(api, data)["subscriptions"][0]
    assert activated["status"] == "Active"
    assert activated["autoRenew"] is False
    assert activated["subscriptionEndDate"] == iso(last_day)
    assert activated["cancellationDate"] == iso(last_day)
    # cancellationDate is the last day of service (nue-api.md §2.2): Canceled the day after.
    for day, status in ((last_day, "Active"), (last_day + timedelta(days=1), "Canceled")):
        listed = ok(api.get("/subscriptions", customerIds=[ACME], asOfDate=iso(day)))
        assert next(s for s in listed if s["name"] == sub["name"])["status"] == status


def test_it_cancels_a_bundle_with_its_add_ons(api, buy):
    subs = buy("PLATFORM-SUITE", 1, start=date(2026, 1, 1))
    bundle = subs[0]
    data = change(
        api,
        {"changeType": "Cancel", "assetNumber": bundle["name"], "cancellationDate": "2026-07-01"},
    )
    canceled = {c["assetNumber"] for c in data["assetChanges"]}
    assert canceled == {s["name"] for s in subs}
    assert all(c["after"]["status"] == "Canceled" for c in data["assetChanges"])


@pytest.mark.usefixtures("extensions")
def test_it_converts_a_free_trial(api, buy):
    trial = buy("INSIGHTS", 4, start=TODAY, term=None, isFreeTrial=True)[0]
    assert trial["isFreeTrial"] is True
    assert trial["totalAmount"] == 0.0
    start = TODAY + timedelta(days=30)
    data = change(
        api,
        {
            "changeType": "ConvertFreeTrial",
            "assetNumber": trial["name"],
            "startDate": iso(start),
            "term": 12,
        },
    )
    assert data["order"]["orderProducts"][0]["totalPrice"] == 4 * 40 * 12
    after = activate(api, data)["subscriptions"][0]
    assert after["isFreeTrial"] is False
    assert after["subscriptionTerm"] == 12
    pro = buy()[0]
    error(
        api.post(
            "/change-orders",
            {
                "assetChanges": [
                    {
                        "changeType": "ConvertFreeTrial",
                        "assetNumber": pro["name"],
                        "startDate": iso(TODAY),
                        "term": 12,
                    }
                ]
            },
        ),
        400,
        "NOT_A_FREE_TRIAL",
    )


@pytest.mark.parametrize(
    ("kind", "source", "target", "allowed"),
    [
        ("Upgrade", "PLAN-PRO-US", "PLAN-ENTERPRISE-US", True),
        ("Downgrade", "PLAN-PRO-US", "PLAN-STARTER-US", True),
        ("Swap", "PLAN-PRO-US", "PLAN-PRO-EU", True),
        ("Upgrade", "PLAN-PRO-US", "PLAN-STARTER-US", False),
        ("Swap", "PLAN-PRO-US", "PLAN-ENTERPRISE-EU", False),
    ],
)
def test_it_validates_upgrade_downgrade_and_swap_targets(
    api, buy, pbe, kind, source, target, allowed
):
    sub = buy(source, start=date(2026, 1, 1))[0]
    response = api.post(
        "/change-orders",
        {
            "assetChanges": [
                {
                    "changeType": kind,
                    "assetNumber": sub["name"],
                    "targetPriceBookEntryId": pbe(target),
                    "startDate": "2026-07-01",
                }
            ]
        },
    )
    if not allowed:
        error(response, 400, "INVALID_TARGET_PRODUCT")
        return
    data = ok(response, 201)
    credit, charge = data["order"]["orderProducts"]
    assert credit["productSku"] == source
    assert credit["totalPrice"] == -5 * 25 * 6
    assert charge["productSku"] == target
    assert charge["totalPrice"] > 0
    after = activate(api, data)["subscriptions"][0]
    assert after["productSku"] == target
    assert after["name"] == sub["name"]
    assert after["subscriptionVersion"] == 2


def test_it_lists_product_relationships(api, buy):
    sub = buy(start=date(2026, 1, 1))[0]
    data = ok(api.get("/subscriptions/product-relationships", subscriptionNames=[sub["name"]]))
    kinds = {(r["relationshipType"], r["targetProductSku"]) for r in data[0]["relationships"]}
    assert kinds == {
        ("Upgrade", "PLAN-ENTERPRISE-US"),
        ("Downgrade", "PLAN-STARTER-US"),
        ("Swap", "PLAN-PRO-EU"),
    }


def test_it_reconfigures_bundle_add_ons_with_absolute_quantities(api, buy):
    subs = buy("PLATFORM-SUITE", 1, start=date(2026, 1, 1))
    bundle = subs[0]
    data = change(
        api,
        {
            "changeType": "Reconfigure",
            "assetNumber": bundle["name"],
            "addOns": [
                {
                    "productOptionId": "opt-admin-seats",
                    "productOptionQuantity": 5,
                    "reconfigureEffectiveDate": "2026-07-01",
                },
                {
                    "productOptionId": "opt-premium-support",
                    "productOptionQuantity": 1,
                    "reconfigureEffectiveDate": "2026-07-01",
                },
            ],
        },
    )
    lines = {line["productSku"]: line for line in data["order"]["orderProducts"]}
    assert lines["ADMIN-SEATS"]["quantity"] == 3  # 2 -> 5
    assert lines["ADMIN-SEATS"]["totalPrice"] == 3 * 15 * 6
    assert lines["PREMIUM-SUPPORT"]["totalPrice"] == 200 * 6
    activated = activate(api, data)
    names = {s["productSku"]: s for s in activated["subscriptions"]}
    assert names["ADMIN-SEATS"]["quantity"] == 5
    assert names["PREMIUM-SUPPORT"]["rootId"] == bundle["id"]
    error(
        api.post(
            "/change-orders",
            {
                "assetChanges": [
                    {
                        "changeType": "Reconfigure",
                        "assetNumber": bundle["name"],
                        "addOns": [
                            {"productOptionId": "opt-admin-seats", "productOptionQuantity": 0}
                        ],
                    }
                ]
            },
        ),
        400,
    )
    error(
        api.post(
            "/change-orders",
            {
                "assetChanges": [
                    {
                        "changeType": "Reconfigure",
                        "assetNumber": bundle["name"],
                        "addOns": [
                            {"productOptionId": "opt-sfdc-connector", "productOptionQuantity": 1}
                        ],
                    }
                ]
            },
        ),
        400,
        "INVALID_ADDON_HIERARCHY",
    )


def reconfigure(api, bundle, *add_ons):
    return change(
        api, {"changeType": "Reconfigure", "assetNumber": bundle, "addOns": list(add_ons)}
    )


@pytest.mark.usefixtures("extensions")  # parentId shows where each add-on hangs
def test_it_adds_nested_add_ons_to_an_existing_bundle_under_its_root(api, buy):
    bundle = buy("PLATFORM-SUITE", 1, start=date(2026, 1, 1))[0]
    data = reconfigure(
        api,
        bundle["name"],
        {
            "productOptionId": "opt-integration-pack",
            "productOptionQuantity": 1,
            "addOns": [{"productOptionId": "opt-sfdc-connector", "productOptionQuantity": 1}],
        },
    )
    skus = [line["productSku"] for line in data["order"]["orderProducts"]]
    assert skus == ["INTEGRATION-PACK", "CONNECTOR-RUNTIME", "SFDC-CONNECTOR"]
    created = {s["productSku"]: s for s in activate(api, data)["subscriptions"]}
    pack = created["INTEGRATION-PACK"]
    assert {s["rootId"] for s in created.values()} == {bundle["id"]}
    assert pack["parentId"] == bundle["id"]
    assert created["CONNECTOR-RUNTIME"]["parentId"] == pack["id"]
    assert created["CONNECTOR-RUNTIME"]["subscriptionLevel"] == 3
    # With the pack on the bundle, an option under it is named on its own.
    data = reconfigure(
        api,
        bundle["name"],
        {"productOptionId": "opt-api-endpoints", "productOptionQuantity": 4},
    )
    endpoints = activate(api, data)["subscriptions"][0]
    assert (endpoints["productSku"], endpoints["parentId"]) == ("API-ENDPOINTS", pack["id"])
    # Removing the pack removes what hangs under it.
    data = reconfigure(
        api, bundle["name"], {"productOptionId": "opt-integration-pack", "productOptionQuantity": 0}
    )
    removed = {c["assetNumber"] for c in data["assetChanges"]}
    assert removed == {s["name"] for s in created.values()} | {endpoints["name"]}


def test_it_refuses_a_nested_add_on_under_the_wrong_option(api, buy):
    bundle = buy("PLATFORM-SUITE", 1, start=date(2026, 1, 1))[0]
    body = {
        "changeType": "Reconfigure",
        "assetNumber": bundle["name"],
        "addOns": [
            {
                "productOptionId": "opt-premium-support",
                "productOptionQuantity": 1,
                "addOns": [{"productOptionId": "opt-sfdc-connector", "productOptionQuantity": 1}],
            }
        ],
    }
    error(api.post("/change-orders", {"assetChanges": [body]}), 400, "INVALID_ADDON_HIERARCHY")


@pytest.mark.usefixtures("extensions")  # parentId follows the bundle too
def test_it_keeps_add_ons_under_a_bundle_that_gets_a_new_version(api, buy):
    subs = buy("PLATFORM-SUITE", 1, start=date(2026, 1, 1))
    bundle = subs[0]
    data = change(api, {"changeType": "UpdateTerm", "assetNumber": bundle["name"], "term": 6})
    new_bundle = activate(api, data)["subscriptions"][0]
    assert new_bundle["id"] != bundle["id"]
    listed = ok(api.get("/subscriptions", customerIds=[ACME]))
    add_ons = [s for s in listed if s["name"] in {s["name"] for s in subs[1:]}]
    assert add_ons
    assert {(s["parentId"], s["rootId"]) for s in add_ons} == {(new_bundle["id"], new_bundle["id"])}


def test_it_cross_sells_products_in_a_change_order(api, buy, pbe):
    sub = buy(start=date(2026, 1, 1))[0]
    data = change(
        api,
        {
            "changeType": "UpdateQuantity",
            "assetNumber": sub["name"],
            "quantity": 1,
            "startDate": "2026-07-01",
        },
        products=[
            {
                "priceBookEntryId": pbe("INSIGHTS"),
                "quantity": 2,
                "subscriptionStartDate": "2026-07-01",
                "coTermAsset": sub["name"],
            }
        ],
    )
    insights = data["order"]["orderProducts"][-1]
    assert insights["productSku"] == "INSIGHTS"
    assert insights["subscriptionEndDate"] == "2026-12-31"
    created = activate(api, data)["subscriptions"]
    assert {s["productSku"] for s in created} == {"PLAN-PRO-US", "INSIGHTS"}


def test_it_combines_several_changes_to_one_subscription(api, buy):
    sub = buy(start=date(2026, 1, 1))[0]
    data = change(
        api,
        {
            "changeType": "UpdateQuantity",
            "assetNumber": sub["name"],
            "quantity": 3,
            "startDate": "2026-02-01",
        },
        {"changeType": "UpdateTerm", "assetNumber": sub["name"], "term": 6},
    )
    after = data["assetChanges"][0]["after"]
    assert (after["quantity"], after["subscriptionTerm"]) == (8, 18)


def test_it_rejects_an_unknown_or_foreign_subscription(api):
    globex_sub = subscription(api, GLOBEX, "PLAN-PRO-EU")
    before = Order.objects.count()
    error(
        api.post(
            "/change-orders",
            {
                "assetChanges": [
                    {"changeType": "Renew", "assetNumber": "SUB-99999999", "renewalTerm": 12}
                ]
            },
        ),
        400,
        "ASSET_NOT_FOUND",
    )
    error(
        api.post(
            "/change-orders",
            {
                "customer": {"id": ACME},
                "assetChanges": [
                    {"changeType": "Renew", "assetNumber": globex_sub["name"], "renewalTerm": 12}
                ],
            },
        ),
        400,
        "ASSET_NOT_FOUND",
    )
    assert Order.objects.count() == before


def test_it_rejects_unknown_change_types_and_price_tags(api, buy):
    sub = buy(start=date(2026, 1, 1))[0]
    error(
        api.post(
            "/change-orders",
            {"assetChanges": [{"changeType": "AdjustPrice", "assetNumber": sub["name"]}]},
        ),
        400,
        "INVALID_CHANGE_TYPE",
    )
    error(
        api.post(
            "/change-orders",
            {
                "priceTagCodes": ["WELCOME10"],
                "assetChanges": [
                    {"changeType": "Renew", "assetNumber": sub["name"], "renewalTerm": 12}
                ],
            },
        ),
        400,
    )
    error(api.post("/change-orders", {"assetChanges": []}), 400)


def test_it_refuses_a_stale_change_order(api, buy):
    sub = buy(start=date(2026, 1, 1))[0]
    first = change(api, {"changeType": "UpdateTerm", "assetNumber": sub["name"], "term": 1})
    second = change(api, {"changeType": "UpdateTerm", "assetNumber": sub["name"], "term": 2})
    activate(api, first)
    error(api.post(f"/orders/{second['order']['id']}", {}), 409, "SUBSCRIPTION_CHANGED")
    assert Order.objects.get(id=second["order"]["id"]).status == "Draft"


def test_it_previews_a_change_without_persisting(api, buy):
    sub = buy(start=date(2026, 1, 1))[0]
    before = Order.objects.count()
    data = ok(
        api.post(
            "/orders/invoice-preview",
            {
                "customer": {"id": ACME},
                "assetChanges": [
                    {
                        "changeType": "UpdateQuantity",
                        "assetNumber": sub["name"],
                        "quantity": 3,
                        "startDate": "2026-07-01",
                    }
                ],
            },
        )
    )
    assert sum(i["amount"] for i in data["invoices"]) == 450.0
    assert Order.objects.count() == before


def test_it_taxes_a_change_order_as_a_new_order_when_asked(api, buy):
    """Acme ships to California (7.25 %): a change order with calculateTax is taxed like the
    same seats on a new order (nue-api.md §4, §5.12), and its invoices carry that tax."""
    sub = buy(start=date(2026, 1, 1))[0]
    seats = {
        "changeType": "UpdateQuantity",
        "assetNumber": sub["name"],
        "quantity": 3,
        "startDate": "2026-07-01",
    }
    untaxed = change(api, seats, options={"calculateTax": False})["order"]
    assert untaxed["taxAmount"] == 0
    data = change(api, seats, options={"previewInvoice": True, "calculateTax": True})
    order = data["order"]
    assert order["subtotal"] == 3 * 25 * 6
    assert order["taxAmount"] == 32.63  # 450.00 at 7.25 %, half-up
    assert order["listTotal"] - order["discountAmount"] == order["subtotal"]
    assert order["subtotal"] + order["taxAmount"] == order["grandTotal"]
    assert round(sum(i["taxAmount"] for i in data["invoices"]), 2) == order["taxAmount"]
    invoices = activate(api, data)["invoices"]
    assert round(sum(i["taxAmount"] for i in invoices), 2) == order["taxAmount"]
    assert round(sum(i["amount"] for i in invoices), 2) == order["grandTotal"]


def test_it_taxes_a_renewal_and_a_trial_conversion_when_asked(api, buy):
    sub = buy(start=date(2026, 1, 1))[0]
    renew = {
        "changeType": "Renew",
        "assetNumber": sub["name"],
        "renewalTerm": 12,
        "startDate": "2027-01-01",
    }
    order = change(api, renew, options={"calculateTax": True})["order"]
    assert (order["subtotal"], order["taxAmount"], order["grandTotal"]) == (1500, 108.75, 1608.75)
    trial = buy("INSIGHTS", 4, start=TODAY, term=None, isFreeTrial=True)[0]
    convert = {
        "changeType": "ConvertFreeTrial",
        "assetNumber": trial["name"],
        "startDate": iso(TODAY + timedelta(days=30)),
        "term": 12,
    }
    order = change(api, convert, options={"calculateTax": True})["order"]
    assert (order["subtotal"], order["taxAmount"], order["grandTotal"]) == (1920, 139.2, 2059.2)


def test_it_gives_back_the_tax_of_a_credit(api, buy):
    """A credit for unused time returns the tax its charge carried: the change order's tax
    follows its net amount, and subtotal + tax = grandTotal with a negative subtotal too."""
    sub = buy(start=date(2026, 1, 1))[0]
    # The last day of service is 30 September: October to December are credited.
    cancel = {"changeType": "Cancel", "assetNumber": sub["name"], "cancellationDate": "2026-09-30"}
    order = change(api, cancel, options={"calculateTax": True})["order"]
    line = order["orderProducts"][0]
    assert line["totalPrice"] == -375
    assert line["tax"] == -27.19  # 375.00 at 7.25 %, half-up, given back
    assert (order["subtotal"], order["taxAmount"], order["grandTotal"]) == (-375, -27.19, -402.19)


def test_it_requires_a_renewals_start_date(api, buy):
    # Renew: renewalTerm and startDate are both required (nue-api.md §2.2).
    sub = buy(start=date(2026, 1, 1))[0]
    before = Order.objects.count()
    body = {
        "assetChanges": [{"changeType": "Renew", "assetNumber": sub["name"], "renewalTerm": 12}]
    }
    failure = error(api.post("/change-orders", body), 400, "VALIDATION_ERROR")
    assert failure["errors"][0]["field"] == "assetChanges[0].startDate"
    assert Order.objects.count() == before


def test_it_keeps_a_subscription_canceled_today_in_service_until_the_day_ends(api, buy, extensions):
    sub = buy(start=TODAY - timedelta(days=30))[0]
    data = change(
        api, {"changeType": "Cancel", "assetNumber": sub["name"], "cancellationDate": iso(TODAY)}
    )
    # Only the days after the last day of service are credited.
    assert data["order"]["orderProducts"][0]["subscriptionStartDate"] == iso(
        TODAY + timedelta(days=1)
    )
    activated = activate(api, data)["subscriptions"][0]
    assert (activated["status"], activated["subscriptionEndDate"]) == ("Active", iso(TODAY))
    tomorrow = iso(TODAY + timedelta(days=1))
    # asOfDate is the emulator's own (an extension): the view of tomorrow.
    listed = ok(api.get("/subscriptions", customerIds=[ACME], asOfDate=tomorrow))
    assert next(s for s in listed if s["name"] == sub["name"])["status"] == "Canceled"


def test_it_bills_a_change_on_the_subscriptions_billing_cycle(api, buy):
    # Billed monthly from 1 January: a change on 15 July bills the rest of July on its own (the
    # first partial period, nue-api.md §4), then joins the subscription's dates, the 1st.
    sub = buy(start=date(2026, 1, 1))[0]
    quantity = {
        "changeType": "UpdateQuantity",
        "assetNumber": sub["name"],
        "quantity": 3,
        "startDate": "2026-07-15",
    }
    data = change(api, quantity, options={"previewInvoice": True})
    periods = [(i["startDate"], i["endDate"]) for i in data["invoices"]]
    assert periods[:3] == [
        ("2026-07-15", "2026-07-31"),
        ("2026-08-01", "2026-08-31"),
        ("2026-09-01", "2026-09-30"),
    ]
    assert data["invoices"][0]["items"][0]["details"][0]["prorated"] is True
    assert data["invoices"][1]["items"][0]["details"][0]["prorated"] is False
    assert sum(i["amount"] for i in data["invoices"]) == pytest.approx(data["order"]["grandTotal"])
    invoices = activate(api, data)["invoices"]
    assert [i["invoiceDate"] for i in invoices][:3] == ["2026-07-15", "2026-08-01", "2026-09-01"]
