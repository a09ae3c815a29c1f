"""Quantities read as people write them: 400 seats, 2.5 hours; never 4E+2 or 400.00."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.template import engines
from django.utils import translation

from orders.actions.change_figures import explain
from orders.nue import OrderLine
from orders.templatetags.numbers import plural_count, quantity


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("400"), "400"),
        (Decimal("400.00"), "400"),
        (Decimal("1E+2"), "100"),
        (Decimal("2.50"), "2.5"),
        (Decimal("0"), "0"),
        (12, "12"),
        (None, "—"),
    ],
)
def test_a_quantity_is_written_in_plain_digits(value, text):
    assert quantity(value) == text


TERM = (
    "{% load i18n numbers %}"
    "{% blocktranslate count months=term|plural_count with n=term|floatformat:'-2' %}"
    "{{ n }} month{% plural %}{{ n }} months{% endblocktranslate %}"
)


@pytest.mark.filterwarnings("error::DeprecationWarning")
@pytest.mark.parametrize(
    ("term", "language", "text"),
    [
        (Decimal("1"), "en", "1 month"),
        (Decimal("12.00"), "en", "12 months"),
        (Decimal("1.4"), "en", "1.40 months"),
        (Decimal("0.5"), "en", "0.50 months"),
        (Decimal("1"), "de", "1 Monat"),
        (Decimal("1.4"), "de", "1,40 Monate"),
        (24, "de", "24 Monate"),
    ],
)
def test_a_term_takes_its_plural_form_whole_or_not(term, language, text):
    """gettext chooses by a whole number: a fraction of a month reads as plural, as English and
    German write it, and no Decimal reaches gettext (Python deprecates that)."""
    with translation.override(language):
        assert engines["django"].from_string(TERM).render({"term": term}) == text


@pytest.mark.parametrize(
    ("value", "count"), [(Decimal("1"), 1), (Decimal("3.0"), 3), (Decimal("1.5"), 2), (0, 0)]
)
def test_plural_count_is_the_count_or_one_that_reads_plural(value, count):
    assert plural_count(value) == count
    assert type(plural_count(value)) is int


def test_the_change_pages_filter_writes_hundreds_in_digits():
    template = engines["django"].from_string("{% load numbers %}{{ sub.quantity|quantity }} seats")
    assert template.render({"sub": {"quantity": Decimal("400")}}) == "400 seats"


def test_a_prorated_line_is_explained_with_its_quantity_in_digits():
    line = OrderLine(
        id="L-1",
        product_name="Seats",
        quantity=Decimal("-100"),
        total_price=Decimal("-250.00"),
        product_id=None,
        product_sku=None,
        price_book_entry_id=None,
        product_option_id=None,
        parent_id=None,
        list_price=None,
        sales_price=None,
        start_date=date(2026, 12, 1),
        end_date=date(2026, 12, 31),
        term=None,
        price_model=None,
        change_type=None,
    )
    assert explain(line, "USD").startswith(
        "Credit for 100 \N{MULTIPLICATION SIGN} Seats you no longer"
    )
    assert "(31 days)" in explain(line, "USD")


def test_a_one_day_line_says_one_day():
    line = OrderLine(
        id="L-1",
        product_name="Seats",
        quantity=Decimal("2"),
        total_price=Decimal("1.50"),
        product_id=None,
        product_sku=None,
        price_book_entry_id=None,
        product_option_id=None,
        parent_id=None,
        list_price=None,
        sales_price=None,
        start_date=date(2026, 12, 31),
        end_date=date(2026, 12, 31),
        term=None,
        price_model=None,
        change_type=None,
    )
    assert "(1 day)" in explain(line, "USD")
    assert "1 days" not in explain(line, "USD")
