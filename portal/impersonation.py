"""Support impersonation: who may impersonate whom, and what holds while they do.

django-hijack switches the session's user (POST + CSRF only, a rotated session, `last_login`
left alone). Everything else is ours: the policy (`impersonation_refusal`, re-checked on every
request), the pinned customer, the time limit, the banner, read-only mode with audited
elevation, and the audit trail.

Other code asks `request.impersonation` (an `Impersonation` or None) and `request.impersonator`
(the real staff user or None); money-moving POST views wear `@money_moving`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from axes.signals import handle_user_logged_in
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, user_logged_in
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_htmx.http import HttpResponseClientRedirect
from hijack.signals import no_update_last_login
from hijack.views import AcquireUserView, ReleaseUserView, get_used_backend, keep_session_age

from portal import mfa
from portal.audit import record
from portal.middleware import SESSION_KEY as MEMBERSHIP_SESSION_KEY
from portal.models import AuditKind, CustomerAccount, Membership, User

STATE_KEY = "impersonation"
HISTORY_KEY = "hijack_history"  # django-hijack's stack of the real users' ids
BANNER_ID = "impersonation-banner"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# What a read-only impersonation may still send: everything else that is not a safe method is
# refused until the agent elevates, whatever the view (deny by default, issue 20 item 8).
READ_ONLY_ALLOWED = frozenset({"support_elevate", "support_stop", "logout"})


def accounts_in_reach(agent: User) -> QuerySet[CustomerAccount]:
    """The customer accounts a staff member's support reaches: their book if they have one.

    The one rule for impersonation, the support search and the support audit log.
    """
    accounts = CustomerAccount.objects.all()
    return accounts.filter(managers=agent) if agent.book.exists() else accounts


def impersonation_refusal(
    *, hijacker: User | AnonymousUser, hijacked: User, account: CustomerAccount | None = None
) -> str | None:
    """Why `hijacker` may not impersonate `hijacked` (acting for `account`); None if they may.

    The one policy: django-hijack's permission check, the support page and every request of an
    impersonation all ask it.
    """
    if getattr(hijacker, "is_hijacked", False):
        return _("Stop the current impersonation first: impersonations cannot be chained.")
    if not isinstance(hijacker, User) or not (hijacker.is_active and hijacker.is_staff):
        return _("Only active staff may impersonate customer users.")
    if not hijacker.has_perm("portal.impersonate"):
        return _("You do not have the permission to impersonate customer users.")
    if hijacked.pk == hijacker.pk:
        return _("You cannot impersonate yourself.")
    if hijacked.is_staff or hijacked.is_superuser:
        return _("Staff users and superusers cannot be impersonated.")
    if not hijacked.is_active:
        return _("This user is deactivated.")
    memberships = Membership.objects.filter(user=hijacked)
    if account is not None:
        memberships = memberships.filter(account=account)
    if not memberships.exists():
        return _("This user is not a member of that customer account.")
    if not memberships.filter(account__in=accounts_in_reach(hijacker)).exists():
        return _("This customer is not in your book.")
    return None


def may_impersonate(*, hijacker: User | AnonymousUser, hijacked: User) -> bool:
    """django-hijack's HIJACK_PERMISSION_CHECK."""
    return impersonation_refusal(hijacker=hijacker, hijacked=hijacked) is None


def may_use_support(user: User | AnonymousUser) -> bool:
    """Whether the support pages exist for this user (everyone else gets 404)."""
    return isinstance(user, User) and user.is_active and user.is_staff and user.can_impersonate


@dataclass(frozen=True)
class Impersonation:
    id: uuid.UUID
    impersonator: User
    membership: Membership
    reason: str
    started_at: datetime
    elevated_reason: str = ""
    # The device that verified the agent's own session: the agent's second factor, which the
    # impersonation needs for as long as it lasts and which the agent's session gets back after.
    agent_device: str = ""

    @property
    def target(self) -> User:
        return self.membership.user

    @property
    def account(self) -> CustomerAccount:
        return self.membership.account

    @property
    def ends_at(self) -> datetime:
        return self.started_at + timedelta(minutes=settings.IMPERSONATION_MAX_MINUTES)

    @property
    def elevated(self) -> bool:
        return bool(self.elevated_reason)

    def as_state(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "target": self.target.pk,
            "account": self.account.pk,
            "reason": self.reason,
            "started_at": self.started_at.isoformat(),
            "elevated_reason": self.elevated_reason,
            "agent_device": self.agent_device,
        }


