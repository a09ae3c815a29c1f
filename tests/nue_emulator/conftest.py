"""Fixtures for the emulator's tests: the seeded demo tenant and an API client with the key."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from nue_emulator.models import Customer
from tests import demo

PREFIX = "/nue-emulator"
ACME = demo.ACME_ID
GLOBEX = demo.GLOBEX_ID
INITECH = demo.INITECH_ID


class Api:
    """Django's test client speaking to the emulator as the portal does: JSON and the key."""

    def __init__(self, key: str | None) -> None:
        self.client = Client()
        self.headers = {"HTTP_NUE_API_KEY": key} if key else {}

    def get(self, path: str, **params: Any) -> Any:
        query = {k: json.dumps(v) if isinstance(v, list) else v for k, v in params.items()}
        return self.client.get(PREFIX + path, query, **self.headers)

    def post(self, path: str, body: Any = None, *, raw: str | bytes | None = None) -> Any:
        data = raw if raw is not None else json.dumps({} if body is None else body)
        return self.client.post(
            PREFIX + path, data, content_type="application/json", **self.headers
        )

    def delete(self, path: str) -> Any:
        return self.client.delete(PREFIX + path, **self.headers)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Seed the demo tenant once (the project conftest may already have; seeding is idempotent)."""
    with django_db_blocker.unblock():
        call_command("seed_emulator", verbosity=0)


@pytest.fixture
def seeded(db) -> None:
    # A transactional test elsewhere empties the tables when it ends; seed again if so.
    if not Customer.objects.exists():
        call_command("seed_emulator", verbosity=0)


@pytest.fixture
def api(seeded) -> Api:
    return Api(settings.NUE_EMULATOR_API_KEY)


@pytest.fixture
def extensions(settings) -> None:
    """The emulator's extensions on (nue-api.md §5.18c), for the tests of the extensions only:
    the suite runs with them off, as the portal does."""
    settings.NUE_EMULATOR_EXTENSIONS = True


@pytest.fixture
def anonymous(seeded) -> Api:
    return Api(None)


@pytest.fixture
def catalog(api) -> dict[str, dict[str, Any]]:
    """Published products by SKU."""
    return {p["sku"]: p for p in api.get("/catalog/products").json()}


@pytest.fixture
def pbe(catalog):
    """The price book entry id of a SKU in a currency (Globex buys in EUR, the rest in USD)."""

    def lookup(sku: str, currency: str = "USD") -> str:
        entries = catalog[sku]["priceBookEntries"]
        return next(e["id"] for e in entries if e["currencyIsoCode"] == currency)

    return lookup


def ok(response: Any, status: int = 200) -> Any:
    """The `data` of a SUCCESS envelope, failing loudly with the error body otherwise."""
    assert response.status_code == status, response.content.decode()[:2000]
    body = response.json()
    assert body["status"] == "SUCCESS"
    return body["data"]


def error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content.decode()[:2000]
    body = response.json()
    assert body["status"] == "FAILURE"
    assert body["message"]
    if code is not None:
        assert body["errorCode"] == code, body
    return body


def subscription(api: Api, customer_id: str, sku: str) -> dict[str, Any]:
    subs = ok(api.get("/subscriptions", customerIds=[customer_id]))
    return next(s for s in subs if s["productSku"] == sku and s["status"] != "Canceled")
