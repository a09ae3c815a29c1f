"""Nue's guides replayed end to end: getting-started-with-order-management and new-orders."""

from __future__ import annotations

from datetime import date, timedelta

from tests.nue_emulator.conftest import ACME, ok


def test_it_follows_the_getting_started_guide(api, pbe):
    start = date.today() + timedelta(days=10)
    # Step 1: a draft with preview options.
    draft = ok(
        api.post(
            "/orders",
            {
                "customer": {"id": ACME},
                "options": {"previewInvoice": True, "calculateTax": False},
                "effectiveDate": date.today().isoformat(),
                "orderProducts": [
                    {
                        "priceBookEntryId": pbe("PLAN-PRO-US"),
                        "quantity": 5,
                        "subscriptionStartDate": start.isoformat(),
                        "subscriptionTerm": 12,
                    }
                ],
                "name": "Annual platform license",
                "description": "Customer's annual subscription order",
            },
        ),
        201,
    )
    order = draft["order"]
    assert order["totalAmount"] == 1500.0
    assert order["orderACV"] == 1500.0
    assert draft["previewInvoices"][0]["amount"] == 125.0
    # Step 2: activate with a PO and transaction hub, invoice kept as draft.
    activated = ok(
        api.post(
            f"/orders/{order['id']}",
            {
                "options": {"generateInvoice": True, "activateInvoice": False},
                "poNumber": "PO-2025-001",
                "poDate": "2025-01-01",
                "transactionHub": {
                    "externalSystem": "Stripe",
                    "externalId": "cus_dksiwd123",
                    "transactionType": "Customer",
                },
            },
        )
    )
    assert activated["order"]["status"] == "Activated"
    sub_name = activated["subscriptions"][0]["name"]
    assert activated["invoices"][0]["status"] == "Draft"
    # Step 3: co-term a new product (and its add-ons) with that subscription.
    coterm = ok(
        api.post(
            "/orders",
            {
                "customer": {"id": ACME},
                "options": {"previewInvoice": True, "calculateTax": False},
                "effectiveDate": start.isoformat(),
                "billingPeriod": "Annual",
                "orderProducts": [
                    {
                        "priceBookEntryId": pbe("PLATFORM-SUITE"),
                        "quantity": 1,
                        "subscriptionStartDate": start.isoformat(),
                        "cotermAsset": sub_name,
                        "addOns": [
                            {
                                "productOptionId": "opt-admin-seats",
                                "productOptionQuantity": 2,
                                "subscriptionStartDate": start.isoformat(),
                                "cotermAsset": sub_name,
                            }
                        ],
                    }
                ],
                "name": "Additional services coterm alignment",
            },
        ),
        201,
    )["order"]
    end = activated["subscriptions"][0]["subscriptionEndDate"]
    assert {line["subscriptionEndDate"] for line in coterm["orderProducts"]} == {end}
    # Step 4: the customer's activated orders with their products.
    orders = ok(
        api.get("/orders", customerIds=[ACME], includes="orderProducts", status="activated")
    )
    assert order["id"] in {o["id"] for o in orders}
    # Step 5: a change order: 5 users + 3 = 8.
    change = ok(
        api.post(
            "/change-orders",
            {
                "options": {"previewInvoice": True, "calculateTax": False},
                "assetChanges": [
                    {
                        "changeType": "UpdateQuantity",
                        "assetNumber": sub_name,
                        "quantity": 3,
                        "startDate": start.isoformat(),
                    }
                ],
            },
        ),
        201,
    )
    assert change["assetChanges"][0]["after"]["quantity"] == 8
    assert change["previewInvoices"]
    # Step 6: quote links, plain and branded.
    change_id = change["order"]["id"]
    assert api.get(f"/orders/magiclink/order/{change_id}").json()["magicLink"]
    branded = api.get(f"/orders/magiclink/order/{change_id}/template/custom-branded-template")
    assert branded.json()["magicLink"]
    # Step 7: activate the change order with an active invoice.
    applied = ok(
        api.post(
            f"/orders/{change_id}",
            {
                "options": {"generateInvoice": True, "activateInvoice": True},
                "poNumber": "PO-2025-002-CHANGE",
                "poDate": "2025-02-01",
            },
        )
    )
    assert applied["subscriptions"][0]["quantity"] == 8
    assert applied["invoices"][0]["status"] == "Active"
    # Step 8: both orders in the history.
    history = {
        o["id"] for o in ok(api.get("/orders", customerIds=[ACME], includes="orderProducts"))
    }
    assert {order["id"], change_id} <= history


def test_it_accepts_the_new_orders_guide_payload(api, pbe):
    contact = ok(api.get("/contacts", emails=["ada@acme.example"]))[0]
    body = {
        "customer": {"id": ACME},
        "options": {"previewInvoice": True, "calculateTax": False},
        "effectiveDate": "2024-09-18",
        "billingPeriod": "Annual",
        "orderProducts": [
            {
                "priceBookEntryId": pbe("PLATFORM-SUITE"),
                "quantity": 10,
                "subscriptionStartDate": "2024-10-01",
                "subscriptionTerm": 12,
                "addOns": [
                    {
                        "productOptionId": "opt-admin-seats",
                        "productOptionQuantity": 5,
                        "priceTagCodes": ["WELCOME10"],
                    },
                    {"productOptionId": "opt-premium-support"},
                    {
                        "productOptionId": "opt-integration-pack",
                        "productOptionQuantity": 1,
                        "subscriptionStartDate": "2024-11-01",
                        "subscriptionTerm": 6,
                    },
                ],
            },
            {
                "priceBookEntryId": pbe("PLAN-PRO-US"),
                "quantity": 5,
                "subscriptionStartDate": "2024-10-01",
                "subscriptionTerm": 12,
            },
        ],
        "billToContactId": contact["id"],
        "billingAccountId": "ba-12345",
        "name": "Enterprise Bundle Order",
        "description": "Annual enterprise license with add-ons",
        "poNumber": "PO-2024-9876",
    }
    data = ok(api.post("/orders", body), 201)
    lines = {line["productSku"]: line for line in data["order"]["orderProducts"]}
    assert lines["ADMIN-SEATS"]["discountAmount"] > 0
    assert lines["INTEGRATION-PACK"]["subscriptionEndDate"] == "2025-04-30"
    assert lines["PREMIUM-SUPPORT"]["subscriptionEndDate"] == "2025-09-30"
    # The bundle bills annually (its price book entry says so); Pro follows the order: Annual.
    assert lines["PLATFORM-SUITE"]["billingPeriod"] == "Annual"
    assert lines["PLAN-PRO-US"]["billingPeriod"] == "Annual"
    assert data["order"]["billToContact"] == {"id": contact["id"]}
    assert data["order"]["billingAccountId"] == "ba-12345"
