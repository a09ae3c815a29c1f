"""A draft awaiting an approval decision is frozen: no activation, no discard, no actions shown."""

from __future__ import annotations

import pytest
from django.urls import reverse

from nue_emulator import journal
from tests.orders.approval_helpers import lower_limit, make_buyer, pending_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def locked_draft():
    lower_limit()
    return pending_request(make_buyer()).order_id


def writes(calls) -> list:
    return [call for call in calls if call.wrote]


def test_it_refuses_to_activate_a_draft_awaiting_approval(ada_client, locked_draft):
    with journal.capture() as calls:
        response = ada_client.post(
            reverse("orders:draft_activate", args=[locked_draft]), {"consent": "on"}
        )
    assert response.status_code == 409
    assert "awaiting approval" in response.text
    assert writes(calls) == []


def test_it_refuses_to_discard_a_draft_awaiting_approval(ada_client, locked_draft):
    with journal.capture() as calls:
        response = ada_client.post(reverse("orders:draft_discard", args=[locked_draft]))
    assert response.status_code == 409
    assert writes(calls) == []


def test_it_shows_no_draft_actions_while_approval_is_pending(ada_client, locked_draft):
    page = ada_client.get(reverse("orders:order_detail", args=[locked_draft])).text
    assert "Activate order" not in page
    assert "Discard this draft" not in page
