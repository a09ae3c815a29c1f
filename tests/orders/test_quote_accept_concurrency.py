"""Ten recipients' browsers accept one quote at the same moment on PostgreSQL: one acceptance,
one activation upstream, and every submit ends on the quote's page showing it."""

from __future__ import annotations

from collections import Counter

import pytest
from django.conf import settings
from django.test import Client

from nue_emulator import journal
from orders.models import Operation, QuoteAcceptance
from portal.models import AuditEvent, AuditKind
from tests.concurrency import run_together
from tests.orders.approval_helpers import big_draft
from tests.orders.quote_helpers import accept, activation_posts, made_by_manager, page_url

SUBMITS = 10

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="needs PostgreSQL: concurrent writers on SQLite serialise instead of racing",
    ),
]


def test_it_accepts_once_for_ten_concurrent_submits(maria):
    order = big_draft()
    link = made_by_manager(maria, order)
    clients = [Client() for _ in range(SUBMITS)]

    with journal.capture() as calls:
        answers = run_together([lambda c=c: accept(link, c) for c in clients])

    assert len(activation_posts(calls, order.id)) == 1
    statuses = Counter(a.status_code for a in answers)
    # Every submit lands on the quote's page, which shows the one acceptance (or, for a submit
    # that arrived while it was being made, says so).
    assert set(statuses) == {302}, statuses
    assert {a["Location"] for a in answers} == {page_url(link)}
    assert QuoteAcceptance.objects.get(link=link).state == QuoteAcceptance.State.ACTIVATED
    assert Operation.objects.filter(target=order.id, state="succeeded").count() == 1
    assert AuditEvent.objects.filter(kind=AuditKind.ACTIVATION).count() == 1
    assert AuditEvent.objects.filter(details__action="quote_accepted").count() == 1
