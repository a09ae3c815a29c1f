"""Fault injection (Python API and HTTP control endpoint) and the journal of received calls."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from nue_emulator import faults, journal
from nue_emulator.models import Customer, InjectedFault, JournalEntry
from tests.concurrency import run_together
from tests.nue_emulator.conftest import ACME, Api, error, ok

ROOT = Path(__file__).resolve().parents[2]


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


def test_asking_for_a_fault_inside_the_portals_transaction_is_one_statement(
    db, django_assert_num_queries
):
    """Every call asks; with no fault injected, inside a transaction the portal opened (the
    embedded emulator's case), the question is one query and no savepoint around it."""
    assert connection.in_atomic_block
    with django_assert_num_queries(1):
        assert faults.take("customer", "GET") is None
    with faults.inject("customer", "GET", status=503, times=1):
        assert faults.take("customer", "GET") is not None
    assert faults.take("customer", "GET") is None


def test_it_checks_the_key_before_a_fault_fires(api, anonymous):
    with faults.inject("orders", "GET", status=503, times=1) as fault:
        error(anonymous.get("/orders", customerIds=[ACME]), 401)
        assert fault in faults.active()
        assert api.get("/orders", customerIds=[ACME]).status_code == 503
        assert fault not in faults.active()


def test_it_applies_faults_in_the_order_they_were_added(api):
    with (
        faults.inject("customer", "GET", status=503, times=1) as first,
        faults.inject("customer", "GET", status=502) as second,
    ):
        assert [f.id for f in faults.active()] == [first.id, second.id]
        assert len(first.id) == 32
        assert api.get(f"/customers/{ACME}").status_code == 503
        assert api.get(f"/customers/{ACME}").status_code == 502
        assert faults.active() == [second]


# One emulator process of two on one database: `add` a fault, `call` it twice, `read` the state.
INSTANCE = textwrap.dedent(
    """
    import json, sys

    import django

    django.setup()
    from django.test import Client

    from nue_emulator import faults, journal

    step = sys.argv[1]
    if step == "add":
        faults.add(faults.Fault(route="customer", method="GET", status=503, times=1))
    elif step == "call":
        client = Client(headers={"nue-api-key": "two-instances-key"})
        calls = [client.get("/nue-emulator/customers/C-1").status_code for _ in range(2)]
        print(json.dumps(calls))
    else:
        entries = [[e.route, e.status] for e in journal.entries()]
        print(json.dumps({"faults": len(faults.active()), "journal": entries}))
    """
)


def test_two_emulator_processes_on_one_database_share_faults_and_the_journal(tmp_path):
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("NUE_EMULATOR_")
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="nue_emulator.settings",
        NUE_EMULATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'emulator.sqlite3'}",
        NUE_EMULATOR_API_KEY="two-instances-key",
        NUE_EMULATOR_ALLOWED_HOSTS="testserver",
    )

    def run(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    run("manage.py", "migrate", "--verbosity", "0")
    run("-c", INSTANCE, "add")
    # Another process: the fault fires once there, then is used up (no such customer: 404).
    assert json.loads(run("-c", INSTANCE, "call")) == [503, 404]
    assert json.loads(run("-c", INSTANCE, "read")) == {
        "faults": 0,
        "journal": [["customer", 503], ["customer", 404]],
    }


@pytest.mark.django_db(transaction=True)
def test_callers_on_other_connections_use_up_a_fault_exactly_once():
    if not Customer.objects.exists():
        call_command("seed_emulator", verbosity=0)
    callers = 8

    def call() -> int:
        return Api(settings.NUE_EMULATOR_API_KEY).get(f"/customers/{ACME}").status_code

    faults.add(faults.Fault(route="customer", method="GET", status=503, times=1))
    with journal.capture() as calls:
        statuses = run_together([call] * callers)
    assert sorted(statuses) == [200] * (callers - 1) + [503]
    assert faults.active() == []
    assert not InjectedFault.objects.exists()
    assert sorted(c.status for c in calls if c.route == "customer") == sorted(statuses)


def test_it_answers_when_the_journal_cannot_be_written(api, caplog):
    # The table gone, every journal write fails; the test's transaction brings it back.
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {JournalEntry._meta.db_table}")
    with caplog.at_level(logging.ERROR):
        response = api.get(f"/customers/{ACME}")
    assert ok(response)["id"] == ACME
    assert "could not journal GET /nue-emulator/customers/" in caplog.text
    # The failed write left the transaction it ran in usable (PostgreSQL aborts one otherwise).
    assert Customer.objects.filter(id=ACME).exists()
    assert ok(api.get(f"/customers/{ACME}"))["id"] == ACME


def test_it_journals_nothing_when_the_control_endpoints_are_off(api, settings):
    settings.NUE_EMULATOR_CONTROL = False
    with journal.capture() as calls:
        assert api.get(f"/customers/{ACME}").status_code == 200
    assert calls == []
    assert journal.entries() == []


def test_it_keeps_the_journal_bounded(db, monkeypatch):
    monkeypatch.setattr(journal, "MAX_ENTRIES", 10)
    monkeypatch.setattr(journal, "PRUNE_EVERY", 5)
    for number in range(40):
        journal.record(journal.Entry("GET", f"/call/{number}", "", "customer", 200, 1.0, False))
    paths = [e.path for e in journal.entries()]
    assert paths[-10:] == [f"/call/{number}" for number in range(30, 40)]
    assert len(paths) == 10
    assert JournalEntry.objects.count() <= 10 + 5
