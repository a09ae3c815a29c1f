"""Accepting an invitation to a customer account: the person the link was sent to joins with
the role the admin gave, once, as a new user or with the sign-in they already have.

The admin's side (inviting, resending, revoking; checking the email against the customer's
contacts in Nue) is the orders app's (orders/actions/team.py); joining needs nothing of Nue.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from portal.models import Invitation, Membership, User

CLOSED_TEXT = {
    Invitation.State.EXPIRED: gettext_lazy(
        "This invitation has expired. Ask the admin who invited you to send it again."
    ),
    Invitation.State.REVOKED: gettext_lazy(
        "This invitation was withdrawn by an admin of the account."
    ),
    Invitation.State.ACCEPTED: gettext_lazy(
        "This invitation has been used already: it works once. Sign in to reach the account."
    ),
}
INVALID_TEXT = gettext_lazy(
    "This invitation link is not valid. It may have been replaced by a newer email: open the "
    "link in the most recent invitation you received."
)


class Closed(Exception):
    """The invitation may not be accepted (any more): why, in words for the invitee."""

    def __init__(self, state: Invitation.State) -> None:
        self.state = state
        super().__init__(str(CLOSED_TEXT.get(state, INVALID_TEXT)))


class UserExists(Exception):
    """A sign-in for the invited email appeared meanwhile: the invitee signs in instead."""


def is_for(invitation: Invitation, user: User) -> bool:
    """An invitation is accepted only by the address it was sent to."""
    return user.email.casefold() == invitation.email.casefold()


def existing_user(invitation: Invitation) -> User | None:
    return User.objects.filter(email__iexact=invitation.email).first()


def accept(invitation: Invitation, user: User) -> Membership:
    """`user` (whose email is the invitation's) joins the account with the invitation's role.

    Once: the invitation is locked and re-read, so of two clicks one joins and the other finds
    it used. Someone who became a member meanwhile (an administrator added them) keeps their
    membership as it is, and the invitation counts as used.
    """
    if not is_for(invitation, user):
        raise ValueError("An invitation is accepted only by the address it was sent to.")
    with transaction.atomic():
        current = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if current.state != Invitation.State.OPEN:
            raise Closed(current.state)
        membership, _ = Membership.objects.get_or_create(
            user=user,
            account=current.account,
            defaults={"role": current.role, "spending_limit": current.spending_limit},
        )
        current.accepted_at = timezone.now()
        current.accepted_by = user
        current.save(update_fields=["accepted_at", "accepted_by"])
    membership.account = current.account
    return membership


def join(invitation: Invitation, *, first_name: str, last_name: str, password: str) -> Membership:
    """A new user for the invited email, with the name and password they chose, joined to the
    account. Raises UserExists when the email has a sign-in already (made since the page was
    shown), Closed when the invitation may not be accepted."""
    try:
        with transaction.atomic():
            if existing_user(invitation) is not None:
                raise UserExists(invitation.email)
            user = User.objects.create_user(
                invitation.email, password, first_name=first_name, last_name=last_name
            )
            return accept(invitation, user)
    except IntegrityError as error:  # the same email signed up at the same moment
        raise UserExists(invitation.email) from error
