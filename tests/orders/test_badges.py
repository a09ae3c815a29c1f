"""Status badges of the long lists: one tone per status, and upstream text escaped."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from orders.templatetags.badges import (
    change_types,
    invoice_badge,
    order_badge,
    subscription_badge,
)


def test_it_marks_a_change_order_beside_its_status():
    order = SimpleNamespace(status="Activated", order_type="Change")
    assert str(order_badge(order)) == (
        '<span class="badge badge--ok">Activated</span> '
        '<span class="badge badge--accent">Change</span>'
    )


def test_it_escapes_a_status_nue_invents():
    order = SimpleNamespace(status='<img src=x onerror="alert(1)">', order_type="New")
    assert str(order_badge(order)) == (
        '<span class="badge">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</span>'
    )


@pytest.mark.parametrize(
    ("status", "html"),
    [
        ("Active", '<span class="badge badge--ok">Active</span>'),
        ("Pending", '<span class="badge badge--accent">Starts later</span>'),
        ("Expired", '<span class="badge badge--muted">Expired</span>'),
        ("Suspended", '<span class="badge">Suspended</span>'),
    ],
)
def test_it_names_subscription_states_for_people(status, html):
    assert str(subscription_badge(SimpleNamespace(status=status))) == html


def test_it_puts_overdue_before_the_payment_status():
    invoice = SimpleNamespace(status="Posted", payment_status="PartiallyPaid")
    assert str(invoice_badge(invoice, True)) == (
        '<span class="badge badge--danger">Overdue</span> <span class="muted">Partly paid</span>'
    )
    assert str(invoice_badge(invoice)).startswith('<span class="badge badge--warn">Due</span>')
    paid = SimpleNamespace(status="Posted", payment_status="Paid")
    assert str(invoice_badge(paid)) == '<span class="badge badge--ok">Paid</span>'


def test_it_labels_no_subscription_a_free_trial_on_an_undocumented_field():
    """No documented field says a subscription is a free trial (nue-api.md §3.3): an
    `isFreeTrial` Nue may send is not read, and the badge says what the status says."""
    from orders.nue import Subscription

    raw = {
        "id": "s-1",
        "name": "SUB-00000006",
        "customerId": "c-1",
        "status": "Active",
        "quantity": 5,
        "isFreeTrial": True,
        "freeTrialEndDate": "2026-12-31",
    }
    badge = subscription_badge(Subscription.parse(raw))
    assert str(badge) == '<span class="badge badge--ok">Active</span>'


def test_it_names_a_subscriptions_change_types_as_the_wizard_does():
    assert change_types(("UpdateQuantity", "Renew", "SomethingNew")) == (
        "Change quantity, Renew, Something new"
    )
