"""Changes Nue has activated that take effect later: a cancellation whose last day is ahead, and a
change of seats or plan from a future start date. Derived here, once, for every page that shows a
subscription (dashboard, subscriptions, a subscription, the change wizard, a change order), and
for orders.policy's rule on what such a change leaves possible.

Only what Nue documents is read. A cancellation is the subscription's own `cancellationDate`
(nue-api.md §2.2: Cancel "ends the subscription on that date"; Subscription.cancels_on). A change
of seats or plan is an activated change order whose lines (`changeType`, `startDate`, §2.2,
§3.2) start after today, with the subscription's terms before and after it from Nue's change
summary when the order carries one, else from the versions the orders made (their related
assets, §2.1; orders.actions.history.subscription_versions).

Nue documents no way to withdraw a scheduled cancellation: no change type undoes one (§2.2 lists
ten, none of them), and `PATCH /subscriptions/{id}` updates only `autoRenew` and custom fields
(§2.7). So the portal offers no "Keep my subscription" button: the notice names the account
managers who can.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from orders.actions.history import subscription_versions
from orders.nue import NueError, Order, Subscription, SubscriptionChange, SubscriptionSnapshot
from orders.policy import DraftFacts, DraftKind, ScheduledChange, ScheduledKind, schedule_kept
from orders.scope import CustomerNue
from portal.models import CustomerAccount, User


def scheduled_change(
    subscription: Subscription, orders: Sequence[Order], today: date
) -> ScheduledChange | None:
    """What is scheduled for `subscription` and takes effect after `today`, if anything.

    A cancellation comes first (nothing after its last day matters); otherwise the change of
    seats or plan that takes effect soonest. `orders`: the customer's orders with their lines and
    related assets (`read_orders`); without them only a cancellation is found.
    """
    name = subscription.name
    if subscription.cancels_on is not None:
        order = _cancelling_order(orders, name) if orders else None
        return ScheduledChange.cancellation(subscription, today, order)
    found = [
        change
        for order, before, after, starts in _changes_of(orders, name)
        if starts is not None
        and starts > today
        and (change := _change(name, order, before, after, starts)) is not None
    ]
    return min(found, key=lambda c: c.last_day, default=None)


def _change(
    name: str, order: Order, before: SubscriptionSnapshot, after: SubscriptionSnapshot, starts: date
) -> ScheduledChange | None:
    """A change of product or quantity from `starts`; None for one of dates only (a renewal, a
    longer term), which leaves what the customer has until then as it is."""
    moved = (before.product_id, before.product_name) != (after.product_id, after.product_name)
    if moved:
        kind = ScheduledKind.PRODUCT
    elif before.quantity != after.quantity:
        kind = ScheduledKind.QUANTITY
    else:
        return None
    return ScheduledChange(
        name,
        kind,
        starts - timedelta(days=1),
        quantity=after.quantity if before.quantity != after.quantity else None,
        quantity_before=before.quantity,
        product_name=after.product_name if moved else None,
        order_id=order.id,
        order_number=order.order_number,
    )


Changed = tuple[Order, SubscriptionSnapshot, SubscriptionSnapshot, date | None]


def _changes_of(orders: Sequence[Order], name: str) -> list[Changed]:
    """Each activated order that made a new version of `name`: its terms before and after, and
    the day the order's change of it starts."""
    found: list[Changed] = []
    versions: list[Any] | None = None
    for order in orders:
        if order.status != "Activated":
            continue
        summary = next((c for c in order.changes if c.name == name and c.after), None)
        if summary is not None and summary.after is not None:
            entries = {summary.before.price_book_entry_id, summary.after.price_book_entry_id}
            found.append((order, summary.before, summary.after, _starts(order, entries)))
            continue
        if not any(a.name == name for a in order.assets):
            continue
        if versions is None:
            versions = subscription_versions(orders, name)
        index = next((i for i, v in enumerate(versions) if v.order.id == order.id), 0)
        if index:  # 0: this order created the subscription, or is not among its versions
            previous = versions[index - 1].order
            entries = {
                a.price_book_entry_id for o in (order, previous) for a in o.assets if a.name == name
            }
            before, after = versions[index - 1].snapshot, versions[index].snapshot
            found.append((order, before, after, _starts(order, entries)))
    return found


def _starts(order: Order, entries: Iterable[str | None]) -> date | None:
    """When the order's change of a subscription priced on `entries` starts: its change lines
    priced on them (nue-api.md §3.2: a line does not name its subscription, its price book entry
    does), else any change line, else the order's start."""
    wanted = set(entries) - {None}
    lines = [ln for ln in order.all_lines() if ln.change_type and ln.start_date is not None]
    mine = [ln for ln in lines if ln.price_book_entry_id in wanted] or lines
    return min((ln.start_date for ln in mine if ln.start_date), default=order.start_date)


