"""What Nue has scheduled for a subscription (orders.actions.scheduled) and what that leaves
possible (orders.policy), without HTTP: Nue's records as its documented fields carry them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from orders.actions.approvals import _book_row
from orders.actions.scheduled import Shown, scheduled_change
from orders.kinds import KINDS
from orders.nue import Order, Subscription
from orders.policy import (
    Decision,
    DraftFacts,
    ScheduledChange,
    ScheduledKind,
    decide,
    draft_schedule_refusal,
    schedule_kept,
    schedule_refusal,
)
from portal.models import CustomerAccount, Membership, Role

TODAY = date(2027, 3, 1)
NAME = "SUB-00000001"
PRO, BASIC = "pbe-pro", "pbe-basic"


def subscription(**fields: Any) -> Subscription:
    raw = {
        "id": "s1",
        "name": NAME,
        "subscriptionVersion": 2,
        "customerId": "c",
        "status": "Active",
        "quantity": 10,
        "productId": "p-pro",
        "productName": "Pro",
        "priceBookEntryId": PRO,
        "subscriptionStartDate": "2026-07-06",
        "subscriptionEndDate": "2027-07-05",
        "autoRenew": True,
        **fields,
    }
    return Subscription.parse(raw)


def snapshot(quantity: int, product: str = "Pro", entry: str = PRO) -> dict[str, Any]:
    return {
        "quantity": quantity,
        "productId": f"p-{product.lower()}",
        "productName": product,
        "priceBookEntryId": entry,
    }


def change_order(
    number: int,
    *lines: tuple[str, str, str],
    summary: tuple[dict[str, Any], dict[str, Any], str] | None = None,
    assets: list[dict[str, Any]] | None = None,
    status: str = "Activated",
    activated: str = "2027-02-01",
) -> Order:
    """An activated change order as Nue lists it: its lines (change type, price book entry,
    start), and either Nue's change summary or the subscription versions it made."""
    raw: dict[str, Any] = {
        "id": f"o-{number}",
        "orderNumber": f"O-{number:08d}",
        "customerId": "c",
        "status": status,
        "orderType": "Change",
        "activatedDate": activated,
        "orderStartDate": min(start for _t, _e, start in lines),
        "orderProducts": [
            {
                "id": f"l-{number}-{i}",
                "productName": "Pro",
                "quantity": 1,
                "totalPrice": "0",
                "changeType": change_type,
                "priceBookEntryId": entry,
                "startDate": start,
            }
            for i, (change_type, entry, start) in enumerate(lines)
        ],
        "assets": assets or [],
    }
    if summary is not None:
        before, after, kind = summary
        raw["assetChanges"] = [
            {"assetNumber": NAME, "changeTypes": [kind], "before": before, "after": after}
        ]
    return Order.parse(raw)


def asset(quantity: int, product: str = "Pro", entry: str = PRO) -> dict[str, Any]:
    """The subscription version an order made, as its related assets list it."""
    return {
        "id": f"v-{quantity}-{product}",
        "customerId": "c",
        "name": NAME,
        "quantity": quantity,
        "productId": f"p-{product.lower()}",
        "productName": product,
        "priceBookEntryId": entry,
        "subscriptionStartDate": "2026-07-06",
        "subscriptionEndDate": "2027-07-05",
    }


def test_it_finds_a_cancellation_whose_last_day_is_ahead():
    cancels = change_order(
        9,
        ("Cancel", PRO, "2027-07-06"),
        summary=(snapshot(10), snapshot(10), "Cancel"),
    )
    sub = subscription(cancellationDate="2027-07-05", autoRenew=False)

    found = scheduled_change(sub, [cancels], TODAY)

    assert found is not None
    assert found.kind == ScheduledKind.CANCEL
    assert found.text == "Active until 5 Jul 2027, then cancels"
    assert (found.order_id, found.order_number) == ("o-9", "O-00000009")
    # Without the orders (a page that could not read them) the subscription still says it.
    assert scheduled_change(sub, [], TODAY) == ScheduledChange(
        NAME, ScheduledKind.CANCEL, date(2027, 7, 5)
    )


def test_it_finds_seats_dropping_from_a_future_start():
    drop = change_order(
        4,
        ("UpdateQuantity", PRO, "2027-07-06"),
        summary=(snapshot(10), snapshot(5), "UpdateQuantity"),
    )

    found = scheduled_change(subscription(quantity=5), [drop], TODAY)

    assert found is not None
    assert found.kind == ScheduledKind.QUANTITY
    assert found.last_day == date(2027, 7, 5)
    assert found.text == "Active until 5 Jul 2027, then drops to 5 seats"
    assert found.order_number == "O-00000004"


def test_it_finds_a_move_to_a_lower_plan_from_a_future_start():
    down = change_order(
        5,
        ("Downgrade", PRO, "2027-04-01"),
        ("Downgrade", BASIC, "2027-04-01"),
        summary=(snapshot(10), snapshot(10, "Basic", BASIC), "Downgrade"),
    )

    found = scheduled_change(subscription(productName="Basic"), [down], TODAY)

    assert found is not None
    assert found.kind == ScheduledKind.PRODUCT
    assert found.text == "Active until 31 Mar 2027, then moves to Basic"


def test_it_reads_the_versions_the_orders_made_where_nue_sends_no_summary():
    created = change_order(1, ("UpdateQuantity", PRO, "2026-07-06"), assets=[asset(10)])
    created = created._replace(order_type="New", activated_date=date(2026, 7, 6))
    drop = change_order(6, ("UpdateQuantity", PRO, "2027-05-01"), assets=[asset(4)])

    found = scheduled_change(subscription(quantity=4), [created, drop], TODAY)

    assert found is not None
    assert found.text == "Active until 30 Apr 2027, then drops to 4 seats"


