"""The support workspace: /support/lookup/, /support/operations/ (with "Check Nue now") and a
customer's timeline; each for support agents only, within the customers their support reaches,
and audited."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from nue_emulator import journal
from orders.models import ApprovalRequest, Operation, RequestFailure
from orders.scope import CustomerNue
from portal.models import AuditEvent, AuditKind, CustomerAccount, User
from tests.conftest import signed_in
from tests.orders.purchase_helpers import PRO, create_draft, line
from tests.orders.support_helpers import force_failure, shown_reference

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
LOOKUP = "/support/lookup/"
OPERATIONS = "/support/operations/"


@pytest.fixture
def acme(ada) -> CustomerAccount:
    return ada.memberships.get().account


@pytest.fixture
def globex(grace) -> CustomerAccount:
    return grace.memberships.get().account


@pytest.fixture
def globex_agent(db, globex) -> User:
    """A support agent who is also an account manager: their support reaches their book."""
    agent = User.objects.create_user("gina@nue.example", is_staff=True)
    agent.user_permissions.add(Permission.objects.get(codename="impersonate"))
    globex.managers.add(agent)
    return User.objects.get(pk=agent.pk)


def lookup(client, reference: str, **headers):
    return client.get(LOOKUP, {"reference": reference}, headers=headers)


def audited(agent: User, page: str) -> AuditEvent:
    return AuditEvent.objects.filter(
        actor=agent, kind=AuditKind.PAGE_VIEWED, details__page=page
    ).latest("created_at")


# /support/lookup/


def test_it_shows_sam_the_failure_behind_a_reference(ada_client, sam_client, sam, acme):
    reference = force_failure(ada_client)
    response = lookup(sam_client, reference)
    assert response.status_code == 200
    page = response.text
    assert "ada@acme.example" in page
    assert acme.name in page
    assert "GET /orders/" in page  # the portal page
    assert '<span class="mono" data-nue-call>GET /orders</span>' in page  # the Nue call
    assert f'<dd class="mono" data-nue-request-id>{reference}</dd>' in page
    assert "Our billing system answered with an error" in page  # what Ada read
    assert "NueProtocolError" in page
    assert "No operation of the ledger" in page
    event = audited(sam, "support_lookup")
    assert event.customer == acme
    assert event.details["reference"] == reference
    assert event.details["found"] is True


def test_it_takes_the_reference_as_the_customer_reads_it_out(ada_client, sam_client):
    reference = force_failure(ada_client)
    response = lookup(sam_client, f"  Reference: {reference.upper()}.")
    assert response.status_code == 200
    assert "data-nue-request-id" in response.text


def test_it_answers_htmx_with_the_result_alone(ada_client, sam_client):
    reference = force_failure(ada_client)
    response = lookup(sam_client, reference, **HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'id="lookup"' in response.text
    assert 'id="lookup-result"' in response.text
    assert reference in response.text


def test_it_says_an_unknown_reference_is_not_found(sam_client, sam):
    response = lookup(sam_client, "0123456789ab")
    assert response.status_code == 404
    assert "Reference 0123456789ab not found" in response.text
    assert audited(sam, "support_lookup").details["found"] is False


def test_it_refuses_what_is_not_a_reference(sam_client):
    for headers in ({}, HTMX):
        response = lookup(sam_client, "<script>", **headers)
        assert response.status_code == 422
        assert "A reference is 4 to 32 letters" in response.text
        assert 'value="&lt;script&gt;"' in response.text


def test_it_hides_a_failure_outside_the_agents_book_as_unknown(ada_client, globex_agent):
    reference = force_failure(ada_client)
    outside = lookup(signed_in(globex_agent), reference)
    unknown = lookup(signed_in(globex_agent), "0123456789ab")
    assert outside.status_code == unknown.status_code == 404
    assert f"Reference {reference} not found" in outside.text
    assert "ada@acme.example" not in outside.text
    assert "GET /orders" not in outside.text


def test_it_shows_a_failure_in_the_agents_book(grace_client, globex_agent):
    reference = force_failure(grace_client)
    response = lookup(signed_in(globex_agent), reference)
    assert response.status_code == 200
    assert "grace@globex.example" in response.text


def test_it_keeps_failures_without_a_customer_for_superusers(sam_client, superuser):
    RequestFailure.objects.create(
        reference="00aa00aa00aa", error_kind="NueUnavailable", status=503, title="Down"
    )
    assert lookup(sam_client, "00aa00aa00aa").status_code == 404
    assert lookup(signed_in(superuser), "00aa00aa00aa").status_code == 200


@pytest.mark.parametrize("persona", ["ada_client", "maria_client"])
def test_it_does_not_exist_for_customers_or_account_managers(persona, request, ada_client):
    reference = force_failure(ada_client)
    client = request.getfixturevalue(persona)
    assert lookup(client, reference).status_code == 404
    assert client.get(OPERATIONS).status_code == 404


def test_it_rejects_post(sam_client):
    assert sam_client.post(LOOKUP).status_code == 405


def test_it_shows_the_ledger_row_a_failure_happened_in(losing, ada_client, sam_client):
    order_id = create_draft(ada_client, line("la", PRO, quantity="2"))
    losing.lose = "reset"
    response = ada_client.post(f"/orders/{order_id}/activate/", {"consent": "on"})
    reference = shown_reference(response.text)
    operation = Operation.objects.get(target=order_id, kind=Operation.Kind.ACTIVATE)
    page = lookup(sam_client, reference).text
    assert f"#{operation.pk} · Activate order" in page
    assert operation.payload_hash in page  # the request's fingerprint
    assert "Unknown" in page
    assert "Nue may have done it" in page
    assert f"POST /orders/{order_id}" in page


# /support/operations/ and "Check Nue now"


@pytest.fixture
def unknown_activation(losing, ada_client) -> Operation:
    """An activation Nue applied whose answer was lost: the ledger row is unknown."""
    order_id = create_draft(ada_client, line("la", PRO, quantity="2"))
    losing.lose = "reset"
    with journal.capture() as calls:
        ada_client.post(f"/orders/{order_id}/activate/", {"consent": "on"})
    assert len([c for c in calls if c.method == "POST" and c.path.endswith(order_id)]) == 1
    operation = Operation.objects.get(target=order_id, kind=Operation.Kind.ACTIVATE)
    assert operation.state == Operation.State.UNKNOWN
    return operation


def test_it_lists_open_and_failed_operations(unknown_activation, sam_client, sam, acme):
    failed = Operation.objects.create(
        kind=Operation.Kind.CHANGE,
        target="SUB-FAILED",
        customer=acme,
        actor=sam,
        payload_hash="f" * 64,
        state=Operation.State.FAILED,
        error="Nue shows no change order for this request.",
    )
    response = sam_client.get(OPERATIONS)
    assert response.status_code == 200
    page = response.text
    assert f'id="operation-{unknown_activation.pk}"' in page
    assert f'id="operation-{failed.pk}"' in page
    assert "Check Nue now" in page
    assert f"/support/operations/{unknown_activation.pk}/check/" in page
    # Only an open one can be checked: a failed one is settled.
    assert f"/support/operations/{failed.pk}/check/" not in page
    only_failed = sam_client.get(OPERATIONS, {"state": "failed"}).text
    assert f'id="operation-{unknown_activation.pk}"' not in only_failed
    views = AuditEvent.objects.filter(actor=sam, details__page="support_operations")
    assert sorted(e.details["outcome"] for e in views) == ["failed", "open or failed"]


def test_it_filters_operations_by_customer(unknown_activation, sam_client, sam, globex):
    response = sam_client.get(OPERATIONS, {"customer": globex.pk}, headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert f'id="operation-{unknown_activation.pk}"' not in response.text
    assert "No operation is open or failed for these filters" in response.text
    assert audited(sam, "support_operations").customer == globex


def test_it_lists_no_operation_outside_the_agents_book(unknown_activation, globex_agent, acme):
    client = signed_in(globex_agent)
    assert f'id="operation-{unknown_activation.pk}"' not in client.get(OPERATIONS).text
    # Acme is no choice of the filter either: asking for it is an invalid filter, not a leak.
    response = client.get(OPERATIONS, {"customer": acme.pk})
    assert f'id="operation-{unknown_activation.pk}"' not in response.text
    check = client.post(f"/support/operations/{unknown_activation.pk}/check/")
    assert check.status_code == 404
    unknown_activation.refresh_from_db()
    assert unknown_activation.state == Operation.State.UNKNOWN


def test_check_now_settles_an_unknown_activation_by_reading(
    unknown_activation, sam_client, sam, acme
):
    with journal.capture() as calls:
        response = sam_client.post(
            f"/support/operations/{unknown_activation.pk}/check/", headers=HTMX
        )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert f'id="operation-{unknown_activation.pk}"' in response.text
    assert "Nue shows it done: settled as succeeded." in response.text
    unknown_activation.refresh_from_db()
    assert unknown_activation.state == Operation.State.SUCCEEDED
    # It read Nue, and sent nothing again.
    assert calls
    assert all(call.method == "GET" for call in calls)
    assert not [call for call in calls if call.wrote]
    event = AuditEvent.objects.get(actor=sam, details__action="operation_checked")
    assert event.customer == acme
    assert (event.details["before"], event.details["after"]) == ("unknown", "succeeded")
    trail = sam_client.get("/support/audit/").text
    assert "Checked with Nue how an operation ended" in trail
    assert "State after" in trail


def test_check_now_without_javascript_goes_back_to_the_list(unknown_activation, sam_client):
    back = f"{OPERATIONS}?state=open"
    response = sam_client.post(
        f"/support/operations/{unknown_activation.pk}/check/", {"back": back}
    )
    assert response.status_code == 302
    assert response["Location"] == back
    page = sam_client.get(back).text
    assert "Nue shows it done: settled as succeeded." in page


def test_check_now_leaves_open_what_nue_does_not_show_done(sam_client, ada, acme):
    order_id = create_draft(signed_in(ada), line("la", PRO, quantity="2"))
    operation = Operation.objects.create(
        kind=Operation.Kind.ACTIVATE,
        target=order_id,
        customer=acme,
        actor=ada,
        payload_hash="a" * 64,
        state=Operation.State.UNKNOWN,
        sent_at=timezone.now(),
    )
    with journal.capture() as calls:
        response = sam_client.post(f"/support/operations/{operation.pk}/check/", headers=HTMX)
    assert "Nue does not show it done yet; nothing was sent again." in response.text
    assert not [call for call in calls if call.wrote]
    operation.refresh_from_db()
    assert operation.state == Operation.State.UNKNOWN
    assert "Check Nue now" in response.text  # still open: it can be checked again


def test_check_now_reads_nothing_for_a_settled_operation(sam_client, ada, acme):
    operation = Operation.objects.create(
        kind=Operation.Kind.ACTIVATE,
        target="ord-settled",
        customer=acme,
        actor=ada,
        payload_hash="b" * 64,
        state=Operation.State.FAILED,
    )
    with journal.capture() as calls:
        response = sam_client.post(f"/support/operations/{operation.pk}/check/", headers=HTMX)
    assert response.status_code == 200
    assert "Already settled" in response.text
    assert calls == []


def test_check_now_needs_a_post(unknown_activation, sam_client):
    assert sam_client.get(f"/support/operations/{unknown_activation.pk}/check/").status_code == 405


# /support/customers/<id>/timeline/


def at(day, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def test_the_timeline_mixes_what_happened_newest_first(
    ada_client, ada, grace, sam_client, sam, acme
):
    orders = CustomerNue(acme).orders()
    change = next(o for o in orders if o.order_type == "Change")
    day = change.created_date
    assert day is not None
    reference = force_failure(ada_client)  # now
    AuditEvent.objects.create(
        kind=AuditKind.SIGN_IN, actor=ada, actor_email=ada.email, created_at=at(day, 12)
    )
    AuditEvent.objects.create(
        kind=AuditKind.SIGN_IN, actor=grace, actor_email=grace.email, created_at=at(day, 12)
    )
    AuditEvent.objects.create(
        kind=AuditKind.IMPERSONATION_STARTED,
        actor=sam,
        actor_email=sam.email,
        on_behalf_of=ada,
        on_behalf_of_email=ada.email,
        customer=acme,
        reason="Ticket SUP-77",
        created_at=at(day, 9),
    )
    approval = ApprovalRequest.objects.create(
        customer=acme, order_id="ord-x", order_number="O-APPROVE", requested_by=ada
    )
    ApprovalRequest.objects.filter(pk=approval.pk).update(
        requested_at=at(day - timedelta(days=1), 15)
    )

    response = sam_client.get(f"/support/customers/{acme.pk}/timeline/")
    assert response.status_code == 200
    page = response.text
    titles = [
        "answered with an error (502) on GET /orders/",
        f"Change order {change.order_number} drafted",
        "ada@acme.example signed in",
        "Support session: sam@nue.example as ada@acme.example",
        "Approval of O-APPROVE requested",
    ]
    positions = [page.find(title) for title in titles]
    assert -1 not in positions, list(zip(titles, positions, strict=True))
    # The failure happened last; the change order leads its day (Nue gives no time); the
    # sign-in at noon comes before the support session at nine; the approval the day before.
    assert positions == sorted(positions), list(zip(titles, positions, strict=True))
    assert "grace@globex.example" not in page  # another customer's member
    assert f"?reference={reference}" in page
    assert audited(sam, "support_timeline").customer == acme


def test_the_timeline_pages_through_everything_once(sam_client, acme, ada):
    for second in range(35):
        AuditEvent.objects.create(
            kind=AuditKind.SIGN_IN,
            actor=ada,
            actor_email=ada.email,
            created_at=timezone.now() - timedelta(seconds=second),
        )
    first = sam_client.get(f"/support/customers/{acme.pk}/timeline/").text
    second = sam_client.get(
        f"/support/customers/{acme.pk}/timeline/", {"page": 2}, headers=HTMX
    ).text
    orders = len(CustomerNue(acme).orders())
    assert f"{orders + 35} events" in first
    assert first.count('data-kind="sign-in"') == 30  # the newest thirty, before any order
    assert second.count('data-kind="sign-in"') == 5
    assert "<html" not in second
    assert 'id="timeline"' in second


def test_the_timeline_shows_the_rest_when_nue_fails(sam_client, acme, ada):
    from nue_emulator import faults

    AuditEvent.objects.create(kind=AuditKind.SIGN_IN, actor=ada, actor_email=ada.email)
    with faults.inject("orders", "GET", status=200, body="malformed"):
        response = sam_client.get(f"/support/customers/{acme.pk}/timeline/")
    assert response.status_code == 200
    assert "Nue's orders could not be read just now" in response.text
    assert "ada@acme.example signed in" in response.text
    reference = shown_reference(response.text)
    # The agent's failed read is kept too, as the customer's.
    assert RequestFailure.objects.get(reference=reference).customer == acme


def test_the_timeline_of_a_customer_outside_the_book_is_missing(globex_agent, acme, globex):
    client = signed_in(globex_agent)
    assert client.get(f"/support/customers/{acme.pk}/timeline/").status_code == 404
    assert client.get("/support/customers/999999/timeline/").status_code == 404
    assert client.get(f"/support/customers/{globex.pk}/timeline/").status_code == 200


def test_the_support_home_links_the_workspace(sam_client, acme):
    page = sam_client.get("/support/").text
    assert 'href="/support/lookup/"' in page
    assert 'href="/support/operations/"' in page
    assert f'href="/support/customers/{acme.pk}/timeline/"' in page
