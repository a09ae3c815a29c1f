"""A record Nue sends that does not parse (issue 23 item 4): lists keep the records that parse,
log the others with the request id, and the page says what it could not show; a write whose
answer does not parse says the write may have happened."""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest
from django.urls import reverse

from orders import nue
from tests.conftest import installed_client
from tests.orders.conftest import (
    ACME_ID,
    GLOBEX_ID,
    ORDER_ID,
    activation_json,
    ok,
    order_json,
    subscription_json,
    upstream,
)
from tests.orders.purchase_helpers import PRO, line

pytestmark = pytest.mark.usefixtures("_clear_cache")

SECOND = "20000000-0000-4000-8000-000000000002"


def _logged(caplog, reference: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "orders.nue" and "unparsed" in r.getMessage() and reference in r.getMessage()
    ]


# --- The scope: lists keep what parses --------------------------------------------------------


def test_it_keeps_the_orders_that_parse_and_logs_the_other(scope, nue_mock, caplog):
    broken = order_json(SECOND, number=2)
    del broken["orderNumber"]
    route = nue_mock.get("/orders").mock(return_value=ok([order_json(), broken]))
    with caplog.at_level(logging.WARNING, logger="orders.nue"):
        orders = scope.orders()
    assert [o.id for o in orders] == [ORDER_ID]
    (omitted,) = scope.omitted("orders")
    assert omitted.count == 1
    assert omitted.text.startswith("1 order could not be shown")
    # The reference is the request id Nue was sent, under which the record was logged.
    assert omitted.reference == route.calls.last.request.headers["X-Request-Id"]
    (entry,) = _logged(caplog, omitted.reference)
    assert SECOND in entry
    assert "'orderNumber'" in entry


def test_a_record_naming_another_customer_is_dropped_as_foreign(scope, nue_mock, caplog):
    foreign = order_json(SECOND, GLOBEX_ID, number=2)
    del foreign["status"]
    nue_mock.get("/orders").mock(return_value=ok([order_json(), foreign]))
    with caplog.at_level(logging.ERROR, logger="orders.nue.security"):
        assert [o.id for o in scope.orders()] == [ORDER_ID]
    assert scope.omitted("orders") == []
    assert any(r.name == "orders.nue.security" for r in caplog.records)


def test_a_list_of_which_nothing_parses_is_a_failed_read(scope, nue_mock):
    broken = order_json()
    del broken["orderNumber"]
    nue_mock.get("/orders").mock(return_value=ok([broken]))
    with pytest.raises(nue.NueProtocolError, match="none of which"):
        scope.orders()


def test_an_invoice_without_amount_costs_that_invoice(scope, nue_mock):
    def invoice(invoice_id: str, **extra: object) -> dict[str, object]:
        return {"id": invoice_id, "customerId": ACME_ID, "name": invoice_id, **extra}

    nue_mock.get(f"/customers/{ACME_ID}/invoices").mock(
        return_value=ok(
            [invoice("INV-1", amount=10), invoice("INV-2")],
            pagination={"page": 1, "limit": 25, "total": 2},
        )
    )
    page = scope.invoices()
    assert [i.id for i in page.items] == ["INV-1"]
    assert page.total == 2
    assert [o.count for o in scope.omitted("invoices")] == [1]


def test_a_catalog_with_an_unreadable_price_is_shown_without_it_and_not_kept(scope, nue_mock):
    def product(product_id: str, price: object) -> dict[str, object]:
        entry = {"id": f"{product_id}-pbe", "listPrice": price, "currencyIsoCode": "USD"}
        return {"id": product_id, "name": product_id, "priceBookEntries": [entry]}

    route = nue_mock.get(f"/customers/{ACME_ID}/products").mock(
        return_value=httpx.Response(200, json=[product("01tA", 10), product("01tB", None)])
    )
    assert [p.id for p in scope.catalog()] == ["01tA"]
    assert [o.count for o in scope.omitted("products")] == [1]
    # Not kept in the shared cache: the next request asks Nue again, and sees it once fixed.
    scope.invalidate_cache()
    scope.catalog()
    assert route.call_count == 2


