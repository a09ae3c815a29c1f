"""Numbers as people write them: `{{ sub.quantity|quantity }}` gives 400, 2.5, never 4E+2 or
400.00; `{% blocktranslate count months=term|plural_count %}` picks a term's plural form."""

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


@register.filter
def plural_count(value: object) -> int:
    """The whole number gettext picks a plural form by, for a count that may be a fraction (a
    term of 1.5 months). A whole count is itself; a fraction takes the form English and German
    give every number but one, which 2 stands for. gettext's plural rules take whole numbers;
    Python warns of any other as deprecated."""
    if not isinstance(value, Decimal | int | float):
        return 0
    whole = int(value)
    return whole if whole == value else 2
