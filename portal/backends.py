"""Django's model backend, with the signed-in user read together with their memberships.

Every signed-in request needs both: Django loads the user from the session, then
`portal.middleware.resolve_membership` picks the acting membership; a session that has not
passed a second factor also asks whether the user has an authenticator app. Read together, a
customer user costs one query per request instead of three; they are still read from the
database on every request, so a removed membership or authenticator takes effect on the next
click.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db.models import Exists, OuterRef
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.models import Membership, User


class MembershipBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        authenticator = TOTPDevice.objects.filter(user_id=OuterRef("user_id"), confirmed=True)
        rows = list(
            Membership.objects.select_related("user", "account")
            .filter(user_id=user_id)
            .annotate(has_mfa=Exists(authenticator))
        )
        if not rows:
            # Staff, or a user of no customer account: no row to carry the user.
            user = super().get_user(user_id)
            if user is not None:
                user.loaded_memberships = ()
            return user
        user = rows[0].user
        for row in rows[1:]:
            row.user = user  # one user object, not one per row
        if not self.user_can_authenticate(user):
            return None
        user.loaded_memberships = tuple(rows)
        user.loaded_has_mfa = rows[0].has_mfa
        return user
