"""An order's total is Nue's figure, whichever of its documented names carries it."""

from __future__ import annotations

import json
from decimal import Decimal

from orders.nue import Order
from tests.orders.conftest import order_json


def answered(*left_out: str, **extra: object) -> Order:
    """The order as the client reads Nue's answer (numbers as Decimal), without `left_out`."""
    raw = {k: v for k, v in order_json(**extra).items() if k not in left_out}
    return Order.parse(json.loads(json.dumps(raw), parse_float=Decimal))


def test_it_takes_grand_total_first():
    order = answered(grandTotal=120.5, netTotal=100, totalAmount=99)
    assert order.total == Decimal("120.5")


def test_it_takes_total_amount_when_nue_sends_only_that():
    # getting-started reads an order's totalAmount; such an order is not $0.00.
    order = answered("grandTotal", "netTotal", totalAmount=1158.3)
    assert order.total == Decimal("1158.3")
