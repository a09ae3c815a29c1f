"""Fault injection (Python API and HTTP control endpoint) and the journal of received calls."""

from __future__ import annotations

import time

import pytest

from nue_emulator import faults, journal
from tests.nue_emulator.conftest import ACME, error, ok


def test_it_injects_a_status_with_retry_after_for_a_number_of_calls(api):
    with faults.inject("customer", "GET", status=503, retry_after=2, times=1):
        response = api.get(f"/customers/{ACME}")
        assert response.status_code == 503
        assert response["Retry-After"] == "2"
        assert response.json()["errorCode"] == "INJECTED_FAULT"
        assert api.get(f"/customers/{ACME}").status_code == 200


@pytest.mark.parametrize(
    ("body", "content_type"),
    [("malformed", "application/json"), ("empty", "application/json"), ("html", "text/html")],
)
def test_it_injects_broken_bodies(api, body, content_type):
    with faults.inject("contacts", body=body):
        response = api.get("/contacts", emails=["ada@acme.example"])
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    with pytest.raises(ValueError):
        response.json()


def test_it_only_faults_the_chosen_route_and_method(api):
    with faults.inject("orders", "POST", status=500):
        assert api.get("/orders", customerIds=[ACME]).status_code == 200
        assert api.get(f"/customers/{ACME}").status_code == 200
        assert api.post("/orders", {}).status_code == 500


def test_it_adds_latency(api):
    with faults.inject("customer", latency_ms=120):
        started = time.perf_counter()
        api.get(f"/customers/{ACME}")
        assert time.perf_counter() - started >= 0.12


def test_it_resets_the_connection(api):
    with faults.inject("customer", reset=True), pytest.raises(ConnectionResetError):
        api.get(f"/customers/{ACME}")


def test_it_manages_faults_over_http(api, anonymous):
    error(anonymous.post("/_emulator/faults", {"route": "orders", "status": 502}), 401)
    fault = ok(
        api.post(
            "/_emulator/faults", {"route": "orders", "method": "GET", "status": 502, "times": 2}
        ),
        201,
    )
    assert fault["route"] == "orders"
    assert api.get("/orders", customerIds=[ACME]).status_code == 502
    assert [f["id"] for f in ok(api.get("/_emulator/faults"))] == [fault["id"]]
    ok(api.delete(f"/_emulator/faults/{fault['id']}"))
    assert api.get("/orders", customerIds=[ACME]).status_code == 200
    error(api.post("/_emulator/faults", {"body": "garbage"}), 400)
    error(api.post("/_emulator/faults", {"status": 42}), 400)


def test_a_wildcard_fault_spares_the_control_routes(api):
    ok(api.post("/_emulator/faults", {"status": 500}), 201)
    assert api.get(f"/customers/{ACME}").status_code == 500
    ok(api.delete("/_emulator/faults"))
    assert api.get(f"/customers/{ACME}").status_code == 200


def test_it_journals_calls_and_whether_they_wrote(api, pbe):
    api.get("/orders", customerIds=[ACME], status="draft")
    api.post(
        "/orders",
        {
            "customer": {"id": ACME},
            "effectiveDate": "2027-01-01",
            "orderProducts": [
                {
                    "priceBookEntryId": pbe("PLAN-PRO-US"),
                    "quantity": 1,
                    "subscriptionStartDate": "2027-01-01",
                    "subscriptionTerm": 12,
                }
            ],
        },
    )
    api.post(
        "/orders/invoice-preview",
        {
            "customer": {"id": ACME},
            "orderProducts": [
                {
                    "priceBookEntryId": pbe("PLAN-PRO-US"),
                    "quantity": 1,
                    "subscriptionStartDate": "2027-01-01",
                    "subscriptionTerm": 12,
                }
            ],
        },
    )
    entries = ok(api.get("/_emulator/journal"))
    calls = [
        (e["method"], e["route"], e["status"], e["wrote"])
        for e in entries
        if e["route"] != "catalog-products"
    ]
    assert calls == [
        ("GET", "orders", 200, False),
        ("POST", "orders", 201, True),
        ("POST", "invoice-preview", 200, False),
    ]
    listed = [e for e in entries if (e["method"], e["route"]) == ("GET", "orders")]
    assert len(listed) == 1
    assert "status=draft" in listed[0]["query"]
    assert all(e["durationMs"] >= 0 for e in entries)
    ok(api.delete("/_emulator/journal"))
    assert ok(api.get("/_emulator/journal")) == []


def test_it_captures_the_calls_of_a_block(api):
    with journal.capture() as calls:
        api.get(f"/customers/{ACME}")
    assert [c.route for c in calls] == ["customer"]
    assert not any(c.wrote for c in calls)


def test_it_faults_a_share_of_the_calls(api, monkeypatch):
    draws = iter([10, 95, 29, 30])  # random.randrange(100): below 30 is faulted
    monkeypatch.setattr(faults.random, "randrange", lambda _stop: next(draws))
    fault = ok(
        api.post("/_emulator/faults", {"route": "customer", "status": 503, "percent": 30}), 201
    )
    assert fault["percent"] == 30
    statuses = [api.get(f"/customers/{ACME}").status_code for _ in range(4)]
    assert statuses == [503, 200, 503, 200]
    error(api.post("/_emulator/faults", {"status": 503, "percent": 0}), 400)
    error(api.post("/_emulator/faults", {"status": 503, "percent": 101}), 400)


def test_it_checks_the_key_before_a_fault_fires(api, anonymous):
    with faults.inject("orders", "GET", status=503, times=1) as fault:
        error(anonymous.get("/orders", customerIds=[ACME]), 401)
        assert fault in faults.active()
        assert api.get("/orders", customerIds=[ACME]).status_code == 503
        assert fault not in faults.active()
