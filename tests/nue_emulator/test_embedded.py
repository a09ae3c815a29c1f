"""The in-process WSGI app the portal reaches through httpx.WSGITransport."""

from __future__ import annotations

import json

import httpx
import pytest
from django.core.signals import request_finished, request_started
from django.urls import get_script_prefix

from nue_emulator import faults, journal
from nue_emulator.embedded import application
from nue_emulator.models import Order
from tests.nue_emulator.conftest import ACME, ok


@pytest.fixture
def client(seeded, settings):
    base = settings.NUE_EMULATOR_URL
    headers = {"nue-api-key": settings.NUE_EMULATOR_API_KEY}
    with httpx.Client(
        transport=httpx.WSGITransport(app=application), base_url=base, headers=headers
    ) as http:
        yield http


def test_it_answers_like_nue(client):
    response = client.get("/contacts", params={"emails": json.dumps(["ada@acme.example"])})
    assert response.status_code == 200
    assert response.json()["data"][0]["customerId"] == ACME


def test_it_sends_no_request_signals_and_keeps_the_script_prefix(client):
    fired = []

    def receiver(**kwargs):
        fired.append(kwargs)

    request_started.connect(receiver)
    request_finished.connect(receiver)
    try:
        prefix = get_script_prefix()
        client.get(f"/customers/{ACME}")
        assert get_script_prefix() == prefix
    finally:
        request_started.disconnect(receiver)
        request_finished.disconnect(receiver)
    assert fired == []


def test_it_answers_404_json_for_unknown_paths(client):
    response = client.get("/no/such/route")
    assert response.status_code == 404
    assert response.json()["status"] == "FAILURE"


def test_it_turns_an_unexpected_exception_into_a_json_500(client, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("nue_emulator.catalog.Catalog.load", explode)
    response = client.get(
        "/subscriptions/product-relationships",
        params={"subscriptionNames": json.dumps(["SUB-00000001"])},
    )
    assert response.status_code == 500
    assert response.json() == {
        "status": "FAILURE",
        "message": "The emulator failed unexpectedly.",
        "errorCode": "INTERNAL_ERROR",
        "errors": [],
    }


def test_it_drops_the_connection_on_a_reset_fault(client):
    with faults.inject("customer", reset=True), pytest.raises(OSError):
        client.get(f"/customers/{ACME}")


@pytest.mark.parametrize(
    ("site_url", "base"),
    [("", "http://localhost/nue-emulator"), ("https://portal.example", "https://portal.example")],
)
def test_it_links_to_the_site_url_or_else_the_host_called(client, settings, site_url, base):
    settings.SITE_URL = site_url
    order_id = (
        Order.objects.filter(customer_id=ACME, status="Draft").values_list("id", flat=True).first()
    )
    link = client.get(f"/orders/magiclink/order/{order_id}").json()["magicLink"]
    assert link.startswith(base.removesuffix("/nue-emulator") + "/nue-emulator/view-order/")
    invoices = ok(client.get(f"/customers/{ACME}/invoices", params={"limit": 1}))
    assert invoices[0]["invoicePdf"].startswith(
        base.removesuffix("/nue-emulator") + "/nue-emulator/view-invoice/"
    )


def test_it_times_out_after_a_hang_fault(client):
    with faults.inject("customer", hang_seconds=0.05), pytest.raises(TimeoutError):
        client.get(f"/customers/{ACME}")


@pytest.mark.parametrize("fault", [{"reset": True}, {"hang_seconds": 0.01}], ids=["reset", "hang"])
def test_a_dropped_call_still_uses_up_its_fault_and_is_journaled(client, fault):
    with journal.capture() as calls, faults.inject("customer", "GET", times=2, **fault) as added:
        with pytest.raises(OSError):
            client.get(f"/customers/{ACME}")
        assert [f.times for f in faults.active() if f.id == added.id] == [1]
        with pytest.raises(OSError):
            client.get(f"/customers/{ACME}")
        assert faults.active() == []
        assert client.get(f"/customers/{ACME}").status_code == 200
    assert [(c.route, c.status) for c in calls] == [("customer", 500)] * 2 + [("customer", 200)]
