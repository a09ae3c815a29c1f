"""`{% spend_chart months %}`: a bar chart of monthly spend as server-rendered SVG.

No script and no inline style (the CSP forbids both): geometry is computed here and drawn with
presentation attributes; colours come from portal.css classes, so both themes apply. The same
numbers go into a visually hidden table for screen readers.

Every coordinate and label reaches the template as finished text: the chart is on every
dashboard, and filters on its ~150 values were the largest part of rendering that page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import Any

from babel.dates import format_date
from django import template

from orders.templatetags.money import money
from portal.l10n import current_locale

register = template.Library()

WIDTH = 720
HEIGHT = 260
LEFT = 80  # room for the axis labels, up to "$1,000,000" in 12 px type
TOP = 16
BOTTOM = 36  # room for the month labels
GAP = Decimal("0.3")  # share of each slot left empty between bars
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Bar:
    month: date
    amount: Decimal
    x: str
    y: str
    width: str
    height: str
    label_x: str
    title: str  # "Nov 2026: $1,200.00" (in the person's language)
    short: str  # "Nov"
    year: str  # "2026" under January and the first bar, else ""
    long: str  # "November 2026"
    money: str


@dataclass(frozen=True)
class Tick:
    amount: Decimal
    y: str
    label: str


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest 1, 2 or 5 times a power of ten that is at least `value` (axis maximum)."""
    if value <= 0:
        return Decimal(100)
    magnitude = Decimal(10) ** (value.adjusted())
    for step in (1, 2, 5, 10):
        if value <= magnitude * step:
            return (magnitude * step).quantize(Decimal(1), rounding=ROUND_CEILING)
    return magnitude * 10


def layout(months: list[tuple[date, Decimal]], currency: str | None = None) -> dict[str, Any]:
    plot_height = Decimal(HEIGHT - TOP - BOTTOM)
    plot_width = Decimal(WIDTH - LEFT)
    top = nice_ceiling(max((amount for _, amount in months), default=Decimal(0)))
    slot = plot_width / max(len(months), 1)
    locale = current_locale()
    bars = []
    for index, (month, amount) in enumerate(months):
        height = (plot_height * max(amount, Decimal(0)) / top).quantize(TENTH)
        x = LEFT + slot * index + slot * GAP / 2
        text = money(amount, currency)
        bars.append(
            Bar(
                month=month,
                amount=amount,
                x=str(x.quantize(TENTH)),
                y=str((TOP + plot_height - height).quantize(TENTH)),
                width=str((slot * (1 - GAP)).quantize(TENTH)),
                height=str(height),
                label_x=str((LEFT + slot * index + slot / 2).quantize(TENTH)),
                title=f"{format_date(month, 'MMM y', locale=locale)}: {text}",
                short=format_date(month, "LLL", locale=locale),
                year=str(month.year) if month.month == 1 or index == 0 else "",
                long=format_date(month, "LLLL y", locale=locale),
                money=text,
            )
        )
    ticks = [
        Tick(
            amount=top * share,
            y=str((TOP + plot_height * (1 - share)).quantize(TENTH)),
            label=money(top * share, currency, whole=True),
        )
        for share in (Decimal(0), Decimal("0.5"), Decimal(1))
    ]
    return {
        "bars": bars,
        "ticks": ticks,
        "width": str(WIDTH),
        "height": str(HEIGHT),
        "left": str(LEFT),
        "axis_x": str(LEFT - 8),
        "baseline": str(TOP + plot_height),
        "month_y": str(HEIGHT - BOTTOM + 20),
        "total": money(sum((amount for _, amount in months), Decimal(0)), currency),
    }


@register.inclusion_tag("orders/_spend_chart.html")
def spend_chart(
    months: list[tuple[date, Decimal]], currency: str | None = None, chart_id: str = "spend"
) -> dict[str, Any]:
    """`currency`: the invoices' (orders.actions.history.Spend)."""
    return {**layout(months, currency), "chart_id": chart_id}
