"""One decision per kind of draft, applied by every route that activates it (issue 20, item 7):
the wizard's confirm, the draft page and an account manager's approval decide alike, run the
same staleness check and write the same audit event."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from nue_emulator import journal
from orders.actions import approvals
from orders.models import ApprovalRequest
from orders.scope import CustomerNue
from portal.models import AuditEvent, AuditKind, User

PRO = "SUB-00000001"  # Acme: Pro Plan (US), 5 seats

pytestmark = pytest.mark.django_db


def acme(user: User) -> CustomerNue:
    return CustomerNue(user.memberships.get().account)


def preview(client, kind: str, data: dict[str, str]) -> str:
    response = client.post(reverse("orders:change_details", args=[PRO, kind]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"].rstrip("/").split("/")[-1]


def activations(calls: list[journal.Entry], order_id: str) -> int:
    return sum(1 for c in calls if c.method == "POST" and c.path.endswith(f"/orders/{order_id}"))


def activate(client, order_id: str, **data: str):
    url = reverse("orders:draft_activate", args=[order_id])
    return client.post(url, {"consent": "on", **data})


@pytest.fixture
def cancellation(ada_client) -> str:
    """A cancellation of Pro that Ada (an admin) previewed and left as a draft."""
    return preview(ada_client, "cancel", {"reason": "switching", "when": "today"})


def test_it_refuses_a_buyer_a_cancellation_on_the_draft_page(bob_client, ada, cancellation):
    with journal.capture() as calls:
        response = activate(bob_client, cancellation)
    assert response.status_code == 403
    assert activations(calls, cancellation) == 0
    assert acme(ada).subscription(PRO).cancels_on is None
    assert not AuditEvent.objects.filter(kind=AuditKind.ACTIVATION).exists()


def test_it_refuses_a_buyer_a_cancellation_without_the_wizards_preview(
    bob_client, ada, cancellation
):
    cache.clear()  # the draft is opened from Nue alone: the kind comes from its lines
    with journal.capture() as calls:
        response = activate(bob_client, cancellation)
    assert response.status_code == 403
    assert activations(calls, cancellation) == 0


def test_it_shows_a_buyer_no_activate_form_on_a_cancellation(bob_client, cancellation):
    page = bob_client.get(reverse("orders:order_detail", args=[cancellation])).content.decode()
    assert reverse("orders:draft_activate", args=[cancellation]) not in page
    assert "Only an admin of the account may cancel a subscription." in page


def test_it_audits_a_cancellation_from_the_draft_page_as_a_cancellation(
    ada_client, ada, cancellation
):
    response = activate(ada_client, cancellation)
    assert response.status_code == 302
    # Canceled today: today is its last day of service (cancellationDate, nue-api.md §2.2).
    assert acme(ada).subscription(PRO).cancels_on == timezone.localdate()
    event = AuditEvent.objects.get(kind=AuditKind.CANCELLATION)
    assert event.reason == "We are switching to another product"  # given in the wizard
    assert event.details["subscription"] == PRO
    assert event.details["order_id"] == cancellation
    assert not AuditEvent.objects.filter(kind=AuditKind.ACTIVATION).exists()


def test_it_asks_the_reason_of_a_cancellation_activated_without_the_wizard(
    ada_client, ada, cancellation
):
    cache.clear()
    page = ada_client.get(reverse("orders:order_detail", args=[cancellation])).content.decode()
    assert "Why is the subscription canceled?" in page
    with journal.capture() as calls:
        missing = activate(ada_client, cancellation)
    assert missing.status_code == 422
    assert activations(calls, cancellation) == 0
    assert activate(ada_client, cancellation, reason="Closing the office").status_code == 302
    event = AuditEvent.objects.get(kind=AuditKind.CANCELLATION)
    assert event.reason == "Closing the office"


def test_it_audits_a_change_the_same_from_the_wizard_and_the_draft_page(ada_client):
    by_wizard = preview(ada_client, "quantity", {"quantity": "7", "when": "today"})
    confirm = reverse("orders:change_confirm", args=[PRO, by_wizard])
    assert ada_client.post(confirm).status_code == 302
    by_page = preview(ada_client, "quantity", {"quantity": "9", "when": "today"})
    assert activate(ada_client, by_page).status_code == 302
    events = AuditEvent.objects.filter(kind=AuditKind.CHANGE_ORDER).order_by("pk")
    assert [e.details["order_id"] for e in events] == [by_wizard, by_page]
    assert {e.details["change"] for e in events} == {"UpdateQuantity"}
    assert {e.details["draft_kind"] for e in events} == {"change"}
    assert not AuditEvent.objects.filter(kind=AuditKind.ACTIVATION).exists()


def test_it_refuses_a_stale_change_on_the_draft_page(ada_client, ada):
    first = preview(ada_client, "quantity", {"quantity": "7", "when": "today"})
    second = preview(ada_client, "quantity", {"quantity": "9", "when": "today"})
    assert activate(ada_client, first).status_code == 302
    with journal.capture() as calls:
        response = activate(ada_client, second)
    # Seven seats now; the second draft was computed from five and would add on top of seven.
    assert response.status_code == 409
    assert "has changed since it was priced" in response.content.decode()
    assert activations(calls, second) == 0
    assert acme(ada).subscription(PRO).quantity == 7


def test_it_refuses_a_stale_change_without_the_wizards_preview(ada_client, ada):
    first = preview(ada_client, "quantity", {"quantity": "7", "when": "today"})
    second = preview(ada_client, "quantity", {"quantity": "9", "when": "today"})
    assert activate(ada_client, first).status_code == 302
    cache.clear()  # Nue's own summary of the change order says what it was computed from
    with journal.capture() as calls:
        response = activate(ada_client, second)
    assert response.status_code == 409
    assert activations(calls, second) == 0


def test_it_refuses_a_buyer_an_approval_request_for_a_cancellation(bob_client, cancellation):
    url = reverse("orders:approval_request", args=[cancellation])
    response = bob_client.post(url, {"comment": "Please cancel", "consent": "on"})
    assert response.status_code == 403
    assert not ApprovalRequest.objects.exists()


def test_it_never_approves_a_cancellation_a_buyer_asked_for(maria_client, bob, ada, cancellation):
    account = bob.memberships.get().account
    order = acme(ada).order(cancellation, fresh=True)
    approval = approvals.request_approval(account, order, requester=bob, comment="")
    page = maria_client.get(reverse("orders:review_request", args=[approval.pk]))
    assert "Only an admin of the account may cancel a subscription." in page.content.decode()
    with journal.capture() as calls:
        response = maria_client.post(
            reverse("orders:review_approve", args=[approval.pk]),
            {"figures": approvals_figures(page)},
        )
    assert response.status_code == 403
    assert activations(calls, cancellation) == 0
    assert acme(ada).subscription(PRO).cancels_on is None
    approval.refresh_from_db()
    assert approval.is_pending


def approvals_figures(page) -> str:
    form = page.context["approve_form"]
    return form["figures"].value() if form is not None else ""


def test_it_audits_an_approved_change_as_a_change(maria_client, bob_client, bob, ada):
    account = bob.memberships.get().account
    account.approval_threshold = 1
    account.save(update_fields=["approval_threshold"])
    order_id = preview(bob_client, "quantity", {"quantity": "8", "when": "today"})
    url = reverse("orders:approval_request", args=[order_id])
    assert bob_client.post(url, {"comment": "Three more seats", "consent": "on"}).status_code == 302
    approval = ApprovalRequest.objects.get(order_id=order_id)
    page = maria_client.get(reverse("orders:review_request", args=[approval.pk]))
    response = maria_client.post(
        reverse("orders:review_approve", args=[approval.pk]), {"figures": approvals_figures(page)}
    )
    assert response.status_code == 302
    assert acme(ada).subscription(PRO).quantity == 8
    event = AuditEvent.objects.get(kind=AuditKind.CHANGE_ORDER)
    assert (event.actor.email, event.details["approval"]) == ("maria@nue.example", approval.pk)
    assert event.details["subscription"] == PRO
    assert AuditEvent.objects.filter(kind=AuditKind.APPROVAL).count() == 1


def test_it_records_the_reason_an_admin_gives_on_the_draft_page(ada_client, cancellation):
    response = activate(ada_client, cancellation, reason="Closing the Leeds office")
    assert response.status_code == 302
    event = AuditEvent.objects.get(kind=AuditKind.CANCELLATION)
    assert event.reason == "Closing the Leeds office"  # the latest word, over the wizard's
