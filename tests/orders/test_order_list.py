"""Order history /orders/: filters, search, date range, sort, pagination, HTMX and failures."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from nue_emulator import faults
from orders.actions.history import order_date

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_no_faults", "_clear_cache")]

HTMX = {"HX-Request": "true", "HX-Target": "order-list"}


def numbers(html: str) -> list[str]:
    """Order numbers of the table rows, in display order."""
    return re.findall(r'<th scope="row"><a class="mono" href="/orders/[^"]+/">(O-\d+)</a>', html)


def test_it_requires_login(client):
    response = client.get("/orders/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_lists_every_order_newest_first(ada_client, acme_nue):
    orders = acme_nue.orders()
    response = ada_client.get("/orders/?per_page=100")
    assert response.status_code == 200
    shown = numbers(response.text)
    assert sorted(shown) == sorted(o.order_number for o in orders)
    dates = [order_date(o) for o in sorted(orders, key=lambda o: shown.index(o.order_number))]
    assert dates == sorted(dates, reverse=True)
    assert f"{len(orders)} orders" in response.text


def test_it_never_lists_another_customers_orders(grace_client, acme_nue, globex_nue):
    shown = numbers(grace_client.get("/orders/?per_page=100").text)
    assert sorted(shown) == sorted(o.order_number for o in globex_nue.orders())
    assert not set(shown) & {o.order_number for o in acme_nue.orders()}


def test_it_filters_by_status(ada_client, acme_nue):
    drafts = {o.order_number for o in acme_nue.orders() if o.status == "Draft"}
    shown = numbers(ada_client.get("/orders/?status=draft&per_page=100").text)
    assert set(shown) == drafts
    canceled = numbers(ada_client.get("/orders/?status=canceled&per_page=100").text)
    assert canceled
    assert {o.status for o in acme_nue.orders() if o.order_number in canceled} == {"Canceled"}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (None, {"Platform Suite"}),  # its PO number, which the seed dates relative to today
        ("platform suite", {"Platform Suite"}),  # name, any case
        ("Admin Seats", {"Platform Suite"}),  # a bundle add-on's product name
    ],
)
def test_it_searches_number_name_product_and_po(ada_client, acme_nue, q, expected):
    if q is None:
        q = next(o.po_number for o in acme_nue.orders() if o.name == "Platform Suite")
        assert q
    shown = numbers(ada_client.get("/orders/", {"q": q}).text)
    names = {o.name for o in acme_nue.orders() if o.order_number in shown}
    assert names == expected


def test_it_searches_by_order_number_and_product(ada_client, acme_nue):
    first = acme_nue.orders()[-1]
    assert numbers(ada_client.get("/orders/", {"q": first.order_number}).text) == [
        first.order_number
    ]
    keys = numbers(ada_client.get("/orders/", {"q": "hardware security key", "per_page": 100}).text)
    with_lines = acme_nue.orders(includes=["orderProducts"])
    expected = {
        o.order_number
        for o in with_lines
        if any(ln.product_name == "Hardware Security Key" for ln in o.all_lines())
    }
    assert expected
    assert set(keys) == expected


def test_it_filters_by_date_range(ada_client, acme_nue):
    orders = acme_nue.orders()
    days = sorted(order_date(o) for o in orders)
    start, end = days[5], days[15]
    shown = numbers(
        ada_client.get(
            "/orders/",
            {"date_from": start.isoformat(), "date_to": end.isoformat(), "per_page": 100},
        ).text
    )
    expected = {o.order_number for o in orders if start <= order_date(o) <= end}
    assert set(shown) == expected


def test_it_reports_a_backwards_date_range_on_the_form(ada_client):
    response = ada_client.get("/orders/", {"date_from": "2026-05-01", "date_to": "2026-01-01"})
    assert response.status_code == 422
    assert "on or after" in response.text
    assert 'aria-invalid="true"' in response.text


@pytest.mark.parametrize(
    ("sort", "direction"),
    [("total", "asc"), ("total", "desc"), ("number", "asc"), ("name", "desc"), ("acv", "asc")],
)
def test_it_sorts_by_a_column(ada_client, acme_nue, sort, direction):
    by_number = {o.order_number: o for o in acme_nue.orders()}
    response = ada_client.get("/orders/", {"sort": sort, "dir": direction, "per_page": 100})
    shown = [by_number[n] for n in numbers(response.text)]
    key = {
        "total": lambda o: o.total,
        "number": lambda o: o.order_number,
        "name": lambda o: (o.name or "").casefold(),
        "acv": lambda o: o.order_acv if o.order_acv is not None else Decimal("-1"),
    }[sort]
    values = [key(o) for o in shown if sort != "acv" or o.order_acv is not None]
    assert values == sorted(values, reverse=direction == "desc")
    label = "ascending" if direction == "asc" else "descending"
    assert f'aria-sort="{label}"' in response.text


def test_it_pages_with_a_chosen_page_size(ada_client, acme_nue):
    total = len(acme_nue.orders())
    first = numbers(ada_client.get("/orders/", {"per_page": 10}).text)
    last_page = -(-total // 10)
    last = ada_client.get("/orders/", {"per_page": 10, "page": last_page}).text
    assert len(first) == 10
    assert len(numbers(last)) == total - 10 * (last_page - 1)
    assert f"Page {last_page} of {last_page}" in last
    assert 'rel="prev"' in last
    assert 'rel="next"' not in last
    # Past the end is the last page, not an error.
    beyond = ada_client.get("/orders/", {"per_page": 10, "page": 99})
    assert numbers(beyond.text) == numbers(last)
    assert not set(first) & set(numbers(last))


def test_it_keeps_filters_in_sort_and_page_links(ada_client):
    html = ada_client.get("/orders/", {"status": "activated", "per_page": 10}).text
    assert re.search(r'href="\?status=activated&amp;per_page=10&amp;page=2"', html)
    assert re.search(r'href="\?status=activated&amp;per_page=10&amp;sort=total&amp;dir=desc"', html)
    assert 'href="/orders/export.csv?status=activated&amp;per_page=10"' in html


def test_it_says_what_to_do_when_nothing_matches(ada_client):
    response = ada_client.get("/orders/", {"q": "no such order anywhere"})
    assert response.status_code == 200
    assert "No orders match these filters" in response.text
    assert "Show all orders" in response.text


def test_it_answers_htmx_with_the_table_partial(ada_client):
    response = ada_client.get("/orders/", {"sort": "total"}, headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.strip().startswith('<section id="order-list"')
    assert 'hx-swap-oob="true"' in response.text
    assert '<input type="hidden" name="sort" value="total">' in response.text
    assert "HX-Request" in response["Vary"]


def test_it_answers_a_history_restore_with_the_whole_page(ada_client):
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    response = ada_client.get("/orders/", headers=headers)
    assert "<html" in response.text
    assert 'hx-swap-oob="true"' not in response.text


def test_it_works_as_a_plain_form(ada_client):
    html = ada_client.get("/orders/").text
    assert '<form method="get" action="/orders/"' in html
    assert 'hx-push-url="true"' in html


def test_it_shows_the_friendly_page_when_nue_fails(ada_client):
    with faults.inject("orders", "GET", status=200, body="malformed"):
        response = ada_client.get("/orders/")
    assert response.status_code == 502
    assert "Try again" in response.text


def test_it_shows_the_error_partial_to_htmx(ada_client):
    with faults.inject("orders", "GET", status=200, body="malformed"):
        response = ada_client.get("/orders/?status=draft", headers=HTMX)
    assert response.status_code == 502
    assert "<html" not in response.text
    assert 'id="order-list"' in response.text
    assert 'hx-get="/orders/?status=draft"' in response.text


def test_it_rejects_post(ada_client):
    assert ada_client.post("/orders/").status_code == 405


def test_it_hides_the_page_from_staff_without_a_customer(maria_client):
    assert maria_client.get("/orders/").status_code == 404


def test_it_ignores_a_tampered_page_or_sort(ada_client):
    response = ada_client.get("/orders/", {"page": "abc", "sort": "evil", "dir": "up"})
    assert response.status_code == 200
    assert "Page 1 of" in response.text


def test_it_answers_a_list_nue_says_is_missing_as_an_upstream_failure(ada_client):
    from nue_emulator import faults

    with faults.inject("orders", "GET", status=404):
        response = ada_client.get("/orders/")
    page = response.content.decode()
    assert response.status_code == 502
    assert "answered with an error" in page
    assert "couldn't find that page" not in page
