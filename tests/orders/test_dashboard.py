"""The dashboard at / for a customer member: panels, spend chart, per-panel failures and retries."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from nue_emulator import faults
from orders.actions.invoices import is_open
from orders.templatetags import charts
from orders.templatetags.money import money

from .conftest import ok, order_json

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_no_faults", "_clear_cache")]

HTMX = {"HX-Request": "true"}


def section(html: str, dom_id: str) -> str:
    match = re.search(rf'<section id="{dom_id}".*?</section>', html, re.S)
    assert match, f"no #{dom_id} in the page"
    return match.group(0)


def test_it_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_shows_the_customers_subscriptions_orders_and_billing(ada_client, acme_nue):
    response = ada_client.get("/")
    assert response.status_code == 200
    html = response.text
    subscriptions = section(html, "subscriptions-panel")
    assert "Pro Plan (US)" in subscriptions
    assert "Platform Suite" in subscriptions
    # The Insights trial ends within 90 days.
    assert "Renewals due in the next 90 days" in subscriptions
    activity = section(html, "activity-panel")
    drafts = [o for o in acme_nue.orders() if o.is_draft]
    for draft in drafts:
        assert draft.order_number in activity
    assert "Change order" in activity
    latest = re.findall(r'<th scope="row"><a href="/orders/[^"]+/">', activity)
    assert len(latest) == 5
    billing = section(html, "billing-panel")
    assert "Overdue" in billing
    assert "$90.00" in billing  # the one overdue invoice of the demo tenant


def test_it_lists_each_invoice_due_with_nues_balance_and_adds_none_up(ada_client, acme_nue):
    billing = section(ada_client.get("/").text, "billing-panel")
    due = [i for i in acme_nue.every_invoice() if is_open(i)]
    assert due
    stats = re.search(r'<dl class="dashboard-stats">.*?</dl>', billing, re.S)
    assert stats
    # Counts, not money: a sum of balances is a figure Nue never gave.
    assert "$" not in stats.group(0)
    assert re.search(rf"Invoices due</dt>\s*<dd class=\"stat\">{len(due)}</dd>", stats.group(0))
    rows = re.findall(
        r'<th scope="row"><a class="mono" href="/invoices/([^/]+)/">.*?'
        r'<td class="num">([^<]+)</td>',
        billing,
        re.S,
    )
    assert dict(rows) == {i.id: money(i.balance, i.currency) for i in due}


def test_it_draws_the_spend_chart_with_a_table_behind_it(ada_client):
    billing = section(ada_client.get("/").text, "billing-panel")
    assert '<svg class="spend-chart__svg"' in billing
    assert "style=" not in billing
    assert len(re.findall(r'<rect class="spend-chart__bar"', billing)) == 12
    table = re.search(r'<table class="visually-hidden">.*?</table>', billing, re.S)
    assert table
    assert len(re.findall(r'<th scope="row">', table.group(0))) == 12


def test_it_never_shows_another_customers_data(grace_client, acme_nue):
    html = grace_client.get("/").text
    assert "Pro Plan (EU)" in html
    assert "Acme" not in html
    for order in acme_nue.orders():
        assert order.id not in html


def test_it_keeps_the_welcome_page_for_staff_without_a_customer(maria_client):
    response = maria_client.get("/")
    assert response.status_code == 200
    assert "book of customers" in response.text
    assert 'id="billing-panel"' not in response.text


def test_it_rejects_post(ada_client):
    assert ada_client.post("/").status_code == 405


def test_it_loses_only_the_panel_whose_read_failed(ada_client):
    with faults.inject("customer-invoices", "GET", status=200, body="malformed"):
        response = ada_client.get("/")
    assert response.status_code == 200
    billing = section(response.text, "billing-panel")
    assert 'role="alert"' in billing
    assert "Reference:" in billing
    assert 'hx-get="/dashboard/billing-panel/"' in billing
    assert 'hx-target="#billing-panel"' in billing
    assert 'href="/"' in billing
    assert "Pro Plan (US)" in section(response.text, "subscriptions-panel")
    assert "Latest orders" in section(response.text, "activity-panel")


def test_it_reloads_one_panel_for_htmx(ada_client):
    response = ada_client.get("/dashboard/billing-panel/", headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.strip().startswith('<section id="billing-panel"')
    assert "HX-Request" in response["Vary"]


def test_it_sends_a_plain_panel_request_to_the_dashboard(ada_client):
    response = ada_client.get("/dashboard/activity-panel/")
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_it_answers_404_for_an_unknown_panel(ada_client):
    assert ada_client.get("/dashboard/nothing/", headers=HTMX).status_code == 404


def test_it_shows_the_error_partial_when_a_panel_retry_fails(ada_client):
    headers = {**HTMX, "HX-Target": "subscriptions-panel"}
    with faults.inject("subscriptions", "GET", status=200, body="malformed"):
        response = ada_client.get("/dashboard/subscriptions-panel/", headers=headers)
    assert response.status_code == 502
    assert 'id="subscriptions-panel"' in response.text
    assert "Try again" in response.text
    assert "<html" not in response.text


def test_it_hides_the_panels_from_staff_without_a_customer(maria_client):
    assert maria_client.get("/dashboard/billing-panel/", headers=HTMX).status_code == 404


def test_it_links_to_the_history_when_many_drafts_wait(ada, ada_client, nue_mock):
    customer_id = ada.memberships.get().account.nue_customer_id
    drafts = [
        order_json(f"00000000-0000-4000-8000-{n:012d}", customer_id, number=n) for n in range(1, 10)
    ]
    nue_mock.get("/orders").mock(return_value=ok(drafts))
    nue_mock.get("/subscriptions").mock(return_value=ok([]))
    nue_mock.get(url__regex=r"/customers/.+/invoices").mock(
        return_value=ok([], pagination={"page": 1, "limit": 500, "total": 0})
    )
    activity = section(ada_client.get("/").text, "activity-panel")
    assert activity.count('class="order-card"') == 6
    assert 'href="/orders/?status=draft">All 9 drafts</a>' in activity
    billing = section(ada_client.get("/").text, "billing-panel")
    assert "Nothing to pay" in billing


def test_it_shows_an_order_number_once(ada, ada_client, nue_mock):
    customer_id = ada.memberships.get().account.nue_customer_id
    named = order_json("00000000-0000-4000-8000-000000000001", customer_id, number=1)
    named["name"] = "Change order O-00000001"
    custom = order_json("00000000-0000-4000-8000-000000000002", customer_id, number=2)
    custom["name"] = "Seats for the Berlin office"
    nue_mock.get("/orders").mock(return_value=ok([named, custom]))
    nue_mock.get("/subscriptions").mock(return_value=ok([]))
    nue_mock.get(url__regex=r"/customers/.+/invoices").mock(
        return_value=ok([], pagination={"page": 1, "limit": 500, "total": 0})
    )
    activity = section(ada_client.get("/").text, "activity-panel")
    # Once in the awaiting card and once in the latest orders, each time inside the name.
    assert activity.count("O-00000001") == 2
    # A name without the number is followed by it.
    assert activity.count("O-00000002") == 2
    assert '<span class="muted mono">O-00000002</span>' in activity


@pytest.mark.parametrize("largest", [Decimal("90"), Decimal("11647.65"), Decimal("987654.32")])
def test_the_axis_labels_fit_left_of_the_axis(largest):
    months = [
        (date(2026, month, 1), largest if month == 7 else Decimal(0)) for month in range(1, 13)
    ]
    chart = charts.layout(months)
    # 12 px type is at most about 7 units a character; the SVG starts at 0.
    for tick in chart["ticks"]:
        assert "." not in tick.label
        assert len(tick.label) * 7 <= float(chart["axis_x"])
