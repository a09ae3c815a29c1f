"""The second factor: who must use one, the gate every signed-in request passes, and code checks.

django-otp keeps the devices (an authenticator app, `TOTPDevice`; the recovery codes, one
`StaticDevice` with ten single-use tokens) and marks a session as verified (`django_otp.login`,
read back by its OTPMiddleware as `request.user.otp_device`). What is the portal's:

- the rule, `requires_mfa(user, account)`: the vendor's staff always (support agents, account
  managers and superusers are staff, and staff are who reach the admin site), and the members of
  a customer account whose admins require it while they act for it. Whoever set a second factor
  up for themself uses it too (`must_verify`);
- the gate, `SecondFactorMiddleware`: every route but signing out and the second-factor pages
  sends a session that owes its second factor to verify it, or to set one up;
- the checks, `check_code`: a person's wrong codes are counted from the audit log and five in
  a quarter of an hour pause all of that person's code checks (MFA_FAILURE_LIMIT and
  MFA_LOCKOUT_MINUTES), whichever session or device they come from.
"""

from __future__ import annotations

from binascii import unhexlify
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import django_otp
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from portal.audit import record
from portal.models import AuditEvent, AuditKind, CustomerAccount, Membership, User

RECOVERY_CODES = 10
AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
# The session's secret of an authenticator being set up, until a code from it confirms it.
SETUP_KEY = "mfa_setup_key"
# A code from the step before or after the server's is accepted: phones' clocks drift.
TOLERANCE = 1

# What a session that owes its second factor may still reach: the pages that take it, and
# signing out. Public pages (sign-in, password reset, health check) need no session at all.
OPEN_ROUTES = frozenset({"mfa_verify", "mfa_setup", "logout"})
# A member whose account requires it may still choose another of their accounts.
OPEN_TO_MEMBERS = OPEN_ROUTES | {"choose_customer"}

# The outcomes after which earlier wrong codes no longer count towards the lockout.
PASSED = (
    AuditKind.MFA_VERIFIED,
    AuditKind.MFA_SET_UP,
    AuditKind.MFA_RECOVERY_USED,
    AuditKind.MFA_TURNED_OFF,
)


# The rule.


def required_by_role(user: User | AnonymousUser) -> bool:
    """The vendor's staff. Support agents and account managers are staff (impersonation and
    the review pages admit no one else); superusers whether or not they are."""
    return isinstance(user, User) and (user.is_staff or user.is_superuser)


def requires_mfa(user: User | AnonymousUser, account: CustomerAccount | None = None) -> bool:
    """Whether `user` must have a second factor, acting for `account`."""
    if required_by_role(user):
        return True
    return account is not None and account.require_mfa


def required_anywhere(user: User) -> bool:
    """Whether `user` must keep a second factor: by role, or as a member of any account whose
    admins require it (so turning it off is refused)."""
    if required_by_role(user):
        return True
    return Membership.objects.filter(user=user, account__require_mfa=True).exists()


# Devices and the session.


def has_mfa(user: User) -> bool:
    """Whether `user` has an authenticator app set up."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def must_verify(user: User, account: CustomerAccount | None = None) -> bool:
    """Whether a session of `user` (acting for `account`) must pass a second factor."""
    return requires_mfa(user, account) or has_mfa(user)


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def is_verified(request: HttpRequest) -> bool:
    """Whether this session passed its second factor (django-otp's OTPMiddleware reads it)."""
    return getattr(request.user, "otp_device", None) is not None


def mark_verified(request: HttpRequest, device: Device) -> None:
    """This session passed its second factor with `device`. The session key changes: what the
    browser held before the code is not what it holds after."""
    request.session.cycle_key()
    django_otp.login(request, device)


def verified_device_id(request: HttpRequest) -> str:
    """The device that verified this session, as django-otp names it in the session; "" if none."""
    if not is_verified(request):
        return ""
    return str(request.session.get(django_otp.DEVICE_ID_SESSION_KEY, ""))


def device_of(user: User, device_id: str) -> Device | None:
    """The device named `device_id`, if it is still a confirmed device of `user`."""
    if not device_id:
        return None
    device = Device.from_persistent_id(device_id)
    if device is None or device.user_id != user.pk or not device.confirmed:
        return None
    return device


def restore(request: HttpRequest, user: User, device_id: str) -> None:
    """Back from an impersonation, the agent's session is verified again by the device that had
    verified it (django-hijack's sign-ins start a new session), if that device is still theirs."""
    device = device_of(user, device_id)
    if device is not None:
        django_otp.login(request, device)


# Setting up, checking, turning off.


def new_secret() -> str:
    """A new authenticator secret: 20 random bytes, hex-encoded as django-otp stores keys."""
    return random_hex(20)


def _lock(user: User) -> None:
    """Take a person's code checks one at a time (PostgreSQL; SQLite has one writer anyway), so
    that parallel guesses cannot all slip in under the lockout."""
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))


def set_up(request: HttpRequest, user: User, key: str, code: str) -> list[str] | None:
    """Confirm the authenticator with secret `key` by a code it shows: it replaces any earlier
    one, the session is verified, and ten new recovery codes are returned, to show once. None
    when the code does not match (nothing is kept)."""
    totp = TOTP(unhexlify(key.encode()))
    if not code.isdigit() or not totp.verify(int(code), tolerance=TOLERANCE):
        return None
    with transaction.atomic():
        _lock(user)
        TOTPDevice.objects.filter(user=user).delete()
        # The step just used is spent: the same code cannot verify a session again.
        device = TOTPDevice.objects.create(
            user=user,
            name=AUTHENTICATOR_NAME,
            key=key,
            confirmed=True,
            last_t=totp.t(),
            drift=totp.drift,
        )
        codes = _new_recovery_codes(user)
        record(request, AuditKind.MFA_SET_UP, actor=user)
    mark_verified(request, device)
    return codes


