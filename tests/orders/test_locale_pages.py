"""Each person's pages: amounts in the currency Nue names for each record, written the way their
language writes money; dates and times in their format and zone; "today" their own day.

Globex is billed in EUR and Grace reads the portal in German, in Berlin time (tests/demo.py).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from orders.actions import approvals
from orders.scope import CustomerNue
from portal.models import CustomerAccount, User
from tests import demo
from tests.conftest import signed_in
from tests.orders import figures
from tests.orders.approval_helpers import GLOBEX, big_draft, lower_limit, make_buyer
from tests.orders.purchase_helpers import PRO, entry_id
from tests.outbox import deliver

pytestmark = pytest.mark.django_db

NBSP = "\xa0"
GERMAN_EUR = re.compile(r"\u2212?[\d.]+,\d\d\xa0€")


@pytest.fixture
def globex() -> CustomerAccount:
    return CustomerAccount.objects.get(name=demo.GLOBEX)


@pytest.fixture
def globex_nue(globex) -> CustomerNue:
    return CustomerNue(globex)


def csv_rows(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


# Money --------------------------------------------------------------------------------------


def test_nue_names_globexs_currency_on_every_record(globex_nue):
    assert {o.currency for o in globex_nue.orders()} == {"EUR"}
    assert {i.currency for i in globex_nue.invoices(page=1, limit=100).items} == {"EUR"}
    assert {s.currency for s in globex_nue.subscriptions()} == {"EUR"}
    catalog = globex_nue.catalog()
    assert catalog
    assert {e.currency for p in catalog for e in p.price_book_entries} == {"EUR"}


def test_grace_reads_globexs_invoices_in_euros_the_german_way(grace_client, globex_nue):
    page = grace_client.get(reverse("orders:invoice_list"), {"per_page": 100}).text
    assert "$" not in page
    invoices = globex_nue.invoices(page=1, limit=100).items
    assert invoices
    for invoice in invoices:
        row = page[page.index(f"/invoices/{invoice.id}/") :]
        amounts = re.findall(r'<td class="num">([^<]+)</td>', row)[:2]
        assert [figures.amount(text, "EUR") for text in amounts] == [
            invoice.amount,
            invoice.balance,
        ]
        assert all(GERMAN_EUR.fullmatch(text) for text in amounts)


def test_ada_reads_acmes_invoices_in_dollars(ada_client):
    page = ada_client.get(reverse("orders:invoice_list")).text
    assert "€" not in page
    assert re.search(r'<td class="num">\$[\d,]+\.\d\d</td>', page)


def test_globexs_catalog_is_priced_in_euros(grace_client, globex_nue):
    page = grace_client.get(reverse("orders:new_order")).text
    starter = next(p for p in globex_nue.catalog() if p.sku == "PLAN-STARTER-EU")
    (entry,) = starter.price_book_entries
    assert (entry.currency, entry.list_price) == ("EUR", entry.list_price)
    assert f"{entry.list_price:.2f}".replace(".", ",") + f"{NBSP}€" in page
    assert "$" not in page


def test_the_spend_chart_is_in_the_invoices_currency(grace_client, ada_client):
    billing = grace_client.get("/").text
    chart = billing[billing.index('<figure class="spend-chart"') :]
    chart = chart[: chart.index("</figure>")]
    assert 'id="spend-eur-caption"' in chart
    assert "€" in chart
    assert "$" not in chart
    # German month names, German separators on the axis.
    assert re.search(r">\d{1,3}(\.\d{3})*\xa0€</text>", chart)
    acme = ada_client.get("/").text
    assert 'id="spend-usd-caption"' in acme


def test_the_csv_keeps_plain_numbers_and_names_the_currency(grace_client, ada_client):
    for client, currency in ((grace_client, "EUR"), (ada_client, "USD")):
        for url in (reverse("orders:order_export"), reverse("orders:invoice_export")):
            rows = csv_rows(client.get(url))
            assert rows
            assert {row["Currency"] for row in rows} == {currency}
            amount = rows[0]["Total"] if "Total" in rows[0] else rows[0]["Amount"]
            assert re.fullmatch(r"-?\d+\.\d\d", amount), amount


def test_an_approval_mail_is_in_the_orders_currency_and_the_recipients_language(
    globex, maria, django_capture_on_commit_callbacks
):
    lower_limit(GLOBEX)
    buyer = make_buyer("buyer@globex.example", GLOBEX)
    order = big_draft(GLOBEX)
    assert order.currency == "EUR"
    maria.language = "de"
    maria.save()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        approval = approvals.request_approval(globex, order, requester=buyer, comment="")
    assert approval.figures["currency"] == "EUR"
    deliver()
    (message,) = [m for m in mail.outbox if m.to == [demo.MARIA]]
    total = f"{order.total:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    assert f"Gesamt: {total}{NBSP}€" in message.body  # Maria reads German here
    maria.language = "en"
    maria.save()
    mail.outbox.clear()
    approvals.notify_approvers(approval)
    deliver()
    (message,) = [m for m in mail.outbox if m.to == [demo.MARIA]]
    assert f"Total: €{order.total:,.2f}" in message.body


def test_the_review_book_shows_each_customer_in_its_currency(maria_client):
    page = maria_client.get(reverse("orders:review")).text
    acme = page[page.index(demo.ACME) :]
    globex = page[page.index(demo.GLOBEX) :]
    assert re.search(r'class="stat">\$[\d,]+\.\d\d<', acme)
    assert re.search(r'class="stat">€[\d,]+\.\d\d<', globex)


# Dates and times ----------------------------------------------------------------------------


def test_grace_reads_dates_the_german_way(grace_client, globex_nue):
    order = next(o for o in globex_nue.orders() if o.activated_date)
    page = grace_client.get(reverse("orders:order_detail", args=[order.id])).text
    assert f">{order.activated_date:%d.%m.%Y}</time>" in page or (
        f">{order.order_placed_date:%d.%m.%Y}</time>" in page
    )
    assert f"{order.created_date:%b}" not in page or f"{order.created_date:%b}" == "Mar"


def test_a_date_filter_reads_and_shows_the_german_format(grace_client, globex_nue):
    response = grace_client.get(reverse("orders:order_list"), {"date_from": "01.01.2000"})
    assert response.status_code == 200
    assert 'value="01.01.2000"' in response.text
    assert 'placeholder="23.11.2026"' in response.text
    refused = grace_client.get(reverse("orders:order_list"), {"date_from": "2000/01/01"})
    assert "Geben Sie ein Datum wie 23.11.2026 ein." in refused.text
    assert 'value="2000/01/01"' in refused.text
    # A link in ISO 8601 still works, and the field shows it the German way.
    linked = grace_client.get(reverse("orders:order_list"), {"date_from": "2000-01-01"})
    assert 'value="01.01.2000"' in linked.text


def test_an_english_date_filter_reads_the_english_format(ada_client):
    response = ada_client.get(reverse("orders:order_list"), {"date_from": "1 Jan 2000"})
    assert 'value="1 Jan 2000"' in response.text
    assert "Enter a date like" not in response.text


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        ("Europe/Berlin", "00:30</time>"),  # the next day there
        ("America/Los_Angeles", "15:30</time>"),
        ("", "23:30</time>"),  # no zone chosen: UTC
    ],
)
def test_an_approval_request_shows_its_time_in_the_readers_zone(globex, maria, zone, shown):
    lower_limit(GLOBEX)
    buyer = make_buyer("buyer@globex.example", GLOBEX)
    moment = _moment(23) - timedelta(days=1)
    with time_machine.travel(moment, tick=False):
        approval = approvals.request_approval(
            globex, big_draft(GLOBEX), requester=buyer, comment=""
        )
    maria.time_zone = zone
    maria.language = "en"
    maria.save()
    local = timezone.localtime(approval.requested_at, ZoneInfo(zone or "UTC"))
    page = signed_in(maria).get(reverse("orders:review_request", args=[approval.pk])).text
    assert f">{local.day} {local:%b %Y}, {shown}" in page


# "Today" is the person's day ----------------------------------------------------------------


def _person(email: str, zone: str) -> User:
    user = User.objects.get(email=email)
    user.time_zone = zone
    user.language = "en"
    user.save()
    return user


def _moment(hour: int) -> datetime:
    """Today (UTC) at `hour`:30 UTC: the demo's records are dated from the real today."""
    today = timezone.now().astimezone(UTC).date()
    return datetime(today.year, today.month, today.day, hour, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("hour", "zone", "days"),
    [
        (23, "Europe/Berlin", 1),  # 23:30 UTC is after midnight in Berlin: tomorrow there
        (23, "America/Los_Angeles", 0),
        (3, "Europe/Berlin", 0),
        (3, "America/Los_Angeles", -1),  # 03:30 UTC is still yesterday evening in California
        (3, "UTC", 0),
    ],
)
def test_a_new_order_starts_on_the_persons_today(hour, zone, days):
    ada = _person(demo.ADA, zone)
    moment = _moment(hour)
    local_today = (moment + timedelta(days=days)).date()
    with time_machine.travel(moment, tick=False):
        client = signed_in(ada)  # a session of that moment
        added = client.post(reverse("orders:new_order"), {"add": entry_id(PRO)})
        assert added.status_code == 302
        page = client.get(reverse("orders:new_order")).text
    field = re.search(r'<input type="text" name="l\w*-start_date"[^>]*>', page)
    assert field, "no start date field"
    assert f'value="{local_today.day} {local_today:%b %Y}"' in field[0]


@pytest.mark.parametrize(
    ("hour", "zone", "days"), [(23, "Europe/Berlin", 1), (3, "America/Los_Angeles", -1)]
)
def test_a_change_takes_effect_today_in_the_persons_zone(hour, zone, days):
    ada = _person(demo.ADA, zone)
    moment = _moment(hour)
    local_today = (moment + timedelta(days=days)).date()
    with time_machine.travel(moment, tick=False):
        url = reverse("orders:change_details", args=[demo.PRO, "quantity"])
        page = signed_in(ada).get(url).text
    assert f"Today, {local_today.day} {local_today:%b %Y}" in page
