"""/orders/export.csv: the filtered history as a streamed CSV with numbers as numbers."""

from __future__ import annotations

import csv
import io

import pytest

from nue_emulator import faults

from .conftest import ok, order_json

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_no_faults", "_clear_cache")]


def rows(response) -> list[list[str]]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


def test_it_requires_login(client):
    response = client.get("/orders/export.csv")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_exports_every_order_as_an_attachment(ada_client, acme_nue):
    response = ada_client.get("/orders/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="orders-')
    header, *body = rows(response)
    assert header[:3] == ["Order number", "Name", "Status"]
    assert sorted(r[0] for r in body) == sorted(o.order_number for o in acme_nue.orders())


def test_it_exports_all_pages_of_the_filtered_and_sorted_list(ada_client, acme_nue):
    response = ada_client.get(
        "/orders/export.csv", {"status": "activated", "sort": "total", "dir": "desc", "page": 2}
    )
    _, *body = rows(response)
    activated = [o for o in acme_nue.orders() if o.status == "Activated"]
    assert len(body) == len(activated)
    assert {r[2] for r in body} == {"Activated"}
    totals = [float(r[10]) for r in body]
    assert totals == sorted(totals, reverse=True)


def test_it_writes_numbers_as_plain_numbers(ada_client, acme_nue):
    platform = next(o for o in acme_nue.orders() if o.name == "Platform Suite")
    _, *body = rows(ada_client.get("/orders/export.csv", {"q": platform.order_number}))
    (row,) = body
    assert row[10] == f"{platform.total:.2f}"
    assert "$" not in ",".join(row)
    assert row[4] == platform.order_placed_date.isoformat()


def test_it_quotes_text_and_defuses_formulas(ada, ada_client, nue_mock):
    customer_id = ada.memberships.get().account.nue_customer_id
    tricky = order_json(
        customer_id=customer_id, name='Keys, "big" batch\nsecond line', poNumber="=HYPERLINK(1)"
    )
    nue_mock.get("/orders").mock(return_value=ok([tricky]))
    response = ada_client.get("/orders/export.csv")
    _, row = rows(response)
    assert row[1] == 'Keys, "big" batch\nsecond line'
    assert row[13] == "'=HYPERLINK(1)"


def test_it_exports_only_the_customers_own_orders(grace_client, acme_nue, globex_nue):
    _, *body = rows(grace_client.get("/orders/export.csv"))
    assert sorted(r[0] for r in body) == sorted(o.order_number for o in globex_nue.orders())
    assert not {r[0] for r in body} & {o.order_number for o in acme_nue.orders()}


def test_it_refuses_invalid_filters(ada_client):
    response = ada_client.get(
        "/orders/export.csv", {"date_from": "2026-05-01", "date_to": "2026-01-01"}
    )
    assert response.status_code == 422
    assert "on or after" in response.text


def test_it_shows_the_friendly_page_when_nue_fails(ada_client):
    with faults.inject("orders", "GET", status=200, body="malformed"):
        response = ada_client.get("/orders/export.csv")
    assert response.status_code == 502


def test_it_rejects_post(ada_client):
    assert ada_client.post("/orders/export.csv").status_code == 405


def test_it_exports_nues_discount_once_and_its_subtotal(ada, ada_client, nue_mock):
    customer_id = ada.memberships.get().account.nue_customer_id
    nue_mock.get("/orders").mock(return_value=ok([order_json(customer_id=customer_id)]))
    header, row = rows(ada_client.get("/orders/export.csv"))
    figures = dict(zip(header, row, strict=True))
    assert [figures[k] for k in ("List total", "Discount", "Subtotal", "Tax", "Total")] == [
        "1200.00",
        "120.00",
        "1080.00",
        "78.30",
        "1158.30",
    ]
