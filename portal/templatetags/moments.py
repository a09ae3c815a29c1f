"""`{{ event.created_at|moment }}`: a moment as the person reads it, in their time zone:
`<time datetime="2026-11-23T13:05:00+00:00">23 Nov 2026, 14:05</time>` for a person in Berlin.
`{{ value|moment:"seconds" }}` adds the seconds; `{{ value|clock }}` is the time of day alone
(14:05), `{{ value|clock:"seconds" }}` with seconds. Formats: portal.l10n.
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from portal.l10n import clock_text, local, moment_text, zone_name

register = template.Library()


def _time(value: object, text: str) -> SafeString:
    assert isinstance(value, datetime)
    return format_html('<time datetime="{}">{}</time>', local(value).isoformat(), text)


@register.filter
def moment(value: object, precision: str = "") -> SafeString | str:
    if not isinstance(value, datetime):
        return "—"
    return _time(value, moment_text(value, seconds=precision == "seconds"))


@register.filter
def clock(value: object, precision: str = "") -> SafeString | str:
    if not isinstance(value, datetime):
        return "—"
    return _time(value, clock_text(value, seconds=precision == "seconds"))


@register.filter
def moment_words(value: object) -> str:
    """A moment as `moment` prints it, without the <time> element: for plain-text emails."""
    if not isinstance(value, datetime):
        return "—"
    return f"{moment_text(value)} {zone_name()}"


@register.simple_tag
def time_zone() -> str:
    """The person's time zone, to say which one the times of a page are in: Europe/Berlin."""
    return zone_name()
