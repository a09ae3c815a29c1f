"""The HTTP edge of orders/nue/ (NueClient): status mapping, retries, protocol errors, logging."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

import httpx
import pytest

from orders import nue
from orders.scope import CustomerNue

from .conftest import ACME_ID, ORDER_ID, ok, order_json


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, nue.NueAuthError),
        (403, nue.NueAuthError),
        (404, nue.NueNotFound),
        (409, nue.NueConflict),
        (429, nue.NueRateLimited),
        (500, nue.NueUnavailable),
        (502, nue.NueUnavailable),
        (503, nue.NueUnavailable),
        (504, nue.NueUnavailable),
        (418, nue.NueValidationError),
    ],
)
def test_it_maps_each_status_to_one_exception(scope, nue_mock, status, error):
    nue_mock.get("/catalog/price-tags").mock(
        return_value=httpx.Response(
            status, json={"status": "FAILURE", "message": "nope", "errorCode": "X", "errors": []}
        )
    )
    with pytest.raises(error) as caught:
        scope.client.get("/catalog/price-tags")
    assert caught.value.status == status
    assert len(caught.value.reference) == 12


def test_it_maps_validation_errors_to_the_verbs_field_paths(scope, nue_mock):
    nue_mock.post("/orders").mock(
        return_value=httpx.Response(
            400,
            json={
                "status": "FAILURE",
                "message": "Invalid Addon Product",
                "errorCode": "INVALID_ADDON_PRODUCT",
                "errors": [
                    {
                        "field": "orderProducts[0].addOns[1].productOptionId",
                        "message": "Not an option of this bundle.",
                    },
                    {"field": "orderProducts[0].quantity", "message": "Must be positive."},
                    {"message": "Something general."},
                ],
            },
        )
    )
    line = nue.LineRequest(
        "01uABCDEFGHIJKLMNO",
        Decimal(1),
        add_ons=(nue.AddOn("opt-a"), nue.AddOn("opt-b")),
    )
    with pytest.raises(nue.NueValidationError) as caught:
        scope.create_draft([line], effective_date=date(2026, 1, 1))
    assert caught.value.error_code == "INVALID_ADDON_PRODUCT"
    assert caught.value.field_errors == {
        "lines[0].add_ons[1].product_option_id": ("Not an option of this bundle.",),
        "lines[0].quantity": ("Must be positive.",),
        "__all__": ("Something general.",),
    }


def test_it_treats_a_failure_envelope_with_200_as_an_error(scope, nue_mock):
    nue_mock.get("/orders").mock(
        return_value=httpx.Response(200, json={"status": "FAILURE", "message": "bad filter"})
    )
    with pytest.raises(nue.NueValidationError, match="bad filter"):
        scope.orders()


def test_it_accepts_lower_case_success(scope, nue_mock):
    nue_mock.get("/orders").mock(
        return_value=httpx.Response(200, json={"status": "success", "data": [order_json()]})
    )
    assert [o.id for o in scope.orders()] == [ORDER_ID]


def test_it_retries_a_get_then_succeeds(scope, nue_mock, sleeps):
    route = nue_mock.get("/orders").mock(
        side_effect=[
            httpx.Response(503, json={"status": "FAILURE", "message": "busy"}),
            httpx.ConnectError("refused"),
            ok([order_json()]),
        ]
    )
    assert len(scope.orders()) == 1
    assert route.call_count == 3
    assert len(sleeps.calls) == 2
    assert all(0 < s <= 1 for s in sleeps.calls)


def test_it_gives_up_on_a_get_after_the_retries(scope, nue_mock, sleeps):
    route = nue_mock.get("/orders").mock(
        return_value=httpx.Response(502, text="<html>Bad gateway</html>")
    )
    with pytest.raises(nue.NueUnavailable):
        scope.orders()
    assert route.call_count == 1 + nue.MAX_GET_RETRIES


def test_it_honours_retry_after_capped(scope, nue_mock, sleeps):
    nue_mock.get("/orders").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}, json={"status": "FAILURE"}),
            httpx.Response(429, headers={"Retry-After": "120"}, json={"status": "FAILURE"}),
            ok([]),
        ]
    )
    assert scope.orders() == []
    assert sleeps.calls == [2.0, nue.MAX_RETRY_AFTER]


def test_it_raises_rate_limited_with_retry_after_when_retries_run_out(scope, nue_mock):
    nue_mock.get("/orders").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "1"}, json={"status": "FAILURE"})
    )
    with pytest.raises(nue.NueRateLimited) as caught:
        scope.orders()
    assert caught.value.retry_after == 1.0


def test_it_never_retries_a_post_after_a_read_timeout(scope, nue_mock, sleeps):
    route = nue_mock.post("/orders").mock(side_effect=httpx.ReadTimeout("slow"))
    line = nue.LineRequest("01uABCDEFGHIJKLMNO", Decimal(1))
    with pytest.raises(nue.NueUnavailable) as caught:
        scope.create_draft([line], effective_date=date(2026, 1, 1))
    assert caught.value.timed_out
    assert route.call_count == 1
    assert sleeps.calls == []


def test_it_does_not_resend_a_get_after_a_read_timeout(scope, nue_mock, sleeps):
    # A hung Nue costs a page one read timeout, not one per attempt.
    route = nue_mock.get("/orders").mock(side_effect=httpx.ReadTimeout("hung"))
    with pytest.raises(nue.NueUnavailable) as caught:
        scope.orders()
    assert caught.value.timed_out
    assert route.call_count == 1
    assert sleeps.calls == []


def test_it_retries_a_get_after_a_connect_timeout(scope, nue_mock, sleeps):
    route = nue_mock.get("/orders").mock(
        side_effect=[httpx.ConnectTimeout("no answer"), ok([order_json()])]
    )
    assert len(scope.orders()) == 1
    assert route.call_count == 2


def test_it_never_retries_a_post_answered_with_503(scope, nue_mock):
    route = nue_mock.post("/orders").mock(
        return_value=httpx.Response(503, json={"status": "FAILURE", "message": "busy"})
    )
    with pytest.raises(nue.NueUnavailable):
        scope.create_draft(
            [nue.LineRequest("01uABCDEFGHIJKLMNO", Decimal(1))],
            effective_date=date(2026, 1, 1),
        )
    assert route.call_count == 1


def test_it_resends_a_post_whose_connection_never_opened(scope, nue_mock):
    route = nue_mock.post("/orders").mock(
        side_effect=[httpx.ConnectError("refused"), ok({"order": order_json(), "invoices": []})]
    )
    result = scope.create_draft(
        [nue.LineRequest("01uABCDEFGHIJKLMNO", Decimal(1))],
        effective_date=date(2026, 1, 1),
    )
    assert result.order.id == ORDER_ID
    assert route.call_count == 2


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, content=b'{"status": "SUCCESS", "data": ['),
        httpx.Response(200, content=b""),
        httpx.Response(200, text="<html><body>Login</body></html>"),
        httpx.Response(200, json={"data": []}),
        httpx.Response(200, json={"status": "SUCCESS"}),
        httpx.Response(200, json={"status": "SUCCESS", "data": {"not": "a list"}}),
        httpx.Response(200, json={"status": "SUCCESS", "data": [{"id": ORDER_ID}]}),
        httpx.Response(200, json={"status": "SUCCESS", "data": [order_json(listTotal="12,00")]}),
        httpx.Response(200, json={"status": "SUCCESS", "data": [order_json(createdDate="soon")]}),
        httpx.Response(301, headers={"Location": "https://elsewhere.example/"}),
    ],
    ids=[
        "malformed",
        "empty",
        "html",
        "no-envelope",
        "no-data",
        "wrong-shape",
        "missing-fields",
        "bad-money",
        "bad-date",
        "redirect",
    ],
)
def test_it_raises_a_protocol_error_for_untrustworthy_bodies(scope, nue_mock, response):
    nue_mock.get("/orders").mock(return_value=response)
    with pytest.raises(nue.NueProtocolError):
        scope.orders()


def test_it_refuses_a_huge_body(scope, nue_mock):
    client = nue.NueClient(
        "https://nue.test",
        "k",
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=b" " * 2048)),
        max_body_bytes=1024,
    )
    with pytest.raises(nue.NueProtocolError, match="larger"):
        CustomerNue(scope.account, client).orders()


def test_it_maps_an_html_error_page_to_unavailable(scope, nue_mock):
    nue_mock.get("/orders").mock(return_value=httpx.Response(502, text="<h1>502 Bad Gateway</h1>"))
    with pytest.raises(nue.NueUnavailable):
        scope.orders()


def test_it_maps_a_reset_from_an_in_process_app_to_unavailable(acme):
    def reset(request: httpx.Request) -> httpx.Response:
        raise ConnectionResetError("reset by peer")

    client = nue.NueClient("https://nue.test", "k", transport=httpx.MockTransport(reset))
    with pytest.raises(nue.NueUnavailable):
        CustomerNue(acme, client).orders()


def test_it_sends_the_key_agent_and_a_request_id_and_follows_no_redirect(scope, nue_mock):
    route = nue_mock.get("/orders").mock(return_value=ok([]))
    scope.orders(status="draft", includes=["invoices"])
    request = route.calls.last.request
    assert request.headers["nue-api-key"] == "test-key"
    assert request.headers["User-Agent"].startswith("nue-customer-portal/")
    assert len(request.headers["X-Request-Id"]) == 12
    assert request.url.params["customerIds"] == f'["{ACME_ID}"]'
    assert request.url.params["status"] == "draft"
    assert request.url.params["includes"] == "invoices"


def test_it_logs_calls_without_key_query_or_body(nue_mock, caplog):
    nue_mock.get("/contacts").mock(return_value=ok([]))
    with caplog.at_level(logging.INFO, logger="orders.nue"):
        nue.tenant().contacts_by_email(["ada@acme.example"])
    (record,) = [r for r in caplog.records if r.name == "orders.nue"]
    text = record.getMessage()
    assert "path=/contacts status=200" in text
    assert "duration_ms=" in text
    assert "test-key" not in text
    assert "ada@acme.example" not in text


def test_it_sends_explicit_timeouts(acme):
    seen: dict[str, object] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.extensions["timeout"])
        return ok([])

    client = nue.NueClient("https://nue.test", "k", transport=httpx.MockTransport(handler))
    CustomerNue(acme, client).orders()
    assert seen == {"connect": 3.0, "read": 15.0, "write": 10.0, "pool": 3.0}


def test_it_sends_an_add_ons_own_start_and_term():
    add_on = nue.AddOn("opt-a", Decimal(2), start_date=date(2026, 2, 1), term_months=6)
    assert add_on.to_nue() == {
        "productOptionId": "opt-a",
        "productOptionQuantity": Decimal(2),
        "subscriptionStartDate": date(2026, 2, 1),
        "subscriptionTerm": 6,
    }
    # Left out, the option follows its bundle.
    assert nue.AddOn("opt-a").to_nue() == {"productOptionId": "opt-a"}


def test_a_list_nue_says_is_missing_is_an_upstream_failure(scope, nue_mock):
    nue_mock.get("/orders").mock(
        return_value=httpx.Response(404, json={"status": "FAILURE", "message": "nope"})
    )
    with pytest.raises(nue.NueProtocolError) as caught:
        scope.orders()
    assert caught.value.status == 404


def _refused(body: dict[str, object]) -> httpx.Response:
    return httpx.Response(400, json={"status": "FAILURE", **body})


def test_without_a_summary_the_entries_of_errors_are_the_message(scope, nue_mock):
    nue_mock.post("/orders").mock(
        return_value=_refused(
            {
                "errorCode": "MISSING_ADDON_QUANTITY",
                "errors": [
                    {"field": "orderProducts[0].quantity", "message": "Must be positive."},
                    {"field": "effectiveDate", "error": "Cannot be in the past."},
                    "Missing add-on quantity.",
                ],
            }
        )
    )
    line = nue.LineRequest("01uABCDEFGHIJKLMNO", Decimal(1))
    with pytest.raises(nue.NueValidationError) as caught:
        scope.create_draft([line], effective_date=date(2026, 1, 1))
    error = caught.value
    assert error.message == "Must be positive. Cannot be in the past. Missing add-on quantity."
    assert error.field_errors == {
        "lines[0].quantity": ("Must be positive.",),
        "effective_date": ("Cannot be in the past.",),
        "__all__": ("Missing add-on quantity.",),
    }


def test_a_failure_without_any_text_still_names_the_status(scope, nue_mock):
    nue_mock.get("/orders").mock(return_value=_refused({"errors": [{}]}))
    with pytest.raises(nue.NueValidationError, match=r"Nue answered 400\."):
        scope.orders()


def test_a_conflict_without_a_summary_says_what_errors_says(scope, nue_mock):
    nue_mock.get("/orders").mock(
        return_value=httpx.Response(
            409, json={"status": "FAILURE", "errors": [{"message": "Order is not a draft."}]}
        )
    )
    with pytest.raises(nue.NueConflict, match=r"Order is not a draft\."):
        scope.orders()


@pytest.mark.parametrize(
    ("warnings", "texts"),
    [
        (
            [{"message": "No tax: no shipping address."}, "Plain text."],
            ("No tax: no shipping address.", "Plain text."),
        ),
        ([{"message": None}, {"code": "X"}, None, ""], ()),
        ("not a list", ()),
    ],
)
def test_it_reads_the_texts_of_the_envelopes_warnings(scope, nue_mock, warnings, texts):
    nue_mock.get("/catalog/price-tags").mock(
        return_value=httpx.Response(
            200, json={"status": "SUCCESS", "data": [], "warnings": warnings}
        )
    )
    assert scope.client.get("/catalog/price-tags").warnings == texts
