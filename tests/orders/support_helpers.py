"""Helpers of the support workspace's tests: the reference a page showed, a failure forced on a
customer page, and an activation whose answer Nue loses (the emulator applies it)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from django.test import Client
from django.utils.module_loading import import_string

from nue_emulator import faults
from tests.conftest import installed_client
from tests.reliability.test_lost_answers import LosingTransport

# English or German ("Referenz"), as the page speaks its reader's language.
REFERENCE = re.compile(r"(?:Reference|Referenz):\s*(?:<code>)?([0-9a-f]{12})")


def shown_reference(html: str) -> str:
    """The reference a page showed its user."""
    match = REFERENCE.search(html)
    assert match, html[:3000]
    return match.group(1)


def force_failure(client: Client, path: str = "/orders/") -> str:
    """Load a customer page while Nue answers its orders with garbage; the reference shown."""
    with faults.inject("orders", "GET", status=200, body="malformed"):
        response = client.get(path)
    assert response.status_code == 502, response.status_code
    return shown_reference(response.text)


@pytest.fixture
def losing(settings) -> Iterator[LosingTransport]:
    """The in-process emulator; `losing.lose = "reset"` loses the next activation's answer."""
    app = import_string(settings.NUE_EMULATOR_WSGI_APP)
    transport = LosingTransport(httpx.WSGITransport(app=app))
    with installed_client(transport, sleep=lambda seconds: None):
        yield transport


KEPT_REFERENCE = "5a1e5a1e5a1e"


def kept_failure() -> str:
    """A failure Ada met on the order history, as the portal keeps it; its reference."""
    from orders.models import RequestFailure
    from portal.models import User

    ada = User.objects.get(email="ada@acme.example")
    RequestFailure.objects.create(
        reference=KEPT_REFERENCE,
        user=ada,
        user_email=ada.email,
        customer=ada.memberships.get().account,
        method="GET",
        path="/orders/",
        nue_method="GET",
        nue_path="/orders",
        nue_request_id=KEPT_REFERENCE,
        nue_attempts=1,
        upstream_status=200,
        error_kind="NueProtocolError",
        error_message="Nue sent a body that is not JSON.",
        status=502,
        title="Our billing system answered with an error",
        shown_as=RequestFailure.ShownAs.PAGE,
    )
    return KEPT_REFERENCE


def open_operation() -> None:
    """An activation of Acme's whose outcome Nue left unknown, as the ledger keeps it."""
    from orders.models import Operation
    from portal.models import User

    ada = User.objects.get(email="ada@acme.example")
    Operation.objects.create(
        kind=Operation.Kind.ACTIVATE,
        target="ord-unknown-outcome",
        customer=ada.memberships.get().account,
        actor=ada,
        payload_hash="c" * 64,
        state=Operation.State.UNKNOWN,
        reference=KEPT_REFERENCE,
        error="Could not reach Nue.",
    )
