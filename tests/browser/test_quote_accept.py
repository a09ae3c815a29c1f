"""Browser journey (issue 26, item 2): Maria makes a quote link for Acme's draft and sends it; the
recipient, in a fresh browser that never signed in, opens it, pays by card through the card step
(localstripe's Stripe.js mock) and accepts with a PO number; the order is activated once in Nue;
Maria's review page shows the quote viewed and accepted; the confirmation is in the mailbox."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from nue_emulator.models import JournalEntry
from nue_emulator.models import Order as EmuOrder
from orders.models import Operation, QuoteAcceptance, QuoteLink
from orders.templatetags.money import money
from tests import demo
from tests.orders.approval_helpers import account, big_draft
from tests.outbox import deliver

from .conftest import DESKTOP, PHONE, PageWatch, sign_in
from .test_card_on_file import fill_card

pytestmark = pytest.mark.django_db(transaction=True)


def test_maria_sends_a_quote_and_a_fresh_browser_accepts_it(
    browser, live_server, page, watch, stripe_on, settings
):
    # Mail goes through the outbox, as in production: only the worker's pass delivers it.
    settings.EMAIL_BACKEND = "portal.outbox.OutboxBackend"
    order = big_draft()
    mail.outbox.clear()

    # Maria makes the link on the draft's review page and sends it to the customer's buyer.
    sign_in(page, demo.MARIA)
    page.goto(f"/review/customers/{account().pk}/orders/{order.id}/")
    page.get_by_role("button", name="Generate quote link").click()
    expect(page.locator("#quote-link-state")).to_have_text("Sent")
    page.get_by_label("Send to").fill("buyer@acme.example")
    page.get_by_role("button", name="Send the quote").click()
    expect(page.locator("#quote-link")).to_contain_text("to buyer@acme.example")
    watch.screenshot("quote-sent")
    assert mail.outbox == []
    deliver()
    (sent,) = [m for m in mail.outbox if m.to == ["buyer@acme.example"]]
    link = QuoteLink.objects.get(order_id=order.id, superseded_at=None)
    url = re.search(r"https?://\S+/quote/\S+/", sent.body).group(0)
    assert url.endswith(f"/quote/{link.token}/")

    # The recipient: another browser, never signed in, with only the link.
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    try:
        buyer = context.new_page()
        buyer.set_default_timeout(15_000)
        buyer_watch = PageWatch(buyer)
        buyer.goto(url.split("/quote/", 1)[1].join(("/quote/", "")))
        expect(buyer.locator("h1")).to_contain_text(f"Quote {order.order_number}")
        expect(buyer.locator("main")).to_contain_text(money(order.total, order.currency))
        buyer.get_by_label("Your name").fill("Jane Doe")
        buyer.get_by_label("Your job title").fill("Chief Financial Officer")
        buyer.get_by_label("Your email").fill("jane.doe@acme.example")
        buyer.get_by_label("PO number").fill("PO-4711")
        expect(buyer.get_by_label("Pay by card")).to_be_checked()
        fill_card(buyer, "4242424242424242")
        buyer.get_by_label(re.compile("charging it for this and future invoices")).check()
        buyer.get_by_label(re.compile("I have read the terms above")).check()
        buyer.get_by_role("button", name="Accept and place the order").click()
        expect(buyer.locator("#acceptance")).to_contain_text("Accepted: the order is placed")
        expect(buyer.locator("#acceptance")).to_contain_text("PO-4711")
        expect(buyer.locator("#acceptance")).to_contain_text("Visa ending 4242")
        buyer_watch.screenshot("quote-accepted")
        assert buyer_watch.errors == []
    finally:
        context.close()

    # Nue activated the order once.
    assert EmuOrder.objects.get(pk=order.id).status == "Activated"
    activations = JournalEntry.objects.filter(method="POST", path__endswith=f"/orders/{order.id}")
    assert activations.count() == 1
    assert Operation.objects.filter(target=order.id, kind="activate").count() == 1
    assert QuoteAcceptance.objects.get(link=link).state == QuoteAcceptance.State.ACTIVATED

    # Maria's review page: viewed (first and last) and accepted, by whom and with which PO.
    page.goto("/review/")
    row = page.locator(f"#quote-row-{link.pk}")
    expect(row).to_contain_text("Accepted")
    expect(row).to_contain_text("first")
    expect(row).to_contain_text("last")
    expect(row).to_contain_text("Jane Doe")
    expect(row).to_contain_text("PO-4711")
    watch.screenshot("quote-review-accepted")
    assert watch.errors == []

    # The confirmation, in the test mailbox once the worker sent it, and sent once.
    assert not [m for m in mail.outbox if m.to == ["jane.doe@acme.example"]]
    assert deliver().sent
    deliver()
    confirmations = [m for m in mail.outbox if m.to == ["jane.doe@acme.example"]]
    assert len(confirmations) == 1
    assert "The order is placed." in confirmations[0].body


def test_the_quote_pages_pass_axe_signed_out_and_on_a_phone(browser, live_server, maria, stripe_on):
    """axe-core on the recipient's pages, in light and dark mode: the quote with its card step,
    its form's errors, its acceptance and a revoked link; the form also at a phone's width."""
    from orders.actions import quotes

    from .test_accessibility import Scanner
    from .test_journeys import expected_status_errors, role_page

    order = big_draft()
    link = _made(maria, order)
    with role_page(browser, live_server) as (buyer, buyer_watch):
        scanner = Scanner(buyer)
        scanner.visit(f"/quote/{link.token}/", "quote with its card step")
        buyer.get_by_label("Pay by invoice").check()
        buyer.get_by_role("button", name="Accept and place the order").click()
        expect(buyer.get_by_role("alert").first).to_contain_text("Enter your name.")
        scanner.scan("quote form with errors")
        buyer.set_viewport_size(PHONE)
        scanner.scan("quote form on a phone")
        width = buyer.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], "the quote scrolls sideways on a phone"
        buyer.set_viewport_size(DESKTOP)
        buyer.get_by_label("Your name").fill("Jane Doe")
        buyer.get_by_label("Your job title").fill("CFO")
        buyer.get_by_label("Your email").fill("jane.doe@acme.example")
        buyer.get_by_label(re.compile("I have read the terms above")).check()
        buyer.get_by_role("button", name="Accept and place the order").click()
        expect(buyer.locator("#acceptance")).to_contain_text("Accepted: the order is placed")
        scanner.scan("quote accepted")
        other = _made(maria, big_draft_but(order.id))
        quotes.revoke(other, by=maria)
        scanner.visit(f"/quote/{other.token}/", "revoked quote", status=410)
        scanner.assert_clean()
        assert expected_status_errors(buyer_watch.errors, 422, 410) == []


def _made(maria, order):
    from tests.orders.quote_helpers import made_by_manager

    return made_by_manager(maria, order)


def big_draft_but(order_id: str):
    from tests.orders.approval_helpers import drafts

    return next(o for o in drafts(count=3) if o.id != order_id)
