"""Views of a customer's Nue records that Nue does not give as such: the dashboard's glance
(renewals due, drafts awaiting someone, spend by month), the order history as filtered and
sorted, an order's lines as a bundle tree and what a change order changed, and the versions of a
subscription. Every function reads through the acting customer's scope or takes its answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.utils.translation import gettext as _

from orders.actions import approvals, settled
from orders.actions.invoices import is_open, is_overdue
from orders.fanout import fetch_alongside, fetch_concurrently
from orders.ledger import change_orders_asked
from orders.listing import Arrangement, sorted_by
from orders.nue import (
    SUBSCRIPTION_NAME,
    Asset,
    Invoice,
    NueError,
    Order,
    OrderLine,
    Subscription,
    SubscriptionChange,
    SubscriptionSnapshot,
)
from orders.scope import CustomerNue
from orders.templatetags.dates import day_text
from orders.templatetags.money import UNKNOWN, currency_code

RENEWAL_WINDOW = timedelta(days=90)
RECENT_ORDERS = 5
SPEND_MONTHS = 12
# One page of Nue's invoice list covers a year of any demo customer; more is not "at a glance".
DASHBOARD_INVOICES = 500
DETAIL_INCLUDES = ("orderProducts", "assets", "invoices")
# The order page shows its lines and invoices; its status is what it shows, so it is not filtered.
# Its lines, its invoices, and the subscriptions it made versions of (its related assets).
ORDER_PAGE_INCLUDES = ("orderProducts", "assets", "invoices")
# Nue's order numbers (O-00000300): searching for one needs no order lines.
ORDER_NUMBER = re.compile(r"O-\d{1,12}")


def _dashboard_invoices(nue: CustomerNue) -> list[Invoice]:
    return list(nue.invoices(page=1, limit=DASHBOARD_INVOICES).items)


# Each panel of the dashboard and the read it shows.
PANEL_READS: dict[str, Callable[[CustomerNue], Any]] = {
    "subscriptions-panel": lambda nue: nue.subscriptions(),
    "activity-panel": lambda nue: nue.orders(),
    "billing-panel": _dashboard_invoices,
}


@dataclass(frozen=True)
class Dashboard:
    approvals: approvals.CustomerApprovals
    reads: dict[str, Any]  # per panel: its read's answer, or the NueError it failed with


def dashboard(nue: CustomerNue) -> Dashboard:
    """The panels' reads, at once, each settled on its own; the approvals summary is read from
    the database while they are in flight."""
    summary, reads = fetch_alongside(
        partial(approvals.for_customer, nue.account),
        **{name: settled(partial(read, nue)) for name, read in PANEL_READS.items()},
    )
    return Dashboard(summary, reads)


def top_level(subscriptions: Sequence[Subscription]) -> list[Subscription]:
    return [s for s in subscriptions if not s.is_add_on]


@dataclass(frozen=True)
class SubscriptionsGlance:
    active: list[Subscription]
    renewals: list[Subscription]


def subscriptions_glance(subscriptions: Sequence[Subscription], today: date) -> SubscriptionsGlance:
    main = [s for s in top_level(subscriptions) if s.status in ("Active", "Pending")]
    # A subscription scheduled to cancel ends on its last day: it is not up for renewal.
    renewals = [
        s
        for s in main
        if s.end_date is not None
        and s.cancels_on is None
        and today <= s.end_date <= today + RENEWAL_WINDOW
    ]
    return SubscriptionsGlance(main, renewals)


@dataclass(frozen=True)
class ActivityGlance:
    awaiting: list[Order]  # drafts that await someone, newest first
    recent: list[Order]


def activity_glance(orders: Sequence[Order]) -> ActivityGlance:
    by_date = sorted(orders, key=lambda o: order_date(o) or date.min, reverse=True)
    drafts = approvals.awaiting([o for o in by_date if o.is_draft])
    return ActivityGlance(drafts, by_date[:RECENT_ORDERS])


@dataclass(frozen=True)
class Spend:
    """One currency's invoiced amounts by month (amounts in two currencies never add up)."""

    currency: str | None
    months: list[tuple[date, Decimal]]

    @property
    def chart_id(self) -> str:
        return f"spend-{(self.currency or 'unknown').lower()}"


@dataclass(frozen=True)
class BillingGlance:
    """The billing panel: the spend chart (a derived view, by month; one per currency invoiced),
    and the invoices still due with the balance Nue gives each; the panel counts them but adds
    no balances up, as a sum of Nue's figures is a figure Nue never gave."""

    spend: list[Spend]
    open_invoices: list[Invoice]
    overdue_count: int


