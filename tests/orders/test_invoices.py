"""/invoices/ and /invoices/<id>/: paging, overdue, PDF links, items, 404s, failures."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from django.utils import timezone

from nue_emulator import faults
from tests.orders.conftest import upstream

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_no_faults", "_clear_cache")]

HTMX = {"HX-Request": "true", "HX-Target": "invoice-list"}


def names(html: str) -> list[str]:
    return re.findall(r'<a class="mono" href="/invoices/[^"]+/">(INV-\d+)</a>', html)


def test_it_requires_login(client):
    response = client.get("/invoices/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_pages_the_customers_invoices(ada_client, acme_nue):
    everything = acme_nue.invoices(limit=100)
    first = ada_client.get("/invoices/", {"per_page": 10})
    assert first.status_code == 200
    assert names(first.text) == [i.name for i in everything.items[:10]]
    assert f"{everything.total} invoices" in first.text
    assert 'href="?per_page=10&amp;page=2"' in first.text
    second = ada_client.get("/invoices/", {"per_page": 10, "page": 2})
    assert names(second.text) == [i.name for i in everything.items[10:20]]
    assert 'rel="prev"' in second.text


def test_it_highlights_overdue_invoices_and_links_pdfs(ada_client, acme_nue):
    html = ada_client.get("/invoices/", {"per_page": 100}).text
    overdue = re.findall(r'<tr class="row--overdue">.*?</tr>', html, re.S)
    assert len(overdue) == 1
    assert "Overdue" in overdue[0]
    assert "$90.00" in overdue[0]
    assert html.count("/view-invoice/") == acme_nue.invoices(limit=100).total


def test_it_never_lists_another_customers_invoices(grace_client, acme_nue):
    shown = set(names(grace_client.get("/invoices/", {"per_page": 100}).text))
    assert shown
    assert not shown & {i.name for i in acme_nue.invoices(limit=100).items}


def test_it_answers_htmx_with_the_list_partial(ada_client):
    response = ada_client.get("/invoices/", {"page": 2, "per_page": 10}, headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.strip().startswith('<section id="invoice-list"')
    assert "HX-Request" in response["Vary"]


def test_it_shows_an_invoice_with_items_and_periods(ada_client, acme_nue):
    invoice = next(i for i in acme_nue.invoices(limit=100).items if i.amount > 1000)
    response = ada_client.get(f"/invoices/{invoice.id}/")
    assert response.status_code == 200
    html = response.text
    assert invoice.name in html
    for item in invoice.items:
        assert item.product_name in html
    assert f"Invoice {invoice.name} (PDF, opens Nue's copy)" in html
    assert "Service period" in html


def test_it_says_in_plain_words_what_transferred_means(ada_client, acme_nue):
    invoices = acme_nue.invoices(limit=100).items
    invoice = next(i for i in invoices if i.payment_status == "Transferred")
    listed = ada_client.get("/invoices/", {"per_page": 100}).text
    row = re.search(rf"<tr[^>]*>\s*<th[^>]*><a[^>]*>{invoice.name}</a>.*?</tr>", listed, re.S)
    assert row is not None
    assert "Sent to the payment system" in row.group(0)
    assert "Transferred" not in row.group(0)
    html = ada_client.get(f"/invoices/{invoice.id}/").text
    assert "The invoice was sent to the payment system" in html
    assert "Transferred" not in html


def test_it_marks_an_overdue_invoice(ada_client, acme_nue):
    today = timezone.localdate()
    overdue = next(
        i
        for i in acme_nue.invoices(limit=100).items
        if i.balance and i.due_date is not None and i.due_date < today
    )
    html = ada_client.get(f"/invoices/{overdue.id}/").text
    assert "This invoice was due on" in html


@pytest.mark.parametrize("invoice_id", ["INV-99999999", "nope"])
def test_it_answers_404_for_unknown_ids(ada_client, invoice_id):
    assert ada_client.get(f"/invoices/{invoice_id}/").status_code == 404


def test_it_answers_404_for_every_invoice_of_another_customer(ada_client, globex_nue):
    for invoice in globex_nue.invoices(limit=100).items:
        for key in (invoice.id, invoice.name):
            assert ada_client.get(f"/invoices/{key}/").status_code == 404, key


@pytest.mark.parametrize(("route", "url"), [("customer-invoices", "/invoices/")])
def test_it_shows_the_friendly_page_when_nue_fails(ada_client, route, url):
    with faults.inject(route, "GET", status=200, body="malformed"):
        response = ada_client.get(url)
    assert response.status_code == 502


def test_it_shows_the_friendly_page_when_an_invoice_read_fails(ada_client, acme_nue):
    invoice = acme_nue.invoices().items[0]
    with faults.inject("customer-invoice", "GET", status=200, body="malformed"):
        response = ada_client.get(f"/invoices/{invoice.id}/")
    assert response.status_code == 502


def test_it_rejects_post(ada_client):
    assert ada_client.post("/invoices/").status_code == 405


def test_it_ignores_a_tampered_page(ada_client):
    response = ada_client.get("/invoices/", {"page": "abc", "per_page": "7"})
    assert response.status_code == 422
    assert names(response.text)
    assert ada_client.get("/invoices/", {"page": "abc"}).status_code == 200


@pytest.mark.parametrize(
    "link",
    ["javascript:alert(document.cookie)", " javascript:alert(1)", "data:text/html,<b>x</b>", "//x"],
)
def test_it_renders_only_http_links_nue_gives(ada_client, acme_nue, link):
    invoice = next(i for i in acme_nue.invoices(limit=100).items if i.invoice_pdf)

    def with_link(request: httpx.Request, emulator: httpx.BaseTransport) -> httpx.Response:
        answer = json.loads(emulator.handle_request(request).read())
        answer["data"]["invoicePdf"] = answer["data"]["paymentHostedUrl"] = link
        return httpx.Response(200, json=answer)

    with upstream("GET", f"/invoices/{invoice.id}", with_link) as nue:
        html = ada_client.get(f"/invoices/{invoice.id}/").text
    assert nue.calls == 1
    assert invoice.name in html
    assert "(PDF, opens Nue" not in html
    assert " now" not in html
    assert link.strip() not in html
