"""The emails of what happens to an account, queued where it happens and sent by the worker:
an activation's outcome (order activated, change confirmed, cancellation scheduled) however the
ledger learned it, approvals requested and decided, and a card payment that failed."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils.module_loading import import_string

from orders.ledger import succeeded
from orders.models import ApprovalRequest, InvoicePayment, Operation
from orders.scope import CustomerNue
from portal import notifications
from portal.models import AuditEvent, AuditKind, Membership, NotificationKind, OutgoingEmail
from tests import demo
from tests.conftest import installed_client
from tests.orders.approval_helpers import big_draft, lower_limit
from tests.orders.payment_helpers import (
    DECLINED_ON_CHARGE,
    SECURE_3DS,
    WEBHOOK_SECRET,
    event,
    overdue_invoice,
    save_card,
    signed,
)
from tests.orders.purchase_helpers import create_draft, line
from tests.orders.test_invoice_payments import intents, pay
from tests.outbox import deliver
from tests.reliability.test_lost_answers import LosingTransport

Kind = NotificationKind
PRO_SKU = "PLAN-PRO-US"
PRO = demo.PRO  # Acme's Pro Plan subscription

pytestmark = pytest.mark.django_db


def queued(kind: str) -> list[OutgoingEmail]:
    return list(OutgoingEmail.objects.filter(kind=kind).order_by("pk"))


def activate(client, order_id: str, **data: str):
    return client.post(reverse("orders:draft_activate", args=[order_id]), {"consent": "on", **data})


def preview(client, kind: str, data: dict[str, str]) -> str:
    response = client.post(reverse("orders:change_details", args=[PRO, kind]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"].rstrip("/").split("/")[-1]


def test_an_activated_order_is_mailed_to_the_admins_once(ada_client, bob):
    order_id = create_draft(ada_client, line("la", PRO_SKU, quantity="2"))
    assert activate(ada_client, order_id, po_number="PO-77").status_code == 302
    assert activate(ada_client, order_id, po_number="PO-77").status_code == 302  # a replay

    (row,) = queued(Kind.ORDER_ACTIVATED)
    assert row.to == [demo.ADA]  # the admin; not Bob the buyer, not Ben the viewer
    assert mail.outbox == []
    deliver()
    (message,) = mail.outbox
    number = Operation.objects.get(target=order_id).audit[0]["details"]["order_number"]
    assert message.subject == f"Order {number} is active"
    assert f"http://testserver/orders/{order_id}/" in message.body
    assert "Activated by: ada@acme.example" in message.body


def test_an_admin_who_turned_it_off_gets_none(ada_client):
    ada = Membership.objects.get(user__email=demo.ADA)
    notifications.save_choices(ada, enabled=[])
    order_id = create_draft(ada_client, line("la", PRO_SKU))
    assert activate(ada_client, order_id).status_code == 302
    assert queued(Kind.ORDER_ACTIVATED) == []


@pytest.fixture
def losing(settings) -> Iterator[LosingTransport]:
    app = import_string(settings.NUE_EMULATOR_WSGI_APP)
    transport = LosingTransport(httpx.WSGITransport(app=app))
    with installed_client(transport, sleep=lambda seconds: None):
        yield transport


def test_an_activation_learned_by_reconciliation_is_mailed_then(losing, ada_client):
    order_id = create_draft(ada_client, line("la", PRO_SKU, quantity="2"))
    losing.lose = "reset"  # Nue activates it; its answer is lost
    assert activate(ada_client, order_id).status_code in (502, 503, 504)
    assert Operation.objects.get(target=order_id).state == Operation.State.UNKNOWN
    assert queued(Kind.ORDER_ACTIVATED) == []  # not known to have happened yet

    call_command("reconcile_operations", older_than=0, verbosity=0)
    call_command("reconcile_operations", older_than=0, verbosity=0)
    assert activate(ada_client, order_id).status_code == 302  # the customer's retry

    assert Operation.objects.get(target=order_id).state == Operation.State.SUCCEEDED
    (row,) = queued(Kind.ORDER_ACTIVATED)
    assert row.to == [demo.ADA]


def test_a_confirmed_change_is_mailed_with_what_changes(ada_client):
    order_id = preview(ada_client, "quantity", {"quantity": "7", "when": "today"})
    assert (
        ada_client.post(reverse("orders:change_confirm", args=[PRO, order_id])).status_code == 302
    )

    (row,) = queued(Kind.CHANGE_CONFIRMED)
    assert row.to == [demo.ADA]
    assert row.subject == f"Change confirmed: {PRO}"
    assert "What changes: Change quantity" in row.body
    assert "Takes effect: " in row.body
    assert queued(Kind.ORDER_ACTIVATED) == []
    assert queued(Kind.CANCELLATION_SCHEDULED) == []


def test_a_scheduled_cancellation_is_mailed_with_its_day_and_reason(ada_client, ada):
    order_id = preview(ada_client, "cancel", {"reason": "switching", "when": "today"})
    assert activate(ada_client, order_id, reason="Closing the office").status_code == 302

    (row,) = queued(Kind.CANCELLATION_SCHEDULED)
    starts = CustomerNue(ada.memberships.get().account).order(order_id).start_date
    assert starts is not None  # the change order's own day, as its page shows it
    assert f"taking effect on {starts.day} {starts:%b %Y}" in row.body
    assert "Reason given: Closing the office" in row.body
    assert queued(Kind.CHANGE_CONFIRMED) == []


def test_what_follows_a_success_never_undoes_it(ada_client):
    """A receiver of the ledger's success that fails is rolled back alone: the activation, its
    audit events and the other receivers' emails stand."""

    def broken(sender, operation, **kwargs):
        OutgoingEmail.objects.create(subject="half-done", from_email="x", to=["x@x.example"])
        raise RuntimeError("a bug after the outcome")

    succeeded.connect(broken, dispatch_uid="test-broken")
    try:
        order_id = create_draft(ada_client, line("la", PRO_SKU))
        assert activate(ada_client, order_id).status_code == 302
    finally:
        succeeded.disconnect(dispatch_uid="test-broken")
    assert Operation.objects.get(target=order_id).state == Operation.State.SUCCEEDED
    assert AuditEvent.objects.filter(kind=AuditKind.ACTIVATION).count() == 1
    assert not OutgoingEmail.objects.filter(subject="half-done").exists()


