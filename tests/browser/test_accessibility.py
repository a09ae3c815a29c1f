"""axe-core scans of every page, in light and dark mode, with no serious or critical violation.

One test per page reached by its address (or by the first link to it), each signed in as the role
that sees it in a context no other test has left anything in (`role_page`); pages reached only by
using another (a form's error, a preview, impersonating) are scanned along their path, one test
per path. Each page is scanned once it has settled (htmx panels loaded), under both colour
schemes, and the scan also counts CSP violations and console errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
from tests import demo
from tests.browser.test_activity import seed_activity
from tests.browser.test_journeys import expected_status_errors, role_page
from tests.conftest import signed_in
from tests.orders.approval_helpers import lower_limit, pending_request
from tests.orders.payment_helpers import save_card
from tests.orders.support_helpers import KEPT_REFERENCE, kept_failure, open_operation

pytestmark = pytest.mark.django_db(transaction=True)

RULES_LIGHT = {"resultTypes": ["violations"]}
RULES_DARK = {"resultTypes": ["violations"], "runOnly": ["color-contrast"]}
BLOCKING = ("serious", "critical")
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


@dataclass(frozen=True)
class Page:
    """A page as `role` (None: signed out) reaches it: at `url`, or through the first link that
    `link` selects on `url`; `prepare` sets the data up first, `fault` breaks Nue meanwhile."""

    role: str | None
    label: str
    url: str
    status: int = 200
    link: str = ""
    prepare: Callable[[], object] | None = None
    fault: dict[str, Any] = field(default_factory=dict)
    # A card saved for Acme first, with Stripe on (localstripe): the pages' card and pay options.
    card: str = ""
    # Text the scanned page must show, so the scan covers what it claims to.
    shows: str = ""

    @property
    def id(self) -> str:
        return f"{(self.role or 'signed out').split('@')[0]}: {self.label}"


DRAFT = "#order-list tbody th a"


def request_approval() -> None:
    """Acme's limit lowered and Bob's approval request of its largest draft waiting for Maria."""
    lower_limit()
    pending_request(User.objects.get(email=demo.BOB), comment="Q3 budget")


# Every page each role reaches by address; the upstream failures are the order history's.
PAGES = [
    Page(None, "sign-in", "/accounts/login/"),
    Page(None, "password reset", "/accounts/password-reset/"),
    Page(None, "password reset, bad link", "/accounts/reset/MQ/not-a-token/"),
    Page(None, "password reset complete", "/accounts/reset/done/"),
    Page(demo.ADA, "dashboard", "/"),
    Page(demo.ADA, "order history", "/orders/"),
    Page(demo.ADA, "order history, no match", "/orders/?status=draft&q=zzzz-nothing"),
    Page(demo.ADA, "order detail, draft", "/orders/?status=draft", link=DRAFT),
    Page(demo.ADA, "order detail, activated", "/orders/?status=activated", link=DRAFT),
    Page(demo.ADA, "subscriptions", "/subscriptions/"),
    Page(demo.ADA, "subscription detail", f"/subscriptions/{demo.PRO}/"),
    Page(demo.ADA, "subscription scheduled to cancel", f"/subscriptions/{demo.CONTRACTORS}/"),
    Page(
        demo.ADA,
        "change wizard, cancellation scheduled",
        f"/subscriptions/{demo.CONTRACTORS}/change/",
    ),
    Page(demo.ADA, "invoices", "/invoices/"),
    Page(demo.ADA, "invoice detail", "/invoices/", link="main tbody th a"),
    Page(
        demo.ADA,
        "invoice detail, overdue, pay by card",
        "/invoices/?show=overdue",
        link="main tbody th a",
        card="4242424242424242",
        shows="Pay $90.00 with Visa ending 4242",
    ),
    Page(
        demo.ADA,
        "billing, card and contacts",
        "/billing/",
        card="4242424242424242",
        shows="Replace the card",
    ),
    Page(demo.ADA, "access log", "/account/access-log/"),
    Page(demo.ADA, "settings", "/account/", shows="Time zone"),
    # Grace reads German, in euros, in Berlin time.
    Page(demo.GRACE, "dashboard in German and euros", "/", shows="\xa0€"),
    Page(demo.GRACE, "new order in German and euros", "/orders/new/", shows="\xa0€"),
    Page(
        demo.ADA,
        "activity log",
        "/account/activity/",
        prepare=seed_activity,
        shows="Support agent",
    ),
    Page(demo.ADA, "sign-in security", "/account/security/", shows="Everyone at Acme"),
    Page(demo.ADA, "email notifications", "/account/notifications/", shows="Always sent to you"),
    Page(demo.BEN, "email notifications, viewer", "/account/notifications/", shows="Renewal"),
    Page(demo.ADA, "choose customer", "/accounts/customer/"),
    Page(demo.ADA, "new order", "/orders/new/"),
    Page(demo.ADA, "change wizard, choose", f"/subscriptions/{demo.PRO}/change/"),
    *(
        Page(demo.ADA, f"change wizard, {kind}", f"/subscriptions/{demo.PRO}/change/{kind}/")
        for kind in ("quantity", "upgrade", "downgrade", "renew", "cancel")
    ),
    Page(demo.ADA, "change basket", "/changes/basket/"),
    Page(demo.ADA, "not found", "/orders/no-such-order/", status=404),
    Page(
        demo.ADA,
        "upstream unreachable",
        "/orders/",
        status=503,
        fault={"reset": True},
    ),
    Page(
        demo.ADA,
        "upstream error",
        "/orders/",
        status=502,
        fault={"status": 500, "body": "html"},
    ),
    Page(
        demo.ADA,
        "upstream rate limit",
        "/orders/",
        status=503,
        fault={"status": 429, "retry_after": 5},
    ),
    # With Acme's approval limit lowered, as for the buyer's path below.
    Page(demo.BEN, "viewer dashboard", "/", prepare=lower_limit),
    Page(
        demo.BEN,
        "viewer order detail, draft",
        "/orders/?status=draft",
        link=DRAFT,
        prepare=lower_limit,
    ),
    Page(
        demo.BEN, "viewer change, choose", f"/subscriptions/{demo.PRO}/change/", prepare=lower_limit
    ),
    Page(demo.BEN, "viewer new order refused", "/orders/new/", status=403, prepare=lower_limit),
    Page(
        demo.BOB,
        "buyer order detail, above the limit",
        "/orders/?status=draft&sort=total",
        link=DRAFT,
        prepare=lower_limit,
    ),
    Page(demo.MARIA, "manager home", "/", prepare=request_approval),
    Page(demo.MARIA, "review", "/review/", prepare=request_approval),
    Page(
        demo.MARIA,
        "review draft",
        "/review/",
        link="main a[href*='/review/customers/']",
        prepare=request_approval,
    ),
    Page(demo.SAM, "support", "/support/"),
    Page(demo.SAM, "support search", "/support/?q=acme"),
    Page(demo.SAM, "audit", "/support/audit/"),
    Page(
        demo.SAM,
        "support lookup",
        f"/support/lookup/?reference={KEPT_REFERENCE}",
        prepare=kept_failure,
        shows="Nue request id",
    ),
    Page(
        demo.SAM, "support lookup, not found", "/support/lookup/?reference=0123456789ab", status=404
    ),
    Page(
        demo.SAM,
        "open operations",
        "/support/operations/",
        prepare=open_operation,
        shows="Check Nue now",
    ),
    Page(
        demo.SAM,
        "customer timeline",
        "/support/?q=acme",
        link="main a[href*='/timeline/']",
        prepare=kept_failure,
        shows="Our billing system answered with an error",
    ),
    Page(demo.SAM, "sign-in security, staff", "/account/security/", shows="Your role requires"),
    Page(demo.SUPERUSER, "superuser home", "/"),
    Page(demo.SUPERUSER, "server error", "/test/boom/", status=500),
]


def page_params() -> list[Any]:
    # The server error page needs the failing view of this module's URLconf.
    return [
        pytest.param(
            page, id=page.id, marks=[pytest.mark.urls(__name__)] if page.status == 500 else []
        )
        for page in PAGES
    ]


@pytest.mark.parametrize("target", page_params())
def test_it_scans_the_page(browser, live_server, request, target: Page):
    if target.prepare is not None:
        target.prepare()
    if target.card:
        base = request.getfixturevalue("stripe_on")
        save_card(signed_in(User.objects.get(email=demo.ADA)), base, target.card)
    with role_page(browser, live_server, target.role, by_form=False) as (page, watch):
        scanner = Scanner(page)
        url = href(page, target.url, target.link) if target.link else target.url
        if target.fault:
            with faults.inject("orders", "GET", **target.fault):
                scanner.visit(url, target.label, status=target.status)
        else:
            scanner.visit(url, target.label, status=target.status)
        if target.shows:
            expect(page.get_by_role("main")).to_contain_text(target.shows)
        scanner.assert_clean()
        statuses = (target.status,) if target.status != 200 else ()
        assert expected_status_errors(watch.errors, *statuses) == []


def test_it_scans_the_sign_in_error_and_the_password_reset_steps(browser, live_server):
    ada = User.objects.get(email=demo.ADA)
    uid = urlsafe_base64_encode(force_bytes(ada.pk))
    token = default_token_generator.make_token(ada)
    with role_page(browser, live_server) as (page, watch):
        scanner = Scanner(page)
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(demo.ADA)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("alert").first.wait_for()
        scanner.scan("sign-in with an error")
        page.goto("/accounts/password-reset/")
        page.get_by_label("Email").fill(demo.ADA)
        page.get_by_role("button", name="Send the link").click()
        page.wait_for_url("**/password-reset/sent/")
        scanner.scan("password reset sent")
        page.goto(f"/accounts/reset/{uid}/{token}/")
        page.wait_for_url("**/set-password/")
        scanner.scan("password reset, new password")
        scanner.assert_clean()
        assert watch.errors == []


def test_it_scans_a_new_order_from_configuring_to_activation(browser, live_server):
    with role_page(browser, live_server, demo.ADA) as (page, watch):
        scanner = Scanner(page)
        page.goto("/orders/new/")
        page.get_by_role("button", name="Add Platform Suite to order").click()
        page.get_by_label("Premium Support", exact=True).check()
        expect(page.locator("#preview")).to_contain_text("$7,560.00")
        scanner.scan("new order, configured")
        page.get_by_role("button", name="Create draft").click()
        page.wait_for_url(re.compile(r"/orders/[^/]+/$"))
        scanner.scan("new order, its draft")
        page.get_by_label(re.compile("Pay the invoices this order creates")).check()
        page.get_by_role("button", name="Activate order").click()
        page.wait_for_url(re.compile(r"/activated/$"))
        scanner.scan("activation result")
        scanner.assert_clean()
        assert watch.errors == []


def test_it_scans_a_change_from_a_form_error_to_its_result(browser, live_server):
    with role_page(browser, live_server, demo.ADA) as (page, watch):
        scanner = Scanner(page)
        page.goto(f"/subscriptions/{demo.PRO}/change/quantity/")
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
        scanner.assert_clean()
        assert expected_status_errors(watch.errors, 422) == []


def test_it_scans_a_buyer_s_approval_request(browser, live_server):
    lower_limit()
    with role_page(browser, live_server, demo.BOB) as (page, watch):
        scanner = Scanner(page)
        page.goto(href(page, "/orders/?status=draft&sort=total", DRAFT))
        page.get_by_role("button", name="Generate quote link").click()
        page.get_by_role("textbox", name="Quote link").wait_for()
        page.get_by_label("Note for your account manager").fill("Q3 budget")
        page.get_by_label("PO number").fill("PO-Q3-7")
        page.get_by_label(re.compile("Once approved, pay")).check()
        page.get_by_role("button", name="Request approval").click()
        page.get_by_text("Approval requested").wait_for()
        scanner.scan("buyer order detail, approval requested")
        scanner.visit("/", "buyer dashboard with a pending approval")
        scanner.assert_clean()
        assert watch.errors == []


def test_it_scans_maria_s_review_of_a_request_and_a_draft(browser, live_server):
    lower_limit()
    request = pending_request(User.objects.get(email=demo.BOB), comment="Q3 budget")
    with role_page(browser, live_server, demo.MARIA) as (page, watch):
        scanner = Scanner(page)
        scanner.visit(f"/review/requests/{request.pk}/", "review request")
        page.goto(href(page, "/review/", "main a[href*='/review/customers/']"))
        page.get_by_role("button", name="Generate quote link").click()
        page.get_by_role("textbox", name="Quote link").wait_for()
        scanner.scan("review draft with a quote link")
        page.goto(f"/review/requests/{request.pk}/")
        page.get_by_role("button", name="Decline").first.click()
        scanner.scan("review request, decline form")
        scanner.assert_clean()
        assert expected_status_errors(watch.errors, 422) == []


def test_it_scans_sam_impersonating_read_only(browser, live_server):
    with role_page(browser, live_server, demo.SAM) as (page, watch):
        scanner = Scanner(page)
        member = page.goto("/support/?q=ada%40acme")
        assert member is not None
        ada = page.locator(".support-member", has_text=demo.ADA)
        ada.get_by_label("Reason").fill("SUP-42: invoice question")
        ada.get_by_role("button", name=re.compile("Impersonate")).click()
        page.wait_for_url("**/")
        scanner.scan("impersonating, dashboard")
        page.get_by_role("link", name="Elevate…").click()
        page.wait_for_url("**/support/elevate/**")
        scanner.scan("impersonating, elevate")
        draft = href(page, "/orders/?status=draft", DRAFT)
        page.goto(draft)
        page.get_by_role("checkbox").check()
        page.get_by_role("button", name="Activate order").click()
        page.get_by_role("heading", name="Refused: you are impersonating read-only").wait_for()
        scanner.scan("impersonating, refused")
        page.get_by_role("button", name="Stop impersonating").click()
        page.wait_for_url("**/support/")
        scanner.assert_clean()
        assert expected_status_errors(watch.errors, 403) == []


def boom(request: HttpRequest):
    raise RuntimeError("a bug, to show the server error page")


urlpatterns = [path("test/boom/", boom), *portal_urls.urlpatterns]
handler403 = portal_urls.handler403
handler404 = portal_urls.handler404
handler500 = portal_urls.handler500
