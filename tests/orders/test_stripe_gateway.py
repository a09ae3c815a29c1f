"""orders.stripe_gateway against a real localstripe process (no mocks)."""

from __future__ import annotations

import pytest

from orders import stripe_gateway as gateway

from .card_helpers import confirm_setup


def test_it_is_off_without_keys() -> None:
    assert not gateway.configured()
    assert gateway.csp_sources() == {}
    with pytest.raises(gateway.StripeUnavailable):
        gateway.find_or_create_customer("nue-1", "Acme")


def test_it_creates_a_customer_once_and_finds_it_again(stripe_on) -> None:
    first = gateway.find_or_create_customer("nue-1", "Acme")
    assert first.startswith("cus_")
    assert gateway.find_or_create_customer("nue-1", "Acme", known_id=first) == first
    customer = gateway.client().v1.customers.retrieve(first)
    assert customer.metadata["nue_customer_id"] == "nue-1"


def test_it_replaces_a_customer_stripe_no_longer_has(stripe_on) -> None:
    again = gateway.find_or_create_customer("nue-2", "Acme", known_id="cus_gone0000000")
    assert again.startswith("cus_")
    assert again != "cus_gone0000000"


def test_it_saves_a_card_through_a_setup_intent(stripe_on) -> None:
    customer = gateway.find_or_create_customer("nue-3", "Acme")
    intent_id, secret = gateway.create_setup_intent(customer, "nue-3")
    assert confirm_setup(stripe_on, secret, "4242424242424242").status_code == 200
    outcome = gateway.setup_outcome(intent_id)
    assert outcome.succeeded
    assert outcome.customer_id == customer
    card = gateway.card(outcome.payment_method_id or "")
    assert card is not None
    assert (card.label, card.last4, card.expiry) == ("Visa ending 4242", "4242", "12/2034")


def test_a_declined_card_leaves_the_setup_unfinished(stripe_on) -> None:
    customer = gateway.find_or_create_customer("nue-4", "Acme")
    intent_id, secret = gateway.create_setup_intent(customer, "nue-4")
    answer = confirm_setup(stripe_on, secret, "4000000000000002")
    assert answer.status_code == 402
    assert answer.json()["error"]["code"] == "card_declined"
    assert not gateway.setup_outcome(intent_id).succeeded


def test_a_3d_secure_card_waits_for_authentication(stripe_on) -> None:
    customer = gateway.find_or_create_customer("nue-5", "Acme")
    intent_id, secret = gateway.create_setup_intent(customer, "nue-5")
    assert (
        confirm_setup(stripe_on, secret, "4000002760003184").json()["status"] == "requires_action"
    )
    assert gateway.setup_outcome(intent_id).status == "requires_action"


def test_an_unknown_object_is_a_friendly_refusal(stripe_on) -> None:
    with pytest.raises(gateway.StripeRefused) as refused:
        gateway.card("pm_unknown000000")
    assert "Stripe refused" in refused.value.message


def test_an_unreachable_stripe_is_unavailable(settings) -> None:
    settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY = "sk_test_x", "pk_test_x"
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens on discard
    with pytest.raises(gateway.StripeUnavailable) as down:
        gateway.find_or_create_customer("nue-6", "Acme")
    assert "nothing was saved" in down.value.message


def test_its_csp_names_localstripe_in_development_and_stripe_in_production(
    stripe_on, settings
) -> None:
    assert gateway.csp_sources() == {
        "script-src": [stripe_on],
        "connect-src": [stripe_on],
    }
    settings.STRIPE_API_BASE = ""
    assert gateway.csp_sources() == {
        "script-src": ["https://js.stripe.com"],
        "frame-src": ["https://js.stripe.com", "https://hooks.stripe.com"],
        "connect-src": ["https://api.stripe.com"],
    }
