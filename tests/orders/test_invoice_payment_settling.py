"""Settling an invoice payment whose recording in Nue is in doubt, against a real localstripe and
the emulator: the balance and payment applications Nue showed just before invoices:pay was sent
decide, so another payment recorded meanwhile (a bank transfer the vendor entered) is never taken
for ours, never doubled and never resent; and manage.py settle_invoice_payments."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from nue_emulator import faults, journal
from nue_emulator.actions.payments import pay_invoices
from orders.models import InvoicePayment
from portal.models import AuditEvent
from tests import demo
from tests.conftest import signed_in

from .payment_helpers import SECURE_3DS, authenticate, emu_invoice, overdue_invoice, save_card
from .test_invoice_payments import applications, intents, pay

State = InvoicePayment.State
LONG_AGO = timedelta(seconds=settings.NUE_SETTLES_WITHIN_SECONDS + 1)


@pytest.fixture
def invoice(db):
    return overdue_invoice(demo.ACME_ID)


def bank_transfer(invoice_id: str, amount: str) -> None:
    """The vendor records a payment in Nue that the portal knows nothing of."""
    pay_invoices(
        {
            "payInvoices": [
                {
                    "invoiceId": invoice_id,
                    "customerId": demo.ACME_ID,
                    "transactionAmount": Decimal(amount),
                    "paymentSource": "Nue",
                    "paymentMethod": "BankTransfer",
                }
            ]
        }
    )


def ours_applied(invoice_id: str) -> None:
    """Nue applied the portal's invoices:pay, but its answer never came back."""
    bank_transfer(invoice_id, "90")


def sends(calls: list[journal.Entry]) -> int:
    return sum(1 for c in calls if c.method == "POST" and c.route == "pay-invoices")


def lost_answer(ada_client, invoice) -> InvoicePayment:
    """A card charge whose invoices:pay Nue failed to answer (and did not apply)."""
    save_card(ada_client, settings.STRIPE_API_BASE, "4242424242424242")
    with faults.inject("pay-invoices", "POST", status=503, times=1):
        pay(ada_client, invoice.id)
    payment = InvoicePayment.objects.get()
    assert payment.state == State.UNKNOWN
    assert payment.nue_balance_before == Decimal("90")
    assert payment.nue_applications_before == 0
    return payment


def long_ago(payment: InvoicePayment) -> None:
    InvoicePayment.objects.filter(pk=payment.pk).update(sent_to_nue_at=timezone.now() - LONG_AGO)


def test_someone_else_paying_before_it_is_sent_needs_review_and_sends_nothing(
    ada_client, stripe_on, invoice
):
    save_card(ada_client, stripe_on, SECURE_3DS)
    pay(ada_client, invoice.id)
    payment = InvoicePayment.objects.get()
    bank_transfer(invoice.id, "40")
    authenticate(stripe_on, intents(stripe_on)[0]["client_secret"])
    confirm = reverse("orders:invoice_pay_confirm", args=[invoice.id, payment.idempotency_key])
    with journal.capture() as calls:
        done = ada_client.post(confirm)
        ada_client.post(confirm)
        pay(ada_client, invoice.id)
    assert sends(calls) == 0
    payment.refresh_from_db()
    assert payment.state == State.NEEDS_REVIEW
    assert [a["paymentMethod"] for a in applications(invoice.id)] == ["BankTransfer"]
    assert len(intents(stripe_on)) == 1
    page = ada_client.get(done["Location"]).text
    assert "Your card was charged $90.00 on" in page
    assert "Nue shows another payment on this invoice too" in page
    assert payment.payment_intent_id in page
    assert "Paid $90.00" not in page
    assert AuditEvent.objects.filter(details__action="invoice_payment_needs_review").count() == 1


def test_a_lost_answer_nue_shows_exactly_is_recorded_once(ada_client, stripe_on, invoice):
    payment = lost_answer(ada_client, invoice)
    ours_applied(invoice.id)
    long_ago(payment)
    with journal.capture() as calls:
        pay(ada_client, invoice.id)
        pay(ada_client, invoice.id)
    assert sends(calls) == 0
    payment.refresh_from_db()
    assert payment.state == State.RECORDED
    assert len(applications(invoice.id)) == 1
    assert AuditEvent.objects.filter(details__action="invoice_payment_recorded").count() == 1


