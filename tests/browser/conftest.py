"""Headless Chromium from Debian's package, driven by Playwright; never a downloaded browser.

Without /usr/bin/chromium the browser tests skip with a message, except with CI=true where a
missing browser is a failure. Screenshots go to test-artifacts/ for people to look at.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
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


@pytest.fixture(scope="session", autouse=True)
def reused_pages(browser, django_db_setup) -> Iterator[None]:
    """Closes the pages tests handed on (`ReusedPage`) before the test database is dropped.

    Their connections to the live server stayed open from test to test, and the server's thread
    for each kept its database connection: the threads end once the browser closes them.
    """
    yield
    for context, _page in _IDLE.pop(browser, {}).values():
        context.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
        thread.name.endswith("(process_request_thread)") for thread in threading.enumerate()
    ):
        time.sleep(0.05)


class PageWatch:
    """Collects console errors and CSP violations of a page, until `stop`."""

    def __init__(self, page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", self._page_error)

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def _page_error(self, error) -> None:
        self.errors.append(f"pageerror: {error}")

    def stop(self) -> None:
        """Stop listening: the page goes on to another test."""
        self.page.remove_listener("console", self._console)
        self.page.remove_listener("pageerror", self._page_error)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(scope="session", autouse=True)
def live_server_app(live_server) -> None:
    """The live server's app, around Django's static files handler (the outermost layer)."""
    httpd = live_server.thread.httpd
    app = cache_static_files(httpd.get_app())
    if httpd.connections_override:
        app = one_request_at_a_time(app)
    httpd.set_app(app)


def cache_static_files(app):
    """Static files with a long max-age, as WhiteNoise serves them in production.

    Django's static files handler sends none, so a browser fetched every stylesheet and script
    again on every page; the files do not change while the tests run.
    """
    prefix = urlsplit(settings.STATIC_URL).path

    def cached(environ: dict, start_response) -> Iterable[bytes]:
        if not environ.get("PATH_INFO", "").startswith(prefix):
            return app(environ, start_response)

        def start(status: str, headers: list, exc_info=None):
            if status.startswith("200 "):
                headers = [*headers, ("Cache-Control", "max-age=31536000, immutable")]
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return cached


def one_request_at_a_time(app):
    """On the in-memory SQLite test database, let the live server's threads take turns.

    Django hands that database's single connection to every live-server thread; two requests at
    once (a page and its HTMX partial) would interleave their savepoints on it. PostgreSQL gives
    each thread its own connection, so there the requests stay truly concurrent.
    """
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

    return serialized


# Per browser (one per xdist worker): the desktop page each kind of test left behind, idle.
_IDLE: dict[object, dict[str, tuple[object, object]]] = {}


class ReusedPage:
    """A desktop page, signed out, in a context of its own, handed from test to test.

    A new context costs the browser a renderer process and every static file again; a page that
    another test has finished with is as good once it is reset: cookies, storage, permissions,
    routes, viewport and colour scheme back to a new context's, and the last document gone. A
    test that fails, or leaves the portal's origin (localstripe's pages and frames), hands no
    page on: the next one gets a new context. A test that adds listeners to the page removes
    them; tests that need a context of their own (a language, a time zone, no JavaScript) make
    one.
    """

    def __init__(
        self, browser, base_url: str, init_script: str = "", *, fresh: bool = False
    ) -> None:
        self.idle = _IDLE.setdefault(browser, {})
        self.key = init_script
        self.origin = _origin(base_url)
        self.foreign: list[str] = []
        self.fresh = fresh
        found = None if fresh else self.idle.pop(init_script, None)
        if found is None:
            context = browser.new_context(viewport=DESKTOP, base_url=base_url)
            if init_script:
                context.add_init_script(init_script)
            found = (context, context.new_page())
        self.context, self.page = found
        self.page.set_default_timeout(15_000)
        self.page.on("framenavigated", self._navigated)

    def _navigated(self, frame) -> None:
        if frame.url.startswith(("http:", "https:")) and _origin(frame.url) != self.origin:
            self.foreign.append(frame.url)

    def give_back(self, *, passed: bool) -> None:
        self.page.remove_listener("framenavigated", self._navigated)
        if (
            passed
            and not self.fresh
            and not self.foreign
            and _reset(self.context, self.page, self.origin)
        ):
            self.idle[self.key] = (self.context, self.page)
        else:
            self.context.close()


@contextmanager
def reused_page(browser, base_url: str, init_script: str = "") -> Iterator[object]:
    """A `ReusedPage` for the block, handed on unless the block raises."""
    reused = ReusedPage(browser, base_url, init_script)
    passed = False
    try:
        yield reused.page
        passed = True
    finally:
        reused.give_back(passed=passed)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _reset(context, page, origin: str) -> bool:
    """Back to what a new context shows a test; False where that cannot be made sure of."""
    if context.pages != [page] or page.is_closed():
        return False
    try:
        if _origin(page.url) == origin:
            page.evaluate("localStorage.clear(); sessionStorage.clear()")
        elif page.url != "about:blank":
            return False
        # Nothing of the last page (a poll, a request in flight) may reach the next test.
        page.goto("about:blank")
        context.clear_cookies()
        context.clear_permissions()
        context.unroute_all(behavior="wait")
        page.unroute_all(behavior="wait")
        page.emulate_media(media="null", color_scheme="light")
        page.set_viewport_size(DESKTOP)
    except Exception:
        return False
    return True


FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture
def page(browser, live_server, request) -> Iterator[object]:
    # Card journeys run Stripe.js from localstripe, whose challenge boxes and state are not the
    # portal's to reset: they start in a context of their own, and leave it behind them.
    reused = ReusedPage(browser, live_server.url, fresh="stripe_on" in request.fixturenames)
    yield reused.page
    reused.give_back(passed=not request.node.stash.get(FAILED, False))


@pytest.fixture
def watch(page) -> Iterator[PageWatch]:
    watch = PageWatch(page)
    yield watch
    watch.stop()


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
