"""Fixtures for the Nue gateway: a process-wide client on a respx router, or on the embedded
emulator with one route under the test's control (the HTTP edge only)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
import pytest
import respx

from orders import nue
from orders.scope import CustomerNue
from tests.conftest import installed_client
from tests.orders.support_helpers import losing  # noqa: F401 (fixture)

MOCK_BASE_URL = "https://nue.test"


class RecordingSleep:
    """Stands in for time.sleep so retry tests are instant and can assert the waits."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def nue_mock(sleeps: RecordingSleep) -> Iterator[respx.Router]:
    """Routes every Nue call of the process to a respx router; unmatched calls fail the test."""
    router = respx.Router(base_url=MOCK_BASE_URL, assert_all_called=False)
    transport = httpx.MockTransport(router.handler)
    with installed_client(transport, MOCK_BASE_URL, "test-key", sleep=sleeps):
        yield router


def ok(data: object, **extra: object) -> httpx.Response:
    return httpx.Response(200, json={"status": "SUCCESS", "data": data, "warnings": [], **extra})


ACME_ID = "0b6f6a36-6f51-4c1e-9d8e-6c2d1f0a1a01"
GLOBEX_ID = "7c1d5a2e-3b4f-4a6d-8e9f-0a1b2c3d4e5f"
ORDER_ID = "b636440c-b3dd-4a92-9187-199f110d5b24"


def order_json(
    order_id: str = ORDER_ID,
    customer_id: str = ACME_ID,
    number: int = 1,
    status: str = "Draft",
    **extra: object,
) -> dict[str, object]:
    return {
        "id": order_id,
        "orderNumber": f"O-{number:08d}",
        "customerId": customer_id,
        "status": status,
        "name": f"Order {number}",
        "orderStartDate": "2026-01-01",
        "createdDate": "2026-01-01T10:00:00Z",
        "currency": "USD",
        # Nue's header as §3.1 shows it: discountAmount is the whole discount, of which
        # systemDiscountAmount came from price tags; list - discount = subtotal (= netTotal) and
        # subtotal + tax = grandTotal (7.25 % tax).
        "listTotal": 1200.0,
        "discount": 10.0,
        "discountAmount": 120.0,
        "systemDiscount": 5.0,
        "systemDiscountAmount": 60.0,
        "subtotal": 1080.0,
        "taxAmount": 78.30,
        "netTotal": 1080.0,
        "grandTotal": 1158.30,
        "totalAmount": 1158.30,
        "orderProducts": [
            {
                "id": f"{order_id}-l1",
                "productName": "Platform Suite",
                "quantity": 1,
                "totalPrice": 1000.10,
                "subscriptionStartDate": "2026-01-01",
                "subscriptionEndDate": "2026-12-31",
            },
            {
                "id": f"{order_id}-l2",
                "parentId": f"{order_id}-l1",
                "productName": "Admin Seats",
                "quantity": 2,
                "totalPrice": 79.90,
            },
            {
                "id": f"{order_id}-l3",
                "parentId": f"{order_id}-l2",
                "productName": "Nested",
                "quantity": 1,
                "totalPrice": 0,
            },
        ],
        **extra,
    }


# The price book entry subscription_json's subscriptions and change_order_json's lines are on.
PRO_ENTRY = "01uPRO000000000AAA"


def subscription_json(
    name: str = "SUB-00000001",
    customer_id: str = ACME_ID,
    version: int = 1,
    quantity: int = 5,
    price_book_entry_id: str = PRO_ENTRY,
) -> dict[str, object]:
    return {
        "id": f"{name}-{version}-id",
        "name": name,
        "subscriptionVersion": version,
        "customerId": customer_id,
        "status": "Active",
        "quantity": quantity,
        "priceBookEntryId": price_book_entry_id,
        "productName": "Pro Plan (US)",
        "subscriptionStartDate": "2026-01-01",
        "subscriptionEndDate": "2026-12-31",
        "subscriptionTerm": 12,
        "totalAmount": 1500.0,
        "currency": "USD",
    }


@pytest.fixture
def acme():
    from portal.models import CustomerAccount

    return CustomerAccount(nue_customer_id=ACME_ID, name="Acme")


@pytest.fixture
def scope(acme, nue_mock):
    # The default dialect given, not read from a capability record: these tests have no database.
    return CustomerNue(acme, dialect=nue.DEFAULT_DIALECT)


@pytest.fixture
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def ledger_account(db):
    from portal.models import CustomerAccount

    return CustomerAccount.objects.create(nue_customer_id=ACME_ID, name="Acme (ledger tests)")


@pytest.fixture
def buyer(db):
    from portal.models import User

    # No password: hashing one costs most of a test's time and these users never sign in.
    return User.objects.create_user("ledger-buyer@acme.example")


@pytest.fixture
def ledger_scope(ledger_account, nue_mock):
    return CustomerNue(ledger_account)


