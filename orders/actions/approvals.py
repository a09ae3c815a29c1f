"""Approval requests and the account manager's book: the business steps behind issue 8.

A buyer whose draft is above the account's approval threshold (orders.policy) requests approval;
the draft is then locked against edits until an account manager of the customer's book approves
(activates it through the operation ledger), declines, or the requester withdraws. The emails
(portal.notifications) are queued in the transaction of the request or decision they tell, for
the mail worker to send; a problem rendering one is logged, never raised. Quote links are
orders.actions.quotes'.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.actions import settled
from orders.actions.cards import Pay
from orders.fanout import fetch_concurrently
from orders.ledger import change_orders_made
from orders.models import ApprovalRequest, QuoteLink
from orders.nue import (
    ActivationResult,
    NueConflict,
    NueError,
    NueNotFound,
    Order,
    Subscription,
    site_url,
)
from orders.policy import ScheduledChange
from orders.scope import CustomerNue
from orders.stripe_gateway import Card
from orders.templatetags.money import shared_currency
from orders.templatetags.numbers import quantity
from portal.models import CustomerAccount, Membership, NotificationKind, Role, User
from portal.notifications import notify

logger = logging.getLogger("orders.approvals")

RECENT_DECISIONS = 5
CENT = Decimal("0.01")


class DraftLocked(NueConflict):
    """The draft awaits an approval decision: nothing may change it until then.

    A conflict (409) like any other wrong-state action, so a view may simply let it propagate
    (orders.middleware renders it) or put it on its form.
    """


class AlreadyDecided(NueConflict):
    """Someone else decided (or the requester withdrew) this request in the meantime."""


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(CENT))


def figures_of(order: Order) -> dict[str, Any]:
    """What a decision is about: totals, ACV, TCV and a summary of every line, in the order's
    currency (JSON-safe)."""
    return {
        "currency": order.currency,
        "grand_total": _amount(order.total),
        "acv": _amount(order.order_acv),
        "tcv": _amount(order.order_tcv),
        "lines": [
            {
                "product": line.product_name,
                "quantity": quantity(line.quantity),
                "total": _amount(line.total_price),
            }
            for line in order.all_lines()
        ],
    }


FIGURE_LABELS = {
    "grand_total": gettext_lazy("Total"),
    "acv": gettext_lazy("ACV"),
    "tcv": gettext_lazy("TCV"),
    "lines": gettext_lazy("Lines"),
}


def fingerprint(figures: dict[str, Any]) -> str:
    """A short hash of a draft's figures: what the approving person was shown."""
    canonical = json.dumps(figures, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def fingerprint_of(order: Order) -> str:
    """The fingerprint of the order's figures now."""
    return fingerprint(figures_of(order))


def changed_figures(before: dict[str, Any], order: Order) -> list[str]:
    """The labels of the figures that differ between a snapshot and the order now ([] if none)."""
    now = figures_of(order)
    return [str(label) for key, label in FIGURE_LABELS.items() if before.get(key) != now.get(key)]


def is_locked(order_id: str, read: object = None) -> bool:
    """True while an approval request for this draft is pending (`read`: as in latest_for)."""
    if read is not None:  # a pending request is always the draft's latest
        latest = latest_for(order_id, read)
        return latest is not None and latest.is_pending
    return ApprovalRequest.objects.filter(
        order_id=order_id, state=ApprovalRequest.State.PENDING
    ).exists()


def refuse_if_locked(order_id: str) -> None:
    """Raise DraftLocked (a 409) if the draft awaits approval; call it before changing a draft."""
    if is_locked(order_id):
        raise DraftLocked(
            _(
                "This draft is awaiting approval and cannot be changed until it is approved,"
                " declined or the request is withdrawn."
            )
        )


def kept(order_ids: Iterable[str]) -> set[str]:
    """The drafts among `order_ids` someone chose to keep: shared as a quote, or sent for
    approval (and not withdrawn)."""
    ids = list(order_ids)
    # One query (a UNION of unordered halves): the dashboard asks it on every visit.
    quoted = QuoteLink.objects.filter(order_id__in=ids).order_by().values_list("order_id")
    asked = (
        ApprovalRequest.objects.filter(order_id__in=ids, state=ApprovalRequest.State.PENDING)
        .order_by()
        .values_list("order_id")
    )
    return {order_id for (order_id,) in quoted.union(asked)}


def awaiting(drafts: Sequence[Order]) -> list[Order]:
    """The drafts that await someone. The portal makes a change order when its customer goes on
    to confirm it (issue 20, item 5): one walked away from there awaits nobody unless someone
    kept it. Every other draft does: new orders made with "Create draft", and change orders
    made in Nue by the vendor's people."""
    changes = [o.id for o in drafts if o.order_type == "Change"]
    if not changes:
        return list(drafts)
    walked_away = change_orders_made(changes) - kept(changes)
    return [o for o in drafts if o.id not in walked_away]


def pending_for(order_id: str) -> ApprovalRequest | None:
    return (
        ApprovalRequest.objects.select_related("requested_by")
        .filter(order_id=order_id, state=ApprovalRequest.State.PENDING)
        .first()
    )


def latest_for(order_id: str, read: object = None) -> ApprovalRequest | None:
    """The draft's latest request; `read`, the view's LatestRead of this order, saves the query."""
    if isinstance(read, LatestRead) and read.order_id == order_id:
        return read.request
    return (
        ApprovalRequest.objects.select_related("requested_by", "requested_via", "decided_by")
        .filter(order_id=order_id)
        .order_by("-requested_at", "-pk")
        .first()
    )


@dataclass(frozen=True)
class LatestRead:
    """`latest_for(order_id)` read ahead, while Nue reads the order, for its approval panel.

    None is an answer ("no request yet"), so the read carries its order id rather than being
    passed as a bare value that could not tell "none" from "not read".
    """

    order_id: str
    request: ApprovalRequest | None

    @classmethod
    def of(cls, order_id: str) -> LatestRead:
        return cls(order_id, latest_for(order_id))


@dataclass(frozen=True)
class CustomerApprovals:
    pending: list[ApprovalRequest]
    decided: list[ApprovalRequest]


def for_customer(account: CustomerAccount) -> CustomerApprovals:
    """The acting customer's pending requests (oldest first) and latest decisions."""
    pending = Q(state=ApprovalRequest.State.PENDING)
    mine = ApprovalRequest.objects.filter(customer=account)
    recent = mine.exclude(pending).order_by("-decided_at", "-pk")[:RECENT_DECISIONS]
    # One query, as the dashboard reads it on every visit: the pending ones and the recent
    # decisions' ids (a subquery), split here.
    both = list(
        mine.select_related("requested_by", "decided_by")
        .filter(pending | Q(pk__in=recent.values("pk")))
        .order_by("requested_at", "pk")
    )
    decided = [r for r in both if not r.is_pending]
    decided.sort(key=lambda r: (r.decided_at or r.requested_at, r.pk), reverse=True)
    return CustomerApprovals(pending=[r for r in both if r.is_pending], decided=decided)


def pending_in_book(manager: User) -> QuerySet[ApprovalRequest]:
    """Pending requests of every customer in the manager's book, oldest first."""
    return ApprovalRequest.objects.select_related(
        "customer", "requested_by", "requested_via"
    ).filter(customer__managers=manager, state=ApprovalRequest.State.PENDING)


def request_approval(
    account: CustomerAccount,
    order: Order,
    *,
    requester: User,
    comment: str,
    agent: User | None = None,
    po_number: str = "",
    po_date: date | None = None,
    card: Card | None = None,
) -> ApprovalRequest:
    """Record the request with the draft's figures, lock the draft, and tell the managers.

    `agent`: the support agent impersonating `requester`, whom the record and the mail name too.
    `card`: the card on file the requester chose to be charged (None: pay by invoice), which
    the approval activates with and nothing else.
    """
    if not order.is_draft:
        raise NueConflict(_("Only a draft can be sent for approval."))
    try:
        with transaction.atomic():
            approval = ApprovalRequest.objects.create(
                customer=account,
                order_id=order.id,
                order_number=order.order_number,
                order_name=(order.name or "")[:255],
                requested_by=requester,
                requested_via=agent,
                comment=comment,
                po_number=po_number,
                po_date=po_date,
                consented_at=timezone.now(),
                **_payment(card),
                figures=figures_of(order),
            )
            notify_approvers(approval)
    except IntegrityError:
        raise DraftLocked(_("Approval for this draft has already been requested.")) from None
    return approval


def _payment(card: Card | None) -> dict[str, str]:
    if card is None:
        return {"pay": Pay.INVOICE, "card_payment_method_id": "", "card_label": ""}
    return {"pay": Pay.CARD, "card_payment_method_id": card.id, "card_label": card.label}


def _decide(
    approval: ApprovalRequest,
    state: ApprovalRequest.State,
    *,
    by: User,
    via: User | None = None,
    comment: str = "",
    operation_id: int | None = None,
) -> ApprovalRequest:
    """Move a pending request to `state` once; a second decision finds it decided and fails."""
    now = timezone.now()
    with transaction.atomic():
        updated = ApprovalRequest.objects.filter(
            pk=approval.pk, state=ApprovalRequest.State.PENDING
        ).update(
            state=state,
            decided_by=by,
            decided_via=via,
            decided_at=now,
            decision_comment=comment,
            operation_id=operation_id,
        )
        if not updated:
            raise AlreadyDecided(_("This request has already been decided or withdrawn."))
        approval.refresh_from_db()
        if state != ApprovalRequest.State.WITHDRAWN:
            notify_requester(approval)
    return approval


def requester_membership(approval: ApprovalRequest) -> Membership | None:
    """The requester's membership of the request's customer now (None once it is removed)."""
    return (
        Membership.objects.select_related("account")
        .filter(user=approval.requested_by, account=approval.customer)
        .first()
    )


def approve(
    approval: ApprovalRequest,
    activate: Callable[[], ActivationResult | None],
    *,
    manager: User,
) -> ActivationResult | None:
    """Activate the draft (`activate`: orders.actions.activation's one path, as the manager),
    then mark the request approved.

    The activation comes first: if Nue or the policy refuses, the request stays pending. If
    another manager's approval already activated it, the ledger replays that result (or the
    order is found activated: None) and this one is refused.
    """
    if not approval.is_pending:
        raise AlreadyDecided(_("This request has already been decided or withdrawn."))
    result = activate()
    operation_id = result.operation_id if result is not None else None
    try:
        _decide(
            approval,
            ApprovalRequest.State.APPROVED,
            by=manager,
            operation_id=operation_id,
        )
    except AlreadyDecided:
        if result is None or result.replayed:
            # Another approval (a double click, a second manager) activated it and decided.
            return result
        # The requester withdrew while Nue was activating: the order is active, so say so.
        with transaction.atomic():
            ApprovalRequest.objects.filter(pk=approval.pk).update(
                state=ApprovalRequest.State.APPROVED,
                decided_by=manager,
                decided_at=timezone.now(),
                operation_id=operation_id,
            )
            approval.refresh_from_db()
            notify_requester(approval)
    return result


def follow_repriced(approval: ApprovalRequest, order: Order, *, by: User) -> ApprovalRequest:
    """The request moves to its expired draft's re-priced copy: withdrawn here with a note,
    pending on `order` for the same requester and comment, with the new figures."""
    with transaction.atomic():
        _decide(
            approval,
            ApprovalRequest.State.WITHDRAWN,
            by=by,
            comment=f"Expired; re-priced from today as {order.order_number}.",
        )
        return ApprovalRequest.objects.create(
            customer=approval.customer,
            order_id=order.id,
            order_number=order.order_number,
            order_name=(order.name or "")[:255],
            requested_by=approval.requested_by,
            comment=approval.comment,
            po_number=approval.po_number,
            po_date=approval.po_date,
            consented_at=approval.consented_at,
            pay=approval.pay,
            card_payment_method_id=approval.card_payment_method_id,
            card_label=approval.card_label,
            figures=figures_of(order),
        )


def decline(approval: ApprovalRequest, *, manager: User, comment: str) -> ApprovalRequest:
    return _decide(approval, ApprovalRequest.State.DECLINED, by=manager, comment=comment)


def withdraw(approval: ApprovalRequest, *, by: User, via: User | None = None) -> ApprovalRequest:
    """The requester (or an admin of the account) takes the request back; the draft unlocks.

    `via`: the support agent impersonating `by`."""
    return _decide(approval, ApprovalRequest.State.WITHDRAWN, by=by, via=via)


RENEWAL_WINDOWS = (30, 60, 90)


def book_of(user: User) -> QuerySet[CustomerAccount]:
    """The customers in an account manager's book, by name (none for anyone but staff)."""
    if not user.is_staff:
        return CustomerAccount.objects.none()
    return user.book.order_by("name")


def request_in_book(user: User, pk: int) -> ApprovalRequest | None:
    """Approval request `pk` if its customer is in `user`'s book."""
    return (
        ApprovalRequest.objects.select_related(
            "customer", "requested_by", "requested_via", "decided_by"
        )
        .filter(pk=pk, customer__in=book_of(user))
        .first()
    )


def draft_of(approval: ApprovalRequest) -> tuple[CustomerNue, Order | None]:
    """The request's draft re-read from Nue (re-priced), through its customer's scope; None when
    Nue no longer has it."""
    nue = CustomerNue(approval.customer)
    try:
        return nue, nue.order(approval.order_id, status="draft")
    except NueNotFound:
        return nue, None


@dataclass
class BookRow:
    """One customer of the book, as /review/ lists it: `failure` when reading it from Nue failed
    (that customer's row says so; the rest of the book is shown), with `error` the words the
    page says it in."""

    account: CustomerAccount
    arr: Decimal = Decimal(0)
    # Of the ARR and the approval limit: the customer's subscriptions' (a customer is billed in
    # one currency; None where they name none or several).
    currency: str | None = None
    renewals: dict[int, int] = field(default_factory=dict)
    # The active subscriptions that end within the longest renewal window, soonest first.
    renewing: list[Subscription] = field(default_factory=list)
    # The cancellations scheduled for its subscriptions, soonest first: no renewal, but a call.
    cancelling: list[ScheduledChange] = field(default_factory=list)
    drafts: list[Order] = field(default_factory=list)
    change_orders: list[Order] = field(default_factory=list)
    pending: list[ApprovalRequest] = field(default_factory=list)
    awaiting: set[str] = field(default_factory=set)  # order ids with a pending request
    failure: NueError | None = None
    error: str = ""

    @property
    def reference(self) -> str | None:
        return self.failure.reference if self.failure is not None else None


@dataclass(frozen=True)
class Book:
    rows: list[BookRow]
    pending: list[ApprovalRequest]  # every pending request of the book, oldest first


def book(manager: User, accounts: Sequence[CustomerAccount], today: date) -> Book:
    """The manager's book: each customer's ARR, renewals due, open drafts and change orders, and
    the pending requests. The customers are read from Nue at once, each settled on its own: one
    customer's failing read costs that customer's row."""
    scopes = {a.pk: CustomerNue(a) for a in accounts}
    calls: dict[str, Callable[[], Any]] = {}
    for pk, nue in scopes.items():
        calls[f"subscriptions_{pk}"] = settled(nue.subscriptions)
        calls[f"drafts_{pk}"] = settled(partial(nue.orders, status="draft"))
    results = fetch_concurrently(**calls)
    shown = set(scopes)
    pending = [p for p in pending_in_book(manager) if p.customer_id in shown]
    rows = [
        _book_row(
            a,
            results[f"subscriptions_{a.pk}"],
            results[f"drafts_{a.pk}"],
            [p for p in pending if p.customer_id == a.pk],
            today,
        )
        for a in accounts
    ]
    return Book(rows, pending)


def _book_row(
    account: CustomerAccount,
    subscriptions: list[Subscription] | NueError,
    drafts: list[Order] | NueError,
    pending: list[ApprovalRequest],
    today: date,
) -> BookRow:
    row = BookRow(account=account, pending=pending)
    if isinstance(subscriptions, NueError):
        row.failure = subscriptions
        return row
    if isinstance(drafts, NueError):
        row.failure = drafts
        return row
    active = [s for s in subscriptions if not s.is_add_on and s.status == "Active"]
    row.arr = sum((s.total_acv or Decimal(0) for s in active), Decimal(0))
    row.currency = shared_currency([*(s.currency for s in active), *(o.currency for o in drafts)])
    # A subscription scheduled to cancel ends on its last day: it is not a renewal due.
    ending = [
        s for s in active if s.end_date is not None and not s.evergreen and s.cancels_on is None
    ]
    ends = [s.end_date for s in ending if s.end_date is not None]
    row.renewals = {
        days: sum(1 for end in ends if today <= end <= today + timedelta(days=days))
        for days in RENEWAL_WINDOWS
    }
    horizon = today + timedelta(days=max(RENEWAL_WINDOWS))
    row.renewing = sorted(
        (s for s in ending if s.end_date is not None and today <= s.end_date <= horizon),
        key=lambda s: (s.end_date, s.name),
    )
    row.cancelling = sorted(
        (c for s in active if (c := ScheduledChange.cancellation(s, today)) is not None),
        key=lambda c: (c.last_day, c.name),
    )
    row.awaiting = {p.order_id for p in pending}
    row.change_orders = [o for o in awaiting(drafts) if o.order_type == "Change"]
    row.drafts = [o for o in drafts if o.order_type != "Change"]
    return row


def notify_approvers(approval: ApprovalRequest) -> None:
    """Ask the approvers to decide (essential for them): the customer's account managers, on
    their review page, and the account's admins (orders.policy.can_decide_approvals), on the
    draft's page."""
    customer = approval.customer
    context = {"approval": approval, "site_url": site_url("")}
    managers = list(customer.managers.filter(is_active=True))
    review = site_url(reverse("orders:review_request", args=[approval.pk]))
    notify(NotificationKind.APPROVAL_REQUESTED, customer, {**context, "link": review}, managers)
    admins = [
        m.user
        for m in customer.memberships.select_related("user").filter(role=Role.ADMIN)
        if m.user_id != approval.requested_by_id and m.user not in managers
    ]
    draft = site_url(reverse("orders:order_detail", args=[approval.order_id]))
    notify(NotificationKind.APPROVAL_REQUESTED, customer, {**context, "link": draft}, admins)


def notify_requester(approval: ApprovalRequest) -> None:
    context = {
        "approval": approval,
        "approved": approval.state == ApprovalRequest.State.APPROVED,
        "link": site_url(reverse("orders:order_detail", args=[approval.order_id])),
        "site_url": site_url(""),
    }
    notify(NotificationKind.APPROVAL_DECIDED, approval.customer, context, [approval.requested_by])