def test_a_subscription_nue_sent_unreadable_is_a_failure_not_a_missing_page(scope, nue_mock):
    broken = subscription_json("SUB-00000002")
    del broken["quantity"]
    nue_mock.get("/subscriptions").mock(return_value=ok([subscription_json(), broken]))
    assert scope.subscription("SUB-00000001").name == "SUB-00000001"
    with pytest.raises(nue.NueProtocolError):
        scope.subscription("SUB-00000002")
    with pytest.raises(nue.NueNotFound):
        scope.subscription("SUB-00000003")


def test_it_keeps_an_order_whose_lines_form_a_cycle_out(scope, nue_mock):
    cyclic = order_json(SECOND, number=2)
    cyclic["orderProducts"][0]["parentId"] = cyclic["orderProducts"][2]["id"]
    nue_mock.get("/orders").mock(return_value=ok([order_json(), cyclic]))
    assert [o.id for o in scope.orders()] == [ORDER_ID]
    assert [o.keys for o in scope.omitted("orders")] == [frozenset({SECOND, "Order 2"})]


# --- Pages: what could not be shown is said, with the reference -------------------------------


def _breaking_first(key: str | None, mutate):
    """An answer of the emulator whose first record `mutate` breaks (the HTTP edge)."""

    def answer(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
        response = inner.handle_request(request)
        body = json.loads(response.read())
        records = body if key is None else body[key]
        mutate(records[0])
        return httpx.Response(response.status_code, json=body)

    return answer


def _notice(page: str) -> str:
    found = re.search(r'<p class="notice notice--warn" role="note">(.*?)</p>', page, re.S)
    assert found, "no notice on the page"
    return found.group(1)


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True])
def test_the_order_history_says_an_order_could_not_be_shown(ada_client, acme_nue, htmx):
    everything = acme_nue.orders()
    breaking = _breaking_first("data", lambda order: order.pop("orderNumber"))
    headers = {"HX-Request": "true", "HX-Target": "order-list"} if htmx else {}
    with upstream("GET", "/orders", breaking):
        response = ada_client.get("/orders/?per_page=100", headers=headers)
    assert response.status_code == 200
    page = response.content.decode()
    notice = _notice(page)
    assert "1 order could not be shown" in notice
    assert re.search(r"Reference: <code>[0-9a-f]{12}</code>", notice)
    assert f"{len(everything) - 1} orders" in page


@pytest.mark.django_db
def test_the_new_order_page_says_a_product_could_not_be_shown(ada_client):
    def null_price(product: dict[str, object]) -> None:
        product["priceBookEntries"][0]["listPrice"] = None  # type: ignore[index]

    with upstream("GET", "/products", _breaking_first(None, null_price)):
        response = ada_client.get(reverse("orders:new_order"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "1 product could not be shown" in _notice(page)
    assert "Pro Plan (US)" in page


@pytest.mark.django_db
def test_the_subscriptions_page_says_a_subscription_could_not_be_shown(ada_client):
    breaking = _breaking_first("data", lambda sub: sub.pop("quantity"))
    with upstream("GET", "/subscriptions", breaking):
        response = ada_client.get(reverse("orders:subscription_list"))
    assert response.status_code == 200
    assert "1 subscription could not be shown" in _notice(response.content.decode())


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True])
def test_the_invoices_page_says_an_invoice_could_not_be_shown(ada_client, htmx):
    breaking = _breaking_first("data", lambda invoice: invoice.pop("amount"))
    headers = {"HX-Request": "true", "HX-Target": "invoice-list"} if htmx else {}
    with upstream("GET", "/invoices", breaking):
        response = ada_client.get(reverse("orders:invoice_list"), headers=headers)
    assert response.status_code == 200
    assert "1 invoice could not be shown" in _notice(response.content.decode())


# --- Writes whose answer does not parse ----------------------------------------------------------


