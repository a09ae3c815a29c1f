"""Bad input of every kind gets a precise 4xx and changes nothing."""

from __future__ import annotations

import pytest

from nue_emulator import journal
from nue_emulator.models import Order, Sequence, Subscription
from tests.nue_emulator.conftest import ACME, error

START = "2027-01-01"


def line(pbe, **overrides):
    base = {
        "priceBookEntryId": pbe("PLAN-PRO-US"),
        "quantity": 5,
        "subscriptionStartDate": START,
        "subscriptionTerm": 12,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def state():
    return (
        Order.objects.count(),
        Subscription.objects.count(),
        list(Sequence.objects.order_by("name").values_list("name", "value")),
    )


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b, p: b.pop("customer"), "customer"),
        (lambda b, p: b.update(customer={"id": "nope"}), "customer.id"),
        (lambda b, p: b.update(customer="acme"), "customer"),
        (lambda b, p: b.pop("effectiveDate"), "effectiveDate"),
        (lambda b, p: b.update(effectiveDate="2027-13-01"), "effectiveDate"),
        (lambda b, p: b.update(effectiveDate=20270101), "effectiveDate"),
        (lambda b, p: b.update(orderProducts=[]), "orderProducts"),
        (lambda b, p: b.update(orderProducts={"a": 1}), "orderProducts"),
        (lambda b, p: b.update(orderProducts=[line(p, quantity=-1)]), "orderProducts[0].quantity"),
        (lambda b, p: b.update(orderProducts=[line(p, quantity=0)]), "orderProducts[0].quantity"),
        (lambda b, p: b.update(orderProducts=[line(p, quantity=1.5)]), "orderProducts[0].quantity"),
        (lambda b, p: b.update(orderProducts=[line(p, quantity="5")]), "orderProducts[0].quantity"),
        (
            lambda b, p: b.update(orderProducts=[line(p, quantity=True)]),
            "orderProducts[0].quantity",
        ),
        (lambda b, p: b.update(orderProducts=[line(p, quantity=...)]), "orderProducts[0].quantity"),
        (
            lambda b, p: b.update(orderProducts=[line(p, priceBookEntryId="01uNOPE")]),
            "orderProducts[0].priceBookEntryId",
        ),
        (
            lambda b, p: b.update(orderProducts=[line(p, priceBookEntryId=p("ADMIN-SEATS"))]),
            "orderProducts[0].priceBookEntryId",
        ),
        (
            lambda b, p: b.update(orderProducts=[line(p, subscriptionTerm=0)]),
            "orderProducts[0].subscriptionTerm",
        ),
        (
            lambda b, p: b.update(orderProducts=[line(p, subscriptionTerm="12")]),
            "orderProducts[0].subscriptionTerm",
        ),
        (
            lambda b, p: b.update(orderProducts=[line(p, subscriptionStartDate=...)]),
            "orderProducts[0].subscriptionStartDate",
        ),
        (
            lambda b, p: b.update(orderProducts=[line(p, priceTagCodes=["NOPE"])]),
            "orderProducts[0].priceTagCodes",
        ),
        (
            lambda b, p: b.update(orderProducts=[line(p, priceTagCodes="WELCOME10")]),
            "orderProducts[0].priceTagCodes",
        ),
        (
            lambda b, p: b.update(orderProducts=[line(p, addOns=[{"productOptionId": "x"}])]),
            "orderProducts[0].addOns",
        ),
        (lambda b, p: b.update(options={"previewInvoice": "yes"}), "options.previewInvoice"),
        (lambda b, p: b.update(options=[]), "options"),
        (lambda b, p: b.update(billingPeriod="Weekly"), "billingPeriod"),
        (lambda b, p: b.update(billToContact={"id": "not-a-contact"}), "billToContact.id"),
        (lambda b, p: b.update(name="x" * 300), "name"),
    ],
)
def test_it_rejects_bad_draft_orders_precisely(api, pbe, mutate, field):
    body = {"customer": {"id": ACME}, "effectiveDate": START, "orderProducts": [line(pbe)]}
    mutate(body, pbe)
    before = state()
    response = api.post("/orders", body)
    assert response.status_code == 400, response.content
    failure = response.json()
    assert failure["status"] == "FAILURE"
    assert failure["errors"][0]["field"] == field
    assert state() == before


def test_it_rejects_malformed_json(api):
    body = error(api.post("/orders", raw="{not json"), 400, "MALFORMED_JSON")
    assert "JSON" in body["message"]
    error(api.post("/orders", raw="[1, 2]"), 400)
    error(api.post("/orders", raw='"text"'), 400)


def test_it_rejects_an_oversized_body(api):
    error(api.post("/orders", raw='{"name": "' + "x" * 1_100_000 + '"}'), 413, "PAYLOAD_TOO_LARGE")


def test_it_rejects_the_wrong_method(api):
    error(api.delete("/orders"), 405, "METHOD_NOT_ALLOWED")
    error(api.post("/catalog/products", {}), 405)


def test_it_rejects_bad_activation_bodies(api, pbe):
    body = {"customer": {"id": ACME}, "effectiveDate": START, "orderProducts": [line(pbe)]}
    order = api.post("/orders", body).json()["data"]["order"]
    for bad in (
        {"options": {"generateInvoice": 1}},
        {"poDate": "yesterday"},
        {"transactionHub": {"externalSystem": 3}},
        {"options": "all"},
    ):
        error(api.post(f"/orders/{order['id']}", bad), 400)
    assert Order.objects.get(id=order["id"]).status == "Draft"


def test_it_never_records_a_write_for_a_rejected_request(api):
    api.post("/orders", raw="{bad")
    api.post("/orders", {"customer": {"id": ACME}})
    assert [e.wrote for e in journal.entries()] == [False, False]


@pytest.mark.parametrize(
    "path",
    [
        "/subscriptions",
        "/subscriptions?customerIds=notjson[",
        "/subscriptions/product-relationships",
        f"/customers/{ACME}/invoices?page=0",
        f"/customers/{ACME}/invoices?limit=501",
        f"/customers/{ACME}/invoices?page=x",
        "/orders?customerIds=%5B1%2C2%5D",
    ],
)
def test_it_rejects_bad_query_strings(api, path):
    response = api.client.get("/nue-emulator" + path, **api.headers)
    assert response.status_code == 400, response.content
    assert response.json()["errors"]


@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
@pytest.mark.parametrize("path", ["/no/such/route", "/orders/", "/billing/payment-methods"])
def test_it_answers_an_unknown_route_with_nues_json_error(api, method, path):
    # Nue answers JSON (nue-api.md §1.3-§1.5), never the HTML page of whatever serves it.
    response = getattr(api.client, method)("/nue-emulator" + path, **api.headers)
    assert response["Content-Type"] == "application/json"
    error(response, 404, "NOT_FOUND")
