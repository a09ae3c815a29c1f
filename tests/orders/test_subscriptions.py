"""/subscriptions/ and /subscriptions/<name>/: current state, add-ons, version history, 404s."""

from __future__ import annotations

import re

import pytest
from django.urls import NoReverseMatch, reverse

from nue_emulator import faults

from .conftest import ok

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_no_faults", "_clear_cache")]


def named(scope, product: str):
    return next(s for s in scope.subscriptions() if s.product_name == product)


def test_it_requires_login(client):
    for url in ("/subscriptions/", "/subscriptions/SUB-00000001/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_it_lists_subscriptions_with_add_ons_under_their_bundle(ada_client, acme_nue):
    response = ada_client.get("/subscriptions/")
    assert response.status_code == 200
    html = response.text
    for subscription in acme_nue.subscriptions():
        assert f'href="/subscriptions/{subscription.name}/"' in html
    bundle = html.index(">Platform Suite</a>")
    add_on = html.index('Add-on of Platform Suite: </span><a href="/subscriptions/')
    assert bundle < add_on


def test_it_never_lists_another_customers_subscriptions(grace_client, acme_nue, globex_nue):
    html = grace_client.get("/subscriptions/").text
    assert {s.name for s in globex_nue.subscriptions()} <= set(re.findall(r"SUB-\d+", html))
    assert not {s.name for s in acme_nue.subscriptions()} & set(re.findall(r"SUB-\d+", html))


def test_it_shows_a_subscriptions_history_and_pending_change(ada_client, acme_nue):
    pro = named(acme_nue, "Pro Plan (US)")
    response = ada_client.get(f"/subscriptions/{pro.name}/")
    assert response.status_code == 200
    html = response.text
    assert f"version {pro.version}" in html
    assert "Version 2 · Change quantity" in html
    assert "Quantity 3 → 5" in html
    assert "Version 1 · New" in html
    assert "Waiting for activation" in html
    draft = next(o for o in acme_nue.orders() if o.order_type == "Change" and o.is_draft)
    assert f'href="/orders/{draft.id}/"' in html


def test_it_lists_a_bundles_add_ons(ada_client, acme_nue):
    bundle = named(acme_nue, "Platform Suite")
    html = ada_client.get(f"/subscriptions/{bundle.name}/").text
    assert "Add-ons" in html
    assert "Admin Seats" in html
    assert "Premium Support" in html


def test_it_offers_the_change_wizard_when_it_exists(ada_client, acme_nue):
    pro = named(acme_nue, "Pro Plan (US)")
    html = ada_client.get(f"/subscriptions/{pro.name}/").text
    try:
        change_url = reverse("orders:change_start", args=[pro.name])
    except NoReverseMatch:
        assert ">Change<" not in html
    else:
        assert f'href="{change_url}"' in html


@pytest.mark.parametrize("name", ["SUB-99999999", "not-a-name", "SUB-1x"])
def test_it_answers_404_for_unknown_names(ada_client, name):
    assert ada_client.get(f"/subscriptions/{name}/").status_code == 404


def test_it_answers_404_for_every_subscription_of_another_customer(ada_client, globex_nue):
    for subscription in globex_nue.subscriptions():
        response = ada_client.get(f"/subscriptions/{subscription.name}/")
        assert response.status_code == 404, subscription.name


def test_it_says_what_to_do_without_subscriptions(ada_client, nue_mock):
    nue_mock.get("/subscriptions").mock(return_value=ok([]))
    html = ada_client.get("/subscriptions/").text
    assert "No subscriptions yet" in html


@pytest.mark.parametrize("url", ["/subscriptions/", "/subscriptions/SUB-00000001/"])
def test_it_shows_the_friendly_page_when_nue_fails(ada_client, url):
    with faults.inject("subscriptions", "GET", status=200, body="malformed"):
        response = ada_client.get(url)
    assert response.status_code == 502
    assert "Try again" in response.text


def test_it_rejects_post(ada_client, acme_nue):
    pro = named(acme_nue, "Pro Plan (US)")
    assert ada_client.post("/subscriptions/").status_code == 405
    assert ada_client.post(f"/subscriptions/{pro.name}/").status_code == 405


@pytest.mark.parametrize(
    ("persona", "may_buy"), [("ada_client", True), ("bob_client", True), ("ben_client", False)]
)
def test_it_offers_buying_and_changing_only_to_roles_that_may(persona, may_buy, request, acme_nue):
    client = request.getfixturevalue(persona)
    sub = named(acme_nue, "Pro Plan (US)")
    pages = {
        "/": 'href="/orders/new/"',
        "/orders/": 'href="/orders/new/"',
        f"/subscriptions/{sub.name}/": f'href="/subscriptions/{sub.name}/change/"',
    }
    for url, action in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.text
        # The navigation also links to a new order; count the page's own buttons.
        assert (f'class="button" {action}' in html) is may_buy, url


def test_a_failing_order_history_costs_the_history_panel_not_the_page(ada_client):
    from nue_emulator import faults

    with faults.inject("orders", "GET", status=503):
        response = ada_client.get("/subscriptions/SUB-00000001/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Current terms" in page
    assert "could not be read" in page
    assert "Reference:" in page


def test_it_finds_the_change_orders_awaiting_a_subscription_without_line_names(
    ada, ada_client, nue_mock
):
    """Nue's lines do not name the subscription they change (nue-api.md §3.2): a change order
    the portal made (and kept) is found by the request the ledger stored, one Nue summarises by
    its summary, and of one nothing says anything about, the page says it may change this one."""
    from django.utils import timezone

    from orders.models import Operation, QuoteLink
    from tests import demo

    from .conftest import PRO_ENTRY, order_json, subscription_json

    def draft(order_id: str, number: int, **extra: object) -> dict[str, object]:
        line = {
            "id": f"{order_id}-1",
            "productName": "Pro Plan (US)",
            "priceBookEntryId": PRO_ENTRY,
            "quantity": 3,
            "totalPrice": 75.0,
            "changeType": "UpdateQuantity",
        }
        raw = order_json(order_id, demo.ACME_ID, number, orderType="Change", **extra)
        return {**raw, "orderProducts": [line]}

    made = draft("11111111-1111-4111-8111-111111111111", 81)
    summarised = draft(
        "22222222-2222-4222-8222-222222222222",
        82,
        assetChanges=[{"assetNumber": "SUB-00000001", "before": {"quantity": 5}}],
    )
    silent = draft("33333333-3333-4333-8333-333333333333", 83)
    other = draft(
        "44444444-4444-4444-8444-444444444444",
        84,
        assetChanges=[{"assetNumber": "SUB-00000002", "before": {"quantity": 1}}],
    )
    nue_mock.get("/subscriptions").mock(
        return_value=ok([subscription_json(customer_id=demo.ACME_ID)])
    )
    nue_mock.get("/orders").mock(return_value=ok([made, summarised, silent, other]))
    account = ada.memberships.get().account
    asked = {"changeType": "UpdateQuantity", "assetNumber": "SUB-00000001", "quantity": 3}
    Operation.objects.create(
        kind=Operation.Kind.CHANGE,
        target="SUB-00000001",
        customer=account,
        actor=ada,
        payload_hash="made",
        state=Operation.State.SUCCEEDED,
        request={"assetChanges": [asked]},
        result={"order": {"id": made["id"]}},
    )
    QuoteLink.objects.create(
        customer=account,
        order_id=made["id"],
        url="https://nue.example/view-order/t",
        generated_by=ada,
        generated_at=timezone.now(),
    )
    html = ada_client.get("/subscriptions/SUB-00000001/").text
    waiting = html[html.index('id="pending-heading"') : html.index('id="history-heading"')]
    listed, _, unnamed = waiting.partition("Nue does not say which subscriptions")
    assert f'href="/orders/{made["id"]}/"' in listed
    assert f'href="/orders/{summarised["id"]}/"' in listed
    assert f'href="/orders/{silent["id"]}/"' in unnamed
    assert other["id"] not in waiting
