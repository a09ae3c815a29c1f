"""Ada's journey through the customer pages in headless Chromium, at desktop and phone widths."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests import demo
from tests.browser.conftest import DESKTOP, PHONE, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def choose(page, noun: str, label: str, name: str, value: str) -> tuple[int, int]:
    """Choose a filter of the `noun` list; its counts before and after, once HTMX swapped it."""
    heading = page.locator(f"#{noun}-list-heading")
    before = int(re.match(r"\d+", heading.inner_text()).group(0))
    page.get_by_label(label).select_option(value)
    page.wait_for_url(re.compile(rf"{name}={value}"))
    page.wait_for_function(
        f"document.querySelector('#{noun}-list-heading').textContent.includes('match')"
    )
    return before, int(re.match(r"\d+", heading.inner_text()).group(0))


def test_it_filters_the_history_opens_an_order_and_a_subscription_and_downloads_csv(page, watch):
    sign_in(page, demo.ADA)
    assert page.locator("#billing-panel svg.spend-chart__svg").is_visible()
    watch.screenshot("customer-dashboard-desktop")

    page.get_by_role("link", name="Orders", exact=True).click()
    page.wait_for_url("**/orders/")
    # HTMX swaps the table in place and pushes the filters into the address bar.
    total, activated = choose(page, "order", "Status", "status", "activated")
    assert 0 < activated < total
    assert page.locator("#order-list .badge--warn").count() == 0

    page.get_by_label("Search").fill("security")
    page.wait_for_url(re.compile(r"q=security"))
    page.wait_for_function(
        f"!document.querySelector('#order-list-heading').textContent.startsWith('{activated} ')"
    )
    rows = page.locator("#order-list tbody tr")
    assert rows.count() > 0
    assert all("Security keys" in text for text in rows.all_inner_texts())

    # Sorting by total, via the column header; the header announces the sort.
    page.locator("#order-list thead a", has_text="Total").click()
    page.wait_for_url(re.compile(r"sort=total"))
    page.wait_for_selector('#order-list th[aria-sort="descending"]')

    # The back button restores the previous filters.
    page.go_back()
    page.wait_for_url(lambda url: "sort=total" not in url)
    # The URL changes first; the page the server sends for it is swapped in a moment later.
    page.wait_for_selector('#id_q[value="security"]')
    page.wait_for_selector('#order-list th[aria-sort="descending"] >> text=Placed')
    assert page.get_by_label("Search").input_value() == "security"
    watch.screenshot("customer-orders-filtered-desktop")

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("Download CSV")).click()
    download = download_info.value
    text = download_path_text(download)
    header, *body = list(csv.reader(io.StringIO(text)))
    assert header[0] == "Order number"
    assert body
    assert all("Security keys" in row[1] and row[2] == "Activated" for row in body)

    page.locator("#order-list tbody tr th a").first.click()
    page.wait_for_url(re.compile(r"/orders/[0-9a-f-]{36}/$"))
    assert page.get_by_role("heading", name="Lines").is_visible()
    watch.screenshot("customer-order-detail-desktop")

    page.get_by_role("link", name="Subscriptions", exact=True).click()
    page.wait_for_url("**/subscriptions/")
    page.get_by_role("link", name="Pro Plan (US)").first.click()
    page.wait_for_url(re.compile(r"/subscriptions/SUB-\d+/$"))
    assert page.get_by_role("heading", name="History").is_visible()
    assert page.get_by_text("Quantity 3 → 5").is_visible()
    watch.screenshot("customer-subscription-desktop")

    page.set_viewport_size(PHONE)
    for url, name in (
        ("/", "customer-dashboard-phone"),
        ("/orders/?status=activated", "customer-orders-phone"),
        (page.url, "customer-subscription-phone"),
        ("/invoices/", "customer-invoices-phone"),
    ):
        page.goto(url)
        watch.screenshot(name)
        assert fits_the_width(page), name
    page.set_viewport_size(DESKTOP)
    assert watch.errors == []


def download_path_text(download) -> str:
    path = download.path()
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def test_it_shows_every_navigation_link_on_a_phone(page, watch):
    sign_in(page, "ada@acme.example")
    page.set_viewport_size(PHONE)
    page.goto("/")
    nav = page.get_by_role("navigation", name="Main")
    names = [link.inner_text().strip() for link in nav.get_by_role("link").all()]
    assert "New order" in names
    assert "Access log" in names
    for link in nav.get_by_role("link").all():
        box = link.bounding_box()
        assert box is not None
        assert box["x"] >= 0, link.inner_text()
        assert box["x"] + box["width"] <= PHONE["width"], link.inner_text()
    # Nothing in the navigation is scrolled out of sight.
    assert nav.evaluate("n => n.scrollWidth <= n.clientWidth")
    assert fits_the_width(page)
    # The last link is reached with the keyboard and stays in view.
    nav.get_by_role("link", name="Access log").focus()
    assert page.evaluate("document.activeElement.textContent.trim()") == "Access log"
    watch.screenshot("customer-navigation-phone")
    assert watch.errors == []


def test_it_works_without_javascript(browser, live_server):
    context = browser.new_context(
        viewport=DESKTOP, base_url=live_server.url, java_script_enabled=False
    )
    page = context.new_page()
    try:
        sign_in(page, demo.ADA)
        page.goto("/orders/")
        page.get_by_label("Status").select_option("draft")
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_url(re.compile(r"status=draft"))
        badges = page.locator("#order-list tbody .badge--warn")
        assert badges.count() == page.locator("#order-list tbody tr").count() > 0
    finally:
        context.close()


def test_it_filters_overdue_invoices_sorts_them_and_downloads_csv(page, watch):
    sign_in(page, demo.ADA)
    page.goto(page.url.rstrip("/") + "/invoices/")
    total, _ = choose(page, "invoice", "Show", "show", "overdue")
    rows = page.locator("#invoice-list tbody tr")
    assert rows.count() == 1 < total
    assert "Overdue" in rows.first.inner_text()
    assert "How to pay" in rows.first.inner_text()

    page.locator("#invoice-list thead a", has_text="Amount").click()
    page.wait_for_url(re.compile(r"sort=amount"))
    page.wait_for_selector('#invoice-list th[aria-sort="descending"] >> text=Amount')
    watch.screenshot("customer-invoices-overdue-desktop")

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("Download CSV")).click()
    header, *body = list(csv.reader(io.StringIO(download_path_text(download_info.value))))
    assert header[0] == "Invoice number"
    assert [row[3] for row in body] == ["yes"]
    assert body[0][8] == "90.00"

    page.locator("#invoice-list tbody tr th a").first.click()
    page.wait_for_url(re.compile(r"/invoices/[0-9a-f-]{36}/$"))
    assert page.get_by_role("heading", name=re.compile(r"Pay \$90\.00")).is_visible()
    assert page.get_by_text("Reference: your invoice number").is_visible()
    assert watch.errors == []
