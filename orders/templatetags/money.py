"""`{{ amount|money }}` and `{{ amount|money:"EUR" }}`: money with its currency, in the locale.

Money is Decimal end to end; this filter is the only place it becomes text. Negative amounts
(credits) carry a real minus sign so screen readers announce them.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from django import template
from django.conf import settings
from django.utils.formats import get_format, number_format

register = template.Library()

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$", "JPY": "¥"}
ZERO_DECIMAL = frozenset({"JPY"})
CENT = Decimal("0.01")


@register.filter
def money(value: object, currency: str = "", *, whole: bool = False) -> str:
    """`whole`: no cents (a chart's axis, whose ticks are round amounts)."""
    if value is None or value == "":
        return "—"
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    code = (currency or settings.PORTAL_CURRENCY).upper()
    places = 0 if whole or code in ZERO_DECIMAL else 2
    rounded = amount.quantize(Decimal(1) if places == 0 else CENT, rounding=ROUND_HALF_UP)
    digits = _digits(abs(rounded), places)
    symbol = SYMBOLS.get(code)
    text = f"{symbol}{digits}" if symbol else f"{digits} {code}"
    return f"\u2212{text}" if rounded < 0 else text


@cache
def _separators() -> tuple[str, str] | None:
    """The locale's (decimal, thousands) separators when it groups by three, else None.

    The portal speaks one language (USE_I18N is off), so the format is fixed per process.
    """
    if get_format("NUMBER_GROUPING") != 3:
        return None
    return str(get_format("DECIMAL_SEPARATOR")), str(get_format("THOUSAND_SEPARATOR"))


def _digits(amount: Decimal, places: int) -> str:
    """number_format(amount, places, force_grouping=True) of a rounded, non-negative amount,
    without its per-call lookups: this runs on every amount of every list."""
    separators = _separators()
    if separators is None:
        return number_format(amount, places, use_l10n=True, force_grouping=True)
    text = f"{amount:,.{places}f}"
    if separators == (".", ","):
        return text
    decimal, thousands = separators
    return text.translate({ord(","): thousands, ord("."): decimal})
