"""An off-session charge that Stripe refuses with `authentication_required` (localstripe never
does): Stripe's own CardError, built here as Stripe sends it, is what the PaymentIntents API
raises; the payment then waits for the customer's confirmation instead of failing."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from orders import stripe_gateway as gateway
from orders.actions import invoice_payments as payments
from orders.models import InvoicePayment
from orders.scope import CustomerNue
from tests import demo

from .payment_helpers import overdue_invoice, save_card

State = InvoicePayment.State


def authentication_required(amount: int = 9000) -> stripe.CardError:
    intent = {
        "id": "pi_authreq",
        "object": "payment_intent",
        "status": "requires_payment_method",
        "client_secret": "pi_authreq_secret_abc",
        "amount": amount,
        "currency": "usd",
        "payment_method": None,
        "last_payment_error": {
            "type": "card_error",
            "code": "authentication_required",
            "message": "Your card was declined. This transaction requires authentication.",
            "payment_method": {"id": "pm_card_authreq", "object": "payment_method"},
        },
    }
    body = {
        "error": {
            "type": "card_error",
            "code": "authentication_required",
            "decline_code": "authentication_required",
            "message": "Your card was declined. This transaction requires authentication.",
            "payment_intent": intent,
        }
    }
    return stripe.CardError(
        body["error"]["message"],
        None,
        "authentication_required",
        http_status=402,
        json_body=body,
    )


@pytest.fixture
def stripe_refuses(monkeypatch):
    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise authentication_required()

    monkeypatch.setattr(stripe.PaymentIntentService, "create", create)


def test_the_gateway_hands_back_the_payment_intent_to_confirm(stripe_on, stripe_refuses):
    charge = gateway.charge_card(
        customer_id="cus_x",
        payment_method_id="pm_card_authreq",
        amount=9000,
        currency="USD",
        idempotency_key="k",
        metadata={},
    )
    assert charge.id == "pi_authreq"
    assert charge.needs_action
    assert charge.authentication_required
    assert charge.client_secret == "pi_authreq_secret_abc"
    assert charge.payment_method_id == "pm_card_authreq"


def test_a_charge_needing_authentication_waits_for_the_customer(
    ada_client, ada, stripe_on, stripe_refuses
):
    save_card(ada_client, stripe_on, "4242424242424242")
    invoice = overdue_invoice(demo.ACME_ID)
    nue = CustomerNue(ada.memberships.get().account)
    outcome = payments.start(nue, invoice.id or "", by=ada, via=None, audit={})
    assert outcome.payment.state == State.REQUIRES_ACTION
    assert outcome.payment.payment_intent_id == "pi_authreq"
    assert outcome.payment.message == ""
