"""Orders: drafts, previews, activation, listing, discarding; the guides' request shapes."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from nue_emulator.models import Invoice, Order, PaymentMethod, Subscription
from tests.nue_emulator.conftest import ACME, GLOBEX, INITECH, error, ok, subscription

START = "2027-01-01"


def simple_order(pbe, customer=ACME, **extra):
    return {
        "customer": {"id": customer},
        "effectiveDate": START,
        "orderProducts": [
            {
                "priceBookEntryId": pbe("PLAN-PRO-US"),
                "quantity": 5,
                "subscriptionStartDate": START,
                "subscriptionTerm": 12,
            }
        ],
        **extra,
    }


def test_it_creates_a_simple_draft_order(api, pbe):
    response = api.post("/orders", simple_order(pbe))
    data = ok(response, 201)
    order = data["order"]
    assert order["status"] == "Draft"
    assert order["orderNumber"].startswith("O-")
    assert order["customerName"] == "Acme Corporation"
    assert order["orderStartDate"] == START
    # $25 x 5 seats x 12 months, nothing discounted, no tax asked for.
    assert order["listTotal"] == 1500.0
    assert order["discountAmount"] == 0.0
    assert order["netTotal"] == order["grandTotal"] == order["totalAmount"] == 1500.0
    assert order["orderTCV"] == 1500.0
    assert order["orderACV"] == 1500.0
    line = order["orderProducts"][0]
    assert line["productName"] == "Pro Plan (US)"
    assert line["subscriptionEndDate"] == "2027-12-31"
    assert data["assets"][0]["status"] == "PendingActivation"
    assert data["invoices"] == []


def test_it_replays_the_comprehensive_order_from_the_guide(api, pbe):
    contact = ok(api.get("/contacts", emails=["ben@acme.example"]))[0]
    body = {
        "customer": {"id": ACME},
        "effectiveDate": START,
        "name": "Q1 2027 software license order",
        "description": "Annual software license renewal with additional users",
        "orderReferenceNumber": "ORD-2027-001",
        "orderType": "New",
        "poNumber": "PO-2027-12345",
        "poDate": "2026-12-20",
        "billToContact": {"id": contact["id"]},
        "shipToContact": contact["id"],
        "paymentMethod": "Credit Card",
        "orderProducts": [
            {
                "priceBookEntryId": pbe("PLAN-PRO-US"),
                "quantity": 50,
                "subscriptionStartDate": START,
                "subscriptionTerm": 12,
                "priceTagCodes": ["WELCOME10"],
            },
            {
                "priceBookEntryId": pbe("INSIGHTS"),
                "quantity": 40,
                "subscriptionStartDate": "2027-01-15",
                "subscriptionTerm": 6,
            },
        ],
        "options": {"previewInvoice": True, "calculateTax": True},
    }
    data = ok(api.post("/orders", body), 201)
    order = data["order"]
    assert order["poNumber"] == "PO-2027-12345"
    assert order["billToContact"] == {"id": contact["id"]}
    pro, insights = order["orderProducts"]
    assert pro["listTotal"] == 15000.0  # 25 x 50 x 12
    assert pro["discountAmount"] == 1500.0  # WELCOME10
    assert insights["subscriptionEndDate"] == "2027-07-14"
    assert insights["listTotal"] == 9600.0  # 40 x 40 x 6
    # San Francisco, CA: 7.25% on the net lines.
    assert order["taxAmount"] == pytest.approx(round(13500 * 0.0725, 2) + round(9600 * 0.0725, 2))
    assert order["grandTotal"] == pytest.approx(order["netTotal"] + order["taxAmount"])
    invoices = data["invoices"]
    assert invoices == data["previewInvoices"]
    assert sum(i["amount"] for i in invoices) == pytest.approx(order["grandTotal"])
    first = invoices[0]
    assert first["invoiceDate"] == START
    assert first["dueDate"] == "2027-01-31"
    assert {"productName", "quantity", "amount", "details"} <= set(first["items"][0])


HUB = {
    "externalSystem": "Stripe",
    "externalId": "cus_RSS1MzKcY2pmJ7",
    "transactionType": "Customer",
}


def card(external_id, name="Primary credit card", **overrides):
    return {
        "externalPaymentMethodId": external_id,
        "name": name,
        "paymentMethodType": "Credit Card",
        "paymentSystem": "Stripe",
        "autoChargeEnabled": True,
        **overrides,
    }


def activate_order(api, body):
    order = ok(api.post("/orders", body), 201)["order"]
    return ok(api.post(f"/orders/{order['id']}", {}))


def test_it_saves_a_new_card_on_activation_as_the_subscriptions_default(api, pbe):
    # create-draft-orders.txt: stored with the draft; on activation created (or, with the same
    # external id, updated) and "assigned to the created subscriptions as defaultpaymentmethodid".
    body = simple_order(pbe, transactionHub=HUB, paymentMethodObject=card("pm_1RcQthRqBuLxaKcM"))
    draft = ok(api.post("/orders", body), 201)["order"]
    assert not PaymentMethod.objects.filter(customer_id=ACME).exists()
    sub = ok(api.post(f"/orders/{draft['id']}", {}))["subscriptions"][0]
    method = PaymentMethod.objects.get(id=sub["defaultPaymentMethodId"])
    assert (method.external_id, method.doc["name"]) == (
        "pm_1RcQthRqBuLxaKcM",
        "Primary credit card",
    )
    body["paymentMethodObject"] = card("pm_1RcQthRqBuLxaKcM", name="Renamed card")
    again = activate_order(api, body)["subscriptions"][0]
    assert again["defaultPaymentMethodId"] == method.id
    assert PaymentMethod.objects.filter(customer_id=ACME).count() == 1
    assert PaymentMethod.objects.get(id=method.id).doc["name"] == "Renamed card"
    # The guide's existing payment method, by its Nue id.
    body["paymentMethodObject"] = {"id": method.id}
    assert activate_order(api, body)["subscriptions"][0]["defaultPaymentMethodId"] == method.id


def test_it_takes_the_add_on_then_the_product_then_the_order_payment_method(api, pbe):
    existing = activate_order(api, simple_order(pbe, paymentMethodObject=card("pm_existing")))
    existing_id = existing["subscriptions"][0]["defaultPaymentMethodId"]
    body = simple_order(pbe, transactionHub=HUB, paymentMethodObject=card("pm_default_card"))
    body["orderProducts"].append(
        {
            "priceBookEntryId": pbe("PLATFORM-SUITE"),
            "quantity": 1,
            "subscriptionStartDate": START,
            "subscriptionTerm": 12,
            "paymentMethodObject": card("pm_product_card", name="Product payment card"),
            "addOns": [
                {
                    "productOptionId": "opt-premium-support",
                    "subscriptionStartDate": START,
                    "subscriptionTerm": 12,
                    "paymentMethodObject": {"id": existing_id},
                }
            ],
        }
    )
    subs = {s["productSku"]: s for s in activate_order(api, body)["subscriptions"]}
    method = {
        sku: PaymentMethod.objects.get(id=sub["defaultPaymentMethodId"]).external_id
        for sku, sub in subs.items()
    }
    assert method == {
        "PLAN-PRO-US": "pm_default_card",  # no product-level one: the order's
        "PLATFORM-SUITE": "pm_product_card",
        "ANALYTICS-CORE": "pm_product_card",  # a bundled add-on falls back to its product
        "ADMIN-SEATS": "pm_product_card",
        "PREMIUM-SUPPORT": "pm_existing",
    }


def test_it_sets_no_default_payment_method_when_the_order_gives_none(api, pbe):
    sub = activate_order(api, simple_order(pbe))["subscriptions"][0]
    assert sub["defaultPaymentMethodId"] is None


@pytest.mark.parametrize(
    ("where", "value", "field"),
    [
        (
            "order",
            card("pm_x", paymentMethodType="Bitcoin"),
            "paymentMethodObject.paymentMethodType",
        ),
        (
            "order",
            {k: v for k, v in card("pm_x").items() if k != "name"},
            "paymentMethodObject.name",
        ),
        ("order", card("pm_x", autoChargeEnabled="yes"), "paymentMethodObject.autoChargeEnabled"),
        ("order", {"id": "existing-payment-method-id"}, "paymentMethodObject.id"),
        ("order", {"id": "d540ce64-c096-4ac4-aed2-f050ba04ceea"}, "paymentMethodObject.id"),
        ("order", "pm_x", "paymentMethodObject"),
        (
            "line",
            card("pm_x", paymentSystem=None),
            "orderProducts[0].paymentMethodObject.paymentSystem",
        ),
        ("addon", {"id": "nope"}, "orderProducts[0].addOns[0].paymentMethodObject.id"),
    ],
)
def test_it_checks_payment_method_objects_against_the_guides_schema(api, pbe, where, value, field):
    body = simple_order(pbe)
    if where == "order":
        body["paymentMethodObject"] = value
    elif where == "line":
        body["orderProducts"][0]["paymentMethodObject"] = value
    else:
        body["orderProducts"][0].update(
            priceBookEntryId=pbe("PLATFORM-SUITE"),
            quantity=1,
            addOns=[{"productOptionId": "opt-premium-support", "paymentMethodObject": value}],
        )
    before = Order.objects.count()
    assert error(api.post("/orders", body), 400)["errors"][0]["field"] == field
    assert Order.objects.count() == before


def test_it_accepts_the_documented_payment_method_types_in_any_case(api, pbe):
    for kind in ("credit card", "ACH", "Wire Transfer", "paypal", "Non-Electronic"):
        body = simple_order(pbe, paymentMethodObject=card(f"pm_{kind}", paymentMethodType=kind))
        ok(api.post("/orders", body), 201)


def test_it_refuses_another_customers_payment_method(api, pbe):
    globex = activate_order(
        api,
        {
            **simple_order(pbe, GLOBEX, paymentMethodObject=card("pm_globex")),
            "orderProducts": [
                {
                    "priceBookEntryId": pbe("PLAN-PRO-EU", "EUR"),
                    "quantity": 1,
                    "subscriptionStartDate": START,
                    "subscriptionTerm": 12,
                }
            ],
        },
    )
    theirs = globex["subscriptions"][0]["defaultPaymentMethodId"]
    body = simple_order(pbe, paymentMethodObject={"id": theirs})
    error(api.post("/orders", body), 400, "PAYMENT_METHOD_NOT_FOUND")


def test_it_carries_custom_fields_to_the_subscription(api, pbe):
    body = simple_order(pbe, Department__c="Engineering", ProjectCode__c="PROJ-2027-001")
    body["orderProducts"][0].update({"ServiceTier__c": "Premium", "Region__c": "US West"})
    order = ok(api.post("/orders", body), 201)["order"]
    assert order["Department__c"] == "Engineering"
    assert order["orderProducts"][0]["ServiceTier__c"] == "Premium"
    data = ok(api.post(f"/orders/{order['id']}", {"options": {}}))
    assert data["subscriptions"][0]["ServiceTier__c"] == "Premium"
    assert data["subscriptions"][0]["Region__c"] == "US West"


def test_it_gives_a_subscription_only_the_custom_fields_it_has(api, pbe):
    # LineNote__c is configured on order products only, so it stays there (new-orders.txt).
    body = simple_order(pbe)
    body["ContractSigned__c"] = "2026-12-01"
    body["orderProducts"][0].update(
        {"LineNote__c": "Rush", "Region__c": "EU", "SeatCommitment__c": 5}
    )
    order = ok(api.post("/orders", body), 201)["order"]
    assert order["ContractSigned__c"] == "2026-12-01"
    assert order["orderProducts"][0]["LineNote__c"] == "Rush"
    sub = ok(api.post(f"/orders/{order['id']}", {}))["subscriptions"][0]
    assert (sub["Region__c"], sub["SeatCommitment__c"]) == ("EU", 5)
    assert "LineNote__c" not in sub


@pytest.mark.parametrize(
    ("where", "name", "value", "field"),
    [
        ("order", "Departmnet__c", "Engineering", "Departmnet__c"),
        ("order", "department__c", "Engineering", "department__c"),
        ("order", "ServiceTier__c", "Premium", "ServiceTier__c"),
        ("line", "Department__c", "Engineering", "orderProducts[0].Department__c"),
        ("line", "Region__c", 7, "orderProducts[0].Region__c"),
        ("line", "SeatCommitment__c", True, "orderProducts[0].SeatCommitment__c"),
        ("order", "ContractSigned__c", "2026-02-30", "ContractSigned__c"),
        ("addon", "Tier__c", "Gold", "orderProducts[0].addOns[0].Tier__c"),
    ],
)
def test_it_rejects_custom_fields_not_configured_so(api, pbe, where, name, value, field):
    # "Field names must match exactly as configured in Nue settings"; "invalid custom field
    # names will result in API validation errors" (create-draft-orders.txt).
    body = simple_order(pbe)
    if where == "order":
        body[name] = value
    elif where == "line":
        body["orderProducts"][0][name] = value
    else:
        body["orderProducts"][0].update(
            priceBookEntryId=pbe("PLATFORM-SUITE"),
            quantity=1,
            addOns=[{"productOptionId": "opt-premium-support", name: value}],
        )
    before = Order.objects.count()
    failure = error(api.post("/orders", body), 400, "INVALID_CUSTOM_FIELD")
    assert failure["errors"][0]["field"] == field
    assert Order.objects.count() == before


def test_it_expands_a_bundle_with_nested_add_ons(api, pbe, catalog):
    tag_id = next(
        t["id"] for t in api.get("/catalog/price-tags").json() if t["code"] == "SEATS-VOLUME"
    )
    body = {
        "customer": {"id": ACME},
        "effectiveDate": "2025-01-01",
        "name": "Enterprise software bundle order",
        "orderProducts": [
            {
                "priceBookEntryId": pbe("PLATFORM-SUITE"),
                "quantity": 1,
                "subscriptionStartDate": "2025-01-01",
                "subscriptionTerm": 12,
                "addOns": [
                    {
                        "productOptionId": "opt-admin-seats",
                        "productOptionQuantity": 25,
                        "subscriptionStartDate": "2025-01-01",
                        "subscriptionTerm": 12,
                        "priceTagIds": [tag_id],
                    },
                    {
                        "productOptionId": "opt-premium-support",
                        "subscriptionStartDate": "2025-01-01",
                        "subscriptionTerm": 12,
                    },
                    {
                        "productOptionId": "opt-integration-pack",
                        "subscriptionStartDate": "2025-02-01",
                        "subscriptionTerm": 10,
                        "addOns": [
                            {
                                "productOptionId": "opt-sfdc-connector",
                                "subscriptionStartDate": "2025-02-01",
                                "subscriptionTerm": 10,
                            },
                            {
                                "productOptionId": "opt-api-endpoints",
                                "productOptionQuantity": 5,
                                "subscriptionStartDate": "2025-03-01",
                                "subscriptionTerm": 9,
                            },
                        ],
                    },
                ],
            }
        ],
        "options": {"previewInvoice": True, "calculateTax": True},
    }
    data = ok(api.post("/orders", body), 201)
    lines = data["order"]["orderProducts"]
    by_sku = {line["productSku"]: line for line in lines}
    assert [line["productSku"] for line in lines] == [
        "PLATFORM-SUITE",
        "ANALYTICS-CORE",
        "ADMIN-SEATS",
        "PREMIUM-SUPPORT",
        "INTEGRATION-PACK",
        "CONNECTOR-RUNTIME",
        "SFDC-CONNECTOR",
        "API-ENDPOINTS",
    ]
    bundle = by_sku["PLATFORM-SUITE"]
    assert by_sku["ANALYTICS-CORE"]["optionType"] == "Bundled"
    assert by_sku["ANALYTICS-CORE"]["totalPrice"] == 0.0
    assert by_sku["ADMIN-SEATS"]["parentId"] == bundle["id"]
    assert by_sku["ADMIN-SEATS"]["discountAmount"] == 25 * 15 * 12 * 0.10
    assert by_sku["CONNECTOR-RUNTIME"]["parentId"] == by_sku["INTEGRATION-PACK"]["id"]
    assert by_sku["CONNECTOR-RUNTIME"]["rootId"] == bundle["id"]
    assert by_sku["CONNECTOR-RUNTIME"]["level"] == 3
    assert by_sku["API-ENDPOINTS"]["subscriptionEndDate"] == "2025-11-30"
    assert by_sku["INTEGRATION-PACK"]["subscriptionEndDate"] == "2025-11-30"
    assert len(data["assets"]) == len(lines)


def test_it_auto_adds_required_add_ons_at_the_default_quantity(api, pbe):
    body = simple_order(pbe)
    body["orderProducts"] = [
        {
            "priceBookEntryId": pbe("PLATFORM-SUITE"),
            "quantity": 1,
            "subscriptionStartDate": START,
            "subscriptionTerm": 12,
        }
    ]
    lines = ok(api.post("/orders", body), 201)["order"]["orderProducts"]
    seats = next(line for line in lines if line["productSku"] == "ADMIN-SEATS")
    assert seats["quantity"] == 2
    assert seats["subscriptionStartDate"] == START
    assert seats["subscriptionEndDate"] == "2027-12-31"
    assert {line["productSku"] for line in lines} == {
        "PLATFORM-SUITE",
        "ANALYTICS-CORE",
        "ADMIN-SEATS",
    }


@pytest.mark.parametrize(
    ("addons", "code"),
    [
        ([{"productOptionId": "opt-nope"}], "INVALID_ADDON_PRODUCT"),
        ([{"productOptionId": "opt-sfdc-connector"}], "INVALID_ADDON_HIERARCHY"),
        (
            [
                {
                    "productOptionId": "opt-integration-pack",
                    "addOns": [{"productOptionId": "opt-api-endpoints"}],
                }
            ],
            "MISSING_ADDON_QUANTITY",
        ),
        (
            [{"productOptionId": "opt-admin-seats", "productOptionQuantity": 500}],
            "ADDON_QUANTITY_OUT_OF_RANGE",
        ),
        (
            [{"productOptionId": "opt-premium-support", "productOptionQuantity": 3}],
            "ADDON_QUANTITY_NOT_EDITABLE",
        ),
        (
            [{"productOptionId": "opt-premium-support", "subscriptionStartDate": "2026-12-01"}],
            "INVALID_ADDON_START_DATE",
        ),
        (
            [{"productOptionId": "opt-premium-support", "subscriptionTerm": 24}],
            "SUBSCRIPTION_TERM_NOT_ALLOWED",
        ),
    ],
)
def test_it_rejects_bad_bundle_configurations(api, pbe, addons, code):
    body = simple_order(pbe)
    body["orderProducts"] = [
        {
            "priceBookEntryId": pbe("PLATFORM-SUITE"),
            "quantity": 1,
            "subscriptionStartDate": START,
            "subscriptionTerm": 12,
            "addOns": addons,
        }
    ]
    before = Order.objects.count()
    error(api.post("/orders", body), 400, code)
    assert Order.objects.count() == before


def test_it_coterms_a_new_line_with_an_existing_subscription(api, pbe):
    sub = subscription(api, ACME, "PLAN-PRO-US")
    today = date.today().isoformat()
    body = {
        "customer": {"id": ACME},
        "effectiveDate": today,
        "billingPeriod": "Annual",
        "orderProducts": [
            {
                "priceBookEntryId": pbe("PLAN-STARTER-US"),
                "quantity": 10,
                "subscriptionStartDate": today,
                "cotermAsset": sub["name"],
                "priceTagCodes": ["SEATS-VOLUME"],
            }
        ],
        "options": {"previewInvoice": True, "calculateTax": True},
    }
    line = ok(api.post("/orders", body), 201)["order"]["orderProducts"][0]
    assert line["subscriptionEndDate"] == sub["subscriptionEndDate"]
    assert line["coTermAsset"] == sub["name"]
    assert line["discountAmount"] > 0  # ten seats reach the 10% volume tier


def test_it_rejects_a_coterm_with_another_customers_asset(api, pbe):
    globex_sub = subscription(api, GLOBEX, "PLAN-PRO-EU")
    body = simple_order(pbe)
    del body["orderProducts"][0]["subscriptionTerm"]
    body["orderProducts"][0]["coTermAsset"] = globex_sub["name"]
    error(api.post("/orders", body), 400, "ASSET_NOT_FOUND")


def test_it_rejects_a_coterm_start_after_the_asset_ends(api, pbe):
    sub = subscription(api, ACME, "PLAN-PRO-US")
    late = (date.fromisoformat(sub["subscriptionEndDate"]) + timedelta(days=1)).isoformat()
    body = simple_order(pbe)
    body["orderProducts"][0].pop("subscriptionTerm")
    body["orderProducts"][0].update({"subscriptionStartDate": late, "coTermAsset": sub["name"]})
    error(api.post("/orders", body), 400, "DATE_MISMATCH")


def test_it_requires_a_term_or_a_coterm_asset(api, pbe):
    body = simple_order(pbe)
    del body["orderProducts"][0]["subscriptionTerm"]
    error(api.post("/orders", body), 400, "MISSING_SUBSCRIPTION_TERM")


def test_it_warns_when_tax_has_no_shipping_address(api, pbe):
    response = api.post("/orders", simple_order(pbe, INITECH, options={"calculateTax": True}))
    assert response.status_code == 201
    body = response.json()
    assert body["data"]["order"]["taxAmount"] == 0.0
    assert body["warnings"][0]["code"] == "TAX_ADDRESS_MISSING"


@pytest.mark.parametrize("sku", ["ONBOARDING-FEE", "SECURITY-KEY"])
@pytest.mark.parametrize("path", ["/orders", "/orders/invoice-preview"])
def test_it_takes_only_subscription_products_in_a_new_order(api, pbe, sku, path):
    # new-orders.txt, Current Limitations: only subscriptions in new orders; no entitlements
    # (Onboarding, a professional service) or assets (the hardware key) yet.
    body = simple_order(pbe)
    body["orderProducts"].append(
        {"priceBookEntryId": pbe(sku), "quantity": 1, "subscriptionStartDate": START}
    )
    before = Order.objects.count()
    failure = error(api.post(path, body), 400, "UNSUPPORTED_PRODUCT")
    assert failure["errors"][0]["field"] == "orderProducts[1].priceBookEntryId"
    assert Order.objects.count() == before


@pytest.mark.parametrize(
    ("customer", "address", "rate"),
    [
        # Initech has no address of its own: the order's is used, and nothing is missing.
        (INITECH, {"shippingState": "TX", "shippingCountry": "US"}, 0.0625),
        # Acme ships to California (7.25 %); this order ships to Berlin.
        (ACME, {"shippingCity": "Berlin", "shippingCountry": "DE"}, 0.19),
    ],
)
def test_it_taxes_by_the_shipping_address_in_the_order(api, pbe, customer, address, rate):
    # new-orders.txt, Calculating Tax: the address in the order body, else the customer's.
    body = simple_order(pbe, customer, options={"calculateTax": True}, **address)
    response = api.post("/orders", body)
    order = ok(response, 201)["order"]
    assert order["taxAmount"] == round(1500 * rate, 2)
    assert response.json()["warnings"] == []
    assert order["shippingCountry"] == address["shippingCountry"]


def new_contact(api, customer, email, **address):
    body = [{"firstName": "Tax", "lastName": "Payer", "email": email, **address}]
    return ok(api.post(f"/customers/{customer}/contacts", body), 201)[0]


@pytest.mark.parametrize("shape", ["id", "object"])
def test_it_taxes_by_the_ship_to_contacts_shipping_address(api, pbe, shape):
    # Acme ships to California (7.25 %); its contact in New York (4 %) is this order's ship-to.
    # The create-draft guide sends shipToContact as the bare id; {id} is taken too.
    contact = new_contact(api, ACME, "ny@acme.example", shippingState="NY", shippingCountry="US")
    ship_to = contact["id"] if shape == "id" else {"id": contact["id"]}
    body = simple_order(pbe, options={"calculateTax": True}, shipToContact=ship_to)
    response = api.post("/orders", body)
    order = ok(response, 201)["order"]
    assert order["taxAmount"] == round(1500 * 0.04, 2)
    assert order["shipToContact"] == contact["id"]
    assert response.json()["warnings"] == []


def test_it_prefers_the_ship_to_over_the_bill_to_contact(api, pbe):
    billed = new_contact(
        api, INITECH, "tx@initech.example", shippingState="TX", shippingCountry="US"
    )
    shipped = new_contact(api, INITECH, "de@initech.example", shippingCountry="DE")
    body = simple_order(
        pbe,
        INITECH,
        options={"calculateTax": True},
        billToContact={"id": billed["id"]},
        shipToContact=shipped["id"],
    )
    order = ok(api.post("/orders", body), 201)["order"]
    assert order["taxAmount"] == round(1500 * 0.19, 2)
    # Without the ship-to, the bill-to contact's address is taxed.
    del body["shipToContact"]
    assert ok(api.post("/orders", body), 201)["order"]["taxAmount"] == round(1500 * 0.0625, 2)


def test_it_falls_back_to_the_customer_when_the_ship_to_has_no_address(api, pbe):
    contact = new_contact(api, INITECH, "nowhere@initech.example")
    body = simple_order(pbe, INITECH, options={"calculateTax": True}, shipToContact=contact["id"])
    response = api.post("/orders", body)
    assert ok(response, 201)["order"]["taxAmount"] == 0.0
    assert response.json()["warnings"][0]["code"] == "TAX_ADDRESS_MISSING"


def test_it_refuses_another_customers_ship_to_contact(api, pbe):
    grace = ok(api.get("/contacts", emails=["grace@globex.example"]))[0]
    body = simple_order(pbe, shipToContact=grace["id"])
    failure = error(api.post("/orders", body), 400, "CONTACT_NOT_FOUND")
    assert failure["errors"][0]["field"] == "shipToContact"


def test_it_wants_a_country_in_the_orders_shipping_address(api, pbe):
    body = simple_order(pbe, options={"calculateTax": True}, shippingCity="Berlin")
    assert error(api.post("/orders", body), 400)["errors"][0]["field"] == "shippingCountry"


def test_it_activates_a_draft_into_subscriptions_and_invoices(api, pbe):
    order = ok(api.post("/orders", simple_order(pbe)), 201)["order"]
    activation = {
        "options": {"generateInvoice": True, "activateInvoice": False},
        "poNumber": "PO-2025-001",
        "poDate": "2025-01-01",
        "transactionHub": {
            "externalSystem": "Stripe",
            "externalId": "cus_dksiwd123",
            "transactionType": "Customer",
        },
    }
    data = ok(api.post(f"/orders/{order['id']}", activation))
    assert data["order"]["status"] == "Activated"
    assert data["order"]["activatedDate"]
    assert data["order"]["poNumber"] == "PO-2025-001"
    sub = data["subscriptions"][0]
    assert sub["name"].startswith("SUB-")
    assert sub["subscriptionVersion"] == 1
    assert sub["quantity"] == 5
    assert sub["status"] == "Pending"
    assert (data["entitlements"], data["assets"]) == ([], [])
    assert len(data["invoices"]) == 1  # the first billing period, starting 2027-01-01
    assert data["invoices"][0]["status"] == "Draft"
    assert data["invoices"][0]["amount"] == 125.0
    # A second activation is a conflict, and changes nothing.
    error(api.post(f"/orders/{order['id']}", {}), 409, "ORDER_NOT_DRAFT")
    assert Subscription.objects.filter(order_id=order["id"]).count() == 1


def test_it_answers_404_when_activating_an_unknown_order(api):
    error(api.post("/orders/5e5e5e5e-0000-4000-8000-000000000000", {}), 404, "NOT_FOUND")


def test_it_lists_orders_with_includes_and_lower_case_status(api, pbe):
    drafts = ok(api.get("/orders", customerIds=[ACME], status="draft"))
    assert drafts
    assert all(o["status"] == "Draft" for o in drafts)
    assert all("orderProducts" not in o for o in drafts)
    active = ok(
        api.get(
            "/orders", customerIds=[ACME], status="active", includes="orderProducts,assets,invoices"
        )
    )
    assert active
    assert all(o["status"] == "Activated" for o in active)
    with_subs = [
        o for o in active if any(a.get("name", "").startswith("SUB-") for a in o["assets"])
    ]
    assert with_subs
    assert any(o["invoices"] for o in active)
    assert all(o["orderProducts"] for o in active)
    assert ok(api.get("/orders", customerIds=[ACME], status="activated"))
    canceled = ok(api.get("/orders", customerIds=[ACME], status="canceled"))
    assert canceled
    assert all(o["status"] == "Canceled" for o in canceled)
    assert all(o["customerId"] == ACME for o in ok(api.get("/orders", customerIds=[ACME])))


def test_it_rejects_listing_orders_without_customer_ids_or_with_a_bad_status(api):
    error(api.get("/orders"), 400)
    error(api.get("/orders", customerIds=[ACME], status="shipped"), 400)


def test_it_previews_invoices_without_persisting_anything(api, pbe):
    orders, invoices = Order.objects.count(), Invoice.objects.count()
    body = simple_order(pbe, options={"previewInvoice": True})
    data = ok(api.post("/orders/invoice-preview", body))
    assert len(data["invoices"]) == 12  # monthly billing over a 12-month term
    assert sum(i["amount"] for i in data["invoices"]) == pytest.approx(1500.0)
    assert data["order"]["taxAmount"] == 0.0
    assert (Order.objects.count(), Invoice.objects.count()) == (orders, invoices)


def test_it_never_taxes_an_invoice_preview(api, pbe):
    body = simple_order(pbe, options={"calculateTax": True})
    assert ok(api.post("/orders/invoice-preview", body))["order"]["taxAmount"] == 0.0


@pytest.mark.parametrize("option", ["generateInvoice", "activateInvoice", "asyncPayment"])
def test_it_rejects_activation_options_on_a_preview(api, pbe, option):
    body = simple_order(pbe, options={option: True})
    error(api.post("/orders/invoice-preview", body), 400)


def test_it_wants_exactly_one_of_order_products_and_asset_changes(api, pbe):
    body = simple_order(pbe)
    body["assetChanges"] = [{"changeType": "Renew", "assetNumber": "SUB-00000001"}]
    error(api.post("/orders/invoice-preview", body), 400)
    error(api.post("/orders/invoice-preview", {"customer": {"id": ACME}}), 400)


def test_it_generates_a_magic_link_to_a_printable_quote(api, anonymous, pbe):
    order = ok(api.post("/orders", simple_order(pbe)), 201)["order"]
    response = api.get(f"/orders/magiclink/order/{order['id']}")
    assert response.status_code == 200
    link = response.json()["magicLink"]
    assert link.startswith("http://testserver/nue-emulator/view-order/")
    page = anonymous.client.get(link.removeprefix("http://testserver"))
    assert page.status_code == 200
    html = page.content.decode()
    assert order["orderNumber"] in html
    assert "<script" not in html
    assert "style=" not in html
    branded = api.get(f"/orders/magiclink/order/{order['id']}/template/custom-branded-template")
    assert branded.json()["magicLink"] != link
    error(api.get(f"/orders/magiclink/order/{order['id']}/template/nope"), 404)
    error(api.get("/orders/magiclink/order/missing"), 404)


def test_it_groups_thousands_on_the_quote_page(api, anonymous, pbe):
    order = ok(api.post("/orders", simple_order(pbe)), 201)["order"]
    total = Decimal(str(order["grandTotal"]))
    assert total >= 1000
    link = api.get(f"/orders/magiclink/order/{order['id']}").json()["magicLink"]
    html = anonymous.client.get(link.removeprefix("http://127.0.0.1:8000")).content.decode()
    assert f"${total:,.2f}</td>" in html


def test_it_refuses_a_tampered_or_expired_quote_link(api, anonymous, pbe, time_machine):
    order = ok(api.post("/orders", simple_order(pbe)), 201)["order"]
    link = api.get(f"/orders/magiclink/order/{order['id']}").json()["magicLink"]
    path = link.removeprefix("http://testserver")
    assert anonymous.client.get(path[:-3] + "abc").status_code == 404
    time_machine.move_to(date.today() + timedelta(days=8))
    assert anonymous.client.get(path).status_code == 410


def test_it_syncs_what_getting_started_says_to_check_after_activation(api, pbe):
    # getting-started-with-order-management.txt: once the first order is activated the customer
    # syncs (externalId, type Prospect to Direct Customer), orders and subscriptions get their
    # Salesforce records, and "you can check if orders have synced by looking for the externalId".
    customer = ok(api.get(f"/customers/{INITECH}", includes="contacts"))
    assert (customer["externalId"], customer["type"]) == (None, "Prospect")
    assert customer["contacts"][0]["externalId"] is None
    draft = ok(api.post("/orders", simple_order(pbe, INITECH)), 201)["order"]
    assert draft["externalId"] is None
    data = ok(api.post(f"/orders/{draft['id']}", {}))
    assert data["order"]["externalId"].startswith("801")
    assert len(data["order"]["externalId"]) == 18
    sub = data["subscriptions"][0]
    assert sub["externalId"]
    customer = ok(api.get(f"/customers/{INITECH}", includes="contacts"))
    assert customer["externalId"].startswith("001")
    assert customer["type"] == "Direct Customer"
    assert customer["contacts"][0]["externalId"].startswith("003")
    listed = ok(api.get("/orders", customerIds=[INITECH], status="activated"))
    assert [o["externalId"] for o in listed] == [data["order"]["externalId"]]
    # A change order updates the same Salesforce subscription record.
    bump = {"changeType": "UpdateQuantity", "assetNumber": sub["name"], "quantity": 1}
    body = {"assetChanges": [{**bump, "startDate": START}]}
    change = ok(api.post("/change-orders", body), 201)["order"]
    changed = ok(api.post(f"/orders/{change['id']}", {}))["subscriptions"][0]
    assert changed["subscriptionVersion"] == 2
    assert changed["externalId"] == sub["externalId"]


def test_it_gives_an_activated_order_a_pdf(api, anonymous, pbe, time_machine):
    # getting-started-with-order-management.txt: "check if pdf is available: if (order.orderPdf)".
    draft = ok(api.post("/orders", simple_order(pbe)), 201)["order"]
    assert draft["orderPdf"] is None
    link = ok(api.post(f"/orders/{draft['id']}", {}))["order"]["orderPdf"]
    assert link.startswith("http://testserver/nue-emulator/view-order-pdf/")
    for includes in ("", "orderProducts,assets,invoices"):
        listed = ok(api.get("/orders", customerIds=[ACME], includes=includes))
        by_id = {o["id"]: o for o in listed}
        assert by_id[draft["id"]]["orderPdf"].startswith("http://testserver/nue-emulator/")
        assert all(o["orderPdf"] is None for o in listed if o["status"] != "Activated")
        assert all(o["orderPdf"] for o in listed if o["status"] == "Activated")
    path = link.removeprefix("http://testserver")
    page = anonymous.client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert f"Order {draft['orderNumber']}" in html
    assert "<script" not in html
    assert anonymous.client.get(path[:-3] + "abc").status_code == 404
    time_machine.move_to(date.today() + timedelta(days=8))
    assert anonymous.client.get(path).status_code == 410