def test_an_approval_is_asked_of_the_approvers_and_its_decision_told(bob_client, maria_client):
    lower_limit()
    order = big_draft()
    url = reverse("orders:approval_request", args=[order.id])
    assert bob_client.post(url, {"comment": "Budget Q3", "consent": "on"}).status_code == 302
    assert sorted(r.to[0] for r in queued(Kind.APPROVAL_REQUESTED)) == [demo.ADA, demo.MARIA]

    approval = ApprovalRequest.objects.get(order_id=order.id)
    page = maria_client.get(reverse("orders:review_request", args=[approval.pk]))
    figures = page.context["approve_form"]["figures"].value()
    approve = reverse("orders:review_approve", args=[approval.pk])
    assert maria_client.post(approve, {"figures": figures}).status_code == 302

    (decided,) = queued(Kind.APPROVAL_DECIDED)
    assert decided.to == [demo.BOB]
    assert decided.subject == f"Order {order.order_number} was approved"
    (activated,) = queued(Kind.ORDER_ACTIVATED)
    assert activated.to == [demo.ADA]
    assert "Activated by: maria@nue.example" in activated.body
    deliver()
    assert len(mail.outbox) == 4


# A card payment that fails (localstripe).


@pytest.fixture
def invoice(db):
    return overdue_invoice(demo.ACME_ID)


def test_a_declined_card_payment_is_mailed_to_the_admins(ada_client, stripe_on, invoice):
    save_card(ada_client, stripe_on, DECLINED_ON_CHARGE)
    pay(ada_client, invoice.id)
    assert InvoicePayment.objects.get().state == InvoicePayment.State.FAILED

    (row,) = queued(Kind.PAYMENT_FAILED)
    assert row.to == [demo.ADA]
    assert row.subject == f"Payment failed: invoice {invoice.name}"
    assert f"http://testserver/invoices/{invoice.id}/" in row.body
    assert "Nothing was charged" in row.body
    assert "It is essential, so it is always sent." in row.body


def test_a_payment_stripe_reports_failed_is_mailed_once(
    client, ada_client, settings, stripe_on, invoice
):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    save_card(ada_client, stripe_on, SECURE_3DS)
    pay(ada_client, invoice.id)  # waits for 3-D Secure
    assert queued(Kind.PAYMENT_FAILED) == []
    [intent] = intents(stripe_on)
    intent["last_payment_error"] = {"message": "Your card was declined."}
    for event_id in ("evt_n1", "evt_n2"):  # the same outcome, delivered twice
        failed = event(event_id, "payment_intent.payment_failed", intent)
        assert client.post("/stripe/webhook/", **signed(failed)).status_code == 200

    (row,) = queued(Kind.PAYMENT_FAILED)
    assert "Your card was declined." in row.body
