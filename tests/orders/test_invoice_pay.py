"""How an open invoice is paid: Nue's payment page when Nue gives one, else the tenant's remittance
details and the account manager; never for an invoice Nue does not say is open."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from django.utils import timezone

from orders.actions.invoices import is_open
from orders.templatetags.money import money
from tests.orders.conftest import upstream

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_no_faults", "_clear_cache")]

ALL = {"per_page": 100}
PAY_URL = "https://pay.nue.example/i/"
REMITTANCE = "Bank transfer to Example Vendor Inc.\nIBAN DE00 1234 5678 9000 0000 00"


def row_of(html: str, name: str) -> str:
    found = re.search(rf"<tr[^>]*>\s*<th[^>]*><a[^>]*>{name}</a>.*?</tr>", html, re.S)
    assert found is not None, name
    return found.group(0)


def with_payment_links(request: httpx.Request, emulator: httpx.BaseTransport) -> httpx.Response:
    """Nue Payment Links: every invoice carries its Stripe-hosted page (nue-api.md §2.8)."""
    body = json.loads(emulator.handle_request(request).read())
    for invoice in body["data"] if isinstance(body["data"], list) else [body["data"]]:
        invoice["paymentHostedUrl"] = PAY_URL + invoice["name"]
    return httpx.Response(200, json=body)


@pytest.fixture
def acme_invoices(acme_nue):
    return acme_nue.every_invoice()


@pytest.fixture
def _remittance(settings):
    settings.PORTAL_REMITTANCE_DETAILS = REMITTANCE


def test_it_offers_nues_payment_page_for_open_invoices_only(ada_client, acme_invoices):
    with upstream("GET", "/invoices", with_payment_links):
        html = ada_client.get("/invoices/", ALL).text
    open_ones = [i for i in acme_invoices if is_open(i)]
    assert open_ones
    assert len(open_ones) < len(acme_invoices)
    for invoice in acme_invoices:
        row = row_of(html, invoice.name)
        link = f'href="{PAY_URL}{invoice.name}"'
        if is_open(invoice):
            assert link in row
            assert f"Pay {money(invoice.balance, invoice.currency)} now" in row
            assert "opens the payment page" in row
        else:
            assert link not in row
            assert "Pay " not in row
            assert "Nothing to pay" in row


def test_it_offers_the_payment_page_on_an_open_invoice(ada_client, acme_invoices):
    invoice = next(i for i in acme_invoices if is_open(i))
    with upstream("GET", f"/invoices/{invoice.id}", with_payment_links):
        html = ada_client.get(f"/invoices/{invoice.id}/").text
    assert f'<a class="button" href="{PAY_URL}{invoice.name}"' in html
    assert f"Pay {money(invoice.balance, invoice.currency)} now" in html
    assert "There is no online payment" not in html


def test_it_never_offers_payment_for_a_paid_invoice(ada_client, acme_invoices):
    paid = next(i for i in acme_invoices if i.payment_status == "Paid")
    with upstream("GET", f"/invoices/{paid.id}", with_payment_links):
        html = ada_client.get(f"/invoices/{paid.id}/").text
    assert PAY_URL not in html
    assert 'id="how-to-pay"' not in html
    assert "Paid" in html


@pytest.mark.parametrize(
    "change",
    [
        {"paymentStatus": "Paid", "balance": 10},  # Nue says paid: its stale balance is not due
        {"status": "Draft"},  # not issued yet
        {"status": "Canceled"},
        {"balance": 0},
        {"paymentStatus": "WrittenOff"},
    ],
)
def test_it_offers_no_payment_unless_nue_says_a_balance_is_due(ada_client, acme_invoices, change):
    invoice = next(i for i in acme_invoices if is_open(i))

    def answer(request, emulator):
        body = json.loads(emulator.handle_request(request).read())
        body["data"].update(change, paymentHostedUrl=PAY_URL + invoice.name)
        return httpx.Response(200, json=body)

    with upstream("GET", f"/invoices/{invoice.id}", answer):
        html = ada_client.get(f"/invoices/{invoice.id}/").text
    assert PAY_URL not in html
    assert 'id="how-to-pay"' not in html


def test_it_shows_paid_only_when_nue_says_so(ada_client, acme_invoices):
    invoice = next(i for i in acme_invoices if is_open(i))

    def answer(request, emulator):
        body = json.loads(emulator.handle_request(request).read())
        body["data"].update(balance=0, paymentStatus="Transferred")
        return httpx.Response(200, json=body)

    with upstream("GET", f"/invoices/{invoice.id}", answer):
        html = ada_client.get(f"/invoices/{invoice.id}/").text
    assert ">Paid<" not in html


@pytest.mark.usefixtures("_remittance")
def test_it_says_how_to_pay_where_nue_gives_no_payment_page(ada_client, acme_invoices, maria):
    overdue = next(i for i in acme_invoices if is_open(i) and i.due_date < timezone.localdate())
    html = ada_client.get(f"/invoices/{overdue.id}/").text
    block = html[html.index('id="how-to-pay"') :]
    assert f"Pay {money(overdue.balance, overdue.currency)}, overdue" in block
    assert "There is no online payment for this invoice" in block
    assert "Bank transfer to Example Vendor Inc.<br>IBAN DE00 1234 5678 9000 0000 00" in block
    assert f'quote invoice <strong class="mono">{overdue.name}</strong>' in block
    assert "Maria Manager (<a" in block
    assert f"mailto:{maria.email}" in block
    assert " now" not in block
    listed = ada_client.get("/invoices/", ALL).text
    assert f'href="/invoices/{overdue.id}/#how-to-pay">How to pay' in row_of(listed, overdue.name)


def test_it_names_only_the_account_manager_without_remittance_details(
    ada_client, acme_invoices, settings, maria
):
    settings.PORTAL_REMITTANCE_DETAILS = ""
    invoice = next(i for i in acme_invoices if is_open(i))
    html = ada_client.get(f"/invoices/{invoice.id}/").text
    assert maria.email in html
    assert "remittance__details" not in html


def test_it_shows_a_viewer_how_to_pay_but_no_payment_button(ben_client, acme_invoices):
    invoice = next(i for i in acme_invoices if is_open(i))
    with upstream("GET", f"/invoices/{invoice.id}", with_payment_links):
        response = ben_client.get(f"/invoices/{invoice.id}/")
    assert response.status_code == 200
    assert PAY_URL not in response.text
    assert "your role views invoices only" in response.text
    with upstream("GET", "/invoices", with_payment_links):
        listed = ben_client.get("/invoices/", ALL).text
    assert PAY_URL not in listed


def test_it_shows_each_demo_invoice_with_nues_figures(
    ada_client, grace_client, acme_nue, globex_nue
):
    # Grace reads German: her invoice page labels the figures in German and offers
    # "<amount> bezahlen".
    for client, nue, amount_label, balance_label, pay in (
        (ada_client, acme_nue, "Amount", "Balance", "Pay {}"),
        (grace_client, globex_nue, "Betrag", "Offener Betrag", "{} bezahlen"),
    ):
        invoices = nue.every_invoice()
        assert invoices
        listed = client.get("/invoices/", ALL).text
        for invoice in invoices:
            row = row_of(listed, invoice.name)
            assert f'<td class="num">{money(invoice.amount, invoice.currency)}</td>' in row
            assert f'<td class="num">{money(invoice.balance, invoice.currency)}</td>' in row
            html = client.get(f"/invoices/{invoice.id}/").text
            amount = money(invoice.amount, invoice.currency)
            assert f'<dt>{amount_label}</dt><dd class="num">{amount}</dd>' in html
            balance = money(invoice.balance, invoice.currency)
            assert f'<dt>{balance_label}</dt><dd class="num">{balance}</dd>' in html
            if is_open(invoice):
                assert pay.format(money(invoice.balance, invoice.currency)) in html
            else:
                assert 'id="how-to-pay"' not in html
