"""What the panels of a draft show beyond the order itself, computed by the views that render
them: the draft's own panel (issue 6), its approval panel and its quote link panel (issue 8).

Who may do what here is orders.policy's answer and what is stored is read here, so the
templates (orders/_draft_actions.html, _approval_panel.html, _quote_link.html) only show it.
Each takes `read`, the view's `approvals.LatestRead` of the order, if it read ahead.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from orders.actions import approvals, cards, quotes
from orders.actions.purchase import stored_draft
from orders.actions.schedule import build_schedule
from orders.forms.purchase import ActivateForm
from orders.forms.review import ApprovalRequestForm, ApproveForm, QuoteTemplateForm
from orders.nue import Order
from orders.policy import (
    Decision,
    DraftFacts,
    approval_limit,
    approval_limit_name,
    can_charge_card,
    can_decide_approvals,
    can_prepare,
    can_withdraw_approval,
    decide,
)
from portal.models import CustomerAccount


def draft_panel(
    request: HttpRequest, order: Order, form: object = None, read: object = None
) -> dict[str, Any]:
    """The acting member's activation decision, the activation form, and the preview invoices
    and warnings Nue returned when this session created the draft (a stored draft's GET carries
    no preview invoices)."""
    membership = getattr(request, "membership", None)
    verdict = decide(membership, DraftFacts.of(order), timezone.localdate())
    decision = verdict.decision
    customer = getattr(request, "customer", None)
    stored = stored_draft(customer, order.id) if customer is not None else None
    schedule = None
    if stored is not None and stored["invoices"]:
        schedule = build_schedule(stored["invoices"], today=timezone.localdate())
    # While an approval request is pending the draft is frozen for everyone.
    locked = approvals.is_locked(order.id, read)
    may_activate = decision == Decision.ACTIVATE and not locked
    if isinstance(form, ActivateForm):
        card = form.card
    else:
        card = cards.card_on_file(customer) if may_activate and customer is not None else None
        form = ActivateForm(card=card, may_charge_card=can_charge_card(membership))
    return {
        "may_activate": may_activate,
        "needs_approval": decision == Decision.REQUEST_APPROVAL and not locked,
        "expired": decision == Decision.EXPIRED,
        "may_reprice": decision == Decision.EXPIRED and can_prepare(membership),
        "forbidden_reason": verdict.reason if decision == Decision.FORBIDDEN else "",
        "reason": verdict.reason,
        "asks_reason": verdict.facts.cancels,
        "may_discard": can_prepare(membership) and not locked,
        "form": form,
        "card": card,
        "known": stored is not None,
        "warnings": stored["warnings"] if stored else (),
        "schedule": schedule,
        "threshold": approval_limit(membership) if membership else None,
        "limit_name": approval_limit_name(membership),
    }


def approval_panel(
    request: HttpRequest, order: Order, form: object = None, read: object = None
) -> dict[str, Any]:
    """The draft's approval request: pending or decided, and what the acting member may do."""
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
    may = decision == Decision.REQUEST_APPROVAL and pending is None
    return {
        "pending": pending,
        "latest": latest,
        "may_decide": may_decide,
        # The figures the admin approves are the ones this page shows them (as for a manager).
        "approve_form": ApproveForm(current=approvals.fingerprint_of(order))
        if may_decide
        else None,
        "needs_approval": decision == Decision.REQUEST_APPROVAL,
        "may_request": may,
        "may_withdraw": may_withdraw,
        "threshold": approval_limit(membership) if membership else None,
        "limit_name": approval_limit_name(membership),
        "form": form if isinstance(form, ApprovalRequestForm) else _request_form(request, may),
        "changed": approvals.changed_figures(latest.figures, order)
        if latest is not None and latest.is_pending
        else [],
        "show": latest is not None or decision == Decision.REQUEST_APPROVAL,
    }


def _request_form(request: HttpRequest, may_request: bool) -> ApprovalRequestForm | None:
    """The request form, offering the card on file by name (read only when it is offered)."""
    if not may_request:
        return None
    customer = getattr(request, "customer", None)
    membership = getattr(request, "membership", None)
    return ApprovalRequestForm(
        card=cards.card_on_file(customer) if customer is not None else None,
        may_charge_card=can_charge_card(membership),
    )


def _manager_account(request: HttpRequest, order: Order) -> CustomerAccount | None:
    """The customer of `order` if the signed-in staff member has it in their book."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return None
    return user.book.filter(nue_customer_id=order.customer_id).first()


def quote_link_panel(request: HttpRequest, order: Order) -> dict[str, Any]:
    """The draft's latest quote link, whether it is stale, and where to (re)generate one."""
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
    link = quotes.quote_link_for(order.id) if may_see else None
    return {
        "visible": may_see and order.is_draft,
        "link": link,
        "stale": approvals.changed_figures(link.figures, order) if link is not None else [],
        "post_url": post_url,
        "form": QuoteTemplateForm(
            initial={"template": link.template_id if link else ""},
            templates=quotes.quote_templates(),
        ),
    }
