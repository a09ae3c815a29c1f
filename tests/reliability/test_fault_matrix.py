"""Every page and HTMX partial, for every way Nue can fail: a friendly answer with the right status
(orders.views.errors.status_for), no traceback, and never the API key — in the body or in any
log line.

Connection-level faults come from a broken transport (tests/reliability/conftest.py); HTTP-level
ones from the emulator's fault injection. The client runs with a canary API key.
"""

from __future__ import annotations

import html
import logging
from contextlib import contextmanager

import pytest

from nue_emulator import faults, journal
from orders.scope import CustomerNue
from orders.views.errors import TEXTS
from portal.models import CustomerAccount
from tests.reliability.conftest import CANARY
from tests.security.inventory import ADA, BOB, GRACE, MARIA, ROUTES, SAM, SUPERUSER, route_id

pytestmark = pytest.mark.django_db

# fault -> (how to make it, the status the portal answers with)
TRANSPORT = "transport"
FAULTS: dict[str, tuple[str, dict[str, object], int]] = {
    "connection refused": (TRANSPORT, {}, 503),
    "connect timeout": (TRANSPORT, {}, 504),
    "read timeout": (TRANSPORT, {}, 504),
    "500 HTML": ("emulator", {"status": 500, "body": "html"}, 502),
    "502": ("emulator", {"status": 502}, 502),
    "503 with Retry-After": ("emulator", {"status": 503, "retry_after": 2}, 502),
    "429": ("emulator", {"status": 429, "retry_after": 3}, 503),
    "malformed JSON": ("emulator", {"body": "malformed"}, 502),
    "empty 200": ("emulator", {"status": 200, "body": "empty"}, 502),
    "wrong schema": (TRANSPORT, {}, 502),
    "wrong schema (list)": (TRANSPORT, {}, 502),
}
# Pages that settle each read on its own: a failing read costs a panel or a row, not the page.
# The card page's card on file is Stripe's; what Nue charges each subscription is its panel.
# A customer's timeline in the support workspace shows the portal's own records without Nue's.
# The team page's members are the portal's; only its suggestions of whom to invite are Nue's.
SETTLED = {
    "home",
    "orders:review",
    "orders:billing_card",
    "orders:support_timeline",
    "orders:team",
}
# Pages that read only the portal's own state (previews are kept in the cache, the basket in the
# session): the matrix checks they stay up, and that every other page did meet the fault.
NO_UPSTREAM = {
    "choose_customer",
    "support",
    "support_impersonate",
    "support_audit",
    "access_log",
    "activity_log",
    "activity_export",
    "account_security",
    "mfa_setup",
    "mfa_verify",
    "notification_preferences",
    "account",
    "orders:change_basket",
    "orders:change_basket_preview",
    "orders:change_preview",
    "orders:support_lookup",
    "orders:support_operations",
}
GETS = [r for r in ROUTES if r.is_get and r.allowed and not r.public]
# The live preview of a new order is the one HTMX partial answered to a POST.
PREVIEW = "orders:new_order_preview"


def _persona(route) -> str:
    return next(p for p in (ADA, MARIA, SAM, SUPERUSER, GRACE) if p in route.allowed)


@contextmanager
def _fault(name: str, transport):
    kind, options, _ = FAULTS[name]
    if kind == TRANSPORT:
        transport.fault = name
        try:
            yield
        finally:
            transport.fault = None
    else:
        with faults.inject("*", **options):  # type: ignore[arg-type]
            yield


