"""Renewal reminders: 30 and 7 days before a subscription's term ends, its account is told
(portal.notifications, "renewal coming up"), once per subscription, term end and window.

`manage.py send_renewal_reminders` runs this daily from cron for every customer account with
members, reading each one's subscriptions from Nue through its scope (orders.scope). The
RenewalReminder row and the email commit together, and the row is unique per (subscription,
renewal date, window): a second run the same day, or two at once, sends nothing more; a term
that moves (renewed, extended) gets reminders for its new end. A run that starts inside the
7-day window sends that reminder only, not a late 30-day one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.urls import reverse

from orders.nue import Subscription, site_url
from orders.scope import CustomerNue
from portal.models import CustomerAccount, NotificationKind, RenewalReminder
from portal.notifications import notify

# Days before the term ends, largest first.
WINDOWS = (30, 7)


@dataclass(frozen=True)
class Due:
    subscription: Subscription
    term_ends: date
    days: int  # left until the term ends
    window: int  # the reminder this is: the smallest window the days left fall in


def latest(subscriptions: Iterable[Subscription]) -> list[Subscription]:
    """Each subscription's current version (Nue lists every version)."""
    found: dict[str, Subscription] = {}
    for each in subscriptions:
        if each.name not in found or each.version > found[each.name].version:
            found[each.name] = each
    return list(found.values())


def due(subscriptions: Iterable[Subscription], today: date) -> Iterator[Due]:
    """The reminders `today` calls for: active top-level subscriptions with an end to their term
    (not evergreen), no cancellation scheduled, ending within the largest window."""
    for each in latest(subscriptions):
        ends = each.end_date
        if each.is_add_on or each.status != "Active" or each.evergreen or ends is None:
            continue
        if each.cancels_on is not None:
            continue  # it ends, and "cancellation scheduled" said so
        days = (ends - today).days
        windows = [w for w in WINDOWS if 0 <= days <= w]
        if windows:
            yield Due(each, ends, days, min(windows))


def send_reminders(account: CustomerAccount, today: date) -> list[RenewalReminder]:
    """Queue the reminders due for `account` that were not sent yet. Raises a NueError when its
    subscriptions cannot be read."""
    subscriptions = CustomerNue(account).subscriptions()
    sent = []
    for item in due(subscriptions, today):
        try:
            with transaction.atomic():
                reminder = RenewalReminder.objects.create(
                    account=account,
                    subscription=item.subscription.name,
                    renewal_date=item.term_ends,
                    window_days=item.window,
                )
                notify_renewal(account, item)
        except IntegrityError:
            continue  # this window's reminder went out already
        sent.append(reminder)
    return sent


def notify_renewal(account: CustomerAccount, item: Due) -> None:
    each = item.subscription
    term = each.renewal_term or each.term
    context = {
        "subscription": each.name,
        "product": each.product_name or "",
        "term_ends": item.term_ends,
        "days": item.days,
        "window": item.window,
        "auto_renew": each.auto_renew,
        "renewal_term": int(term) if term is not None and term == int(term) else None,
        "link": site_url(reverse("orders:subscription_detail", args=[each.name])),
        "site_url": site_url(""),
    }
    notify(NotificationKind.RENEWAL_REMINDER, account, context)
