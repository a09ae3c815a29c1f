"""A process-wide Nue client with a canary API key, on a transport that can break the connection."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from django.utils.module_loading import import_string

from tests.conftest import installed_client
from tests.orders.conftest import (  # noqa: F401 (fixtures)
    buyer,
    ledger_account,
    ledger_scope,
    nue_mock,
    sleeps,
    subscriptions,
)
from tests.security.conftest import acme_ids, client_for, globex_ids  # noqa: F401 (fixtures)

# Must never appear in a page, a partial or a log line, whatever goes wrong upstream.
CANARY = "canary-nue-key-9f2c41d7e5b8"


class FaultyTransport(httpx.BaseTransport):
    """The in-process emulator, or — while `fault` is set — a broken connection or a bad answer.

    `calls` counts every request sent, so a test knows whether its page reached Nue at all.
    """

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.fault: str | None = None
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.fault == "connection refused":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if self.fault == "connect timeout":
            raise httpx.ConnectTimeout("timed out", request=request)
        if self.fault == "read timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if self.fault == "wrong schema":
            # A well-formed envelope whose data fits no endpoint's shape.
            junk = {"status": "SUCCESS", "data": {"id": 7, "orders": "none", "total": []}}
            return httpx.Response(200, json=junk)
        if self.fault == "wrong schema (list)":
            junk = {"status": "SUCCESS", "data": [{"id": {"nested": 1}, "status": 5}, "text"]}
            return httpx.Response(200, json=junk)
        return self.inner.handle_request(request)


@pytest.fixture
def canary_transport(settings) -> Iterator[FaultyTransport]:
    settings.NUE_API_KEY = CANARY
    settings.NUE_EMULATOR_API_KEY = CANARY
    app = import_string(settings.NUE_EMULATOR_WSGI_APP)
    transport = FaultyTransport(httpx.WSGITransport(app=app))
    # Retries without waiting: the matrix stays fast.
    with installed_client(transport, api_key=CANARY, sleep=lambda seconds: None):
        yield transport
