from __future__ import annotations

import re
from functools import cached_property

from django.http import HttpRequest

from portal.impersonation import may_use_support
from portal.models import User
from portal.policy import can_manage_team, can_see_access_log, can_see_activity

ELEMENT_ID = re.compile(r"[A-Za-z][\w-]*")


def swap_target(request: HttpRequest) -> str | None:
    """The id of the element an HTMX request will replace, for a refusal or error partial to keep:
    the next request from the page then finds its target again."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.history_restore_request:
        return None
    target = htmx.target
    return target if target and ELEMENT_ID.fullmatch(target) else None


class StaffLinks:
    """Which staff pages the main navigation links to. Each is read from the database once, and
    only when a page shows the navigation (an HTMX partial does not)."""

    def __init__(self, request: HttpRequest) -> None:
        self._request = request

    @cached_property
    def support(self) -> bool:
        # Not while impersonating: the agent sees the portal as the customer user does.
        impersonating = getattr(self._request, "impersonation", None) is not None
        return may_use_support(self._request.user) and not impersonating

    @cached_property
    def review(self) -> bool:
        user = self._request.user
        return isinstance(user, User) and user.is_account_manager


def shell(request: HttpRequest) -> dict[str, object]:
    """What the base layout needs: the acting customer, the role, the account's and the staff's
    pages to link to, the nonce for scripts, and the element an HTMX request replaces."""
    membership = getattr(request, "membership", None)
    return {
        "acting_customer": getattr(request, "customer", None),
        "acting_membership": membership,
        # The account's own records the navigation links to, as portal.policy allows them.
        "account_pages": {
            "access_log": can_see_access_log(membership),
            "activity": can_see_activity(membership),
            "team": can_manage_team(membership),
        },
        "staff_links": StaffLinks(request),
        "csp_nonce": getattr(request, "csp_nonce", ""),
        "swap_target": swap_target(request),
    }
