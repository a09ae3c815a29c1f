"""Every role's main path in headless Chromium: no CSP violation and no console error anywhere.

One page per role, signed out before (`reused_page`). CSP violations are caught by a
`securitypolicyviolation` listener that Playwright's init script adds to every document (the
browser injects init scripts itself, so our policy, which forbids inline script, does not block
them) and reported as console errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from playwright.sync_api import expect

from nue_emulator import journal
from portal.models import User
from tests import demo
from tests.browser.conftest import PageWatch, reused_page, sign_in
from tests.conftest import signed_in
from tests.orders.approval_helpers import lower_limit, pending_request

pytestmark = pytest.mark.django_db(transaction=True)

CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(
    `CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""


@contextmanager
def role_page(
    browser, live_server, email: str | None = None, *, by_form: bool = True
) -> Iterator[tuple[object, PageWatch]]:
    """A page for one role, signed in when `email` is given, watched for CSP and console errors;
    a signed-out page in a context of no other test's (`reused_page`).

    `by_form=False` signs in with a session cookie instead of the sign-in form, for tests about
    another page: it skips the sign-in page and the dashboard it leads to.
    """
    with reused_page(browser, live_server.url, CSP_LISTENER) as page:
        watch = PageWatch(page)
        try:
            if email and by_form:
                sign_in(page, email)
            elif email:
                client = signed_in(User.objects.get(email=email))
                session = client.cookies[settings.SESSION_COOKIE_NAME].value
                cookie = {"name": settings.SESSION_COOKIE_NAME, "value": session}
                page.context.add_cookies([{**cookie, "url": live_server.url}])
            yield page, watch
        finally:
            watch.stop()


def expected_status_errors(errors: list[str], *statuses: int) -> list[str]:
    """The console errors left once the browser's log of deliberate error statuses is removed."""
    # Chromium logs "the server responded with a status of 403", htmx "Response Status Error
    # Code 403".
    marks = tuple(m for status in statuses for m in (f"status of {status}", f"Code {status} "))
    return [e for e in errors if not any(mark in e for mark in marks)]


def first_link(page, url: str, selector: str) -> str:
    page.goto(url)
    href = page.locator(selector).first.get_attribute("href")
    assert href
    return href


def test_it_walks_ada_through_buying_changing_and_billing(browser, live_server):
    with role_page(browser, live_server, demo.ADA) as (page, watch):
        page.wait_for_load_state("networkidle")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")

        page.get_by_role("link", name="Orders", exact=True).click()
        page.get_by_label("Status").select_option("draft")
        page.wait_for_url(re.compile(r"status=draft"))
        page.wait_for_load_state("networkidle")
        page.locator("#order-list tbody th a").first.click()
        page.wait_for_url(re.compile(r"/orders/[^/]+/$"))
        expect(page.locator("#draft-actions")).to_be_visible()

        page.goto("/orders/new/")
        page.get_by_role("button", name="Add Pro Plan (US) to order").click()
        page.get_by_label("Quantity", exact=True).fill("2")
        expect(page.locator("#preview")).to_contain_text("$50.00")
        page.get_by_role("button", name="Create draft").click()
        page.wait_for_url(re.compile(r"/orders/[^/]+/$"))
        page.get_by_label(re.compile("Pay the invoices this order creates")).check()
        page.get_by_role("button", name="Activate order").click()
        page.wait_for_url(re.compile(r"/activated/$"))
        expect(page.get_by_role("heading", level=1)).to_contain_text("is active")

        page.goto(f"/subscriptions/{demo.PRO}/")
        page.get_by_role("link", name=re.compile("Change")).first.click()
        page.get_by_role("link", name=re.compile("Change quantity")).click()
        page.get_by_label("New quantity").fill("6")
        page.get_by_role("button", name="Preview the change").click()
        page.wait_for_url(re.compile(r"/change/preview/"))
        page.get_by_role("button", name="Confirm the change").click()
        page.wait_for_url(re.compile(r"/change/done/"))

        page.get_by_role("link", name="Invoices", exact=True).click()
        page.locator("tbody th a").first.click()
        page.wait_for_url(re.compile(r"/invoices/[^/]+/$"))
        page.get_by_role("link", name="Access log").click()
        page.wait_for_url("**/account/access-log/")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/accounts/login/")
        assert watch.errors == []


