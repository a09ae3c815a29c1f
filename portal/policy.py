"""Who may run the account's team, set how its members sign in, and see its own records: the
support access log and the account activity log.

One rule per page, which its view applies and the navigation shows (portal.context_processors);
what members may do with orders is orders/policy.py's. `membership` is the acting one: while
support impersonates a member, that member's, so the agent sees what the member would.
"""

from __future__ import annotations

from portal.models import Membership


def can_see_access_log(membership: Membership | None) -> bool:
    """Who from support looked at the account: for its admins."""
    return membership is not None and membership.is_admin


def can_see_activity(membership: Membership | None) -> bool:
    """What the account's members did (and support or an account manager for them): for its
    admins, as the access log beside it is."""
    return can_see_access_log(membership)


def can_manage_team(membership: Membership | None) -> bool:
    """Invite people to the account, change members' roles and spending limits, resend or
    revoke invitations and remove members: who may act for the company is its admins' to say."""
    return membership is not None and membership.is_admin


def can_require_mfa(membership: Membership | None) -> bool:
    """Require a second factor of every member of the account (portal.mfa applies it): how
    the company's people sign in is its admins' to say."""
    return membership is not None and membership.is_admin
