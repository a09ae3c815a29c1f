"""A card on file for invoice payments, an Acme invoice to pay, and Stripe's signed webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import date
from decimal import Decimal

import httpx
from django.urls import reverse

from nue_emulator.models import Invoice as EmuInvoice
from orders.actions.invoices import is_open
from orders.nue import Invoice

from .card_helpers import LOCALSTRIPE, confirm_setup

WEBHOOK_SECRET = "whsec_portal_test"
SECURE_3DS = "4000002760003184"
DECLINED_ON_CHARGE = "4000000000000341"  # localstripe: saved, then declined when charged


def save_card(client, base: str, number: str) -> None:
    secret = client.post(reverse("orders:billing_card_setup")).json()["clientSecret"]
    first = confirm_setup(base, secret, number)
    if first.json().get("status") == "requires_action":
        seti = secret.split("_secret_")[0]
        LOCALSTRIPE.post(
            f"{base}/v1/setup_intents/{seti}/confirm",
            json={"key": "pk_test_portal", "client_secret": secret},
        )
    seti = secret.split("_secret_")[0]
    saved = client.post(
        reverse("orders:billing_card_save"), {"setup_intent": seti, "consent": "on"}
    )
    assert saved.status_code == 302, saved.content.decode()[:1000]


def overdue_invoice(customer_id: str) -> Invoice:
    today = date.today()
    docs = EmuInvoice.objects.filter(customer_id=customer_id).values_list("doc", flat=True)
    invoices = [Invoice.parse(json.loads(json.dumps(d), parse_float=Decimal)) for d in docs]
    return next(i for i in invoices if is_open(i) and i.due_date and i.due_date < today)


def emu_invoice(invoice_id: str) -> dict:
    return EmuInvoice.objects.get(id=invoice_id).doc


def authenticate(base: str, client_secret: str, success: bool = True) -> httpx.Response:
    """What localstripe's Stripe.js mock does when the customer completes (or fails) 3-D Secure
    in its modal (confirmCardPayment)."""
    pi = client_secret.split("_secret_")[0]
    return LOCALSTRIPE.post(
        f"{base}/v1/payment_intents/{pi}/_authenticate?success={'true' if success else 'false'}",
        json={"key": "pk_test_portal", "client_secret": client_secret},
    )


def signed(event: dict, secret: str = WEBHOOK_SECRET, at: int | None = None) -> dict:
    payload = json.dumps(event)
    stamp = int(time.time()) if at is None else at
    signature = hmac.new(secret.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return {
        "data": payload,
        "content_type": "application/json",
        "headers": {"Stripe-Signature": f"t={stamp},v1={signature}"},
    }


def event(event_id: str, kind: str, intent: dict) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {"object": intent},
    }
