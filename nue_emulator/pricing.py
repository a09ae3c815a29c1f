"""The emulator's pricing engine: pure functions on `Decimal` and `date`, no database, no Django.

Where Nue's documentation is silent the decisions of ../shared/nue-api.md §5 apply; each function
says which one. Amounts are rounded half-up to cents once per line; every total is the sum of
rounded lines, so a total always equals what the lines show.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
ONE_DAY = timedelta(days=1)

# Months per billing period; "Same as Subscription Term" bills the whole term at once.
BILLING_PERIOD_MONTHS = {"Monthly": 1, "Quarterly": 3, "Semi-Annual": 6, "Annual": 12}
SAME_AS_TERM = "Same as Subscription Term"
BILLING_PERIODS = (*BILLING_PERIOD_MONTHS, SAME_AS_TERM)

# Flat tax rates by country, refined by US state (§5.12: "flat rate per state/country").
TAX_RATES_BY_COUNTRY = {
    "US": Decimal("0.06"),
    "DE": Decimal("0.19"),
    "FR": Decimal("0.20"),
    "GB": Decimal("0.20"),
    "NL": Decimal("0.21"),
}
TAX_RATES_BY_US_STATE = {"CA": Decimal("0.0725"), "NY": Decimal("0.04"), "TX": Decimal("0.0625")}
DEFAULT_TAX_RATE = Decimal("0.10")


def money(value: Decimal | int) -> Decimal:
    """Round to cents, half-up (§5.6)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# Dates and terms ---------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """Same day-of-month `months` later, clamped to the month's end (Jan 31 + 1 = Feb 28/29)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def term_end(start: date, months: int) -> date:
    """Inclusive end date: 12 months from 2025-07-01 ends 2026-06-30 (§5.7)."""
    return add_months(start, months) - ONE_DAY


def months_between(start: date, end: date) -> Decimal:
    """Months in the inclusive span start..end, for Nue's undocumented proration (§5.6).

    Whole months anchored on `start` count 1 each; the remaining partial month counts
    days_in_partial / days_in_that_month, where "that month" is the anchored month the partial
    span begins (so a full term is exactly its number of months). An empty span is 0.
    """
    if end < start:
        return Decimal(0)
    whole = 0
    while term_end(start, whole + 1) <= end:
        whole += 1
    anchor = add_months(start, whole)
    remaining = (end - anchor).days + 1
    if remaining <= 0:
        return Decimal(whole)
    month_days = (add_months(start, whole + 1) - anchor).days
    return Decimal(whole) + Decimal(remaining) / Decimal(month_days)


def whole_months(start: date, end: date) -> int:
    """The term in whole months of start..end (rounded up: 10 days count as a month's term)."""
    span = months_between(start, end)
    whole = int(span)
    return whole + 1 if span > whole else whole


# Price tags -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tier:
    start_unit: int
    end_unit: int | None
    discount_percentage: Decimal | None = None
    amount: Decimal | None = None


@dataclass(frozen=True)
class Tag:
    """A discount tag. Volume: the tier holding the total quantity prices every unit.
    Tiered: units are split across tiers, each tier discounting its own units.

    Nue does not say what a tier `amount` means for a discount tag; the emulator reads it as a
    discount per unit per month (per unit for one-time charges), never below a zero price.
    """

    code: str
    price_type: str
    tiers: tuple[Tier, ...]

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Tag:
        tiers = tuple(
            Tier(
                start_unit=int(t["startUnit"]),
                end_unit=None if t.get("endUnit") is None else int(t["endUnit"]),
                discount_percentage=_optional_decimal(t.get("discountPercentage")),
                amount=_optional_decimal(t.get("amount")),
            )
            for t in doc.get("priceTiers", [])
        )
        return cls(code=doc["code"], price_type=doc.get("priceType", "Volume"), tiers=tiers)


def _optional_decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _tier_unit_discount(tier: Tier, unit_price: Decimal) -> Decimal:
    if tier.discount_percentage is not None:
        return unit_price * tier.discount_percentage / 100
    if tier.amount is not None:
        return min(tier.amount, unit_price)
    return Decimal(0)