def _assert_friendly(response, name: str, route, *, htmx: bool, reached_nue: bool) -> None:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    body = html.unescape(raw.decode())
    where = (route.name, name, "htmx" if htmx else "page", response.status_code)
    assert "Traceback" not in body, where
    assert CANARY not in body, where
    assert CANARY not in str(response.headers), where
    assert response.status_code != 500, where
    if not reached_nue:
        return
    expected = FAULTS[name][2]
    if route.name in SETTLED:
        assert response.status_code == 200, where
        assert str(TEXTS[expected][0]) in body or str(TEXTS[expected][1]) in body, where
        return
    assert response.status_code == expected, where
    # A read Nue refused is not the reader's input to check: the page says Nue failed.
    assert str(TEXTS[422][0]) not in body, where
    assert str(TEXTS[expected][0]) in body, where
    assert "Reference:" in body, where
    if htmx:
        assert "<html" not in body, where
        assert 'role="alert"' in body, where
    if expected == 503 and name == "429":
        assert response["Retry-After"] == "3", where


def _run(client, method: str, url: str, data, route, transport, caplog) -> None:
    reached_any = False
    for name in FAULTS:
        for htmx in (False, True):
            headers = {"HX-Request": "true"} if htmx or route.htmx_only else {}
            _forget_cached_reads()
            before = transport.calls
            with journal.capture() as calls, _fault(name, transport):
                if method == "GET":
                    response = client.get(url, headers=headers)
                else:
                    response = client.post(url, data, headers=headers)
            reached = transport.calls > before or bool(calls)
            reached_any = reached_any or reached
            _assert_friendly(
                response, name, route, htmx=htmx or route.htmx_only, reached_nue=reached
            )
    # The matrix proves nothing for a page that never asked Nue: only these pages do not.
    assert reached_any == (route.name not in NO_UPSTREAM), route.name
    logged = "\n".join(r.getMessage() + str(r.args) for r in caplog.records)
    assert CANARY not in logged
    assert CANARY not in caplog.text


@pytest.mark.parametrize("route", GETS, ids=route_id)
def test_it_answers_every_upstream_failure_with_a_friendly_page(
    route, client_for, acme_ids, globex_ids, canary_transport, caplog
):
    caplog.set_level(logging.DEBUG)
    persona = _persona(route)
    ids = globex_ids if persona == GRACE else acme_ids
    url = route.url(ids)  # built before any fault: making a preview writes upstream
    _run(client_for(persona), "GET", url, None, route, canary_transport, caplog)


def test_it_answers_every_upstream_failure_in_the_live_preview(
    client_for, canary_transport, caplog
):
    from tests.orders.purchase_helpers import suite_line

    caplog.set_level(logging.DEBUG)
    data = suite_line()
    route = next(r for r in ROUTES if r.name == PREVIEW)
    _run(client_for(ADA), "POST", "/orders/new/preview/", data, route, canary_transport, caplog)


def _forget_cached_reads() -> None:
    """The shared cache keeps catalog, tags and relationships; cached, they would hide the fault.

    Only Nue's cached reads go: the cache also holds change previews, part of the pages' state.
    """
    for account in CustomerAccount.objects.all():
        CustomerNue(account).invalidate_cache()


WRITES = [r for r in ROUTES if r.writes and r.allowed and r.name != PREVIEW]


@pytest.mark.parametrize("route", WRITES, ids=route_id)
def test_it_never_breaks_on_a_write_when_nue_fails(
    route, client_for, acme_ids, canary_transport, caplog
):
    """Writes answer with their own statuses (a form again, 409, the ledger's "checking" page);
    whatever Nue does, never a 500, a traceback or the key."""
    caplog.set_level(logging.DEBUG)
    persona = next(p for p in (ADA, BOB, MARIA, SAM) if p in route.allowed)
    url = route.url(acme_ids)
    body = route.body(acme_ids)
    client = client_for(persona)
    for name in FAULTS:
        for headers in ({}, {"HX-Request": "true"}):
            _forget_cached_reads()
            with _fault(name, canary_transport):
                response = client.post(url, body, headers=headers)
            text = response.content.decode()
            where = (route.name, name, headers, response.status_code)
            assert response.status_code != 500, where
            assert "Traceback" not in text, where
            assert CANARY not in text, where
            assert CANARY not in str(response.headers), where
    assert CANARY not in caplog.text
