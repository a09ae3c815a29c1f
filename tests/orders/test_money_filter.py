from decimal import Decimal

import pytest

from orders.templatetags.money import money


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
