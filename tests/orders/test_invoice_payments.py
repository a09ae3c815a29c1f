"""Paying an open invoice with the card on file (issue 24, item 5) against a real localstripe
and the emulator's POST /billing/invoices:pay: one charge and one Nue payment however often the
button is pressed, declines and 3-D Secure, the webhook, roles and impersonation."""

from __future__ import annotations

import pytest
from django.db import DatabaseError
from django.urls import reverse

from nue_emulator import faults
from orders.actions import invoice_payments as payments
from orders.models import InvoicePayment, StripeCustomer, StripeEvent
from portal.models import AuditEvent
from tests import demo

from .card_helpers import LOCALSTRIPE
from .payment_helpers import (
    DECLINED_ON_CHARGE,
    SECURE_3DS,
    WEBHOOK_SECRET,
    authenticate,
    emu_invoice,
    event,
    overdue_invoice,
    save_card,
    signed,
)

State = InvoicePayment.State
WEBHOOK = "/stripe/webhook/"


@pytest.fixture
def invoice(db):
    return overdue_invoice(demo.ACME_ID)


def pay(client, invoice_id: str):
    return client.post(reverse("orders:invoice_pay", args=[invoice_id]))


def intents(base: str) -> list[dict]:
    """This test's PaymentIntents (localstripe lives for the session): its customer's."""
    link = StripeCustomer.objects.first()
    listed = LOCALSTRIPE.get(
        f"{base}/v1/payment_intents", params={"limit": 100}, auth=("sk_test_portal", "")
    )
    return [i for i in listed.json()["data"] if link and i["customer"] == link.stripe_customer_id]


def applications(invoice_id: str) -> list[dict]:
    return emu_invoice(invoice_id).get("paymentApplications", [])


def test_it_has_stable_routes():
    assert reverse("orders:invoice_pay", args=["INV-1"]) == "/invoices/INV-1/pay/"
    assert reverse("orders:stripe_webhook") == WEBHOOK


def test_it_offers_the_card_only_once_one_is_on_file(ada_client, stripe_on, invoice):
    detail = reverse("orders:invoice_detail", args=[invoice.id])
    assert "with Visa ending 4242" not in ada_client.get(detail).text
    save_card(ada_client, stripe_on, "4242424242424242")
    assert "Pay $90.00 with Visa ending 4242" in ada_client.get(detail).text
    listed = ada_client.get("/invoices/", {"show": "overdue"}).text
    assert "Pay $90.00 with Visa ending 4242" in listed


def test_nue_payment_links_keep_nues_page_as_the_only_way(settings, ada_client, stripe_on, invoice):
    from orders.actions.invoices import InvoiceRow, portal_collects

    assert portal_collects(None)
    assert not portal_collects("https://pay.example/inv")
    settings.NUE_COLLECTION_MODE = "stripe_invoicing"
    assert portal_collects("https://pay.example/inv")
    assert InvoiceRow(invoice, True, True).portal_charges


def test_a_charge_records_one_nue_payment_and_shows_nues_invoice(ada_client, stripe_on, invoice):
    save_card(ada_client, stripe_on, "4242424242424242")
    response = pay(ada_client, invoice.id)
    assert response.status_code == 302
    payment = InvoicePayment.objects.get()
    assert payment.state == State.RECORDED
    assert [i["status"] for i in intents(stripe_on)] == ["succeeded"]
    assert intents(stripe_on)[0]["amount"] == 9000
    assert [a["transactionAmount"] for a in applications(invoice.id)] == [90]
    page = ada_client.get(response["Location"]).text
    assert "Paid $90.00 with Visa ending 4242. Nue shows the invoice as Paid." in page
    assert "Nothing to pay" in ada_client.get("/invoices/").text or "Paid" in page
    actions = [e.details["action"] for e in AuditEvent.objects.filter(details__has_key="action")]
    assert "invoice_card_charged" in actions
    assert "invoice_payment_recorded" in actions


def test_pressing_again_never_charges_twice(ada_client, stripe_on, invoice):
    save_card(ada_client, stripe_on, "4242424242424242")
    pay(ada_client, invoice.id)
    again = pay(ada_client, invoice.id)
    assert again.status_code == 302
    assert len(intents(stripe_on)) == 1
    assert len(applications(invoice.id)) == 1
    assert InvoicePayment.objects.count() == 1