def test_it_walks_ben_the_viewer_through_reading_only(browser, live_server):
    with role_page(browser, live_server, demo.BEN) as (page, watch):
        page.wait_for_load_state("networkidle")
        page.get_by_role("link", name="Subscriptions", exact=True).click()
        page.get_by_role("link", name="Pro Plan (US)").first.click()
        page.wait_for_url(re.compile(r"/subscriptions/SUB-\d+/$"))
        draft = first_link(page, "/orders/?status=draft", "#order-list tbody th a")
        page.goto(draft)
        expect(page.get_by_role("button", name="Activate order")).to_have_count(0)
        response = page.goto("/orders/new/")
        assert response is not None
        assert response.status in (403, 404)
        assert expected_status_errors(watch.errors, 403, 404) == []


def test_it_walks_bob_the_buyer_to_an_approval_request(browser, live_server):
    lower_limit()
    with role_page(browser, live_server, demo.BOB) as (page, watch):
        page.wait_for_load_state("networkidle")
        drafts = page.locator("#order-list tbody th a")
        page.goto("/orders/?status=draft&sort=total")
        page.wait_for_load_state("networkidle")
        drafts.first.click()
        page.wait_for_url(re.compile(r"/orders/[^/]+/$"))
        panel = page.locator("#approval-panel")
        expect(panel).to_contain_text("above your account's approval limit")
        panel.get_by_label("Note for your account manager").fill("Q3 budget")
        panel.get_by_label(re.compile("Once approved, pay")).check()
        panel.get_by_role("button", name="Request approval").click()
        page.get_by_text("Approval requested").wait_for()
        assert watch.errors == []


def test_it_walks_maria_through_her_review_queue(browser, live_server):
    lower_limit()
    pending_request(User.objects.get(email=demo.BOB), comment="Q3 budget")
    with role_page(browser, live_server, demo.MARIA) as (page, watch):
        page.get_by_role("link", name="Review").click()
        page.wait_for_url("**/review/")
        page.wait_for_load_state("networkidle")
        page.locator("main a[href*='/review/requests/']").first.click()
        page.get_by_role("button", name="Approve and activate").click()
        page.get_by_text(re.compile("Approved: order .* is activated")).wait_for()
        page.goto("/review/")
        page.locator("main a[href*='/review/customers/']").first.click()
        page.wait_for_url(re.compile(r"/review/customers/\d+/orders/[^/]+/$"))
        page.get_by_role("button", name="Generate quote link").click()
        expect(page.get_by_role("textbox", name="Quote link")).to_be_visible()
        assert watch.errors == []


def test_it_walks_sam_through_impersonation_and_the_audit(browser, live_server):
    with role_page(browser, live_server, demo.SAM) as (page, watch):
        page.get_by_role("link", name="Support").click()
        page.get_by_label("Find a customer or user").fill("ada@acme")
        page.get_by_role("button", name="Search").click()
        page.wait_for_url(re.compile(r"q=ada%40acme"))
        # Load the result page afresh: the search box's delayed htmx search may still swap the
        # results (and the reason typed into them) after the button's.
        page.goto(page.url)
        member = page.locator(".support-member", has_text=demo.ADA)
        member.get_by_label("Reason").fill("SUP-42: invoice question")
        member.get_by_role("button", name=re.compile("Impersonate")).click()
        page.wait_for_url("**/")
        page.wait_for_load_state("networkidle")
        page.get_by_role("link", name="Invoices", exact=True).click()
        page.wait_for_url("**/invoices/")
        page.get_by_role("button", name="Stop impersonating").click()
        page.wait_for_url("**/support/")
        page.get_by_role("link", name="Audit log").click()
        page.wait_for_url("**/support/audit/")
        assert watch.errors == []


def test_it_walks_the_superuser_to_the_admin(browser, live_server):
    with role_page(browser, live_server, demo.SUPERUSER) as (page, watch):
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        page.get_by_role("link", name="Admin").click()
        page.wait_for_url("**/admin/")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        with journal.capture() as calls:
            page.goto("/")
        assert [c for c in calls if c.method != "GET"] == []
        assert watch.errors == []
