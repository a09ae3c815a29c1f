"""The portal's own database fails around a money-moving request: before anything is sent the
user gets a friendly 503 and Nue gets nothing; after Nue answered, the user is told the portal is
checking, and the retry that reads Nue settles the row and writes its audit event once."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from django.db import OperationalError, connection
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from nue_emulator import journal
from orders.ledger import NUE_SETTLES_WITHIN, _still_open
from orders.models import Operation
from orders.views.errors import TEXTS, TIMED_OUT_WRITE
from portal.models import AuditEvent, AuditKind
from tests.conftest import installed_client
from tests.orders.purchase_helpers import PRO, create_draft, line

pytestmark = pytest.mark.django_db


class AnsweringTransport(httpx.BaseTransport):
    """The in-process emulator; `then` runs once an activation was applied and answered."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.then: Callable[[], None] | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.then and request.method == "POST" and "/orders/" in request.url.path:
            then, self.then = self.then, None
            then()
        return response


@pytest.fixture
def answering(settings) -> Iterator[AnsweringTransport]:
    app = import_string(settings.NUE_EMULATOR_WSGI_APP)
    transport = AnsweringTransport(httpx.WSGITransport(app=app))
    with installed_client(transport, sleep=lambda seconds: None):
        yield transport


@contextmanager
def ledger_writes_fail(armed: list[bool]) -> Iterator[None]:
    """While `armed` holds True, the next write of a ledger row fails as a lost connection does."""

    def fail(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        writes = sql.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE")
        if armed and writes and "orders_operation" in sql:
            armed.clear()
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail):
        yield


def activations(calls: list[journal.Entry], order_id: str) -> int:
    return sum(c.method == "POST" and c.path.endswith(f"/orders/{order_id}") for c in calls)


def test_a_database_failure_before_sending_is_a_friendly_503_and_sends_nothing(ada_client):
    order_id = create_draft(ada_client, line("la", PRO, quantity="2"))
    url = reverse("orders:draft_activate", args=[order_id])
    with journal.capture() as calls, ledger_writes_fail([True]):
        response = ada_client.post(url, {"consent": "on", "po_number": "PO-DB-1"})
    page = html.unescape(response.content.decode())
    assert response.status_code == 503
    assert str(TEXTS[503][0]) in page
    assert 'value="PO-DB-1"' in page  # the retry button repeats the request as it was
    assert activations(calls, order_id) == 0
    assert not Operation.objects.filter(target=order_id)


def test_a_database_failure_after_nue_answered_is_checked_and_audited_once(answering, ada_client):
    order_id = create_draft(ada_client, line("la", PRO, quantity="2"))
    url = reverse("orders:draft_activate", args=[order_id])
    armed: list[bool] = []
    answering.then = lambda: armed.append(True)
    with journal.capture() as calls:
        with ledger_writes_fail(armed):
            first = ada_client.post(url, {"consent": "on"})
        op = Operation.objects.get(target=order_id, kind="activate")
        assert op.state == Operation.State.IN_FLIGHT
        assert first.status_code == 503
        assert str(TIMED_OUT_WRITE[0]) in first.content.decode()
        assert not AuditEvent.objects.filter(kind=AuditKind.ACTIVATION)
        # The retry, seconds later, finds the order activated: it settles the row at once.
        retry = ada_client.post(url, {"consent": "on"})
    assert retry.status_code == 302
    assert retry["Location"] == reverse("orders:activation_result", args=[order_id])
    assert activations(calls, order_id) == 1
    op.refresh_from_db()
    assert op.state == Operation.State.SUCCEEDED
    (event,) = AuditEvent.objects.filter(kind=AuditKind.ACTIVATION)
    assert event.details["order_id"] == order_id
    assert event.details["outcome"] == "read back from Nue"


def test_an_unknown_outcome_tells_the_retry_how_long_the_check_takes(settings, ledger_scope, buyer):
    op = Operation.objects.create(
        kind="activate",
        target="O-1",
        customer=ledger_scope.account,
        actor=buyer,
        payload_hash="x",
        state=Operation.State.UNKNOWN,
        sent_at=timezone.now(),
    )
    text = _still_open(op)
    assert "whether the earlier attempt went through" in text
    assert f"at most {NUE_SETTLES_WITHIN.seconds // 60} more minutes" in text


def test_a_database_outage_before_any_view_ran_is_a_503_not_a_500(ada_client):
    def refuse(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        raise OperationalError("connection to server failed: Connection refused")

    ada_client.raise_request_exception = False
    # The session and the user are read by middleware, before any view: Django's handler500
    # answers, and it tells an outage from a bug.
    with connection.execute_wrapper(refuse):
        response = ada_client.get(reverse("orders:order_list"))
    assert response.status_code == 503
    assert str(TEXTS[503][0]) in html.unescape(response.content.decode())
