"""How Nue failures become responses (orders/errors.py) and how request.nue is built."""

from __future__ import annotations

import pytest
from django import forms
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from django_htmx.middleware import HtmxDetails

from orders import nue
from orders.errors import add_form_errors, upstream_error_response
from orders.middleware import NueMiddleware
from orders.scope import CustomerNue

from .conftest import ACME_ID


def make_request(method: str = "get", path: str = "/orders/", htmx: bool = False, **data):
    headers = {"HX-Request": "true", "HX-Target": "order-list"} if htmx else {}
    request = getattr(RequestFactory(), method)(path, data=data, headers=headers)
    request.user = AnonymousUser()
    request.customer = None
    request.membership = None
    request.htmx = HtmxDetails(request)
    return request


@pytest.mark.parametrize(
    ("error", "status", "text"),
    [
        (nue.NueUnavailable("slow", timed_out=True), 504, "did not answer in time"),
        (nue.NueUnavailable("boom", status=500), 502, "answered with an error"),
        (nue.NueUnavailable("refused"), 503, "temporarily unavailable"),
        (nue.NueProtocolError("garbage"), 502, "answered with an error"),
        (nue.NueAuthError("bad key", status=401), 503, "temporarily unavailable"),
        (nue.NueRateLimited("slow down", retry_after=2.0), 503, "temporarily unavailable"),
    ],
)
def test_it_renders_a_friendly_upstream_page_with_reference_and_retry(error, status, text):
    response = upstream_error_response(make_request(path="/orders/?status=draft"), error)
    body = response.content.decode()
    assert response.status_code == status
    assert text in body
    assert error.reference in body
    assert 'href="/orders/?status=draft"' in body
    assert "Try again" in body
    assert "Traceback" not in body


def test_it_sends_retry_after_when_rate_limited():
    response = upstream_error_response(
        make_request(), nue.NueRateLimited("slow down", retry_after=2.0)
    )
    assert response["Retry-After"] == "2"


def test_it_answers_not_found_with_the_404_page():
    response = upstream_error_response(make_request(), nue.NueNotFound("gone"))
    assert response.status_code == 404


def test_it_renders_an_htmx_partial_that_replaces_the_target():
    error = nue.NueUnavailable("slow", timed_out=True)
    response = upstream_error_response(make_request(htmx=True), error)
    body = response.content.decode()
    assert response.status_code == 504
    assert "<html" not in body
    assert 'id="order-list"' in body
    assert 'hx-get="/orders/"' in body
    assert 'hx-target="#order-list"' in body
    assert error.reference in body


def test_it_keeps_what_the_user_posted_in_the_retry_form():
    request = make_request(
        "post", "/orders/new/", quantity="12", note="<b>rush</b>", csrfmiddlewaretoken="old"
    )
    response = upstream_error_response(request, nue.NueUnavailable("slow", timed_out=True))
    body = response.content.decode()
    assert response.status_code == 504
    assert 'name="quantity" value="12"' in body
    assert 'value="&lt;b&gt;rush&lt;/b&gt;"' in body
    assert 'value="old"' not in body
    assert 'method="post" action="/orders/new/"' in body
    assert "did not answer in time" in body


def test_it_says_it_is_checking_when_the_ledger_left_the_outcome_unknown():
    error = nue.NueUnavailable("Nue answered 502.", status=502)
    error.outcome_unknown = True
    response = upstream_error_response(make_request("post", "/orders/x/activate/"), error)
    body = response.content.decode()
    assert response.status_code == 502
    assert "checking whether this went through" in body
    assert "Nothing was lost" not in body


def test_it_answers_a_read_nue_refused_as_an_upstream_failure():
    error = nue.NueValidationError("Invalid status filter.")
    response = upstream_error_response(make_request("get", "/orders/"), error)
    body = response.content.decode()
    assert response.status_code == 502
    assert "answered with an error" in body
    assert "check your input" not in body


def test_it_says_already_in_progress_with_409():
    response = upstream_error_response(
        make_request("post", "/orders/x/activate/", htmx=True),
        nue.OperationInProgress("This is already in progress."),
    )
    assert response.status_code == 409
    assert "Already in progress" in response.content.decode()


def test_it_shows_uncaught_validation_errors_with_422():
    error = nue.NueValidationError(
        "Invalid Addon Product", field_errors={"lines[0].add_ons[0]": ["Not in this bundle."]}
    )
    response = upstream_error_response(make_request("post", "/orders/new/"), error)
    body = response.content.decode()
    assert response.status_code == 422
    assert "Not in this bundle." in body


@pytest.mark.parametrize("htmx", [False, True])
def test_it_shows_every_message_of_a_field_nue_names_like_a_dict_method(htmx):
    # A template reading the errors as `field_errors.items` would get this field's messages.
    error = nue.NueValidationError(
        "Invalid invoice", field_errors={"items": ["No items."], "values": ["Bad value."]}
    )
    response = upstream_error_response(make_request("post", "/orders/new/", htmx=htmx), error)
    body = response.content.decode()
    assert response.status_code == 422
    assert "<li>No items.</li>" in body
    assert "<li>Bad value.</li>" in body


class LineForm(forms.Form):
    quantity = forms.IntegerField()
    start_date = forms.DateField(required=False)


def test_it_puts_nue_field_errors_onto_the_form():
    form = LineForm(data={"quantity": "3"})
    assert form.is_valid()
    error = nue.NueValidationError(
        "Rejected",
        field_errors={
            "lines[0].quantity": ["Too many seats."],
            "start_date": ["Must not be in the past."],
            "__all__": ["Something general."],
        },
    )
    status = add_form_errors(form, error, {"lines[].quantity": "quantity"})
    assert status == 422
    assert form.errors["quantity"] == ["Too many seats."]
    assert form.errors["start_date"] == ["Must not be in the past."]
    assert form.non_field_errors() == ["Something general."]
    assert form.data["quantity"] == "3"


def test_it_puts_an_outage_onto_the_form_with_its_reference():
    form = LineForm(data={"quantity": "3"})
    form.is_valid()
    error = nue.NueUnavailable("slow", timed_out=True)
    assert add_form_errors(form, error) == 504
    (message,) = form.non_field_errors()
    assert error.reference in message


def test_the_middleware_gives_no_scope_without_an_acting_customer():
    request = make_request()
    NueMiddleware(lambda r: HttpResponse())(request)
    assert request.nue is None


def test_the_middleware_scopes_request_nue_to_the_acting_customer():
    from portal.models import CustomerAccount

    request = make_request()
    request.customer = CustomerAccount(nue_customer_id=ACME_ID, name="Acme")
    NueMiddleware(lambda r: HttpResponse())(request)
    assert isinstance(request.nue, CustomerNue)
    assert request.nue.customer_id == ACME_ID


def test_the_middleware_turns_only_nue_errors_into_responses():
    middleware = NueMiddleware(lambda r: HttpResponse())
    request = make_request()
    response = middleware.process_exception(request, nue.NueUnavailable("x"))
    assert response is not None
    assert response.status_code == 503
    assert middleware.process_exception(request, ValueError("bug")) is None


@pytest.mark.django_db
def test_a_signed_in_member_gets_a_scope_for_the_acting_customer(ada_client, ada):
    response = ada_client.get("/")
    scope = response.wsgi_request.nue
    assert isinstance(scope, CustomerNue)
    assert scope.customer_id == ada.memberships.get().account.nue_customer_id


@pytest.mark.django_db
def test_staff_without_an_acting_customer_get_no_scope(maria_client):
    response = maria_client.get("/")
    assert response.wsgi_request.nue is None
