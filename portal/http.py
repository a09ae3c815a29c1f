"""The request type of signed-in pages, for views' type annotations, and whether a request asks
for a page or the region HTMX swaps.

Middleware adds these attributes: `customer` and `membership` (portal.middleware.acting_customer),
`impersonation` and `impersonator` (portal.impersonation.middleware). LoginRequiredMiddleware
guarantees `user` is a User. The orders app's pages also have `nue` (orders.http).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from portal.impersonation import Impersonation
    from portal.models import CustomerAccount, Membership, User


class PortalRequest(HttpRequest):
    user: User
    customer: CustomerAccount | None
    membership: Membership | None
    htmx: HtmxDetails
    impersonation: Impersonation | None
    impersonator: User | None


def is_partial(request: HttpRequest) -> bool:
    """Answer with the region HTMX swaps rather than the page: an HTMX request, unless it
    restores history (which needs the whole page)."""
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.history_restore_request
