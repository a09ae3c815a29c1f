"""Every failure shown with a reference is kept under it (orders.views.errors.remember): who, which
customer, which page, the Nue call and its request id, what the user read, and the operation it
happened in; keeping it never costs the user the error page; prune_request_failures bounds it."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.utils import timezone

from nue_emulator import faults
from orders.actions import failures
from orders.models import Operation, RequestFailure
from orders.nue import NueUnavailable
from tests.orders.support_helpers import shown_reference

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/orders/?status=draft"}


def test_it_keeps_a_failed_page_with_its_nue_call(ada, ada_client):
    with faults.inject("orders", "GET", status=200, body="malformed"):
        response = ada_client.get("/orders/?q=someone@example.com")
    assert response.status_code == 502
    reference = shown_reference(response.text)
    failure = RequestFailure.objects.get(reference=reference)
    assert failure.user == ada
    assert failure.user_email == ada.email
    assert failure.impersonator is None
    assert failure.customer == ada.memberships.get().account
    assert (failure.method, failure.path) == ("GET", "/orders/")  # never the query string
    assert (failure.nue_method, failure.nue_path) == ("GET", "/orders")
    # The reference is the X-Request-Id the portal sent Nue.
    assert failure.nue_request_id == reference
    assert failure.upstream_status == 200
    assert failure.error_kind == "NueProtocolError"
    assert (failure.status, failure.shown_as) == (502, RequestFailure.ShownAs.PAGE)
    assert failure.title == "Our billing system answered with an error"
    assert failure.operation is None
    assert failure.occurrences == 1


def test_it_keeps_the_page_an_htmx_region_failed_on(ada_client):
    with faults.inject("orders", "GET", status=503):
        response = ada_client.get("/orders/?status=draft", headers=HTMX)
    assert response.status_code == 502
    failure = RequestFailure.objects.get(reference=shown_reference(response.text))
    assert failure.shown_as == RequestFailure.ShownAs.PARTIAL
    assert failure.page == "/orders/"
    assert failure.upstream_status == 503
    # A GET is retried: every attempt answered 503.
    assert failure.nue_attempts == 3
    assert failure.error_kind == "NueUnavailable"


def test_it_keeps_a_panel_whose_read_failed(ada_client):
    with faults.inject("customer-invoices", "GET", status=200, body="malformed"):
        response = ada_client.get("/")
    assert response.status_code == 200
    failure = RequestFailure.objects.get(reference=shown_reference(response.text))
    assert failure.shown_as == RequestFailure.ShownAs.PANEL
    assert failure.status == 200
    assert failure.nue_path.endswith("/invoices")
    assert failure.path == "/"


def test_it_keeps_a_form_error_with_a_reference(ada_client):
    contact = {"first_name": "Linus", "last_name": "Lister", "email": "linus@acme.example"}
    with faults.inject("customer-contacts", "POST", status=503, times=1):
        response = ada_client.post("/billing/contacts/", contact)
    assert response.status_code in (502, 503)
    failure = RequestFailure.objects.get(reference=shown_reference(response.text))
    assert failure.shown_as == RequestFailure.ShownAs.FORM
    assert (failure.method, failure.nue_method) == ("POST", "POST")
    assert failure.nue_path.endswith("/contacts")
    # Nothing of what was typed or sent is kept.
    kept = " ".join(str(v) for v in RequestFailure.objects.values().get().values())
    assert "linus@acme.example" not in kept
    assert "Lister" not in kept


def test_it_names_the_agent_who_impersonated(sam_client, ada, sam):
    assert (
        sam_client.post(
            f"/support/impersonate/{ada.memberships.get().pk}/", {"reason": "Ticket SUP-9"}
        ).status_code
        == 302
    )
    with faults.inject("orders", "GET", status=200, body="malformed"):
        response = sam_client.get("/orders/")
    failure = RequestFailure.objects.get(reference=shown_reference(response.text))
    assert (failure.user, failure.user_email) == (ada, ada.email)
    assert (failure.impersonator, failure.impersonator_email) == (sam, sam.email)


def test_it_still_shows_the_error_page_when_the_failure_cannot_be_kept(ada_client, caplog):
    def refuse_failures(execute, sql, params, many, context):
        if "orders_requestfailure" in sql and sql.lstrip().upper().startswith("INSERT"):
            raise DatabaseError("disk full")
        return execute(sql, params, many, context)

    caplog.set_level(logging.ERROR, logger="orders.errors")
    with (
        connection.execute_wrapper(refuse_failures),
        faults.inject("orders", "GET", status=200, body="malformed"),
    ):
        response = ada_client.get("/orders/")
    assert response.status_code == 502
    reference = shown_reference(response.text)
    assert not RequestFailure.objects.exists()
    assert f"failure reference={reference} could not be recorded" in caplog.text


def test_it_links_the_operation_a_lost_answer_left_open(losing, ada_client):
    from tests.orders.purchase_helpers import PRO, create_draft, line

    order_id = create_draft(ada_client, line("la", PRO, quantity="2"))
    losing.lose = "reset"
    response = ada_client.post(
        f"/orders/{order_id}/activate/", {"consent": "on", "po_number": "PO-LOST-7"}
    )
    assert response.status_code in (502, 503, 504)
    failure = RequestFailure.objects.get(reference=shown_reference(response.text))
    operation = Operation.objects.get(target=order_id, kind=Operation.Kind.ACTIVATE)
    assert failure.operation == operation
    assert operation.state == Operation.State.UNKNOWN
    assert failure.outcome_unknown
    assert (failure.nue_method, failure.nue_path) == ("POST", f"/orders/{order_id}")
    assert failure.upstream_status is None  # no answer came
    # Nothing the order was activated with (its PO, its payment) is kept with the failure.
    kept = " ".join(str(v) for v in RequestFailure.objects.values().get().values())
    assert "PO-LOST-7" not in kept


def test_it_counts_a_reference_shown_again(ada):
    shown = failures.Failure("abcdef012345", 503, "We're temporarily unavailable", "page")
    failures.record(shown, NueUnavailable("Could not reach Nue.", reference="abcdef012345"))
    again = failures.record(shown, NueUnavailable("Could not reach Nue.", reference="abcdef012345"))
    assert again.occurrences == 2
    assert RequestFailure.objects.count() == 1
    assert again.last_seen_at >= again.created_at


def test_it_prunes_failures_older_than_the_days_kept(capsys):
    old = RequestFailure.objects.create(
        reference="0123456789ab", error_kind="NueUnavailable", status=503, title="x"
    )
    RequestFailure.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    recent = RequestFailure.objects.create(
        reference="ba9876543210", error_kind="NueUnavailable", status=503, title="x"
    )
    call_command("prune_request_failures", "--days", "30")
    assert list(RequestFailure.objects.all()) == [recent]
    assert "1 request failure deleted" in capsys.readouterr().out


def test_it_refuses_to_prune_everything():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("prune_request_failures", "--days", "0")
