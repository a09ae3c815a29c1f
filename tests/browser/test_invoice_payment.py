"""Browser journey (issue 24, item 5): Ada pays the demo's overdue invoice from its page with the
card on file. A 3-D Secure card: localstripe answers the off-session charge with requires_action,
the page runs Stripe.js's confirmCardPayment (localstripe's mock opens its challenge box), and
once completed Nue's invoice is paid. A card that saves but is declined when charged ends in a
clear message with the invoice still open. The card is saved beforehand without the browser
(the card form has its own journeys in test_card_on_file)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from orders.models import InvoicePayment
from portal.models import User
from tests import demo
from tests.conftest import signed_in
from tests.orders.payment_helpers import (
    DECLINED_ON_CHARGE,
    SECURE_3DS,
    emu_invoice,
    overdue_invoice,
    save_card,
)

from .conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def _open_overdue_invoice(page, base: str, number: str) -> str:
    save_card(signed_in(User.objects.get(email=demo.ADA)), base, number)
    invoice = overdue_invoice(demo.ACME_ID)
    sign_in(page, demo.ADA)
    page.goto(f"/invoices/{invoice.id}/")
    expect(page.locator("#how-to-pay")).to_contain_text("overdue")
    return invoice.id


def test_ada_pays_the_overdue_invoice_with_a_3d_secure_card(page, watch, stripe_on):
    invoice_id = _open_overdue_invoice(page, stripe_on, SECURE_3DS)
    page.get_by_role("button", name="Pay $90.00 with Visa ending 3184").click()
    expect(page.locator("#payment-under-way")).to_contain_text(
        "Your bank asks you to confirm the payment of $90.00 with Visa ending 3184"
    )
    page.get_by_role("button", name="Confirm with your bank").click()
    # localstripe's Stripe.js stands in for the bank's challenge.
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_role("main")).to_contain_text(
        "Paid $90.00 with Visa ending 3184. Nue shows the invoice as Paid."
    )
    expect(page.locator("#how-to-pay")).to_have_count(0)
    held = emu_invoice(invoice_id)
    assert held["balance"] == 0
    assert held["paymentStatus"] == "Paid"
    assert InvoicePayment.objects.get().state == InvoicePayment.State.RECORDED
    assert watch.errors == []


def test_a_card_declined_when_charged_says_so_and_leaves_the_invoice_open(page, watch, stripe_on):
    invoice_id = _open_overdue_invoice(page, stripe_on, DECLINED_ON_CHARGE)
    page.get_by_role("button", name="Pay $90.00 with Visa ending 0341").click()
    expect(page.get_by_role("main")).to_contain_text("declined")
    expect(page.get_by_role("main")).to_contain_text("Nothing was charged")
    # Still open, and payable again (with another card, or this one).
    expect(page.locator("#how-to-pay")).to_contain_text("overdue")
    expect(page.get_by_role("button", name="Pay $90.00 with Visa ending 0341")).to_be_visible()
    held = emu_invoice(invoice_id)
    assert held["balance"] == 90
    assert held["paymentStatus"] != "Paid"
    assert not held.get("paymentApplications")
    assert watch.errors == []
