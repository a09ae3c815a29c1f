"""The account manager's review: book of business, a request's page, approve, decline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from orders.actions import approvals
from orders.models import ApprovalRequest, Operation
from orders.scope import CustomerNue
from portal.models import AuditEvent, AuditKind, User
from tests.conftest import signed_in
from tests.orders.approval_helpers import (
    GLOBEX,
    account,
    big_draft,
    drafts,
    lower_limit,
    make_buyer,
    pending_request,
)


@pytest.fixture
def bob(db) -> User:
    return make_buyer()


@pytest.fixture
def approval(bob) -> ApprovalRequest:
    lower_limit()
    return pending_request(bob)


@pytest.fixture
def globex_manager(db) -> Client:
    """An account manager with only Globex in the book."""
    user = User.objects.create_user("gus@nue.example", is_staff=True)
    account(GLOBEX).managers.add(user)
    return signed_in(user)


def _url(name: str, approval: ApprovalRequest) -> str:
    return reverse(f"orders:{name}", args=[approval.pk])


def _approve(client: Client, approval: ApprovalRequest, **headers: str):
    page = client.get(_url("review_request", approval))
    figures = page.context["approve_form"]["figures"].value()
    return client.post(_url("review_approve", approval), {"figures": figures}, headers=headers)


def test_it_shows_the_book_of_business(maria_client, approval):
    response = maria_client.get(reverse("orders:review"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Acme Corporation" in page
    assert "Globex GmbH" in page
    assert "ARR" in page
    assert "in 90 days" in page
    assert _url("review_request", approval) in page
    rows = {row.account.name: row for row in response.context["rows"]}
    assert rows["Acme Corporation"].drafts
    assert rows["Acme Corporation"].change_orders
    assert rows["Acme Corporation"].arr > 0
    assert rows["Acme Corporation"].pending == [approval]


def test_it_lists_pending_requests_oldest_first(maria_client, bob):
    lower_limit()
    first, second = drafts()[:2]
    older = pending_request(bob, first)
    newer = pending_request(bob, second)
    ApprovalRequest.objects.filter(pk=newer.pk).update(
        requested_at=older.requested_at.replace(year=2030)
    )

    response = maria_client.get(reverse("orders:review"))

    assert [p.pk for p in response.context["pending"]] == [older.pk, newer.pk]


def test_it_shows_the_review_link_to_managers_only(maria_client, ada_client):
    assert reverse("orders:review") in maria_client.get(reverse("home")).content.decode()
    assert reverse("orders:review") not in ada_client.get(reverse("home")).content.decode()


@pytest.mark.parametrize("persona", ["ada_client", "ben_client", "sam_client"])
def test_it_is_not_found_for_anyone_but_a_manager(request, persona, approval):
    client = request.getfixturevalue(persona)
    assert client.get(reverse("orders:review")).status_code == 404
    assert client.get(_url("review_request", approval)).status_code == 404
    assert client.post(_url("review_decline", approval), {"comment": "no"}).status_code == 404


def test_it_hides_requests_outside_the_managers_book(globex_manager, approval):
    assert globex_manager.get(_url("review_request", approval)).status_code == 404
    assert (
        globex_manager.post(_url("review_approve", approval), {"figures": "x"}).status_code == 404
    )
    assert (
        globex_manager.post(_url("review_decline", approval), {"comment": "no"}).status_code == 404
    )
    draft_url = reverse("orders:review_draft", args=[approval.customer_id, approval.order_id])
    assert globex_manager.get(draft_url).status_code == 404
    assert (
        approval.customer.name not in globex_manager.get(reverse("orders:review")).content.decode()
    )


def test_it_requires_sign_in(client, approval):
    response = client.get(_url("review_request", approval))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_it_shows_the_request_re_priced(maria_client, approval):
    response = maria_client.get(_url("review_request", approval))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Budget Q3" in page
    assert "the figures are the ones the customer saw" in page
    assert "Approve and activate" in page
    assert 'id="quote-link"' in page


def test_it_warns_when_the_figures_changed(maria_client, approval):
    figures = dict(approval.figures, grand_total="1.00")
    ApprovalRequest.objects.filter(pk=approval.pk).update(figures=figures)

    page = maria_client.get(_url("review_request", approval)).content.decode()

    assert "The figures changed since the request" in page
    assert "Total" in page


def test_it_approves_by_activating_through_the_ledger(
    maria, maria_client, approval, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _approve(maria_client, approval)

    assert response.status_code == 302
    approval.refresh_from_db()
    assert approval.state == ApprovalRequest.State.APPROVED
    assert approval.decided_by == maria
    assert approval.operation is not None
    assert approval.operation.state == Operation.State.SUCCEEDED
    assert approval.operation.actor == maria
    order = CustomerNue(approval.customer).order(approval.order_id, fresh=True)
    assert order.status == "Activated"
    assert not approvals.is_locked(approval.order_id)
    event = AuditEvent.objects.get(kind=AuditKind.APPROVAL)
    assert event.actor == maria
    assert event.customer == approval.customer
    assert event.details["order_id"] == approval.order_id
    assert [m.to for m in mail.outbox] == [["bob@acme.example"]]
    link = "http://testserver" + reverse("orders:order_detail", args=[approval.order_id])
    assert link in mail.outbox[0].body
    assert "approved" in mail.outbox[0].subject


def test_the_buyer_sees_it_approved(maria_client, approval, bob):
    _approve(maria_client, approval)
    page = (
        signed_in(bob)
        .get(reverse("orders:order_detail", args=[approval.order_id]))
        .content.decode()
    )
    assert "Approved" in page
    assert "Maria Manager" in page


def test_it_answers_htmx_approve_with_a_client_redirect(maria_client, approval):
    response = _approve(maria_client, approval, HX_Request="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == _url("review_request", approval)


def test_it_refuses_to_approve_figures_the_manager_did_not_see(maria_client, approval):
    response = maria_client.post(_url("review_approve", approval), {"figures": "stale"})

    assert response.status_code == 422
    assert b"changed while you were reviewing" in response.content
    approval.refresh_from_db()
    assert approval.is_pending


def test_it_approves_only_once(maria_client, approval):
    page = maria_client.get(_url("review_request", approval))
    figures = page.context["approve_form"]["figures"].value()
    maria_client.post(_url("review_approve", approval), {"figures": figures})

    again = maria_client.post(_url("review_approve", approval), {"figures": figures})

    assert again.status_code in (409, 422)
    assert Operation.objects.filter(target=approval.order_id, state="succeeded").count() == 1
    assert AuditEvent.objects.filter(kind=AuditKind.APPROVAL).count() == 1


def test_it_declines_with_a_comment(
    maria, maria_client, approval, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = maria_client.post(_url("review_decline", approval), {"comment": "Over budget"})

    assert response.status_code == 302
    approval.refresh_from_db()
    assert approval.state == ApprovalRequest.State.DECLINED
    assert approval.decision_comment == "Over budget"
    assert not approvals.is_locked(approval.order_id)
    event = AuditEvent.objects.get(kind=AuditKind.DECLINE)
    assert event.actor == maria
    assert event.details["comment"] == "Over budget"
    assert "Over budget" in mail.outbox[0].body
    assert "declined" in mail.outbox[0].subject
    order = CustomerNue(approval.customer).order(approval.order_id, fresh=True)
    assert order.is_draft


def test_it_requires_a_reason_to_decline(maria_client, approval):
    response = maria_client.post(
        _url("review_decline", approval), {"comment": ""}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    assert b'id="decision"' in response.content
    assert b"<html" not in response.content
    approval.refresh_from_db()
    assert approval.is_pending


def test_it_rejects_get_on_decisions(maria_client, approval):
    assert maria_client.get(_url("review_approve", approval)).status_code == 405
    assert maria_client.get(_url("review_decline", approval)).status_code == 405


def test_it_shows_a_draft_of_the_book(maria_client):
    order = big_draft()
    response = maria_client.get(reverse("orders:review_draft", args=[account().pk, order.id]))
    assert response.status_code == 200
    assert order.order_number in response.content.decode()
    assert b'id="quote-link"' in response.content


def test_it_hides_a_draft_of_another_customer_behind_a_book_customer(maria_client):
    globex_order = big_draft(GLOBEX)
    response = maria_client.get(
        reverse("orders:review_draft", args=[account().pk, globex_order.id])
    )
    assert response.status_code == 404


def test_it_keeps_the_decision_when_mail_fails(
    maria_client, approval, settings, caplog, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.orders.test_approvals.BrokenMail"
    with django_capture_on_commit_callbacks(execute=True):
        response = maria_client.post(_url("review_decline", approval), {"comment": "Not now"})

    assert response.status_code == 302
    approval.refresh_from_db()
    assert approval.state == ApprovalRequest.State.DECLINED
    assert "approval mail failed" in caplog.text


@pytest.mark.usefixtures("_no_faults")
def test_it_shows_the_rest_of_the_book_when_one_customers_read_fails(maria_client):
    from nue_emulator import faults

    with faults.inject("subscriptions", "GET", status=200, body="malformed", times=1):
        response = maria_client.get(reverse("orders:review"))

    assert response.status_code == 200
    failed = [row for row in response.context["rows"] if row.error]
    assert len(failed) == 1
    assert failed[0].reference in response.content.decode()
    assert len(response.context["rows"]) == 2


def test_an_approved_order_keeps_the_buyers_po_and_consent(bob, maria_client):
    lower_limit()
    order = big_draft()
    bob_client = signed_in(bob)
    asked = {"comment": "Q3", "po_number": "PO-APPROVE-7", "po_date": "2026-12-01"}
    refused = bob_client.post(reverse("orders:approval_request", args=[order.id]), asked)
    assert refused.status_code == 422  # no consent, no request
    assert not ApprovalRequest.objects.filter(order_id=order.id).exists()
    bob_client.post(reverse("orders:approval_request", args=[order.id]), {**asked, "consent": "on"})
    approval = ApprovalRequest.objects.get(order_id=order.id)
    assert approval.consented_at is not None
    assert _approve(maria_client, approval).status_code == 302
    activated = CustomerNue(account()).order(order.id, fresh=True)
    assert activated.status == "Activated"
    assert activated.po_number == "PO-APPROVE-7"
    event = AuditEvent.objects.get(kind=AuditKind.ACTIVATION, details__order_id=order.id)
    assert event.details["po_number"] == "PO-APPROVE-7"
    assert event.details["consented_at"]


def test_a_request_just_made_reads_just_now(maria_client, approval):
    page = maria_client.get(reverse("orders:review")).content.decode()
    assert "just now" in page
    assert "0\xa0minutes ago" not in page


def test_an_older_request_reads_how_long_it_waited(maria_client, approval):
    earlier = timezone.now() - timedelta(hours=3)
    ApprovalRequest.objects.filter(pk=approval.pk).update(requested_at=earlier)
    page = maria_client.get(reverse("orders:review")).content.decode()
    assert "3\xa0hours ago" in page
    assert "just now" not in page


def test_an_admin_of_the_account_approves_a_buyers_request(bob, ada_client):
    lower_limit()
    order = big_draft()
    signed_in(bob).post(
        reverse("orders:approval_request", args=[order.id]),
        {"comment": "Q3", "po_number": "PO-ADMIN-1", "consent": "on"},
    )
    page = ada_client.get(reverse("orders:order_detail", args=[order.id]))
    assert "Approve and activate" in page.content.decode()
    form_html = page.content.decode()
    marker = 'name="figures" value="'
    seen = form_html[form_html.index(marker) + len(marker) :].split('"', 1)[0]
    response = ada_client.post(
        reverse("orders:approval_approve", args=[order.id]), {"figures": seen}
    )
    assert response.status_code == 302
    approval = ApprovalRequest.objects.get(order_id=order.id)
    assert approval.state == ApprovalRequest.State.APPROVED
    assert approval.decided_by.email == "ada@acme.example"
    activated = CustomerNue(account()).order(order.id, fresh=True)
    assert (activated.status, activated.po_number) == ("Activated", "PO-ADMIN-1")


def test_a_buyer_may_not_approve_their_own_request(bob):
    lower_limit()
    order = big_draft()
    client = signed_in(bob)
    client.post(
        reverse("orders:approval_request", args=[order.id]), {"comment": "", "consent": "on"}
    )
    page = client.get(reverse("orders:order_detail", args=[order.id])).content.decode()
    assert "Approve and activate" not in page
    response = client.post(reverse("orders:approval_approve", args=[order.id]), {"figures": "x"})
    assert response.status_code == 403
    assert ApprovalRequest.objects.get(order_id=order.id).is_pending


def test_each_customer_of_the_book_links_to_its_drafts_and_renewals(maria_client, maria):
    page = maria_client.get(reverse("orders:review")).content.decode()
    for customer in maria.book.all():
        focused = f"{reverse('orders:review')}?customer={customer.pk}"
        assert f'href="{focused}#drafts-{customer.pk}"' in page
        assert f'href="{focused}#renewals-{customer.pk}"' in page


def test_it_shows_one_customer_s_drafts_and_renewals(maria_client, approval):
    acme = account("Acme Corporation")
    globex_buyer = make_buyer("gil@globex.example", GLOBEX)
    globex_request = pending_request(globex_buyer, big_draft(GLOBEX), name=GLOBEX)
    response = maria_client.get(reverse("orders:review"), {"customer": acme.pk})
    assert response.status_code == 200
    (row,) = response.context["rows"]
    assert row.account == acme
    assert response.context["pending"] == [approval]  # not Globex's
    assert _url("review_request", globex_request) not in response.content.decode()
    # Every active subscription ending within 90 days is listed, soonest first, as counted.
    assert row.renewing
    assert len(row.renewing) == row.renewals[90]
    ends = [sub.end_date for sub in row.renewing]
    assert ends == sorted(ends)
    page = response.content.decode()
    assert f'id="drafts-{acme.pk}"' in page
    assert f'id="renewals-{acme.pk}"' in page
    for sub in row.renewing:
        assert sub.name in page
    for draft in row.drafts:
        assert reverse("orders:review_draft", args=[acme.pk, draft.id]) in page


@pytest.mark.parametrize("customer", ["abc", "0", "-1"])
def test_it_finds_no_customer_by_a_malformed_filter(maria_client, customer):
    assert maria_client.get(reverse("orders:review"), {"customer": customer}).status_code == 404


def test_it_finds_no_customer_outside_the_book(globex_manager):
    acme = account("Acme Corporation")
    response = globex_manager.get(reverse("orders:review"), {"customer": acme.pk})
    assert response.status_code == 404
    globex = account(GLOBEX)
    assert globex_manager.get(reverse("orders:review"), {"customer": globex.pk}).status_code == 200