def test_it_finds_nothing_where_nothing_is_scheduled():
    renewal = change_order(
        7,
        ("Renew", PRO, "2027-07-06"),
        summary=(snapshot(10), snapshot(10), "Renew"),
    )
    draft = change_order(
        8,
        ("UpdateQuantity", PRO, "2027-05-01"),
        summary=(snapshot(10), snapshot(2), "UpdateQuantity"),
        status="Draft",
    )
    # A renewal changes only dates; a draft is not scheduled until it is activated.
    assert scheduled_change(subscription(), [renewal, draft], TODAY) is None
    assert scheduled_change(subscription(), [], TODAY) is None


def test_it_finds_nothing_once_the_day_has_come():
    today_drop = change_order(
        4,
        ("UpdateQuantity", PRO, TODAY.isoformat()),
        summary=(snapshot(10), snapshot(5), "UpdateQuantity"),
    )
    assert scheduled_change(subscription(quantity=5), [today_drop], TODAY) is None
    canceled = subscription(status="Canceled", cancellationDate="2027-02-27")
    assert scheduled_change(canceled, [], TODAY) is None
    # A stale read that still says Active a day too late is not "until yesterday".
    late = subscription(cancellationDate="2027-02-28", subscriptionEndDate="2027-02-28")
    assert scheduled_change(late, [], TODAY) is None


def test_it_takes_the_change_that_comes_first():
    later = change_order(
        4,
        ("UpdateQuantity", PRO, "2027-06-01"),
        summary=(snapshot(8), snapshot(6), "UpdateQuantity"),
    )
    sooner = change_order(
        3,
        ("UpdateQuantity", PRO, "2027-04-01"),
        summary=(snapshot(10), snapshot(8), "UpdateQuantity"),
    )
    found = scheduled_change(subscription(quantity=6), [later, sooner], TODAY)
    assert found is not None
    assert found.text == "Active until 31 Mar 2027, then drops to 8 seats"


def test_a_scheduled_cancellation_refuses_every_change():
    change = ScheduledChange(NAME, ScheduledKind.CANCEL, date(2027, 7, 5))
    for kind in KINDS:
        assert schedule_refusal(change, kind.slug).startswith("A cancellation is scheduled")
    assert "does not renew" in schedule_refusal(change, "renew")
    kept, refused = schedule_kept(change)
    assert kept == []
    assert "Change quantity" in refused
    assert "Upgrade" in refused
    assert "Renew" in refused


def test_a_scheduled_downgrade_keeps_the_end_date_and_the_cancellation_open():
    change = ScheduledChange(
        NAME, ScheduledKind.QUANTITY, date(2027, 7, 5), Decimal(5), Decimal(10)
    )
    refused = {k.slug for k in KINDS if schedule_refusal(change, k.slug)}
    assert refused == {"quantity", "upgrade", "downgrade", "swap", "coterm", "trial", "addons"}
    assert "then drops to 5 seats" in schedule_refusal(change, "quantity")
    assert schedule_kept(change)[0] == ["Extend the term", "Renew", "Cancel"]
    assert schedule_refusal(None, "quantity") == ""


def test_it_refuses_to_activate_a_draft_changing_what_is_scheduled():
    admin = Membership(account=CustomerAccount(name="Acme", nue_customer_id="c"), role=Role.ADMIN)
    draft = change_order(
        8,
        ("UpdateQuantity", PRO, "2027-03-01"),
        summary=(snapshot(10), snapshot(12), "UpdateQuantity"),
        status="Draft",
    )
    facts = DraftFacts.of(draft)
    cancel = ScheduledChange(NAME, ScheduledKind.CANCEL, date(2027, 7, 5))

    verdict = decide(admin, facts, TODAY, {NAME: cancel})

    assert verdict.decision == Decision.SCHEDULED
    assert (
        verdict.reason
        == f"{NAME}: A cancellation is scheduled: it ends on 5 Jul 2027, so it cannot be changed."
    )
    assert decide(admin, facts, TODAY, {}).decision == Decision.ACTIVATE
    assert decide(admin, facts, TODAY, {"SUB-00000002": cancel}).decision == Decision.ACTIVATE
    # A change type the wizard does not offer is refused too, once anything is scheduled.
    assert draft_schedule_refusal([(NAME, ["AdjustPrice"])], {NAME: cancel})


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        (ScheduledChange(NAME, ScheduledKind.CANCEL, date(2027, 7, 5)), False),
        (ScheduledChange(NAME, ScheduledKind.QUANTITY, date(2027, 7, 5), Decimal(5)), True),
        (None, True),
    ],
)
def test_it_shows_auto_renew_off_for_a_subscription_scheduled_to_cancel(change, shown):
    # Nue may leave autoRenew on beside a cancellationDate; the page never says it renews.
    sub = subscription(cancellationDate="2027-07-05" if change and change.cancels else None)
    row = Shown(sub, change)
    assert row.auto_renew is shown
    assert (row.name, row.quantity) == (NAME, Decimal(10))  # otherwise, the subscription


def test_the_book_counts_no_renewal_for_a_subscription_scheduled_to_cancel_but_lists_it():
    account = CustomerAccount(name="Acme", nue_customer_id="c")
    ending = {"subscriptionEndDate": "2027-03-20", "totalACV": 100}
    subs = [
        subscription(**ending),
        subscription(id="s2", name="SUB-00000002", cancellationDate="2027-03-20", **ending),
    ]
    row = _book_row(account, subs, [], [], TODAY)
    assert row.renewals == {30: 1, 60: 1, 90: 1}
    assert [s.name for s in row.renewing] == [NAME]
    assert [c.text for c in row.cancelling] == ["Active until 20 Mar 2027, then cancels"]
