"""`{{ amount|money }}` and `{{ amount|money:"EUR" }}`: money with its currency, in the locale.

Money is Decimal end to end; this filter is the only place it becomes text. Negative amounts
(credits) carry a real minus sign so screen readers announce them.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.utils.formats import number_format

register = template.Library()

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$", "JPY": "¥"}
ZERO_DECIMAL = frozenset({"JPY"})
CENT = Decimal("0.01")


@register.filter
def money(value: object, currency: str = "") -> str:
    if value is None or value == "":
        return "—"
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    code = (currency or settings.PORTAL_CURRENCY).upper()
    places = 0 if code in ZERO_DECIMAL else 2
    rounded = amount.quantize(Decimal(1) if places == 0 else CENT, rounding=ROUND_HALF_UP)
    digits = number_format(abs(rounded), places, use_l10n=True, force_grouping=True)
    symbol = SYMBOLS.get(code)
    text = f"{symbol}{digits}" if symbol else f"{digits} {code}"
    return f"\u2212{text}" if rounded < 0 else text
