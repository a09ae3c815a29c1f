"""Every figure a customer sees is Nue's, in the currency Nue names.

For every order the demo tenant holds (Acme and Initech in USD, Globex in EUR) and every order of
a bulk tenant, Nue's own header satisfies list - discount = subtotal and subtotal + tax = total,
and the order page, the account manager's draft page and the CSV row show exactly those figures
in the order's currency: none added to another, none recomputed. Globex's are read a second time
as Grace reads them, written the German way.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from nue_emulator import history
from nue_emulator.seed import demo_uuid
from orders.nue import Order
from orders.scope import for_customer
from portal.models import CustomerAccount, Membership, Role, User
from tests.conftest import signed_in
from tests.orders import figures

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_no_faults", "_clear_cache")]

DEMO = {"Acme Corporation": "USD", "Globex GmbH": "EUR", "Initech LLC": "USD"}
BULK = "Bulk Figures Inc."
# Enough to cover every status the bulk generator writes, several times over, and stay fast.
BULK_ORDERS = 48


def admin_of(name: str, customer_id: str, language: str = "") -> tuple[CustomerAccount, Client]:
    account = CustomerAccount.objects.filter(nue_customer_id=customer_id).first()
    if account is None:
        account = CustomerAccount.objects.create(nue_customer_id=customer_id, name=name)
    email = f"figures-{account.pk}-{language or 'browser'}@figures.example"
    user = User.objects.create_user(email=email, language=language)
    Membership.objects.create(user=user, account=account, role=Role.ADMIN)
    return account, signed_in(user)


def demo_customer_id(name: str) -> str:
    from nue_emulator.models import Customer

    return next(c.id for c in Customer.objects.all() if c.doc["name"] == name)


def assert_nues_invariants(order: Order) -> None:
    where = f"{order.order_number} ({order.customer_name})"
    assert order.subtotal is not None, where
    assert order.list_total - order.discount_amount == order.subtotal, where
    assert order.subtotal + order.tax_amount == order.grand_total, where
    # The price-tag part of the discount is part of it, never more.
    assert 0 <= order.system_discount_amount <= order.discount_amount, where


def csv_figures(client: Client) -> dict[str, dict[str, Decimal | str]]:
    response = client.get(reverse("orders:order_export"))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    names = {"list": "List total", "discount": "Discount", "subtotal": "Subtotal"}
    names |= {"tax": "Tax", "total": "Total"}
    return {
        row["Order number"]: {
            **{key: Decimal(row[column]) for key, column in names.items()},
            "currency": row["Currency"],
        }
        for row in rows
    }


def check_customer(
    account: CustomerAccount, client: Client, reviewer: Client | None, currency: str
) -> int:
    scope = for_customer(account)
    assert scope is not None
    orders = scope.orders()
    assert orders
    exported = csv_figures(client)
    assert set(exported) == {o.order_number for o in orders}
    for listed in orders:
        order = scope.order(listed.id, fresh=True)
        assert order.currency == currency, order.order_number
        assert_nues_invariants(order)
        nue = figures.nues(order)
        page = client.get(reverse("orders:order_detail", args=[order.id]))
        assert page.status_code == 200
        assert figures.shown(page.text, currency) == nue, order.order_number
        assert exported[order.order_number] == {**without_tags(nue), "currency": currency}
        if reviewer is not None and order.is_draft:
            url = reverse("orders:review_draft", args=[account.pk, order.id])
            review = reviewer.get(url)
            assert review.status_code == 200
            assert figures.shown(review.text, currency) == nue, order.order_number
        if order.is_draft:
            quote = quoted(scope.magic_link(order.id).url, currency)
            assert quote == without_tags(nue), order.order_number
    return len(orders)


def without_tags(nue: dict[str, Decimal]) -> dict[str, Decimal]:
    return {k: v for k, v in nue.items() if k != "tag-discount"}


QUOTE_ROW = re.compile(r'<tr(?: class="grand")?><td>([^<]+)</td><td class="num">([^<]+)</td></tr>')
QUOTE_NAMES = {
    "List total": "list",
    "Discount": "discount",
    "Subtotal": "subtotal",
    "Tax": "tax",
    "Total": "total",
}


def quoted(url: str, currency: str) -> dict[str, Decimal]:
    """The totals of the quote a draft's magic link opens (Nue's page, shown as it prints it:
    the discount with a minus sign in front, as an amount taken off)."""
    page = Client().get(urlsplit(url).path)
    assert page.status_code == 200
    rows = QUOTE_ROW.findall(page.content.decode())
    shown = {QUOTE_NAMES[label]: text for label, text in rows}
    assert shown["discount"].startswith("\u2212")
    shown["discount"] = shown["discount"].removeprefix("\u2212")
    assert f"Prices in {currency}." in page.content.decode()
    return {key: figures.amount(text, currency) for key, text in shown.items()}


def test_it_shows_nues_figures_for_every_order_of_the_demo_tenant(maria_client):
    seen: dict[str, int] = {}
    with_discount_and_tax = 0
    for name, currency in DEMO.items():
        account, client = admin_of(name, demo_customer_id(name))
        in_book = name != "Initech LLC"  # Maria's book holds Acme and Globex
        seen[name] = check_customer(account, client, maria_client if in_book else None, currency)
        scope = for_customer(account)
        assert scope is not None
        with_discount_and_tax += sum(
            1 for o in scope.orders() if o.discount_amount and o.tax_amount
        )
    assert all(seen.values()), seen
    # The demo tenant holds a tagged order with tax (Acme's first Pro seats): it is opened above.
    assert with_discount_and_tax >= 1


def test_it_shows_nues_figures_in_german_for_every_order_of_the_eur_customer():
    account, client = admin_of("Globex GmbH", demo_customer_id("Globex GmbH"), language="de")
    page = client.get(reverse("orders:order_list"))
    assert "\xa0€" in page.text
    assert "$" not in page.text
    assert check_customer(account, client, None, "EUR") >= 5


def test_it_shows_nues_figures_for_every_order_of_a_bulk_tenant():
    history.seed_bulk(BULK, BULK_ORDERS)
    account, client = admin_of(BULK, demo_uuid(f"customer:bulk:{BULK}"))
    assert check_customer(account, client, None, "USD") == BULK_ORDERS
