"""A buyer at Acme requests approval of an order above the threshold; Maria approves it from her
review queue; the buyer sees it activated."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from orders.nue import LineRequest
from orders.scope import CustomerNue
from tests import demo
from tests.browser.conftest import ARTIFACTS, DESKTOP, PHONE, sign_in
from tests.orders.approval_helpers import account, make_buyer
from tests.outbox import deliver

pytestmark = pytest.mark.django_db(transaction=True)


def _prepare_big_order() -> str:
    """The buyer's draft: 30 Insights seats for a year, above Acme's lowered limit."""
    acme = account()
    acme.approval_threshold = Decimal("5000.00")
    acme.save(update_fields=["approval_threshold"])
    scope = CustomerNue(acme)
    insights = next(p for p in scope.catalog() if p.sku == "INSIGHTS")
    start = timezone.localdate() + timedelta(days=1)
    line = LineRequest(
        price_book_entry_id=insights.price_book_entries[0].id,
        quantity=Decimal(30),
        start_date=start,
        term_months=12,
    )
    result = scope.create_draft([line], effective_date=start, name="Insights for every team")
    assert result.order.total > acme.approval_threshold
    return result.order.id


def _fits_phone(page, watch, name: str) -> None:
    page.set_viewport_size(PHONE)
    watch.screenshot(f"{name}-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size(DESKTOP)


def test_it_takes_an_order_from_request_to_approval_to_activation(
    page, watch, browser, live_server
):
    make_buyer()
    order_id = _prepare_big_order()

    # Bob, a buyer at Acme, opens his draft: above the limit, he may only ask for approval.
    sign_in(page, demo.BOB)
    page.goto(f"/orders/{order_id}/")
    panel = page.locator("#approval-panel")
    assert "above your account's approval limit" in panel.inner_text()
    page.get_by_role("button", name="Generate quote link").click()
    page.get_by_text(re.compile(r"Generated .* by Bob Buyer")).wait_for()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy link").click()
    page.get_by_role("status").filter(has_text="Copied").wait_for()
    link = page.get_by_role("textbox", name="Quote link").input_value()
    assert page.evaluate("navigator.clipboard.readText()") == link
    panel.get_by_label("Note for your account manager").fill("For the Q1 analytics rollout.")
    panel.get_by_label("PO number").fill("PO-Q1-ANALYTICS")
    panel.get_by_label(re.compile("Once approved, pay")).check()
    panel.get_by_role("button", name="Request approval").click()
    page.get_by_text("Approval requested").wait_for()
    assert "Awaiting approval" in page.locator("#approval-panel").inner_text()
    watch.screenshot("approval-pending-desktop")
    _fits_phone(page, watch, "approval-pending")
    assert mail.outbox == []  # queued: the mail worker sends it
    deliver()
    assert sorted(m.to for m in mail.outbox) == [[demo.ADA], [demo.MARIA]]
    (to_maria,) = [m for m in mail.outbox if m.to == [demo.MARIA]]
    review_link = re.search(r"http\S+/review/requests/\d+/", to_maria.body)
    assert review_link is not None

    # Maria finds it in her queue, sees the re-priced figures unchanged, and approves.
    manager = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    maria = manager.new_page()
    maria.set_default_timeout(15_000)
    sign_in(maria, demo.MARIA)
    maria.get_by_role("link", name="Review").click()
    maria.wait_for_url("**/review/")
    queue = maria.get_by_role("table").filter(has_text="Insights for every team")
    queue.get_by_role("link", name="Insights for every team").click()
    maria.wait_for_url(re.compile(r".*/review/requests/\d+/$"))
    assert maria.url.endswith(review_link.group(0).split("/", 3)[3])
    assert maria.get_by_text("the figures are the ones the customer saw").is_visible()
    assert maria.get_by_text("For the Q1 analytics rollout.").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    maria.screenshot(path=str(ARTIFACTS / "review-request-desktop.png"), full_page=True)
    maria.get_by_role("button", name="Approve and activate").click()
    maria.get_by_text(re.compile("Approved: order .* is activated")).wait_for()
    assert "Approved" in maria.locator("#decision").inner_text()
    maria.goto("/review/")
    maria.screenshot(path=str(ARTIFACTS / "review-book-desktop.png"), full_page=True)
    maria.set_viewport_size(PHONE)
    maria.screenshot(path=str(ARTIFACTS / "review-book-phone.png"), full_page=True)
    assert maria.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    manager.close()

    # Bob sees the order activated, with who approved it; he got an email saying so.
    page.goto(f"/orders/{order_id}/")
    assert "Activated" in page.locator(".page-header").inner_text()
    assert "Maria Manager" in page.locator("#approval-panel").inner_text()
    assert "PO-Q1-ANALYTICS" in page.content()  # activated with the PO Bob gave
    watch.screenshot("approval-approved-desktop")
    page.goto("/")
    summary = page.locator("#approval-summary")
    assert "Approved" in summary.inner_text()
    _fits_phone(page, watch, "approval-dashboard")
    deliver()
    (decided,) = [m for m in mail.outbox if m.to == [demo.BOB]]
    assert f"/orders/{order_id}/" in decided.body
    assert watch.errors == []
