"""axe-core scans of every page, in light and dark mode, with no serious or critical violation.

One browser context per role; each page is scanned once it has settled (htmx panels loaded),
under both colour schemes, and the scan also counts CSP violations and console errors.
"""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from django.contrib.auth.tokens import default_token_generator
from django.http import HttpRequest
from django.urls import path
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import expect

from nue_emulator import faults
from portal import urls as portal_urls
from portal.models import User
from tests.browser.test_journeys import expected_status_errors, role_page
from tests.orders.approval_helpers import lower_limit, pending_request

pytestmark = pytest.mark.django_db(transaction=True)

RULES_LIGHT = {"resultTypes": ["violations"]}
RULES_DARK = {"resultTypes": ["violations"], "runOnly": ["color-contrast"]}
BLOCKING = ("serious", "critical")
PRO = "SUB-00000001"
# No htmx request in flight, then no transition running (colours measured halfway through a fade,
# an htmx indicator going out, are no colours anyone reads); a spinner turns forever and is skipped.
SETTLED = """new Promise((resolve) => {
  const idle = () => {
    if (document.querySelector(".htmx-request")) return setTimeout(idle, 25);
    Promise.all(document.getAnimations()
      .filter((a) => a.effect && a.effect.getComputedTiming().iterations !== Infinity)
      .map((a) => a.finished)).then(resolve);
  };
  idle();
})"""


class Scanner:
    """Scans pages of one signed-in context and keeps every blocking violation it finds."""

    def __init__(self, page) -> None:
        self.page = page
        self.found: list[str] = []
        self.scanned: list[str] = []

    def visit(self, url: str, label: str, status: int = 200) -> None:
        response = self.page.goto(url)
        assert response is not None
        assert response.status == status, f"{label}: {url} answered {response.status}"
        self.scan(label)

    def scan(self, label: str) -> None:
        for scheme in ("light", "dark"):
            self.page.emulate_media(color_scheme=scheme)
            self.page.evaluate(SETTLED)
            # Only colours change with the scheme: the dark pass checks contrast alone.
            options = RULES_LIGHT if scheme == "light" else RULES_DARK
            for violation in run_axe(self.page, options)["violations"]:
                if violation["impact"] not in BLOCKING:
                    continue
                for node in violation["nodes"]:
                    self.found.append(
                        f"{label} ({scheme}) {violation['id']} [{violation['impact']}] "
                        f"{node['target']}: {node['failureSummary']}"
                    )
        self.page.emulate_media(color_scheme="light")
        self.scanned.append(label)

    def assert_clean(self) -> None:
        assert self.found == [], "\n".join(self.found)


