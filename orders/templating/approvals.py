"""Template functions of approvals and quote links (issue 8), so other features' pages include
the panels with nothing but `order` in their context.

`{% set approval = approval_panel(order, form) %}` and `{% set quote = quote_link_panel(order) %}`
read the acting member (or account manager) from the request.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone
from jinja2 import pass_context
from jinja2.runtime import Context

from orders import approvals
from orders.models import ApprovalRequest
from orders.nue import Order
from orders.policy import (
    Decision,
    DraftFacts,
    can_decide_approvals,
    can_prepare,
    can_withdraw_approval,
    decide,
)
from orders.review_forms import ApprovalRequestForm, ApproveForm, QuoteTemplateForm
from portal.models import CustomerAccount


def _manager_account(request: Any, order: Order) -> CustomerAccount | None:
    """The customer of `order` if the signed-in staff member has it in their book."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return None
    return user.book.filter(nue_customer_id=order.customer_id).first()


@pass_context
def approval_panel(
    context: Context, order: Order, form: object = None, read: object = None
) -> dict[str, Any]:
    """`read`: the view's `approvals.LatestRead` of this order, if it read ahead."""
    request = context["request"]
    membership = getattr(request, "membership", None)
    # One query: a pending request is always the draft's latest (a new one needs the last decided).
    latest = approvals.latest_for(order.id, read)
    pending = latest if latest is not None and latest.is_pending else None
    decision = (
        decide(membership, DraftFacts.of(order), timezone.localdate()).decision
        if order.is_draft
        else None
    )
    may_withdraw = pending is not None and can_withdraw_approval(
        membership, pending.requested_by_id
    )
    may_decide = pending is not None and order.is_draft and can_decide_approvals(membership)
    return {
        "pending": pending,
        "latest": latest,
        "may_decide": may_decide,
        # The figures the admin approves are the ones this page shows them (as for a manager).
        "approve_form": ApproveForm(current=approvals.figures_of(order)) if may_decide else None,
        "needs_approval": decision == Decision.REQUEST_APPROVAL,
        "may_request": decision == Decision.REQUEST_APPROVAL and pending is None,
        "may_withdraw": may_withdraw,
        "threshold": membership.account.effective_approval_threshold if membership else None,
        "form": form if isinstance(form, ApprovalRequestForm) else ApprovalRequestForm(),
        "changed": approvals.changed_figures(latest.figures, order)
        if latest is not None and latest.is_pending
        else [],
        "show": latest is not None or decision == Decision.REQUEST_APPROVAL,
    }


@pass_context
def quote_link_panel(context: Context, order: Order) -> dict[str, Any]:
    """The draft's latest quote link, whether it is stale, and where to (re)generate one."""
    request = context["request"]
    customer = getattr(request, "customer", None)
    post_url = None
    may_see = False
    if customer is not None and customer.nue_customer_id == order.customer_id:
        may_see = True
        if can_prepare(getattr(request, "membership", None)):
            post_url = reverse("orders:quote_link", args=[order.id])
    else:
        account = _manager_account(request, order)
        if account is not None:
            may_see = True
            post_url = reverse("orders:review_quote_link", args=[account.pk, order.id])
    link = approvals.quote_link_for(order.id) if may_see else None
    return {
        "visible": may_see and order.is_draft,
        "link": link,
        "stale": approvals.changed_figures(link.figures, order) if link is not None else [],
        "post_url": post_url,
        "form": QuoteTemplateForm(initial={"template": link.template_id if link else ""}),
    }


def approval_badge(approval: ApprovalRequest) -> str:
    badges: dict[str, str] = {
        ApprovalRequest.State.PENDING: "badge--warn",
        ApprovalRequest.State.APPROVED: "badge--ok",
        ApprovalRequest.State.DECLINED: "badge--danger",
    }
    return badges.get(approval.state, "badge--muted")
