"""A customer admin's team: the members with their roles and spending limits, and the
invitations that bring people in (issue 25, items 1 and 2).

The portal finds a member's customer through Nue's contacts (design.md §2), so an invited email
is one of the customer's contacts in Nue, or is added as one when the admin says so. Every
change keeps the account with an admin, and each is audited as AuditKind.TEAM with
`details["action"]` saying what happened ("invited", "invitation_resent",
"invitation_revoked", "member_changed", "member_removed"), from the `audit` spec the view built
with portal.audit.pending (who acts, for whom, from where). Accepting is portal.invitations'.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.nue import Contact, ContactRequest, site_url
from orders.scope import CustomerNue
from orders.templatetags.money import currency_code, money
from portal.audit import pending_from, write
from portal.models import AuditKind, CustomerAccount, Invitation, Membership, Role, User

logger = logging.getLogger(__name__)

LAST_ADMIN = gettext_lazy(
    "%(name)s is the account's only admin: make another member an admin first, so that someone"
    " can still manage the team."
)


class TeamError(Exception):
    """A team change refused, in words for the admin; `field` names the form field it is about."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotAContact(TeamError):
    """The email is none of the customer's contacts in Nue, and the admin did not ask to add it."""


@dataclass(frozen=True)
class Team:
    members: list[Membership]
    invitations: list[Invitation]  # not accepted or revoked (expired ones included)


def team_of(account: CustomerAccount) -> Team:
    members = Membership.objects.select_related("user").filter(account=account)
    invitations = Invitation.objects.open().select_related("invited_by").filter(account=account)
    return Team(list(members.order_by("user__email")), list(invitations))


@dataclass(frozen=True)
class Invite:
    """What the admin asks for: who, with which role and limit, and their name for a contact."""

    email: str
    role: Role
    spending_limit: Decimal | None
    first_name: str = ""
    last_name: str = ""
    add_contact: bool = False


@dataclass(frozen=True)
class Invited:
    invitation: Invitation
    sent: bool
    contact: Contact
    contact_added: bool


def contact_emails(nue: CustomerNue) -> list[str]:
    """The customer's contacts' emails as Nue lists them, for the invite form to suggest."""
    return sorted({c.email.lower() for c in nue.customer().contacts if c.email})


def invite(nue: CustomerNue, asked: Invite, *, by: User, audit: Mapping[str, Any]) -> Invited:
    """Invite `asked.email` to the acting customer's account and mail them the link.

    Refuses (TeamError) a member or an email invited already; NotAContact when Nue lists the
    email as none of the customer's contacts and `asked.add_contact` is off; a NueError when Nue
    refuses the new contact (its email is another customer's contact). `by` is the member the
    invitation names as its sender.
    """
    account = nue.account
    email = asked.email.strip().lower()
    if Membership.objects.filter(account=account, user__email__iexact=email).exists():
        raise TeamError(
            _("%(email)s is a member of %(account)s already.")
            % {"email": email, "account": account.name},
            "email",
        )
    if Invitation.objects.open().filter(account=account, email=email).exists():
        raise TeamError(
            _("%(email)s is invited already: resend that invitation from the list below.")
            % {"email": email},
            "email",
        )
    customer = nue.customer()
    contact = next((c for c in customer.contacts if c.email.lower() == email), None)
    added = contact is None
    if contact is None:
        if not asked.add_contact:
            raise NotAContact(
                _(
                    "%(email)s is not a contact of %(account)s in Nue, and the portal finds a"
                    " member's company through their contact. Tick “Add as a contact” to add"
                    " them with the name given, or invite one of the company's contacts."
                )
                % {"email": email, "account": account.name},
                "email",
            )
        request = ContactRequest(
            first_name=asked.first_name, last_name=asked.last_name, email=email
        )
        contact = nue.add_contact(request)
        write(
            pending_from(
                audit,
                AuditKind.ACTION,
                action="contact_added",
                contact_id=contact.id,
                contact_email=contact.email,
            )
        )
    invitation = Invitation(
        account=account,
        email=email,
        first_name=asked.first_name or contact.first_name,
        last_name=asked.last_name or contact.last_name,
        role=asked.role,
        spending_limit=_limit(asked.role, asked.spending_limit),
        currency=currency_code(customer.currency) if customer.currency else "",
        invited_by=by,
    )
    token = invitation.new_token()
    try:
        with transaction.atomic():
            invitation.save()
            _audit(audit, "invited", invitation.email, invitation.role, invitation.spending_limit)
    except IntegrityError as error:  # the same email invited at the same moment
        raise TeamError(_("%(email)s is invited already.") % {"email": email}, "email") from error
    return Invited(invitation, send(invitation, token), contact, added)


def resend(account: CustomerAccount, invitation_id: int, *, audit: Mapping[str, Any]) -> bool:
    """A new link for an open invitation, expired or not, mailed again: the old link stops
    working. Whether the mail went out."""
    with transaction.atomic():
        invitation = _open_invitation(account, invitation_id)
        token = invitation.new_token()
        invitation.save(update_fields=["token_hash", "expires_at"])
        _audit(audit, "invitation_resent", invitation.email, invitation.role)
    return send(invitation, token)


