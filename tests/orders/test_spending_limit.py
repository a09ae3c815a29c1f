"""A buyer's own spending limit (Membership.spending_limit, set on the team page) replaces the
account's approval threshold for them on every route that activates: the draft page, the
change wizard's confirm, and the approval request they may make instead (issue 25, item 1)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from nue_emulator import journal
from orders.scope import CustomerNue
from portal.models import Membership, User
from tests.orders.approval_helpers import big_draft, lower_limit

pytestmark = pytest.mark.django_db

PRO = "SUB-00000001"  # Acme: Pro Plan (US), 5 seats


def set_limit(user: User, limit: str | None) -> None:
    Membership.objects.filter(user=user).update(
        spending_limit=Decimal(limit) if limit is not None else None
    )


def activations(calls: list[journal.Entry], order_id: str) -> int:
    return sum(1 for c in calls if c.method == "POST" and c.path.endswith(f"/orders/{order_id}"))


def activate(client, order_id: str):
    return client.post(reverse("orders:draft_activate", args=[order_id]), {"consent": "on"})


def test_a_limit_below_the_accounts_asks_for_approval_on_the_draft_page(bob, bob_client):
    set_limit(bob, "1000.00")  # Acme's threshold is the default 10,000.00
    order = big_draft()
    assert Decimal(1000) < order.total <= Decimal(10000)
    page = bob_client.get(reverse("orders:order_detail", args=[order.id])).text
    assert "is above your spending limit of $1,000.00" in page
    with journal.capture() as calls:
        response = activate(bob_client, order.id)
    assert response.status_code == 403
    assert activations(calls, order.id) == 0
    request = reverse("orders:approval_request", args=[order.id])
    assert bob_client.post(request, {"comment": "", "consent": "on"}).status_code == 302


def test_without_a_limit_the_same_buyer_activates_within_the_accounts(bob, bob_client):
    order = big_draft()
    with journal.capture() as calls:
        response = activate(bob_client, order.id)
    assert response.status_code == 302
    assert activations(calls, order.id) == 1


def test_a_limit_above_the_accounts_lets_the_buyer_activate(bob, bob_client):
    lower_limit()  # Acme's threshold 1,000.00: its big drafts are above it
    set_limit(bob, "100000.00")
    order = big_draft()
    with journal.capture() as calls:
        response = activate(bob_client, order.id)
    assert response.status_code == 302
    assert activations(calls, order.id) == 1


def test_the_change_wizard_holds_the_buyer_to_their_limit(bob, bob_client, ada):
    set_limit(bob, "1.00")
    details = reverse("orders:change_details", args=[PRO, "quantity"])
    made = bob_client.post(details, {"quantity": 8, "when": "today"})
    assert made.status_code == 302
    order_id = made["Location"].rstrip("/").rsplit("/", 1)[-1]
    page = bob_client.get(made["Location"]).text
    assert "above your approval limit of $1.00" in page
    response = bob_client.post(reverse("orders:change_confirm", args=[PRO, order_id]))
    assert response.status_code == 403
    acme = CustomerNue(ada.memberships.get().account)
    assert acme.subscription(PRO).quantity == 5