def test_a_lost_answer_nue_never_applied_is_resent_once_under_the_ledgers_rule(
    ada_client, stripe_on, invoice
):
    payment = lost_answer(ada_client, invoice)
    with journal.capture() as early:
        pay(ada_client, invoice.id)
    assert sends(early) == 0
    assert InvoicePayment.objects.get().state == State.UNKNOWN
    long_ago(payment)
    with journal.capture() as calls:
        pay(ada_client, invoice.id)
        pay(ada_client, invoice.id)
    assert sends(calls) == 1
    payment.refresh_from_db()
    assert payment.state == State.RECORDED
    assert len(applications(invoice.id)) == 1
    assert len(intents(stripe_on)) == 1


def test_a_lost_answer_with_another_payment_in_nue_needs_review_and_is_never_resent(
    ada_client, stripe_on, invoice
):
    payment = lost_answer(ada_client, invoice)
    bank_transfer(invoice.id, "40")
    long_ago(payment)
    with journal.capture() as calls:
        response = pay(ada_client, invoice.id)
        pay(ada_client, invoice.id)
        call_command("settle_invoice_payments", stdout=StringIO())
    assert sends(calls) == 0
    payment.refresh_from_db()
    assert payment.state == State.NEEDS_REVIEW
    assert len(applications(invoice.id)) == 1
    assert emu_invoice(invoice.id)["balance"] == 50
    page = ada_client.get(response["Location"]).text
    assert "Nue shows another payment on this invoice too" in page
    assert "Paid $90.00" not in page


def test_support_lists_the_payments_that_need_review(superuser, ada_client, stripe_on, invoice):
    admin_client = signed_in(superuser)  # with its second factor, as the admin site asks
    payment = lost_answer(ada_client, invoice)
    bank_transfer(invoice.id, "40")
    pay(ada_client, invoice.id)
    listed = admin_client.get(
        "/admin/orders/invoicepayment/", {"state__exact": State.NEEDS_REVIEW}
    ).text
    assert invoice.name in listed
    found = admin_client.get("/admin/orders/invoicepayment/", {"q": str(payment.idempotency_key)})
    assert invoice.name in found.text


def test_the_command_settles_each_state_and_does_nothing_the_second_time(
    ada_client, stripe_on, invoice
):
    # Unknown in Nue, never applied, long enough ago: resent once and recorded.
    payment = lost_answer(ada_client, invoice)
    long_ago(payment)
    with journal.capture() as calls:
        first = StringIO()
        call_command("settle_invoice_payments", stdout=first)
        second = StringIO()
        call_command("settle_invoice_payments", stdout=second)
    assert sends(calls) == 1
    assert InvoicePayment.objects.get().state == State.RECORDED
    assert "unknown -> recorded" in first.getvalue()
    assert "0 invoice payment(s) looked at." in second.getvalue()
    assert len(applications(invoice.id)) == 1


def test_the_command_reads_stripe_for_a_charge_the_page_left_waiting(
    ada_client, stripe_on, invoice
):
    save_card(ada_client, stripe_on, SECURE_3DS)
    pay(ada_client, invoice.id)
    assert InvoicePayment.objects.get().state == State.REQUIRES_ACTION
    out = StringIO()
    call_command("settle_invoice_payments", stdout=out)
    assert "still requires_action" in out.getvalue()
    authenticate(stripe_on, intents(stripe_on)[0]["client_secret"])
    out = StringIO()
    call_command("settle_invoice_payments", stdout=out)
    assert "requires_action -> recorded" in out.getvalue()
    again = StringIO()
    call_command("settle_invoice_payments", stdout=again)
    assert "0 invoice payment(s) looked at." in again.getvalue()
    assert len(applications(invoice.id)) == 1


def test_the_command_settles_a_sent_payment_nue_shows_and_leaves_a_recent_one(
    ada_client, stripe_on, invoice
):
    payment = lost_answer(ada_client, invoice)
    out = StringIO()
    with journal.capture() as calls:
        call_command("settle_invoice_payments", stdout=out)
    assert sends(calls) == 0
    assert "still unknown" in out.getvalue()
    ours_applied(invoice.id)
    call_command("settle_invoice_payments", stdout=StringIO())
    payment.refresh_from_db()
    assert payment.state == State.RECORDED
    assert len(applications(invoice.id)) == 1
