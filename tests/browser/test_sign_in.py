import pytest

from tests import demo
from tests.browser.conftest import PHONE, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_signs_ada_in_and_shows_the_shell_for_acme(page, watch):
    page.goto("/")
    assert "/accounts/login/" in page.url
    watch.screenshot("sign-in-desktop")

    sign_in(page, demo.ADA)

    assert page.get_by_role("link", name="Acting for Acme").is_visible() or (
        page.locator(".acting-customer").inner_text().startswith("Acme")
    )
    assert page.get_by_role("heading", level=1).inner_text().startswith("Welcome")
    watch.screenshot("home-desktop")
    page.set_viewport_size(PHONE)
    watch.screenshot("home-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert watch.errors == []


def test_it_signs_out_with_the_button(page, watch):
    sign_in(page, demo.BEN)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")
    page.goto("/")
    assert "/accounts/login/" in page.url
    assert watch.errors == []