@pytest.mark.django_db
def test_a_draft_whose_answer_does_not_parse_may_exist(ada_client):
    def unreadable(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
        response = inner.handle_request(request)  # Nue makes the draft
        body = json.loads(response.read())
        del body["data"]["order"]["orderNumber"]
        return httpx.Response(response.status_code, json=body)

    with upstream("POST", "/orders", unreadable) as edge:
        response = ada_client.post(
            reverse("orders:new_order"), {**line("la", PRO), "action": "draft"}
        )
    assert edge.calls == 1
    page = response.content.decode()
    assert "Your draft may have been created" in page
    assert "Look for it among your draft orders" in page
    assert "Nothing was lost" not in page
    assert 'name="la-quantity" value="1"' in page  # the configuration is kept


@pytest.mark.django_db
def test_a_draft_whose_preview_invoice_does_not_parse_is_made_and_says_so(ada_client):
    def unreadable(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
        response = inner.handle_request(request)
        body = json.loads(response.read())
        for key in ("invoices", "previewInvoices"):
            body["data"][key][0].pop("amount")
        return httpx.Response(response.status_code, json=body)

    with upstream("POST", "/orders", unreadable):
        response = ada_client.post(
            reverse("orders:new_order"), {**line("la", PRO), "action": "draft"}
        )
    assert response.status_code == 302
    page = ada_client.get(response["Location"]).content.decode()
    assert "is ready to review" in page
    assert "1 invoice of this preview could not be shown" in page


class UnreadableChangeOrder(httpx.BaseTransport):
    """The emulator, except that the draft change order it makes comes back without a status,
    in the answer to POST /change-orders and in every read of it after (the HTTP edge)."""

    def __init__(self) -> None:
        self.inner = httpx.WSGITransport(app=nue.embedded_emulator())
        self.order_id: str | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        path = request.url.path
        if request.method == "POST" and path.endswith("/change-orders"):
            body = json.loads(response.read())
            order = body["data"]["order"]
            self.order_id = order["id"]
            order.pop("status")
            return httpx.Response(response.status_code, json=body)
        if self.order_id and request.method == "GET" and re.search(r"/orders(/[^/]+)?$", path):
            body = json.loads(response.read())
            data = body.get("data")
            for order in data if isinstance(data, list) else [data]:
                if isinstance(order, dict) and order.get("id") == self.order_id:
                    order.pop("status")
            return httpx.Response(response.status_code, json=body)
        return response


@pytest.mark.django_db
def test_a_change_order_whose_answer_does_not_parse_may_exist(ada_client):
    edge = UnreadableChangeOrder()
    url = reverse("orders:change_details", args=["SUB-00000001", "quantity"])
    with installed_client(edge):
        response = ada_client.post(url, {"quantity": 2, "when": "today"})
    assert edge.order_id is not None  # Nue made it
    page = response.content.decode()
    assert "Your draft may have been created" in page
    assert "Nothing was lost" not in page
    assert 'value="2"' in page


@pytest.mark.django_db
def test_an_activation_whose_answered_order_does_not_parse_reads_it_again(
    ledger_scope, nue_mock, buyer
):
    state = {"status": "Draft"}
    nue_mock.get("/orders").mock(side_effect=lambda _r: ok([order_json(status=state["status"])]))
    nue_mock.get(f"/orders/{ORDER_ID}").mock(
        side_effect=lambda _r: ok(order_json(status=state["status"]))
    )

    def activate(_request: httpx.Request) -> httpx.Response:
        state["status"] = "Activated"
        answer = activation_json()
        del answer["order"]["orderNumber"]  # type: ignore[attr-defined]
        return httpx.Response(201, json={"status": "SUCCESS", "data": answer})

    nue_mock.post(f"/orders/{ORDER_ID}").mock(side_effect=activate)
    result = ledger_scope.activate(ORDER_ID, actor=buyer)
    assert (result.order.order_number, result.order.status) == ("O-00000001", "Activated")


@pytest.mark.django_db
def test_the_live_preview_says_an_invoice_of_it_could_not_be_shown(ada_client):
    def unreadable(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
        response = inner.handle_request(request)
        body = json.loads(response.read())
        data = body["data"]
        for invoices in [data] if isinstance(data, list) else [data[k] for k in data]:
            if isinstance(invoices, list) and invoices:
                invoices[0].pop("amount")
        return httpx.Response(response.status_code, json=body)

    with upstream("POST", "/orders/invoice-preview", unreadable):
        response = ada_client.post(
            reverse("orders:new_order_preview"),
            line("la", PRO, quantity="3"),
            HTTP_HX_REQUEST="true",
            HTTP_HX_TARGET="preview",
        )
    assert response.status_code == 200
    assert "invoice of this preview could not be shown" in _notice(response.content.decode())


@pytest.mark.django_db
def test_the_dashboard_says_an_order_could_not_be_shown(ada_client):
    breaking = _breaking_first("data", lambda order: order.pop("orderNumber"))
    with upstream("GET", "/orders", breaking):
        response = ada_client.get(reverse("home"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "1 order could not be shown" in page
    assert re.search(r"Reference: <code>[0-9a-f]{12}</code>", page)
