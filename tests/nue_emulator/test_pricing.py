"""The pricing engine on its own: term arithmetic, proration, tags, tax, totals, schedules."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from nue_emulator import pricing
from nue_emulator.pricing import Tag, Tier

D = Decimal

dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
prices = st.decimals(min_value=D("0"), max_value=D("10000"), places=2)
quantities = st.integers(min_value=1, max_value=10_000)
terms = st.integers(min_value=1, max_value=60)
periods = st.sampled_from(pricing.BILLING_PERIODS)


def test_it_rounds_half_up_to_cents():
    assert pricing.money(D("2.345")) == D("2.35")
    assert pricing.money(D("2.344")) == D("2.34")
    assert pricing.money(D("-2.345")) == D("-2.35")


def test_it_ends_terms_inclusively():
    assert pricing.term_end(date(2025, 7, 1), 12) == date(2026, 6, 30)
    assert pricing.term_end(date(2025, 1, 31), 1) == date(2025, 2, 27)
    assert pricing.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)


def test_it_counts_partial_months_by_days():
    assert pricing.months_between(date(2026, 1, 1), date(2026, 12, 31)) == 12
    assert pricing.months_between(date(2026, 12, 17), date(2026, 12, 31)) == D(15) / D(31)
    assert pricing.months_between(date(2026, 2, 1), date(2026, 1, 31)) == 0


def test_it_prices_volume_and_tiered_tags():
    volume = Tag("V", "Volume", (Tier(1, 9, D(0)), Tier(10, None, D(10))))
    tiered = Tag("T", "Tiered", (Tier(1, 10, D(0)), Tier(11, None, D(20))))
    assert pricing.tag_discount(volume, D(10), 9) == 0
    assert pricing.tag_discount(volume, D(10), 10) == D(10)  # every unit 10% off
    assert pricing.tag_discount(tiered, D(10), 15) == D(10)  # only 5 units 20% off
    amount = Tag("A", "Volume", (Tier(1, None, None, D(5)),))
    assert pricing.tag_discount(amount, D(3), 2) == D(6)  # never below a zero price


def test_it_prices_a_line_with_tags():
    welcome = Tag("W", "Volume", (Tier(1, None, D(10)),))
    line = pricing.price_line(D(25), 5, D(12), [welcome])
    assert (line.list_total, line.discount_amount, line.total) == (D(1500), D(150), D(1350))
    one_time = pricing.price_line(D(1500), 1, None)
    assert one_time.total == D(1500)


def test_it_taxes_by_country_and_state():
    assert pricing.tax_rate("US", "CA") == D("0.0725")
    assert pricing.tax_rate("DE") == D("0.19")
    assert pricing.tax_rate(None) == 0
    assert pricing.tax(D("100"), D("0.0725")) == D("7.25")


def test_it_bills_the_last_partial_period_prorated():
    periods = pricing.billing_periods(date(2026, 1, 1), date(2026, 4, 15), "Monthly")
    assert periods[-1] == (date(2026, 4, 1), date(2026, 4, 15), True)
    assert len(periods) == 4


def test_it_joins_a_billing_cycle_mid_period_with_a_partial_period_of_its_own():
    periods = pricing.billing_periods(
        date(2026, 5, 20), date(2026, 12, 31), "Quarterly", anchor=date(2026, 1, 1)
    )
    assert periods == [
        (date(2026, 5, 20), date(2026, 6, 30), True),
        (date(2026, 7, 1), date(2026, 9, 30), False),
        (date(2026, 10, 1), date(2026, 12, 31), False),
    ]
    assert pricing.billing_periods(
        date(2026, 4, 1), date(2026, 6, 30), "Quarterly", anchor=date(2026, 1, 1)
    ) == [(date(2026, 4, 1), date(2026, 6, 30), False)]


@given(prices, quantities, dates, terms)
def test_it_prices_a_full_term_as_the_full_price(price, quantity, start, term):
    end = pricing.term_end(start, term)
    assert pricing.prorate(price, quantity, start, end) == pricing.money(price * quantity * term)


@given(
    st.lists(st.tuples(prices, quantities, st.one_of(st.none(), terms)), min_size=1, max_size=20),
    st.decimals(min_value=0, max_value=D("0.25"), places=4),
)
def test_it_totals_the_sum_of_rounded_lines(lines, rate):
    priced = []
    for price, quantity, months in lines:
        line = pricing.price_line(price, quantity, None if months is None else D(months))
        priced.append(
            pricing.PricedLine(
                line.list_total,
                line.discount_amount,
                line.total,
                pricing.tax(line.total, rate),
                None if months is None else D(months),
            )
        )
    totals = pricing.totals(priced)
    assert totals.list_total == sum(p.list_total for p in priced)
    assert totals.net_total == sum(p.total for p in priced)
    assert totals.tax_amount == sum(p.tax_amount for p in priced)
    assert totals.grand_total == totals.net_total + totals.tax_amount
    for value in (totals.list_total, totals.net_total, totals.tax_amount, totals.acv):
        assert value == pricing.money(value)


@given(
    prices,
    quantities,
    dates,
    terms,
    st.integers(min_value=0, max_value=2000),
    st.decimals(min_value=0, max_value=100, places=2),
)
def test_it_never_credits_more_than_was_charged(price, quantity, start, term, offset, pct):
    end = pricing.term_end(start, term)
    tag = Tag("P", "Volume", (Tier(1, None, pct),))
    charged = pricing.price_line(price, quantity, pricing.months_between(start, end), [tag]).total
    sales = pricing.money(charged / (quantity * term)) if charged else D(0)
    cancel_on = start + timedelta(days=offset)
    credit = pricing.cancel_credit(charged, sales, quantity, cancel_on, start, end)
    assert D(0) <= credit <= charged


@given(
    st.decimals(min_value=D("-5000"), max_value=D("50000"), places=2),
    st.decimals(min_value=0, max_value=D("2000"), places=2),
    dates,
    terms,
    periods,
)
def test_it_schedules_invoices_that_add_up_to_the_line(total, tax_amount, start, term, period):
    end = pricing.term_end(start, term)
    slices = pricing.schedule(total, tax_amount, start, end, period)
    assert sum(s.amount for s in slices) == total
    assert sum(s.tax_amount for s in slices) == tax_amount
    assert slices[0].start == start
    assert max(s.end for s in slices) == end
