"""Concurrent submits of one activation on PostgreSQL: exactly one upstream POST."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.conf import settings

from orders import nue
from orders.models import Operation
from orders.scope import CustomerNue
from tests.concurrency import run_together

from .conftest import ORDER_ID, FakeOrders

SUBMITS = 20

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="needs PostgreSQL: concurrent writers on SQLite serialise instead of racing",
    ),
]


def race(submit: Callable[[], str]) -> Counter[str]:
    def run() -> str:
        try:
            return submit()
        except nue.OperationInProgress:
            return "in progress"
        except nue.NueError as error:
            return type(error).__name__

    return Counter(run_together([run] * SUBMITS))


def test_it_sends_one_activation_for_twenty_concurrent_submits(ledger_account, buyer, nue_mock):
    # The upstream call takes a while, so every other submit arrives while it is open.
    orders = FakeOrders(nue_mock, post_effect=lambda: time.sleep(0.3))

    def submit() -> str:
        result = CustomerNue(ledger_account).activate(ORDER_ID, actor=buyer)
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
    scope = CustomerNue(account)
    (plan,) = [p for p in scope.catalog() if p.sku == "PLAN-PRO-US"]
    line = nue.LineRequest(
        plan.price_book_entries[0].id,
        Decimal(2),
        start_date=timezone.localdate(),
        term_months=12,
    )
    draft = scope.create_draft([line], effective_date=timezone.localdate()).order

    def submit() -> str:
        result = CustomerNue(account).activate(draft.id, actor=buyer)
        return "replayed" if result.replayed else "activated"

    with journal.capture() as calls:
        outcomes = race(submit)
    posts = [c for c in calls if c.method == "POST" and c.route == "order"]
    assert len(posts) == 1
    assert outcomes["activated"] == 1
    assert set(outcomes) <= {"activated", "replayed", "in progress"}
    assert CustomerNue(account).order(draft.id).status == "Activated"
