"""The orders' filters and functions in the portal's template engine (portal/jinja2.py)."""

from __future__ import annotations

import jinja2

from orders.change_forms import change_type_label
from orders.templating.approvals import approval_badge
from orders.templating.badges import (
    invoice_badge,
    order_badge,
    payment_status,
    payment_status_hint,
    subscription_badge,
)
from orders.templating.charts import spend_chart
from orders.templating.dates import billing, day
from orders.templating.money import money
from orders.templating.numbers import quantity


def install(env: jinja2.Environment) -> None:
    env.filters.update(
        money=money,
        day=day,
        billing=billing,
        quantity=quantity,
        order_badge=order_badge,
        subscription_badge=subscription_badge,
        invoice_badge=invoice_badge,
        payment_status=payment_status,
        payment_status_hint=payment_status_hint,
        approval_badge=approval_badge,
        change_type=change_type_label,
    )
    env.globals.update(spend_chart=spend_chart)
