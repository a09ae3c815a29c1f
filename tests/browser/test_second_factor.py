"""The second factor in headless Chromium (issue 25, items 4 and 5): Sam cannot impersonate until
he has set up an authenticator app, which he does from the key shown as text; Maria signs in
with a code and lands on her book, whose customers link to their drafts and renewals. Every
page scanned by axe, with no CSP violation and no console error."""

from __future__ import annotations

import re
from base64 import b32decode

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from portal.models import CustomerAccount, User
from tests import demo
from tests.browser.conftest import PHONE
from tests.browser.test_accessibility import Scanner
from tests.browser.test_journeys import expected_status_errors, role_page
from tests.conftest import authenticator, totp_code

pytestmark = pytest.mark.django_db(transaction=True)


def password_only(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(demo.PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_sam_sets_up_his_authenticator_before_he_can_impersonate(browser, live_server):
    ada = User.objects.get(email=demo.ADA)
    impersonate = f"/support/impersonate/{ada.memberships.get().pk}/"
    with role_page(browser, live_server) as (page, watch):
        scanner = Scanner(page)
        password_only(page, demo.SAM)
        page.wait_for_url("**/accounts/mfa/setup/?next=%2Fsupport%2F")
        # Nothing else is reachable before it is set up: not the impersonation, not the nav.
        page.goto(impersonate)
        page.wait_for_url("**/accounts/mfa/setup/**")
        expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
        expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
        scanner.scan("second factor setup")
        watch.screenshot("mfa-setup-desktop")
        page.set_viewport_size(PHONE)
        watch.screenshot("mfa-setup-phone")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        # Typed from the key shown as text, as someone who cannot scan would.
        secret = page.locator(".mfa-secret").inner_text().replace(" ", "")
        code = str(TOTP(b32decode(secret)).token()).zfill(6)
        page.get_by_label("Authentication code").fill("000000")
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("alert")).to_contain_text("does not match")
        page.get_by_label("Authentication code").fill(code)
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
        expect(
            page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
        ).to_have_count(10)
        scanner.scan("recovery codes")
        watch.screenshot("mfa-recovery-codes-phone")
        page.get_by_role("link", name=re.compile("I saved them")).click()
        page.wait_for_url(re.compile(r"/support/impersonate/\d+/$"))

        page.get_by_label("Reason").fill("SUP-77: set up and then helping")
        page.get_by_role("button", name="Start impersonating").click()
        page.wait_for_url("**/")
        expect(page.get_by_role("region", name=re.compile("You are impersonating"))).to_be_visible()
        scanner.assert_clean()
        assert expected_status_errors(watch.errors, 422) == []


def test_maria_signs_in_with_a_code_and_opens_a_customer_of_her_book(browser, live_server):
    maria = User.objects.get(email=demo.MARIA)
    device = authenticator(maria)
    acme = CustomerAccount.objects.get(name=demo.ACME)
    with role_page(browser, live_server) as (page, watch):
        scanner = Scanner(page)
        password_only(page, demo.MARIA)
        page.wait_for_url("**/accounts/mfa/verify/?next=%2Freview%2F")
        field = page.get_by_label("Authentication code")
        assert field.get_attribute("autocomplete") == "one-time-code"
        assert field.get_attribute("inputmode") == "numeric"
        scanner.scan("second factor code")
        watch.screenshot("mfa-verify-desktop")
        field.fill("000000")
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_role("alert")).to_contain_text("That code did not work")
        scanner.scan("second factor code, wrong")
        page.get_by_label("Authentication code").fill(totp_code(device))
        page.get_by_role("button", name="Verify").click()
        page.wait_for_url("**/review/")

        links = page.get_by_role("list", name=demo.ACME)
        links.get_by_role("link", name="Renewals").click()
        page.wait_for_url(f"**/review/?customer={acme.pk}#renewals-{acme.pk}")
        expect(page.get_by_role("heading", level=1)).to_have_text(demo.ACME)
        expect(
            page.get_by_role("heading", name=re.compile("Renewing in the next 90 days"))
        ).to_be_visible()
        expect(page.get_by_role("heading", name=demo.GLOBEX)).to_have_count(0)
        scanner.scan("review, one customer")
        watch.screenshot("review-one-customer-desktop")
        page.get_by_role("link", name="All customers").click()
        page.wait_for_url("**/review/")
        page.get_by_role("list", name=demo.ACME).get_by_role(
            "link", name=re.compile("Drafts")
        ).click()
        page.wait_for_url(f"**/review/?customer={acme.pk}#drafts-{acme.pk}")
        scanner.assert_clean()
        assert expected_status_errors(watch.errors, 422) == []


def test_ada_turns_it_on_from_her_security_page_and_signs_in_with_a_recovery_code(
    browser, live_server
):
    with role_page(browser, live_server, demo.ADA) as (page, watch):
        scanner = Scanner(page)
        page.get_by_role("link", name="Security").click()
        page.wait_for_url("**/account/security/")
        scanner.scan("sign-in security, off")
        page.get_by_role("link", name="Set up a second factor").click()
        secret = page.locator(".mfa-secret").inner_text().replace(" ", "")
        page.get_by_label("Authentication code").fill(str(TOTP(b32decode(secret)).token()).zfill(6))
        page.get_by_role("button", name="Confirm").click()
        codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
        first = codes.first.inner_text()
        page.get_by_role("link", name=re.compile("I saved them")).click()
        page.wait_for_url("**/account/security/")
        expect(page.get_by_text("10 of 10")).to_be_visible()
        scanner.scan("sign-in security, on")
        watch.screenshot("security-on-desktop")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/accounts/login/")

        password_only(page, demo.ADA)
        page.wait_for_url("**/accounts/mfa/verify/**")
        page.get_by_text("Use a recovery code instead").click()
        page.get_by_label("Recovery code").fill(first)
        page.get_by_role("button", name="Use recovery code").click()
        page.wait_for_url(re.compile(r"/$"))
        expect(page.get_by_text("You used a recovery code: 9 left.")).to_be_visible()
        scanner.assert_clean()
        assert watch.errors == []
