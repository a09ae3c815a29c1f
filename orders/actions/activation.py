"""Activating a draft: the one path of every route that can (issue 20, item 7).

The wizard's confirm, the basket's confirm, the draft page and an account manager's approval all
call `activate_draft`: it reads the draft from Nue, asks `orders.policy.decide` what the member may
do with what the draft is and with what Nue has scheduled for its subscriptions, runs the
staleness check on every change order, activates it through the ledger with the same audit events
for the same kind of change whichever route it was. The ledger writes them once the activation
is known to have happened, however that was learned (the answer, a retry, reconcile_operations),
so a lost answer loses no audit event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from orders.actions import approvals, cards, scheduled
from orders.nue import (
    ActivationResult,
    AddOn,
    DraftResult,
    LineRequest,
    NueConflict,
    Order,
    OrderLine,
    Subscription,
    SubscriptionChange,
    SubscriptionSnapshot,
)
from orders.policy import Decision, DraftFacts, DraftKind, Verdict, decide, is_expired
from orders.scope import CustomerNue, for_customer
from portal.audit import pending_from
from portal.models import AuditKind, Membership, User


class NotActivated(Exception):
    """`decide` said no (forbidden, expired, or it needs an approval): its verdict says why."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.reason)
        self.verdict = verdict


class Stale(Exception):
    """The subscription moved on since the draft was computed; it must be previewed again."""

    def __init__(self, pairs: list[tuple[SubscriptionSnapshot, Subscription]]) -> None:
        super().__init__("stale")
        self.pairs = pairs


