"""The client and the key pages against Nue's answers as its guides show them (issue 23): as the
guide prints each one, and with unknown fields, nulls, missing optional fields and numbers as
strings (tests/orders/guide_samples.py). Never a 5xx; every record read."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from django.utils import timezone

from orders import nue

from . import guide_samples as guide
from .conftest import ACME_ID

SHAPES = list(guide.SHAPES.items())
SHAPE_IDS = list(guide.SHAPES)


@pytest.fixture(params=SHAPES, ids=SHAPE_IDS)
def shaped(request):
    return request.param[1]


def answer(body: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


# --- The client ----------------------------------------------------------------------------------


def test_it_reads_a_created_draft(scope, nue_mock, shaped):
    nue_mock.post("/orders").mock(return_value=answer(shaped(guide.draft_created(ACME_ID)), 201))
    result = scope.create_draft(
        [nue.LineRequest(guide.ENTRY_ID, Decimal(5), term_months=12)],
        effective_date=date(2025, 1, 1),
    )
    assert (result.order.id, result.order.order_number) == (guide.ORDER_ID, "ORD-000001")
    assert result.order.status == "Draft"
    assert [i.amount for i in result.preview_invoices] == [Decimal("9720.00")]
    assert scope.omitted("preview invoices") == []


def test_it_reads_the_warnings_the_draft_guide_prints(scope, nue_mock):
    nue_mock.post("/orders").mock(return_value=answer(guide.draft_created(ACME_ID), 201))
    result = scope.create_draft(
        [nue.LineRequest(guide.ENTRY_ID, Decimal(5), term_months=12)],
        effective_date=date(2025, 1, 1),
    )
    assert result.warnings == ("Tax was calculated from the customer's shipping address.",)


def test_it_reads_the_order_history(scope, nue_mock, shaped):
    nue_mock.get("/orders").mock(return_value=answer(shaped(guide.order_history(ACME_ID))))
    orders = scope.orders(includes=["orderProducts"])
    assert [(o.order_number, o.status) for o in orders] == [
        ("O-00000300", "Activated"),
        ("O-00000301", "Draft"),
    ]
    assert [line.quantity for line in orders[0].all_lines()] == [Decimal(5)]
    assert [o.order_number for o in scope.orders(status="activated")] == ["O-00000300"]
    assert scope.omitted("orders") == []


@pytest.mark.django_db
def test_it_reads_an_activation(ledger_scope, nue_mock, buyer, shaped):
    draft = guide.order_history(ACME_ID)["data"][0] | {"status": "draft"}
    activated = guide.activated(ACME_ID)["data"]["order"]
    # One order is read from the customer's list (nue-api.md §5.5): the draft, then activated.
    nue_mock.get("/orders").mock(
        side_effect=[answer({"status": "success", "data": [draft]})]
        + [answer({"status": "success", "data": [activated]})] * 3
    )
    nue_mock.post(f"/orders/{guide.ORDER_ID}").mock(
        return_value=answer(shaped(guide.activated(ACME_ID)), 201)
    )
    result = ledger_scope.activate(guide.ORDER_ID, actor=buyer)
    assert (result.order.order_number, result.order.status) == ("O-00000300", "Activated")
    assert [s.name for s in result.subscriptions] == [guide.SUBSCRIPTION_NAME]
    assert len(result.invoices) == 1


@pytest.mark.django_db
def test_it_reads_a_created_change_order(ledger_scope, nue_mock, buyer, shaped):
    nue_mock.get("/subscriptions").mock(return_value=answer(guide.subscriptions(ACME_ID)))
    nue_mock.post("/change-orders").mock(
        return_value=answer(shaped(guide.change_created(ACME_ID)), 201)
    )
    change = nue.AssetChange("UpdateQuantity", quantity=Decimal(3), start_date=date(2025, 2, 1))
    result = ledger_scope.change([(guide.SUBSCRIPTION_NAME, [change])], actor=buyer)
    assert (result.order.id, result.order.order_number) == (guide.CHANGE_ORDER_ID, "O-00000301")
    assert [i.amount for i in result.preview_invoices] == [Decimal("75.00")]
    assert [c.name for c in result.changes] == [guide.SUBSCRIPTION_NAME]


def test_it_reads_a_magic_link(scope, nue_mock, shaped):
    draft = guide.order_history(ACME_ID)["data"][1]
    nue_mock.get("/orders").mock(return_value=answer({"status": "success", "data": [draft]}))
    nue_mock.get(f"/orders/magiclink/order/{guide.CHANGE_ORDER_ID}").mock(
        return_value=answer(shaped(guide.magic_link(guide.CHANGE_ORDER_ID)))
    )
    link = scope.magic_link(guide.CHANGE_ORDER_ID)
    assert link.url.startswith("https://app.nue.io/view-order/")


def test_it_reads_subscriptions(scope, nue_mock, shaped):
    nue_mock.get("/subscriptions").mock(return_value=answer(shaped(guide.subscriptions(ACME_ID))))
    (subscription,) = scope.subscriptions()
    assert (subscription.name, subscription.version) == (guide.SUBSCRIPTION_NAME, 1)
    assert subscription.quantity == Decimal(5)


def test_it_reads_invoices(scope, nue_mock, shaped):
    nue_mock.get(f"/customers/{ACME_ID}/invoices").mock(
        return_value=answer(shaped(guide.invoices(ACME_ID)))
    )
    page = scope.invoices()
    assert [(i.name, i.amount) for i in page.items] == [("INV-00000001", Decimal("5821.20"))]
    assert page.total == 1


@pytest.mark.usefixtures("_clear_cache")
def test_it_reads_the_catalog_and_price_tags(scope, nue_mock, shaped):
    nue_mock.get(f"/customers/{ACME_ID}/products").mock(
        return_value=answer(shaped(guide.catalog()))
    )
    nue_mock.get("/catalog/price-tags").mock(return_value=answer(shaped(guide.price_tags())))
    (product,) = scope.catalog()
    assert [(e.id, e.list_price) for e in product.price_book_entries] == [
        (guide.ENTRY_ID, Decimal("99.00"))
    ]
    assert [t.code for t in scope.price_tags()] == ["ENTERPRISE2025"]


def test_it_reads_a_refusal_the_draft_guide_names(scope, nue_mock):
    nue_mock.post("/orders").mock(
        return_value=answer(
            guide.failure("Invalid addon hierarchy", "INVALID_ADDON_HIERARCHY"), 400
        )
    )
    with pytest.raises(nue.NueValidationError) as caught:
        scope.create_draft(
            [nue.LineRequest(guide.ENTRY_ID, Decimal(1), term_months=12)],
            effective_date=date(2025, 1, 1),
        )
    assert caught.value.message == "Invalid addon hierarchy"
    assert caught.value.field_errors == {
        "lines[0].add_ons[0].product_option_id": ("Invalid addon hierarchy",)
    }


# --- The key pages, through a Nue that answers as the guides show -------------------------------


@pytest.fixture
def guide_nue(ada, nue_mock, shaped, _clear_cache):
    """Every read of Ada's pages answered with the guides' samples, in one shape."""
    customer = ada.memberships.get().account.nue_customer_id
    nue_mock.get("/orders").mock(return_value=answer(shaped(guide.order_history(customer))))
    nue_mock.get("/subscriptions").mock(return_value=answer(shaped(guide.subscriptions(customer))))
    nue_mock.get(f"/customers/{customer}/invoices").mock(
        return_value=answer(shaped(guide.invoices(customer)))
    )
    nue_mock.get(f"/customers/{customer}/products").mock(
        return_value=answer(shaped(guide.catalog()))
    )
    nue_mock.get("/catalog/price-tags").mock(return_value=answer(shaped(guide.price_tags())))
    nue_mock.get("/customers").mock(
        return_value=answer(shaped(guide.customer_with_contacts(customer)))
    )
    nue_mock.post("/orders/invoice-preview").mock(
        return_value=answer(shaped({"status": "success", "data": {"invoices": []}}))
    )
    nue_mock.post("/orders").mock(return_value=answer(shaped(guide.draft_created(customer)), 201))
    return customer


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("/orders/", ["O-00000300", "O-00000301"]),
        ("/orders/?status=activated", ["O-00000300"]),
        ("/subscriptions/", [guide.SUBSCRIPTION_NAME]),
        ("/invoices/", ["INV-00000001"]),
        ("/orders/new/", ["Platform License"]),
        ("/billing/", ["Acme Corporation"]),
        ("/", ["O-00000300"]),
    ],
)
def test_the_pages_show_what_the_guides_answer(ada_client, guide_nue, url, shown):
    response = ada_client.get(url)
    assert response.status_code == 200, response.content.decode()[:2000]
    page = response.content.decode()
    for text in shown:
        assert text in page
    assert "could not be shown" not in page


@pytest.mark.django_db
def test_a_draft_is_created_from_the_guides_answer(ada_client, guide_nue):
    start = timezone.localdate() + timedelta(days=1)
    response = ada_client.post(
        "/orders/new/",
        {
            "line": "la",
            "la-entry": guide.ENTRY_ID,
            "la-quantity": "5",
            "la-start_date": start.isoformat(),
            "la-term_mode": "term",
            "la-term_months": "12",
            "action": "draft",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == f"/orders/{guide.ORDER_ID}/"