def billing_glance(invoices: Sequence[Invoice], today: date) -> BillingGlance:
    open_invoices = [i for i in invoices if is_open(i)]
    return BillingGlance(
        spend=spend_by_currency(invoices, today),
        open_invoices=open_invoices,
        overdue_count=sum(1 for i in open_invoices if is_overdue(i, today)),
    )


def spend_by_currency(invoices: Sequence[Invoice], today: date) -> list[Spend]:
    """A chart's months for each currency invoiced in the last 12 months, the one with most
    invoices first; a customer invoiced only before then gets its (empty) months in its last
    currency, one never invoiced none."""
    by_currency: dict[str | None, list[Invoice]] = {}
    for invoice in sorted(invoices, key=lambda i: i.invoice_date or date.min, reverse=True):
        code = currency_code(invoice.currency)
        by_currency.setdefault(None if code == UNKNOWN else code, []).append(invoice)
    series = [Spend(code, spend_by_month(found, today)) for code, found in by_currency.items()]
    shown = [s for s in series if any(amount for _, amount in s.months)]
    shown.sort(key=lambda s: -len(by_currency[s.currency]))
    return shown or series[:1]


def spend_by_month(invoices: Sequence[Invoice], today: date) -> list[tuple[date, Decimal]]:
    """Invoiced amounts of the last 12 calendar months, this one included, oldest first (of
    invoices in one currency)."""
    months = []
    first = today.replace(day=1)
    for _month in range(SPEND_MONTHS):
        months.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    months.reverse()
    totals = dict.fromkeys(months, Decimal(0))
    for invoice in invoices:
        if invoice.invoice_date is None or invoice.status == "Canceled":
            continue
        month = invoice.invoice_date.replace(day=1)
        if month in totals:
            totals[month] += invoice.amount
    return list(totals.items())


def order_date(order: Order) -> date | None:
    """When the order was placed; a draft has not been, so its creation date stands in."""
    return order.order_placed_date or order.created_date


SORTS: dict[str, Callable[[Order], Any]] = {
    "number": lambda o: o.order_number,
    "name": lambda o: (o.name or "").casefold(),
    "status": lambda o: o.status,
    "date": lambda o: order_date(o),
    "start": lambda o: o.start_date,
    "total": lambda o: o.total,
    "acv": lambda o: o.order_acv,
}
# Dates and amounts read best newest / largest first; text columns A to Z.
DESCENDING_FIRST = ("date", "start", "total", "acv", "number")


@dataclass(frozen=True)
class OrderFilters:
    """How the order history is searched, filtered and sorted (Nue lists a customer's orders
    without paging, nue-api.md §5.18, so it happens here, on the typed orders)."""

    q: str = ""
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "date"
    descending: bool = True

    @property
    def needs_lines(self) -> bool:
        """Product names come only with the order lines; an order number is in the header."""
        q = self.q.strip()
        return bool(q) and ORDER_NUMBER.fullmatch(q.upper()) is None

    @property
    def arrangement(self) -> Arrangement[Order]:
        """Search, filters and sort, as Nue's answer is to be arranged (once per answer)."""
        key = (self.q, self.status, self.date_from, self.date_to, self.sort, self.descending)
        return Arrangement(key, self.arrange)

    def arrange(self, orders: Sequence[Order]) -> list[Order]:
        q = self.q.strip().casefold()
        status, start, end = self.status, self.date_from, self.date_to
        kept = list(orders)
        if status or start or end or q:
            kept = [order for order in kept if _keeps(order, q, status, start, end)]
        return sorted_by(kept, SORTS[self.sort], self.descending)


def _keeps(order: Order, q: str, status: str | None, start: date | None, end: date | None) -> bool:
    if status and order.status.casefold() != status:
        return False
    if start or end:
        day = order_date(order)
        if day is None or (start and day < start) or (end and day > end):
            return False
    return not q or _matches(order, q)


def _matches(order: Order, q: str) -> bool:
    texts = [order.order_number, order.name or "", order.po_number or ""]
    texts.extend(line.product_name for line in order.all_lines())
    return any(q in text.casefold() for text in texts)


def order_history(nue: CustomerNue, filters: OrderFilters) -> list[Order]:
    # Nue filters by status itself; product names come only with the lines, read when searching.
    includes = ("orderProducts",) if filters.needs_lines else ()
    return nue.orders(status=filters.status, includes=includes, arrangement=filters.arrangement)


