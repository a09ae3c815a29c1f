"""What a change preview shows, worked out from Nue's draft change order: the before/after cards,
the credit, charge and billing dates, and each line's proration in words.

Used by the wizard's preview and the basket's (orders.actions.changes remembers what the draft
was computed from); these functions only read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import NamedTuple, Protocol

from django.utils import timezone
from django.utils.translation import gettext as _

from orders.nue import (
    Invoice,
    Order,
    OrderLine,
    Subscription,
    SubscriptionChange,
    SubscriptionSnapshot,
)
from orders.templatetags.dates import day_text, days_text
from orders.templatetags.money import money as money_text
from orders.templatetags.numbers import quantity as quantity_text


class Previewed(Protocol):
    """A previewed draft change order, the wizard's or the basket's."""

    @property
    def order(self) -> Order: ...

    @property
    def changes(self) -> tuple[SubscriptionChange, ...]: ...

    @property
    def invoices(self) -> tuple[Invoice, ...]: ...

    @property
    def reconfigured(self) -> set[str]: ...

    @property
    def added(self) -> tuple[SubscriptionSnapshot, ...]: ...


def added_add_ons(
    order: Order, bundle: Subscription, subscriptions: Sequence[Subscription]
) -> tuple[SubscriptionSnapshot, ...]:
    """The add-ons a Reconfigure change order adds to `bundle`, as its lines price them.

    Nue's lines do not name the subscription they change (nue-api.md §3.2). An add-on's line
    names its product option (`productOptionId`); one for a product the bundle has no add-on of
    yet (its add-ons by `rootId`, §3.3) adds one, whose subscription activation creates.
    """
    have = {
        s.product_id
        for s in subscriptions
        if s.root_id == bundle.id and s.id != bundle.id and s.status != "Canceled"
    }
    return tuple(
        SubscriptionSnapshot.of_line(ln)
        for ln in order.all_lines()
        if ln.change_type == "Reconfigure"
        and ln.quantity > 0
        and ln.product_option_id
        and ln.product_id not in have
    )


class Card(NamedTuple):
    """One before/after card of a preview: a subscription the change order touches, or an add-on
    it adds (no name and no before yet)."""

    name: str
    before: SubscriptionSnapshot | None
    after: SubscriptionSnapshot | None
    currency: str | None = None  # the change order's


def cards(preview: Previewed) -> list[Card]:
    """A card per subscription changed and per add-on added.

    Reconfigure changes a bundle's add-ons, not the bundle's own terms (nue-api.md §2.2), so a
    reconfigured bundle Nue does not summarise is shown as it is, not as gone.
    """
    currency = preview.order.currency
    touched = [
        Card(
            c.name,
            c.before,
            c.after or (c.before if c.name in preview.reconfigured else None),
            currency,
        )
        for c in preview.changes
    ]
    return touched + [Card("", None, snapshot, currency) for snapshot in preview.added]


class Money(NamedTuple):
    """What a preview shows beside the order's own totals (which the page takes from Nue as they
    are: list, discount, subtotal, tax, grand total).

    Nue totals only the whole order, so credit and charge are its credit and charge lines, which
    are before tax; due now and the next invoice are Nue's preview invoices, which are after tax;
    the recurring price is the subscription's net price, before tax.
    """

    credit: Decimal
    charge: Decimal
    due_now: Decimal
    next_date: date | None
    next_amount: Decimal
    recurring: list[tuple[str, Decimal | None]]
    currency: str | None = None  # of every figure above: the change order's


def money(preview: Previewed) -> Money:
    """The three blocks of a preview (or a basket's): credit, charge, and when it is billed."""
    today = timezone.localdate()
    lines = [ln for ln in preview.order.all_lines() if ln.total_price]
    dated = sorted(preview.invoices, key=lambda i: i.invoice_date or today)
    later = [i.invoice_date for i in dated if i.invoice_date and i.invoice_date > today]
    next_date = min(later, default=None)
    return Money(
        credit=-sum((ln.total_price for ln in lines if ln.total_price < 0), Decimal(0)),
        charge=sum((ln.total_price for ln in lines if ln.total_price > 0), Decimal(0)),
        due_now=sum(
            (i.amount for i in dated if i.invoice_date is None or i.invoice_date <= today),
            Decimal(0),
        ),
        next_date=next_date,
        next_amount=sum((i.amount for i in dated if i.invoice_date == next_date), Decimal(0)),
        recurring=[
            (c.name or (c.after and c.after.product_name) or "", monthly(c.after))
            for c in cards(preview)
        ],
        currency=preview.order.currency,
    )


def monthly(snapshot: SubscriptionSnapshot | None) -> Decimal | None:
    """Recurring price per month once the change applies; None when nothing recurs."""
    if snapshot is None or snapshot.status == "Canceled" or snapshot.sales_price is None:
        return None
    return snapshot.sales_price * snapshot.quantity


def explain(line: OrderLine, currency: str | None) -> str:
    """One order line's proration in words; `currency`: its order's."""
    if line.start_date is None or line.end_date is None:
        return f"{line.product_name}: {money_text(line.total_price, currency)}"
    words = {
        "days": days_text((line.end_date - line.start_date).days + 1),
        "start": day_text(line.start_date),
        "end": day_text(line.end_date),
        "what": f"{quantity_text(abs(line.quantity))} \N{MULTIPLICATION SIGN} {line.product_name}",
    }
    if line.total_price < 0:
        return _("Credit for %(what)s you no longer use from %(start)s to %(end)s (%(days)s).") % (
            words
        )
    if line.sales_price:
        words["price"] = money_text(line.sales_price, currency)
        return (
            _(
                "%(what)s from %(start)s to %(end)s (%(days)s) at %(price)s a month each, prorated"
                " by day."
            )
            % words
        )
    return _("%(what)s from %(start)s to %(end)s (%(days)s), prorated by day.") % words


def credit_of(
    order: Order, change: SubscriptionChange, changes: Sequence[SubscriptionChange] = ()
) -> Decimal | None:
    """The credit Nue gives back for one subscription of the order, as a positive amount.

    Nue's own figure for that subscription: its asset change summary's amount, else its one
    credit line; None when Nue gives neither (several lines are not added up here). Nue's lines
    do not name their subscription (nue-api.md §3.2): a credit line is this one's when it is
    priced on its price book entry and no other of the order's `changes` is priced on it.
    """
    if change.amount is not None:
        return -change.amount if change.amount < 0 else None
    entry = change.before.price_book_entry_id
    others = {
        s.price_book_entry_id
        for c in changes
        if c.name != change.name
        for s in (c.before, c.after)
        if s is not None
    }
    if entry is None or entry in others:
        return None
    credits = [
        ln
        for ln in order.all_lines()
        if ln.price_book_entry_id == entry and ln.change_type and ln.total_price < 0
    ]
    return -credits[0].total_price if len(credits) == 1 else None
