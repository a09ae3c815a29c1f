"""/invoices/ and /invoices/export.csv: unpaid and overdue filters, search by number, sort, the
CSV export, the order each invoice bills, and overdue against the customer's today."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from orders.actions.invoices import is_open
from tests.orders.conftest import upstream

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_no_faults", "_clear_cache")]

ALL = {"per_page": 100}


def names(html: str) -> list[str]:
    return re.findall(r'<a class="mono" href="/invoices/[^"]+/">(INV-\d+)</a>', html)


def row_of(html: str, name: str) -> str:
    found = re.search(rf"<tr[^>]*>\s*<th[^>]*><a[^>]*>{name}</a>.*?</tr>", html, re.S)
    assert found is not None, name
    return found.group(0)


@pytest.fixture
def acme_invoices(acme_nue):
    return acme_nue.every_invoice(includes=("orders",))


def rows_of(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def rewritten(change):
    """The emulator's invoice list, each invoice changed by `change(invoice)` (the HTTP edge)."""

    def answer(request: httpx.Request, emulator: httpx.BaseTransport) -> httpx.Response:
        body = json.loads(emulator.handle_request(request).read())
        for invoice in body["data"] if isinstance(body["data"], list) else [body["data"]]:
            change(invoice)
        return httpx.Response(200, json=body)

    return answer


def test_it_shows_every_invoice_by_default_newest_first(ada_client, acme_invoices):
    html = ada_client.get("/invoices/", ALL).text
    expected = sorted(acme_invoices, key=lambda i: i.invoice_date, reverse=True)
    assert names(html) == [i.name for i in expected]
    assert f"{len(acme_invoices)} invoices" in html


def test_it_filters_unpaid_invoices_as_nue_reports_them(ada_client, acme_invoices):
    html = ada_client.get("/invoices/", {**ALL, "show": "unpaid"}).text
    unpaid = [
        i
        for i in acme_invoices
        if i.status == "Active" and i.balance and i.balance > 0 and i.payment_status != "Paid"
    ]
    assert unpaid
    assert len(unpaid) < len(acme_invoices)
    assert set(names(html)) == {i.name for i in unpaid}
    assert "match your filters" in html


def test_it_filters_overdue_invoices(ada_client, acme_invoices):
    today = timezone.localdate()
    html = ada_client.get("/invoices/", {**ALL, "show": "overdue"}).text
    overdue = [i for i in acme_invoices if is_open(i) and i.due_date < today]
    assert len(overdue) == 1
    assert names(html) == [overdue[0].name]
    assert "$90.00" in row_of(html, overdue[0].name)
    assert "Overdue" in row_of(html, overdue[0].name)


def test_it_counts_overdue_from_the_customers_today(ada_client, acme_invoices):
    today = timezone.localdate()
    due_today, due_yesterday = (i.name for i in acme_invoices[:2])
    days = {due_today: today, due_yesterday: today - timedelta(days=1)}

    def open_and_due(invoice):
        if invoice["name"] in days:
            invoice.update(status="Active", paymentStatus="Transferred", balance=12.5)
            invoice["dueDate"] = days[invoice["name"]].isoformat()

    with upstream("GET", "/invoices", rewritten(open_and_due)):
        html = ada_client.get("/invoices/", {**ALL, "show": "overdue"}).text
    assert due_yesterday in names(html)
    assert due_today not in names(html)


def test_it_searches_by_invoice_number(ada_client, acme_invoices):
    target = acme_invoices[3].name
    html = ada_client.get("/invoices/", {**ALL, "q": target.lower()}).text
    assert names(html) == [target]
    partial = target[-2:]
    html = ada_client.get("/invoices/", {**ALL, "q": partial}).text
    assert set(names(html)) == {i.name for i in acme_invoices if partial in i.name}
    html = ada_client.get("/invoices/", {**ALL, "q": "INV-99999999"}).text
    assert "No invoices match these filters" in html


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("number", lambda i: i.name),
        ("date", lambda i: i.invoice_date),
        ("due", lambda i: i.due_date),
        ("amount", lambda i: i.amount),
        ("balance", lambda i: i.balance),
    ],
)
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_it_sorts_by_each_column_both_ways(ada_client, acme_invoices, sort, key, direction):
    html = ada_client.get("/invoices/", {**ALL, "sort": sort, "dir": direction}).text
    shown = names(html)
    by_name = {i.name: i for i in acme_invoices}
    keys = [key(by_name[n]) for n in shown]
    assert keys == sorted(keys, reverse=direction == "desc")
    assert len(shown) == len(acme_invoices)
    assert re.search(r'aria-sort="(a|de)scending"', html)


