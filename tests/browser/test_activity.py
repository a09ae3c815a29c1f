"""The account activity log in Chromium: Ada filters it in place, the address keeps the filters,
and the same address opened again (a bookmark) shows the same rows; nothing breaks the CSP."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portal.models import AuditEvent, AuditKind, User
from tests import demo
from tests.browser.conftest import PHONE
from tests.browser.test_journeys import role_page

pytestmark = pytest.mark.django_db(transaction=True)


def seed_activity() -> None:
    """Acme's activity: a draft Bob created, Ada's activation of it, a cancellation support made
    for Ada, and a team change of a kind this page does not know."""
    ada, bob, sam = (User.objects.get(email=e) for e in (demo.ADA, demo.BOB, demo.SAM))
    acme = ada.memberships.get().account
    now = timezone.now()

    def add(kind: str, actor: User, minutes: int, on_behalf_of: User | None = None, **details):
        AuditEvent.objects.create(
            kind=kind,
            customer=acme,
            actor=actor,
            actor_email=actor.email,
            on_behalf_of=on_behalf_of,
            on_behalf_of_email=on_behalf_of.email if on_behalf_of else "",
            created_at=now - timedelta(minutes=minutes),
            details=details,
        )

    draft = {"order_id": "o-1", "order_number": "O-0101", "total": Decimal("250.00")}
    add(AuditKind.ACTION, bob, 40, action="draft_created", **draft)
    add(AuditKind.ACTIVATION, ada, 30, **draft)
    add(
        AuditKind.CANCELLATION,
        sam,
        20,
        on_behalf_of=ada,
        order_number="O-0102",
        subscription=demo.PRO,
        total=Decimal("-40.00"),
    )
    add(AuditKind.ACTION, ada, 10, action="member_invited", email="carol@acme.example")


def test_it_filters_the_activity_in_place_and_keeps_the_filters_in_the_address(
    browser, live_server
):
    seed_activity()
    with role_page(browser, live_server, demo.ADA, by_form=False) as (page, watch):
        page.goto("/")
        page.get_by_role("link", name="Activity", exact=True).click()
        page.wait_for_url("**/account/activity/")
        rows = page.locator("#activity-results tbody tr")
        expect(rows).to_have_count(4)
        expect(rows.first).to_contain_text("Member invited")
        expect(rows.nth(1)).to_contain_text("Support agent")

        form = page.locator("form[role=search]")
        form.get_by_label("Activity", exact=True).select_option("drafts")
        page.wait_for_url(re.compile(r"activity=drafts"))
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Created a draft order")
        expect(page.get_by_role("heading", level=1)).to_have_text("Account activity")

        form.get_by_label("Activity", exact=True).select_option("")
        form.get_by_label("Order number").fill("0102")
        page.wait_for_url(re.compile(r"q=0102"))
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Cancelled a subscription")

        bookmarked = page.url
        page.goto(bookmarked)
        expect(rows).to_have_count(1)
        expect(page.locator("#id_q")).to_have_value("0102")
        download = page.get_by_role("link", name=re.compile("Download CSV"))
        expect(download).to_have_attribute("href", re.compile(r"export\.csv\?.*q=0102"))

        page.set_viewport_size(PHONE)
        expect(rows.first).to_be_visible()
        assert watch.errors == []


def test_it_filters_without_javascript(browser, live_server):
    seed_activity()
    with role_page(browser, live_server, demo.ADA, by_form=False) as (page, _watch):
        page.context.route("**/*.js", lambda route: route.abort())
        page.goto("/account/activity/")
        page.get_by_label("Activity", exact=True).select_option("activated")
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_url(re.compile(r"activity=activated"))
        rows = page.locator("#activity-results tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Activated an order")
