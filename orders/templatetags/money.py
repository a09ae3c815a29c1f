"""`{{ order.total|money:order.currency }}`: an amount in the currency Nue gives for the record,
written the way the person's language writes money (Babel, CLDR): $1,234.56 in English,
1.234,56 € in German.

Money is Decimal end to end; this filter is the only place it becomes text. The currency always
comes from the Nue record the amount belongs to (an order's, an invoice's, a price book entry's,
a subscription's): the portal has no currency of its own.

Where Nue names no currency the amount is written with the generic currency sign ¤ (ISO 4217's
XXX, "no currency"): ¤1,234.56, 1.234,56 ¤. Never a guess: the sign shows the figure is Nue's but
its currency is unknown, everywhere alike. A code Nue sends that CLDR does not know is written
with the code in place of a symbol (ABC1,234.56), as CLDR does.

Amounts are rounded half up to the currency's digits (2 for EUR and USD, 0 for JPY). Negative
amounts (credits) carry a real minus sign (U+2212), which screen readers announce.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from babel import Locale
from babel.numbers import format_currency, get_currency_precision, get_currency_symbol
from django import template

from portal.l10n import current_locale

register = template.Library()

UNKNOWN = "XXX"
MINUS = "\u2212"
CURRENCY_CODE = re.compile(r"[A-Za-z]{3}")
# Amounts on which a locale's shortcut must agree with Babel: every group length, rounding
# up into a new group, negatives (a minus zero too) and zero.
PROBES = tuple(
    Decimal(text)
    for text in (
        "0",
        "-0.001",
        "0.5",
        "7.25",
        "1234.5",
        "-98765.4321",
        "999999.995",
        "1000000",
        "123456789012.34",
    )
)


def currency_code(currency: object) -> str:
    """An ISO 4217 code as Nue names it ("eur" → "EUR"), or XXX where it names none."""
    text = str(currency or "").strip()
    return text.upper() if CURRENCY_CODE.fullmatch(text) else UNKNOWN


def shared_currency(codes: Iterable[str | None]) -> str | None:
    """The currency of a figure summed over several records: theirs when they all name the same
    one, else None (shown as unknown: a sum across currencies has none)."""
    found = {currency_code(code) for code in codes}
    return found.pop() if len(found) == 1 and UNKNOWN not in found else None


@register.filter
def money(value: object, currency: object = None, *, whole: bool = False) -> str:
    """`whole`: no minor units (a chart's axis, whose ticks are round amounts)."""
    if value is None or value == "":
        return "—"
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not amount.is_finite():
        return str(value)
    return _formatter(current_locale(), currency_code(currency), whole)(amount)


@cache
def _formatter(locale: Locale, code: str, whole: bool) -> Callable[[Decimal], str]:
    """How one locale writes amounts in one currency. Lists print hundreds of amounts, so the
    locale's pattern is read once here: for the usual patterns (groups of three, the sign and
    symbol around the digits) the digits are Python's and only the separators are the
    locale's; any other pattern goes through Babel each time. tests/orders/test_money_filter.py
    checks that both agree with Babel's format_currency."""
    digits = 0 if whole else get_currency_precision(code)
    step = Decimal(1).scaleb(-digits)
    pattern = locale.currency_formats["standard"]
    symbol = get_currency_symbol(code, locale)
    symbols = locale.number_symbols.get("latn", locale.number_symbols)
    decimal, group = symbols["decimal"], symbols["group"]

    def rounded(amount: Decimal) -> Decimal:
        return amount.quantize(step, rounding=ROUND_HALF_UP)

    simple = (
        pattern.grouping == (3, 3)
        and pattern.scale == 0
        and not pattern.exp_prec
        and all("¤" not in part.replace("¤", "", 1) for part in (*pattern.prefix, *pattern.suffix))
    )

    def babel(amount: Decimal) -> str:
        return _signed(
            format_currency(
                rounded(amount),
                code,
                format=_whole_pattern(pattern.pattern) if whole else None,
                locale=locale,
                currency_digits=not whole,
            )
        )

    if not simple:
        return babel
    positive = (pattern.prefix[0].replace("¤", symbol), pattern.suffix[0].replace("¤", symbol))
    negative = (pattern.prefix[1].replace("¤", symbol), pattern.suffix[1].replace("¤", symbol))
    separators = {ord(","): group, ord("."): decimal}

    def write(amount: Decimal) -> str:
        exact = rounded(amount)
        prefix, suffix = negative if exact.is_signed() else positive
        text = f"{abs(exact):,.{digits}f}".translate(separators)
        return _signed(f"{prefix}{text}{suffix}")

    # CLDR has more rules than the usual pattern shows (a locale may group only from five
    # digits on): the shortcut serves a locale and currency only where it writes what Babel
    # writes.
    if all(write(amount) == babel(amount) for amount in PROBES):
        return write
    return babel


def _whole_pattern(pattern: str) -> str:
    return re.sub(r"\.0+", "", pattern)


def _signed(text: str) -> str:
    return text.replace("-", MINUS)
