"""Twenty concurrent activation POSTs of one draft on PostgreSQL: exactly one upstream call."""

from __future__ import annotations

from collections import Counter

import pytest
from django.conf import settings
from django.urls import reverse

from nue_emulator import journal
from orders.models import Operation
from portal.models import AuditEvent, AuditKind, User
from tests.concurrency import run_together
from tests.conftest import signed_in

from .purchase_helpers import PRO, create_draft, line

SUBMITS = 20

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="needs PostgreSQL: concurrent writers on SQLite serialise instead of racing",
    ),
]


def test_it_activates_once_for_twenty_concurrent_posts():
    ada = User.objects.get(email="ada@acme.example")
    order_id = create_draft(signed_in(ada), line("la", PRO, quantity="3"))
    url = reverse("orders:draft_activate", args=[order_id])
    clients = [signed_in(ada) for _ in range(SUBMITS)]

    def submit(client) -> int:
        return client.post(url, {"consent": "on"}).status_code

    with journal.capture() as calls:
        statuses = Counter(run_together([lambda c=c: submit(c) for c in clients]))

    sent = [c for c in calls if c.method == "POST" and c.path.endswith(f"/orders/{order_id}")]
    assert len(sent) == 1
    # Every submit ends on the result page, or is told the activation is in progress (409).
    assert set(statuses) <= {302, 409}, statuses
    assert statuses[302] >= 1
    assert Operation.objects.filter(target=order_id, state="succeeded").count() == 1
    assert AuditEvent.objects.filter(kind=AuditKind.ACTIVATION).count() == 1
