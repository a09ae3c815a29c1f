"""Browser journey: Ada schedules Pro's cancellation at the end of its term through the change
wizard, then finds it scheduled on the subscription's page and the dashboard, with the changes it
no longer allows explained (issue 26, item 3)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from orders.scope import CustomerNue
from orders.templatetags.dates import day_text
from portal.models import CustomerAccount
from tests import demo

from .conftest import PHONE, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_schedules_a_cancellation_at_term_end_and_shows_it_everywhere(page, watch):
    pro = CustomerNue(CustomerAccount.objects.get(name=demo.ACME)).subscription(demo.PRO)
    assert pro.end_date is not None
    scheduled = f"Active until {day_text(pro.end_date)}, then cancels"
    sign_in(page, demo.ADA)

    page.goto(f"/subscriptions/{demo.PRO}/change/")
    page.get_by_role("link", name=re.compile("^Cancel")).click()
    page.get_by_label("We do not use it enough").check()
    page.get_by_label("On a specific day").check()
    page.get_by_label("On this day").fill(pro.end_date.isoformat())
    page.get_by_role("button", name="Preview the change").click()
    page.wait_for_url(re.compile(r"/change/preview/"))
    expect(page.locator("main")).to_contain_text(
        f"Service continues until {day_text(pro.end_date)}"
    )
    page.get_by_role("button", name="Cancel the subscription").click()
    page.wait_for_url(re.compile(r"/change/done/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cancellation scheduled")
    expect(page.locator(".scheduled-change")).to_contain_text(scheduled)
    expect(page.get_by_role("link", name="Make another change")).to_have_count(0)
    watch.screenshot("scheduled-cancel-done")

    # The subscription's page: the notice, what stays possible and what not, and whom to ask.
    page.goto(f"/subscriptions/{demo.PRO}/")
    notice = page.locator(".scheduled-change")
    expect(notice.get_by_role("heading")).to_have_text(scheduled)
    expect(notice).to_contain_text("You can still see it and its invoices.")
    expect(notice).to_contain_text("Not possible while this is scheduled: Change quantity")
    expect(notice).to_contain_text("Renew")
    expect(notice.get_by_role("link", name="maria@nue.example")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text(re.compile(r"Auto-renew\s*No"))
    watch.screenshot("scheduled-cancel-subscription")

    # The wizard explains each change it no longer offers; a change's page refuses it.
    page.goto(f"/subscriptions/{demo.PRO}/change/")
    expect(page.locator(".change-kind__link[aria-disabled=true]").first).to_be_visible()
    expect(page.locator(".change-kind a")).to_have_count(0)
    expect(page.locator(".change-kinds")).to_contain_text("and does not renew")
    page.goto(f"/subscriptions/{demo.PRO}/change/quantity/")
    expect(page.locator("#change-form")).to_contain_text("A cancellation is scheduled")
    expect(page.get_by_role("button", name="Preview the change")).to_have_count(0)

    page.goto("/")
    row = page.locator(".dashboard__subscriptions tr", has_text=demo.PRO)
    expect(row).to_contain_text(scheduled)
    expect(row.locator("td").last).to_have_text("No")
    watch.screenshot("scheduled-cancel-dashboard")

    # On a phone the notice wraps within the page.
    page.set_viewport_size(PHONE)
    page.goto(f"/subscriptions/{demo.PRO}/")
    expect(page.locator(".scheduled-change")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The browser logs the refused change's page (409, deliberate) as a failed load.
    assert [e for e in watch.errors if "status of 409" not in e] == []
