"""Read the money a page shows and set it beside Nue's own figures for the same order."""

from __future__ import annotations

import re
from decimal import Decimal

from orders.nue import Order

FIGURE = re.compile(r'data-figure="([\w-]+)">([^<]*)<')
AMOUNT = re.compile(r"^(\u2212?)\$([\d,]+\.\d\d)$")


def amount(text: str) -> Decimal:
    """A shown amount ("$13,140.00", a credit with a minus sign) as a Decimal, or a failed test."""
    found = AMOUNT.match(text.strip())
    assert found, f"not an amount: {text!r}"
    value = Decimal(found[2].replace(",", ""))
    return -value if found[1] else value


def shown(html: str) -> dict[str, Decimal]:
    """The order totals a page shows (templates/orders/_totals.html), by name."""
    figures: dict[str, Decimal] = {}
    for name, text in FIGURE.findall(html):
        assert name not in figures, f"{name} shown twice"
        figures[name] = amount(text)
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


def due_now(html: str) -> Decimal:
    """The change preview's "Due now, after tax"."""
    found = re.search(r"<dt>Due now, after tax</dt><dd class=\"num\">([^<]*)</dd>", html)
    assert found, "no due-now figure"
    return amount(found[1])
