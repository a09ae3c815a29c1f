"""Each person's language and time zone: defaulted from the browser, changed on /account/.

The language is taken from Accept-Language at the first sign-in; the time zone is posted once
by static/js/locale.js (the browser's Intl zone), since no request header carries it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext_lazy

from portal.l10n import valid_zones, zone_or_none
from portal.models import User

# Areas of the IANA database a person lives in; the rest are aliases kept for old systems
# (US/Pacific, Etc/GMT+5, posixrules).
ZONE_AREAS = (
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)
# The areas' names as the time zone list's groups show them.
AREA_NAMES = {
    "Africa": gettext_lazy("Africa"),
    "America": gettext_lazy("America"),
    "Antarctica": gettext_lazy("Antarctica"),
    "Arctic": gettext_lazy("Arctic"),
    "Asia": gettext_lazy("Asia"),
    "Atlantic": gettext_lazy("Atlantic"),
    "Australia": gettext_lazy("Australia"),
    "Europe": gettext_lazy("Europe"),
    "Indian": gettext_lazy("Indian Ocean"),
    "Pacific": gettext_lazy("Pacific"),
}


@receiver(user_logged_in, dispatch_uid="default_language")
def _default_language(
    sender: object, request: HttpRequest | None, user: User, **kwargs: Any
) -> None:
    """A person who has not chosen a language keeps the one their browser asked for."""
    # Not for django-hijack's switch: an agent's browser says nothing of the customer.
    if request is None or user.language or getattr(request, "impersonation_switch", False):
        return
    user.language = translation.get_language_from_request(request)
    user.save(update_fields=["language"])


def adopt_browser_zone(user: User, name: str) -> bool:
    """Set the zone the browser reports, unless the person has one: the browser's guess never
    overrides a choice. False for a name zoneinfo does not know."""
    if zone_or_none(name) is None:
        return False
    updated = User.objects.filter(pk=user.pk, time_zone="").update(time_zone=name)
    if updated:
        user.time_zone = name
    return True


def zone_groups(current: str = "") -> list[tuple[str, list[tuple[str, str]]]]:
    """The zones a person may choose, grouped by area for a <select>: ("Europe",
    [("Europe/Berlin", "Berlin"), ...]). `current` is kept even if it is an alias."""
    groups: dict[str, list[tuple[str, str]]] = {"UTC": [("UTC", "UTC")]}
    for name in sorted(valid_zones()):
        area, _, place = name.partition("/")
        if area in ZONE_AREAS and place:
            groups.setdefault(area, []).append((name, place.replace("_", " ")))
    if (
        current
        and current != "UTC"
        and not any(current == n for g in groups.values() for n, _ in g)
    ):
        groups["UTC"].append((current, current))
    return [(str(AREA_NAMES.get(area, area)), zones) for area, zones in groups.items()]
