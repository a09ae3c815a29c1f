"""Who may do what with a customer's orders, by membership role and amount (design.md §2).

viewer: reads only. buyer: drafts and previews; activates up to the account's approval
threshold, above it must request approval. admin: activates any amount, cancels subscriptions.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from portal.models import Membership, Role


class Decision(StrEnum):
    ACTIVATE = "activate"
    REQUEST_APPROVAL = "request_approval"
    FORBIDDEN = "forbidden"


def can_prepare(membership: Membership | None) -> bool:
    """Create and preview drafts (new orders and change orders)."""
    return membership is not None and membership.can_buy


def can_cancel(membership: Membership | None) -> bool:
    return membership is not None and membership.is_admin


def activation_decision(membership: Membership | None, amount: Decimal) -> Decision:
    """What pressing "activate" on a draft worth `amount` (its grand total) does for this member."""
    if membership is None or membership.role == Role.VIEWER:
        return Decision.FORBIDDEN
    if membership.role == Role.ADMIN:
        return Decision.ACTIVATE
    if amount <= membership.account.effective_approval_threshold:
        return Decision.ACTIVATE
    return Decision.REQUEST_APPROVAL