@dataclass(frozen=True)
class AuditNotes:
    """What a route knows for the audit events beyond the draft: per subscription the reason
    given for a cancellation and what was asked; `details` (an approval, a PO) go on every event."""

    reasons: Mapping[str, str] = field(default_factory=dict)
    asked: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What `activate_draft` did: `result` is None when an earlier submit had activated it."""

    order: Order  # the draft as it was read before activating
    verdict: Verdict
    result: ActivationResult | None
    changes: tuple[SubscriptionChange, ...] = field(default=())
    # The ledger writes (or has written) this request's audit events with the outcome; False when
    # the draft was found activated already and nothing of this request is recorded.
    audited: bool = True

    @property
    def replayed(self) -> bool:
        return self.result is None or self.result.replayed


def activate_draft(
    scope: CustomerNue,
    order_id: str,
    *,
    membership: Membership | None,
    actor: User,
    on_behalf_of: User | None = None,
    previewed: Sequence[SubscriptionChange] = (),
    po_number: str | None = None,
    po_date: date | None = None,
    approving: bool = False,
    audit: Mapping[str, Any],
    notes: AuditNotes | None = None,
    pay: cards.Pay = cards.Pay.INVOICE,
    card_id: str = "",
) -> Outcome:
    """Activate the draft once if `membership` may, as `decide` says for what Nue has on it.

    `membership` is the member who activates or, when an account manager is `approving`, the
    member who asked (an approval activates what they asked for, and nothing they could not
    ask for). `pay`: by the card on file or by invoice (cards.activation_terms says what that
    sends; NoCard when there is no card, or `card_id` names another than the one on file).
    `previewed`: what the wizard's preview computed each
    change from, when it is known; otherwise Nue's own summary on the change order. `audit`:
    the request's event as portal.audit.pending describes it (who, from where, for which
    customer), which each audit event of the activation repeats. Raises NotActivated, Stale,
    DraftLocked, OperationInProgress, NoCard or a NueError.
    """
    # The draft as this request read it, if it did: nothing was sent since.
    order = scope.order(order_id, status="draft")
    facts = DraftFacts.of(order)
    if order.status == "Activated":
        # A second click or a retry after the first one went through: nothing to decide, but
        # what its lost answer left open in the ledger settles now.
        scope.ledger.settle([order.id, *facts.subscriptions])
        return Outcome(order, Verdict(Decision.ACTIVATE, "", facts), None, audited=False)
    # What Nue has scheduled for the subscriptions it changes may leave no room for it; under
    # the ledger's hold below, a subscription changed since this read makes the draft stale.
    today = timezone.localdate()
    facts, scheduled_changes = scheduled.for_draft(scope, order, today, previewed)
    verdict = decide(membership, facts, today, scheduled_changes)
    allowed = {Decision.ACTIVATE, Decision.REQUEST_APPROVAL} if approving else {Decision.ACTIVATE}
    if verdict.decision not in allowed:
        raise NotActivated(verdict)
    payment = cards.activation_terms(scope.account, pay, card_id)
    if facts.kind == DraftKind.NEW_ORDER:
        if not approving:
            approvals.refuse_if_locked(order.id)
        result = scope.activate(
            order.id,
            actor=actor,
            on_behalf_of=on_behalf_of,
            po_number=po_number,
            po_date=po_date,
            payment=payment,
            audit=audit_events(audit, order, facts, (), notes or AuditNotes()),
        )
        cards.record_activation(scope.account, result)
        return Outcome(order, verdict, result)
    changes = tuple(previewed) or order.changes
    if not changes:
        raise NueConflict(
            _(
                "Nue does not say what change order %(number)s was computed from, so it cannot"
                " be checked against the subscriptions now: preview the change again."
            )
            % {"number": order.order_number}
        )
    events = audit_events(audit, order, facts, changes, notes or AuditNotes())
    applied = _apply(
        scope,
        order.id,
        changes,
        actor,
        on_behalf_of,
        po_number,
        po_date,
        approving=approving,
        payment=payment,
        audit=events,
    )
    if applied is not None:
        cards.record_activation(scope.account, applied)
    return Outcome(order, verdict, applied, changes)


def _apply(
    scope: CustomerNue,
    order_id: str,
    changes: Sequence[SubscriptionChange],
    actor: User,
    on_behalf_of: User | None,
    po_number: str | None,
    po_date: date | None,
    *,
    approving: bool,
    payment: Mapping[str, Any],
    audit: Sequence[Mapping[str, Any]],
) -> ActivationResult | None:
    """Activate a change order exactly once; None when an earlier submit already did.

    Raises Stale when a subscription is no longer the version and quantity the draft was computed
    from: activating it would apply the delta on top of someone else's change. Every subscription
    of the draft is checked before it is activated, so a stale basket changes nothing.
    """
    with scope.ledger.hold([c.name for c in changes], order_id, actor, on_behalf_of):
        # A new scope: nothing memoised, every read below is Nue's state under the hold.
        fresh = for_customer(scope.account)
        assert fresh is not None
        order = fresh.order(order_id, status="draft")
        if order.status == "Activated":
            return None
        if order.status != "Draft":
            raise NueConflict(
                _("Change order %(number)s is %(status)s.")
                % {"number": order.order_number, "status": order.status.lower()}
            )
        now = {c.name: fresh.subscription(c.name) for c in changes}
        moved = [
            (c.before, now[c.name])
            for c in changes
            if (c.before.version, c.before.quantity) != (now[c.name].version, now[c.name].quantity)
        ]
        if moved:
            raise Stale(moved)
        if not approving:  # an approval is what the pending request waits for
            approvals.refuse_if_locked(order.id)
        try:
            return fresh.activate(
                order.id,
                actor=actor,
                on_behalf_of=on_behalf_of,
                po_number=po_number,
                po_date=po_date,
                payment=payment,
                audit=audit,
            )
        except NueConflict as error:
            if error.error_code == "SUBSCRIPTION_CHANGED":
                raise Stale([(c.before, now[c.name]) for c in changes]) from error
            raise


def audit_events(
    audit: Mapping[str, Any],
    order: Order,
    facts: DraftFacts,
    changes: Sequence[SubscriptionChange],
    notes: AuditNotes,
) -> list[dict[str, Any]]:
    """The activation's audit events, the same for the same kind of change on every route.

    A new order is one ACTIVATION; a change order one event per subscription it changes, a
    CANCELLATION (with the reason given) where it cancels, a CHANGE_ORDER otherwise. The ledger
    writes them, with the operation, once the activation is known to have happened.
    """
    common = {
        "order_id": order.id,
        "order_number": order.order_number,
        "draft_kind": facts.kind.value,
        "total": order.total,
        "currency": order.currency or "",
        **notes.details,
    }
    if facts.kind == DraftKind.NEW_ORDER:
        return [pending_from(audit, AuditKind.ACTIVATION, **common)]
    return [
        pending_from(
            audit,
            AuditKind.CANCELLATION if "Cancel" in types else AuditKind.CHANGE_ORDER,
            reason=notes.reasons.get(name, ""),
            subscription=name,
            change=",".join(types),
            asked=dict(notes.asked.get(name, {})),
            effective=facts.start,
            **common,
        )
        for name, types in _types_by_subscription(order, changes).items()
    ]


def _types_by_subscription(
    order: Order, changes: Sequence[SubscriptionChange]
) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {c.name: list(c.change_types) for c in changes}
    if len(found) == 1:
        # Nue's lines do not say which subscription they change (nue-api.md §3.2); with only
        # one subscription changed, every change they carry is that one's.
        (types,) = found.values()
        for line in order.all_lines():
            if line.change_type and line.change_type not in types:
                types.append(line.change_type)
    return {name: tuple(types) for name, types in found.items()}


def repriced_lines(order: Order, today: date) -> list[LineRequest]:
    """The draft's lines again, starting today (a line meant to start later keeps its day)."""
    return [
        LineRequest(
            price_book_entry_id=line.price_book_entry_id or "",
            quantity=line.quantity,
            start_date=max(line.start_date or today, today),
            term_months=int(line.term) if line.term else None,
            add_ons=_add_ons(line),
        )
        for line in order.lines
    ]


def _add_ons(line: OrderLine) -> tuple[AddOn, ...]:
    return tuple(
        AddOn(child.product_option_id, quantity=child.quantity, add_ons=_add_ons(child))
        for child in line.children
        if child.product_option_id
    )


def reprice(scope: CustomerNue, order: Order) -> DraftResult:
    """A new draft of an expired one: the same lines and PO from today (POST /orders).

    The expired draft stays as it is: Nue documents no way to delete or change a draft.
    """
    today = timezone.localdate()
    facts = DraftFacts.of(order)
    if not order.is_draft:
        raise NueConflict(
            _("Order %(number)s is no longer a draft.") % {"number": order.order_number}
        )
    if facts.kind != DraftKind.NEW_ORDER:
        raise NueConflict(
            _("A change order is re-priced by previewing the change again from the subscription.")
        )
    if not is_expired(facts, today):
        raise NueConflict(
            _("Draft %(number)s is still valid: activate it as it is.")
            % {"number": order.order_number}
        )
    lines = repriced_lines(order, today)
    return scope.create_draft(
        lines,
        effective_date=min(line.start_date or today for line in lines),
        # Nue names an unnamed order after its number, which would name the new one after the old.
        name=order.name if order.name and order.order_number not in order.name else None,
        preview_invoice=True,
        po_number=order.po_number,
        po_date=order.po_date,
    )
