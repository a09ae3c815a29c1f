"""`{{ value|amount:currency }}`: an amount on the emulator's printable pages, as Nue prints it.

Nue's pages are in the tenant's language (English here) whoever opens them; the currency is the
record's (`currency` of the order or invoice).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency
from django import template

from nue_emulator.catalog import CORPORATE_CURRENCY

register = template.Library()


@register.filter
def amount(value: object, currency: object = "") -> str:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return ""
    code = str(currency or CORPORATE_CURRENCY).upper()
    return format_currency(number, code, locale="en_US").replace("-", "\u2212")
