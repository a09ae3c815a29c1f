"""Browser journey (issue 24): Ada adds a card through Stripe Elements (localstripe's mock of
Stripe.js), activates a new order charged to it, and sees the subscription carry the card; a
declined card ends in a clear message with nothing saved; a 3-D Secure card is saved once its
challenge (localstripe's confirm/cancel box) is completed, and a cancelled one saves nothing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from nue_emulator.models import Subscription as EmuSubscription
from orders.models import StripeCustomer
from tests import demo

from .conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def fill_card(page, number: str) -> None:
    element = page.locator("#card-element")
    element.get_by_placeholder("number").fill(number)
    element.get_by_placeholder("exp_month").fill("12")
    element.get_by_placeholder("exp_year").fill("34")
    element.get_by_placeholder("cvc").fill("123")
    element.get_by_placeholder("postal_code").fill("94107")


def test_ada_adds_a_card_and_activates_an_order_charged_to_it(page, watch, stripe_on):
    sign_in(page, demo.ADA)
    page.goto("/billing/")
    expect(page.locator("#card-current")).to_contain_text("No card on file")

    # A declined card: a clear message, nothing saved.
    fill_card(page, "4000000000000002")
    page.get_by_label(re.compile("charging it for this and future invoices")).check()
    page.get_by_role("button", name="Save card").click()
    expect(page.locator("#card-errors")).to_contain_text("declined")
    expect(page.locator("#card-errors")).to_contain_text("Nothing was saved")
    watch.screenshot("card-declined")

    page.reload()
    fill_card(page, "4242424242424242")
    page.get_by_label(re.compile("charging it for this and future invoices")).check()
    page.get_by_role("button", name="Save card").click()
    expect(page.locator("#card-current")).to_contain_text("Visa ending 4242")
    expect(page.locator("#card-current")).to_contain_text("12/2034")
    watch.screenshot("card-saved")

    page.goto("/orders/new/")
    page.get_by_role("button", name="Add Pro Plan (US) to order").click()
    page.get_by_role("button", name="Create draft").click()
    page.wait_for_url(re.compile(r"/orders/[^/]+/$"))
    choice = page.get_by_label("Charge Visa ending 4242 (expires 12/2034)")
    expect(choice).to_be_checked()
    page.get_by_label(re.compile("Pay the invoices this order creates")).check()
    order_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    page.get_by_role("button", name="Activate order").click()
    page.wait_for_url(re.compile(r"/activated/$"))
    expect(page.locator("main")).to_contain_text("Visa ending 4242 (expires 12/2034)")
    watch.screenshot("card-activated")

    link = StripeCustomer.objects.get(account__name="Acme Corporation")
    subs = EmuSubscription.objects.filter(order_id=order_id)
    assert subs.exists()
    assert all(s.doc["defaultPaymentMethodId"] for s in subs)
    # What Nue now charges the new subscription with, read back from Nue on the card page.
    page.goto("/billing/card/")
    row = page.locator("#carried tr", has_text=subs.first().doc["name"])
    expect(row).to_contain_text("Visa ending 4242 (expires 12/2034)")
    assert link.hub_sent_at is not None
    # Chromium logs the declined card's 402 from Stripe; nothing else, no CSP violation.
    assert [e for e in watch.errors if "402 (Payment Required)" not in e] == []


def _save(page, number: str) -> None:
    fill_card(page, number)
    page.get_by_label(re.compile("charging it for this and future invoices")).check()
    page.get_by_role("button", name="Save card").click()


def test_a_3d_secure_card_is_saved_once_the_challenge_is_completed(page, watch, stripe_on):
    sign_in(page, demo.ADA)
    page.goto("/billing/card/")
    _save(page, "4000002760003184")
    # localstripe's Stripe.js opens its stand-in for the bank's challenge.
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.locator("#card-current")).to_contain_text("Visa ending 3184")
    watch.screenshot("card-3ds-completed")
    link = StripeCustomer.objects.get(account__name="Acme Corporation")
    assert link.card_payment_method_id.startswith("pm_")
    assert watch.errors == []


def test_a_3d_secure_challenge_cancelled_saves_nothing_and_says_so(page, watch, stripe_on):
    sign_in(page, demo.ADA)
    page.goto("/billing/card/")
    _save(page, "4000000000003220")
    page.get_by_role("button", name="Fail authentication").click()
    errors = page.locator("#card-errors")
    expect(errors).to_contain_text("authentication")
    expect(errors).to_contain_text("Nothing was saved")
    expect(page.get_by_role("button", name="Save card")).to_be_enabled()
    expect(page.locator("#card-current")).to_contain_text("No card on file")
    watch.screenshot("card-3ds-cancelled")
    assert not StripeCustomer.objects.exclude(card_payment_method_id="").exists()
    # Ready for another try, without reloading.
    _save(page, "4242424242424242")
    expect(page.locator("#card-current")).to_contain_text("Visa ending 4242")
    assert [e for e in watch.errors if "402 (Payment Required)" not in e] == []