def _new_recovery_codes(user: User) -> list[str]:
    """Ten new recovery codes in place of the old ones. The device stays, so a session it
    verified stays verified."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, defaults={"name": RECOVERY_NAME, "confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def replace_recovery_codes(request: HttpRequest, user: User) -> list[str]:
    with transaction.atomic():
        codes = _new_recovery_codes(user)
        record(request, AuditKind.MFA_CODES_REPLACED, actor=user)
    return codes


@dataclass(frozen=True)
class Checked:
    """One code check: the device that took the code, or why none did."""

    device: Device | None = None
    # Set while the person's code checks are paused (this attempt was not checked, or was the
    # wrong code that paused them).
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.device is not None


def check_code(
    request: HttpRequest, user: User, code: str, *, recovery: bool, step: str
) -> Checked:
    """Check `code` from `user`'s authenticator app, or a recovery code (used up by it), as one
    attempt against the lockout: a wrong code is recorded and counts; while paused, a code is
    not checked at all. `step` says what the code was for, for the audit log."""
    with transaction.atomic():
        _lock(user)
        until = locked_until(user)
        if until is not None:
            return Checked(locked_until=until)
        model: Any = StaticDevice if recovery else TOTPDevice
        device = next(
            (
                d
                for d in model.objects.filter(user=user, confirmed=True).select_for_update()
                if d.verify_token(code)
            ),
            None,
        )
        if device is None:
            record(request, AuditKind.MFA_FAILED, actor=user, step=step, recovery=recovery)
            return Checked(locked_until=locked_until(user))
        if recovery:
            left = recovery_codes_left(user)
            record(request, AuditKind.MFA_RECOVERY_USED, actor=user, step=step, left=left)
    return Checked(device=device)


def locked_until(user: User) -> datetime | None:
    """When `user`'s code checks resume, if MFA_FAILURE_LIMIT wrong codes came within the last
    MFA_LOCKOUT_MINUTES with no right one after them; None if they are not paused."""
    window = timedelta(minutes=settings.MFA_LOCKOUT_MINUTES)
    events = AuditEvent.objects.filter(actor=user, created_at__gte=timezone.now() - window)
    passed = events.filter(kind__in=PASSED).aggregate(at=Max("created_at"))["at"]
    failures = events.filter(kind=AuditKind.MFA_FAILED)
    if passed is not None:
        failures = failures.filter(created_at__gt=passed)
    limit = settings.MFA_FAILURE_LIMIT
    recent = list(failures.order_by("-created_at").values_list("created_at", flat=True)[:limit])
    if len(recent) < limit:
        return None
    return recent[-1] + window


def verified(request: HttpRequest, user: User, device: Device, *, recovery: bool) -> None:
    """The session passed its second factor after signing in."""
    mark_verified(request, device)
    record(request, AuditKind.MFA_VERIFIED, actor=user, recovery=recovery)


def turn_off(request: HttpRequest, user: User) -> None:
    """Remove the authenticator and the recovery codes (the caller checked a current code)."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        record(request, AuditKind.MFA_TURNED_OFF, actor=user)
    request.session.pop(django_otp.DEVICE_ID_SESSION_KEY, None)
    request.user.otp_device = None  # type: ignore[union-attr]


def set_requirement(request: HttpRequest, account: CustomerAccount, required: bool) -> None:
    account.require_mfa = required
    account.save(update_fields=["require_mfa"])
    record(request, AuditKind.MFA_REQUIREMENT_CHANGED, customer=account, required=required)


# The gate.


def second_factor_due(request: HttpRequest, view_name: str) -> str | None:
    """The page this request must go to first, "mfa_verify" or "mfa_setup"; None if none.

    Not while impersonating: the agent passed their own second factor to start, and
    portal.impersonation ends the impersonation should that device go.
    """
    user = request.user
    if not isinstance(user, User) or getattr(request, "impersonation", None) is not None:
        return None
    if view_name in OPEN_ROUTES or is_verified(request):
        return None
    enrolled = has_mfa(user) if user.loaded_has_mfa is None else user.loaded_has_mfa
    if enrolled or required_by_role(user):
        return "mfa_verify" if enrolled else "mfa_setup"
    account = getattr(request, "customer", None)
    if requires_mfa(user, account) and view_name not in OPEN_TO_MEMBERS:
        return "mfa_setup"
    return None


def second_factor_url(request: HttpRequest, page: str) -> str:
    """`page` with the way back to where the person was going (a page, not a partial or a
    form's target)."""
    htmx = getattr(request, "htmx", None)
    back = htmx.current_url_abs_path if htmx else None
    if not htmx and request.method == "GET":
        back = request.get_full_path()
    return reverse(page) + (f"?{urlencode({'next': back})}" if back else "")


class SecondFactorMiddleware:
    """The gate: a signed-in session that owes its second factor reaches no route but the
    second-factor pages and signing out (and, for a member whose account alone requires it,
    choosing another account). Runs after the acting customer is known."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse = self.get_response(request)
        return response

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        # Public pages (login_not_required) need no session; LoginRequiredMiddleware keeps
        # everything else from anonymous visitors.
        if not getattr(view_func, "login_required", True):
            return None
        match = request.resolver_match
        page = second_factor_due(request, match.view_name if match else "")
        if page is None:
            return None
        url = second_factor_url(request, page)
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(url)
        return HttpResponseRedirect(url)
