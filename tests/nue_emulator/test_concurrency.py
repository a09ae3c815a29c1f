"""Twenty concurrent activations of one draft make exactly one activation."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command

from nue_emulator.models import Invoice, Order, Subscription
from tests.concurrency import run_together
from tests.nue_emulator.conftest import ACME, Api, ok

THREADS = 20


@pytest.mark.django_db(transaction=True)
def test_it_activates_a_draft_exactly_once_under_concurrency():
    call_command("seed_emulator", verbosity=0)
    api = Api(settings.NUE_EMULATOR_API_KEY)
    pbe = next(p for p in api.get("/catalog/products").json() if p["sku"] == "PLAN-PRO-US")[
        "priceBookEntries"
    ][0]["id"]
    order = ok(
        api.post(
            "/orders",
            {
                "customer": {"id": ACME},
                "effectiveDate": "2027-01-01",
                "orderProducts": [
                    {
                        "priceBookEntryId": pbe,
                        "quantity": 5,
                        "subscriptionStartDate": "2027-01-01",
                        "subscriptionTerm": 12,
                    }
                ],
            },
        ),
        201,
    )["order"]

    def activate() -> int:
        client = Api(settings.NUE_EMULATOR_API_KEY)
        return client.post(
            f"/orders/{order['id']}", {"options": {"generateInvoice": True}}
        ).status_code

    statuses = run_together([activate] * THREADS)
    assert sorted(statuses) == [200] + [409] * (THREADS - 1)
    assert Order.objects.get(id=order["id"]).status == "Activated"
    assert Subscription.objects.filter(order_id=order["id"]).count() == 1
    assert Invoice.objects.filter(order_id=order["id"]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_applies_only_one_of_two_racing_change_orders():
    call_command("seed_emulator", verbosity=0)
    api = Api(settings.NUE_EMULATOR_API_KEY)
    sub = next(
        s
        for s in ok(api.get("/subscriptions", customerIds=[ACME]))
        if s["productSku"] == "PLAN-PRO-US"
    )
    drafts = [
        ok(
            api.post(
                "/change-orders",
                {
                    "assetChanges": [
                        {
                            "changeType": "UpdateQuantity",
                            "assetNumber": sub["name"],
                            "quantity": 3,
                            "startDate": sub["subscriptionEndDate"],
                        }
                    ]
                },
            ),
            201,
        )["order"]["id"]
        for _ in range(2)
    ]

    def activate(order_id: str) -> int:
        return Api(settings.NUE_EMULATOR_API_KEY).post(f"/orders/{order_id}", {}).status_code

    statuses = run_together([lambda d=d: activate(d) for d in drafts])
    assert sorted(statuses) == [200, 409]
    current = Subscription.objects.get(name=sub["name"], is_current=True)
    assert current.doc["quantity"] == sub["quantity"] + 3
