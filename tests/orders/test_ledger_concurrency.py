"""Concurrent submits of one activation on PostgreSQL: exactly one upstream POST."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.conf import settings
from django.db import connections

from orders import nue
from orders.models import Operation

from .conftest import ORDER_ID, FakeOrders

SUBMITS = 20

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="needs PostgreSQL: concurrent writers on SQLite serialise instead of racing",
    ),
]


def race(submit) -> Counter[str]:
    barrier = threading.Barrier(SUBMITS)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait()
            outcome = submit()
        except nue.OperationInProgress:
            outcome = "in progress"
        except nue.NueError as error:
            outcome = type(error).__name__
        finally:
            connections.close_all()
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=run) for _ in range(SUBMITS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_it_sends_one_activation_for_twenty_concurrent_submits(ledger_account, buyer, nue_mock):
    # The upstream call takes a while, so every other submit arrives while it is open.
    orders = FakeOrders(nue_mock, post_effect=lambda: time.sleep(0.3))

    def submit() -> str:
        result = nue.CustomerNue(ledger_account).activate(ORDER_ID, actor=buyer)
        return "replayed" if result.replayed else "activated"

    outcomes = race(submit)
    assert orders.posts == 1
    assert outcomes["activated"] == 1
    assert sum(outcomes.values()) == SUBMITS
    assert set(outcomes) <= {"activated", "replayed", "in progress"}
    assert Operation.objects.filter(state=Operation.State.SUCCEEDED).count() == 1
    assert not Operation.objects.filter(state__in=Operation.OPEN_STATES).exists()


def test_it_activates_one_emulator_draft_once_under_twenty_submits():
    from django.core.management import call_command
    from django.utils import timezone

    from nue_emulator import journal
    from portal.models import CustomerAccount, User

    # Transactional tests start from whatever the previous one left; seed what this one needs.
    call_command("seed_emulator", verbosity=0)
    (contact,) = nue.tenant().contacts_by_email(["ada@acme.example"])
    account, _ = CustomerAccount.objects.get_or_create(
        nue_customer_id=contact.customer_id, defaults={"name": "Acme"}
    )
    buyer = User.objects.create_user("race-buyer@acme.example")
    scope = nue.CustomerNue(account)
    (plan,) = [p for p in scope.catalog() if p.sku == "PLAN-PRO-US"]
    line = nue.LineRequest(
        plan.price_book_entries[0].id,
        nue.Decimal(2),
        start_date=timezone.localdate(),
        term_months=12,
    )
    draft = scope.create_draft([line], effective_date=timezone.localdate()).order

    def submit() -> str:
        result = nue.CustomerNue(account).activate(draft.id, actor=buyer)
        return "replayed" if result.replayed else "activated"

    with journal.capture() as calls:
        outcomes = race(submit)
    posts = [c for c in calls if c.method == "POST" and c.route == "order"]
    assert len(posts) == 1
    assert outcomes["activated"] == 1
    assert set(outcomes) <= {"activated", "replayed", "in progress"}
    assert nue.CustomerNue(account).order(draft.id).status == "Activated"
