"""Sam from support impersonates Ada of Acme, looks around, stops; Ada's access log shows it."""

import re

import pytest
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template import RequestContext, Template
from django.urls import path

from portal import urls as portal_urls
from portal.impersonation import money_moving
from tests import demo
from tests.browser.conftest import DESKTOP, PHONE, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


REASON = "Ticket SUP-1234: invoice question"


def test_it_lets_support_impersonate_visibly_and_the_customer_see_it(page, watch):
    sign_in(page, demo.SAM)
    page.get_by_role("link", name="Support").click()
    page.wait_for_url("**/support/")
    page.get_by_label("Find a customer or user").fill("ada@acme")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r".*/support/\?q=ada%40acme"))
    member = page.locator(".support-member", has_text=demo.ADA)
    member.get_by_label("Reason").fill(REASON)
    watch.screenshot("support-search-desktop")
    page.set_viewport_size(PHONE)
    watch.screenshot("support-search-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size(DESKTOP)

    member.get_by_role("button", name=re.compile("Impersonate")).click()
    page.wait_for_url("**/")
    banner = page.get_by_role("region", name=re.compile("You are impersonating"))
    assert "of Acme" in banner.inner_text()
    assert "Read-only" in banner.inner_text()
    watch.screenshot("impersonating-home-desktop")
    page.set_viewport_size(PHONE)
    watch.screenshot("impersonating-home-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size(DESKTOP)

    # Browsing keeps the banner; the support pages are not reachable as Ada.
    page.get_by_role("link", name="Access log").click()
    page.wait_for_url("**/account/access-log/")
    assert banner.is_visible()
    assert page.get_by_role("link", name="Support").count() == 0

    page.get_by_role("link", name="Elevate…").click()
    page.wait_for_url("**/support/elevate/**")
    watch.screenshot("impersonation-elevate-desktop")
    page.get_by_role("link", name="Stay read-only").click()

    page.get_by_role("button", name="Stop impersonating").click()
    page.wait_for_url("**/support/")
    assert page.get_by_text("You stopped impersonating").is_visible()
    assert page.locator("#impersonation-banner").count() == 0

    page.get_by_role("link", name="Audit log").click()
    page.wait_for_url("**/support/audit/")
    assert page.get_by_role("cell", name=REASON).count() >= 1
    watch.screenshot("support-audit-desktop")
    page.set_viewport_size(PHONE)
    watch.screenshot("support-audit-phone")
    page.set_viewport_size(DESKTOP)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")

    sign_in(page, demo.ADA)
    page.get_by_role("link", name="Access log").click()
    session = page.locator(".access-session").first
    assert "Sam Support" in session.inner_text()
    assert REASON in session.inner_text()
    session.get_by_text(re.compile(r"\d+ pages? viewed, \d+ actions?")).click()
    assert "/account/access-log/" in session.inner_text()
    watch.screenshot("access-log-desktop")
    page.set_viewport_size(PHONE)
    watch.screenshot("access-log-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert watch.errors == []


def test_it_keeps_the_stop_button_in_reach_of_the_keyboard(page, watch):
    sign_in(page, demo.SAM)
    page.goto("/support/?q=ben%40acme")
    member = page.locator(".support-member", has_text=demo.BEN)
    member.get_by_label("Reason").fill("SUP-77")
    member.get_by_label("Reason").press("Enter")
    page.wait_for_url("**/")
    stop = page.get_by_role("button", name="Stop impersonating")
    for _ in range(20):
        page.keyboard.press("Tab")
        if stop.evaluate("button => document.activeElement === button"):
            break
    else:
        pytest.fail("Tab never reached the Stop button")
    page.keyboard.press("Enter")
    page.wait_for_url("**/support/")
    assert watch.errors == []


def activate(request: HttpRequest) -> HttpResponse:
    """Stands in for an order's Activate button until the order pages exist."""
    if request.method == "POST":
        return redirect("/test/activated/")
    page = Template(
        '{% extends "base.html" %}{% block content %}<h1>Order O-1</h1>'
        '<form method="post">{% csrf_token %}<button class="button">Activate</button></form>'
        "{% endblock %}"
    )
    return HttpResponse(page.render(RequestContext(request)))


def activated(request: HttpRequest) -> HttpResponse:
    page = Template('{% extends "base.html" %}{% block content %}<h1>Activated</h1>{% endblock %}')
    return HttpResponse(page.render(RequestContext(request)))


urlpatterns = [
    path("test/activate/", money_moving(activate)),
    path("test/activated/", activated),
    *portal_urls.urlpatterns,
]
handler403 = portal_urls.handler403
handler404 = portal_urls.handler404


@pytest.mark.urls(__name__)
def test_it_refuses_an_activation_until_support_elevates(page, watch):
    sign_in(page, demo.SAM)
    page.goto("/support/?q=ada%40acme")
    member = page.locator(".support-member", has_text=demo.ADA)
    member.get_by_label("Reason").fill("SUP-9: activation stuck")
    member.get_by_role("button", name=re.compile("Impersonate")).click()
    page.wait_for_url("**/")

    page.goto("/test/activate/")
    page.get_by_role("button", name="Activate").click()
    assert page.get_by_role("heading", name="Refused: you are impersonating read-only").is_visible()
    watch.screenshot("impersonation-refused-desktop")
    page.emulate_media(color_scheme="dark")
    watch.screenshot("impersonation-refused-dark")
    page.set_viewport_size(PHONE)
    watch.screenshot("impersonation-refused-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size(DESKTOP)
    page.emulate_media(color_scheme="light")

    page.get_by_label("Reason to elevate").fill("Ada asked for it in SUP-9")
    page.get_by_role("button", name="Elevate, then try again").click()
    page.wait_for_url("**/test/activate/")
    assert "Elevated" in page.locator("#impersonation-banner").inner_text()
    page.get_by_role("button", name="Activate").click()
    page.wait_for_url("**/test/activated/")
    page.get_by_role("button", name="Stop impersonating").click()
    page.wait_for_url("**/support/")
    # The server rendered the 403 page as designed; the browser logs that status as an error.
    assert [e for e in watch.errors if "403" not in e] == []


def test_it_refuses_an_order_activation_until_support_elevates(page, watch):
    sign_in(page, demo.SAM)
    page.goto("/support/?q=ada%40acme")
    member = page.locator(".support-member", has_text=demo.ADA)
    member.get_by_label("Reason").fill("SUP-10: draft will not activate")
    member.get_by_role("button", name=re.compile("Impersonate")).click()
    page.wait_for_url("**/")

    page.goto("/orders/?status=draft")
    page.locator("tbody th a.mono").first.click()
    page.wait_for_url(re.compile(r".*/orders/[^/]+/$"))
    order_url = page.url
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Activate order").click()
    refusal = page.get_by_role("heading", name="Refused: you are impersonating read-only")
    refusal.wait_for()
    assert page.locator("#impersonation-banner").count() == 1
    watch.screenshot("impersonation-order-refused-desktop")

    page.get_by_label("Reason to elevate").fill("Ada asked us to activate it (SUP-10)")
    page.get_by_role("button", name="Elevate, then try again").click()
    page.wait_for_url(order_url)
    assert "Elevated" in page.locator("#impersonation-banner").inner_text()
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Activate order").click()
    page.wait_for_url(re.compile(r".*/orders/[^/]+/activated/$"))
    watch.screenshot("impersonation-order-activated-desktop")
    page.get_by_role("button", name="Stop impersonating").click()
    page.wait_for_url("**/support/")

    page.get_by_role("link", name="Audit log").click()
    assert page.get_by_role("cell", name="Activation").count() >= 1
    assert page.get_by_role("cell", name="Action refused (read-only)").count() == 1
    # The 403 of the refused attempt is logged by the browser; nothing else may be.
    assert [e for e in watch.errors if "403" not in e] == []
