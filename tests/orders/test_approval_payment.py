"""A buyer's approval request carries how they chose to pay (issue 24, item 2): the card on
file by name, or invoice. The approval (an account manager's or an admin's) activates with
exactly that choice, it is in the ledger's stored request, and the pages show it."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from nue_emulator.models import Subscription as EmuSubscription
from orders.models import ApprovalRequest, Operation, StripeCustomer
from orders.nue import Order
from portal.models import AuditEvent, AuditKind
from tests.conftest import signed_in
from tests.orders.approval_helpers import big_draft, lower_limit
from tests.orders.test_cards import add_card
from tests.outbox import deliver


@pytest.fixture
def order(bob, ada_client, stripe_on) -> Order:
    add_card(ada_client, stripe_on)
    lower_limit()
    return big_draft()


def _request(client: Client, order: Order, **data: str):
    asked = {"comment": "Q3", "consent": "on", **data}
    return client.post(reverse("orders:approval_request", args=[order.id]), asked)


def _figures(page: str) -> str:
    marker = 'name="figures" value="'
    return page[page.index(marker) + len(marker) :].split('"', 1)[0]


def _approve_as_manager(client: Client, approval: ApprovalRequest):
    url = reverse("orders:review_request", args=[approval.pk])
    figures = _figures(client.get(url).content.decode())
    return client.post(reverse("orders:review_approve", args=[approval.pk]), {"figures": figures})


def _sent(order: Order) -> dict:
    return Operation.objects.get(kind=Operation.Kind.ACTIVATE, target=order.id).request


def test_the_request_form_offers_the_card_by_name(bob, order):
    page = signed_in(bob).get(reverse("orders:order_detail", args=[order.id])).content.decode()
    assert "Charge Visa ending 4242 (expires 12/2034)" in page
    assert "Pay by invoice" in page


def test_a_request_by_card_is_approved_charged_to_that_card(
    bob, order, maria_client, settings, django_capture_on_commit_callbacks
):
    settings.NUE_COLLECTION_MODE = "payment_links"
    with django_capture_on_commit_callbacks(execute=True):
        assert _request(signed_in(bob), order, pay="card").status_code == 302
    approval = ApprovalRequest.objects.get(order_id=order.id)
    link = StripeCustomer.objects.get()
    assert (approval.pay, approval.card_label) == ("card", "Visa ending 4242")
    assert approval.card_payment_method_id == link.card_payment_method_id
    deliver()
    (to_maria,) = [m for m in mail.outbox if m.to == ["maria@nue.example"]]
    assert "Payment: Charge Visa ending 4242" in to_maria.body
    review = maria_client.get(reverse("orders:review_request", args=[approval.pk]))
    assert "Charge Visa ending 4242" in review.content.decode()
    assert _approve_as_manager(maria_client, approval).status_code == 302
    sent = _sent(order)
    assert sent["paymentMethodObject"]["externalPaymentMethodId"] == link.card_payment_method_id
    assert sent["transactionHub"]["externalId"] == link.stripe_customer_id
    subs = EmuSubscription.objects.filter(order_id=order.id)
    assert all(s.doc["defaultPaymentMethodId"] for s in subs)
    event = AuditEvent.objects.get(kind=AuditKind.ACTIVATION, details__order_id=order.id)
    assert event.details["pay"] == "Charge Visa ending 4242"


def test_a_request_by_invoice_is_approved_by_invoice(bob, order, ada_client):
    assert _request(signed_in(bob), order, pay="invoice").status_code == 302
    approval = ApprovalRequest.objects.get(order_id=order.id)
    assert approval.pay == "invoice"
    page = ada_client.get(reverse("orders:order_detail", args=[order.id])).content.decode()
    assert "Once approved: <strong>Pay by invoice</strong>" in page
    approved = ada_client.post(
        reverse("orders:approval_approve", args=[order.id]), {"figures": _figures(page)}
    )
    assert approved.status_code == 302
    assert "paymentMethodObject" not in _sent(order)
    assert "transactionHub" not in _sent(order)


def test_a_request_without_a_choice_is_by_invoice(bob, order):
    _request(signed_in(bob), order)
    assert ApprovalRequest.objects.get(order_id=order.id).pay_words == "Pay by invoice"


def test_a_card_replaced_since_the_request_is_not_charged(
    bob, order, maria_client, ada_client, stripe_on
):
    _request(signed_in(bob), order, pay="card")
    approval = ApprovalRequest.objects.get(order_id=order.id)
    add_card(ada_client, stripe_on, "5555555555554444")
    refused = _approve_as_manager(maria_client, approval)
    assert refused.status_code == 409
    assert "no longer the card on file" in refused.content.decode()
    assert not Operation.objects.filter(target=order.id).exists()
    approval.refresh_from_db()
    assert approval.is_pending


def test_a_buyer_who_may_not_charge_is_offered_invoice_only(ben, order):
    # A viewer never gets the form at all: the approval panel offers nothing to request.
    page = signed_in(ben).get(reverse("orders:order_detail", args=[order.id])).content.decode()
    assert "Request approval" not in page
