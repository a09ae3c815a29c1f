"""Read the money a page shows and set it beside Nue's own figures for the same order."""

from __future__ import annotations

import re
from decimal import Decimal

from orders.nue import Order

FIGURE = re.compile(r'data-figure="([\w-]+)">([^<]*)<')
# As the filter writes them: "$13,140.00" in English, "13.140,00 €" in German; a credit with a
# real minus sign; ¤ where Nue names no currency.
ENGLISH = re.compile(r"^(\u2212?)([$€¤])([\d,]+\.\d\d)$")
GERMAN = re.compile(r"^(\u2212?)([\d.]+,\d\d)\xa0([$€¤])$")
SYMBOLS = {"USD": "$", "EUR": "€", None: "¤"}


def amount(text: str, currency: str | None = "USD") -> Decimal:
    """A shown amount as a Decimal, or a failed test; its symbol must be `currency`'s."""
    text = text.strip()
    if found := ENGLISH.match(text):
        sign, symbol, digits = found[1], found[2], found[3].replace(",", "")
    elif found := GERMAN.match(text):
        sign, digits, symbol = found[1], found[2].replace(".", "").replace(",", "."), found[3]
    else:
        raise AssertionError(f"not an amount: {text!r}")
    assert symbol == SYMBOLS[currency], f"{text!r} is not in {currency}"
    value = Decimal(digits)
    return -value if sign else value


def shown(html: str, currency: str | None = "USD") -> dict[str, Decimal]:
    """The order totals a page shows (templates/orders/_totals.html), by name."""
    figures: dict[str, Decimal] = {}
    for name, text in FIGURE.findall(html):
        assert name not in figures, f"{name} shown twice"
        figures[name] = amount(text, currency)
    return figures


def nues(order: Order) -> dict[str, Decimal]:
    """The same figures as Nue sent them: its own fields, none added to another."""
    figures = {
        "list": order.list_total,
        "discount": order.discount_amount,
        "subtotal": order.subtotal if order.subtotal is not None else order.net_total,
        "tax": order.tax_amount,
        "total": order.grand_total or order.net_total,
    }
    if order.system_discount_amount:
        figures["tag-discount"] = order.system_discount_amount
    return figures


def due_now(html: str, currency: str | None = "USD") -> Decimal:
    """The change preview's "Due now, after tax"."""
    found = re.search(r"<dt>Due now, after tax</dt><dd class=\"num\">([^<]*)</dd>", html)
    assert found, "no due-now figure"
    return amount(found[1], currency)
