"""The team page, `/account/team/`: a customer admin's members and open invitations, and the
forms that invite, resend, revoke, change a member's role or limit, and remove (issue 25).

Every route asks portal.policy.can_manage_team; read-only impersonation never reaches a write
(portal.impersonation refuses it first), and an elevated agent's change is audited with both
identities by the `pending` spec each action writes from.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from orders.actions import team
from orders.forms.team import InviteForm, MemberForm
from orders.http import CustomerRequest
from orders.nue import NueError
from orders.scope import CustomerNue
from orders.templatetags.money import money
from orders.views.common import customer_scope, go, is_partial
from orders.views.errors import add_form_errors, panel_error
from portal.audit import pending
from portal.models import AuditKind, Invitation, Membership, Role
from portal.policy import can_manage_team

# Where Nue's refusal of a new contact lands on the invite form (POST /customers/{id}/contacts).
CONTACT_FIELDS = {"[].email": "email", "[].firstName": "first_name", "[].lastName": "last_name"}


def _team_scope(request: CustomerRequest) -> CustomerNue:
    nue = customer_scope(request)
    if not can_manage_team(request.membership):
        raise PermissionDenied(_("Only an admin of the account manages its team."))
    return nue


def _page(
    request: CustomerRequest,
    nue: CustomerNue,
    *,
    invite_form: InviteForm | None = None,
    member_form: tuple[int, MemberForm] | None = None,
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    found = team.team_of(nue.account)
    admins = sum(1 for m in found.members if m.is_admin)
    rows = [
        {
            "member": m,
            "form": member_form[1]
            if member_form and member_form[0] == m.pk
            else MemberForm(
                initial={"role": m.role, "spending_limit": m.spending_limit}, member_id=m.pk
            ),
            "sole_admin": m.is_admin and admins == 1,
            "is_you": _is_acting(request, m),
        }
        for m in found.members
    ]
    ctx = {
        "rows": rows,
        "invitations": found.invitations,
        "invite_form": invite_form or InviteForm(),
        **_suggestions(nue, found),
        "threshold": nue.account.effective_approval_threshold,
        "currency": _currency(nue),
        "problem": problem,
        "max_age_days": settings.INVITATION_MAX_AGE_DAYS,
    }
    template = "orders/team.html#team" if is_partial(request) else "orders/team.html"
    return render(request, template, ctx, status=status)


def _currency(nue: CustomerNue) -> str | None:
    """The customer's currency, which the approval limit and spending limits are in (the
    account's orders are); None where Nue names none or cannot answer now."""
    try:
        return nue.customer().currency
    except NueError:
        return None


def _suggestions(nue: CustomerNue, found: team.Team) -> dict[str, Any]:
    """The customer's contacts who are neither members nor invited: whom to invite, most
    likely. Without Nue the rest of the page still works and says the suggestions are missing."""
    try:
        emails = team.contact_emails(nue)
    except NueError as error:
        return {"suggestions": [], "suggestions_error": panel_error(error)}
    taken = {m.user.email.lower() for m in found.members}
    taken |= {i.email for i in found.invitations}
    return {"suggestions": [e for e in emails if e not in taken]}


def _audit(request: CustomerRequest) -> dict[str, Any]:
    """Who acts, for whom and from where, for the action's audit events."""
    return pending(request, AuditKind.TEAM)


def _done(request: CustomerRequest, to: str = "orders:team") -> HttpResponse:
    # The action wrote its audit events: the impersonation middleware need not add a plain step.
    request.audit_recorded = True  # type: ignore[attr-defined]
    return go(request, to)


@require_GET
@vary_on_headers("HX-Request")
def team_page(request: CustomerRequest) -> HttpResponse:
    return _page(request, _team_scope(request))


@require_POST
@vary_on_headers("HX-Request")
def team_invite(request: CustomerRequest) -> HttpResponse:
    nue = _team_scope(request)
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _page(request, nue, invite_form=form, status=422)
    assert request.membership is not None
    try:
        invited = team.invite(nue, form.invite(), by=request.membership.user, audit=_audit(request))
    except team.TeamError as refused:
        form.add_error(refused.field, str(refused))
        return _page(request, nue, invite_form=form, status=422)
    except NueError as error:
        status = add_form_errors(form, error, CONTACT_FIELDS)
        return _page(request, nue, invite_form=form, status=status)
    invitation = invited.invitation
    if invited.contact_added:
        messages.success(
            request,
            _("%(name)s (%(email)s) is now a contact in Nue.")
            % {"name": invited.contact.name, "email": invitation.email},
        )
    if invited.sent:
        messages.success(
            request,
            _("Invitation sent to %(email)s as %(role)s.")
            % {"email": invitation.email, "role": role_word(invitation.role)},
        )
    else:
        messages.warning(request, _not_sent(invitation))
    return _done(request)


