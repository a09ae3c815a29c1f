"""The card step of accepting a quote, where the tenant collects by card: the billing page's
Stripe Elements and SetupIntent, against localstripe (issue 26, item 2)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from nue_emulator import journal
from nue_emulator.models import Order as EmuOrder
from orders.models import Operation, QuoteAcceptance, QuoteLink, StripeCustomer
from tests.orders.approval_helpers import account, big_draft
from tests.orders.quote_helpers import (
    ACCEPTOR,
    accept,
    accept_url,
    activation_posts,
    made_by_manager,
    page_url,
)

from .card_helpers import confirm_setup

pytestmark = pytest.mark.django_db


def _card_url(link: QuoteLink) -> str:
    return reverse("orders:quote_card_setup", args=[link.token])


def _confirmed_intent(client: Client, link: QuoteLink, base: str, number: str) -> str:
    answer = client.post(_card_url(link))
    assert answer.status_code == 200, answer.content
    secret = answer.json()["clientSecret"]
    confirm_setup(base, secret, number)
    return secret.split("_secret_")[0]


def test_it_offers_the_card_step_where_the_tenant_collects_by_card(maria, stripe_on):
    link = made_by_manager(maria)

    response = Client().get(page_url(link))

    page = response.content.decode()
    assert 'id="card-element"' in page
    assert "Pay by card" in page
    assert "Pay by invoice" in page
    assert "charging it for this and future invoices of Acme Corporation" in page
    # Only this page's CSP names Stripe's script host.
    assert "127.0.0.1" in response["Content-Security-Policy"]


def test_it_offers_no_card_step_without_stripe(maria):
    page = Client().get(page_url(made_by_manager(maria))).content.decode()
    assert 'id="card-element"' not in page
    assert "paid by invoice" in page


def test_it_activates_charged_to_the_card_confirmed_in_the_card_step(maria, stripe_on):
    order = big_draft()
    link = made_by_manager(maria, order)
    client = Client()
    seti = _confirmed_intent(client, link, stripe_on, "4242424242424242")

    with journal.capture() as calls:
        response = accept(link, client, pay="card", setup_intent=seti, card_consent="on")

    assert response.status_code == 302, response.content.decode()[:3000]
    assert len(activation_posts(calls, order.id)) == 1
    acceptance = QuoteAcceptance.objects.get(link=link)
    assert acceptance.state == QuoteAcceptance.State.ACTIVATED
    assert acceptance.card_label == "Visa ending 4242"
    sent = Operation.objects.get(target=order.id).request
    assert sent["paymentMethodObject"]["externalPaymentMethodId"].startswith("pm_")
    assert (
        StripeCustomer.objects.get(account=account()).card_payment_method_id
        == (sent["paymentMethodObject"]["externalPaymentMethodId"])
    )
    assert EmuOrder.objects.get(pk=order.id).status == "Activated"
    assert "paid with Visa ending 4242" in client.get(page_url(link)).content.decode()


def test_a_declined_card_orders_nothing_and_keeps_the_form(maria, stripe_on):
    order = big_draft()
    link = made_by_manager(maria, order)
    client = Client()
    seti = _confirmed_intent(client, link, stripe_on, "4000000000000002")

    with journal.capture() as calls:
        response = accept(link, client, pay="card", setup_intent=seti, card_consent="on")

    assert response.status_code == 409
    page = response.content.decode()
    assert "nothing was saved" in page
    assert "Jane Doe" in page  # what was typed is kept
    assert [c for c in calls if c.wrote] == []
    assert not QuoteAcceptance.objects.exists()
    # The recipient may try again with another card.
    seti = _confirmed_intent(client, link, stripe_on, "4242424242424242")
    assert accept(link, client, pay="card", setup_intent=seti, card_consent="on").status_code == 302


def test_paying_by_card_needs_the_card_and_the_consent(maria, stripe_on):
    link = made_by_manager(maria)
    response = Client().post(accept_url(link), {**ACCEPTOR, "pay": "card"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "Enter the card&#x27;s details in the card field first." in page
    assert "Agree to the card being saved and charged to pay by card." in page
    assert not QuoteAcceptance.objects.exists()


def test_the_recipient_may_still_pay_by_invoice(maria, stripe_on):
    order = big_draft()
    link = made_by_manager(maria, order)
    assert accept(link, pay="invoice").status_code == 302
    assert "paymentMethodObject" not in Operation.objects.get(target=order.id).request


def test_the_card_step_closes_with_the_quote(maria, stripe_on):
    link = made_by_manager(maria)
    accept(link, pay="invoice")
    assert Client().post(_card_url(link)).status_code == 410


def test_the_card_step_is_not_found_without_stripe(maria):
    link = made_by_manager(maria)
    assert Client().post(_card_url(link)).status_code == 404
