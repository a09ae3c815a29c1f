from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from orders.views import dashboard
from portal.forms import ChooseCustomerForm
from portal.http import PortalRequest
from portal.middleware import SESSION_KEY
from portal.models import Membership

logger = logging.getLogger(__name__)


@require_GET
def home(request: PortalRequest) -> HttpResponse:
    if request.customer is None and request.user.memberships.exists():
        return redirect("choose_customer")
    if request.customer is not None:
        return dashboard(request)
    ctx = {
        "book": request.user.book.order_by("name") if request.user.is_staff else [],
    }
    return render(request, "portal/home.html", ctx)


@require_http_methods(["GET", "POST"])
def choose_customer(request: PortalRequest) -> HttpResponse:
    memberships = Membership.objects.select_related("account").filter(user=request.user)
    if request.method == "POST":
        form = ChooseCustomerForm(request.POST)
        if not form.is_valid():
            raise Http404("No such membership.")
        # Only the user's own memberships are selectable; anything else is "not found".
        membership = memberships.filter(pk=form.cleaned_data["membership"]).first()
        if membership is None:
            raise Http404("No such membership.")
        request.session[SESSION_KEY] = membership.pk
        next_url = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = "/"
        # A plain redirect: redirect() would take a path without a slash ("0") for a view name.
        return HttpResponseRedirect(next_url)
    ctx = {"memberships": memberships, "next": request.GET.get("next", "")}
    return render(request, "portal/choose_customer.html", ctx)


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The database and the cache, each reported, for load balancers.

    Without the database nothing can be served: 503. Without Redis the portal still serves
    (sessions come from the database, Nue reads go uncached): 200, reported as degraded.
    """
    checks = {"database": _database_up(), "cache": _cache_up()}
    if not checks["database"]:
        status, code = "down", 503
    elif not checks["cache"]:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    body = {"status": status, **{name: "ok" if up else "down" for name, up in checks.items()}}
    return JsonResponse(body, status=code)


def _database_up() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.warning("Health check: the database did not answer", exc_info=True)
        return False
    return True


def _cache_up() -> bool:
    ping = getattr(cache, "ping", None)
    # The local-memory cache of the embedded setup lives in the process: it is up if we are.
    return bool(ping()) if ping is not None else True


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    return HttpResponsePermanentRedirect(static("favicon.svg"))


@login_not_required
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", {"reason": str(exception or "")}, status=403)


CSRF_FAILURE_MESSAGE = (
    "This form had expired or came from another site, so nothing was sent. "
    "Reload the page and try again."
)


@login_not_required
def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    # Django's own page carries an inline style, which the content security policy blocks; the
    # technical reason is for logs, not for the person whose form went stale.
    return render(request, "403.html", {"reason": CSRF_FAILURE_MESSAGE}, status=403)


@login_not_required
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


@login_not_required
def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without the request context: whatever failed must not fail again here.
    return render(None, "500.html", status=500)
