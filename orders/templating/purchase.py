"""`{% set draft = draft_panel(order, form) %}`: what a draft's page shows beyond its lines
(issue 6).

The order detail page (issue 5) includes templates/orders/_draft_actions.html with only `order`;
this tag adds the acting member's activation decision, the activation form, and the preview
invoices and warnings Nue returned when this session created the draft (a stored draft's GET
carries no preview invoices).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from jinja2 import pass_context
from jinja2.runtime import Context

from orders import approvals
from orders.nue import Order
from orders.policy import Decision, DraftFacts, can_prepare, decide
from orders.purchase_forms import ActivateForm
from orders.purchase_schedule import build_schedule
from orders.purchase_state import stored_draft


@pass_context
def draft_panel(
    context: Context, order: Order, form: object = None, read: object = None
) -> dict[str, Any]:
    """`read`: the view's `approvals.LatestRead` of this order, if it read ahead."""
    request = context["request"]
    membership = getattr(request, "membership", None)
    verdict = decide(membership, DraftFacts.of(order), timezone.localdate())
    decision = verdict.decision
    stored = stored_draft(request, order.id)
    schedule = None
    if stored is not None and stored["invoices"]:
        schedule = build_schedule(stored["invoices"], today=timezone.localdate())
    # While an approval request is pending the draft is frozen for everyone.
    locked = approvals.is_locked(order.id, read)
    return {
        "may_activate": decision == Decision.ACTIVATE and not locked,
        "needs_approval": decision == Decision.REQUEST_APPROVAL and not locked,
        "expired": decision == Decision.EXPIRED,
        "may_reprice": decision == Decision.EXPIRED and can_prepare(membership),
        "forbidden_reason": verdict.reason if decision == Decision.FORBIDDEN else "",
        "reason": verdict.reason,
        "asks_reason": verdict.facts.cancels,
        "may_discard": can_prepare(membership) and not locked,
        "form": form if isinstance(form, ActivateForm) else ActivateForm(),
        "known": stored is not None,
        "warnings": stored["warnings"] if stored else (),
        "schedule": schedule,
        "threshold": membership.account.effective_approval_threshold if membership else None,
    }
