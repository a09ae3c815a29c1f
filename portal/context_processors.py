from __future__ import annotations

import re

from django.http import HttpRequest

ELEMENT_ID = re.compile(r"[A-Za-z][\w-]*")


def swap_target(request: HttpRequest) -> str | None:
    """The id of the element an HTMX request will replace, for a refusal or error partial to keep:
    the next request from the page then finds its target again."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.history_restore_request:
        return None
    target = htmx.target
    return target if target and ELEMENT_ID.fullmatch(target) else None


def shell(request: HttpRequest) -> dict[str, object]:
    """What the base layout needs: the acting customer, the role, the nonce for scripts, and the
    element an HTMX request replaces."""
    return {
        "acting_customer": getattr(request, "customer", None),
        "acting_membership": getattr(request, "membership", None),
        "csp_nonce": getattr(request, "csp_nonce", ""),
        "swap_target": swap_target(request),
    }
