"""The invoice schedule as the purchase pages show it: a summary on top (due today, next
invoice, recurring after that) and each invoice's items with proration spelled out in words."""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.translation import ngettext

from orders.nue import Invoice, InvoiceDetail, InvoiceItem
from orders.templatetags.money import shared_currency

PERIOD_MONTHS = {
    "Month": 1,
    "Monthly": 1,
    "Quarter": 3,
    "Quarterly": 3,
    "Semi-Annual": 6,
    "Annual": 12,
    "Annually": 12,
}


def add_months(day: date, months: int) -> date:
    """Calendar months; the day is clamped to the month's last (Jan 31 + 1 month = Feb 28/29)."""
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class ScheduleItem:
    item: InvoiceItem
    proration: str | None
    discount: str | None


@dataclass(frozen=True)
class ScheduleInvoice:
    invoice: Invoice
    items: tuple[ScheduleItem, ...]


@dataclass(frozen=True)
class Schedule:
    invoices: tuple[ScheduleInvoice, ...]
    due_today: Decimal
    next_invoice: Invoice | None
    recurring: Invoice | None
    total: Decimal
    currency: str | None = None  # of the sums above: the invoices' (orders.templatetags.money)


def _proration(detail: InvoiceDetail, months: int) -> str | None:
    if not detail.prorated or detail.start_date is None or detail.end_date is None:
        return None
    days = (detail.end_date - detail.start_date).days + 1
    full = (add_months(detail.start_date, months) - detail.start_date).days
    return ngettext(
        "prorated %(days)s of %(full)s day", "prorated %(days)s of %(full)s days", full
    ) % {"days": days, "full": full}


def _steps(invoices: Sequence[Invoice]) -> dict[str, int]:
    """Months between consecutive full billing periods of each order line, where visible."""
    starts: dict[str, list[date]] = {}
    for invoice in invoices:
        for item in invoice.items:
            key = item.order_product_id or item.product_id or item.product_name
            for detail in item.details:
                if detail.start_date is not None and not detail.prorated:
                    starts.setdefault(key, []).append(detail.start_date)
    steps = {}
    for key, days in starts.items():
        if len(days) > 1:
            a, b = sorted(days)[:2]
            steps[key] = max(1, (b.year - a.year) * 12 + b.month - a.month)
    return steps


def build_schedule(
    invoices: Sequence[Invoice],
    *,
    today: date,
    periods: Mapping[str, str | None] | None = None,
    discounts: Mapping[str, str] | None = None,
) -> Schedule:
    """`periods` maps a product id to its billing period, `discounts` to the price tag applied."""
    periods = periods or {}
    discounts = discounts or {}
    steps = _steps(invoices)
    rows = []
    for invoice in invoices:
        items = []
        for item in invoice.items:
            key = item.order_product_id or item.product_id or item.product_name
            period = periods.get(item.product_id or "") or ""
            months = steps.get(key) or PERIOD_MONTHS.get(period, 1)
            words = [w for w in (_proration(d, months) for d in item.details) if w]
            items.append(
                ScheduleItem(
                    item=item,
                    proration="; ".join(words) or None,
                    discount=discounts.get(item.product_id or ""),
                )
            )
        rows.append(ScheduleInvoice(invoice=invoice, items=tuple(items)))
    due = [i for i in invoices if i.invoice_date is None or i.invoice_date <= today]
    later = [i for i in invoices if i.invoice_date is not None and i.invoice_date > today]
    return Schedule(
        invoices=tuple(rows),
        due_today=sum((i.amount for i in due), Decimal(0)),
        next_invoice=later[0] if later else None,
        recurring=later[1] if len(later) > 1 else None,
        total=sum((i.amount for i in invoices), Decimal(0)),
        currency=shared_currency(i.currency for i in invoices),
    )