def revoke(account: CustomerAccount, invitation_id: int, *, audit: Mapping[str, Any]) -> Invitation:
    """The invitation's link stops working; it leaves the list."""
    with transaction.atomic():
        invitation = _open_invitation(account, invitation_id)
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        _audit(audit, "invitation_revoked", invitation.email, invitation.role)
    return invitation


def change_member(
    account: CustomerAccount,
    membership_id: int,
    *,
    role: Role,
    spending_limit: Decimal | None,
    audit: Mapping[str, Any],
) -> Membership | None:
    """A member's new role and spending limit (buyers only); None when neither changed.
    Refuses to demote the account's last admin."""
    with transaction.atomic():
        member, admins = _locked(account, membership_id)
        limit = _limit(role, spending_limit)
        if member.role == role and member.spending_limit == limit:
            return None
        if member.role == Role.ADMIN and role != Role.ADMIN and admins == [member.pk]:
            raise TeamError(LAST_ADMIN % {"name": member.user}, "role")
        before = (member.role, member.spending_limit)
        member.role, member.spending_limit = role, limit
        member.save(update_fields=["role", "spending_limit"])
        _audit(
            audit,
            "member_changed",
            member.user.email,
            role,
            limit,
            previous_role=before[0],
            previous_spending_limit=before[1],
        )
    return member


def remove_member(
    account: CustomerAccount, membership_id: int, *, audit: Mapping[str, Any]
) -> Membership:
    """The member loses access to the account (their sign-in stays, for other customers).
    Refuses to remove the account's last admin."""
    with transaction.atomic():
        member, admins = _locked(account, membership_id)
        if member.role == Role.ADMIN and admins == [member.pk]:
            raise TeamError(LAST_ADMIN % {"name": member.user})
        member.delete()
        _audit(audit, "member_removed", member.user.email, member.role, member.spending_limit)
    return member


def send(invitation: Invitation, token: str) -> bool:
    """Mail the invitation's link (text, with an HTML alternative); whether it went out. A mail
    server's failure leaves the invitation in place, for the admin to resend."""
    link = site_url(reverse("invitation", args=[token]))
    inviter = invitation.invited_by
    ctx = {
        "invitation": invitation,
        "link": link,
        "inviter": (inviter.get_full_name() or inviter.email) if inviter else _("An admin"),
        "limit": money(invitation.spending_limit, invitation.currency)
        if invitation.spending_limit is not None
        else "",
        "days": settings.INVITATION_MAX_AGE_DAYS,
    }
    subject = _("%(inviter)s invited you to %(account)s on the Nue portal") % {
        "inviter": ctx["inviter"],
        "account": invitation.account.name,
    }
    # The invitee's time zone is unknown: the link's expiry is written in UTC, and says so.
    with timezone.override(UTC):
        text = render_to_string("emails/invitation.txt", ctx)
        html = render_to_string("emails/invitation.html", ctx)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [invitation.email])
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except Exception:
        logger.exception("invitation mail failed invitation=%s", invitation.pk)
        return False
    invitation.sent_at = timezone.now()
    invitation.save(update_fields=["sent_at"])
    return True


def _limit(role: Role | str, spending_limit: Decimal | None) -> Decimal | None:
    """Only a buyer has a spending limit (orders.policy.approval_limit)."""
    return spending_limit if role == Role.BUYER else None


def _open_invitation(account: CustomerAccount, invitation_id: int) -> Invitation:
    """The account's open invitation, locked; Invitation.DoesNotExist for any other."""
    found = Invitation.objects.open().select_for_update(of=("self",)).filter(account=account)
    return found.select_related("account", "invited_by").get(pk=invitation_id)


def _locked(account: CustomerAccount, membership_id: int) -> tuple[Membership, list[int]]:
    """The member, and the account's admins, locked: two admins demoting each other at once
    take turns, and the second finds the first is the last admin (Membership.DoesNotExist for
    a member of another account, or one removed meanwhile)."""
    admins = Membership.objects.select_for_update(of=("self",)).filter(
        account=account, role=Role.ADMIN
    )
    # Locked in one order by everyone, so two of these never wait on each other's rows.
    admin_ids = list(admins.order_by("pk").values_list("pk", flat=True))
    member = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user")
        .get(account=account, pk=membership_id)
    )
    return member, admin_ids


def _audit(
    audit: Mapping[str, Any],
    action: str,
    email: str,
    role: str,
    spending_limit: Decimal | None = None,
    **more: Any,
) -> None:
    details = {"action": action, "email": email, "role": str(role), **more}
    if spending_limit is not None or "previous_spending_limit" in more:
        details["spending_limit"] = spending_limit
    write(pending_from(audit, AuditKind.TEAM, **details))
