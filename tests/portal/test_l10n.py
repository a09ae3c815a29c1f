"""portal.l10n: one date format per language, printed and read back the same; times in the
person's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from django import forms
from django.template import engines
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from portal.forms import LocalDateField
from portal.l10n import (
    clock_text,
    date_style,
    day_example,
    day_text,
    moment_text,
    parse_day,
    supported_language,
    zone_or_none,
)

MOMENT = datetime(2026, 11, 23, 13, 5, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "day", "text"),
    [
        ("en", date(2026, 11, 23), "23 Nov 2026"),
        ("en", date(2026, 9, 3), "3 Sep 2026"),
        ("de", date(2026, 11, 23), "23.11.2026"),
        ("de", date(2026, 3, 1), "01.03.2026"),
    ],
)
def test_it_prints_a_date_the_languages_way(language, day, text):
    with translation.override(language):
        assert day_text(day) == text
        assert parse_day(text) == day


@pytest.mark.parametrize(
    ("language", "typed", "day"),
    [
        ("en", "23 nov 2026", date(2026, 11, 23)),
        ("en", " 23 November 2026 ", date(2026, 11, 23)),
        ("en", "3 Sept 2026", None),
        ("en", "2026-11-23", date(2026, 11, 23)),
        ("en", "23 11 2026", date(2026, 11, 23)),
        ("en", "11/23/2026", None),
        ("en", "31 Feb 2026", None),
        ("en", "23 Nov 26", None),
        ("de", "1.3.2026", date(2026, 3, 1)),
        ("de", "23. Nov. 2026", date(2026, 11, 23)),
        ("de", "23. März 2026", date(2026, 3, 23)),
        ("de", "23.13.2026", None),
        ("de", "2026-03-01", date(2026, 3, 1)),
        ("de", "23.11.", None),
        ("de", "", None),
        ("de", "heute", None),
    ],
)
def test_it_reads_a_typed_date(language, typed, day):
    with translation.override(language):
        assert parse_day(typed) == day


@given(st.dates(min_value=date(1000, 1, 1)), st.sampled_from(["en", "de"]))
def test_every_printed_date_reads_back(day, language):
    with translation.override(language):
        assert parse_day(day_text(day)) == day


@pytest.mark.parametrize("language", ["en", "de", "fr", "ja"])
def test_every_languages_date_pattern_has_a_day_a_month_and_a_year(language):
    style = date_style(language)
    assert sorted(style.order) == ["M", "d", "y"]
    assert style.parse(style.format(date(2026, 11, 23))) == date(2026, 11, 23)


def test_a_moment_is_shown_in_the_persons_zone():
    with translation.override("de"), timezone.override(ZoneInfo("Europe/Berlin")):
        assert moment_text(MOMENT) == "23.11.2026, 14:05"
        assert moment_text(MOMENT, seconds=True) == "23.11.2026, 14:05:09"
        assert clock_text(MOMENT) == "14:05"
    with translation.override("en"), timezone.override(ZoneInfo("America/Los_Angeles")):
        assert moment_text(MOMENT) == "23 Nov 2026, 05:05"
    # A moment just after midnight in Berlin is the next day there.
    late = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    with translation.override("en"), timezone.override(ZoneInfo("Europe/Berlin")):
        assert day_text(late) == "24 Nov 2026"
    with translation.override("en"), timezone.override(ZoneInfo("UTC")):
        assert day_text(late) == "23 Nov 2026"


def test_the_templates_moment_filters_write_the_zone_and_the_machine_readable_time():
    template = engines["django"].from_string(
        "{% load moments dates %}{{ t|moment }}|{{ t|clock }}|{{ t|day }}|{% time_zone %}"
    )
    with translation.override("de"), timezone.override(ZoneInfo("Europe/Berlin")):
        html = template.render({"t": MOMENT})
    assert html == (
        '<time datetime="2026-11-23T14:05:09+01:00">23.11.2026, 14:05</time>|'
        '<time datetime="2026-11-23T14:05:09+01:00">14:05</time>|'
        '<time datetime="2026-11-23">23.11.2026</time>|Europe/Berlin'
    )
    assert template.render({"t": None}).startswith("—|—|—|")


class DateForm(forms.Form):
    on = LocalDateField()


@pytest.mark.parametrize(
    ("language", "shown", "example"),
    [("en", "23 Nov 2026", "23 Nov 2026"), ("de", "23.11.2026", "23.11.2026")],
)
def test_a_date_input_shows_and_reads_what_the_pages_print(language, shown, example):
    with translation.override(language):
        unbound = str(DateForm(initial={"on": date(2026, 11, 23)})["on"])
        assert f'value="{shown}"' in unbound
        assert f'placeholder="{example}"' in unbound
        assert 'type="text"' in unbound
        assert day_example() == example
        posted = DateForm({"on": shown})
        assert posted.is_valid(), posted.errors
        assert posted.cleaned_data["on"] == date(2026, 11, 23)
        # A default or a link in ISO 8601 is shown the page's way too.
        assert f'value="{shown}"' in str(DateForm({"on": "2026-11-23"})["on"])


@pytest.mark.parametrize(
    ("language", "error"),
    [
        ("en", "Enter a date like 23 Nov 2026."),
        ("de", "Geben Sie ein Datum wie 23.11.2026 ein."),
    ],
)
def test_a_date_it_cannot_read_says_the_format_and_stays_as_typed(language, error):
    with translation.override(language):
        form = DateForm({"on": "11/23/2026"})
        assert not form.is_valid()
        assert form.errors["on"] == [error]
        assert 'value="11/23/2026"' in str(form["on"])


def test_it_knows_iana_zones_only():
    assert zone_or_none("Europe/Berlin") == ZoneInfo("Europe/Berlin")
    assert zone_or_none("Europe/Atlantis") is None
    assert zone_or_none("") is None


def test_it_maps_a_browsers_language_to_ours():
    assert supported_language("de-AT") == "de"
    assert supported_language("en-GB") == "en"
    assert supported_language("fr") == ""
