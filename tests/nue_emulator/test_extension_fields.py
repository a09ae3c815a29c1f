"""The emulator serves the fields Nue documents; its extensions only when NUE_EMULATOR_EXTENSIONS
is on (nue-api.md §5 item 18c), which no other test of the suite does unless it says so."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.conf import settings

from nue_emulator.catalog import walk_options
from nue_emulator.extensions import OPTION_FIELDS, ORDER_LINE_FIELDS, SUBSCRIPTION_FIELDS
from tests.nue_emulator.conftest import ACME, ok

TODAY = date.today().isoformat()


def buy_trial(api, pbe) -> tuple[dict[str, Any], dict[str, Any]]:
    """A 30-day Insights trial bought and activated: the draft's order and the activation."""
    line = {
        "priceBookEntryId": pbe("INSIGHTS"),
        "quantity": 4,
        "subscriptionStartDate": TODAY,
        "isFreeTrial": True,
    }
    body = {"customer": {"id": ACME}, "effectiveDate": TODAY, "orderProducts": [line]}
    order = ok(api.post("/orders", body), 201)["order"]
    return order, ok(api.post(f"/orders/{order['id']}", {}))


def convert(api, name: str) -> dict[str, Any]:
    change = {"changeType": "ConvertFreeTrial", "assetNumber": name, "startDate": TODAY, "term": 12}
    return ok(api.post("/change-orders", {"assetChanges": [change]}), 201)


def served_keys(*docs: dict[str, Any]) -> set[str]:
    return {key for doc in docs for key in doc}


def test_the_setting_is_off_by_default():
    assert settings.NUE_EMULATOR_EXTENSIONS is False


def test_it_serves_only_documented_fields_by_default(api, pbe):
    products = api.get("/catalog/products").json()
    products += api.get(f"/customers/{ACME}/products").json()
    options = [o for p in products for o in walk_options(p.get("productOptions") or [])]
    assert options
    assert served_keys(*options).isdisjoint(OPTION_FIELDS)

    draft, activated = buy_trial(api, pbe)
    (trial,) = activated["subscriptions"]
    assert served_keys(*draft["orderProducts"]).isdisjoint(ORDER_LINE_FIELDS)
    assert served_keys(trial).isdisjoint(SUBSCRIPTION_FIELDS)

    # The emulator still knows the trial: Nue's ConvertFreeTrial works on it.
    data = convert(api, trial["name"])
    assert served_keys(*data["order"]["orderProducts"]).isdisjoint(ORDER_LINE_FIELDS)
    for summary in data["assetChanges"]:
        assert served_keys(summary["before"], summary["after"]).isdisjoint(SUBSCRIPTION_FIELDS)

    orders = ok(api.get("/orders", customerIds=[ACME], includes="orderProducts,assets"))
    lines = [line for order in orders for line in order["orderProducts"]]
    related = [asset for order in orders for asset in order["assets"]]
    assert served_keys(*lines).isdisjoint(ORDER_LINE_FIELDS)
    assert served_keys(*related).isdisjoint(SUBSCRIPTION_FIELDS)
    subscriptions = ok(api.get("/subscriptions", customerIds=[ACME]))
    assert served_keys(*subscriptions).isdisjoint(SUBSCRIPTION_FIELDS)
    # What Nue documents of a bundle's place is still there (nue-api.md §3.3).
    assert any(s["rootId"] and s["subscriptionLevel"] > 1 for s in subscriptions)


@pytest.mark.usefixtures("extensions")
def test_it_serves_its_extensions_when_the_setting_is_on(api, pbe, catalog):
    seats = next(
        o
        for o in catalog["PLATFORM-SUITE"]["productOptions"]
        if o["productOptionId"] == "opt-admin-seats"
    )
    assert (seats["defaultQuantity"], seats["maxQuantity"]) == (2, 100)
    draft, activated = buy_trial(api, pbe)
    (trial,) = activated["subscriptions"]
    assert draft["orderProducts"][0]["isFreeTrial"] is True
    assert trial["isFreeTrial"] is True
    assert activated["order"]["orderProducts"][0]["subscriptionName"] == trial["name"]
    data = convert(api, trial["name"])
    assert data["order"]["orderProducts"][0]["assetNumber"] == trial["name"]
