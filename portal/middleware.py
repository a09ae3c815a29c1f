"""Resolve the acting customer of each request from the session's membership.

The customer id never comes from anything the browser sends: the session stores the id of one
of the user's memberships, and it is re-validated against the database on every request.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers

from portal.l10n import zone_or_none
from portal.models import Membership, User

SESSION_KEY = "acting_membership_id"
LANGUAGES = frozenset(code for code, _ in settings.LANGUAGES)


def resolve_membership(request: HttpRequest) -> Membership | None:
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = user.loaded_memberships
    if memberships is None:  # a user loaded another way than by MembershipBackend
        memberships = tuple(Membership.objects.select_related("account").filter(user=user))
    chosen = request.session.get(SESSION_KEY)
    if chosen is not None:
        for membership in memberships:
            if membership.pk == chosen:
                return membership
        del request.session[SESSION_KEY]
    return memberships[0] if len(memberships) == 1 else None


def acting_customer(get_response: Callable[[HttpRequest], HttpResponse]):
    def middleware(request: HttpRequest) -> HttpResponse:
        membership = resolve_membership(request)
        request.membership = membership  # type: ignore[attr-defined]
        request.customer = membership.account if membership else None  # type: ignore[attr-defined]
        return get_response(request)

    return middleware


def no_store(get_response: Callable[[HttpRequest], HttpResponse]):
    """Signed-in pages and exports carry customer data: no browser or proxy may keep a copy."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if request.user.is_authenticated:
            add_never_cache_headers(response)
        return response

    return middleware


def personal_locale(get_response: Callable[[HttpRequest], HttpResponse]):
    """A signed-in person reads every page in their own language and time zone (set on
    /account/). Until they have chosen, LocaleMiddleware's choice from Accept-Language stands,
    and times are in UTC. Under impersonation that is the customer user's: the agent sees what
    the customer sees."""

    def middleware(request: HttpRequest) -> HttpResponse:
        user = request.user
        if not isinstance(user, User) or not user.is_authenticated:
            return get_response(request)
        if user.language in LANGUAGES and user.language != translation.get_language():
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        # None (no zone chosen yet) is the default zone, UTC: nothing a previous request of this
        # thread activated lingers.
        with timezone.override(zone_or_none(user.time_zone)):
            return get_response(request)

    return middleware
