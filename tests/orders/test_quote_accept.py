"""Quotes that close (issue 26, item 2): the recipient of a quote link, not signed in, reads the
quote and accepts it. The acceptance activates the draft once, with the link maker's authority,
or becomes an approval request; a stale, revoked, superseded or expired quote is refused and
says why; every acceptance is audited and confirmed by email."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from nue_emulator import journal
from nue_emulator.models import Order as EmuOrder
from orders.actions import quotes
from orders.models import ApprovalRequest, Operation, QuoteAcceptance, QuoteLink
from orders.scope import CustomerNue
from orders.templatetags.money import money
from portal.models import AuditEvent, AuditKind, Membership, User
from tests import demo
from tests.conftest import signed_in
from tests.orders.approval_helpers import (
    account,
    big_draft,
    lower_limit,
    make_buyer,
    pending_request,
)
from tests.orders.quote_helpers import (
    ACCEPTOR,
    accept,
    accept_url,
    activation_posts,
    made_by_manager,
    made_by_member,
    page_url,
    pdf_url,
)
from tests.outbox import deliver

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob(db) -> User:
    return make_buyer()


def _emulated(order_id: str) -> EmuOrder:
    return EmuOrder.objects.get(pk=order_id)


def test_it_shows_the_quote_to_anyone_with_the_link(maria):
    order = big_draft()
    link = made_by_manager(maria, order)

    response = Client().get(page_url(link))

    assert response.status_code == 200
    page = response.content.decode()
    assert f"Quote {order.order_number}" in page
    assert money(order.total, order.currency) in page  # "$4,790.00": with its thousands separator
    assert "," in money(order.total, order.currency)
    assert "By accepting this quote you confirm" in page  # PORTAL_QUOTE_TERMS
    for label in ("Your name", "Your job title", "Your email", "PO number"):
        assert label in page
    assert "Accept and place the order" in page
    assert "no-store" in response["Cache-Control"]
    link.refresh_from_db()
    assert link.view_count == 1
    assert link.first_viewed_at is not None
    assert link.first_viewed_at == link.last_viewed_at


def test_it_counts_first_and_last_views_but_not_the_makers_own(maria, maria_client):
    link = made_by_manager(maria)
    assert maria_client.get(page_url(link)).status_code == 200
    link.refresh_from_db()
    assert link.view_count == 0
    Client().get(page_url(link))
    link.refresh_from_db()
    first = link.first_viewed_at
    Client().get(page_url(link))
    link.refresh_from_db()
    assert link.view_count == 2
    assert link.first_viewed_at == first
    assert link.last_viewed_at >= first


def test_it_is_not_found_for_an_unknown_token(db):
    with journal.capture() as calls:
        response = Client().get("/quote/not-a-real-token-at-all/")
    assert response.status_code == 404
    assert calls == []


def test_it_activates_the_draft_once_with_the_managers_link(maria):
    order = big_draft()
    link = made_by_manager(maria, order)

    with journal.capture() as calls:
        response = accept(link)

    assert response.status_code == 302
    assert response["Location"] == page_url(link)
    assert len(activation_posts(calls, order.id)) == 1
    emulated = _emulated(order.id)
    assert emulated.status == "Activated"
    assert emulated.doc["poNumber"] == "PO-4711"
    acceptance = QuoteAcceptance.objects.get(link=link)
    assert acceptance.state == QuoteAcceptance.State.ACTIVATED
    assert (acceptance.name, acceptance.title) == ("Jane Doe", "Chief Financial Officer")
    assert acceptance.terms.startswith("By accepting this quote")
    op = Operation.objects.get(target=order.id, kind=Operation.Kind.ACTIVATE)
    assert op.state == Operation.State.SUCCEEDED
    assert acceptance.operation == op
    # Whose authority it carried: the link's maker is the ledger's actor.
    assert op.actor == maria
    page = Client().get(page_url(link)).content.decode()
    assert "Accepted: the order is placed" in page
    assert "PO-4711" in page
    assert "Accept and place the order" not in page


def test_it_audits_every_acceptance_with_the_acceptors_details(maria):
    order = big_draft()
    link = made_by_manager(maria, order)
    accept(link)

    event = AuditEvent.objects.get(kind=AuditKind.ACTION, details__action="quote_accepted")
    assert event.customer == account()
    assert event.details["accepted_by"] == "Jane Doe"
    assert event.details["title"] == "Chief Financial Officer"
    assert event.details["po_number"] == "PO-4711"
    assert event.details["authority"] == demo.MARIA
    activation = AuditEvent.objects.get(kind=AuditKind.ACTIVATION)
    assert activation.details["order_id"] == order.id
    assert activation.details["accepted_by"] == "Jane Doe"
    assert activation.details["po_number"] == "PO-4711"
    # The token is the credential: no audit event keeps it.
    for e in AuditEvent.objects.all():
        assert link.token not in e.path
        assert link.token not in str(e.details)


def test_it_confirms_the_acceptance_by_email(maria):
    link = made_by_manager(maria)
    mail.outbox.clear()

    accept(link)

    to_acceptor = [m for m in mail.outbox if m.to == ["jane.doe@acme.example"]]
    assert len(to_acceptor) == 1
    assert "quote accepted" in to_acceptor[0].subject
    assert "The order is placed." in to_acceptor[0].body
    assert "PO-4711" in to_acceptor[0].body
    notice = [m for m in mail.outbox if demo.MARIA in m.to]
    assert len(notice) == 1
    assert "Jane Doe, Chief Financial Officer" in notice[0].body


def test_a_second_submit_activates_nothing_more(maria):
    order = big_draft()
    link = made_by_manager(maria, order)
    accept(link)

    with journal.capture() as calls:
        again = accept(link, name="Someone Else", po_number="PO-9999")

    assert again.status_code == 302
    assert activation_posts(calls, order.id) == []
    assert [c for c in calls if c.wrote] == []
    acceptance = QuoteAcceptance.objects.get(link=link)
    assert acceptance.name == "Jane Doe"
    assert AuditEvent.objects.filter(details__action="quote_accepted").count() == 1
    assert Operation.objects.filter(target=order.id).count() == 1


def test_it_refuses_a_quote_whose_price_changed_and_says_why(maria):
    order = big_draft()
    link = made_by_manager(maria, order)
    QuoteLink.objects.filter(pk=link.pk).update(figures=dict(link.figures, grand_total="1.00"))

    page = Client().get(page_url(link))
    with journal.capture() as calls:
        response = accept(link)

    for answer in (page, response):
        body = answer.content.decode()
        assert "This quote can no longer be accepted" in body
        assert "The order changed since this quote was made (total)" in body
        assert "Accept and place the order" not in body
    assert response.status_code == 409
    assert [c for c in calls if c.wrote] == []
    assert not QuoteAcceptance.objects.exists()
    assert _emulated(order.id).status == "Draft"


def test_it_refuses_a_quote_whose_subscription_changed_since(ada_client):
    """A change order quoted, then the subscription changed by another order: the quote would
    apply its change on top of that one."""
    from tests.orders.test_change_wizard import confirm, preview

    quoted = preview(ada_client, demo.PRO, "quantity", {"quantity": 7, "when": "today"})
    scope = CustomerNue(account())
    link = made_by_member(ada_client, scope.order(quoted))
    assert link.versions == {demo.PRO: {"version": 2, "quantity": "5"}}
    other = preview(ada_client, demo.PRO, "quantity", {"quantity": 9, "when": "today"})
    assert confirm(ada_client, demo.PRO, other).status_code == 302

    with journal.capture() as calls:
        response = accept(link)

    assert response.status_code == 409
    body = response.content.decode()
    assert f"Subscription {demo.PRO} changed since this quote was made" in body
    assert [c for c in calls if c.wrote] == []
    assert CustomerNue(account()).subscription(demo.PRO).quantity == 9


def test_a_quoted_change_order_is_applied_once(ada_client):
    from tests.orders.test_change_wizard import preview

    quoted = preview(ada_client, demo.PRO, "quantity", {"quantity": 7, "when": "today"})
    link = made_by_member(ada_client, CustomerNue(account()).order(quoted))

    with journal.capture() as calls:
        assert accept(link).status_code == 302
        assert accept(link).status_code == 302

    assert len(activation_posts(calls, quoted)) == 1
    assert CustomerNue(account()).subscription(demo.PRO).quantity == 7
    assert AuditEvent.objects.get(kind=AuditKind.CHANGE_ORDER).details["accepted_by"] == "Jane Doe"


def test_it_refuses_a_draft_priced_for_a_start_that_has_passed(maria, time_machine):
    order = big_draft()
    link = made_by_manager(maria, order)
    time_machine.move_to(order.start_date + timedelta(days=3))
    QuoteLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() + timedelta(days=30))

    with journal.capture() as calls:
        response = accept(link)

    assert response.status_code == 409
    assert "which has passed" in response.content.decode()
    assert [c for c in calls if c.wrote] == []


def test_it_says_a_revoked_link_was_withdrawn(maria, maria_client):
    order = big_draft()
    link = made_by_manager(maria, order)
    revoked = maria_client.post(f"/review/quotes/{link.pk}/revoke/")
    assert revoked.status_code == 302

    with journal.capture() as calls:
        page = Client().get(page_url(link))
        posted = accept(link)
        pdf = Client().get(pdf_url(link))

    for response in (page, posted, pdf):
        assert response.status_code == 410
        assert "This quote was withdrawn" in response.content.decode()
    assert calls == []
    assert not QuoteAcceptance.objects.exists()
    event = AuditEvent.objects.get(details__action="quote_link_revoked")
    assert event.actor == maria


def test_it_says_a_superseded_link_was_replaced(maria):
    order = big_draft()
    old = made_by_manager(maria, order)
    new = made_by_manager(maria, order)
    assert new.pk != old.pk

    response = accept(old)

    assert response.status_code == 410
    assert "This quote was replaced" in response.content.decode()
    assert Client().get(page_url(new)).status_code == 200
    assert _emulated(order.id).status == "Draft"


def test_it_says_an_expired_link_has_expired(maria):
    link = made_by_manager(maria)
    QuoteLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    response = Client().get(page_url(link))

    assert response.status_code == 410
    assert "This quote has expired" in response.content.decode()


def test_a_buyers_link_above_the_limit_becomes_an_approval_request(
    bob, maria, maria_client, django_capture_on_commit_callbacks
):
    lower_limit()
    order = big_draft()
    link = made_by_member(signed_in(bob), order)
    mail.outbox.clear()

    with journal.capture() as calls, django_capture_on_commit_callbacks(execute=True):
        response = accept(link)

    assert response.status_code == 302
    assert activation_posts(calls, order.id) == []
    approval = ApprovalRequest.objects.get(order_id=order.id)
    assert approval.is_pending
    assert approval.requested_by == bob
    assert approval.po_number == "PO-4711"
    assert "Jane Doe, Chief Financial Officer" in approval.comment
    acceptance = QuoteAcceptance.objects.get(link=link)
    assert acceptance.state == QuoteAcceptance.State.AWAITING_APPROVAL
    assert acceptance.approval == approval
    page = Client().get(page_url(link)).content.decode()
    assert "Accepted: awaiting approval" in page
    # The account manager is asked, and the acceptor told it awaits approval.
    deliver()
    assert any(demo.MARIA in m.to and "Approval requested" in m.subject for m in mail.outbox)
    assert any(m.to == ["jane.doe@acme.example"] for m in mail.outbox)

    # Maria approves it: the draft activates with the acceptor's PO.
    request_page = maria_client.get(f"/review/requests/{approval.pk}/")
    figures = request_page.context["approve_form"]["figures"].value()
    approved = maria_client.post(f"/review/requests/{approval.pk}/approve/", {"figures": figures})
    assert approved.status_code == 302
    emulated = _emulated(order.id)
    assert emulated.status == "Activated"
    assert emulated.doc["poNumber"] == "PO-4711"
    assert "Accepted: the order is placed" in Client().get(page_url(link)).content.decode()
    review = maria_client.get("/review/").content.decode()
    row = review.split(f'id="quote-row-{link.pk}"', 1)[1].split("</tr>", 1)[0]
    assert ">Accepted<" in row


def test_a_declined_approval_says_nothing_was_ordered(bob, maria, maria_client):
    lower_limit()
    order = big_draft()
    link = made_by_member(signed_in(bob), order)
    accept(link)
    approval = ApprovalRequest.objects.get(order_id=order.id)

    declined = maria_client.post(
        f"/review/requests/{approval.pk}/decline/", {"comment": "Not this quarter"}
    )

    assert declined.status_code == 302
    page = Client().get(page_url(link)).content.decode()
    assert "Accepted, but the approval was declined" in page
    assert "nothing was ordered" in page
    review = maria_client.get("/review/").content.decode()
    assert "Accepted, approval declined" in review
    assert _emulated(order.id).status == "Draft"


def test_a_buyers_link_within_the_limit_activates(bob):
    order = big_draft()  # Acme's default limit is above its drafts
    link = made_by_member(signed_in(bob), order)

    assert accept(link).status_code == 302

    assert _emulated(order.id).status == "Activated"
    op = Operation.objects.get(target=order.id)
    # It counts against Bob's own limit for the next 24 hours.
    assert op.actor == bob


def test_it_refuses_a_link_whose_maker_may_no_longer_order(bob):
    order = big_draft()
    link = made_by_member(signed_in(bob), order)
    Membership.objects.filter(user=bob).delete()

    page = Client().get(page_url(link))
    with journal.capture() as calls:
        response = accept(link)

    assert page.status_code == 200
    assert response.status_code == 403
    for answer in (page, response):
        body = answer.content.decode()
        assert "This quote cannot be accepted online" in body
        assert "bob@acme.example" in body
        assert "Accept and place the order" not in body
    assert [c for c in calls if c.wrote] == []
    assert not QuoteAcceptance.objects.exists()


def test_it_refuses_a_quote_whose_draft_awaits_an_approval_decision(bob, maria):
    order = big_draft()
    link = made_by_manager(maria, order)
    pending_request(bob, order)

    page = Client().get(page_url(link))
    with journal.capture() as calls:
        response = accept(link)

    assert page.status_code == 200
    body = page.content.decode()
    assert "This order awaits an approval decision: it cannot be accepted until then." in body
    assert "Accept and place the order" not in body
    assert response.status_code == 403
    body = response.content.decode()
    assert "This order already awaits an approval decision" in body
    assert demo.MARIA in body
    assert "Accept and place the order" not in body
    assert [c for c in calls if c.wrote] == []
    assert not QuoteAcceptance.objects.exists()


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("name", "Enter your name."),
        ("title", "Enter your job title."),
        ("email", "Enter your email address."),
        ("agree", "Agree to the terms to accept the quote."),
    ],
)
def test_it_says_what_is_missing_and_keeps_what_was_typed(maria, missing, message):
    order = big_draft()
    link = made_by_manager(maria, order)
    body = {k: v for k, v in ACCEPTOR.items() if k != missing}

    with journal.capture() as calls:
        response = Client().post(accept_url(link), body)

    assert response.status_code == 422
    page = response.content.decode()
    assert message in page
    assert "PO-4711" in page  # what was typed is still there
    assert [c for c in calls if c.wrote] == []
    assert not QuoteAcceptance.objects.exists()


def test_it_accepts_without_a_po_number(maria):
    order = big_draft()
    link = made_by_manager(maria, order)
    assert accept(link, po_number="").status_code == 302
    assert _emulated(order.id).status == "Activated"


def test_it_rejects_get_on_the_accept_route(maria):
    link = made_by_manager(maria)
    assert Client().get(accept_url(link)).status_code == 405


def test_it_never_logs_the_token(maria, caplog):
    order = big_draft()
    link = made_by_manager(maria, order)
    QuoteLink.objects.filter(pk=link.pk).update(figures=dict(link.figures, grand_total="1.00"))
    with caplog.at_level(logging.DEBUG):
        assert accept(link).status_code == 409
        Client().post(accept_url(link), {})
        quotes.revoke(link, by=maria)
        assert Client().get(page_url(link)).status_code == 410
    assert link.token not in caplog.text


def test_the_review_page_shows_each_quotes_state(maria, maria_client):
    order = big_draft()
    link = made_by_manager(maria, order)

    def state() -> str:
        page = maria_client.get("/review/").content.decode()
        row = page.split(f'id="quote-row-{link.pk}"', 1)[1].split("</tr>", 1)[0]
        return row

    assert "Sent" in state()
    Client().get(page_url(link))
    row = state()
    assert "Viewed" in row
    assert "first" in row
    assert "last" in row
    accept(link)
    row = state()
    assert "Accepted" in row
    assert "Jane Doe" in row
    assert "PO-4711" in row


def test_the_review_page_shows_revoked_and_expired_quotes(maria, maria_client):
    first, second = (made_by_manager(maria, o) for o in _two_drafts())
    quotes.revoke(first, by=maria)
    QuoteLink.objects.filter(pk=second.pk).update(expires_at=timezone.now() - timedelta(days=1))

    page = maria_client.get("/review/").content.decode()

    assert "Revoked" in page.split(f'id="quote-row-{first.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "Expired" in page.split(f'id="quote-row-{second.pk}"', 1)[1].split("</tr>", 1)[0]


def _two_drafts():
    from tests.orders.approval_helpers import drafts

    return drafts(count=2)


def test_the_manager_sends_the_link_by_email(maria, maria_client):
    link = made_by_manager(maria)
    mail.outbox.clear()

    response = maria_client.post(
        f"/review/quotes/{link.pk}/send/", {"email": "buyer@acme.example", "note": "As discussed."}
    )

    assert response.status_code == 302
    (sent,) = mail.outbox
    assert sent.to == ["buyer@acme.example"]
    assert f"/quote/{link.token}/" in sent.body
    assert "As discussed." in sent.body
    link.refresh_from_db()
    assert link.sent_to == "buyer@acme.example"
    assert link.sent_at is not None
    event = AuditEvent.objects.get(details__action="quote_link_sent")
    assert event.details["sent_to"] == "buyer@acme.example"
    assert link.token not in str(event.details) + event.path
    draft_page = maria_client.get(response["Location"]).content.decode()
    assert "to buyer@acme.example" in draft_page


def test_the_manager_is_told_what_is_wrong_with_the_address(maria, maria_client):
    link = made_by_manager(maria)
    mail.outbox.clear()
    response = maria_client.post(f"/review/quotes/{link.pk}/send/", {"email": "not an address"})
    assert response.status_code == 422
    assert "Enter an email address such as name@example.com." in response.content.decode()
    partial = maria_client.post(
        f"/review/quotes/{link.pk}/send/", {"email": ""}, headers={"HX-Request": "true"}
    )
    assert partial.status_code == 422
    assert "<html" not in partial.content.decode()
    assert mail.outbox == []


def test_a_member_cannot_send_or_revoke_the_managers_link(maria, ada_client):
    link = made_by_manager(maria)
    assert ada_client.post(f"/review/quotes/{link.pk}/revoke/").status_code == 404
    assert (
        ada_client.post(f"/review/quotes/{link.pk}/send/", {"email": "x@y.example"}).status_code
        == 404
    )
    link.refresh_from_db()
    assert link.revoked_at is None
    assert link.sent_to == ""


def test_the_draft_page_shows_the_link_and_its_state(maria, maria_client):
    order = big_draft()
    link = made_by_manager(maria, order)
    Client().get(page_url(link))
    page = maria_client.get(f"/review/customers/{account().pk}/orders/{order.id}/").content.decode()
    assert f"/quote/{link.token}/" in page
    assert 'id="quote-link-state"' in page
    assert "Viewed" in page
    assert "Send the quote" in page
    assert "Revoke the link" in page


def test_a_lost_answer_is_settled_from_nue_and_never_sent_again(maria, settings):
    """Nue activated the draft and its answer was lost: the acceptance is settled by reading
    Nue (the ledger), and a second submit sends nothing."""
    import httpx
    from django.utils.module_loading import import_string

    from tests.conftest import installed_client
    from tests.reliability.test_lost_answers import LosingTransport

    order = big_draft()
    link = made_by_manager(maria, order)
    transport = LosingTransport(
        httpx.WSGITransport(app=import_string(settings.NUE_EMULATOR_WSGI_APP))
    )
    transport.lose = "reset"
    with installed_client(transport, sleep=lambda seconds: None), journal.capture() as calls:
        first = accept(link)
        again = accept(link)

    assert first.status_code == 302
    assert again.status_code == 302
    assert len(activation_posts(calls, order.id)) == 1
    acceptance = QuoteAcceptance.objects.get(link=link)
    assert acceptance.state == QuoteAcceptance.State.ACTIVATED
    assert acceptance.operation.state == Operation.State.SUCCEEDED
    assert _emulated(order.id).status == "Activated"


def test_an_unknown_outcome_is_confirmed_later_and_never_sent_again(maria, settings, time_machine):
    """The activation left and no answer came (Nue never applied it): the page says it is being
    confirmed, a second submit sends nothing, and once Nue has had time to show it and does
    not, the quote may be accepted again."""
    import httpx
    from django.utils.module_loading import import_string

    from tests.conftest import installed_client

    app = import_string(settings.NUE_EMULATOR_WSGI_APP)
    inner = httpx.WSGITransport(app=app)

    class Unanswered(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.method == "POST" and "/orders/" in request.url.path:
                raise httpx.ReadTimeout("timed out", request=request)
            return inner.handle_request(request)

    order = big_draft()
    link = made_by_manager(maria, order)
    with installed_client(Unanswered(), sleep=lambda seconds: None):
        first = accept(link)
        with journal.capture() as calls:
            again = accept(link)
        page = Client().get(page_url(link)).content.decode()

    assert first.status_code == again.status_code == 302
    assert [c for c in calls if c.wrote] == []
    assert "Your acceptance is being confirmed" in page
    assert QuoteAcceptance.objects.get(link=link).state == QuoteAcceptance.State.ACCEPTING

    time_machine.move_to(
        timezone.now() + timedelta(seconds=settings.NUE_SETTLES_WITHIN_SECONDS + 60)
    )
    page = Client().get(page_url(link)).content.decode()

    assert not QuoteAcceptance.objects.filter(link=link).exists()
    assert "Accept and place the order" in page
    assert _emulated(order.id).status == "Draft"
