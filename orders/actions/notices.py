"""What the account is told when an activation is known to have happened: the one place the
emails "order activated", "change confirmed" and "cancellation scheduled" are queued.

The operation ledger learns that an activation succeeded on one of three paths (Nue's answer, a
retry that reads Nue, reconcile_operations) and, once per operation, writes its audit events and
sends `orders.ledger.succeeded` in the same transaction. This receiver reads what those events
recorded (orders.actions.activation.audit_events: the order, its total and currency, each
subscription changed and how, when it takes effect, who did it) and queues one email per kind of
outcome, so the emails commit with the outcome, exactly once, whoever learned it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.dispatch import receiver
from django.urls import reverse

from orders.kinds import change_type_label
from orders.ledger import succeeded
from orders.models import Operation
from orders.nue import site_url
from portal.models import AuditKind, NotificationKind
from portal.notifications import notify

KINDS: dict[str, NotificationKind] = {
    AuditKind.ACTIVATION: NotificationKind.ORDER_ACTIVATED,
    AuditKind.CHANGE_ORDER: NotificationKind.CHANGE_CONFIRMED,
    AuditKind.CANCELLATION: NotificationKind.CANCELLATION_SCHEDULED,
}


@receiver(succeeded, dispatch_uid="orders.actions.notices.activation_succeeded")
def activation_succeeded(sender: object, operation: Operation, **kwargs: object) -> None:
    if operation.kind != Operation.Kind.ACTIVATE:
        return
    by_kind: dict[NotificationKind, list[Mapping[str, Any]]] = {}
    for event in operation.audit:
        kind = KINDS.get(str(event.get("kind", "")))
        if kind is not None:
            by_kind.setdefault(kind, []).append(event)
    for kind, events in by_kind.items():
        notify(kind, operation.customer, _context(events), None)


def _context(events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The email's facts from the audit events of one kind (a basket has one per subscription)."""
    first = events[0]
    details: Mapping[str, Any] = first.get("details") or {}
    order_id = str(details.get("order_id", ""))
    subscriptions = [str(e["details"]["subscription"]) for e in events if _sub(e)]
    changes = {
        change_type_label(change)
        for e in events
        for change in str((e.get("details") or {}).get("change", "")).split(",")
        if change and change != "Cancel"
    }
    reasons = [str(e.get("reason") or "") for e in events]
    return {
        "order_number": details.get("order_number", ""),
        "order_id": order_id,
        "total": _decimal(details.get("total")),
        "currency": details.get("currency") or "",
        "po_number": details.get("po_number") or "",
        "subscriptions": subscriptions,
        "changes": sorted(changes),
        "effective": _date(details.get("effective")),
        "reason": "; ".join(r for r in reasons if r),
        "by": _who(first),
        "link": site_url(reverse("orders:order_detail", args=[order_id])) if order_id else "",
        "site_url": site_url(""),
    }


def _sub(event: Mapping[str, Any]) -> bool:
    return bool((event.get("details") or {}).get("subscription"))


def _who(event: Mapping[str, Any]) -> str:
    """Who did it, as the customer knows them: the member support acted for, else the actor."""
    return str(event.get("on_behalf_of_email") or event.get("actor_email") or "")


def _decimal(value: object) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _date(value: object) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
