"""Browser journey: sign in, configure a bundle with add-ons, watch the live preview change,
create the draft, activate it with a double click, and see the new subscription."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from nue_emulator import faults, journal
from tests import demo

from .conftest import PHONE, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_buys_a_bundle_end_to_end(page, watch):
    sign_in(page, demo.ADA)
    page.goto("/orders/new/")
    page.get_by_role("button", name="Add Platform Suite to order").click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text("$5,160.00")
    watch.screenshot("new-order-bundle")

    # An optional add-on, then more admin seats: the preview follows without a page load.
    page.get_by_label("Premium Support", exact=True).check()
    expect(preview).to_contain_text("$7,560.00")
    page.get_by_label("Quantity of Admin Seats").fill("4")
    expect(preview).to_contain_text("$7,920.00")
    # A nested option Nue wants a quantity for: the preview puts Nue's refusal on its field.
    page.get_by_label("Integration Pack", exact=True).check()
    expect(preview).to_contain_text("$9,120.00")
    page.get_by_label("Custom API Endpoints", exact=True).check()
    expect(preview).to_contain_text("Line 1, Quantity of Custom API Endpoints")
    page.get_by_label("Quantity of Custom API Endpoints").fill("3")
    expect(preview).to_contain_text("Custom API Endpoints")
    expect(preview).not_to_contain_text("Fix these")
    watch.screenshot("new-order-preview")

    page.get_by_role("button", name="Create draft").click()
    page.wait_for_url(re.compile(r"/orders/[^/]+/$"))
    expect(page.locator("#draft-actions")).to_contain_text("Invoices this order will create")
    watch.screenshot("new-order-draft")

    page.get_by_label("PO number").fill("PO-4711")
    page.get_by_label(re.compile("Pay the invoices this order creates")).check()
    order_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    with journal.capture() as calls:
        page.get_by_role("button", name="Activate order").dblclick()
        page.wait_for_url(re.compile(r"/activated/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("is active")
    expect(page.locator("main")).to_contain_text("SUB-")
    expect(page.locator("main")).to_contain_text("Platform Suite")
    activations = [c for c in calls if c.method == "POST" and c.path.endswith(order_id)]
    assert len(activations) == 1
    watch.screenshot("new-order-activated")
    assert watch.errors == []


def test_it_configures_on_a_phone(page, watch):
    page.set_viewport_size(PHONE)
    sign_in(page, demo.ADA)
    page.goto("/orders/new/")
    page.get_by_role("button", name="Add Pro Plan (US) to order").click()
    page.get_by_label("Quantity", exact=True).fill("3")
    expect(page.locator("#preview")).to_contain_text("$75.00")
    watch.screenshot("new-order-phone")
    assert watch.errors == []


def test_it_shows_progress_while_a_slow_preview_loads(page, watch):
    sign_in(page, demo.ADA)
    page.goto("/orders/new/")
    page.get_by_role("button", name="Add Pro Plan (US) to order").click()
    expect(page.locator("#preview")).to_contain_text("$25.00")
    with faults.inject("invoice-preview", "POST", latency_ms=1500):
        page.get_by_label("Quantity", exact=True).fill("2")
        expect(page.locator("#preview-progress")).to_have_css("opacity", "1")
        expect(page.locator("#preview")).to_contain_text("$50.00")
    expect(page.locator("#preview-progress")).to_have_css("opacity", "0")
    assert watch.errors == []


def test_it_works_without_javascript(browser, live_server):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, demo.ADA)
        page.goto("/orders/new/")
        page.get_by_role("button", name="Add Pro Plan (US) to order").click()
        page.get_by_label("Quantity", exact=True).fill("4")
        page.get_by_role("button", name="Update preview").click()
        expect(page.locator("#preview")).to_contain_text("$100.00")
        page.get_by_role("button", name="Create draft").click()
        expect(page.locator("#draft-actions")).to_contain_text("Invoices this order will create")
    finally:
        context.close()
