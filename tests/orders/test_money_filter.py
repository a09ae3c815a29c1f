"""`|money`: an amount in the currency Nue names, written as the person's language writes it."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from babel import Locale
from babel.numbers import format_currency, get_currency_precision
from django.template import engines
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from orders.templatetags.money import _formatter, currency_code, money, shared_currency

NBSP = "\xa0"


@pytest.mark.parametrize(
    ("language", "value", "currency", "expected"),
    [
        ("en", Decimal("1234.56"), "USD", "$1,234.56"),
        ("en", Decimal("1234.56"), "EUR", "€1,234.56"),
        ("en", Decimal("1500"), "JPY", "¥1,500"),
        ("en", Decimal("0"), "USD", "$0.00"),
        ("en", Decimal("-45.005"), "USD", "\u2212$45.01"),
        ("en", Decimal("1000000"), "EUR", "€1,000,000.00"),
        ("en", "99.999", "usd", "$100.00"),
        ("de", Decimal("1234.56"), "EUR", f"1.234,56{NBSP}€"),
        ("de", Decimal("1234.56"), "USD", f"1.234,56{NBSP}$"),
        ("de", Decimal("1234.5"), "JPY", f"1.235{NBSP}¥"),
        ("de", Decimal("-1234.56"), "EUR", f"\u22121.234,56{NBSP}€"),
        ("de", Decimal("0.5"), "EUR", f"0,50{NBSP}€"),
    ],
)
def test_it_writes_the_amount_in_its_currency_as_the_language_does(
    language, value, currency, expected
):
    with translation.override(language):
        assert money(value, currency) == expected


@pytest.mark.parametrize(
    ("language", "expected"), [("en", "¤1,234.50"), ("de", f"1.234,50{NBSP}¤")]
)
@pytest.mark.parametrize("currency", [None, "", "  ", "€", "EURO", 7])
def test_it_marks_an_amount_whose_currency_nue_does_not_name(language, expected, currency):
    with translation.override(language):
        assert money(Decimal("1234.5"), currency) == expected


def test_it_never_guesses_a_currency():
    with translation.override("en"):
        assert "$" not in money(Decimal(5))


@pytest.mark.parametrize("language", ["en", "de"])
def test_it_shows_a_dash_for_no_amount(language):
    with translation.override(language):
        assert money(None, "EUR") == "—"
        assert money("", "EUR") == "—"


def test_it_leaves_what_is_not_a_number_as_it_is():
    assert money("n/a", "USD") == "n/a"
    assert money("NaN", "USD") == "NaN"


def test_a_chart_axis_has_whole_amounts():
    with translation.override("en"):
        assert money(Decimal("1234.5"), "EUR", whole=True) == "€1,235"
    with translation.override("de"):
        assert money(Decimal("20000"), "EUR", whole=True) == f"20.000{NBSP}€"


def test_it_follows_the_active_language_in_a_template():
    template = engines["django"].from_string("{% load money %}{{ amount|money:currency }}")
    context = {"amount": Decimal("1234.56"), "currency": "EUR"}
    with translation.override("de"):
        assert template.render(context) == f"1.234,56{NBSP}€"
    with translation.override("en"):
        assert template.render(context) == "€1,234.56"


@given(
    st.decimals(min_value=-(10**12), max_value=10**12, places=4),
    st.sampled_from(["USD", "EUR", "JPY", "CHF", "KWD", "XXX", "ABC"]),
    st.sampled_from(["en", "de", "fr", "de_CH", "en_IN", "ar", "nl"]),
)
def test_it_writes_what_babel_writes(amount, currency, language):
    """The filter reads each locale's pattern once and writes the digits itself where it can;
    whatever the locale (Indian grouping, Swiss separators, Arabic), the text is Babel's,
    rounded half up and with a real minus sign."""
    exact = amount.quantize(
        Decimal(1).scaleb(-get_currency_precision(currency)), rounding=ROUND_HALF_UP
    )
    expected = format_currency(exact, currency, locale=language).replace("-", "\u2212")
    assert _formatter(Locale.parse(language), currency, False)(amount) == expected


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        (["EUR", "eur", "EUR"], "EUR"),
        (["EUR", "USD"], None),
        (["EUR", None], None),
        ([], None),
    ],
)
def test_a_sum_has_a_currency_only_when_its_parts_share_one(codes, expected):
    assert shared_currency(codes) == expected


def test_it_reads_iso_codes_only():
    assert currency_code("eur") == "EUR"
    assert currency_code(" usd ") == "USD"
    assert currency_code("€") == "XXX"


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("currency", ["USD", "EUR", "JPY", "XXX"])
def test_the_portals_languages_write_amounts_without_babel_each_time(
    monkeypatch, language, currency
):
    """A list prints hundreds of amounts: in the portal's own languages the locale's pattern is
    read once, and no amount goes through Babel's format_currency."""
    _formatter.cache_clear()
    calls = []
    monkeypatch.setattr(
        "orders.templatetags.money.format_currency",
        lambda *args, **kwargs: calls.append(args) or format_currency(*args, **kwargs),
    )
    write = _formatter(Locale.parse(language), currency, False)
    calls.clear()
    assert write(Decimal("-1234567.891")) == money_by_babel(
        Decimal("-1234567.891"), currency, language
    )
    assert calls == []
    _formatter.cache_clear()


def money_by_babel(amount: Decimal, currency: str, language: str) -> str:
    exact = amount.quantize(
        Decimal(1).scaleb(-get_currency_precision(currency)), rounding=ROUND_HALF_UP
    )
    return format_currency(exact, currency, locale=language).replace("-", "\u2212")