def actors(request: HttpRequest) -> tuple[User, User | None]:
    """Who acts in this request, and for whom: the agent and the customer user while
    impersonating, else the signed-in user alone. Every record of an action names both."""
    impersonation = getattr(request, "impersonation", None)
    if impersonation is not None:
        return impersonation.impersonator, impersonation.target
    assert isinstance(request.user, User)
    return request.user, None


def current(request: HttpRequest) -> Impersonation | None:
    return getattr(request, "impersonation", None)


def _load(request: HttpRequest) -> Impersonation | None:
    history = request.session.get(HISTORY_KEY) or []
    state = request.session.get(STATE_KEY)
    if not history or not isinstance(state, dict):
        return None
    impersonator = User.objects.filter(pk=history[-1]).first()
    target = User.objects.filter(pk=state.get("target", 0)).first()
    account = CustomerAccount.objects.filter(pk=state.get("account", 0)).first()
    if impersonator is None or target is None or account is None:
        return None
    # Anonymous here means the target can no longer sign in (deactivated); the policy check
    # that follows ends the impersonation and brings the agent back.
    if request.user.is_authenticated and request.user.pk != target.pk:
        return None
    # A removed membership still identifies the impersonation, so that it can end properly.
    membership = Membership.objects.filter(user=target, account=account).first() or Membership(
        user=target, account=account
    )
    return Impersonation(
        id=uuid.UUID(state["id"]),
        impersonator=impersonator,
        membership=membership,
        reason=state["reason"],
        started_at=datetime.fromisoformat(state["started_at"]),
        elevated_reason=state.get("elevated_reason", ""),
        agent_device=state.get("agent_device", ""),
    )


def _set(request: HttpRequest, impersonation: Impersonation | None) -> None:
    request.impersonation = impersonation  # type: ignore[attr-defined]
    request.impersonator = impersonation.impersonator if impersonation else None  # type: ignore[attr-defined]


@contextmanager
def _switching_user(request: HttpRequest) -> Iterator[None]:
    """django-hijack's logins are not sign-ins: no "signed in" audit event, no axes access log
    (which would also reset the customer user's failed-attempt counter)."""
    request.impersonation_switch = True  # type: ignore[attr-defined]
    axes_connected = user_logged_in.disconnect(handle_user_logged_in)
    try:
        yield
    finally:
        if axes_connected:
            user_logged_in.connect(handle_user_logged_in)
        request.impersonation_switch = False  # type: ignore[attr-defined]


def start(request: HttpRequest, membership: Membership, reason: str) -> Impersonation:
    """Become `membership.user`, acting for `membership.account`, through django-hijack."""
    assert isinstance(request.user, User)  # the support views admit only signed-in agents
    agent = User.objects.get(pk=request.user.pk)
    agent_device = mfa.verified_device_id(request)
    if not agent_device and mfa.requires_mfa(agent):
        # The second-factor gate sends such a session elsewhere first; never start without it.
        raise PermissionDenied(_("Verify your second factor before impersonating anyone."))
    # Hijack's view takes the target from the POST body; ours came from the URL and the policy.
    post = request.POST.copy()
    post["user_pk"] = str(membership.user.pk)
    post.pop("next", None)
    request.POST = post  # type: ignore[assignment]
    with _switching_user(request):
        response = AcquireUserView.as_view()(request)
    if response.status_code != 302:  # hijack refused after all (a concurrent permission change)
        raise PermissionDenied(_("The impersonation could not start."))
    # Hijack flushed the old session; what we keep about this impersonation lives in the new one.
    impersonation = Impersonation(
        id=uuid.uuid4(),
        impersonator=agent,
        membership=membership,
        reason=reason,
        started_at=timezone.now(),
        agent_device=agent_device,
    )
    request.session[STATE_KEY] = impersonation.as_state()
    request.session[MEMBERSHIP_SESSION_KEY] = membership.pk
    _set(request, impersonation)
    request.customer = membership.account  # type: ignore[attr-defined]
    record(request, AuditKind.IMPERSONATION_STARTED, reason=reason, customer=membership.account)
    return impersonation


