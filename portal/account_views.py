"""A person's own settings (/account/): language and time zone."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portal.forms import AccountSettingsForm
from portal.http import PortalRequest
from portal.l10n import day_example, moment_text, zone_or_none
from portal.models import User
from portal.preferences import adopt_browser_zone


def _own_user(request: PortalRequest) -> User:
    """The signed-in person, for changing their own settings; never an agent impersonating
    them, even elevated: a customer's language and time zone are theirs to choose."""
    if getattr(request, "impersonation", None) is not None:
        raise PermissionDenied(_("Only the person themself changes their language and time zone."))
    return request.user


@require_http_methods(["GET", "POST"])
def account(request: PortalRequest) -> HttpResponse:
    user = request.user
    impersonating = getattr(request, "impersonation", None) is not None
    form = AccountSettingsForm(request.POST or None, instance=user)
    if request.method == "POST":
        user = _own_user(request)
        if form.is_valid():
            form.save()
            # The confirmation reads in the language just chosen.
            translation.activate(user.language)
            messages.success(request, _("Your settings are saved."))
            return redirect("account")
    zone = zone_or_none(user.time_zone)
    with timezone.override(zone):
        sample = moment_text(timezone.now())
    ctx = {
        "form": form,
        "impersonating": impersonating,
        "sample": sample,
        "date_example": day_example(),
        "zone": user.time_zone or "UTC",
    }
    return render(request, "portal/account.html", ctx, status=422 if form.errors else 200)


@require_POST
def account_time_zone(request: PortalRequest) -> HttpResponse:
    """The browser's time zone, posted once by static/js/locale.js while the person has none."""
    user = _own_user(request)
    if not adopt_browser_zone(user, request.POST.get("time_zone", "")):
        return HttpResponse("Unknown time zone.", status=400, content_type="text/plain")
    return HttpResponse(status=204)
