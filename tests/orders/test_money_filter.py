from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.formats import number_format
from hypothesis import given
from hypothesis import strategies as st

from orders.templatetags.money import _digits, _separators, money


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (Decimal("1234.5"), "", "$1,234.50"),
        (Decimal("0"), "USD", "$0.00"),
        (Decimal("-45.005"), "USD", "\u2212$45.01"),
        (Decimal("1000000"), "EUR", "€1,000,000.00"),
        (Decimal("1500"), "JPY", "¥1,500"),
        (Decimal("12.3"), "CHF", "12.30 CHF"),
        ("99.999", "", "$100.00"),
        (None, "", "—"),
    ],
)
def test_it_formats_money_with_its_currency(value, currency, expected):
    assert money(value, currency) == expected


def test_it_leaves_what_is_not_a_number_as_it_is():
    assert money("n/a") == "n/a"


@given(st.decimals(min_value=0, max_value=10**12, places=4), st.sampled_from([0, 2]))
def test_its_digits_match_djangos_number_format(amount, places):
    amount = amount.quantize(Decimal(1).scaleb(-places))  # as money() passes it: rounded, >= 0
    expected = number_format(amount, places, use_l10n=True, force_grouping=True)
    assert _digits(amount, places) == expected


def test_it_follows_the_locales_separators(settings):
    _separators.cache_clear()
    try:
        settings.USE_I18N, settings.LANGUAGE_CODE = True, "de"
        with translation.override("de"):
            _separators.cache_clear()
            assert money(Decimal("1234567.891"), "EUR") == "€1.234.567,89"
    finally:
        _separators.cache_clear()
