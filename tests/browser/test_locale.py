"""Each person's language, time zone and currency in headless Chromium.

Grace (Globex, billed in EUR) reads the portal in German, in Berlin time: amounts as 1.234,56 €,
every one of them Nue's. A person who has chosen nothing gets the browser's zone and language.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from orders.scope import CustomerNue
from portal.models import CustomerAccount, User
from tests import demo
from tests.browser.conftest import DESKTOP, PageWatch, sign_in
from tests.orders import figures

pytestmark = pytest.mark.django_db(transaction=True)

GERMAN_EUR = re.compile(r"^\u2212?\d{1,3}(\.\d{3})*,\d\d\xa0€$")


def test_grace_reads_euros_the_german_way_and_berlin_time(page, watch):
    sign_in(page, demo.GRACE)
    assert page.locator("html").get_attribute("lang") == "de"

    page.goto("/orders/?per_page=100")
    # The page speaks German: its heading and the navigation.
    expect(page.get_by_role("heading", level=1)).to_have_text("Bestellverlauf")
    expect(page.locator("nav.main-nav")).to_contain_text("Rechnungen")
    totals = page.locator("#order-list tbody tr td.num").all_inner_texts()
    assert totals
    assert all(GERMAN_EUR.match(text) for text in totals), totals
    # The thousands separator is a dot: 3.855,60 €, as Grace reads it.
    assert any("." in text for text in totals), totals
    globex = CustomerNue(CustomerAccount.objects.get(name=demo.GLOBEX))
    orders = globex.orders()
    nues = {o.total for o in orders} | {o.order_acv for o in orders if o.order_acv is not None}
    assert {figures.amount(text, "EUR") for text in totals} <= nues
    assert "$" not in page.locator("main").inner_text()
    watch.screenshot("locale-grace-orders")

    page.goto("/invoices/")
    amounts = page.locator("#invoice-list tbody tr td.num").all_inner_texts()
    assert amounts
    assert all(GERMAN_EUR.match(text) for text in amounts), amounts

    page.goto("/")
    caption = page.locator("#billing-panel figcaption").inner_text()
    assert re.search(r"\d,\d\d\xa0€", caption), caption

    page.goto("/account/")
    now = page.locator("[data-sample=now]").inner_text()
    shown = re.match(r"(\d\d)\.(\d\d)\.(\d{4}), (\d\d):(\d\d) \(Europe/Berlin\)", now)
    assert shown, now
    day, month, year, hour, minute = (int(x) for x in shown.groups())
    berlin = datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("Europe/Berlin"))
    assert abs(datetime.now(ZoneInfo("UTC")) - berlin) < timedelta(minutes=3)
    assert page.get_by_label("Zeitzone").input_value() == "Europe/Berlin"
    watch.screenshot("locale-grace-account")
    assert watch.errors == []


def test_a_first_sign_in_takes_the_browsers_zone_and_language(browser, live_server):
    ada = User.objects.get(email=demo.ADA)
    assert (ada.language, ada.time_zone) == ("", "")
    context = browser.new_context(
        viewport=DESKTOP,
        base_url=live_server.url,
        locale="de-DE",
        timezone_id="America/Los_Angeles",
    )
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        watch = PageWatch(page)
        page.goto("/accounts/login/")
        assert page.locator("html").get_attribute("lang") == "de"
        # By name, not label: the sign-in page is in the browser's language.
        page.locator("input[name=username]").fill(demo.ADA)
        page.locator("input[name=password]").fill(demo.PASSWORD)
        page.locator("main form button[type=submit]").click()
        page.wait_for_url("**/")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ada.refresh_from_db()
            if ada.time_zone:
                break
            time.sleep(0.1)
        assert (ada.language, ada.time_zone) == ("de", "America/Los_Angeles")
        page.reload()
        assert page.locator("script[src*='locale.js']").count() == 0
        assert page.locator("html").get_attribute("lang") == "de"
        assert watch.errors == []
    finally:
        context.close()


def test_amounts_equal_nues_after_a_german_reader_changes_to_english(page):
    sign_in(page, demo.GRACE)
    page.goto("/account/")
    # Grace's page is in German until she switches.
    page.get_by_label("Sprache").select_option("en")
    page.locator("form[action='/account/'] button[type=submit]").click()
    page.wait_for_url("**/account/")
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto("/invoices/")
    amounts = page.locator("#invoice-list tbody tr td.num").all_inner_texts()
    assert amounts
    assert all(re.match(r"^\u2212?€[\d,]+\.\d\d$", text) for text in amounts), amounts
    assert all(figures.amount(text, "EUR") >= Decimal(0) for text in amounts)