def tag_discount(tag: Tag, unit_price: Decimal, quantity: int) -> Decimal:
    """Unrounded discount per billing unit of time (a month, or once) for `quantity` units."""
    if quantity <= 0:
        return Decimal(0)
    if tag.price_type == "Tiered":
        total = Decimal(0)
        for tier in tag.tiers:
            top = quantity if tier.end_unit is None else min(quantity, tier.end_unit)
            units = top - tier.start_unit + 1
            if units > 0:
                total += units * _tier_unit_discount(tier, unit_price)
        return total
    for tier in tag.tiers:
        if tier.start_unit <= quantity and (tier.end_unit is None or quantity <= tier.end_unit):
            return quantity * _tier_unit_discount(tier, unit_price)
    return Decimal(0)


# Lines and totals --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinePrice:
    list_total: Decimal
    discount_amount: Decimal
    total: Decimal
    months: Decimal


def price_line(
    unit_price: Decimal,
    quantity: int,
    months: Decimal | None,
    tags: Sequence[Tag] = (),
) -> LinePrice:
    """List price x quantity x months (a one-time charge passes months=None), less its tags.

    Several tags on one line each discount the list price and their discounts add up, capped at
    the list total (Nue does not document stacking).
    """
    factor = Decimal(1) if months is None else months
    list_total = money(unit_price * quantity * factor)
    per_period = sum((tag_discount(tag, unit_price, quantity) for tag in tags), Decimal(0))
    discount = min(money(per_period * factor), list_total) if list_total > 0 else ZERO
    return LinePrice(list_total, discount, list_total - discount, factor)


def prorate(unit_price: Decimal, quantity: int, start: date, end: date) -> Decimal:
    """Charge (or, with a negative quantity, credit) for start..end inclusive (§5.6)."""
    return money(unit_price * quantity * months_between(start, end))


def cancel_credit(
    charged: Decimal, unit_price: Decimal, quantity: int, start: date, term_start: date, end: date
) -> Decimal:
    """Credit (a positive amount) for the unused span start..end of a term that began term_start.

    Day-based like any proration, and capped at what the term was charged: a credit never
    exceeds the money taken, whatever discounts or earlier changes did to the price.
    """
    if start < term_start:
        start = term_start
    return min(prorate(unit_price, quantity, start, end), max(charged, ZERO))


def tax_rate(country: str | None, state: str | None = None) -> Decimal:
    """The flat rate for a shipping address (§5.12); unknown countries use DEFAULT_TAX_RATE."""
    if not country:
        return ZERO
    country = country.upper()
    if country in ("US", "USA") and state and state.upper() in TAX_RATES_BY_US_STATE:
        return TAX_RATES_BY_US_STATE[state.upper()]
    return TAX_RATES_BY_COUNTRY.get("US" if country == "USA" else country, DEFAULT_TAX_RATE)


def tax(amount: Decimal, rate: Decimal) -> Decimal:
    """Tax on a line at `rate`; a credit line (negative) gives back the tax its charge carried,
    so a change order's tax follows its net amount (an upgrade's credit for the old plan offsets
    the new plan's tax rather than leaving the customer taxed on the gross charge)."""
    return money(amount * rate)


@dataclass(frozen=True)
class Totals:
    list_total: Decimal
    discount_amount: Decimal
    subtotal: Decimal
    tax_amount: Decimal
    net_total: Decimal
    grand_total: Decimal
    total_amount: Decimal
    acv: Decimal
    tcv: Decimal

    def as_api(self) -> dict[str, Any]:
        discount_pct = (
            money(self.discount_amount * 100 / self.list_total) if self.list_total else ZERO
        )
        return {
            "listTotal": self.list_total,
            "discount": discount_pct,
            "discountAmount": self.discount_amount,
            "systemDiscount": discount_pct,
            "systemDiscountAmount": self.discount_amount,
            "subtotal": self.subtotal,
            "taxAmount": self.tax_amount,
            "netTotal": self.net_total,
            "grandTotal": self.grand_total,
            "totalAmount": self.total_amount,
            "orderACV": self.acv,
            "orderTCV": self.tcv,
        }


@dataclass(frozen=True)
class PricedLine:
    """What totals need from a line: its rounded amounts and, for recurring lines, its months."""

    list_total: Decimal
    discount_amount: Decimal
    total: Decimal
    tax_amount: Decimal = ZERO
    months: Decimal | None = None