def test_it_keeps_the_sort_when_the_list_alone_is_swapped(ada_client):
    response = ada_client.get(
        "/invoices/",
        {"sort": "amount", "dir": "asc", "show": "unpaid"},
        headers={"HX-Request": "true", "HX-Target": "invoice-list"},
    )
    assert response.text.strip().startswith('<section id="invoice-list"')
    assert '<div id="invoice-sort-fields" hx-swap-oob="true">' in response.text
    assert 'name="sort" value="amount"' in response.text


def test_it_links_each_invoice_to_the_order_that_produced_it(ada_client, acme_invoices):
    html = ada_client.get("/invoices/", ALL).text
    for invoice in acme_invoices:
        (order,) = invoice.orders
        assert f'href="/orders/{order.id}/">{order.order_number}</a>' in row_of(html, invoice.name)
    invoice = acme_invoices[0]
    detail = ada_client.get(f"/invoices/{invoice.id}/").text
    assert f'href="/orders/{invoice.orders[0].id}/">{invoice.orders[0].order_number}</a>' in detail
    assert ada_client.get(f"/orders/{invoice.orders[0].id}/").status_code == 200


def test_it_shows_no_order_where_nue_gives_none(ada_client, acme_invoices):
    invoice = acme_invoices[0]
    with upstream("GET", "/invoices", rewritten(lambda i: i.update(orders=[]))):
        html = ada_client.get("/invoices/", ALL).text
    assert "/orders/" not in row_of(html, invoice.name)
    with upstream("GET", f"/invoices/{invoice.id}", rewritten(lambda i: i.pop("orders"))):
        detail = ada_client.get(f"/invoices/{invoice.id}/").text
    assert "<dt>Order</dt>" not in detail
    assert f'href="/orders/{invoice.orders[0].id}/"' not in detail


def test_it_exports_the_filtered_sorted_list_as_csv(ada_client, acme_invoices):
    response = ada_client.get("/invoices/export.csv", {"show": "unpaid", "sort": "amount"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="invoices-' in response["Content-Disposition"]
    rows = rows_of(response)
    unpaid = sorted((i for i in acme_invoices if is_open(i)), key=lambda i: i.amount, reverse=True)
    assert [r["Invoice number"] for r in rows] == [i.name for i in unpaid]
    header = (
        "Invoice number,Status,Payment status,Overdue,Invoice date,Due date,"
        "Amount,Tax,Balance,Orders,Currency"
    )
    assert ",".join(rows[0]) == header
    for row, invoice in zip(rows, unpaid, strict=True):
        assert row["Amount"] == f"{invoice.amount:.2f}"
        assert row["Balance"] == f"{invoice.balance:.2f}"
        assert row["Tax"] == f"{invoice.tax_amount:.2f}"
        assert row["Invoice date"] == invoice.invoice_date.isoformat()
        assert row["Orders"] == invoice.orders[0].order_number
        assert row["Currency"] == invoice.currency == "USD"
    assert all("$" not in value for row in rows for value in row.values())


def test_it_exports_every_invoice_and_the_search(ada_client, acme_invoices):
    assert len(rows_of(ada_client.get("/invoices/export.csv"))) == len(acme_invoices)
    target = acme_invoices[1].name
    (row,) = rows_of(ada_client.get("/invoices/export.csv", {"q": target}))
    assert row["Invoice number"] == target
    overdue = rows_of(ada_client.get("/invoices/export.csv", {"show": "overdue"}))
    assert [r["Overdue"] for r in overdue] == ["yes"]
    assert overdue[0]["Balance"] == "90.00"


def test_it_links_the_export_with_the_filters(ada_client):
    html = ada_client.get("/invoices/", {"show": "unpaid", "q": "INV", "page": 1}).text
    assert 'href="/invoices/export.csv?show=unpaid&amp;q=INV"' in html


def test_it_reports_an_invalid_filter(ada_client):
    response = ada_client.get("/invoices/", {"show": "everything"})
    assert response.status_code == 422
    assert ada_client.get("/invoices/export.csv", {"show": "everything"}).status_code == 422


def test_it_never_exports_another_customers_invoices(grace_client, acme_invoices):
    exported = {r["Invoice number"] for r in rows_of(grace_client.get("/invoices/export.csv"))}
    assert exported
    assert not exported & {i.name for i in acme_invoices}


def test_it_lets_a_viewer_list_and_export(ben_client, acme_invoices):
    assert ben_client.get("/invoices/").status_code == 200
    assert len(rows_of(ben_client.get("/invoices/export.csv"))) == len(acme_invoices)


def test_it_requires_login_to_export(client):
    response = client.get("/invoices/export.csv")
    assert response.status_code == 302


def test_it_rejects_post_to_export(ada_client):
    assert ada_client.post("/invoices/export.csv").status_code == 405
