"""The request type of signed-in pages, for views' type annotations.

Middleware adds these attributes: `customer` and `membership` (portal.middleware.acting_customer)
`nue` (orders.middleware.NueMiddleware), `impersonation` and `impersonator`
(portal.impersonation.middleware). LoginRequiredMiddleware guarantees `user` is a User.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from orders.scope import CustomerNue
    from portal.impersonation import Impersonation
    from portal.models import CustomerAccount, Membership, User


class PortalRequest(HttpRequest):
    user: User
    customer: CustomerAccount | None
    membership: Membership | None
    nue: CustomerNue | None
    htmx: HtmxDetails
    impersonation: Impersonation | None
    impersonator: User | None
