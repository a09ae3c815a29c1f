"""Concurrent confirmations of "set to 8" on PostgreSQL: one change applied, never 5 + 3 + 3."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from django.conf import settings
from django.urls import reverse

from orders import nue
from orders.models import Operation
from orders.scope import CustomerNue
from tests.concurrency import run_together
from tests.conftest import signed_in

PRO = "SUB-00000001"
THREADS = 10

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="needs PostgreSQL: concurrent writers on SQLite serialise instead of racing",
    ),
]


def race(steps: list[Callable[[], int]]) -> Counter[int]:
    return Counter(run_together(steps))


def details(client, quantity: int):
    url = reverse("orders:change_details", args=[PRO, "quantity"])
    return client.post(url, {"quantity": quantity, "when": "today"})


def confirm(client, location: str) -> int:
    order_id = location.rstrip("/").split("/")[-1]
    return client.post(reverse("orders:change_confirm", args=[PRO, order_id])).status_code


def pro(ada) -> nue.Subscription:
    return CustomerNue(ada.memberships.get().account).subscription(PRO)


def test_it_ends_at_eight_when_ten_tabs_confirm_set_to_eight(ada):
    clients = [signed_in(ada) for _ in range(THREADS)]
    locations = [details(client, 8)["Location"] for client in clients]
    outcomes = race(
        [lambda c=c, loc=loc: confirm(c, loc) for c, loc in zip(clients, locations, strict=True)]
    )
    sub = pro(ada)
    assert sub.quantity == 8
    assert sub.version == 3  # exactly one new version
    assert outcomes[302] >= 1
    assert set(outcomes) <= {302, 409}
    assert not Operation.objects.filter(state__in=Operation.OPEN_STATES).exists()


def test_it_ends_at_eight_when_ten_people_go_through_the_whole_wizard_at_once(ada):
    clients = [signed_in(ada) for _ in range(THREADS)]

    def whole_wizard(client) -> int:
        response = details(client, 8)
        if response.status_code != 302:
            return response.status_code  # in progress, or 8 already there: refused, not applied
        return confirm(client, response["Location"])

    outcomes = race([lambda c=c: whole_wizard(c) for c in clients])
    sub = pro(ada)
    assert sub.quantity == 8
    assert sub.version == 3
    assert outcomes[302] >= 1
    assert set(outcomes) <= {302, 409, 422}


def test_it_applies_one_of_two_different_drafts_and_calls_the_other_stale(ada):
    clients = [signed_in(ada) for _ in range(THREADS)]
    locations = [details(client, 8 + i % 2)["Location"] for i, client in enumerate(clients)]
    assert len(set(locations)) == 2
    outcomes = race(
        [lambda c=c, loc=loc: confirm(c, loc) for c, loc in zip(clients, locations, strict=True)]
    )
    sub = pro(ada)
    assert sub.quantity in (8, 9)
    assert sub.version == 3
    assert outcomes[409] >= 1
    assert set(outcomes) <= {302, 409}