def stop(request: HttpRequest) -> None:
    """The agent's Stop button: back to their own sign-in through django-hijack."""
    impersonation = current(request)
    record(request, AuditKind.IMPERSONATION_ENDED, why="stopped")
    with _switching_user(request):
        ReleaseUserView.as_view()(request)
    if impersonation is not None:
        mfa.restore(request, impersonation.impersonator, impersonation.agent_device)
    _set(request, None)


def _end(request: HttpRequest, impersonation: Impersonation | None, *, why: str) -> None:
    """End an impersonation the agent did not stop: time limit, permission gone, lost state."""
    if impersonation is None or not impersonation.impersonator.is_active:
        if impersonation is not None:
            _set(request, impersonation)
            record(request, AuditKind.IMPERSONATION_ENDED, why=why)
        request.session.flush()
        request.user = AnonymousUser()
        _set(request, None)
        return
    _set(request, impersonation)
    record(request, AuditKind.IMPERSONATION_ENDED, why=why)
    backend = get_used_backend(request)
    backend_path = f"{backend.__module__}.{backend.__class__.__name__}"
    with (
        _switching_user(request),
        no_update_last_login(),
        keep_session_age(request.session),
    ):
        login(request, impersonation.impersonator, backend=backend_path)
    request.session[HISTORY_KEY] = []
    mfa.restore(request, impersonation.impersonator, impersonation.agent_device)
    _set(request, None)


def elevate(request: HttpRequest, reason: str) -> None:
    """Allow money-moving actions for the rest of this impersonation; audited with its reason."""
    impersonation = current(request)
    assert impersonation is not None
    impersonation = replace(impersonation, elevated_reason=reason)
    request.session[STATE_KEY] = impersonation.as_state()
    _set(request, impersonation)
    record(request, AuditKind.IMPERSONATION_ELEVATED, reason=reason)


ENDED_MESSAGES = {
    "time_limit": gettext_lazy(
        "Your impersonation of %(name)s ended: it reached the %(minutes)s-minute limit. "
        "Start a new one with a reason if you still need it."
    ),
    "permission": gettext_lazy("Your impersonation of %(name)s ended: %(refusal)s"),
    "lost": gettext_lazy("Your impersonation ended because its record was incomplete."),
    "second_factor": gettext_lazy(
        "Your impersonation of %(name)s ended: the second factor you started it with "
        "is no longer set up."
    ),
}


def _check(request: HttpRequest) -> HttpResponse | None:
    """Validate the ongoing impersonation; end it and redirect if it may not go on."""
    impersonation = _load(request)
    refusal = None
    if impersonation is None:
        why = "lost"
    elif timezone.now() >= impersonation.ends_at:
        why = "time_limit"
    else:
        refusal = impersonation_refusal(
            hijacker=impersonation.impersonator,
            hijacked=impersonation.target,
            account=impersonation.account,
        )
        if refusal is None and not _agent_still_verified(impersonation):
            why = "second_factor"
        elif refusal is None:
            _set(request, impersonation)
            # Pinned: the customer user's other memberships are not part of this impersonation.
            if request.session.get(MEMBERSHIP_SESSION_KEY) != impersonation.membership.pk:
                request.session[MEMBERSHIP_SESSION_KEY] = impersonation.membership.pk
            return None
        else:
            why = "permission"
    _end(request, impersonation, why=why)
    name = str(impersonation.target) if impersonation else ""
    text = str(ENDED_MESSAGES[why]) % {
        "name": name,
        "minutes": settings.IMPERSONATION_MAX_MINUTES,
        "refusal": refusal,
    }
    messages.warning(request, text)
    target = reverse("support") if may_use_support(request.user) else reverse("home")
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(target)
    return redirect(target)