@dataclass(frozen=True)
class LineRow:
    line: OrderLine
    depth: int
    parent: OrderLine | None

    @property
    def included(self) -> bool:
        """A $0 add-on that comes with its bundle (Bundled option type)."""
        return self.parent is not None and self.line.total_price == 0


def line_rows(lines: Sequence[OrderLine]) -> list[LineRow]:
    """An order's lines as its bundle tree, depth first."""
    rows: list[LineRow] = []

    def visit(line: OrderLine, depth: int, parent: OrderLine | None) -> None:
        rows.append(LineRow(line, depth, parent))
        for child in line.children:
            visit(child, depth + 1, line)

    for line in lines:
        visit(line, 0, None)
    return rows


def subscription_names(order: Order) -> list[str]:
    """The subscriptions of an order. Its lines do not name them (nue-api.md §3.2): an activated
    order lists those it made versions of as its related assets (§2.1), and a draft change
    order's summary, when Nue sends one, names those it changes."""
    names = {a.name for a in order.assets if SUBSCRIPTION_NAME.fullmatch(a.name)}
    return sorted(names | {c.name for c in order.changes})


def order_changes(nue: CustomerNue, order: Order) -> list[SubscriptionChange]:
    """Each subscription a change order touches: before and after.

    Nue's own summary on the order is used when it sends one. Otherwise an activated order's
    before/after are the versions its activation closed and created, read from the orders'
    related assets; of a draft without one, nothing says which subscriptions it changes.
    """
    if order.changes:
        return list(order.changes)
    if order.status != "Activated":
        return []
    orders = nue.orders(includes=DETAIL_INCLUDES)
    result = []
    for name in subscription_names(order):
        versions = subscription_versions(orders, name)
        mine = next((i for i, v in enumerate(versions) if v.order.id == order.id), None)
        if mine:  # index 0 would mean this order created the subscription: nothing before it
            before, after = versions[mine - 1].snapshot, versions[mine].snapshot
            result.append(
                SubscriptionChange(name, versions[mine].change_types, before, after, None)
            )
    return result


def order_with_approval(nue: CustomerNue, order_id: str) -> tuple[Order, approvals.LatestRead]:
    """The order, and its latest approval request, read from the database while Nue answers;
    the request is for showing only once Nue finds the order among this customer's (a foreign or
    unknown id raises NueNotFound)."""
    approval_read, reads = fetch_alongside(
        partial(approvals.LatestRead.of, order_id),
        order=partial(nue.order, order_id, includes=ORDER_PAGE_INCLUDES),
    )
    return reads["order"], approval_read


def subscription_groups(
    subscriptions: Sequence[Subscription],
) -> list[tuple[Subscription, list[Subscription]]]:
    """Each top-level subscription with its add-ons.

    Grouped under the bundle at the top (rootId, nue-api.md §3.3): an option of an option, such
    as a bundled Connector Runtime under Integration Pack, is listed with the rest.
    """
    children: dict[str, list[Subscription]] = {}
    for s in subscriptions:
        if s.is_add_on and s.root_id is not None:
            children.setdefault(s.root_id, []).append(s)
    return [(s, children.get(s.id, [])) for s in top_level(subscriptions)]


@dataclass(frozen=True)
class Version:
    """One version of a subscription: the order that made it and the terms it set."""

    number: int
    order: Order
    change_types: tuple[str, ...]
    snapshot: SubscriptionSnapshot
    differences: tuple[str, ...]


def _snapshot(asset: Asset, number: int) -> SubscriptionSnapshot:
    return SubscriptionSnapshot(
        version=number,
        product_id=asset.product_id,
        product_name=asset.product_name,
        price_book_entry_id=None,
        quantity=asset.quantity if asset.quantity is not None else Decimal(0),
        start_date=asset.start_date,
        end_date=asset.end_date,
        term=None,
        status=asset.status,
        sales_price=None,
        total_amount=None,
    )


def _differences(before: SubscriptionSnapshot | None, after: SubscriptionSnapshot) -> list[str]:
    if before is None:
        return [_("Created")]
    found = []
    if before.product_name != after.product_name:
        found.append(
            _("Product %(before)s → %(after)s")
            % {"before": before.product_name, "after": after.product_name}
        )
    if before.quantity != after.quantity:
        found.append(
            _("Quantity %(before)s → %(after)s")
            % {"before": f"{before.quantity:g}", "after": f"{after.quantity:g}"}
        )
    if before.end_date != after.end_date and after.end_date is not None:
        found.append(
            _("Ends %(before)s → %(after)s")
            % {"before": _text_day(before.end_date), "after": _text_day(after.end_date)}
        )
    if before.status != after.status:
        found.append(
            _("Status %(before)s → %(after)s") % {"before": before.status, "after": after.status}
        )
    return found or [_("No change to quantity, product or dates")]