def activation_json(order_id: str = ORDER_ID) -> dict[str, object]:
    return {
        "order": order_json(order_id, status="Activated", activatedDate="2026-01-02"),
        "subscriptions": [subscription_json("SUB-00000009")],
        "assets": [],
        "invoices": [{"id": "INV-00000009", "customerId": ACME_ID, "amount": 1158.30}],
    }


# Nue's documented status filter values of GET /orders (nue-api.md §2.1).
STATUS_FILTERS = {"draft": "Draft", "active": "Activated", "canceled": "Canceled"}


def listed(request: httpx.Request, *orders: dict[str, object]) -> httpx.Response:
    """GET /orders answering `orders`, filtered as Nue filters by `status`."""
    wanted = request.url.params.get("status")
    return ok([o for o in orders if wanted is None or o["status"] == STATUS_FILTERS[wanted]])


class FakeOrders:
    """A stateful /orders for ledger tests: GET lists the order (by its status filter), POST
    activates it (counted)."""

    def __init__(self, router: respx.Router, *, post_effect: object = None) -> None:
        self.status = "Draft"
        self.posts = 0
        self._lock = threading.Lock()
        self.post_effect = post_effect
        self.reads = router.get("/orders").mock(side_effect=self.get)
        router.post(f"/orders/{ORDER_ID}").mock(side_effect=self.post)

    def get(self, request: httpx.Request) -> httpx.Response:
        return listed(request, order_json(status=self.status))

    def post(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.posts += 1
            if self.status != "Draft":
                return httpx.Response(409, json={"status": "FAILURE", "message": "Not a draft."})
            self.status = "Activated"
        effect = self.post_effect
        if isinstance(effect, BaseException):
            raise effect
        if callable(effect):
            effect()
        return httpx.Response(201, json={"status": "SUCCESS", "data": activation_json()})


@pytest.fixture
def fake_orders(nue_mock):
    return FakeOrders(nue_mock)


@pytest.fixture
def acme_nue(ada):
    """Acme's scope against the in-process emulator seeded by the session fixtures."""
    return CustomerNue(ada.memberships.get().account)


@pytest.fixture
def globex_nue(grace):
    return CustomerNue(grace.memberships.get().account)


class ApplyThenTimeout(httpx.BaseTransport):
    """The real emulator handles the request, then the answer is lost as a read timeout."""

    def __init__(self, inner: httpx.BaseTransport, method: str, path_suffix: str) -> None:
        self.inner = inner
        self.method = method
        self.path_suffix = path_suffix

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        if request.method == self.method and request.url.path.endswith(self.path_suffix):
            raise httpx.ReadTimeout("applied upstream, answer lost", request=request)
        return response


@pytest.fixture
def emulator_transport() -> httpx.BaseTransport:
    return httpx.WSGITransport(app=nue.embedded_emulator())


@pytest.fixture
def _no_faults(db) -> Iterator[None]:
    # The emulator keeps its faults in the database.
    from nue_emulator import faults

    faults.clear()
    yield
    faults.clear()


class Upstream(httpx.BaseTransport):
    """The embedded emulator, except one route: its calls are counted, their JSON bodies kept,
    and answered by `answer(request, emulator)` when a test gives one (the HTTP edge)."""

    def __init__(self, method: str, path_suffix: str, answer=None) -> None:
        self.inner = httpx.WSGITransport(app=nue.embedded_emulator())
        self.method = method
        self.path_suffix = path_suffix
        self.answer = answer
        self.calls = 0
        self.bodies: list[object] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == self.method and request.url.path.endswith(self.path_suffix):
            self.calls += 1
            content = request.read()
            if content:
                self.bodies.append(json.loads(content))
            if self.answer is not None:
                return self.answer(request, self.inner)
        return self.inner.handle_request(request)


@contextmanager
def upstream(method: str, path_suffix: str, answer=None) -> Iterator[Upstream]:
    transport = Upstream(method, path_suffix, answer)
    with installed_client(transport):
        yield transport


CHANGE_ORDER_ID = "22222222-3333-4444-8555-666666666666"


@pytest.fixture
def subscriptions(nue_mock):
    """Nue lists one subscription of the ledger's customer, SUB-00000001."""
    return nue_mock.get("/subscriptions").mock(return_value=ok([subscription_json()]))


def change_order_json(
    order_id: str = CHANGE_ORDER_ID,
    change_type: str = "UpdateQuantity",
    quantity: int = 3,
    start: str | None = "2026-03-01",
    price_book_entry_id: str | None = PRO_ENTRY,
) -> dict[str, object]:
    """A draft change order as Nue lists it, with one line carrying one change: priced on a
    subscription's price book entry, naming no subscription (nue-api.md §3.2)."""
    created = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    raw = order_json(order_id, number=77, orderType="Change", createdDate=created)
    line: dict[str, object] = {
        "id": f"{order_id}-col-1",
        "productName": "Pro Plan (US)",
        "priceBookEntryId": price_book_entry_id,
        "quantity": quantity,
        "totalPrice": 75.0,
        "subscriptionStartDate": start,
        "changeType": change_type,
    }
    raw["orderProducts"] = [{k: v for k, v in line.items() if v is not None}]
    return raw
