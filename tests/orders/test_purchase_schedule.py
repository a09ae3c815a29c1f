"""The invoice schedule summary and proration in words (orders.actions.schedule)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from orders.actions.schedule import add_months, build_schedule
from orders.nue import Invoice, InvoiceDetail, InvoiceItem


def invoice(day: date, end: date, amount: str, *, prorated: bool = False) -> Invoice:
    detail = InvoiceDetail(day, end, Decimal(amount), prorated)
    item = InvoiceItem(
        "Pro Plan", Decimal(amount), Decimal(0), Decimal(1), Decimal(amount),
        "p1", "line-1", day, end, (detail,),
    )  # fmt: skip
    return Invoice(
        None, None, None, "Draft", None, day, None, day, end, Decimal(amount), None,
        Decimal(0), None, None, None, (item,),
    )  # fmt: skip


def test_it_adds_months_at_the_end_of_short_months():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)


def test_it_summarises_due_today_next_and_recurring():
    today = date(2026, 1, 15)
    invoices = [
        invoice(date(2026, 1, 15), date(2026, 2, 14), "25.00"),
        invoice(date(2026, 2, 15), date(2026, 3, 14), "25.00"),
        invoice(date(2026, 3, 15), date(2026, 3, 29), "12.10", prorated=True),
    ]
    schedule = build_schedule(invoices, today=today)
    assert schedule.due_today == Decimal("25.00")
    assert schedule.next_invoice == invoices[1]
    assert schedule.recurring == invoices[2]
    assert schedule.total == Decimal("62.10")


def test_it_spells_out_proration_against_the_full_period():
    invoices = [
        invoice(date(2026, 1, 15), date(2026, 2, 14), "25.00"),
        invoice(date(2026, 2, 15), date(2026, 3, 14), "25.00"),
        invoice(date(2026, 3, 15), date(2026, 3, 29), "12.10", prorated=True),
    ]
    schedule = build_schedule(invoices, today=date(2026, 1, 15))
    assert schedule.invoices[0].items[0].proration is None
    assert schedule.invoices[2].items[0].proration == "prorated 15 of 31 days"


def test_it_uses_the_billing_period_when_the_schedule_has_one_invoice():
    only = [invoice(date(2026, 1, 1), date(2026, 6, 30), "600.00", prorated=True)]
    schedule = build_schedule(only, today=date(2026, 1, 1), periods={"p1": "Annual"})
    assert schedule.invoices[0].items[0].proration == "prorated 181 of 365 days"
    assert schedule.next_invoice is None
    assert schedule.recurring is None
