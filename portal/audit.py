"""The audit trail: `record()` appends one event; auth signals record sign-ins and sign-outs.

While a support agent impersonates a customer user, every event names both: the agent as `actor`,
the customer user as `on_behalf_of` (see portal/impersonation.py, which sets
`request.impersonation`).
"""

from __future__ import annotations

import ipaddress
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth import user_logged_in, user_logged_out, user_login_failed
from django.db.models import Q, QuerySet
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.l10n import day_text
from portal.models import AuditEvent, AuditKind, CustomerAccount, User

USER_AGENT_MAX = 300
PATH_MAX = 2000


def record(
    request: HttpRequest,
    kind: AuditKind,
    *,
    reason: str = "",
    customer: CustomerAccount | None = None,
    actor: User | None = None,
    **details: Any,
) -> AuditEvent:
    """Append an event for this request: who (both identities while impersonating), where, why.

    Other code calls it for approvals, declines and refusals, e.g.
    `record(request, AuditKind.APPROVAL, order_id=order.id, total=order.total)`; details must be
    JSON-serialisable (Decimal, dates and UUIDs are fine). `actor` defaults to the signed-in user.
    """
    event = write(pending(request, kind, reason=reason, customer=customer, actor=actor, **details))
    # The middleware records every impersonated request unless the view recorded something
    # more specific already.
    request.audit_recorded = True  # type: ignore[attr-defined]
    return event


def pending(
    request: HttpRequest,
    kind: AuditKind,
    *,
    reason: str = "",
    customer: CustomerAccount | None = None,
    actor: User | None = None,
    **details: Any,
) -> dict[str, Any]:
    """An event of this request to `write` later, once what it records is known to have happened.

    The operation ledger keeps these with a money-moving operation and writes them with its
    outcome, whichever path learns it: the request itself, a retry, or reconcile_operations.
    The spec is plain JSON (ids, not objects), so it can wait in the database.
    """
    impersonation = getattr(request, "impersonation", None)
    on_behalf_of = None
    if impersonation is not None:
        actor, on_behalf_of = impersonation.impersonator, impersonation.target
    elif actor is None:
        user = getattr(request, "user", None)
        actor = user if isinstance(user, User) else None
    account = customer or (
        impersonation.account if impersonation else getattr(request, "customer", None)
    )
    return {
        "kind": str(kind),
        "actor": actor.pk if isinstance(actor, User) else None,
        "actor_email": actor.email if isinstance(actor, User) else "",
        "on_behalf_of": on_behalf_of.pk if on_behalf_of is not None else None,
        "on_behalf_of_email": on_behalf_of.email if on_behalf_of is not None else "",
        "customer": account.pk if isinstance(account, CustomerAccount) else None,
        "impersonation": str(impersonation.id) if impersonation is not None else None,
        "ip": client_ip(request),
        "user_agent": request.headers.get("User-Agent", "")[:USER_AGENT_MAX],
        "method": request.method or "",
        "path": request.get_full_path()[:PATH_MAX],
        "reason": reason,
        "details": details,
    }


def pending_from(
    spec: Mapping[str, Any], kind: AuditKind, *, reason: str = "", **details: Any
) -> dict[str, Any]:
    """Another event of the request `spec` (a `pending` one) describes: the same people, place
    and customer, with its own kind, reason and details. Code that holds no request (an action
    of the orders app) describes its events from the spec its view built."""
    return {**spec, "kind": str(kind), "reason": reason, "details": details}


def write(spec: Mapping[str, Any], **more: Any) -> AuditEvent:
    """The event `pending` described, with `more` details (what the outcome adds)."""
    return AuditEvent.objects.create(
        kind=spec["kind"],
        actor_id=spec.get("actor"),
        actor_email=spec.get("actor_email", ""),
        on_behalf_of_id=spec.get("on_behalf_of"),
        on_behalf_of_email=spec.get("on_behalf_of_email", ""),
        customer_id=spec.get("customer"),
        impersonation=uuid.UUID(spec["impersonation"]) if spec.get("impersonation") else None,
        ip=spec.get("ip"),
        user_agent=spec.get("user_agent", ""),
        method=spec.get("method", ""),
        path=spec.get("path", ""),
        reason=spec.get("reason", ""),
        details={**spec.get("details", {}), **more},
    )


