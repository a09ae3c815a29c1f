"""Activating a draft: consent, PO fields, policy by role and threshold, exactly once, audit."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from nue_emulator import faults, journal
from orders.models import Operation
from portal.models import AuditEvent, AuditKind, Role
from tests.conftest import signed_in

from .purchase_helpers import PRO, account, create_draft, line, member


def activate_url(order_id: str) -> str:
    return reverse("orders:draft_activate", args=[order_id])


def activations(calls: list[journal.Entry], order_id: str) -> int:
    return sum(1 for c in calls if c.method == "POST" and c.path.endswith(f"/orders/{order_id}"))


@pytest.fixture
def draft_id(ada_client) -> str:
    return create_draft(ada_client, line("la", PRO, quantity="2"))


def test_it_has_a_stable_route():
    assert reverse("orders:draft_activate", args=["x1"]) == "/orders/x1/activate/"


def test_it_requires_login(client, db):
    response = client.post(activate_url("b636440c-b3dd-4a92-9187-199f110d5b24"))
    assert response.status_code == 302


def test_it_rejects_get(ada_client, draft_id):
    assert ada_client.get(activate_url(draft_id)).status_code == 405


def test_it_reads_the_draft_once_from_the_documented_list(ada_client, draft_id):
    # The view, the one activation path and the ledger each need the draft: one read serves
    # them, the customer's drafts (nue-api.md §5.5), never GET /orders/{id}.
    with journal.capture() as calls:
        response = ada_client.post(activate_url(draft_id), {"consent": "on"})
    assert response.status_code == 302
    reads = [c for c in calls if c.route in ("orders", "order") and c.method == "GET"]
    assert [(c.route, c.status) for c in reads] == [("orders", 200)]
    assert "status=draft" in reads[0].query
    assert "includes=orderProducts" in reads[0].query
    assert activations(calls, draft_id) == 1


def test_it_shows_the_result_from_the_activated_orders(ada_client, draft_id):
    ada_client.post(activate_url(draft_id), {"consent": "on"})
    with journal.capture() as calls:
        page = ada_client.get(reverse("orders:activation_result", args=[draft_id]))
    assert page.status_code == 200
    (read,) = [c for c in calls if c.route in ("orders", "order")]
    assert (read.method, read.route) == ("GET", "orders")
    assert "includes=assets%2Cinvoices" in read.query


def test_it_activates_once_and_shows_what_it_created(ada_client, draft_id):
    data = {"consent": "on", "po_number": "PO-778", "po_date": "2026-11-20"}
    with journal.capture() as calls:
        response = ada_client.post(activate_url(draft_id), data)
        again = ada_client.post(activate_url(draft_id), data)
    result = reverse("orders:activation_result", args=[draft_id])
    assert response.status_code == 302
    assert response["Location"] == result
    assert again["Location"] == result
    assert activations(calls, draft_id) == 1
    page = ada_client.get(result).content.decode()
    assert "is active" in page
    assert "SUB-" in page
    assert "Pro Plan (US)" in page
    assert "PO-778" in page
    event = AuditEvent.objects.get(kind=AuditKind.ACTIVATION, details__order_id=draft_id)
    assert event.actor.email == "ada@acme.example"
    assert Operation.objects.filter(target=draft_id, state="succeeded").count() == 1


def test_it_needs_consent_before_any_call(ada_client, draft_id):
    with journal.capture() as calls:
        response = ada_client.post(activate_url(draft_id), {"po_number": "PO-1"})
    page = response.content.decode()
    assert response.status_code == 422
    assert "Confirm how the invoices of this order are paid" in page
    assert 'value="PO-1"' in page
    assert activations(calls, draft_id) == 0


def test_it_answers_htmx_with_a_client_redirect(ada_client, draft_id):
    response = ada_client.post(activate_url(draft_id), {"consent": "on"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("orders:activation_result", args=[draft_id])


def test_it_answers_htmx_form_errors_with_the_partial(ada_client, draft_id):
    response = ada_client.post(activate_url(draft_id), {}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 422
    assert page.lstrip().startswith('<section id="draft-actions"')


def test_it_keeps_the_po_when_nue_fails(ada_client, draft_id):
    data = {"consent": "on", "po_number": "PO-9"}
    with faults.inject("order", "POST", status=409, times=1):
        response = ada_client.post(activate_url(draft_id), data)
    assert response.status_code == 409
    assert 'value="PO-9"' in response.content.decode()


def test_it_hides_other_customers_drafts(grace_client, draft_id):
    response = grace_client.post(activate_url(draft_id), {"consent": "on"})
    assert response.status_code == 404


def test_it_refuses_viewers(ben_client, draft_id):
    with journal.capture() as calls:
        response = ben_client.post(activate_url(draft_id), {"consent": "on"})
    assert response.status_code == 403
    assert activations(calls, draft_id) == 0


def test_it_asks_a_buyer_above_the_threshold_for_an_admin(draft_id, db):
    acme = account()
    acme.approval_threshold = Decimal("10.00")
    acme.save()
    buyer = signed_in(member("bob@acme.example", Role.BUYER))
    page = buyer.get(reverse("orders:order_detail", args=[draft_id])).content.decode()
    assert "Approval needed" in page
    assert "Activate order" not in page
    with journal.capture() as calls:
        response = buyer.post(activate_url(draft_id), {"consent": "on"})
    assert response.status_code == 403
    assert activations(calls, draft_id) == 0


def test_it_lets_a_buyer_activate_under_the_threshold(draft_id, db):
    buyer = signed_in(member("bob@acme.example", Role.BUYER))
    page = buyer.get(reverse("orders:order_detail", args=[draft_id])).content.decode()
    assert "Activate order" in page
    response = buyer.post(activate_url(draft_id), {"consent": "on"})
    assert response.status_code == 302


def test_it_shows_the_result_only_for_an_activated_order(ada_client, draft_id):
    response = ada_client.get(reverse("orders:activation_result", args=[draft_id]))
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:order_detail", args=[draft_id])


@pytest.fixture
def as_ada(sam_client, ada):
    """Sam of support impersonating Ada, read-only."""
    url = reverse("support_impersonate", args=[ada.memberships.get().pk])
    assert sam_client.post(url, {"reason": "Ticket SUP-8"}).status_code == 302
    return sam_client


def test_it_refuses_a_read_only_impersonation(as_ada, draft_id):
    with journal.capture() as calls:
        response = as_ada.post(activate_url(draft_id), {"consent": "on"})
    assert response.status_code == 403
    assert "Refused: you are impersonating read-only" in response.content.decode()
    assert activations(calls, draft_id) == 0


def test_it_records_both_people_when_an_elevated_agent_activates(as_ada, draft_id, ada, sam):
    as_ada.post(reverse("support_elevate"), {"reason": "Customer asked, SUP-8"})
    assert as_ada.post(activate_url(draft_id), {"consent": "on"}).status_code == 302
    event = AuditEvent.objects.get(kind=AuditKind.ACTIVATION, details__order_id=draft_id)
    assert event.actor == sam
    assert event.on_behalf_of == ada
    op = Operation.objects.get(target=draft_id, state="succeeded")
    assert op.actor == sam
    assert op.on_behalf_of == ada


def test_a_second_tab_is_told_the_order_was_already_activated_and_with_which_po(
    ada_client, draft_id
):
    first = ada_client.post(activate_url(draft_id), {"consent": "on", "po_number": "PO-TAB-1"})
    assert first.status_code == 302
    second = ada_client.post(
        activate_url(draft_id), {"consent": "on", "po_number": "PO-TAB-2"}, follow=True
    )
    page = second.content.decode()
    assert "was already activated with PO number PO-TAB-1" in page
    assert "The PO number PO-TAB-2 you entered was not applied." in page


def test_a_buyers_limit_counts_what_they_activated_in_the_last_24_hours(ada_client, db):
    from orders.scope import for_customer

    first = create_draft(ada_client, line("la", PRO, quantity="2"))
    second = create_draft(ada_client, line("la", PRO, quantity="3"))
    scope = for_customer(account())
    totals = [scope.order(first).total, scope.order(second).total]
    acme = account()
    acme.approval_threshold = max(totals)  # each alone is within the limit, both are not
    acme.save()
    bob = signed_in(member("bob@acme.example", Role.BUYER))
    assert bob.post(activate_url(first), {"consent": "on"}).status_code == 302
    refused = bob.post(activate_url(second), {"consent": "on"})
    assert refused.status_code == 403
    assert "you activated in the last 24 hours" in refused.content.decode()
    page = bob.get(reverse("orders:order_detail", args=[second])).content.decode()
    assert "Request approval" in page

    # A day later the first activation no longer counts.
    Operation.objects.filter(target=first).update(created_at=timezone.now() - timedelta(hours=25))
    assert bob.post(activate_url(second), {"consent": "on"}).status_code == 302
