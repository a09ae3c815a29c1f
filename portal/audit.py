"""The audit trail: `record()` appends one event; auth signals record sign-ins and sign-outs.

While a support agent impersonates a customer user, every event names both: the agent as `actor`,
the customer user as `on_behalf_of` (see portal/impersonation.py, which sets
`request.impersonation`).
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

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

    Other code calls it for approvals, activations, change orders and cancellations, e.g.
    `record(request, AuditKind.ACTIVATION, order_id=order.id, total=order.total)`; details must be
    JSON-serialisable (Decimal, dates and UUIDs are fine). `actor` defaults to the signed-in user.
    """
    impersonation = getattr(request, "impersonation", None)
    on_behalf_of = None
    if impersonation is not None:
        actor, on_behalf_of = impersonation.impersonator, impersonation.target
    elif actor is None:
        user = getattr(request, "user", None)
        actor = user if isinstance(user, User) else None
    # The middleware records every impersonated request unless the view recorded something
    # more specific already.
    request.audit_recorded = True  # type: ignore[attr-defined]
    return AuditEvent.objects.create(
        kind=kind,
        actor=actor,
        actor_email=actor.email if isinstance(actor, User) else "",
        on_behalf_of=on_behalf_of,
        on_behalf_of_email=on_behalf_of.email if on_behalf_of is not None else "",
        customer=customer
        or (impersonation.account if impersonation else getattr(request, "customer", None)),
        impersonation=impersonation.id if impersonation is not None else None,
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", "")[:USER_AGENT_MAX],
        method=request.method or "",
        path=request.get_full_path()[:PATH_MAX],
        reason=reason,
        details=details,
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


@dataclass(frozen=True)
class SupportSession:
    """One impersonation as a customer admin reads it: who, when, why, and what they saw."""

    started: AuditEvent
    ended: AuditEvent | None
    elevations: list[AuditEvent]
    steps: list[AuditEvent]


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
                steps=[e for e in rest if e.kind in STEP_KINDS],
            )
        )
    return sessions


STEP_KINDS = (AuditKind.PAGE_VIEWED, AuditKind.ACTION, AuditKind.ACTION_REFUSED)
