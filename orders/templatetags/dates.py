"""`{{ day|day }}`: a date as `<time datetime="2026-11-23">23 Nov 2026</time>`.

One format per language (portal.l10n: 23 Nov 2026 in English, 23.11.2026 in German), the one the
date inputs accept, with the machine-readable date for assistive technology and browser
extensions. A moment (a datetime) is shown as the day it is in the person's time zone.
"""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from portal.l10n import day_text, local

register = template.Library()

__all__ = ["day_text", "days_text"]


def days_text(count: int) -> str:
    """A number of days as people write it: 1 day, 2 days."""
    return ngettext("%(count)d day", "%(count)d days", count) % {"count": count}


@register.filter(needs_autoescape=True)
def day(value: object, autoescape: bool = True) -> str:
    """A day as the reader writes it, in a <time> element; bare text where the template does
    not escape (a plain-text email)."""
    if isinstance(value, datetime):
        value = local(value).date()
    if not isinstance(value, date):
        return "—"
    if not autoescape:
        return day_text(value)
    # Digits and CLDR month names only: nothing to escape (format_html would escape anyway,
    # at a cost that shows on lists of hundreds of dates).
    return mark_safe(f'<time datetime="{value.isoformat()}">{day_text(value)}</time>')  # noqa: S308


@register.filter
def waited(since: datetime) -> str:
    """How long ago a request was made: "3 hours ago", or "just now" within the minute."""
    text = timesince(since)
    if text.split()[0] == "0":
        return _("just now")
    return _("%(time)s ago") % {"time": text}


# Nue's billing periods (nue-api.md §4: Monthly, Quarterly, Semi-Annual, Annual, Same as
# Subscription Term) as the end of "billed …".
BILLING_WORDS = {
    "monthly": gettext_lazy("monthly"),
    "quarterly": gettext_lazy("quarterly"),
    "semi-annual": gettext_lazy("every six months"),
    "annual": gettext_lazy("annually"),
    "same as subscription term": gettext_lazy("once for the whole term"),
}


@register.filter
def billing(period: object) -> str:
    """`billed {{ period|billing }}`: "billed annually", never "billed annual"."""
    text = str(period or "").strip()
    return str(BILLING_WORDS.get(text.lower(), text.lower()))
