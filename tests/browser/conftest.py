"""Headless Chromium from Debian's package, driven by Playwright; never a downloaded browser.

Without /usr/bin/chromium the browser tests skip with a message, except with CI=true where a
missing browser is a failure. Screenshots go to test-artifacts/ for people to look at.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from django.db import connections

from tests import demo

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}

# Playwright's sync API runs an event loop on the test thread; the ORM calls of the test
# itself are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs /usr/bin/chromium (Debian's chromium package) for browser tests")
        pytest.skip(
            "Debian's chromium is not installed (/usr/bin/chromium); apt-get install chromium"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        # While Playwright's event loop runs on this thread, asgiref sees a running loop and
        # Django keeps the thread's database connections in a per-context store. Once the loop
        # stops, that store is out of sight: a connection opened meanwhile (the demo re-seeded
        # after the last transactional test) would stay open and hold the test database when
        # pytest-django drops it. Close them while they can still be reached.
        connections.close_all()
        browser.close()


class PageWatch:
    """Collects console errors and CSP violations of a page."""

    def __init__(self, page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(scope="session", autouse=True)
def one_request_at_a_time(live_server) -> None:
    """On the in-memory SQLite test database, let the live server's threads take turns.

    Django hands that database's single connection to every live-server thread; two requests at
    once (a page and its HTMX partial) would interleave their savepoints on it. PostgreSQL gives
    each thread its own connection, so there the requests stay truly concurrent.
    """
    httpd = live_server.thread.httpd
    if not httpd.connections_override:
        return
    app = httpd.get_app()
    turn = threading.Lock()

    def serialized(environ: dict, start_response) -> Iterable[bytes]:
        with turn:
            result = app(environ, start_response)
            try:
                # A streamed body reads the database too: drain it while holding the turn.
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        return [body]

    httpd.set_app(serialized)


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def watch(page) -> PageWatch:
    return PageWatch(page)


def sign_in(page, email: str, password: str = demo.PASSWORD) -> None:
    """Sign in through the form; staff (and whoever has an authenticator app) then type the code
    their app would show, computed from the device's key (made for staff who have none)."""
    from portal import mfa
    from portal.models import User
    from tests.conftest import authenticator, totp_code

    user = User.objects.filter(email=email).first()
    device = None
    if user is not None and mfa.must_verify(user):
        device = authenticator(user)
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    if device is not None:
        page.wait_for_url("**/accounts/mfa/verify/**")
        page.get_by_label("Authentication code").fill(totp_code(device))
        page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/")
