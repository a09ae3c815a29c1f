"""The second-factor pages: verifying it after the password, setting up an authenticator app, and
the account's security page (recovery codes, turning it off, an admin's requirement).

Support impersonating a customer user sees that user's security page read-only and may change
nothing of how they sign in. The rule of who must use a second factor is portal/mfa.py's.
"""

from __future__ import annotations

import math
from base64 import b32encode
from binascii import unhexlify
from datetime import datetime

import segno
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal import mfa
from portal.forms import (
    AuthenticatorCodeForm,
    RecoveryCodeForm,
    RequirementForm,
    TurnOffForm,
)
from portal.http import PortalRequest
from portal.models import Membership, User
from portal.policy import can_require_mfa
from portal.views import landing_url

WRONG_CODE = gettext_lazy("That code did not work. Check that it is the current one and try again.")
WRONG_SETUP_CODE = gettext_lazy(
    "That code does not match the key above. Type the code the app shows now; if it still "
    "fails, check that your phone's clock is set automatically."
)
LOW_ON_CODES = 3


def _person(request: PortalRequest) -> User:
    """The signed-in person, acting for themself: support impersonating a customer user never
    sets up, uses or changes that user's second factor."""
    if request.impersonation is not None:
        raise PermissionDenied(_("Support cannot change how a customer user signs in."))
    return request.user


