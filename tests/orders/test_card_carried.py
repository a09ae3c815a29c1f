"""What Nue charges each subscription with (issue 24, items 1 and 2): the subscriptions'
defaultPaymentMethodId, as Nue holds it, mapped through NuePaymentMethod to the Stripe card, on
the card page beside the card on file, on a subscription's page and on an activated order's.
Stripe down costs the card's details, never the page; Nue down costs the card page's list only."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from nue_emulator import faults
from nue_emulator.models import Subscription as EmuSubscription
from orders.scope import CustomerNue
from tests.orders.purchase_helpers import PRO, account, create_draft, line
from tests.orders.test_cards import CARD_URL, activate, add_card

CARD = "Visa ending 4242 (expires 12/2034)"


@pytest.fixture
def charged(ada_client, stripe_on, settings) -> str:
    """An order of Acme's activated charged to the card on file: its subscription's name."""
    settings.NUE_COLLECTION_MODE = "payment_links"
    add_card(ada_client, stripe_on)
    draft_id = create_draft(ada_client, line("la", PRO))
    assert activate(ada_client, draft_id, pay="card").status_code == 302
    (sub,) = EmuSubscription.objects.filter(order_id=draft_id)
    assert sub.doc["defaultPaymentMethodId"]
    return sub.doc["name"]


HTMX = {"HX-Request": "true"}


def _row(body: str, name: str) -> str:
    start = body.index(f">{name}</a>")
    return body[start : body.index("</tr>", start)]


def test_the_card_page_shows_what_each_subscription_carries(ada_client, charged):
    body = ada_client.get(CARD_URL).content.decode()
    assert 'id="carried"' in body
    assert CARD in _row(body, charged)
    # The demo's subscriptions were activated without a card: Nue invoices them.
    invoiced = [
        s.name
        for s in CustomerNue(account()).subscriptions()
        if s.status == "Active" and not s.is_add_on and s.name != charged
    ]
    assert invoiced
    assert "Paid by invoice" in _row(body, invoiced[0])


def test_the_billing_page_shows_it_too(ada_client, charged):
    body = ada_client.get(reverse("orders:billing")).content.decode()
    assert CARD in _row(body, charged)


def test_a_viewer_sees_it(ben_client, charged):
    body = ben_client.get(CARD_URL).content.decode()
    assert CARD in _row(body, charged)
    assert 'id="card-form"' not in body


def test_the_subscription_page_shows_the_card_it_carries(ada_client, charged):
    url = reverse("orders:subscription_detail", args=[charged])
    body = ada_client.get(url).content.decode()
    assert f'<dd id="paid-by">{CARD}</dd>' in body


def test_an_invoiced_subscription_says_so(ada_client, stripe_on):
    sub = next(s for s in CustomerNue(account()).subscriptions() if s.status == "Active")
    body = ada_client.get(reverse("orders:subscription_detail", args=[sub.name])).content.decode()
    assert '<dd id="paid-by">Paid by invoice</dd>' in body


def test_the_order_page_shows_the_card_of_each_subscription(ada_client, charged):
    (order_id,) = EmuSubscription.objects.filter(doc__name=charged).values_list(
        "order_id", flat=True
    )
    page = ada_client.get(reverse("orders:order_detail", args=[order_id])).content.decode()
    # The page names the subscriptions at once and asks for how each is paid once shown.
    paid_by = reverse("orders:order_paid_by", args=[order_id])
    assert f'hx-get="{paid_by}" hx-trigger="load"' in page
    assert charged in page
    partial = ada_client.get(paid_by, headers=HTMX)
    assert partial.status_code == 200
    body = partial.content.decode()
    assert f'<span class="paid-by">{CARD}</span>' in body
    assert "hx-trigger" not in body  # loaded once, not again and again
    assert ada_client.get(paid_by).status_code == 302  # the partial alone is no page


def test_stripe_down_says_card_details_unavailable_and_keeps_the_page(
    ada_client, charged, settings
):
    cache.clear()
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    sub_url = reverse("orders:subscription_detail", args=[charged])
    for url in (sub_url, CARD_URL):
        page = ada_client.get(url)
        assert page.status_code == 200, url
        assert "Card details unavailable" in page.content.decode(), url


def test_nue_down_costs_the_card_page_its_list_only(ada_client, charged):
    CustomerNue(account()).invalidate_cache()
    with faults.inject("subscriptions", "GET", status=503):
        page = ada_client.get(CARD_URL)
    body = page.content.decode()
    assert page.status_code == 200
    assert "Visa ending 4242" in body  # the card on file is Stripe's
    assert 'class="panel-error"' in body
    assert "Reference:" in body
    assert 'id="carried"' not in body


def test_nue_down_on_the_order_page_leaves_the_order(ada_client, charged):
    (order_id,) = EmuSubscription.objects.filter(doc__name=charged).values_list(
        "order_id", flat=True
    )
    url = reverse("orders:order_paid_by", args=[order_id])
    ada_client.get(url, headers=HTMX)  # the order itself is read (and kept) first
    CustomerNue(account()).invalidate_cache()
    with faults.inject("subscriptions", "GET", status=503):
        page = ada_client.get(url, headers=HTMX)
    assert page.status_code == 200
    body = page.content.decode()
    assert "could not be read just now" in body
    assert charged in body  # the subscriptions are still named
