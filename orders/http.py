"""The request type of the orders app's pages: a portal request with the acting customer's Nue
scope, `nue`, set by orders.middleware.NueMiddleware (None without an acting customer)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from portal.http import PortalRequest

if TYPE_CHECKING:
    from orders.scope import CustomerNue


class CustomerRequest(PortalRequest):
    nue: CustomerNue | None
