"""Hostile upstream text in a real browser: no dialog opens and no request fires because of it.

Acme's names, PO numbers and descriptions in the emulator carry <script>, onerror handlers, an
htmx element with hx-trigger="load" and template syntax (tests/security/hostile.py).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests import demo
from tests.browser.conftest import sign_in
from tests.security.hostile import HOSTILE, poison
from tests.security.inventory import ACME, Ids

pytestmark = pytest.mark.django_db(transaction=True)

SHOWN = HOSTILE[: HOSTILE.index("</script>")]


def test_it_opens_no_dialog_and_fires_no_request_for_hostile_text(page, watch, live_server):
    from portal.models import CustomerAccount

    ids = Ids(CustomerAccount.objects.get(name=ACME))
    poison(ids.account)
    dialogs: list[str] = []
    unexpected: list[str] = []
    origin = urlsplit(live_server.url).netloc

    def on_dialog(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def on_request(request) -> None:
        url = urlsplit(request.url)
        # The hostile markup would ask for /hostile-hx/ (htmx) or "x" (the broken image).
        if url.netloc != origin or "hostile-hx" in url.path or url.path.endswith("/x"):
            unexpected.append(request.url)

    page.on("dialog", on_dialog)
    page.on("request", on_request)
    sign_in(page, demo.ADA)
    for path in (
        "/",
        "/orders/",
        f"/orders/{ids.order}/",
        f"/orders/{ids.draft}/",
        f"/subscriptions/{ids.subscription}/",
        "/orders/new/",
    ):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        # The markup is there, as text the customer can read.
        assert SHOWN in page.inner_text("main"), path
    watch.screenshot("hostile-data-order")
    # The page goes on to the next test.
    page.remove_listener("dialog", on_dialog)
    page.remove_listener("request", on_request)
    assert dialogs == []
    assert unexpected == []
    assert watch.errors == []
