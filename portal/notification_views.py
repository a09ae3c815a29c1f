"""A member's email notifications for the acting account (/account/notifications/): which
non-essential emails they get. Support impersonating them sees the page and changes nothing."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal import impersonation, notifications
from portal.audit import record
from portal.forms import NotificationChoicesForm
from portal.models import AuditKind, Membership

TEMPLATE = "portal/notifications.html"


def _member(request: HttpRequest) -> Membership:
    """The acting membership: the page is a member's own, for the account they act for (staff
    acting for a customer of their book have none here)."""
    membership: Membership | None = getattr(request, "membership", None)
    if membership is None:
        raise Http404("No such page.")
    return membership


@require_http_methods(["GET", "POST"])
def notification_preferences(request: HttpRequest) -> HttpResponse:
    membership = _member(request)
    acting = impersonation.current(request)
    if request.method == "POST" and acting is not None:
        # Whose inbox it is is theirs to decide: not support's, elevated or not.
        return impersonation.refusal(request, acting, view="notification_preferences")
    choices = notifications.choices(membership)
    kinds = [(c.field, c.label) for c in choices if not c.locked]
    form = NotificationChoicesForm(
        request.POST if request.method == "POST" else None,
        kinds=kinds,
        initial={"enabled": [c.field for c in choices if c.enabled and not c.locked]},
    )
    if request.method == "POST" and form.is_valid():
        changed = notifications.save_choices(membership, form.cleaned_data["enabled"])
        if changed:
            record(
                request,
                AuditKind.ACTION,
                action="notification_preferences_changed",
                turned_on=[str(k) for k in changed if k in form.cleaned_data["enabled"]],
                turned_off=[str(k) for k in changed if k not in form.cleaned_data["enabled"]],
            )
        messages.success(request, _("Your email choices are saved."))
        return redirect("notification_preferences")
    ctx = {
        "form": form,
        "choices": choices,
        "selected": set(form["enabled"].value() or ()),
        "read_only": acting is not None,
        "membership": membership,
    }
    return render(request, TEMPLATE, ctx, status=422 if form.errors else 200)
