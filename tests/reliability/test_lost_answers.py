"""Nue applied the work, then its answer was lost: the user is told the portal is checking, and a
retry shows the settled result without sending anything again."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from django.urls import reverse
from django.utils.module_loading import import_string

from nue_emulator import journal
from orders.models import Operation
from orders.views.errors import TEXTS, TIMED_OUT_WRITE
from tests.conftest import installed_client
from tests.orders.purchase_helpers import PRO, create_draft, line

pytestmark = pytest.mark.django_db


class LosingTransport(httpx.BaseTransport):
    """The in-process emulator; while `lose` is set, the next activation is applied by the
    emulator and its answer replaced by that failure."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.lose: str | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        activation = request.method == "POST" and "/orders/" in request.url.path
        if not (self.lose and activation):
            return response
        response.read()
        lose, self.lose = self.lose, None
        if lose == "reset":
            raise httpx.RemoteProtocolError("Server disconnected", request=request)
        if lose == "read timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if lose == "502":
            return httpx.Response(502, text="<html>Bad gateway</html>")
        return httpx.Response(200, content=b'{"status": "SUCCESS", "data": {"order": ')


@pytest.fixture
def losing(settings) -> Iterator[LosingTransport]:
    app = import_string(settings.NUE_EMULATOR_WSGI_APP)
    transport = LosingTransport(httpx.WSGITransport(app=app))
    with installed_client(transport, sleep=lambda seconds: None):
        yield transport


@pytest.mark.parametrize("lose", ["reset", "read timeout", "502", "malformed JSON"])
def test_it_says_it_is_checking_and_a_retry_shows_the_settled_result(lose, losing, ada_client):
    order_id = create_draft(ada_client, line("la", PRO, quantity="2"))
    url = reverse("orders:draft_activate", args=[order_id])
    data = {"consent": "on", "po_number": "PO-LOST-1"}
    losing.lose = lose
    with journal.capture() as calls:
        first = ada_client.post(url, data)
        page = first.content.decode()
        retry = ada_client.post(url, data)
    assert first.status_code in (502, 503, 504), page[:500]
    assert str(TIMED_OUT_WRITE[0]) in page
    assert "Nothing was lost" not in page
    assert str(TEXTS[502][0]) not in page
    sent = [c for c in calls if c.method == "POST" and c.path.endswith(f"/orders/{order_id}")]
    assert len(sent) == 1
    assert retry.status_code == 302
    assert retry["Location"] == reverse("orders:activation_result", args=[order_id])
    assert Operation.objects.get(target=order_id, kind="activate").state in ("unknown", "succeeded")


def test_a_connection_that_never_opened_says_nothing_was_sent(settings, ada_client):
    order_id = create_draft(ada_client, line("la", PRO, quantity="2"))

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    with installed_client(httpx.MockTransport(refuse), sleep=lambda seconds: None):
        response = ada_client.post(
            reverse("orders:draft_activate", args=[order_id]), {"consent": "on"}
        )
    assert str(TIMED_OUT_WRITE[0]) not in response.content.decode()


class DroppingTransport(LosingTransport):
    """While `drop` is set, the next activation never reaches the emulator and times out."""

    drop = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        activation = request.method == "POST" and "/orders/" in request.url.path
        if self.drop and activation:
            self.drop = False
            raise httpx.ReadTimeout("timed out", request=request)
        return super().handle_request(request)


@pytest.fixture
def dropping(settings) -> Iterator[DroppingTransport]:
    app = import_string(settings.NUE_EMULATOR_WSGI_APP)
    transport = DroppingTransport(httpx.WSGITransport(app=app))
    with installed_client(transport, sleep=lambda seconds: None):
        yield transport


PRO_SUB = "SUB-00000001"


def _preview(client, quantity: int) -> str:
    url = reverse("orders:change_details", args=[PRO_SUB, "quantity"])
    response = client.post(url, {"quantity": quantity, "when": "today"})
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


def _confirm(client, location: str):
    order_id = location.rstrip("/").split("/")[-1]
    return client.post(reverse("orders:change_confirm", args=[PRO_SUB, order_id]))