def _text_day(value: date | None) -> str:
    return day_text(value) if value else "—"


def subscription_versions(orders: Sequence[Order], name: str) -> list[Version]:
    """The activated orders that created a version of `name`, oldest first."""
    made = []
    for order in orders:
        if order.status != "Activated":
            continue
        asset = next((a for a in order.assets if a.name == name), None)
        if asset is not None:
            made.append((order, asset))
    made.sort(key=lambda pair: (pair[0].activated_date or date.min, pair[0].order_number))
    versions: list[Version] = []
    for number, (order, asset) in enumerate(made, start=1):
        snapshot = _snapshot(asset, number)
        before = versions[-1].snapshot if versions else None
        previous = made[number - 2][1] if number > 1 else None
        types = _change_types(order, asset, previous)
        versions.append(
            Version(number, order, types, snapshot, tuple(_differences(before, snapshot)))
        )
    return versions


def _change_types(order: Order, asset: Asset, previous: Asset | None) -> tuple[str, ...]:
    """What made this version: nothing before it, a new subscription; else the change types of
    the order's lines priced on the subscription's price book entry, before or after (nue-api.md
    §3.2, §3.3: the lines do not name it), unless the order made a version of another
    subscription priced on that entry too. "Change" where no line can be told to be its."""
    if previous is None:
        return ("New",)
    entries = {asset.price_book_entry_id, previous.price_book_entry_id} - {None}
    entries -= {a.price_book_entry_id for a in order.assets if a.name != asset.name}
    types = (
        ln.change_type
        for ln in order.all_lines()
        if ln.change_type and ln.price_book_entry_id in entries
    )
    return tuple(dict.fromkeys(types)) or ("Change",)


@dataclass(frozen=True)
class SubscriptionHistory:
    """What a subscription's page shows beside the subscription itself."""

    versions: list[Version]  # newest first
    pending: list[Order]  # drafts that change it and await someone
    # Change orders awaiting activation of which nothing says which subscriptions they change.
    unplaced: list[Order]
    add_ons: list[Subscription]
    error: NueError | None  # the order history could not be read: no versions, no drafts
    # The order history as read (lines, assets, invoices), for what else the page derives.
    orders: list[Order] = field(default_factory=list)


def subscription_history(nue: CustomerNue, subscription: Subscription) -> SubscriptionHistory:
    """The subscription's versions, its drafts and its add-ons. Its history is read from the
    orders, settled on its own: a failing read of the order history costs that, not the page."""
    reads: dict[str, Any] = fetch_concurrently(
        subscriptions=nue.subscriptions,
        orders=settled(lambda: nue.orders(includes=DETAIL_INCLUDES)),
    )
    error = reads["orders"] if isinstance(reads["orders"], NueError) else None
    orders: list[Order] = [] if error else reads["orders"]
    name = subscription.name
    version_ids = {subscription.id} | {a.id for o in orders for a in o.assets if a.name == name}
    pending, unplaced = drafts_changing(orders, name)
    return SubscriptionHistory(
        versions=list(reversed(subscription_versions(orders, name))),
        pending=pending,
        unplaced=unplaced,
        # A bundle's add-ons at every level by the documented rootId (nue-api.md §3.3). Which
        # add-on an option of an option belongs to, Nue does not document (§3.3 has no parentId).
        add_ons=[
            s
            for s in reads["subscriptions"]
            if s.root_id in version_ids and s.id != subscription.id
        ],
        error=error,
        orders=orders,
    )


def drafts_changing(orders: Sequence[Order], name: str) -> tuple[list[Order], list[Order]]:
    """The drafts awaiting activation that change subscription `name`, and the change orders
    awaiting activation of which nothing says which subscriptions they change.

    A draft's lines do not name its subscriptions (nue-api.md §3.2): Nue's change summary on the
    order names them when Nue sends one, and the request the ledger stored names those of the
    change orders the portal made.
    """
    drafts = approvals.awaiting([o for o in orders if o.is_draft])
    asked = change_orders_asked([o.id for o in drafts if o.order_type == "Change"])
    named = {o.id: {c.name for c in o.changes} | asked.get(o.id, set()) for o in drafts}
    pending = [o for o in drafts if name in named[o.id]]
    unplaced = [o for o in drafts if o.order_type == "Change" and not named[o.id]]
    return pending, unplaced