def _agent_still_verified(impersonation: Impersonation) -> bool:
    """Whether the device that verified the agent is still theirs (a superuser may have reset
    it since); an agent whose role needs none is not asked."""
    agent = impersonation.impersonator
    if not mfa.requires_mfa(agent):
        return True
    return mfa.device_of(agent, impersonation.agent_device) is not None


def middleware(get_response: Callable[[HttpRequest], HttpResponse]):
    """Re-check every impersonated request, audit it, and keep the banner on HTMX swaps.

    Runs after the session, auth, hijack, messages and htmx middleware and before
    `portal.middleware.acting_customer`, so the acting customer is the pinned one.
    """

    def impersonation_middleware(request: HttpRequest) -> HttpResponse:
        _set(request, None)
        if request.session.get(HISTORY_KEY):
            ended = _check(request)
            if ended is not None:
                return ended
        impersonation = current(request)
        if impersonation is not None and not _may_write(request, impersonation):
            response = refusal(request, impersonation, view=_url_name(request) or request.path)
        else:
            response = get_response(request)
        impersonation = current(request)
        if impersonation is None:
            return response
        if not getattr(request, "audit_recorded", False):
            kind = AuditKind.PAGE_VIEWED if request.method in SAFE_METHODS else AuditKind.ACTION
            record(request, kind, status=response.status_code, elevated=impersonation.elevated)
        if getattr(request, "htmx", False):
            _append_banner(request, response, impersonation)
        return response

    return impersonation_middleware


def _append_banner(
    request: HttpRequest, response: HttpResponse, impersonation: Impersonation
) -> None:
    """Every HTMX swap carries the banner out of band, so no swap can leave a page without it."""
    status = response.status_code
    if status == 204 or not 200 <= status < 600 or 300 <= status < 400:
        return
    if getattr(response, "streaming", False) or "gzip" in response.get("Content-Encoding", ""):
        return
    if response.get("Content-Type", "").split(";")[0] != "text/html":
        return
    if f'id="{BANNER_ID}"'.encode() in response.content:
        return
    banner = render_to_string(
        "portal/_impersonation_banner.html",
        {"impersonation": impersonation, "oob": True, "next": return_path(request)},
        request=request,
    )
    response.content = response.content + banner.encode(response.charset)
    if "Content-Length" in response:
        response["Content-Length"] = str(len(response.content))


def _url_name(request: HttpRequest) -> str | None:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    return match.view_name if match.url_name else None


def _may_write(request: HttpRequest, impersonation: Impersonation) -> bool:
    """Read-only means read-only: an unsafe method passes only elevated or allow-listed."""
    if request.method in SAFE_METHODS or impersonation.elevated:
        return True
    return _url_name(request) in READ_ONLY_ALLOWED


def refusal(request: HttpRequest, impersonation: Impersonation, *, view: str) -> HttpResponse:
    """The audited 403 of a write refused while read-only: the page, or its partial for HTMX
    (swapped where the form was, with the banner out of band)."""
    record(request, AuditKind.ACTION_REFUSED, view=view)
    partial = request.htmx and not request.htmx.history_restore_request  # type: ignore[attr-defined]
    ctx = {"impersonation": impersonation, "next": return_path(request)}
    template = "support/refused.html#refusal" if partial else "support/refused.html"
    return render(request, template, ctx, status=403)


def money_moving(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mark a view that moves money (activate, change order, cancel, approve) and refuse its
    writes to an impersonating agent who has not elevated.

    The impersonation middleware already refuses every write while read-only; this is the
    view's own statement, which tests/security/inventory.py's `moves_money` column must match.
    Safe methods pass through so the agent still sees what the customer sees.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        impersonation = current(request)
        if impersonation is None or impersonation.elevated or request.method in SAFE_METHODS:
            return view(request, *args, **kwargs)
        return refusal(request, impersonation, view=view.__name__)

    wrapper.moves_money = True  # type: ignore[attr-defined]
    return wrapper


def return_path(request: HttpRequest) -> str:
    """Where the agent was when a write was refused: the page, not the POST endpoint."""
    htmx = getattr(request, "htmx", None)
    candidate = (htmx.current_url_abs_path if htmx else None) or request.headers.get("Referer", "")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(candidate)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return reverse("home")
