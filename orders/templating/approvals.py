"""`{{ approval|approval_badge }}`: the badge class of an approval request's state."""

from __future__ import annotations

from orders.models import ApprovalRequest


def approval_badge(approval: ApprovalRequest) -> str:
    badges: dict[str, str] = {
        ApprovalRequest.State.PENDING: "badge--warn",
        ApprovalRequest.State.APPROVED: "badge--ok",
        ApprovalRequest.State.DECLINED: "badge--danger",
    }
    return badges.get(approval.state, "badge--muted")