def test_a_retry_after_nue_failed_records_it_once_without_charging_again(
    ada_client, stripe_on, invoice
):
    save_card(ada_client, stripe_on, "4242424242424242")
    with faults.inject("pay-invoices", "POST", status=503, times=1):
        first = pay(ada_client, invoice.id)
    assert first.status_code == 302
    payment = InvoicePayment.objects.get()
    assert payment.state in (State.UNKNOWN, State.CHARGED)
    assert applications(invoice.id) == []
    page = ada_client.get(first["Location"]).text
    assert "has not confirmed the payment yet" in page
    payment.sent_to_nue_at = payment.sent_to_nue_at.replace(year=2000)
    payment.save()
    pay(ada_client, invoice.id)
    payment.refresh_from_db()
    assert payment.state == State.RECORDED
    assert len(intents(stripe_on)) == 1
    assert len(applications(invoice.id)) == 1


def test_a_declined_card_says_so_and_records_nothing(ada_client, stripe_on, invoice):
    save_card(ada_client, stripe_on, DECLINED_ON_CHARGE)
    response = pay(ada_client, invoice.id)
    page = ada_client.get(response["Location"]).text
    assert "declined" in page.lower()
    # However Stripe reported the decline, the customer reads that nothing was charged.
    assert "Nothing was charged: try again or replace the card." in page
    assert InvoicePayment.objects.get().state == State.FAILED
    assert applications(invoice.id) == []
    assert emu_invoice(invoice.id)["paymentStatus"] != "Paid"
    # A failed attempt steps aside: the customer may try again (and is declined again).
    pay(ada_client, invoice.id)
    assert InvoicePayment.objects.filter(state=State.FAILED).count() == 2


def test_3d_secure_asks_for_authentication_then_records_once(ada_client, stripe_on, invoice):
    save_card(ada_client, stripe_on, SECURE_3DS)
    response = pay(ada_client, invoice.id)
    payment = InvoicePayment.objects.get()
    assert payment.state == State.REQUIRES_ACTION
    page = ada_client.get(response["Location"])
    assert 'id="invoice-authenticate"' in page.text
    assert stripe_on in page["Content-Security-Policy"]
    assert "<script>" not in page.text
    [intent] = intents(stripe_on)
    assert f'data-client-secret="{intent["client_secret"]}"' in page.text
    # Pressing "Pay" again while the bank waits starts nothing new.
    pay(ada_client, invoice.id)
    assert len(intents(stripe_on)) == 1
    assert authenticate(stripe_on, intent["client_secret"]).status_code == 200
    confirm = reverse("orders:invoice_pay_confirm", args=[invoice.id, payment.idempotency_key])
    done = ada_client.post(confirm)
    assert done.status_code == 302
    payment.refresh_from_db()
    assert payment.state == State.RECORDED
    ada_client.post(confirm)
    assert len(applications(invoice.id)) == 1
    assert "Nue shows the invoice as Paid" in ada_client.get(done["Location"]).text


def test_a_failed_authentication_records_nothing(ada_client, stripe_on, invoice):
    save_card(ada_client, stripe_on, SECURE_3DS)
    pay(ada_client, invoice.id)
    payment = InvoicePayment.objects.get()
    authenticate(stripe_on, intents(stripe_on)[0]["client_secret"], success=False)
    confirm = reverse("orders:invoice_pay_confirm", args=[invoice.id, payment.idempotency_key])
    ada_client.post(confirm)
    payment.refresh_from_db()
    assert payment.state == State.FAILED
    assert applications(invoice.id) == []


# Roles and impersonation.


def test_a_viewer_is_offered_nothing_and_may_not_pay(ada_client, ben_client, stripe_on, invoice):
    save_card(ada_client, stripe_on, "4242424242424242")
    detail = reverse("orders:invoice_detail", args=[invoice.id])
    page = ben_client.get(detail).text
    assert "Pay $90.00 with Visa ending 4242" not in page
    # Not told that there is no online payment: others pay it with the card.
    assert "There is no online payment" not in page
    assert "can pay the invoice with Visa ending 4242, the card on file" in page
    assert "your role views invoices only" in page
    assert pay(ben_client, invoice.id).status_code == 403
    assert not InvoicePayment.objects.exists()


def test_a_buyer_may_pay(ada_client, bob_client, stripe_on, invoice):
    save_card(ada_client, stripe_on, "4242424242424242")
    pay(bob_client, invoice.id)
    assert InvoicePayment.objects.get().state == State.RECORDED


def test_another_customers_invoice_is_not_found(ada_client, grace_client, stripe_on, invoice):
    save_card(ada_client, stripe_on, "4242424242424242")
    assert pay(grace_client, invoice.id).status_code == 404
    assert not InvoicePayment.objects.exists()