def totals(lines: Iterable[PricedLine]) -> Totals:
    """Header totals as sums of rounded lines.

    netTotal = subtotal = listTotal - discountAmount; grandTotal = totalAmount = netTotal + tax.
    orderTCV = netTotal (the whole contract, one-time charges included); orderACV annualises each
    recurring line (total x 12 / its months) and leaves one-time charges out (§5.8).
    """
    lines = list(lines)
    list_total = sum((line.list_total for line in lines), ZERO)
    discount = sum((line.discount_amount for line in lines), ZERO)
    net = sum((line.total for line in lines), ZERO)
    tax_amount = sum((line.tax_amount for line in lines), ZERO)
    acv = sum((money(line.total * 12 / line.months) for line in lines if line.months), ZERO)
    return Totals(
        list_total=list_total,
        discount_amount=discount,
        subtotal=net,
        tax_amount=tax_amount,
        net_total=net,
        grand_total=net + tax_amount,
        total_amount=net + tax_amount,
        acv=acv,
        tcv=net,
    )


# Invoice schedules -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slice:
    start: date
    end: date
    amount: Decimal
    tax_amount: Decimal
    prorated: bool


def billing_periods(
    start: date, end: date, billing_period: str, anchor: date | None = None
) -> list[tuple[date, date, bool]]:
    """Billing periods of start..end, billed in advance (§5.13), on the cycle that begins at
    `anchor` (default `start`): a span that joins a cycle mid-period first bills the rest of
    that period on its own, as a prorated partial period (nue-api.md §4, "the first partial
    period is invoiced on its own"), then whole periods on the cycle's dates.

    The last period is cut at `end` and marked prorated when shorter than a full period.
    """
    if end < start:
        return [(start, start, True)]
    if billing_period == SAME_AS_TERM:
        return [(start, end, False)]
    anchor = start if anchor is None or anchor > start else anchor
    step = BILLING_PERIOD_MONTHS[billing_period]
    periods = []
    k = 0
    while add_months(anchor, (k + 1) * step) <= start:
        k += 1
    while True:
        period_start = max(add_months(anchor, k * step), start)
        if period_start > end:
            break
        full_end = term_end(anchor, (k + 1) * step)
        partial = full_end > end or period_start != add_months(anchor, k * step)
        periods.append((period_start, min(full_end, end), partial))
        k += 1
    return periods


def schedule(
    total: Decimal,
    tax_amount: Decimal,
    start: date,
    end: date | None,
    billing_period: str,
    anchor: date | None = None,
) -> list[Slice]:
    """Split a line's total (and tax) over its billing periods in proportion to their months;
    `anchor` is the start of the billing cycle the line joins (see billing_periods).

    The last slice takes the remainder so the slices add up to the line exactly. A one-time line
    (end=None) is one slice on its start date.
    """
    if end is None:
        return [Slice(start, start, total, tax_amount, False)]
    periods = billing_periods(start, end, billing_period, anchor)
    span = months_between(start, end)
    slices = []
    billed = ZERO
    billed_tax = ZERO
    for index, (p_start, p_end, partial) in enumerate(periods):
        if index == len(periods) - 1:
            amount, amount_tax = total - billed, tax_amount - billed_tax
        else:
            share = months_between(p_start, p_end) / span if span else Decimal(0)
            amount, amount_tax = money(total * share), money(tax_amount * share)
        billed += amount
        billed_tax += amount_tax
        slices.append(Slice(p_start, p_end, amount, amount_tax, partial))
    return slices


@dataclass
class InvoiceDraft:
    invoice_date: date
    items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def amount_without_tax(self) -> Decimal:
        return sum((Decimal(i["amount"]) for i in self.items), ZERO)

    @property
    def tax_amount(self) -> Decimal:
        return sum((Decimal(i["taxAmount"]) for i in self.items), ZERO)


def group_invoices(
    entries: Iterable[tuple[Mapping[str, Any], Sequence[Slice]]],
    target: date | None = None,
) -> list[InvoiceDraft]:
    """One invoice per billing date: every line's slice starting that day becomes an item.

    `entries` pairs an item header (line id, product, quantity, unit price) with its slices;
    slices after `target` are left for later invoices.
    """
    by_date: dict[date, InvoiceDraft] = {}
    for header, slices in entries:
        for s in slices:
            if target is not None and s.start > target:
                continue
            draft = by_date.setdefault(s.start, InvoiceDraft(s.start))
            draft.items.append(
                {
                    **header,
                    "startDate": s.start,
                    "endDate": s.end,
                    "amount": s.amount,
                    "taxAmount": s.tax_amount,
                    "details": [
                        {
                            "startDate": s.start,
                            "endDate": s.end,
                            "amount": s.amount,
                            "taxAmount": s.tax_amount,
                            "prorated": s.prorated,
                        }
                    ],
                }
            )
    return [by_date[d] for d in sorted(by_date)]
