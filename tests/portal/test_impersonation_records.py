"""Read-only impersonation writes nothing, whatever the view; elevated, every record the portal
writes names both identities (issue 20, item 8)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from nue_emulator import journal
from orders.models import ApprovalRequest, DiscardedDraft, QuoteLink
from portal.models import AuditEvent, AuditKind, User
from tests.conftest import verify_client
from tests.orders.approval_helpers import big_draft, lower_limit, pending_request

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/orders/"}


@pytest.fixture
def as_bob(sam_client: Client, bob: User) -> Client:
    """Sam impersonating Bob, a buyer of Acme whose drafts need an approval."""
    lower_limit()
    response = sam_client.post(
        reverse("support_impersonate", args=[bob.memberships.get().pk]),
        {"reason": "Ticket SUP-7"},
    )
    assert response.status_code == 302
    return sam_client


def elevate(client: Client) -> None:
    response = client.post(reverse("support_elevate"), {"reason": "Bob asked in SUP-7"})
    assert response.status_code == 302


def nue_writes(calls: list[journal.Entry]) -> list[journal.Entry]:
    return [call for call in calls if call.wrote]


def test_it_refuses_an_approval_request_while_read_only(as_bob):
    draft = big_draft()
    with journal.capture() as calls:
        response = as_bob.post(
            reverse("orders:approval_request", args=[draft.id]),
            {"comment": "Please", "consent": "on"},
        )
    assert response.status_code == 403
    assert "Refused: you are impersonating read-only" in response.content.decode()
    assert not ApprovalRequest.objects.exists()
    assert mail.outbox == []
    assert not nue_writes(calls)


def test_it_refuses_a_quote_link_while_read_only(as_bob):
    draft = big_draft()
    with journal.capture() as calls:
        response = as_bob.post(reverse("orders:quote_link", args=[draft.id]), headers=HTMX)
    assert response.status_code == 403
    page = response.content.decode()
    assert "<html" not in page  # the refusal partial, swapped where the form was
    assert "Refused: you are impersonating read-only" in page
    assert 'id="impersonation-banner"' in page
    assert not QuoteLink.objects.exists()
    assert not [c for c in calls if "magiclink" in c.path]


def test_it_refuses_to_withdraw_an_approval_while_read_only(as_bob, bob):
    approval = pending_request(bob)
    response = as_bob.post(reverse("orders:approval_withdraw", args=[approval.order_id]))
    assert response.status_code == 403
    approval.refresh_from_db()
    assert approval.is_pending


def test_it_refuses_to_create_or_discard_a_draft_while_read_only(as_bob):
    draft = big_draft()
    with journal.capture() as calls:
        discard = as_bob.post(reverse("orders:draft_discard", args=[draft.id]))
        create = as_bob.post(reverse("orders:new_order"), {"action": "draft"})
    assert (discard.status_code, create.status_code) == (403, 403)
    assert not nue_writes(calls)
    assert not DiscardedDraft.objects.exists()


def test_it_audits_a_refusal_with_both_identities_and_the_route(as_bob, sam, bob):
    draft = big_draft()
    as_bob.post(reverse("orders:draft_discard", args=[draft.id]))
    refused = AuditEvent.objects.get(kind=AuditKind.ACTION_REFUSED)
    assert (refused.actor, refused.on_behalf_of) == (sam, bob)
    assert refused.details == {"view": "orders:draft_discard"}


def test_it_lets_a_read_only_agent_sign_out(as_bob, sam):
    response = as_bob.post(reverse("logout"))
    assert response.status_code == 302
    assert AuditEvent.objects.filter(kind=AuditKind.SIGN_OUT, actor=sam).exists()


def test_it_names_the_agent_on_an_approval_request_and_its_mail(
    as_bob, sam, bob, django_capture_on_commit_callbacks
):
    elevate(as_bob)
    draft = big_draft()
    with django_capture_on_commit_callbacks(execute=True):
        response = as_bob.post(
            reverse("orders:approval_request", args=[draft.id]),
            {"comment": "Budget Q3", "consent": "on"},
        )
    assert response.status_code == 302
    approval = ApprovalRequest.objects.get()
    assert (approval.requested_by, approval.requested_via) == (bob, sam)
    (message,) = mail.outbox
    assert "sam@nue.example" in message.body
    assert "of support, impersonating" in message.body
    maria = Client()
    manager = User.objects.get(email="maria@nue.example")
    maria.force_login(manager)
    verify_client(maria, manager)
    page = maria.get(reverse("orders:review_request", args=[approval.pk])).content.decode()
    assert "of support while impersonating them" in page


def test_it_names_the_agent_on_a_withdrawal(as_bob, sam, bob):
    approval = pending_request(bob)
    elevate(as_bob)
    response = as_bob.post(reverse("orders:approval_withdraw", args=[approval.order_id]))
    assert response.status_code == 302
    approval.refresh_from_db()
    assert (approval.state, approval.decided_by, approval.decided_via) == (
        ApprovalRequest.State.WITHDRAWN,
        bob,
        sam,
    )


def test_it_names_the_agent_on_a_quote_link(as_bob, sam, bob):
    elevate(as_bob)
    draft = big_draft()
    response = as_bob.post(reverse("orders:quote_link", args=[draft.id]))
    assert response.status_code == 302
    link = QuoteLink.objects.get()
    assert (link.generated_by, link.generated_via) == (bob, sam)


def test_it_names_the_agent_on_a_discarded_draft(as_bob, sam, bob):
    elevate(as_bob)
    draft = big_draft()
    response = as_bob.post(reverse("orders:draft_discard", args=[draft.id]))
    assert response.status_code == 302
    discarded = DiscardedDraft.objects.get()
    assert (discarded.discarded_by, discarded.discarded_via) == (bob, sam)


def test_it_names_no_agent_when_the_customer_asks(
    bob_client, bob, django_capture_on_commit_callbacks
):
    lower_limit()
    draft = big_draft()
    with django_capture_on_commit_callbacks(execute=True):
        bob_client.post(
            reverse("orders:approval_request", args=[draft.id]), {"comment": "Q3", "consent": "on"}
        )
    approval = ApprovalRequest.objects.get()
    assert (approval.requested_by, approval.requested_via) == (bob, None)
    assert "impersonating" not in mail.outbox[0].body
