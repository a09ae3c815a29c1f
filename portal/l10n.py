"""Dates and times as each person reads them: in their language's format and their time zone.

The active language and time zone are the person's (portal.middleware.personal_locale). Every
date the portal prints and every date input it offers goes through this module, so what a page
shows is what its date fields accept:

- English: 23 Nov 2026 (day, abbreviated month, year: never 11/12 against 12/11);
- German: 23.11.2026 (CLDR's medium date for German).

Times are on a 24-hour clock in both (14:05), in the person's zone. A date input also accepts
ISO 8601 (2026-11-23), which links and bookmarks carry whatever the language.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, get_month_names
from django.conf import settings
from django.utils import timezone, translation

# Per language, the CLDR date pattern the portal prints; another language gets its CLDR medium
# date. Day, month and year each appear once in every pattern (the parser relies on it).
DATE_PATTERNS = {"en": "d MMM y", "de": "dd.MM.y"}
# The example a date input shows as its placeholder: a day whose day and month differ.
EXAMPLE_DAY = date(2026, 11, 23)
ISO_DAY = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")
TOKEN = re.compile(r"\d+|[^\W\d_]+", re.UNICODE)


def language() -> str:
    """The active language's code as settings.LANGUAGES names it ("en", "de")."""
    code = translation.get_language() or settings.LANGUAGE_CODE
    return code.split("-")[0].lower()


@cache
def babel_locale(code: str) -> Locale:
    try:
        return Locale.parse(translation.to_locale(code))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(translation.to_locale(settings.LANGUAGE_CODE))


def current_locale() -> Locale:
    return babel_locale(language())


@dataclass(frozen=True)
class DateStyle:
    """One language's way of writing a date, for printing and for reading back."""

    locale: Locale
    pattern: str
    order: tuple[str, str, str]  # "d", "M", "y" in the order the pattern writes them
    months: dict[str, int]  # every month name and abbreviation, case-folded, without dots

    def format(self, value: date) -> str:
        if self.pattern == "dd.MM.y":
            return f"{value.day:02d}.{value.month:02d}.{value.year}"
        if self.pattern == "d MMM y" and self.locale.language == "en":
            # Lists print hundreds of dates; Babel's formatter costs more than the rest of a row.
            return f"{value.day} {ENGLISH_MONTHS[value.month - 1]} {value.year}"
        return format_date(value, self.pattern, locale=self.locale)

    def parse(self, text: str) -> date | None:
        """The date `text` names in this style or in ISO 8601, or None."""
        iso = ISO_DAY.match(text)
        if iso:
            return _day(int(iso[1]), int(iso[2]), int(iso[3]))
        tokens = TOKEN.findall(text.casefold())
        if len(tokens) != 3:
            return None
        fields = dict(zip(self.order, tokens, strict=True))
        day, month, year = fields["d"], fields["M"], fields["y"]
        if not (day.isdigit() and year.isdigit() and len(year) == 4):
            return None
        number = int(month) if month.isdigit() else self.months.get(month)
        if number is None:
            return None
        return _day(int(year), number, int(day))


ENGLISH_MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


def _day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


@cache
def date_style(code: str) -> DateStyle:
    locale = babel_locale(code)
    pattern = DATE_PATTERNS.get(code) or locale.date_formats["medium"].pattern
    order = tuple(ch for ch in re.sub(r"'[^']*'", "", pattern) if ch in "dMy")
    fields = tuple(dict.fromkeys(order))  # "dd" and "y" once each
    months: dict[str, int] = {}
    for width in ("abbreviated", "wide"):
        for context in ("format", "stand-alone"):
            for number, name in get_month_names(width, context, locale).items():
                months[name.casefold().rstrip(".")] = number
    if sorted(fields) != ["M", "d", "y"]:
        raise ValueError(f"The date pattern {pattern!r} must have a day, a month and a year.")
    return DateStyle(locale, pattern, fields, months)  # type: ignore[arg-type]


def current_style() -> DateStyle:
    return date_style(language())


def day_text(value: date) -> str:
    """A date in the active language: 23 Nov 2026, 23.11.2026."""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return current_style().format(value)


def parse_day(text: str) -> date | None:
    """A date as typed in the active language's format (or ISO 8601), or None."""
    return current_style().parse(text)


def day_example() -> str:
    """What a date input shows as its placeholder: the format, by an example."""
    return day_text(EXAMPLE_DAY)


def local(value: datetime) -> datetime:
    """A moment in the active time zone (the person's)."""
    return timezone.localtime(value) if timezone.is_aware(value) else value


def clock_text(value: datetime, *, seconds: bool = False) -> str:
    """The time of day of a moment in the person's zone, on a 24-hour clock: 14:05."""
    moment = local(value)
    return f"{moment:%H:%M:%S}" if seconds else f"{moment:%H:%M}"


def moment_text(value: datetime, *, seconds: bool = False) -> str:
    """A moment in the person's zone: 23 Nov 2026, 14:05 (23.11.2026, 14:05 in German)."""
    moment = local(value)
    return f"{current_style().format(moment.date())}, {clock_text(moment, seconds=seconds)}"


def zone_name() -> str:
    """The active time zone's IANA name, as the person chose it (Europe/Berlin)."""
    return str(timezone.get_current_timezone_name())


@cache
def valid_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone_or_none(name: str) -> tzinfo | None:
    """The IANA zone of that name, or None for a name zoneinfo does not know."""
    if not name or name not in valid_zones():
        return None
    return zoneinfo.ZoneInfo(name)


def supported_language(code: str) -> str:
    """One of settings.LANGUAGES for a browser's language tag ("de-AT" → "de"), or ""."""
    try:
        return translation.get_supported_language_variant(code.strip())
    except LookupError:
        return ""