def run_axe(page, options: dict) -> dict:
    """axe-core as shipped by axe-playwright-python, injected once per document."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    return page.evaluate("(options) => axe.run(document, options)", options)


def href(page, url: str, selector: str) -> str:
    page.goto(url)
    found = page.locator(selector).first.get_attribute("href")
    assert found, f"no {selector} on {url}"
    return found


def test_it_scans_the_pages_before_sign_in(browser, live_server):
    ada = User.objects.get(email="ada@acme.example")
    uid = urlsafe_base64_encode(force_bytes(ada.pk))
    token = default_token_generator.make_token(ada)
    with role_page(browser, live_server) as (page, watch):
        scanner = Scanner(page)
        scanner.visit("/accounts/login/", "sign-in")
        page.get_by_label("Email").fill("ada@acme.example")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("alert").first.wait_for()
        scanner.scan("sign-in with an error")
        scanner.visit("/accounts/password-reset/", "password reset")
        page.get_by_label("Email").fill("ada@acme.example")
        page.get_by_role("button", name="Send the link").click()
        page.wait_for_url("**/password-reset/sent/")
        scanner.scan("password reset sent")
        scanner.visit("/accounts/reset/MQ/not-a-token/", "password reset, bad link")
        page.goto(f"/accounts/reset/{uid}/{token}/")
        page.wait_for_url("**/set-password/")
        scanner.scan("password reset, new password")
        scanner.visit("/accounts/reset/done/", "password reset complete")
        scanner.assert_clean()
        assert watch.errors == []


def test_it_scans_every_customer_page_as_ada(browser, live_server):
    with role_page(browser, live_server, "ada@acme.example") as (page, watch):
        scanner = Scanner(page)
        scanner.visit("/", "dashboard")
        scanner.visit("/orders/", "order history")
        scanner.visit("/orders/?status=draft&q=zzzz-nothing", "order history, no match")
        draft = href(page, "/orders/?status=draft", "#order-list tbody th a")
        activated = href(page, "/orders/?status=activated", "#order-list tbody th a")
        scanner.visit(draft, "order detail, draft")
        scanner.visit(activated, "order detail, activated")
        scanner.visit("/subscriptions/", "subscriptions")
        scanner.visit(f"/subscriptions/{PRO}/", "subscription detail")
        scanner.visit("/invoices/", "invoices")
        invoice = href(page, "/invoices/", "main tbody th a")
        scanner.visit(invoice, "invoice detail")
        scanner.visit("/account/access-log/", "access log")
        scanner.visit("/accounts/customer/", "choose customer")

        scanner.visit("/orders/new/", "new order")
        page.get_by_role("button", name="Add Platform Suite to order").click()
        page.get_by_label("Premium Support", exact=True).check()
        expect(page.locator("#preview")).to_contain_text("$7,560.00")
        scanner.scan("new order, configured")
        page.get_by_role("button", name="Create draft").click()
        page.wait_for_url(re.compile(r"/orders/[^/]+/$"))
        scanner.scan("new order, its draft")
        page.get_by_label(re.compile("Charge the saved payment method")).check()
        page.get_by_role("button", name="Activate order").click()
        page.wait_for_url(re.compile(r"/activated/$"))
        scanner.scan("activation result")

        scanner.visit(f"/subscriptions/{PRO}/change/", "change wizard, choose")
        for kind in ("quantity", "upgrade", "downgrade", "renew", "cancel"):
            scanner.visit(f"/subscriptions/{PRO}/change/{kind}/", f"change wizard, {kind}")
        page.goto(f"/subscriptions/{PRO}/change/quantity/")
        page.get_by_label("New quantity").fill("5")
        page.get_by_role("button", name="Preview the change").click()
        page.locator("#change-form").get_by_text("It already has 5").wait_for()
        scanner.scan("change wizard, form error")
        page.get_by_label("New quantity").fill("8")
        page.get_by_role("button", name="Preview the change").click()
        page.wait_for_url(re.compile(r"/change/preview/[^/]+/$"))
        scanner.scan("change wizard, preview")
        page.get_by_role("button", name="Confirm the change").click()
        page.wait_for_url(re.compile(r"/change/done/"))
        scanner.scan("change wizard, result")
        scanner.visit("/changes/basket/", "change basket")

        scanner.visit("/orders/no-such-order/", "not found", status=404)
        with faults.inject("orders", "GET", reset=True):
            scanner.visit("/orders/", "upstream unreachable", status=503)
        with faults.inject("orders", "GET", status=500, body="html"):
            scanner.visit("/orders/", "upstream error", status=502)
        with faults.inject("orders", "GET", status=429, retry_after=5):
            scanner.visit("/orders/", "upstream rate limit", status=503)
        scanner.assert_clean()
        assert expected_status_errors(watch.errors, 404, 422, 502, 503) == []


def test_it_scans_the_viewer_and_buyer_pages(browser, live_server):
    lower_limit()
    with role_page(browser, live_server, "ben@acme.example") as (page, watch):
        scanner = Scanner(page)
        scanner.visit("/", "viewer dashboard")
        draft = href(page, "/orders/?status=draft", "#order-list tbody th a")
        scanner.visit(draft, "viewer order detail, draft")
        scanner.visit(f"/subscriptions/{PRO}/change/", "viewer change, choose")
        scanner.visit("/orders/new/", "viewer new order refused", status=403)
        scanner.assert_clean()
        assert expected_status_errors(watch.errors, 403) == []
    with role_page(browser, live_server, "bob@acme.example") as (page, watch):
        scanner = Scanner(page)
        draft = href(page, "/orders/?status=draft&sort=total", "#order-list tbody th a")
        scanner.visit(draft, "buyer order detail, above the limit")
        page.get_by_role("button", name="Generate quote link").click()
        page.get_by_role("textbox", name="Quote link").wait_for()
        page.get_by_label("Note for your account manager").fill("Q3 budget")
        page.get_by_role("button", name="Request approval").click()
        page.get_by_text("Approval requested").wait_for()
        scanner.scan("buyer order detail, approval requested")
        scanner.visit("/", "buyer dashboard with a pending approval")
        scanner.assert_clean()
        assert watch.errors == []


def test_it_scans_the_review_pages_as_maria(browser, live_server):
    lower_limit()
    request = pending_request(User.objects.get(email="bob@acme.example"), comment="Q3 budget")
    with role_page(browser, live_server, "maria@nue.example") as (page, watch):
        scanner = Scanner(page)
        scanner.visit("/", "manager home")
        scanner.visit("/review/", "review")
        scanner.visit(f"/review/requests/{request.pk}/", "review request")
        draft = href(page, "/review/", "main a[href*='/review/customers/']")
        scanner.visit(draft, "review draft")
        page.get_by_role("button", name="Generate quote link").click()
        page.get_by_role("textbox", name="Quote link").wait_for()
        scanner.scan("review draft with a quote link")
        page.goto(f"/review/requests/{request.pk}/")
        page.get_by_role("button", name="Decline").first.click()
        scanner.scan("review request, decline form")
        scanner.assert_clean()
        assert expected_status_errors(watch.errors, 422) == []


def test_it_scans_the_support_pages_as_sam(browser, live_server):
    with role_page(browser, live_server, "sam@nue.example") as (page, watch):
        scanner = Scanner(page)
        scanner.visit("/support/", "support")
        scanner.visit("/support/?q=acme", "support search")
        scanner.visit("/support/audit/", "audit")
        member = page.goto("/support/?q=ada%40acme")
        assert member is not None
        ada = page.locator(".support-member", has_text="ada@acme.example")
        ada.get_by_label("Reason").fill("SUP-42: invoice question")
        ada.get_by_role("button", name=re.compile("Impersonate")).click()
        page.wait_for_url("**/")
        scanner.scan("impersonating, dashboard")
        page.get_by_role("link", name="Elevate…").click()
        page.wait_for_url("**/support/elevate/**")
        scanner.scan("impersonating, elevate")
        draft = href(page, "/orders/?status=draft", "#order-list tbody th a")
        page.goto(draft)
        page.get_by_role("checkbox").check()
        page.get_by_role("button", name="Activate order").click()
        page.get_by_role("heading", name="Refused: you are impersonating read-only").wait_for()
        scanner.scan("impersonating, refused")
        page.get_by_role("button", name="Stop impersonating").click()
        page.wait_for_url("**/support/")
        scanner.assert_clean()
        assert expected_status_errors(watch.errors, 403) == []


@pytest.mark.urls(__name__)
def test_it_scans_the_superuser_home_and_the_server_error_page(browser, live_server):
    with role_page(browser, live_server, "admin@nue.example") as (page, watch):
        scanner = Scanner(page)
        scanner.visit("/", "superuser home")
        scanner.visit("/test/boom/", "server error", status=500)
        scanner.assert_clean()
        assert expected_status_errors(watch.errors, 500) == []


def boom(request: HttpRequest):
    raise RuntimeError("a bug, to show the server error page")


urlpatterns = [path("test/boom/", boom), *portal_urls.urlpatterns]
handler403 = portal_urls.handler403
handler404 = portal_urls.handler404
handler500 = portal_urls.handler500