def client_ip(request: HttpRequest) -> str | None:
    """The browser's address, for the audit trail and login throttling (AXES_CLIENT_IP_CALLABLE).

    Gunicorn's REMOTE_ADDR is the connection's peer: behind nginx, the proxy, the same for every
    user (one user's five wrong passwords would lock the account for everyone). So from a trusted
    proxy (FORWARDED_ALLOW_IPS) the last X-Forwarded-For entry, the address that proxy saw, is
    taken; from anyone else the header is ignored, so a browser cannot choose its address.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    trusted = settings.TRUSTED_PROXIES
    if forwarded and ("*" in trusted or remote in trusted):
        candidate = forwarded.rsplit(",", 1)[-1].strip()
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            return remote
    return remote


@receiver(user_logged_in, dispatch_uid="audit_sign_in")
def _signed_in(sender: object, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    # django-hijack signs the agent in as the customer user (and back); that is not the
    # customer signing in, and portal/impersonation.py records it as an impersonation instead.
    if request is None or getattr(request, "impersonation_switch", False):
        return
    record(request, AuditKind.SIGN_IN, actor=user)


@receiver(user_login_failed, dispatch_uid="audit_sign_in_failed")
def _sign_in_failed(
    sender: object, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    if request is None:
        return
    record(request, AuditKind.SIGN_IN_FAILED, email=str(credentials.get("username", ""))[:254])


@receiver(user_logged_out, dispatch_uid="audit_sign_out")
def _signed_out(
    sender: object, request: HttpRequest | None, user: User | None, **kwargs: Any
) -> None:
    if request is None or user is None:
        return
    if getattr(request, "impersonation", None) is not None:
        # Signing out while impersonating ends the impersonation and signs the agent out.
        record(request, AuditKind.IMPERSONATION_ENDED, why="signed_out")
        agent = request.impersonation.impersonator  # type: ignore[attr-defined]
        request.impersonation = None  # type: ignore[attr-defined]
        request.impersonator = None  # type: ignore[attr-defined]
        user = agent
    record(request, AuditKind.SIGN_OUT, actor=user)


def events_within_reach(agent: User, accounts: QuerySet[CustomerAccount]) -> QuerySet[AuditEvent]:
    """The events a support agent may read, `accounts` being those their support reaches.

    The events of those customers; their users' sign-ins and sign-outs, which happen before a
    customer is chosen and so name none; and the agent's own. Other staff's sign-ins and failed
    sign-ins (whose email can be anyone's) are for those who may view every audit event.
    """
    members = User.objects.filter(memberships__account__in=accounts)
    return AuditEvent.objects.filter(
        Q(customer__in=accounts)
        | Q(customer__isnull=True, actor__in=members)
        | Q(customer__isnull=True, actor=agent)
    )


@dataclass(frozen=True)
class SupportSession:
    """One impersonation as a customer admin reads it: who, when, why, and what they did."""

    started: AuditEvent
    ended: AuditEvent | None
    elevations: list[AuditEvent]
    steps: list[AuditEvent]

    @property
    def money_moving(self) -> list[AuditEvent]:
        """The steps that committed something in Nue: activations, change orders, cancellations."""
        return [e for e in self.steps if e.kind in MONEY_MOVING_KINDS]

    @property
    def pages_viewed(self) -> int:
        return sum(1 for e in self.steps if e.kind == AuditKind.PAGE_VIEWED)

    @property
    def actions_taken(self) -> int:
        return len(self.steps) - self.pages_viewed


def support_sessions(started: list[AuditEvent]) -> list[SupportSession]:
    """The impersonations that began with `started`, with the events of each."""
    by_impersonation: dict[object, list[AuditEvent]] = defaultdict(list)
    events = AuditEvent.objects.filter(
        impersonation__in=[event.impersonation for event in started]
    ).exclude(kind=AuditKind.IMPERSONATION_STARTED)
    for event in events.order_by("created_at", "pk"):
        by_impersonation[event.impersonation].append(event)
    sessions = []
    for event in started:
        rest = by_impersonation[event.impersonation]
        sessions.append(
            SupportSession(
                started=event,
                ended=next((e for e in rest if e.kind == AuditKind.IMPERSONATION_ENDED), None),
                elevations=[e for e in rest if e.kind == AuditKind.IMPERSONATION_ELEVATED],
                # Every other event of the impersonation is a step the agent took, whatever its
                # kind: the money-moving ones (recorded with their own kinds) above all.
                steps=[e for e in rest if e.kind not in SESSION_KINDS],
            )
        )
    return sessions


SESSION_KINDS = (AuditKind.IMPERSONATION_ENDED, AuditKind.IMPERSONATION_ELEVATED)
MONEY_MOVING_KINDS = (
    AuditKind.ACTIVATION,
    AuditKind.CHANGE_ORDER,
    AuditKind.CANCELLATION,
    AuditKind.APPROVAL,
    AuditKind.DECLINE,
)

DETAIL_LABELS = {
    "order_number": gettext_lazy("Order"),
    "order_id": gettext_lazy("Order id"),
    "subscription": gettext_lazy("Subscription"),
    "change": gettext_lazy("Change"),
    "asked": gettext_lazy("Asked for"),
    "effective": gettext_lazy("Effective"),
    "total": gettext_lazy("Total"),
    "po_number": gettext_lazy("PO number"),
    "approval": gettext_lazy("Approval request"),
    "comment": gettext_lazy("Comment"),
    "template": gettext_lazy("Quote template"),
    "operation": gettext_lazy("Operation"),
    "replayed": gettext_lazy("Already applied before"),
    "action": gettext_lazy("Action"),
    "view": gettext_lazy("Refused step"),
    "status": gettext_lazy("Response status"),
    "elevated": gettext_lazy("Allowed to act"),
    "why": gettext_lazy("Ended because"),
    "email": gettext_lazy("Email"),
    "role": gettext_lazy("Role"),
    "spending_limit": gettext_lazy("Spending limit"),
    "previous_role": gettext_lazy("Role before"),
    "previous_spending_limit": gettext_lazy("Spending limit before"),
    "invited_by": gettext_lazy("Invited by"),
    "contact_email": gettext_lazy("Contact"),
    # The support workspace: its pages (PAGE_VIEWED) and checking an operation with Nue.
    "page": gettext_lazy("Page"),
    "reference": gettext_lazy("Reference"),
    "found": gettext_lazy("Found"),
    "outcome": gettext_lazy("Outcome"),
    "page_number": gettext_lazy("Page number"),
    "before": gettext_lazy("State before"),
    "after": gettext_lazy("State after"),
    "step": gettext_lazy("While"),
    "recovery": gettext_lazy("With a recovery code"),
    "left": gettext_lazy("Recovery codes left"),
    "required": gettext_lazy("Required of every member"),
    "accepted_by": gettext_lazy("Accepted by"),
    "title": gettext_lazy("Job title"),
    "acceptor_email": gettext_lazy("Their email"),
    "authority": gettext_lazy("On the authority of"),
    "sent_to": gettext_lazy("Sent to"),
    "quote_link": gettext_lazy("Quote link"),
}
ACTION_TEXT = {
    "discard_draft": gettext_lazy("Discarded a draft"),
    "approval_requested": gettext_lazy("Requested an approval"),
    "approval_withdrawn": gettext_lazy("Withdrew an approval request"),
    "quote_link_generated": gettext_lazy("Made a quote link"),
    "draft_created": gettext_lazy("Created a draft order"),
    "change_draft_created": gettext_lazy("Prepared a subscription change"),
    "draft_repriced": gettext_lazy("Re-priced an expired draft"),
    "card_saved": gettext_lazy("Saved the card on file"),
    "card_policy_changed": gettext_lazy("Changed who may replace the card"),
    "contact_added": gettext_lazy("Added a contact"),
    "invoice_card_charged": gettext_lazy("Charged the card for an invoice"),
    "invoice_payment_recorded": gettext_lazy("Paid an invoice"),
    "invoice_payment_declined": gettext_lazy("Card payment declined"),
    "invoice_payment_needs_review": gettext_lazy("Invoice payment held for review"),
    "invoice_payment_not_recorded": gettext_lazy("Invoice payment not recorded in Nue"),
    "invited": gettext_lazy("Invited someone to the team"),
    "invitation_resent": gettext_lazy("Sent an invitation again"),
    "invitation_revoked": gettext_lazy("Revoked an invitation"),
    "invitation_accepted": gettext_lazy("Joined the team"),
    "member_changed": gettext_lazy("Changed a member's role or limit"),
    "member_removed": gettext_lazy("Removed a member"),
    "operation_checked": gettext_lazy("Checked with Nue how an operation ended"),
    "quote_link_sent": gettext_lazy("Sent a quote link"),
    "quote_link_revoked": gettext_lazy("Revoked a quote link"),
    "quote_accepted": gettext_lazy("Accepted a quote"),
}
ENDED_TEXT = {
    "stopped": gettext_lazy("the agent stopped"),
    "signed_out": gettext_lazy("the agent signed out"),
    "time_limit": gettext_lazy("it reached the time limit"),
    "permission": gettext_lazy("the agent may no longer impersonate this user"),
    "lost": gettext_lazy("its record was incomplete"),
    "second_factor": gettext_lazy("the agent's second factor was removed"),
}
REFUSED_TEXT = {
    "draft_activate": gettext_lazy("Activate an order"),
    "review_approve": gettext_lazy("Approve an order"),
    "change_details": gettext_lazy("Prepare a subscription change"),
    "change_confirm": gettext_lazy("Confirm a subscription change"),
    "change_basket": gettext_lazy("Prepare several subscription changes"),
    "change_basket_confirm": gettext_lazy("Confirm several subscription changes"),
}
STEP_TEXT = {
    "sign_in": gettext_lazy("signing in"),
    "turn_off": gettext_lazy("turning the second factor off"),
}
VALUE_TEXT = {"action": ACTION_TEXT, "why": ENDED_TEXT, "view": REFUSED_TEXT, "step": STEP_TEXT}


# The portal's own bookkeeping, for staff tracing an operation; a customer's admin reads the rest.
INTERNAL_DETAILS = frozenset(
    {
        "order_id",
        "operation",
        "replayed",
        "status",
        "elevated",
        "before",
        "after",
        "reference",
        "quote_link",
    }
)


def detail_fields(
    details: Mapping[str, Any] | None, *, for_customer: bool = False
) -> list[tuple[str, str]]:
    """An event's details as (label, text) pairs to show, never as a dict.

    Nested details (a change's `asked`) become fields of their own; empty values are left out.
    """
    fields: list[tuple[str, str]] = []
    for key, value in (details or {}).items():
        if for_customer and key in INTERNAL_DETAILS:
            continue
        if isinstance(value, Mapping):
            fields.extend(detail_fields(value, for_customer=for_customer))
            continue
        text = _detail_text(key, value)
        if text:
            fields.append((str(DETAIL_LABELS.get(key, key.replace("_", " ").capitalize())), text))
    return fields


def _detail_text(key: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        return ", ".join(_detail_text(key, item) for item in value)
    if key in VALUE_TEXT:
        return str(VALUE_TEXT[key].get(str(value), str(value).replace("_", " ")))
    if key == "total":
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            return str(value)
        # The currency is not recorded with the event; a credit carries a real minus sign.
        text = number_format(abs(amount), 2, use_l10n=True, force_grouping=True)
        return f"\u2212{text}" if amount < 0 else text
    if key == "effective":
        try:
            return day_text(date.fromisoformat(str(value)))
        except ValueError:
            return str(value)
    return str(value)
