"""Twenty concurrent activation POSTs of one draft on PostgreSQL: exactly one upstream call."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.conf import settings
from django.db import connections
from django.urls import reverse

from nue_emulator import journal
from orders.models import Operation
from portal.models import AuditEvent, AuditKind, User
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
    barrier = threading.Barrier(SUBMITS)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def submit(client) -> None:
        try:
            barrier.wait()
            status = client.post(url, {"consent": "on"}).status_code
        finally:
            connections.close_all()
        with lock:
            statuses[status] += 1

    with journal.capture() as calls:
        threads = [threading.Thread(target=submit, args=(c,)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    sent = [c for c in calls if c.method == "POST" and c.path.endswith(f"/orders/{order_id}")]
    assert len(sent) == 1
    # Every submit ends on the result page, or is told the activation is in progress (409).
    assert set(statuses) <= {302, 409}, statuses
    assert statuses[302] >= 1
    assert Operation.objects.filter(target=order_id, state="succeeded").count() == 1
    assert AuditEvent.objects.filter(kind=AuditKind.ACTIVATION).count() == 1
