"""`{{ sub.quantity|quantity }}`: a quantity as people write it: 400, 2.5, never 4E+2 or 400.00."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def quantity(value: object) -> str:
    if not isinstance(value, Decimal | int):
        return "—" if value is None or value == "" else str(value)
    # normalize() drops trailing zeros but writes 400 as 4E+2; the f format writes the digits.
    return f"{Decimal(value).normalize():f}"
