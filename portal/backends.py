"""Django's model backend, with the signed-in user read together with their memberships.

Every signed-in request needs both: Django loads the user from the session, then
`portal.middleware.resolve_membership` picks the acting membership. Read together, a customer
user costs one query per request instead of two; the memberships are still read from the
database on every request, so a removed membership takes effect on the next click.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from portal.models import Membership, User


class MembershipBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        rows = list(Membership.objects.select_related("user", "account").filter(user_id=user_id))
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
        return user
