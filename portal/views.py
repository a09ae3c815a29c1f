from __future__ import annotations

import hashlib
import logging
import sys
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import views as auth_views
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
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from portal.audit import client_ip
from portal.forms import ChooseCustomerForm, EmailAuthenticationForm, PortalPasswordResetForm
from portal.http import PortalRequest
from portal.impersonation import may_use_support
from portal.middleware import SESSION_KEY
from portal.models import Membership, User

logger = logging.getLogger(__name__)


def landing_url(user: object) -> str:
    """Where a person starts after signing in: an account manager on their book, a support
    agent on the support search, everyone else on their dashboard."""
    if isinstance(user, User) and user.is_account_manager:
        return reverse("orders:review")
    if isinstance(user, User) and may_use_support(user):
        return reverse("support")
    return reverse("home")


class SignInView(auth_views.LoginView):
    """Django's sign-in, landing each person where their work is (unless `next` says where)."""

    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return landing_url(self.request.user)


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
    ctx = {"memberships": list(memberships), "next": request.GET.get("next", "")}
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


def _error_page(
    request: HttpRequest, template: str, ctx: dict[str, Any], status: int
) -> HttpResponse:
    """The page, or for an HTMX request its error card alone: htmx swaps it in place of the
    element it targeted, where a whole document would nest a second page inside the first."""
    htmx = getattr(request, "htmx", None)
    partial = htmx is not None and bool(htmx) and not htmx.history_restore_request
    return render(request, template, {**ctx, "error_partial": partial}, status=status)


@login_not_required
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, "403.html", {"reason": str(exception or "")}, 403)


CSRF_FAILURE_MESSAGE = gettext_lazy(
    "This form had expired or came from another site, so nothing was sent. "
    "Reload the page and try again."
)


@login_not_required
def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    # Django's own page carries an inline style, which the content security policy blocks; the
    # technical reason is for logs, not for the person whose form went stale.
    return _error_page(request, "403.html", {"reason": CSRF_FAILURE_MESSAGE}, 403)


@login_not_required
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, "404.html", {}, 404)


@login_not_required
def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without the request context: whatever failed must not fail again here. Django
    # calls this while handling the exception, so the portal's database failing before a view
    # ran (loading the session or the user) reads as the outage it is, not as a bug.
    if isinstance(sys.exc_info()[1], DatabaseError):
        return render(None, "503.html", status=503)
    return render(None, "500.html", status=500)


# Each reset request sends a mail: a few per email and per address in an hour, so nobody can
# flood an inbox or use the portal to send mail in bulk.
RESET_REQUESTS_PER_EMAIL = 3
RESET_REQUESTS_PER_ADDRESS = 10
RESET_WINDOW_SECONDS = 60 * 60


def _count_reset_request(key: str) -> int:
    cache.add(key, 0, RESET_WINDOW_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, RESET_WINDOW_SECONDS)
        return 1


def reset_requests_exceeded(request: HttpRequest, email: str) -> bool:
    """Counts this request; true once its email or its address asked too often this hour."""
    digest = hashlib.sha256(email.strip().casefold().encode()).hexdigest()
    per_email = _count_reset_request(f"password-reset:email:{digest}")
    per_address = _count_reset_request(f"password-reset:address:{client_ip(request)}")
    return per_email > RESET_REQUESTS_PER_EMAIL or per_address > RESET_REQUESTS_PER_ADDRESS


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PortalPasswordResetForm

    def form_valid(self, form: Any) -> HttpResponse:
        if reset_requests_exceeded(self.request, form.cleaned_data["email"]):
            # The same answer whether or not the email has an account.
            return render(self.request, "registration/password_reset_paused.html", status=429)
        if settings.SITE_URL:
            site = urlsplit(settings.SITE_URL)
            self.extra_email_context = {"protocol": site.scheme, "domain": site.netloc}
        return super().form_valid(form)
