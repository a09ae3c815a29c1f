"""The request type of signed-in pages, for views' type annotations.

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
