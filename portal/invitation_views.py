"""`/invitations/<token>/`: the link of an invitation email, open to anyone who holds it.

Who opens it decides what it offers: the invitee signed in joins with one click; an invitee
with a sign-in who is not signed in signs in first; an email with no sign-in yet chooses a
name and password and is signed in. Anyone else is told whose invitation it is.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from portal import invitations
from portal.audit import record
from portal.forms import JoinForm
from portal.http import PortalRequest
from portal.middleware import SESSION_KEY
from portal.models import AuditKind, Invitation, Membership, Role, User

TEMPLATE = "portal/invitation.html"
# The backend that reads a signed-in user with their memberships (AUTHENTICATION_BACKENDS).
LOGIN_BACKEND = "portal.backends.MembershipBackend"


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request: PortalRequest, token: str) -> HttpResponse:
    found = Invitation.for_token(token)
    if found is None:
        return _closed(request, None, str(invitations.INVALID_TEXT), status=404)
    if found.state != Invitation.State.OPEN:
        return _closed(request, found, str(invitations.CLOSED_TEXT[found.state]), status=410)
    if getattr(request, "impersonation", None) is not None:
        reason = _("An invitation is accepted by the person it was sent to, not through support.")
        return _closed(request, found, reason, status=403)
    if request.user.is_authenticated:
        return _signed_in(request, found, request.user)
    if invitations.existing_user(found) is not None:
        ctx = {"invitation": found, "step": "sign_in", "sign_in_url": _sign_in_url(request)}
        return render(request, TEMPLATE, ctx)
    form = JoinForm(request.POST or None, email=found.email, initial=_names(found))
    if request.method == "POST" and form.is_valid():
        try:
            membership = invitations.join(
                found,
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                password=form.cleaned_data["password1"],
            )
        except invitations.Closed as closed:
            return _closed(request, found, str(closed), status=410)
        except invitations.UserExists:
            form.add_error(None, _("This email has a sign-in already: sign in to accept."))
        else:
            login(request, membership.user, backend=LOGIN_BACKEND)
            return _joined(request, found, membership)
    ctx = {"invitation": found, "step": "join", "form": form}
    return render(request, TEMPLATE, ctx, status=422 if form.errors else 200)


def _signed_in(request: PortalRequest, found: Invitation, user: User) -> HttpResponse:
    if not invitations.is_for(found, user):
        # Sent to someone else: joining with this sign-in would give it another's access.
        ctx = {"invitation": found, "step": "other_user", "next": request.path}
        return render(request, TEMPLATE, ctx, status=403)
    if request.method == "POST":
        try:
            membership = invitations.accept(found, user)
        except invitations.Closed as closed:
            return _closed(request, found, str(closed), status=410)
        return _joined(request, found, membership)
    return render(request, TEMPLATE, {"invitation": found, "step": "confirm"})


def _joined(request: PortalRequest, found: Invitation, membership: Membership) -> HttpResponse:
    """The invitee is a member and signed in: audited, and acting for the account they joined,
    as choosing it on /accounts/customer/ would (portal.views.choose_customer)."""
    record(
        request,
        AuditKind.TEAM,
        customer=membership.account,
        actor=membership.user,
        action="invitation_accepted",
        email=found.email,
        role=membership.role,
        spending_limit=membership.spending_limit,
        invited_by=found.invited_by.email if found.invited_by else "",
    )
    request.session[SESSION_KEY] = membership.pk
    welcome = WELCOME_TEXT.get(membership.role, WELCOME_TEXT[Role.VIEWER])
    messages.success(request, str(welcome) % {"account": membership.account.name})
    return HttpResponseRedirect(reverse("home"))


# One sentence per role: a role's name reads differently inside a sentence in each language.
WELCOME_TEXT: dict[str, Promise] = {
    Role.ADMIN: gettext_lazy("Welcome to %(account)s: you are a member as admin."),
    Role.BUYER: gettext_lazy("Welcome to %(account)s: you are a member as buyer."),
    Role.VIEWER: gettext_lazy("Welcome to %(account)s: you are a member as viewer."),
}


def _closed(
    request: PortalRequest, found: Invitation | None, reason: str, *, status: int
) -> HttpResponse:
    ctx = {"invitation": found, "step": "closed", "reason": reason}
    return render(request, TEMPLATE, ctx, status=status)


def _sign_in_url(request: PortalRequest) -> str:
    return f"{reverse('login')}?{urlencode({'next': request.path})}"


def _names(found: Invitation) -> dict[str, str]:
    return {"first_name": found.first_name, "last_name": found.last_name}
