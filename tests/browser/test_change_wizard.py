"""Browser journey: Ada raises Pro seats from 5 to 8 (preview, confirm), downgrades the plan,
then cancels it with a reason; the same wizard on a phone."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from nue_emulator import actions, journal
from orders.templatetags.money import money
from tests import demo

from .conftest import PHONE, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def first_invoice(name: str, seats: int) -> Decimal:
    """What Nue bills first, tax included, for `seats` more on `name` from today: the change
    priced as the wizard drafts it, with nothing kept."""
    change = {
        "changeType": "UpdateQuantity",
        "assetNumber": name,
        "quantity": seats,
        "startDate": timezone.localdate().isoformat(),
    }
    body = {"assetChanges": [change], "options": {"previewInvoice": True, "calculateTax": True}}
    return Decimal(actions.price_change_order(body, persist=False).invoices[0]["amount"])


def test_it_changes_seats_then_plan_then_cancels(page, watch):
    sign_in(page, demo.ADA)
    page.goto(f"/subscriptions/{demo.PRO}/change/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Change this subscription")
    expect(page.locator("main")).to_contain_text("Nue does not say whether a subscription")
    watch.screenshot("change-choose")

    # 5 -> 8 seats: the customer types the total, the preview shows the +3 and its price.
    page.get_by_role("link", name=re.compile("Change quantity")).click()
    page.get_by_label("New quantity").fill("5")
    page.get_by_role("button", name="Preview the change").click()
    expect(page.locator("#change-form")).to_contain_text("It already has 5")
    page.get_by_label("New quantity").fill("8")
    watch.screenshot("change-quantity-details")
    page.get_by_role("button", name="Preview the change").click()
    page.wait_for_url(re.compile(r"/change/preview/[^/]+/$"))
    table = page.locator("table.before-after").first
    expect(table).to_contain_text("5")
    expect(table).to_contain_text("8")
    expect(page.locator("main")).to_contain_text("Charge for the new period")
    # Due now: Nue's first invoice of the change, for the rest of Pro's current billing period
    # (the new seats join its billing cycle), with Acme's 7.25 % tax.
    due_now = page.locator(".change-facts > div", has_text="Due now, after tax")
    expect(due_now).to_contain_text(money(first_invoice(demo.PRO, seats=3), "USD"))
    watch.screenshot("change-quantity-preview")
    order_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    with journal.capture() as calls:
        page.get_by_role("button", name="Confirm the change").dblclick()
        page.wait_for_url(re.compile(r"/change/done/"))
    assert len([c for c in calls if c.method == "POST" and c.path.endswith(order_id)]) == 1
    expect(page.get_by_role("heading", level=2)).to_contain_text("is now version 3")
    expect(page.locator(".change-facts")).to_contain_text("8")
    watch.screenshot("change-quantity-done")

    # Downgrade: offered at the end of the billing period by default.
    page.goto(f"/subscriptions/{demo.PRO}/change/downgrade/")
    expect(page.get_by_label(re.compile("End of the billing period"))).to_be_checked()
    page.get_by_label("Starter Plan (US)").check()
    page.get_by_role("button", name="Preview the change").click()
    page.wait_for_url(re.compile(r"/change/preview/"))
    expect(page.locator("table.before-after").first).to_contain_text("Starter Plan (US)")
    expect(page.locator("main")).to_contain_text("Credit for unused time")
    page.get_by_role("button", name="Confirm the change").click()
    page.wait_for_url(re.compile(r"/change/done/"))
    expect(page.locator("main")).to_contain_text("Starter Plan (US)")

    # Cancel with a reason: what is lost and until when, then the credit.
    page.goto(f"/subscriptions/{demo.PRO}/change/cancel/")
    expect(page.locator("#change-form")).to_contain_text("What you lose")
    page.get_by_label("We are switching to another product").check()
    page.get_by_label("Today", exact=False).first.check()
    page.get_by_label("Anything else we should know?").fill("Consolidating tools")
    watch.screenshot("change-cancel-details")
    page.get_by_role("button", name="Preview the change").click()
    page.wait_for_url(re.compile(r"/change/preview/"))
    expect(page.locator("main")).to_contain_text("Service continues until")
    watch.screenshot("change-cancel-preview")
    page.get_by_role("button", name="Cancel the subscription").click()
    page.wait_for_url(re.compile(r"/change/done/"))
    # Canceled today: today is its last day of service (cancellationDate, nue-api.md §2.2).
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cancellation scheduled")
    watch.screenshot("change-cancel-done")
    print(watch.errors)
    # The browser logs the deliberate 422 (a form error swapped into the page) as a failed load.
    assert [e for e in watch.errors if "status of 422" not in e] == []


def test_it_previews_on_a_phone(page, watch):
    page.set_viewport_size(PHONE)
    sign_in(page, demo.ADA)
    page.goto(f"/subscriptions/{demo.PRO}/change/quantity/")
    page.get_by_label("New quantity").fill("7")
    page.get_by_role("button", name="Preview the change").click()
    page.wait_for_url(re.compile(r"/change/preview/"))
    expect(page.get_by_role("button", name="Confirm the change")).to_be_visible()
    watch.screenshot("change-preview-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    assert watch.errors == []


def test_it_previews_a_basket_of_two_changes_together(page, watch):
    sign_in(page, demo.ADA)
    page.goto(f"/subscriptions/{demo.PRO}/change/quantity/")
    page.get_by_label("New quantity").fill("6")
    page.get_by_role("button", name="Add to basket").click()
    page.wait_for_url("**/changes/basket/")
    page.goto("/subscriptions/SUB-00000002/change/renew/")
    page.get_by_label(re.compile("12 months, until")).check()
    page.get_by_role("button", name="Add to basket").click()
    page.wait_for_url("**/changes/basket/")
    expect(page.locator(".basket-item")).to_have_count(2)
    page.get_by_role("button", name="Preview them together").click()
    page.wait_for_url(re.compile(r"/changes/basket/[0-9a-f]+/$"))
    expect(page.locator("table.before-after")).to_have_count(2)
    watch.screenshot("change-basket-preview")
    page.get_by_role("button", name="Confirm all changes").click()
    page.wait_for_url(re.compile(r"/done/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("2 changes applied")
    assert watch.errors == []


def test_it_estimates_the_change_as_the_customer_types_and_keeps_nothing(page, watch):
    sign_in(page, demo.ADA)
    page.goto(f"/subscriptions/{demo.PRO}/change/quantity/")
    estimate = page.locator("#estimate")
    expect(estimate).to_contain_text("Fill in the change")
    with journal.capture() as calls:
        page.get_by_label("New quantity").fill("9")
        expect(estimate).to_contain_text("Before tax", timeout=10_000)
        expect(estimate.locator("tbody tr").first).to_be_visible()
    watch.screenshot("change-quantity-estimate")
    assert [c.route for c in calls if c.method == "POST"] == ["invoice-preview"]
    assert watch.errors == []