def test_an_unknown_change_keeps_the_subscription_held_until_nue_shows_it(dropping, ada_client):
    preview = _preview(ada_client, 9)
    dropping.drop = True
    first = _confirm(ada_client, preview)
    assert first.status_code == 504
    assert str(TIMED_OUT_WRITE[0]) in first.content.decode()
    holds = Operation.objects.filter(kind="hold", target=PRO_SUB)
    assert [h.state for h in holds] == ["unknown"]
    # Another change to the subscription is not sent while the first may still apply.
    with journal.capture() as calls:
        other = ada_client.post(
            reverse("orders:change_details", args=[PRO_SUB, "quantity"]),
            {"quantity": 4, "when": "today"},
        )
    assert other.status_code in (409, 422)
    assert "in progress" in other.content.decode().lower()
    assert not [c for c in calls if c.method == "POST"]


def test_an_unknown_change_that_applied_settles_on_retry(losing, ada_client):
    preview = _preview(ada_client, 9)
    losing.lose = "502"
    first = _confirm(ada_client, preview)
    assert str(TIMED_OUT_WRITE[0]) in first.content.decode()
    with journal.capture() as calls:
        retry = _confirm(ada_client, preview)
    assert retry.status_code == 302
    assert not [c for c in calls if c.method == "POST" and "/orders/" in c.path]
    assert set(Operation.objects.filter(kind="hold").values_list("state", flat=True)) == {
        "succeeded"
    }


def test_a_lost_activation_is_audited_once_by_the_retry_that_learns_it(losing, ada_client, ada):
    from portal.models import AuditEvent, AuditKind

    order_id = create_draft(ada_client, line("la", PRO, quantity="2"))
    url = reverse("orders:draft_activate", args=[order_id])
    losing.lose = "reset"
    ada_client.post(url, {"consent": "on", "po_number": "PO-LOST-2"})
    assert not AuditEvent.objects.filter(kind=AuditKind.ACTIVATION, details__order_id=order_id)
    ada_client.post(url, {"consent": "on", "po_number": "PO-LOST-2"})
    ada_client.post(url, {"consent": "on", "po_number": "PO-LOST-2"})
    (event,) = AuditEvent.objects.filter(kind=AuditKind.ACTIVATION, details__order_id=order_id)
    assert event.actor == ada
    assert event.details["po_number"] == "PO-LOST-2"
    assert event.details["outcome"] == "read back from Nue"
    op = Operation.objects.get(target=order_id, kind="activate")
    assert (op.state, event.details["operation"]) == ("succeeded", op.pk)


def test_a_lost_activation_is_audited_by_reconcile_when_nobody_retries(losing, ada_client, ada):
    from django.core.management import call_command

    from portal.models import AuditEvent, AuditKind

    order_id = create_draft(ada_client, line("la", PRO, quantity="2"))
    losing.lose = "502"
    ada_client.post(reverse("orders:draft_activate", args=[order_id]), {"consent": "on"})
    call_command("reconcile_operations", older_than=0, verbosity=0)
    (event,) = AuditEvent.objects.filter(kind=AuditKind.ACTIVATION, details__order_id=order_id)
    assert event.actor == ada
    assert event.details["outcome"] == "read back from Nue"
    call_command("reconcile_operations", older_than=0, verbosity=0)
    assert (
        AuditEvent.objects.filter(kind=AuditKind.ACTIVATION, details__order_id=order_id).count()
        == 1
    )


def test_a_lost_change_is_audited_with_its_outcome(losing, ada_client, ada):
    from portal.models import AuditEvent, AuditKind

    location = _preview(ada_client, 9)
    order_id = location.rstrip("/").split("/")[-1]
    losing.lose = "malformed JSON"
    _confirm(ada_client, location)
    _confirm(ada_client, location)
    (event,) = AuditEvent.objects.filter(kind=AuditKind.CHANGE_ORDER, details__order_id=order_id)
    assert event.details["subscription"] == PRO_SUB
    assert event.details["outcome"] == "read back from Nue"


def test_a_hang_of_the_embedded_emulator_ends_at_the_clients_read_timeout(ada_client):
    from nue_emulator import faults
    from orders import nue

    timeout = httpx.Timeout(connect=1.0, read=0.2, write=1.0, pool=1.0)
    transport = nue.EmbeddedTransport(nue.embedded_emulator())
    with (
        installed_client(transport, timeout=timeout, sleep=lambda seconds: None),
        faults.inject("orders", "GET", hang_seconds=3),
    ):
        response = ada_client.get("/orders/")
    assert response.status_code == 504
    assert str(TEXTS[504][0]) in response.content.decode()