def test_read_only_impersonation_pays_nothing(ada_client, sam_client, ada, stripe_on, invoice):
    save_card(ada_client, stripe_on, "4242424242424242")
    sam_client.post(f"/support/impersonate/{ada.memberships.get().pk}/", {"reason": "SUP-7"})
    assert pay(sam_client, invoice.id).status_code == 403
    assert not InvoicePayment.objects.exists()
    assert intents(stripe_on) == []


# The webhook.


@pytest.fixture
def webhook_on(db, settings, stripe_on):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    return stripe_on


def test_a_bad_signature_is_refused(client, webhook_on):
    body = signed(event("evt_1", "payment_intent.succeeded", {"id": "pi_x"}), secret="whsec_no")
    assert client.post(WEBHOOK, **body).status_code == 400
    assert client.post(WEBHOOK, data="{}", content_type="application/json").status_code == 400
    stale = signed(event("evt_2", "payment_intent.succeeded", {"id": "pi_x"}), at=1_000_000)
    assert client.post(WEBHOOK, **stale).status_code == 400
    assert not StripeEvent.objects.exists()


def test_it_answers_a_replay_without_acting(client, webhook_on):
    body = signed(event("evt_3", "payment_intent.succeeded", {"id": "pi_unknown"}))
    first = client.post(WEBHOOK, **body)
    assert first.status_code == 200
    assert first.json()["done"] == "not a payment the portal started"
    again = client.post(WEBHOOK, **body)
    assert again.status_code == 200
    assert again.json()["done"] == "already handled"
    assert StripeEvent.objects.count() == 1


def test_succeeded_after_the_portal_recorded_it_does_nothing(
    client, ada_client, webhook_on, invoice
):
    save_card(ada_client, webhook_on, "4242424242424242")
    pay(ada_client, invoice.id)
    [intent] = intents(webhook_on)
    before = AuditEvent.objects.count()
    answer = client.post(WEBHOOK, **signed(event("evt_4", "payment_intent.succeeded", intent)))
    assert answer.json()["done"] == "already recorded"
    assert len(applications(invoice.id)) == 1
    assert AuditEvent.objects.count() == before


def test_succeeded_records_a_payment_the_page_left_waiting(client, ada_client, webhook_on, invoice):
    save_card(ada_client, webhook_on, SECURE_3DS)
    pay(ada_client, invoice.id)
    [intent] = intents(webhook_on)
    authenticate(webhook_on, intent["client_secret"])
    answer = client.post(WEBHOOK, **signed(event("evt_5", "payment_intent.succeeded", intent)))
    assert answer.status_code == 200
    assert InvoicePayment.objects.get().state == State.RECORDED
    assert len(applications(invoice.id)) == 1
    learned = AuditEvent.objects.filter(details__action="invoice_card_charged").get()
    assert learned.details["learned_by"] == "webhook"
    assert learned.actor.email == "ada@acme.example"


def test_payment_failed_is_recorded(client, ada_client, webhook_on, invoice):
    save_card(ada_client, webhook_on, SECURE_3DS)
    pay(ada_client, invoice.id)
    [intent] = intents(webhook_on)
    intent["last_payment_error"] = {"message": "Your card was declined."}
    answer = client.post(WEBHOOK, **signed(event("evt_6", "payment_intent.payment_failed", intent)))
    assert answer.json()["done"] == "failed"
    payment = InvoicePayment.objects.get()
    assert payment.state == State.FAILED
    assert "Your card was declined." in payment.message
    assert AuditEvent.objects.filter(details__action="invoice_payment_declined").exists()
    assert applications(invoice.id) == []


def test_an_event_whose_handling_failed_is_handled_on_redelivery(
    client, ada_client, webhook_on, invoice, monkeypatch
):
    save_card(ada_client, webhook_on, SECURE_3DS)
    pay(ada_client, invoice.id)
    [intent] = intents(webhook_on)
    authenticate(webhook_on, intent["client_secret"])
    body = signed(event("evt_7", "payment_intent.succeeded", intent))
    real = payments.on_stripe_event

    def database_gone(event):
        raise DatabaseError("the database went away mid-delivery")

    monkeypatch.setattr(payments, "on_stripe_event", database_gone)
    assert client.post(WEBHOOK, **body).status_code == 503  # Stripe retries a 5xx
    assert not StripeEvent.objects.exists()  # not counted as handled: Stripe delivers again
    monkeypatch.setattr(payments, "on_stripe_event", real)
    assert client.post(WEBHOOK, **body).status_code == 200
    assert InvoicePayment.objects.get().state == State.RECORDED
    assert len(applications(invoice.id)) == 1