def _cancelling_order(orders: Sequence[Order], name: str) -> Order | None:
    """The latest activated order that cancels `name`, where Nue's records say which."""
    cancelling = [
        order
        for order in orders
        if order.status == "Activated"
        and (
            any(c.name == name and "Cancel" in c.change_types for c in order.changes)
            or (
                not order.changes
                and any(a.name == name for a in order.assets)
                and any(ln.change_type == "Cancel" for ln in order.all_lines())
            )
        )
    ]
    return max(
        cancelling,
        key=lambda o: (o.activated_date or date.min, o.order_number),
        default=None,
    )


# What `scheduled_change` reads of an order: its lines and the versions it made.
INCLUDES = ("orderProducts", "assets")


def read_orders(nue: CustomerNue, today: date) -> list[Order]:
    """The activated orders as `scheduled_change` needs them (lines, related assets), read only
    when one of them starts after `today`: without one nothing of seats or plan is scheduled.
    The headers are the dashboard's and the order history's read (memoised)."""
    headers = nue.orders()
    if not any(
        o.status == "Activated" and (o.start_date is None or o.start_date > today) for o in headers
    ):
        return []
    return nue.orders(status="active", includes=INCLUDES)


def _current(subscriptions: Iterable[Subscription]) -> list[Subscription]:
    """The current (highest) version of each name: Nue's list may carry older ones."""
    latest: dict[str, Subscription] = {}
    for s in subscriptions:
        if s.name not in latest or s.version > latest[s.name].version:
            latest[s.name] = s
    return list(latest.values())


def changes_for(
    nue: CustomerNue,
    subscriptions: Iterable[Subscription],
    today: date,
    orders: Sequence[Order] | None = None,
) -> dict[str, ScheduledChange]:
    """What is scheduled for each of `subscriptions`, by name, from `orders` where the caller
    read them with their lines and assets (the subscription page's history), else as
    `read_orders` reads them. Raises NueError when they cannot be read: what a member may do is
    not decided on half the facts."""
    current = _current(subscriptions)
    if orders is None:
        orders = read_orders(nue, today) if current else []
    return {s.name: c for s in current if (c := scheduled_change(s, orders, today)) is not None}


def shown_changes(
    nue: CustomerNue,
    subscriptions: Iterable[Subscription],
    today: date,
    orders: Sequence[Order] | None = None,
) -> dict[str, ScheduledChange]:
    """`changes_for`, for a page that only shows them: when the orders cannot be read, the
    cancellations (which the subscriptions say themselves) are still shown."""
    current = _current(subscriptions)
    try:
        return changes_for(nue, current, today, orders)
    except NueError:
        return {s.name: c for s in current if (c := scheduled_change(s, (), today)) is not None}


def change_for(nue: CustomerNue, subscription: Subscription, today: date) -> ScheduledChange | None:
    """What is scheduled for one subscription (raises NueError as `changes_for` does)."""
    return changes_for(nue, [subscription], today).get(subscription.name)


def for_draft(
    nue: CustomerNue, order: Order, today: date, previewed: Sequence[SubscriptionChange] = ()
) -> tuple[DraftFacts, dict[str, ScheduledChange]]:
    """A draft's facts for orders.policy.decide, and what is scheduled for the subscriptions it
    changes. Which those are is Nue's change summary on the draft, or else what the wizard's
    preview computed it from (`previewed`). A new order changes none: nothing is read."""
    facts = DraftFacts.of(order)
    if facts.kind == DraftKind.NEW_ORDER:
        return facts, {}
    if not facts.changed and previewed:
        facts = replace(facts, changed=tuple((c.name, c.change_types) for c in previewed))
    names = {name for name, _types in facts.changed}
    if not names:
        return facts, {}
    changing = [s for s in nue.subscriptions() if s.name in names]
    return facts, changes_for(nue, changing, today)


@dataclass(frozen=True)
class Shown:
    """A subscription as a page shows it: Nue's record with the change scheduled for it.

    Templates read it as the subscription itself; only `auto_renew` differs: a subscription
    scheduled to cancel does not renew, whatever its autoRenew still says (Nue may leave it on;
    the emulator turns it off).
    """

    subscription: Subscription
    change: ScheduledChange | None = None

    def __getattr__(self, attribute: str) -> Any:
        if attribute == "subscription":  # not set yet (a copy being made): no recursion
            raise AttributeError(attribute)
        return getattr(self.subscription, attribute)

    @property
    def auto_renew(self) -> bool:
        return self.subscription.auto_renew and not (self.change and self.change.cancels)


def shown(
    subscriptions: Iterable[Subscription], changes: dict[str, ScheduledChange]
) -> list[Shown]:
    return [Shown(s, changes.get(s.name)) for s in subscriptions]


@dataclass(frozen=True)
class Notice:
    """What a page says of a scheduled change beyond its one line: what it leaves possible and
    what not, and whom to ask to keep a subscription scheduled to cancel."""

    change: ScheduledChange
    kept: tuple[str, ...]
    refused: tuple[str, ...]
    managers: tuple[User, ...]


def notice(change: ScheduledChange | None, account: CustomerAccount) -> Notice | None:
    if change is None:
        return None
    kept, refused = schedule_kept(change)
    managers = account.managers.filter(is_active=True).order_by("first_name", "email")
    return Notice(change, tuple(kept), tuple(refused), tuple(managers))
