"""Accepting a quote link (issue 26, item 2): its recipient, not signed in, accepts the quote
with their name, title, PO number and agreement to the terms, and, where the tenant collects by
card, the card Stripe.js confirmed.

The acceptance carries the authority of whoever made the link (orders.policy.quote_authority),
and `decide` says what it does: it activates the draft through the one activation path
(orders.actions.activation, the operation ledger), or becomes an approval request
(orders.actions.approvals) for an admin of the account or its account manager. A quote whose
draft changed since the link was made is refused, saying why.

Exactly once: the acceptance row (one per link) is committed before anything is sent, so a
double click or a retry finds it and sends nothing; the ledger's one open operation per order
keeps any other route from activating the draft a second time. An acceptance whose request
changed nothing is deleted, so the recipient may correct it and try again; one whose outcome
Nue left unknown stays "being accepted" until the ledger settles it (`settle`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders import stripe_gateway as gateway
from orders.actions import approvals, cards, quotes
from orders.actions.activation import AuditNotes, NotActivated, Stale, activate_draft
from orders.models import Operation, QuoteAcceptance, QuoteLink
from orders.nue import Order
from orders.policy import Decision, DraftFacts, Verdict, decide, quote_authority
from orders.scope import CustomerNue
from orders.stripe_gateway import Card

# An acceptance still "being accepted" with no activation sent this long after it was made
# belongs to a request that ended before sending anything: it is let go.
ABANDONED = timedelta(minutes=2)


class QuoteClosed(Exception):
    """The link no longer opens its quote (revoked, superseded, expired): a 410 page."""

    def __init__(self, closed: quotes.Closed) -> None:
        super().__init__(closed.text)
        self.closed = closed


class QuoteStale(Exception):
    """The draft is no longer what the link quoted: `reasons` say how (a 409 page)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(" ".join(reasons))
        self.reasons = reasons


class QuoteRefused(Exception):
    """Whoever made the link may not have it accepted (a 403 page saying whom to ask)."""


class AwaitsApproval(QuoteRefused):
    """The draft awaits an approval decision: no quote of it is accepted until that is made."""


@dataclass(frozen=True)
class Accepting:
    """What the recipient entered: who they are, their PO, and how they pay (`setup_intent`:
    the SetupIntent Stripe.js confirmed their card with, when they pay by card)."""

    name: str
    title: str
    email: str
    po_number: str
    pay: cards.Pay = cards.Pay.INVOICE
    setup_intent: str = ""


def terms() -> str:
    return settings.PORTAL_QUOTE_TERMS.strip()


def verdict_for(link: QuoteLink, order: Order) -> Verdict:
    """What accepting the link's draft does now: `decide` for the link's authority."""
    authority = quote_authority(link.generated_by, link.customer)
    return decide(authority, DraftFacts.of(order), timezone.localdate())


def refusal_text(link: QuoteLink, verdict: Verdict) -> str:
    """Why a link's acceptance is refused, in the recipient's words, and whom to ask."""
    who = link.generated_by.get_full_name() or link.generated_by.email
    words = {"who": who, "email": link.generated_by.email}
    if verdict.facts.cancels:
        return (
            _(
                "This quote cannot be accepted online: it cancels a subscription, which only an"
                " admin of the account may do, signed in. Contact %(who)s (%(email)s)."
            )
            % words
        )
    return (
        _(
            "This quote cannot be accepted online: the person who made it may no longer place"
            " this order for the account. Contact %(who)s (%(email)s)."
        )
        % words
    )


def check(link: QuoteLink, order: Order | None, nue: CustomerNue) -> Verdict:
    """What accepting the link's draft (`order`, `nue`: quotes.read_draft's) does now, where it
    may be accepted; else raises why not, as the quote's page says it and accept refuses it:
    QuoteStale (no longer what was quoted, or expired), QuoteRefused (the link's maker may not
    place it), AwaitsApproval (an approval decision is pending)."""
    reasons = quotes.stale_reasons(link, order, nue)
    if reasons:
        raise QuoteStale(reasons)
    assert order is not None  # stale_reasons names a draft that is gone
    verdict = verdict_for(link, order)
    if verdict.decision == Decision.EXPIRED:
        raise QuoteStale([verdict.reason])
    if verdict.decision == Decision.FORBIDDEN:
        raise QuoteRefused(refusal_text(link, verdict))
    if approvals.is_locked(order.id):
        raise AwaitsApproval(
            _(
                "This order already awaits an approval decision, so the quote cannot be accepted"
                " until it is decided. Contact %(email)s."
            )
            % {"email": link.generated_by.email}
        )
    return verdict


def current(link: QuoteLink) -> QuoteAcceptance | None:
    """The link's acceptance as the database holds it now (settled if it was left open)."""
    found = (
        QuoteAcceptance.objects.select_related("link", "customer", "approval")
        .filter(link=link)
        .first()
    )
    return settle(found) if found is not None else None


