"""The support workspace: the operations whose outcome is open or failed and checking one with
Nue, and one customer's timeline. Who sees which customer is orders.policy's (support_reach).

Checking an operation is the operation ledger's own settling (orders.ledger.Ledger.resolve, as
`manage.py reconcile_operations` runs it): it reads Nue and never sends anything again.

A timeline reads the customer's orders from Nue through that customer's scope, as an account
manager's review does for a customer of the book: the scope is bound to the one account the
policy let through, every order Nue returns is checked to be that customer's, and it only reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from heapq import merge
from itertools import islice
from typing import Any, overload

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.ledger import NUE_SETTLES_WITHIN
from orders.models import ApprovalRequest, Operation, RequestFailure
from orders.nue import NueError, Order
from orders.scope import CustomerNue
from portal.models import AuditEvent, AuditKind, CustomerAccount, User

# Operations needing a look: open ones (their outcome unknown, or in flight) and failed ones. A
# hold only stands beside an activation: an open one is listed, a released one is not news.
ATTENTION = {
    "open": Q(state__in=Operation.OPEN_STATES),
    "failed": Q(state=Operation.State.FAILED) & ~Q(kind=Operation.Kind.HOLD),
}


def operations_needing_attention(
    operations: QuerySet[Operation], *, customer: CustomerAccount | None = None, state: str = ""
) -> QuerySet[Operation]:
    """`operations` (those within the agent's reach) that are open or failed, newest first;
    `state` "open" or "failed" narrows them, `customer` keeps one customer's."""
    wanted = ATTENTION[state] if state in ATTENTION else ATTENTION["open"] | ATTENTION["failed"]
    found = operations.filter(wanted)
    if customer is not None:
        found = found.filter(customer=customer)
    return found.select_related("customer", "actor", "on_behalf_of").order_by("-created_at", "-pk")


@dataclass(frozen=True)
class Check:
    """What checking an operation with Nue found: its state before and after, in words."""

    operation: Operation
    before: str
    text: str
    error: NueError | None = None

    @property
    def settled(self) -> bool:
        return self.before != self.operation.state


def check_operation(operation: Operation) -> Check:
    """Have the ledger read Nue for an open `operation` and settle it if Nue shows how it ended.

    Never sends the operation's request again: Ledger.resolve only reads, and settles as not done
    only once Nue still shows it not done NUE_SETTLES_WITHIN after it was sent.
    """
    before = operation.state
    if not operation.is_open:
        return Check(
            operation,
            before,
            _("Already settled: %(state)s.") % {"state": operation.get_state_display()},
        )
    try:
        resolved = CustomerNue(operation.customer).ledger.resolve(operation)
    except NueError as error:
        return Check(operation, before, _("Nue could not be read just now."), error)
    if resolved.state == Operation.State.SUCCEEDED:
        text = _("Nue shows it done: settled as succeeded.")
    elif resolved.state == Operation.State.FAILED:
        text = (
            _("Nue shows it not done: settled as failed. %(error)s") % {"error": resolved.error}
        ).strip()
    else:
        settles = (resolved.sent_at or resolved.created_at) + NUE_SETTLES_WITHIN
        text = _(
            "Nue does not show it done yet; nothing was sent again. It settles as failed if Nue"
            " still shows it not done after %(moment)s."
        ) % {"moment": f"{timezone.localtime(settles):%d %b %Y, %H:%M}"}
    return Check(resolved, before, text)


# The timeline ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One thing that happened to a customer. `day_only`: Nue gave a date without a time; it
    sorts first within its day. `item` is the record it is (an order, an approval request, an
    audit event, a failure), for the page to show."""

    at: datetime
    kind: str
    title: str
    item: Any = field(compare=False)
    day_only: bool = False


def _end_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.max))


def _order_entry(order: Order) -> Entry | None:
    day = order.activated_date or order.created_date or order.order_placed_date
    if day is None:
        return None
    change = order.order_type == "Change"
    titles = CHANGE_ORDER_TITLES if change else ORDER_TITLES
    words = {"number": order.order_number, "status": order.status.lower()}
    title = titles.get(order.status, titles[""]) % words
    return Entry(_end_of(day), "change" if change else "order", title, order, day_only=True)


# Whole sentences per status, so that each language words them as it needs; "" for any other.
ORDER_TITLES = {
    "Activated": gettext_lazy("Order %(number)s activated"),
    "Canceled": gettext_lazy("Order %(number)s canceled"),
    "Draft": gettext_lazy("Order %(number)s drafted"),
    "": gettext_lazy("Order %(number)s %(status)s"),
}
CHANGE_ORDER_TITLES = {
    "Activated": gettext_lazy("Change order %(number)s activated"),
    "Canceled": gettext_lazy("Change order %(number)s canceled"),
    "Draft": gettext_lazy("Change order %(number)s drafted"),
    "": gettext_lazy("Change order %(number)s %(status)s"),
}


@dataclass(frozen=True)
class _Source:
    """Timeline entries kept in the portal's database, newest first."""

    rows: QuerySet[Any]
    entry: Callable[[Any], Entry]

    def newest(self, count: int) -> Iterator[Entry]:
        return (self.entry(row) for row in self.rows[:count])


def _requested(approval: ApprovalRequest) -> Entry:
    title = _("Approval of %(number)s requested") % {"number": approval.order_number}
    return Entry(approval.requested_at, "approval", title, approval)


def _decided(approval: ApprovalRequest) -> Entry:
    assert approval.decided_at is not None
    title = _("Approval of %(number)s: %(state)s") % {
        "number": approval.order_number,
        "state": approval.get_state_display().lower(),
    }
    return Entry(approval.decided_at, "approval", title, approval)


def _support(event: AuditEvent) -> Entry:
    who = event.on_behalf_of_email or _("a customer user")
    title = _("Support session: %(agent)s as %(who)s") % {"agent": event.actor_email, "who": who}
    return Entry(event.created_at, "support", title, event)


def _sign_in(event: AuditEvent) -> Entry:
    title = _("%(email)s signed in") % {"email": event.actor_email}
    return Entry(event.created_at, "sign-in", title, event)


def _failure(failure: RequestFailure) -> Entry:
    title = _("%(title)s (%(status)s) on %(method)s %(path)s") % {
        "title": failure.title,
        "status": failure.status,
        "method": failure.method,
        "path": failure.path,
    }
    return Entry(failure.created_at, "failure", title, failure)


class Timeline(Sequence[Entry]):
    """A customer's orders and change orders (from Nue), approval requests and decisions,
    support sessions, its members' sign-ins and the failures its users were shown, newest first.

    A Sequence for Django's Paginator: a page asks for its slice, and each of the portal's own
    sources is read only as far as that slice reaches, then merged with Nue's orders.
    """

    def __init__(self, account: CustomerAccount, orders: Sequence[Order]) -> None:
        entries = (_order_entry(order) for order in orders)
        self.from_nue = sorted((e for e in entries if e is not None), key=_newest_first)
        self.undated = len(orders) - len(self.from_nue)
        members = User.objects.filter(memberships__account=account)
        approvals = ApprovalRequest.objects.filter(customer=account).select_related(
            "requested_by", "decided_by"
        )
        events = AuditEvent.objects.select_related("actor", "on_behalf_of")
        self.sources = (
            _Source(approvals.order_by("-requested_at", "-pk"), _requested),
            _Source(
                approvals.filter(decided_at__isnull=False).order_by("-decided_at", "-pk"), _decided
            ),
            _Source(
                events.filter(customer=account, kind=AuditKind.IMPERSONATION_STARTED), _support
            ),
            # Sign-ins name no customer (one is chosen after): the members' are this customer's.
            _Source(events.filter(kind=AuditKind.SIGN_IN, actor__in=members), _sign_in),
            _Source(RequestFailure.objects.filter(customer=account), _failure),
        )
        self._count: int | None = None

    def __len__(self) -> int:
        if self._count is None:
            self._count = len(self.from_nue) + sum(s.rows.count() for s in self.sources)
        return self._count

    @overload
    def __getitem__(self, index: int) -> Entry: ...

    @overload
    def __getitem__(self, index: slice) -> list[Entry]: ...

    def __getitem__(self, index: int | slice) -> Entry | list[Entry]:
        if isinstance(index, int):
            return self[index : index + 1][0]
        start, stop, _ = index.indices(len(self))
        streams = [iter(self.from_nue), *(s.newest(stop) for s in self.sources)]
        merged = merge(*streams, key=_newest_first)
        return list(islice(merged, start, stop))


def _newest_first(entry: Entry) -> tuple[float, int]:
    # Within one moment, Nue's day-only entries first (they stand for the whole day).
    return (-entry.at.timestamp(), 0 if entry.day_only else 1)


@dataclass(frozen=True)
class CustomerHistory:
    """A customer's timeline, and the Nue failure that kept its orders out of it, if any."""

    timeline: Timeline
    error: NueError | None


def customer_history(account: CustomerAccount) -> CustomerHistory:
    """Read `account`'s orders from Nue (headers only) and build its timeline; when Nue cannot be
    read, the timeline holds the portal's own records and says so."""
    try:
        orders: Sequence[Order] = CustomerNue(account).orders()
    except NueError as error:
        return CustomerHistory(Timeline(account, ()), error)
    return CustomerHistory(Timeline(account, orders), None)
