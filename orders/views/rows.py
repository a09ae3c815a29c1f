"""The long lists' rows, written out in Python.

A history page holds up to 100 orders of seven cells each; read cell by cell, Django's template
language spends several times on its lookups and filter calls what the formatting itself costs.
The row keeps what each cell shows, formatted by the same filters the templates use (money,
day, order_badge), so a cell reads the same whichever path wrote it. Words stay in the
template, where the translators find them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from orders.nue import Order
from orders.templatetags.badges import order_badge
from orders.templatetags.dates import day
from orders.templatetags.money import money
from portal.templatetags.urls import remembered_url


def order_rows(orders: Iterable[Order]) -> list[dict[str, Any]]:
    return [
        {
            "url": remembered_url("orders:order_detail", order.id),
            "number": order.order_number,
            "name": order.name,
            "po": order.po_number,
            "badge": order_badge(order),
            "placed": day(order.order_placed_date) if order.order_placed_date else None,
            "created": day(order.created_date),
            "start": day(order.start_date),
            "total": money(order.total, order.currency),
            "acv": money(order.order_acv, order.currency),
        }
        for order in orders
    ]