def accept(
    link: QuoteLink, accepting: Accepting, *, audit: Mapping[str, Any]
) -> tuple[QuoteAcceptance, bool]:
    """Accept the quote: (the acceptance, True) when this request made it, (the earlier one,
    False) when the quote was accepted already (a double submit, a retry).

    `audit`: the request's event (portal.audit.pending), which the activation's audit events
    repeat with the acceptor's details. Raises QuoteClosed, QuoteStale, QuoteRefused, and, with
    nothing changed, cards.NoCard, StripeError or a NueError for the form.
    """
    found = quotes.closed(link)
    if found is not None:
        raise QuoteClosed(found)
    earlier = current(link)
    if earlier is not None:
        return earlier, False
    nue, order = quotes.read_draft(link)
    verdict = check(link, order, nue)
    assert order is not None  # check refuses a draft that is gone
    if accepting.pay == cards.Pay.CARD and not gateway.configured():
        raise cards.NoCard(str(cards.NOT_SET_UP))
    try:
        claim = QuoteAcceptance.objects.create(
            link=link,
            customer=link.customer,
            order_id=order.id,
            name=accepting.name,
            title=accepting.title,
            email=accepting.email,
            po_number=accepting.po_number,
            terms=terms(),
            pay=accepting.pay,
        )
    except IntegrityError:
        # Another submit of this quote got there first: its outcome is this one's.
        earlier = current(link)
        if earlier is None:
            raise QuoteRefused(
                _("This quote is being accepted just now: reload in a moment.")
            ) from None
        return earlier, False
    try:
        _carry_out(claim, link, nue, order, verdict, accepting, audit)
    except BaseException as error:
        if settle(claim, failed=True) is not None:
            # Nue did it, or may have: the page says which (activated, or being confirmed).
            return claim, True
        if isinstance(error, Stale):
            raise QuoteStale([str(_STALE)]) from error
        if isinstance(error, NotActivated):
            raise QuoteRefused(refusal_text(link, error.verdict)) from error
        raise
    return claim, True


_STALE = gettext_lazy(
    "A subscription this quote changes has changed since it was made: accepting it would apply"
    " the change on top of something else. Nothing was changed; ask for a new quote."
)


def _carry_out(
    claim: QuoteAcceptance,
    link: QuoteLink,
    nue: CustomerNue,
    order: Order,
    verdict: Verdict,
    accepting: Accepting,
    audit: Mapping[str, Any],
) -> None:
    card: Card | None = None
    if accepting.pay == cards.Pay.CARD:
        card = cards.finish_setup(link.customer, accepting.setup_intent)
        claim.card_label = card.label
        claim.save(update_fields=["card_label"])
    details = {
        "quote_link": link.pk,
        "accepted_by": accepting.name,
        "title": accepting.title,
        "acceptor_email": accepting.email,
        "po_number": accepting.po_number,
        "authority": link.generated_by.email,
        "pay": f"Charge {card.label}" if card else "Pay by invoice",
    }
    if verdict.activates:
        outcome = activate_draft(
            nue,
            order.id,
            membership=quote_authority(link.generated_by, link.customer),
            actor=link.generated_by,
            po_number=accepting.po_number or None,
            audit=audit,
            notes=AuditNotes(details=details),
            pay=accepting.pay,
            card_id=card.id if card else "",
        )
        if outcome.result is None or outcome.result.replayed:
            raise QuoteStale(
                [
                    _("Order %(number)s was placed meanwhile, not through this quote.")
                    % {"number": order.order_number}
                ]
            )
        _settled(claim, QuoteAcceptance.State.ACTIVATED, operation_id=outcome.result.operation_id)
    else:
        approval = approvals.request_approval(
            link.customer,
            order,
            requester=link.generated_by,
            comment=(
                f"Accepted through the quote link by {accepting.name}, {accepting.title} "
                f"({accepting.email})."
            ),
            po_number=accepting.po_number,
            card=card,
        )
        _settled(claim, QuoteAcceptance.State.AWAITING_APPROVAL, approval_id=approval.pk)


def _settled(claim: QuoteAcceptance, state: QuoteAcceptance.State, **fields: Any) -> None:
    """Move the acceptance from "being accepted" to `state` once, and confirm it by email then:
    whichever request learns the outcome first (its own, or another's `settle`) does both."""
    moved = QuoteAcceptance.objects.filter(
        pk=claim.pk, state=QuoteAcceptance.State.ACCEPTING
    ).update(state=state, settled_at=timezone.now(), **fields)
    claim.refresh_from_db()
    if moved:
        quotes.notify_quote_accepted(claim)


def _let_go(claim: QuoteAcceptance) -> None:
    """An acceptance that changed nothing: gone, so the quote can be accepted again."""
    QuoteAcceptance.objects.filter(pk=claim.pk, state=QuoteAcceptance.State.ACCEPTING).delete()


def _operation_of(claim: QuoteAcceptance) -> Operation | None:
    """The ledger's activation this acceptance sent: its audit names the quote link."""
    candidates = Operation.objects.filter(
        kind=Operation.Kind.ACTIVATE,
        customer_id=claim.customer_id,
        target=claim.order_id,
        created_at__gte=claim.accepted_at,
    ).order_by("-created_at")
    for op in candidates:
        if any(event.get("details", {}).get("quote_link") == claim.link_id for event in op.audit):
            return op
    return None


def settle(claim: QuoteAcceptance, *, failed: bool = False) -> QuoteAcceptance | None:
    """An acceptance left "being accepted" (a lost answer, a request that ended early) decided
    from the ledger, which reads Nue and never sends again: activated, still open, or nothing
    happened (deleted: None). `failed`: its own request just failed, so an acceptance that sent
    nothing is let go at once."""
    if claim.state != QuoteAcceptance.State.ACCEPTING:
        return claim
    op = _operation_of(claim)
    if op is None:
        if failed or timezone.now() - claim.accepted_at >= ABANDONED:
            _let_go(claim)
            return None
        return claim
    if op.is_open:
        op = CustomerNue(claim.customer).ledger.resolve(op)
    if op.state == Operation.State.FAILED:
        _let_go(claim)
        return None
    if op.state == Operation.State.SUCCEEDED:
        _settled(claim, QuoteAcceptance.State.ACTIVATED, operation_id=op.pk)
    return claim
