"""Status badges: `{{ order|order_badge }}`, `{{ sub|subscription_badge }}`,
`{{ invoice|invoice_badge:overdue }}`, `{{ approval|approval_badge }}` (its class);
`{{ invoice.payment_status|payment_status }}` in words; `{{ line.change_type|change_type }}`.

Filters rather than included templates: they render on every row of the long lists, where an
include per row was a measurable part of the page's time (bench/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from orders.kinds import change_type_label
from orders.models import ApprovalRequest

register = template.Library()

ORDER = {"Activated": "ok", "Draft": "warn", "Canceled": "muted"}
# Nue's order and invoice statuses (kept as Nue spells them for the tone) in the reader's words.
STATUS_WORDS = {
    "Activated": gettext_lazy("Activated"),
    "Draft": gettext_lazy("Draft"),
    "Canceled": gettext_lazy("Canceled"),
}
SUBSCRIPTION = {
    "Active": ("ok", gettext_lazy("Active")),
    "Pending": ("accent", gettext_lazy("Starts later")),
    "Canceled": ("muted", pgettext_lazy("subscription status", "Canceled")),
    "Expired": ("muted", gettext_lazy("Expired")),
}


# Nue's payment statuses (nue-api.md §3.5; documented lower case, stored PascalCase) in plain
# words, with what the less obvious ones mean for the customer.
PAYMENT_STATUS = {
    "open": (
        gettext_lazy("Open"),
        "",
    ),
    "nottransferred": (
        gettext_lazy("Not yet sent for payment"),
        gettext_lazy("The invoice has not been sent to the payment system yet."),
    ),
    "transferred": (
        gettext_lazy("Sent to the payment system"),
        gettext_lazy(
            "The invoice was sent to the payment system; it shows as paid once the payment arrives."
        ),
    ),
    "transfererror": (
        gettext_lazy("Could not be sent for payment"),
        gettext_lazy(
            "Sending the invoice to the payment system failed; your account manager can help."
        ),
    ),
    "paid": (
        gettext_lazy("Paid"),
        "",
    ),
    "partiallypaid": (
        gettext_lazy("Partly paid"),
        gettext_lazy("Part of the amount is paid; the balance is still open."),
    ),
    "canceled": (
        gettext_lazy("Canceled"),
        "",
    ),
    "creditback": (
        gettext_lazy("Credited back"),
        "",
    ),
    "applied": (
        gettext_lazy("Credit applied"),
        "",
    ),
    "partiallyapplied": (
        gettext_lazy("Credit partly applied"),
        "",
    ),
    "refunded": (
        gettext_lazy("Refunded"),
        "",
    ),
    "partiallyrefunded": (
        gettext_lazy("Partly refunded"),
        "",
    ),
    "writtenoff": (
        gettext_lazy("Written off"),
        "",
    ),
    "partiallywrittenoff": (
        gettext_lazy("Partly written off"),
        "",
    ),
}


@register.filter
def payment_status(status: object) -> str:
    """A payment status as a customer reads it: "Transferred" is "Sent to the payment system"."""
    if not status:
        return "—"
    return str(PAYMENT_STATUS.get(str(status).lower(), (str(status), ""))[0])


@register.filter
def payment_status_hint(status: object) -> str:
    """What a payment status means, when its words alone may not say it; else ""."""
    return str(PAYMENT_STATUS.get(str(status or "").lower(), ("", ""))[1])


def _badge(text: str, tone: str = "") -> SafeString:
    if tone:
        return format_html('<span class="badge badge--{}">{}</span>', tone, text)
    return format_html('<span class="badge">{}</span>', text)


@register.filter
def order_badge(order: Any) -> SafeString:
    status = str(order.status or "")
    badge = _badge(str(STATUS_WORDS.get(status, status)), ORDER.get(status, ""))
    if order.order_type == "Change":
        return format_html("{} {}", badge, _badge(_("Change"), "accent"))
    return badge


@register.filter
def subscription_badge(subscription: Any) -> SafeString:
    """Nue's status in words. A change scheduled for the subscription (a cancellation still
    ahead reads Active) is templates/orders/_scheduled_change.html's to show, in its place."""
    status = str(subscription.status or "")
    tone, text = SUBSCRIPTION.get(status, ("", status))
    return _badge(str(text), tone)


@register.filter
def invoice_badge(invoice: Any, overdue: bool = False) -> SafeString:
    if overdue:
        badge = _badge(_("Overdue"), "danger")
    elif invoice.payment_status == "Paid":
        badge = _badge(_("Paid"), "ok")
    elif invoice.status in ("Draft", "Canceled"):
        badge = _badge(str(STATUS_WORDS[invoice.status]), "muted")
    else:
        badge = _badge(_("Due"), "warn")
    if invoice.payment_status and invoice.payment_status != "Paid":
        return format_html(
            '{} <span class="muted">{}</span>', badge, payment_status(invoice.payment_status)
        )
    return badge


@register.filter
def approval_badge(approval: ApprovalRequest) -> str:
    badges: dict[str, str] = {
        ApprovalRequest.State.PENDING: "badge--warn",
        ApprovalRequest.State.APPROVED: "badge--ok",
        ApprovalRequest.State.DECLINED: "badge--danger",
    }
    return badges.get(approval.state, "badge--muted")


register.filter("change_type", change_type_label)


@register.filter
def change_types(types: Iterable[str]) -> str:
    """Nue's change types of a subscription as the wizard names them: "Renew, Change quantity"."""
    return ", ".join(change_type_label(t) for t in types)
