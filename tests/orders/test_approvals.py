"""Requesting approval: the threshold and role matrix, the lock, withdrawal, mail to managers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.actions import approvals
from orders.models import ApprovalRequest
from orders.views.panels import approval_panel
from portal.models import AuditEvent, AuditKind, Membership, Role, User
from tests.conftest import signed_in
from tests.orders.approval_helpers import (
    ACME,
    account,
    big_draft,
    drafts,
    lower_limit,
    make_buyer,
    pending_request,
)
from tests.outbox import deliver


@pytest.fixture
def bob(db) -> User:
    """A buyer at Acme (the demo has none)."""
    return make_buyer()


@pytest.fixture
def bob_client(bob) -> Client:
    return signed_in(bob)


def _request_url(order_id: str) -> str:
    return reverse("orders:approval_request", args=[order_id])


@pytest.mark.parametrize(
    ("role", "limit", "expected"),
    [
        (Role.BUYER, "1000.00", 302),  # above the limit: must request
        (Role.BUYER, "100000.00", 403),  # below: activates directly, nothing to request
        (Role.ADMIN, "1000.00", 403),  # admins activate any amount
        (Role.VIEWER, "1000.00", 403),  # viewers may do neither
    ],
)
def test_it_lets_only_a_buyer_above_the_threshold_request(bob, role, limit, expected):
    Membership.objects.filter(user=bob).update(role=role)
    lower_limit(limit=Decimal(limit))
    order = big_draft()

    response = signed_in(bob).post(_request_url(order.id), {"comment": "Please", "consent": "on"})

    assert response.status_code == expected
    assert approvals.is_locked(order.id) is (expected == 302)


def test_it_uses_the_default_threshold_from_settings(bob_client, settings):
    settings.APPROVAL_THRESHOLD_DEFAULT = Decimal("500.00")
    assert account().approval_threshold is None
    response = bob_client.post(_request_url(big_draft().id), {"comment": "", "consent": "on"})
    assert response.status_code == 302


def test_it_records_requester_time_figures_and_comment(bob, bob_client):
    lower_limit()
    order = big_draft()

    response = bob_client.post(
        _request_url(order.id), {"comment": "Needed for the Q3 rollout", "consent": "on"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("orders:order_detail", args=[order.id])
    approval = ApprovalRequest.objects.get(order_id=order.id)
    assert approval.requested_by == bob
    assert approval.requested_at is not None
    assert approval.comment == "Needed for the Q3 rollout"
    assert approval.state == ApprovalRequest.State.PENDING
    assert approval.figures["grand_total"] == f"{order.total:.2f}"
    assert approval.figures["lines"][0]["product"] == next(order.all_lines()).product_name
    event = AuditEvent.objects.filter(kind=AuditKind.ACTION).latest("created_at")
    assert event.details["action"] == "approval_requested"
    assert event.actor == bob


def test_it_locks_the_draft_while_pending(bob, bob_client):
    lower_limit()
    order = big_draft()
    bob_client.post(_request_url(order.id), {"comment": "", "consent": "on"})

    assert approvals.is_locked(order.id)
    with pytest.raises(approvals.DraftLocked):
        approvals.refuse_if_locked(order.id)
    again = bob_client.post(_request_url(order.id), {"comment": "again", "consent": "on"})
    assert again.status_code == 409
    assert b"Awaiting approval" in again.content
    assert ApprovalRequest.objects.filter(order_id=order.id).count() == 1


def test_it_leaves_other_drafts_unlocked(bob):
    lower_limit()
    first, second = drafts()[:2]
    pending_request(bob, first)
    assert approvals.is_locked(first.id)
    assert not approvals.is_locked(second.id)


def test_it_shows_the_pending_state_on_the_order_page(bob, bob_client):
    lower_limit()
    order = big_draft()
    pending_request(bob, order)

    page = bob_client.get(reverse("orders:order_detail", args=[order.id])).content.decode()

    assert "Awaiting approval" in page
    assert "by Bob Buyer" in page
    assert "Budget Q3" in page


def test_the_order_page_reads_the_approval_once_alongside_nue(bob, bob_client):
    lower_limit()
    order = big_draft()
    pending_request(bob, order)
    url = reverse("orders:order_detail", args=[order.id])

    with CaptureQueriesContext(connection) as queries:
        page = bob_client.get(url).content.decode()

    assert "Awaiting approval" in page
    # The quote link's read joins the approval its acceptance made; this counts reads of requests.
    reads = [q for q in queries if 'FROM "orders_approvalrequest"' in q["sql"]]
    assert len(reads) == 1  # the view's read ahead; the panel renders it without another


def test_the_approval_panel_reads_again_when_handed_another_orders_read(bob):
    lower_limit()
    order, other = drafts()[:2]
    pending = pending_request(bob, order)
    handed = approvals.LatestRead(other.id, None)
    panel = approval_panel(RequestFactory().get("/"), order, read=handed)

    assert panel["pending"] == pending


def test_the_order_page_shows_a_new_request_after_a_decline(bob, bob_client):
    lower_limit()
    order = big_draft()
    manager = User.objects.get(email="maria@nue.example")
    approvals.decline(pending_request(bob, order), manager=manager, comment="Too much")
    url = reverse("orders:order_detail", args=[order.id])

    declined = bob_client.get(url).content.decode()
    assert "Declined" in declined
    assert "Withdraw" not in declined

    pending_request(bob, order)
    again = bob_client.get(url).content.decode()
    assert "Awaiting approval" in again
    assert "Withdraw" in again


def test_it_offers_the_request_form_on_the_order_page(bob_client):
    lower_limit()
    page = bob_client.get(reverse("orders:order_detail", args=[big_draft().id])).content.decode()
    assert 'id="approval-panel"' in page
    assert "Request approval" in page


def test_it_lists_requests_on_the_dashboard(bob, bob_client):
    lower_limit()
    approval = pending_request(bob)
    page = bob_client.get(reverse("home")).content.decode()
    assert 'id="approval-summary"' in page
    assert approval.order_name in page


def test_it_hides_another_customers_draft(grace_client):
    lower_limit()
    response = grace_client.post(_request_url(big_draft().id), {"comment": "", "consent": "on"})
    assert response.status_code == 404


def test_it_requires_sign_in(db, client):
    response = client.post(_request_url(big_draft().id), {"comment": "", "consent": "on"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_it_rejects_get(bob_client):
    assert bob_client.get(_request_url(big_draft().id)).status_code == 405


def test_it_answers_htmx_with_a_client_redirect(bob_client):
    lower_limit()
    order = big_draft()
    response = bob_client.post(
        _request_url(order.id), {"comment": "", "consent": "on"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("orders:order_detail", args=[order.id])


def test_it_rerenders_a_too_long_comment_with_422(bob_client):
    lower_limit()
    order = big_draft()
    response = bob_client.post(
        _request_url(order.id),
        {"comment": "x" * 2001, "consent": "on"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert b'id="approval-panel"' in response.content
    assert not approvals.is_locked(order.id)


def test_it_mails_the_approvers_with_a_link_back(bob_client):
    lower_limit()
    order = big_draft()
    bob_client.post(_request_url(order.id), {"comment": "Budget Q3", "consent": "on"})
    assert mail.outbox == []  # queued with the request, sent by the mail worker

    deliver()
    approval = ApprovalRequest.objects.get(order_id=order.id)
    by_recipient = {tuple(m.to): m for m in mail.outbox}
    # The account manager reviews it on her page, the account's admin on the draft's.
    assert set(by_recipient) == {("maria@nue.example",), ("ada@acme.example",)}
    to_maria = by_recipient[("maria@nue.example",)]
    assert order.order_number in to_maria.subject
    review = "http://testserver" + reverse("orders:review_request", args=[approval.pk])
    assert review in to_maria.body
    assert "Budget Q3" in to_maria.body
    draft = "http://testserver" + reverse("orders:order_detail", args=[order.id])
    assert draft in by_recipient[("ada@acme.example",)].body


class BrokenMail:
    """A mail server that does not answer: the connection is refused."""

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        raise ConnectionRefusedError("mail server down")

    def close(self):
        pass

    def send_messages(self, messages):
        raise AssertionError("never reached: the connection was refused")


def test_it_keeps_the_request_when_the_mail_server_is_down(bob_client, settings):
    settings.OUTBOX_DELIVERY_BACKEND = "tests.orders.test_approvals.BrokenMail"
    lower_limit()
    order = big_draft()
    response = bob_client.post(_request_url(order.id), {"comment": "", "consent": "on"})

    assert response.status_code == 302
    assert approvals.is_locked(order.id)
    assert len(deliver().retrying) == 2
    assert mail.outbox == []


def test_it_lets_the_requester_withdraw(bob, bob_client):
    lower_limit()
    approval = pending_request(bob)

    response = bob_client.post(reverse("orders:approval_withdraw", args=[approval.order_id]))

    assert response.status_code == 302
    approval.refresh_from_db()
    assert approval.state == ApprovalRequest.State.WITHDRAWN
    assert not approvals.is_locked(approval.order_id)


def test_it_refuses_withdrawal_by_another_buyer(bob):
    lower_limit()
    approval = pending_request(bob)
    other = make_buyer("bea@acme.example")
    response = signed_in(other).post(reverse("orders:approval_withdraw", args=[approval.order_id]))
    assert response.status_code == 403
    assert approvals.is_locked(approval.order_id)


def test_it_lets_an_admin_of_the_account_withdraw(bob, ada_client):
    lower_limit()
    approval = pending_request(bob)
    response = ada_client.post(reverse("orders:approval_withdraw", args=[approval.order_id]))
    assert response.status_code == 302
    assert not approvals.is_locked(approval.order_id)


def test_it_spots_changed_figures(bob):
    lower_limit()
    order = big_draft()
    snapshot = approvals.figures_of(order)
    assert approvals.changed_figures(snapshot, order) == []
    snapshot["grand_total"] = "1.00"
    snapshot["lines"] = []
    assert approvals.changed_figures(snapshot, order) == ["Total", "Lines"]


def test_it_lists_the_customers_requests_for_the_dashboard(bob):
    lower_limit()
    first, second = drafts()[:2]
    pending_request(bob, first)
    declined = pending_request(bob, second)
    approvals.decline(declined, manager=User.objects.get(email="maria@nue.example"), comment="No")

    found = approvals.for_customer(account(ACME))

    assert [a.order_id for a in found.pending] == [first.id]
    assert [a.order_id for a in found.decided] == [second.id]