@require_POST
@vary_on_headers("HX-Request")
def team_invitation_resend(request: CustomerRequest, invitation_id: int) -> HttpResponse:
    nue = _team_scope(request)
    invitation = _invitation(nue, invitation_id)
    try:
        sent = team.resend(nue.account, invitation.pk, audit=_audit(request))
    except Invitation.DoesNotExist as missing:
        raise Http404("No such invitation.") from missing
    if sent:
        messages.success(
            request,
            _("A new invitation link was sent to %(email)s; the previous link no longer works.")
            % {"email": invitation.email},
        )
    else:
        messages.warning(request, _not_sent(invitation))
    return _done(request)


@require_POST
@vary_on_headers("HX-Request")
def team_invitation_revoke(request: CustomerRequest, invitation_id: int) -> HttpResponse:
    nue = _team_scope(request)
    invitation = _invitation(nue, invitation_id)
    try:
        team.revoke(nue.account, invitation.pk, audit=_audit(request))
    except Invitation.DoesNotExist as missing:
        raise Http404("No such invitation.") from missing
    messages.success(
        request,
        _("The invitation to %(email)s is revoked: its link no longer works.")
        % {"email": invitation.email},
    )
    return _done(request)


@require_POST
@vary_on_headers("HX-Request")
def team_member(request: CustomerRequest, membership_id: int) -> HttpResponse:
    nue = _team_scope(request)
    member = _member(nue, membership_id)
    form = MemberForm(request.POST, member_id=member.pk)
    if not form.is_valid():
        return _page(request, nue, member_form=(member.pk, form), status=422)
    try:
        changed = team.change_member(
            nue.account,
            member.pk,
            role=form.chosen_role,
            spending_limit=form.cleaned_data["spending_limit"],
            audit=_audit(request),
        )
    except Membership.DoesNotExist as missing:
        raise Http404("No such member.") from missing
    except team.TeamError as refused:
        form.add_error(refused.field, str(refused))
        return _page(request, nue, member_form=(member.pk, form), status=422)
    if changed is None:
        messages.info(request, _("Nothing changed for %(email)s.") % {"email": member.user.email})
        return go(request, "orders:team")
    said = {"email": member.user.email, "role": role_word(changed.role)}
    if changed.spending_limit is not None:
        said["limit"] = money(changed.spending_limit, _currency(nue))
        text = _("%(email)s is now %(role)s with a spending limit of %(limit)s.") % said
    else:
        text = _("%(email)s is now %(role)s.") % said
    messages.success(request, text)
    if _is_acting(request, member) and changed.role != Role.ADMIN:
        return _done(request, "home")  # no longer an admin: the team page is not theirs now
    return _done(request)


@require_POST
@vary_on_headers("HX-Request")
def team_member_remove(request: CustomerRequest, membership_id: int) -> HttpResponse:
    nue = _team_scope(request)
    member = _member(nue, membership_id)
    try:
        team.remove_member(nue.account, member.pk, audit=_audit(request))
    except Membership.DoesNotExist as missing:
        raise Http404("No such member.") from missing
    except team.TeamError as refused:
        return _page(request, nue, problem=str(refused), status=409)
    messages.success(
        request,
        _("%(email)s no longer has access to %(account)s.")
        % {"email": member.user.email, "account": nue.account.name},
    )
    return _done(request, "home" if _is_acting(request, member) else "orders:team")


def _is_acting(request: CustomerRequest, member: Membership) -> bool:
    return request.membership is not None and member.pk == request.membership.pk


def _member(nue: CustomerNue, membership_id: int) -> Membership:
    """A member of the acting customer's account; any other is not found."""
    found = Membership.objects.select_related("user").filter(account=nue.account, pk=membership_id)
    member = found.first()
    if member is None:
        raise Http404("No such member.")
    return member


def _invitation(nue: CustomerNue, invitation_id: int) -> Invitation:
    """An open invitation of the acting customer's account; any other is not found."""
    found = Invitation.objects.open().filter(account=nue.account, pk=invitation_id).first()
    if found is None:
        raise Http404("No such invitation.")
    return found


def _not_sent(invitation: Invitation) -> str:
    return _(
        "The invitation to %(email)s is saved, but its email could not be sent. "
        "Try “Resend” in a moment."
    ) % {"email": invitation.email}


# A role as a sentence names it ("… as buyer"); German keeps its nouns capitalised, so each
# language words it rather than lowercasing the role's label.
ROLE_WORDS = {
    Role.VIEWER: pgettext_lazy("role within a sentence", "viewer"),
    Role.BUYER: pgettext_lazy("role within a sentence", "buyer"),
    Role.ADMIN: pgettext_lazy("role within a sentence", "admin"),
}


def role_word(role: str) -> str:
    return str(ROLE_WORDS.get(Role(role), role))
