"""The demo seed: idempotent, deterministic ids, and the bulk customer."""

from __future__ import annotations

from django.core.management import call_command

from nue_emulator.models import Contact, Customer, Invoice, Order, Product, Subscription
from nue_emulator.seed import demo_uuid
from tests.nue_emulator.conftest import ACME


def counts():
    return [m.objects.count() for m in (Customer, Contact, Product, Order, Subscription, Invoice)]


def test_it_seeds_idempotently(seeded):
    before = counts()
    call_command("seed_emulator", verbosity=0)
    assert counts() == before
    assert Customer.objects.get(id=ACME).name == "Acme Corporation"
    emails = set(Contact.objects.values_list("email", flat=True))
    assert {"ada@acme.example", "ben@acme.example", "grace@globex.example"} <= emails


def test_it_seeds_a_history_for_dashboards(seeded):
    acme = Order.objects.filter(customer_id=ACME)
    assert acme.filter(status="Activated").count() >= 15
    assert acme.filter(status="Draft").count() >= 5
    assert acme.filter(status="Canceled").count() >= 5
    dates = sorted(Invoice.objects.filter(customer_id=ACME).values_list("invoice_date", flat=True))
    assert (dates[-1] - dates[0]).days > 365


def test_it_adds_bulk_orders_once(seeded):
    call_command(
        "seed_emulator", "--bulk-orders", "120", "--bulk-customer-name", "Bulk Test", verbosity=0
    )
    bulk = demo_uuid("customer:bulk:Bulk Test")
    assert Order.objects.filter(customer_id=bulk).count() == 120
    call_command(
        "seed_emulator", "--bulk-orders", "120", "--bulk-customer-name", "Bulk Test", verbosity=0
    )
    assert Order.objects.filter(customer_id=bulk).count() == 120
    numbers = list(Order.objects.filter(customer_id=bulk).values_list("number", flat=True))
    assert len(set(numbers)) == 120


def test_it_seeds_one_time_products_only_as_the_account_managers_orders(seeded):
    """Self-service new orders sell subscriptions only (new-orders.txt), so no draft holds a
    one-time product; the account manager's activated orders brought the keys and onboarding."""
    one_time = {"ONBOARDING-FEE", "SECURITY-KEY"}

    def skus(order):
        return {line["productSku"] for line in order.doc["orderProducts"]}

    drafts = Order.objects.filter(status="Draft", order_type="New")
    assert drafts.exists()
    assert not any(skus(order) & one_time for order in drafts)
    activated = Order.objects.filter(customer_id=ACME, status="Activated")
    assert any("SECURITY-KEY" in skus(order) for order in activated)
