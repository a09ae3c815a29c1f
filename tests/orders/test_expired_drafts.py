"""A draft priced for a day that has passed activates on no route; one click re-prices it as a
new draft from today, with the same lines and PO (issue 20, item 4)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from nue_emulator import journal
from orders.actions import approvals
from orders.models import ApprovalRequest
from orders.nue import AddOn, LineRequest, Order
from orders.scope import CustomerNue
from portal.models import AuditEvent, AuditKind, User
from tests.conftest import signed_in

from .purchase_helpers import PRO, SUITE, account, create_draft, entry_id, line

pytestmark = pytest.mark.django_db


def acme() -> CustomerNue:
    return CustomerNue(account())


def expired_draft(*, po_number: str | None = "PO-4711", days: int = 5, bundle: bool = False):
    """A draft "priced for a start on <days ago>: activate it by then", with a PO."""
    start = timezone.localdate() - timedelta(days=days)
    lines = [LineRequest(entry_id(PRO), Decimal(3), start_date=start, term_months=12)]
    if bundle:
        lines.append(
            LineRequest(
                entry_id(SUITE),
                Decimal(1),
                start_date=start,
                term_months=12,
                add_ons=(AddOn("opt-admin-seats", quantity=Decimal(2)),),
            )
        )
    return acme().create_draft(lines, effective_date=start, po_number=po_number).order


def activations(calls: list[journal.Entry], order_id: str) -> int:
    return sum(1 for c in calls if c.method == "POST" and c.path.endswith(f"/orders/{order_id}"))


def orders_created(calls: list[journal.Entry]) -> int:
    return sum(1 for c in calls if c.method == "POST" and c.path.endswith("/orders"))


def test_it_refuses_to_activate_an_expired_draft(ada_client):
    draft = expired_draft()
    with journal.capture() as calls:
        response = ada_client.post(
            reverse("orders:draft_activate", args=[draft.id]), {"consent": "on"}
        )
    assert response.status_code == 409
    page = response.content.decode()
    assert f"priced for a start on {draft.start_date.day} {draft.start_date:%b %Y}" in page
    assert "which has passed" in page
    assert reverse("orders:draft_reprice", args=[draft.id]) in page
    assert activations(calls, draft.id) == 0
    assert acme().order(draft.id, fresh=True).is_draft
    assert not AuditEvent.objects.filter(kind=AuditKind.ACTIVATION).exists()


def test_it_offers_the_re_price_instead_of_activate_on_the_draft_page(ada_client):
    draft = expired_draft()
    page = ada_client.get(reverse("orders:order_detail", args=[draft.id])).content.decode()
    assert "Re-price from today" in page
    assert reverse("orders:draft_reprice", args=[draft.id]) in page
    assert reverse("orders:draft_activate", args=[draft.id]) not in page


def test_it_re_prices_an_expired_draft_as_a_new_draft_from_today(ada_client):
    draft = expired_draft(bundle=True)
    response = ada_client.post(reverse("orders:draft_reprice", args=[draft.id]))
    assert response.status_code == 302
    new_id = response["Location"].rstrip("/").split("/")[-1]
    assert new_id != draft.id
    new = acme().order(new_id, fresh=True)
    today = timezone.localdate()
    assert new.is_draft
    assert new.start_date == today
    assert new.po_number == "PO-4711"
    assert _lines(new) == _lines(draft)
    assert {line.start_date for line in new.lines} == {today}
    assert acme().order(draft.id, fresh=True).is_draft  # left as it was
    event = AuditEvent.objects.get(kind=AuditKind.ACTION, details__action="draft_repriced")
    assert (event.details["order_id"], event.details["new_order_id"]) == (draft.id, new_id)
    # And the new draft activates.
    done = ada_client.post(reverse("orders:draft_activate", args=[new_id]), {"consent": "on"})
    assert done.status_code == 302
    assert acme().order(new_id, fresh=True).status == "Activated"


def _lines(order: Order) -> list[tuple[str | None, Decimal, str | None]]:
    return sorted(
        (line.price_book_entry_id or line.product_option_id, line.quantity, line.product_name)
        for line in order.all_lines()
    )


def test_it_answers_htmx_re_price_with_a_client_redirect(ada_client):
    draft = expired_draft()
    response = ada_client.post(
        reverse("orders:draft_reprice", args=[draft.id]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/orders/")


def test_it_re_prices_only_an_expired_draft(ada_client):
    valid = expired_draft(days=-3)  # priced for a start three days from now
    with journal.capture() as calls:
        response = ada_client.post(reverse("orders:draft_reprice", args=[valid.id]))
    assert response.status_code == 409
    assert orders_created(calls) == 0


def test_it_lets_no_viewer_re_price(ben_client):
    draft = expired_draft()
    with journal.capture() as calls:
        response = ben_client.post(reverse("orders:draft_reprice", args=[draft.id]))
    assert response.status_code == 403
    assert orders_created(calls) == 0


def test_it_refuses_an_approval_request_for_an_expired_draft(bob_client):
    draft = expired_draft()
    response = bob_client.post(
        reverse("orders:approval_request", args=[draft.id]), {"comment": "Budget"}
    )
    assert response.status_code in (403, 409)
    assert not ApprovalRequest.objects.exists()


@pytest.fixture
def expired_request(bob: User) -> ApprovalRequest:
    acct = account()
    acct.approval_threshold = Decimal(1)
    acct.save(update_fields=["approval_threshold"])
    draft = expired_draft()
    return approvals.request_approval(acct, draft, requester=bob, comment="Budget Q3")


def test_it_refuses_to_approve_an_expired_draft(maria_client, expired_request):
    page = maria_client.get(reverse("orders:review_request", args=[expired_request.pk]))
    text = page.content.decode()
    assert "which has passed" in text
    assert reverse("orders:review_reprice", args=[expired_request.pk]) in text
    assert reverse("orders:review_approve", args=[expired_request.pk]) not in text
    with journal.capture() as calls:
        response = maria_client.post(
            reverse("orders:review_approve", args=[expired_request.pk]), {"figures": "x" * 32}
        )
    assert response.status_code in (409, 422)
    assert activations(calls, expired_request.order_id) == 0
    expired_request.refresh_from_db()
    assert expired_request.is_pending


def test_it_refuses_an_expired_approval_even_with_the_right_figures(maria_client, expired_request):
    draft = acme().order(expired_request.order_id, fresh=True)
    from orders.forms.review import ApproveForm

    figures = ApproveForm(current=approvals.fingerprint_of(draft))["figures"].value()
    with journal.capture() as calls:
        response = maria_client.post(
            reverse("orders:review_approve", args=[expired_request.pk]), {"figures": figures}
        )
    assert response.status_code == 409
    assert "which has passed" in response.content.decode()
    assert activations(calls, expired_request.order_id) == 0


def test_it_moves_the_request_to_the_re_priced_draft(maria_client, expired_request, bob):
    response = maria_client.post(reverse("orders:review_reprice", args=[expired_request.pk]))
    assert response.status_code == 302
    expired_request.refresh_from_db()
    assert expired_request.state == ApprovalRequest.State.WITHDRAWN
    moved = ApprovalRequest.objects.get(state=ApprovalRequest.State.PENDING)
    assert response["Location"] == reverse("orders:review_request", args=[moved.pk])
    assert (moved.requested_by, moved.comment) == (bob, "Budget Q3")
    new = acme().order(moved.order_id, fresh=True)
    assert new.is_draft
    assert new.start_date == timezone.localdate()
    assert new.po_number == "PO-4711"
    assert moved.order_number in expired_request.decision_comment


def test_it_refuses_on_day_five_a_draft_priced_for_today(ada_client, ada, time_machine):
    """The issue's case: priced for a start today, "activate it by then", tried days later."""
    draft_id = create_draft(ada_client, line("la", PRO, quantity="2"))
    time_machine.move_to(timezone.now() + timedelta(days=5))
    later = signed_in(ada)  # the session of five days ago has ended
    with journal.capture() as calls:
        response = later.post(reverse("orders:draft_activate", args=[draft_id]), {"consent": "on"})
    assert response.status_code == 409
    assert "which has passed" in response.content.decode()
    assert activations(calls, draft_id) == 0
    assert acme().order(draft_id, fresh=True).is_draft


def test_it_refuses_an_expired_change_preview_and_offers_it_again(ada_client, ada, time_machine):
    sub = "SUB-00000001"
    details = reverse("orders:change_details", args=[sub, "quantity"])
    response = ada_client.post(details, {"quantity": "7", "when": "today"})
    order_id = response["Location"].rstrip("/").split("/")[-1]
    time_machine.move_to(timezone.now() + timedelta(days=2))
    later = signed_in(ada)
    preview = later.get(reverse("orders:change_preview", args=[sub, order_id])).content.decode()
    assert "which has passed" in preview
    assert "Re-price from today" in preview
    assert f'action="{details}"' in preview
    with journal.capture() as calls:
        refused = later.post(reverse("orders:change_confirm", args=[sub, order_id]))
    assert refused.status_code == 409
    assert activations(calls, order_id) == 0
    assert acme().subscription(sub).quantity == 5