def _done(request: HttpRequest) -> str:
    """Where to go once the second factor is done: `next` if it is a page of this site (not the
    code page again), else where this person starts."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    own = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    # A path of this site only: a bare word would read as a view's name, or a relative path.
    if own and target.startswith("/") and not target.startswith(reverse("mfa_verify")):
        return target
    return landing_url(request.user)


def _with_next(page: str, next_url: str) -> str:
    return f"{reverse(page)}?{urlencode({'next': next_url})}"


def _locked_text(until: datetime) -> str:
    minutes = max(1, math.ceil((until - timezone.now()).total_seconds() / 60))
    return ngettext(
        "Too many wrong codes. For your security, codes are not checked for the next "
        "%(minutes)s minute. If you no longer have your authenticator app, use a recovery code "
        "then.",
        "Too many wrong codes. For your security, codes are not checked for the next "
        "%(minutes)s minutes. If you no longer have your authenticator app, use a recovery code "
        "then.",
        minutes,
    ) % {"minutes": minutes}


@require_http_methods(["GET", "POST"])
def mfa_verify(request: PortalRequest) -> HttpResponse:
    user = _person(request)
    done = _done(request)
    if mfa.is_verified(request):
        return HttpResponseRedirect(done)
    if not mfa.has_mfa(user):
        if mfa.requires_mfa(user, request.customer):
            return HttpResponseRedirect(_with_next("mfa_setup", done))
        return HttpResponseRedirect(done)
    recovering = "recovery_code" in request.POST
    code_form = AuthenticatorCodeForm(request.POST if request.POST and not recovering else None)
    recovery_form = RecoveryCodeForm(request.POST if recovering else None)
    status = 200
    if request.method == "POST":
        form = recovery_form if recovering else code_form
        field = "recovery_code" if recovering else "code"
        status = 422
        if form.is_valid():
            checked = mfa.check_code(
                request, user, form.cleaned_data[field], recovery=recovering, step="sign_in"
            )
            if checked.ok:
                assert checked.device is not None
                mfa.verified(request, user, checked.device, recovery=recovering)
                if recovering:
                    _tell_codes_left(request, user)
                return HttpResponseRedirect(done)
            if checked.locked_until is not None:
                form.add_error(None, _locked_text(checked.locked_until))
                status = 429
            else:
                form.add_error(field, WRONG_CODE)
    ctx = {
        "code_form": code_form,
        "recovery_form": recovery_form,
        "recovering": recovering,
        "next": done,
    }
    return render(request, "portal/mfa_verify.html", ctx, status=status)


def _tell_codes_left(request: HttpRequest, user: User) -> None:
    left = mfa.recovery_codes_left(user)
    text = _("You used a recovery code: %(left)s left.") % {"left": left}
    if left <= LOW_ON_CODES:
        text += " " + _("Replace them on your security page before they run out.")
    messages.warning(request, text)


def _qr_svg(url: str) -> SafeString:
    """The authenticator link as a QR code, an inline SVG: no image request, no data: URI, and
    nothing the content security policy would have to allow."""
    svg = segno.make(url, error="m").svg_inline(
        scale=5, border=2, dark="#000", light="#fff", svgclass="mfa-qr__code", lineclass=None
    )
    # segno writes only geometry and its own attributes; the label is ours, escaped.
    label = escape(_("QR code to scan with your authenticator app"))
    return mark_safe(svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1))  # noqa: S308


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@require_http_methods(["GET", "POST"])
def mfa_setup(request: PortalRequest) -> HttpResponse:
    user = _person(request)
    done = _done(request)
    enrolled = mfa.has_mfa(user)
    if enrolled and not mfa.is_verified(request):
        # Replacing an authenticator takes a code from the current one (or a recovery code).
        return HttpResponseRedirect(_with_next("mfa_verify", request.get_full_path()))
    key = request.session.get(mfa.SETUP_KEY) or mfa.new_secret()
    request.session[mfa.SETUP_KEY] = key
    form = AuthenticatorCodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            codes = mfa.set_up(request, user, key, form.cleaned_data["code"])
            if codes is not None:
                request.session.pop(mfa.SETUP_KEY, None)
                return _show_codes(request, codes, done=done, new_app=True)
            form.add_error("code", WRONG_SETUP_CODE)
    device = TOTPDevice(user=user, key=key)
    ctx = {
        "form": form,
        "qr": _qr_svg(device.config_url),
        "secret": _grouped(b32encode(unhexlify(key.encode())).decode()),
        "replacing": enrolled,
        "required": mfa.requires_mfa(user, request.customer),
        "next": done,
    }
    return render(request, "portal/mfa_setup.html", ctx, status=status)


def _show_codes(
    request: HttpRequest, codes: list[str], *, done: str, new_app: bool
) -> HttpResponse:
    """The recovery codes, this once: they are not shown again (each signed-in page is no-store)."""
    ctx = {"codes": codes, "done": done, "new_app": new_app}
    return render(request, "portal/recovery_codes.html", ctx)


def _security_page(
    request: PortalRequest,
    *,
    status: int = 200,
    off_form: TurnOffForm | None = None,
    requirement_form: RequirementForm | None = None,
) -> HttpResponse:
    user = request.user
    membership: Membership | None = request.membership
    enrolled = mfa.has_mfa(user)
    required_by = [
        m.account for m in Membership.objects.filter(user=user, account__require_mfa=True)
    ]
    admin = can_require_mfa(membership) and request.impersonation is None
    if requirement_form is None and admin and membership is not None:
        requirement_form = RequirementForm(initial={"require_mfa": membership.account.require_mfa})
    ctx = {
        "enrolled": enrolled,
        "codes_left": mfa.recovery_codes_left(user) if enrolled else 0,
        "required_by_role": mfa.required_by_role(user),
        "required_by": required_by,
        "may_turn_off": enrolled and not mfa.required_anywhere(user),
        "off_form": off_form or TurnOffForm(),
        "account": membership.account if membership else None,
        "may_set_requirement": admin,
        "requirement_form": requirement_form,
        "impersonating": request.impersonation is not None,
    }
    return render(request, "portal/security.html", ctx, status=status)


@require_GET
def account_security(request: PortalRequest) -> HttpResponse:
    return _security_page(request)


@require_POST
def account_security_codes(request: PortalRequest) -> HttpResponse:
    user = _person(request)
    if not mfa.has_mfa(user):
        raise Http404("You have no second factor set up.")
    codes = mfa.replace_recovery_codes(request, user)
    return _show_codes(request, codes, done=reverse("account_security"), new_app=False)


@require_POST
def account_security_off(request: PortalRequest) -> HttpResponse:
    user = _person(request)
    if not mfa.has_mfa(user):
        raise Http404("You have no second factor set up.")
    if mfa.required_anywhere(user):
        raise PermissionDenied(
            _("Your role or one of your customer accounts requires a second factor: it stays on.")
        )
    form = TurnOffForm(request.POST)
    status = 422
    if form.is_valid():
        recovery = form.is_recovery_code
        checked = mfa.check_code(
            request, user, form.cleaned_data["code"], recovery=recovery, step="turn_off"
        )
        if checked.ok:
            mfa.turn_off(request, user)
            messages.success(
                request, _("Your second factor is off: you sign in with your password.")
            )
            return redirect("account_security")
        if checked.locked_until is not None:
            form.add_error(None, _locked_text(checked.locked_until))
            status = 429
        else:
            form.add_error("code", WRONG_CODE)
    return _security_page(request, status=status, off_form=form)


@require_POST
def account_security_require(request: PortalRequest) -> HttpResponse:
    membership = request.membership
    if membership is None or not can_require_mfa(membership):
        raise Http404("No such page.")
    _person(request)
    form = RequirementForm(request.POST)
    status = 422
    if form.is_valid():
        required = form.cleaned_data["require_mfa"]
        if required and not mfa.is_verified(request):
            # Requiring it of everyone starts with the admin who asks: never a lock-out by surprise.
            form.add_error(
                None, _("Set up your own second factor first, then require it of your team.")
            )
            status = 409
        else:
            mfa.set_requirement(request, membership.account, required)
            text = (
                _("Every member of %(name)s now signs in with a second factor.")
                if required
                else _("Members of %(name)s may now choose whether to use a second factor.")
            )
            messages.success(request, text % {"name": membership.account.name})
            return redirect("account_security")
    return _security_page(request, status=status, requirement_form=form)
