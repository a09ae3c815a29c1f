"""`{{ day|day }}`: a date as `<time datetime="2026-11-23">23 Nov 2026</time>`.

One unambiguous format everywhere (no 11/12 vs 12/11 confusion across locales), with the
machine-readable date for assistive technology and browser extensions.
"""

from __future__ import annotations

from datetime import date

from django import template
from django.utils.html import format_html

register = template.Library()


@register.filter
def day(value: object) -> str:
    if not isinstance(value, date):
        return "—"
    return format_html(
        '<time datetime="{}">{}</time>', value.isoformat(), f"{value.day} {value:%b %Y}"
    )
