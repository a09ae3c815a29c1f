from __future__ import annotations

from django.http import HttpRequest


def shell(request: HttpRequest) -> dict[str, object]:
    """What the base layout needs: the acting customer, the role and the nonce for scripts."""
    return {
        "acting_customer": getattr(request, "customer", None),
        "acting_membership": getattr(request, "membership", None),
        "csp_nonce": getattr(request, "csp_nonce", ""),
    }
