"""Who may do what with a customer's orders, by membership role and amount (design.md §2).

viewer: reads only. buyer: drafts and previews; activates within their approval limit,
counting what they activated in the last 24 hours, and beyond it must request approval. A
buyer's approval limit is the spending limit an admin set for them (Membership.spending_limit),
which replaces the account's approval threshold for that buyer, above or below it; without one,
the account's threshold. admin: activates any amount, cancels subscriptions, manages the team.

Activating a draft is one decision, `decide`, whatever route reaches it (the wizard's confirm,
the draft page, an account manager's approval, a quote link's acceptance): it reads what the
draft is from the order as Nue documents it (`DraftFacts.of`), never from what the portal
remembers of its preview, because a draft can be opened without that preview.

A quote link's recipient is signed in as nobody: the link is their credential, and accepting it
carries the authority of the person who made the link (`quote_authority`), which `decide` then
weighs like any other member's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from orders.kinds import KINDS, KINDS_BY_CHANGE_TYPE
from orders.models import Operation, RequestFailure
from orders.templatetags.dates import day_text
from orders.templatetags.money import money as money_text
from orders.templatetags.numbers import quantity as quantity_text
from portal.impersonation import accounts_in_reach, may_use_support
from portal.models import AuditKind, CustomerAccount, Membership, Role, User

if TYPE_CHECKING:
    from orders.nue import Order, Subscription


class Decision(StrEnum):
    ACTIVATE = "activate"
    REQUEST_APPROVAL = "request_approval"
    FORBIDDEN = "forbidden"
    EXPIRED = "expired"
    # A change already scheduled for a subscription of the draft leaves no room for it.
    SCHEDULED = "scheduled"


class DraftKind(StrEnum):
    """What activating a draft does, as the order says (orderType, its lines' change types)."""

    NEW_ORDER = "new order"
    CHANGE = "change"
    CANCELLATION = "cancellation"
    RENEWAL = "renewal"
    BASKET = "basket"  # one change order changing several subscriptions


# The audit trail names each kind the same way whichever route activated it.
AUDIT_KINDS = {
    DraftKind.NEW_ORDER: AuditKind.ACTIVATION,
    DraftKind.CHANGE: AuditKind.CHANGE_ORDER,
    DraftKind.RENEWAL: AuditKind.CHANGE_ORDER,
    DraftKind.BASKET: AuditKind.CHANGE_ORDER,
    DraftKind.CANCELLATION: AuditKind.CANCELLATION,
}


@dataclass(frozen=True)
class DraftFacts:
    """What a draft is, read from Nue's order: its kind, total, start and what it changes."""

    kind: DraftKind
    amount: Decimal
    start: date | None
    subscriptions: tuple[str, ...]
    change_types: tuple[str, ...]
    # Each subscription it changes with its change types, where Nue's change summary says so.
    changed: tuple[tuple[str, tuple[str, ...]], ...] = ()
    currency: str | None = None  # of `amount`, as Nue names the order's

    @property
    def cancels(self) -> bool:
        """Any subscription of it ends (a basket may hold a cancellation among other changes)."""
        return "Cancel" in self.change_types

    @property
    def audit_kind(self) -> AuditKind:
        return AuditKind.CANCELLATION if self.cancels else AUDIT_KINDS[self.kind]

    @classmethod
    def of(cls, order: Order) -> DraftFacts:
        lines = list(order.all_lines())
        types = [t for change in order.changes for t in change.change_types]
        types += [line.change_type for line in lines if line.change_type]
        change_types = tuple(dict.fromkeys(types))
        # Nue's lines do not name the subscription they change (nue-api.md §3.2): which ones a
        # draft changes is known from its change summary when Nue sends one.
        subscriptions = tuple(dict.fromkeys(change.name for change in order.changes))
        is_change = (order.order_type or "").lower() == "change" or bool(change_types)
        if not is_change:
            kind = DraftKind.NEW_ORDER
        elif len(subscriptions) > 1:
            kind = DraftKind.BASKET
        elif "Cancel" in change_types:
            kind = DraftKind.CANCELLATION
        elif "Renew" in change_types:
            kind = DraftKind.RENEWAL
        else:
            kind = DraftKind.CHANGE
        changed = tuple((change.name, change.change_types) for change in order.changes)
        return cls(
            kind,
            order.total,
            order.start_date,
            subscriptions,
            change_types,
            changed,
            order.currency,
        )


class ScheduledKind(StrEnum):
    CANCEL = "cancel"
    QUANTITY = "quantity"
    PRODUCT = "product"


@dataclass(frozen=True)
class ScheduledChange:
    """A change of a subscription that Nue has activated but that takes effect later: a
    cancellation whose cancellationDate is still ahead, or a change of quantity or product from
    a future startDate. orders.actions.scheduled derives it from Nue's records; `last_day` is
    the last day on the terms the subscription has until then."""

    name: str
    kind: ScheduledKind
    last_day: date
    quantity: Decimal | None = None  # the quantity from then on, where it changes
    quantity_before: Decimal | None = None
    product_name: str | None = None  # the product from then on, where it changes
    order_id: str | None = None  # the change order that scheduled it, where Nue says which
    order_number: str | None = None

    @classmethod
    def cancellation(
        cls, subscription: Subscription, today: date, order: Order | None = None
    ) -> ScheduledChange | None:
        """The subscription's cancellation if its last day (Subscription.cancels_on: Cancel
        "ends the subscription on that date", nue-api.md §2.2) is `today` or later; `order`, the
        change order that scheduled it, where it is known."""
        last_day = subscription.cancels_on
        if last_day is None or last_day < today:
            return None
        return cls(
            subscription.name,
            ScheduledKind.CANCEL,
            last_day,
            order_id=order.id if order else None,
            order_number=order.order_number if order else None,
        )

    @property
    def cancels(self) -> bool:
        return self.kind == ScheduledKind.CANCEL

    @property
    def effective(self) -> date:
        """The first day of what is scheduled (for a cancellation, the first day without it)."""
        return self.last_day + timedelta(days=1)

    @property
    def text(self) -> str:
        """What every page says of it: "Active until 5 Jul 2027, then cancels", "…, then drops
        to 5 seats", "…, then moves to Basic". Whole sentences, for translation."""
        until = day_text(self.last_day)
        if self.cancels:
            return _("Active until %(day)s, then cancels") % {"day": until}
        count = self.quantity
        seats = quantity_text(count) if count is not None else ""
        # ngettext's count: 1 for exactly one seat, else a plural form (2 also for fractions).
        number = 1 if count == 1 else 2
        if self.kind == ScheduledKind.PRODUCT:
            if count is None:
                return _("Active until %(day)s, then moves to %(product)s") % {
                    "day": until,
                    "product": self.product_name,
                }
            return ngettext(
                "Active until %(day)s, then moves to %(product)s with %(seats)s seat",
                "Active until %(day)s, then moves to %(product)s with %(seats)s seats",
                number,
            ) % {"day": until, "product": self.product_name, "seats": seats}
        before, after = self.quantity_before, self.quantity
        if before is not None and after is not None and after > before:
            return ngettext(
                "Active until %(day)s, then rises to %(seats)s seat",
                "Active until %(day)s, then rises to %(seats)s seats",
                number,
            ) % {"day": until, "seats": seats}
        return ngettext(
            "Active until %(day)s, then drops to %(seats)s seat",
            "Active until %(day)s, then drops to %(seats)s seats",
            number,
        ) % {"day": until, "seats": seats}


# Once a change of seats or plan is scheduled, the end date may still move (extend, renew) and
# the subscription may still end (cancel): neither touches what changes. Another change of seats
# or plan would be computed against terms that change before it takes effect, so it is not
# offered until the scheduled one has.
KEPT_AFTER_SCHEDULED_CHANGE = frozenset({"term", "renew", "cancel"})


def schedule_refusal(change: ScheduledChange | None, slug: str) -> str:
    """Why a change of kind `slug` (orders.kinds) is refused while `change` is scheduled for the
    subscription; "" when it is not. Seeing the subscription and its invoices is never refused.

    A scheduled cancellation refuses every change, renewing included: Nue documents no way to
    withdraw it (nue-api.md §2.2's change types, §2.7's PATCH of autoRenew and custom fields),
    so nothing the portal could send would keep the subscription past its last day.
    """
    if change is None:
        return ""
    until = day_text(change.last_day)
    if change.cancels:
        if slug == "cancel":
            return _("A cancellation is scheduled already: it is active until %(day)s.") % {
                "day": until
            }
        if slug == "renew":
            return _("A cancellation is scheduled: it ends on %(day)s and does not renew.") % {
                "day": until
            }
        return _("A cancellation is scheduled: it ends on %(day)s, so it cannot be changed.") % {
            "day": until
        }
    if slug in KEPT_AFTER_SCHEDULED_CHANGE:
        return ""
    return _(
        "A change is scheduled (%(change)s): another change of seats or plan before then "
        "would overlap it."
    ) % {"change": change.text}


def schedule_kept(change: ScheduledChange) -> tuple[list[str], list[str]]:
    """The change kinds a scheduled change leaves possible and those it refuses, by label."""
    kept = [k.label for k in KINDS if not schedule_refusal(change, k.slug)]
    refused = [k.label for k in KINDS if schedule_refusal(change, k.slug)]
    return kept, refused


def draft_schedule_refusal(
    changed: Sequence[tuple[str, Sequence[str]]], scheduled: Mapping[str, ScheduledChange]
) -> str:
    """Why a draft changing these subscriptions (name, Nue's change types) may not be activated
    while changes are scheduled for them; "" when it may. A change type the wizard does not
    offer (orders.kinds) is refused whenever anything is scheduled for its subscription."""
    for name, types in changed:
        change = scheduled.get(name)
        if change is None:
            continue
        for change_type in types:
            kind = KINDS_BY_CHANGE_TYPE.get(change_type)
            refusal = (
                schedule_refusal(change, kind.slug)
                if kind is not None
                else _("A change is scheduled: %(change)s.") % {"change": change.text}
            )
            if refusal:
                return _("%(subscription)s: %(reason)s") % {"subscription": name, "reason": refusal}
    return ""


@dataclass(frozen=True)
class Verdict:
    """`decide`'s answer: what pressing "activate" does, and why not when it does not."""

    decision: Decision
    reason: str
    facts: DraftFacts

    @property
    def activates(self) -> bool:
        return self.decision == Decision.ACTIVATE


def can_prepare(membership: Membership | None) -> bool:
    """Create and preview drafts (new orders and change orders)."""
    return membership is not None and membership.can_buy


def can_see_billing(membership: Membership | None) -> bool:
    """The billing page: who is billed and shipped to is every member's to read."""
    return membership is not None


def can_add_contact(membership: Membership | None) -> bool:
    """Add a bill-to or ship-to contact in Nue: who is billed is the admins' to decide."""
    return membership is not None and membership.is_admin


def can_pay_invoices(membership: Membership | None) -> bool:
    """Follow Nue's payment page for an open invoice: money leaves the account, so not a
    viewer's (who still sees how the invoice is paid)."""
    return membership is not None and membership.can_buy


def can_cancel(membership: Membership | None) -> bool:
    return membership is not None and membership.is_admin


def can_manage_card(membership: Membership | None) -> bool:
    """Add or replace the card on file Nue charges: admins, and buyers where the account's
    policy lets them (CustomerAccount.buyers_manage_cards); viewers only see it."""
    if membership is None:
        return False
    if membership.role == Role.ADMIN:
        return True
    return membership.role == Role.BUYER and membership.account.buyers_manage_cards


def can_set_card_policy(membership: Membership | None) -> bool:
    """Decide whether the account's buyers may replace the card (buyers_manage_cards): who may
    change what Nue charges is the admins' to decide."""
    return membership is not None and membership.is_admin


def can_charge_card(membership: Membership | None) -> bool:
    """Choose the card on file for what they activate: whoever may activate."""
    return membership is not None and membership.can_buy


def has_own_limit(membership: Membership | None) -> bool:
    """A buyer whose admin set them a spending limit: pages call it theirs, not the account's."""
    return (
        membership is not None
        and membership.role == Role.BUYER
        and membership.spending_limit is not None
    )


def approval_limit(membership: Membership) -> Decimal:
    """What this member may activate within LIMIT_WINDOW without approval, if a limit binds
    them (buyers): their own spending limit when an admin set one, which replaces the account's
    approval threshold for them; else that threshold."""
    if has_own_limit(membership):
        assert membership.spending_limit is not None
        return membership.spending_limit
    return membership.account.effective_approval_threshold


def approval_limit_name(membership: Membership | None) -> str:
    """How pages name the limit `approval_limit` gives, to the member it binds."""
    if has_own_limit(membership):
        return _("your spending limit")
    return _("your account's approval limit")


def is_expired(facts: DraftFacts, today: date) -> bool:
    """A draft priced for a start before today would activate back-dated: it must be re-priced."""
    return facts.start is not None and facts.start < today


def can_decide_approvals(membership: Membership | None) -> bool:
    """An admin of the account decides its buyers' approval requests, as its account manager
    may: activating one is what the admin could do directly, were the draft not locked."""
    return membership is not None and membership.role == Role.ADMIN


def can_withdraw_approval(membership: Membership | None, requested_by_id: int | None) -> bool:
    """The requester takes their own request back; an admin of the account may too."""
    if membership is None:
        return False
    return membership.user_id == requested_by_id or membership.role == Role.ADMIN


def can_manage_quote_links(user: User, account: CustomerAccount) -> bool:
    """Send a quote link by email, or revoke it: the customer's account manager, who reviews its
    drafts (a member makes and regenerates links on the draft's page; regenerating supersedes)."""
    return user.is_staff and account.managers.filter(pk=user.pk).exists()


def quote_authority(maker: User, account: CustomerAccount) -> Membership | None:
    """Whose authority accepting a quote link carries, given to `decide` as the member who acts.

    The one rule: the authority of the person who made the link, as it stands when the quote is
    accepted, not when the link was made.
    - A member of the account made it: that member's own. An admin's link activates any
      amount; a buyer's within the account's approval limit, counting what the buyer activated
      in the last 24 hours (an acceptance is counted as theirs too), and beyond it becomes an
      approval request for an admin of the account or its account manager; a buyer's link
      never cancels a subscription. A maker who is no longer a member carries nothing.
    - The account's manager made it (staff with the customer in their book): what an admin of
      the account may activate, since the manager may approve any draft of the book and quoted
      exactly these figures (an acceptance of a draft that changed since is refused as stale
      before anything is decided). A manager who no longer has the customer carries nothing.
    None: no authority; `decide` then forbids it, and the recipient is told whom to ask.
    """
    membership = (
        Membership.objects.select_related("account", "user")
        .filter(user=maker, account=account, user__is_active=True)
        .first()
    )
    if membership is not None:
        return membership
    if maker.is_active and can_manage_quote_links(maker, account):
        # Not saved: the manager is not a member; it stands for an admin's authority and has
        # activated nothing as a member (activated_in_last_day).
        return Membership(user=maker, account=account, role=Role.ADMIN)
    return None


def decide(
    membership: Membership | None,
    facts: DraftFacts,
    today: date,
    scheduled: Mapping[str, ScheduledChange] | None = None,
) -> Verdict:
    """What pressing "activate" on this draft does for this member, on the customer's `today`.

    An account manager's approval asks it for the requester: an approval activates only what the
    requester could have asked for (never a cancellation a buyer may not make). `scheduled`: the
    changes already scheduled for the subscriptions it changes (orders.actions.scheduled), which
    may leave no room for it.
    """
    if membership is None or membership.role == Role.VIEWER:
        return Verdict(Decision.FORBIDDEN, _("Your role may not activate orders."), facts)
    if facts.cancels and not can_cancel(membership):
        reason = _("Only an admin of the account may cancel a subscription.")
        return Verdict(Decision.FORBIDDEN, reason, facts)
    refusal = draft_schedule_refusal(facts.changed, scheduled or {})
    if refusal:
        return Verdict(Decision.SCHEDULED, refusal, facts)
    if is_expired(facts, today):
        assert facts.start is not None
        start = day_text(facts.start)
        reason = _(
            "This draft was priced for a start on %(day)s, which has passed: activating it "
            "now would back-date it. Re-price it from today instead."
        ) % {"day": start}
        return Verdict(Decision.EXPIRED, reason, facts)
    if membership.role == Role.ADMIN:
        return Verdict(Decision.ACTIVATE, "", facts)
    spent = activated_in_last_day(membership)
    if spent + max(facts.amount, Decimal(0)) <= approval_limit(membership):
        return Verdict(Decision.ACTIVATE, "", facts)
    limit = approval_limit_name(membership)
    if not spent:
        reason = _(
            "This order's total is above %(limit)s: request approval, "
            "or ask an admin of your account to activate it."
        ) % {"limit": limit}
    else:
        reason = _(
            "This order's total, with the %(spent)s you activated in the last 24 hours, is "
            "above %(limit)s: request approval, or ask an admin of your account to activate it."
        ) % {"spent": money_text(spent, facts.currency), "limit": limit}
    return Verdict(Decision.REQUEST_APPROVAL, reason, facts)


# A buyer's approval limit holds for what they activate within this long, not per order: two
# orders just under the limit are, together, above it.
LIMIT_WINDOW = timedelta(hours=24)


def activated_in_last_day(membership: Membership) -> Decimal:
    """What this member activated for their account within LIMIT_WINDOW, as the ledger holds it:
    Nue's grand total of each activation that succeeded or whose outcome is still open (it may
    have gone through), themselves or through support acting for them."""
    from orders.models import Operation

    if membership.pk is None:  # not a member yet: nothing activated
        return Decimal(0)
    total = (
        Operation.objects.filter(
            Q(actor=membership.user, on_behalf_of=None) | Q(on_behalf_of=membership.user),
            kind=Operation.Kind.ACTIVATE,
            customer=membership.account,
            created_at__gte=timezone.now() - LIMIT_WINDOW,
            amount__gt=0,
        )
        .exclude(state=Operation.State.FAILED)
        .aggregate(total=Sum("amount"))["total"]
    )
    return total or Decimal(0)


# The support workspace (/support/lookup/, /support/operations/, a customer's timeline): who may
# use it, and which customers' failures, operations and history it shows them.


def can_use_support_workspace(user: User | AnonymousUser) -> bool:
    """The workspace is part of the support pages: they exist for support agents alone."""
    return may_use_support(user)


def support_reach(user: User | AnonymousUser) -> QuerySet[CustomerAccount]:
    """The customers whose records the support workspace shows `user`; none for anyone the
    support pages do not exist for (they get 404).

    Superusers: every customer. Support agents (staff with the impersonate permission): the
    customers their support reaches, the rule impersonation and the support search follow
    (portal.impersonation.accounts_in_reach): their book if they have one, else every customer.
    Support has no book of its own (design.md §2); an account manager with the permission to
    impersonate is held to their book. Account managers without it have no support pages.
    """
    if not can_use_support_workspace(user):
        return CustomerAccount.objects.none()
    assert isinstance(user, User)
    if user.is_superuser:
        return CustomerAccount.objects.all()
    return accounts_in_reach(user)


def failures_in_reach(user: User | AnonymousUser) -> QuerySet[RequestFailure]:
    """The failures `user` may look up: those of customers within their reach. A failure with no
    customer (a staff page, a user who had not chosen one) is for superusers alone."""
    mine = Q(customer__in=support_reach(user))
    if can_use_support_workspace(user) and user.is_superuser:
        mine |= Q(customer__isnull=True)
    return RequestFailure.objects.filter(mine)


def operations_in_reach(user: User | AnonymousUser) -> QuerySet[Operation]:
    return Operation.objects.filter(customer__in=support_reach(user))


def can_check_operation(user: User | AnonymousUser, operation: Operation) -> bool:
    """Whether `user` may have the ledger read Nue for `operation` now: an open operation of a
    customer within their reach (a settled one has nothing left to find out)."""
    return operation.is_open and operations_in_reach(user).filter(pk=operation.pk).exists()
