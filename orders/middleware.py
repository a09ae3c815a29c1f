"""`request.nue`: the acting customer's Nue scope, and the catch for Nue failures of views."""

from __future__ import annotations

from collections.abc import Callable

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse

from orders.nue import NueError, serving_origin
from orders.nue.calls import recording
from orders.scope import for_customer
from orders.views.errors import database_error_response, serving_request, upstream_error_response


class NueMiddleware:
    """Sets `request.nue` (None without an acting customer) after portal.middleware.acting_customer.

    Building the scope makes no call; Nue is reached only when a view uses a verb. While the
    request is served, its origin is `serving_origin` (links built without SITE_URL), its Nue calls
    are noted (orders.nue.calls) and it is `serving_request`, so that a failure shown with a
    reference is kept with its call and its people. A NueError a view lets through becomes the
    friendly 404/409/422/502/503/504 answer of orders.views.errors; so does a failure of the
    portal's own database (503).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.nue = for_customer(getattr(request, "customer", None))  # type: ignore[attr-defined]
        origin = serving_origin.set(f"{request.scheme}://{request.get_host()}")
        serving = serving_request.set(request)
        try:
            with recording():
                return self.get_response(request)
        finally:
            serving_request.reset(serving)
            serving_origin.reset(origin)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, NueError):
            return upstream_error_response(request, exception)
        if isinstance(exception, DatabaseError):
            # The portal's database is down or partitioned: a friendly 503 with a retry button
            # instead of a 500, as for Nue being unreachable.
            return database_error_response(request, exception)
        return None
