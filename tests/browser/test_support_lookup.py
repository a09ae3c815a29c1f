"""Ada meets a Nue failure and reads its reference out; Sam from support looks it up and sees the
call to Nue that failed, its request id and what Ada was shown."""

import re

import pytest

from nue_emulator import faults
from tests import demo
from tests.browser.conftest import DESKTOP, PHONE, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_sam_looks_up_the_reference_of_a_failure_ada_met(page, watch):
    sign_in(page, demo.ADA)
    with faults.inject("orders", "GET", status=200, body="malformed"):
        response = page.goto("/orders/")
    assert response is not None
    assert response.status == 502
    shown = page.locator(".reference").inner_text()
    reference = re.search(r"[0-9a-f]{12}", shown)
    assert reference, shown
    reference = reference.group(0)
    assert page.get_by_role("heading", name="Our billing system answered with an error").count()
    watch.screenshot("support-lookup-customer-error")
    page.get_by_role("button", name=re.compile("Sign out")).click()
    page.wait_for_url("**/accounts/login/")

    sign_in(page, demo.SAM)
    page.get_by_role("link", name="Support").click()
    page.wait_for_url("**/support/")
    page.get_by_role("link", name="Look up a reference").click()
    page.wait_for_url("**/support/lookup/")
    # Read out over the phone, as the page showed it.
    page.get_by_label("Reference").fill(f"Reference: {reference.upper()}")
    page.get_by_role("button", name="Look up").click()
    page.wait_for_url(re.compile(r".*/support/lookup/\?reference="))

    result = page.locator("#lookup-result")
    call = result.locator("[data-nue-call]")
    call.wait_for()
    assert call.inner_text() == "GET /orders"
    assert result.locator("[data-nue-request-id]").inner_text() == reference
    assert (
        "Our billing system answered with an error" in result.locator("[data-outcome]").inner_text()
    )
    assert demo.ADA in result.inner_text()
    assert demo.ACME in result.inner_text()
    watch.screenshot("support-lookup-desktop")
    page.set_viewport_size(PHONE)
    watch.screenshot("support-lookup-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size(DESKTOP)

    # The customer's timeline shows the failure among what happened, linked back here.
    result.get_by_role("link", name="Timeline").click()
    page.wait_for_url("**/support/customers/*/timeline/")
    failure = page.locator('[data-kind="failure"]').first
    assert reference in failure.inner_text()
    watch.screenshot("support-timeline-desktop")

    page.goto(f"/support/lookup/?reference={'0' * 12}")
    assert page.get_by_role("heading", name=f"Reference {'0' * 12} not found").is_visible()
    # The failure page answers 502 and the unknown reference 404, as they should; nothing else
    # (a CSP violation, a script error) may show in the console.
    expected = ("502 (Bad Gateway)", "404 (Not Found)")
    assert [e for e in watch.errors if not e.endswith(expected)] == []
