"""Journeys whose console must stay empty, and a refusal that must render in place in every mode.

Console errors include the browser's own CSP violation reports; `role_page` also reports them
through a `securitypolicyviolation` listener.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from nue_emulator import faults
from tests.browser.test_journeys import expected_status_errors, role_page

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_keeps_the_console_empty_while_live_previews_supersede_each_other(browser, live_server):
    with role_page(browser, live_server, "ada@acme.example") as (page, watch):
        page.goto("/orders/new/")
        page.get_by_role("button", name="Add Pro Plan (US) to order").click()
        preview = page.locator("#preview")
        expect(preview).to_contain_text("$25.00")
        quantity = page.get_by_label("Quantity", exact=True)
        # Each preview takes longer than the pause between edits: every edit but the last
        # arrives while the previous preview is still on its way.
        with faults.inject("invoice-preview", "POST", latency_ms=700):
            for value in ("2", "3", "4"):
                quantity.fill(value)
                page.wait_for_timeout(550)
            expect(preview).to_contain_text("$100.00", timeout=10_000)
        page.wait_for_timeout(800)
        expect(preview).to_contain_text("$100.00")
        assert watch.errors == []


def test_it_keeps_the_console_empty_filtering_sorting_and_paging_orders(browser, live_server):
    with role_page(browser, live_server, "ada@acme.example") as (page, watch):
        page.goto("/orders/")
        page.get_by_label("Per page").select_option("10")
        page.wait_for_url(re.compile(r"per_page=10"))
        page.get_by_label("Status").select_option("activated")
        page.wait_for_url(re.compile(r"status=activated"))
        page.locator("#order-list thead a", has_text="Total").click()
        # The list is sorted by date, descending, until the sorted one arrives: wait for the
        # Total column's own header, or "next" is the unsorted list's and the sorted first page
        # can land after the second.
        page.wait_for_url(re.compile(r"sort=total"))
        page.wait_for_selector('#order-list th[aria-sort="descending"] >> text=Total')
        page.locator("#order-list a[rel=next]").click()
        page.wait_for_url(re.compile(r"page=2"))
        page.wait_for_selector("#order-list a[rel=prev]")
        page.locator("#order-list a[rel=prev]").click()
        page.wait_for_url(lambda url: "page=2" not in url)
        page.wait_for_selector("#order-list a[rel=next]")
        page.go_back()
        page.wait_for_url(re.compile(r"page=2"))
        page.wait_for_selector("#order-list a[rel=prev]")
        assert "sort=total" in page.url
        assert watch.errors == []


@pytest.mark.parametrize("debug", [False, True], ids=["production", "make-run"])
def test_it_shows_the_portals_refusal_in_place_of_a_refused_htmx_request(
    browser, live_server, settings, debug
):
    settings.DEBUG = debug
    with role_page(browser, live_server, "sam@nue.example") as (page, watch):
        page.goto("/support/?q=ada%40acme")
        member = page.locator(".support-member", has_text="ada@acme.example")
        member.get_by_label("Reason").fill("SUP-11: looking at a draft")
        member.get_by_role("button", name=re.compile("Impersonate")).click()
        page.wait_for_url("**/")
        page.goto("/orders/?status=draft")
        page.locator("tbody th a.mono").first.click()
        page.wait_for_url(re.compile(r".*/orders/[^/]+/$"))
        page.get_by_role("checkbox").check()
        page.get_by_role("button", name="Activate order").click()

        refusal = page.locator("#draft-actions.refusal")
        expect(refusal).to_contain_text("Refused: you are impersonating read-only")
        # The rest of the page stays, styled: header, banner, and the refusal inside <main>.
        expect(page.locator(".site-header")).to_be_visible()
        expect(page.locator("main #draft-actions")).to_be_visible()
        assert page.locator("#impersonation-banner").count() == 1
        # A refusal is an answer htmx swaps in, not an error it reports: only Chromium's own log
        # of the status remains.
        assert not [e for e in watch.errors if "Response Status Error" in e]
        assert expected_status_errors(watch.errors, 403) == []
