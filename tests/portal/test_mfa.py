"""The second factor for customers: setting it up, signing in with it, recovery codes, the lockout,
turning it off, and an admin's requirement for the account (issue 25, item 4)."""

from __future__ import annotations

import re
from binascii import unhexlify
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal import mfa
from portal.models import AuditEvent, AuditKind, CustomerAccount
from tests import demo
from tests.conftest import authenticator, signed_in, totp_code

pytestmark = pytest.mark.django_db

SETUP = "/accounts/mfa/setup/"
VERIFY = "/accounts/mfa/verify/"
SECURITY = "/account/security/"


def setup_code(client: Client) -> str:
    """What the authenticator app shows for the key the setup page gave this session."""
    key = client.session[mfa.SETUP_KEY]
    return str(TOTP(unhexlify(key.encode())).token()).zfill(6)


def set_up(client: Client) -> list[str]:
    """Set an authenticator up through the pages; the recovery codes the page showed."""
    assert client.get(SETUP).status_code == 200
    page = client.post(SETUP, {"code": setup_code(client), "next": "/"})
    assert page.status_code == 200, page.content.decode()[:2000]
    return page.context["codes"]


def password_sign_in(email: str) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": email, "password": demo.PASSWORD})
    assert response.status_code == 302
    return client


def kinds(user) -> list[str]:
    return list(AuditEvent.objects.filter(actor=user).order_by("pk").values_list("kind", flat=True))


def test_it_shows_the_key_as_a_qr_code_and_as_text(ada):
    client = signed_in(ada)
    page = client.get(SETUP)
    html = page.content.decode()
    key = client.session[mfa.SETUP_KEY]
    # The QR code is inline SVG, labelled; no image request and no data: URI.
    assert re.search(r'<svg role="img" aria-label="QR code to scan[^"]*"', html)
    assert "data:" not in html
    assert "<img" not in html.split("<main", 1)[1]
    assert "style=" not in html
    # The same key as text, in groups of four, for typing it in.
    from base64 import b32encode

    secret = b32encode(unhexlify(key.encode())).decode()
    assert " ".join(secret[i : i + 4] for i in range(0, 32, 4)) in html
    # The code field: labelled, numeric keypad, the browser's one-time-code autofill.
    field = re.search(r"<input[^>]*name=\"code\"[^>]*>", html).group(0)
    assert 'autocomplete="one-time-code"' in field
    assert 'inputmode="numeric"' in field
    assert '<label for="id_code">Authentication code</label>' in html
    # Reloading keeps the key the person may already have scanned.
    client.get(SETUP)
    assert client.session[mfa.SETUP_KEY] == key
    assert not TOTPDevice.objects.filter(user=ada).exists()


def test_it_sets_up_an_authenticator_with_ten_single_use_recovery_codes(ada):
    client = signed_in(ada)
    client.get(SETUP)
    wrong = client.post(SETUP, {"code": "123456"})
    assert wrong.status_code == 422
    assert "does not match" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=ada).exists()
    codes = set_up(client)
    assert len(codes) == len(set(codes)) == 10
    device = TOTPDevice.objects.get(user=ada)
    assert device.confirmed
    assert set(StaticToken.objects.filter(device__user=ada).values_list("token", flat=True)) == set(
        codes
    )
    assert kinds(ada) == [AuditKind.MFA_SET_UP]
    # The session is verified; the codes are not shown again.
    security = client.get(SECURITY).content.decode()
    assert "10 of 10" in security
    assert not any(code in security for code in codes)
    assert mfa.SETUP_KEY not in client.session


def test_signing_in_asks_for_the_code_before_anything_else(ada):
    device = authenticator(ada)
    client = password_sign_in(demo.ADA)
    response = client.get("/orders/")
    assert response.status_code == 302
    assert response["Location"] == f"{VERIFY}?next=%2Forders%2F"
    page = client.get(response["Location"]).content.decode()
    assert 'autocomplete="one-time-code"' in page
    assert 'inputmode="numeric"' in page
    wrong = client.post(VERIFY, {"code": "000000", "next": "/orders/"})
    assert wrong.status_code == 422
    assert "That code did not work" in wrong.content.decode()
    right = client.post(VERIFY, {"code": totp_code(device), "next": "/orders/"})
    assert right["Location"] == "/orders/"
    assert client.get("/orders/").status_code == 200
    assert kinds(ada)[-2:] == [AuditKind.MFA_FAILED, AuditKind.MFA_VERIFIED]
    failed = AuditEvent.objects.get(actor=ada, kind=AuditKind.MFA_FAILED)
    assert failed.details == {"step": "sign_in", "recovery": False}


def test_a_code_works_once(ada):
    device = authenticator(ada)
    code = totp_code(device)
    first = password_sign_in(demo.ADA)
    assert first.post(VERIFY, {"code": code})["Location"] == "/"
    second = password_sign_in(demo.ADA)
    assert second.post(VERIFY, {"code": code}).status_code == 422


def test_a_recovery_code_signs_in_once(ada):
    codes = set_up(signed_in(ada))
    client = password_sign_in(demo.ADA)
    typed = f"{codes[0][:4].upper()}-{codes[0][4:]}"  # as people type it
    response = client.post(VERIFY, {"recovery_code": typed, "next": "/"}, follow=True)
    assert response.redirect_chain == [("/", 302)]
    assert "You used a recovery code: 9 left." in response.content.decode()
    assert mfa.recovery_codes_left(ada) == 9
    assert kinds(ada)[-2:] == [AuditKind.MFA_RECOVERY_USED, AuditKind.MFA_VERIFIED]
    again = password_sign_in(demo.ADA)
    assert again.post(VERIFY, {"recovery_code": codes[0]}).status_code == 422


def test_it_stops_a_brute_force_and_resumes_after_the_pause(ada, settings):
    device = authenticator(ada)
    # Guesses from several sessions count together: they are the same person's codes.
    sessions = [password_sign_in(demo.ADA) for _ in range(2)]
    for attempt in range(settings.MFA_FAILURE_LIMIT):
        wrong = sessions[attempt % 2].post(VERIFY, {"code": f"{attempt:06d}"})
        expected = 429 if attempt == settings.MFA_FAILURE_LIMIT - 1 else 422
        assert wrong.status_code == expected, attempt
    # Now even the right code, or a recovery code, is not checked.
    for body in ({"code": totp_code(device)}, {"recovery_code": "abcdefgh"}):
        refused = sessions[0].post(VERIFY, body)
        assert refused.status_code == 429
        assert "Too many wrong codes" in refused.content.decode()
    assert sessions[0].get("/").status_code == 302
    failures = AuditEvent.objects.filter(actor=ada, kind=AuditKind.MFA_FAILED).count()
    assert failures == settings.MFA_FAILURE_LIMIT  # attempts while paused are not checked
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert sessions[1].post(VERIFY, {"code": totp_code(device)})["Location"] == "/"


def test_a_right_code_clears_the_wrong_ones_before_it(ada, settings):
    device = authenticator(ada)
    client = password_sign_in(demo.ADA)
    for attempt in range(settings.MFA_FAILURE_LIMIT - 1):
        client.post(VERIFY, {"code": f"{attempt:06d}"})
    assert client.post(VERIFY, {"code": totp_code(device)}).status_code == 302
    other = password_sign_in(demo.ADA)
    assert other.post(VERIFY, {"code": "999999"}).status_code == 422  # not 429
    assert mfa.locked_until(ada) is None


def test_it_replaces_the_recovery_codes(ada):
    client = signed_in(ada)
    old = set_up(client)
    response = client.post(reverse("account_security_codes"))
    new = response.context["codes"]
    assert len(new) == 10
    assert not set(new) & set(old)
    assert AuditKind.MFA_CODES_REPLACED in kinds(ada)
    # The session stays verified; an old code no longer works, a new one does.
    assert client.get("/").status_code == 200
    assert password_sign_in(demo.ADA).post(VERIFY, {"recovery_code": old[1]}).status_code == 422
    assert password_sign_in(demo.ADA).post(VERIFY, {"recovery_code": new[1]}).status_code == 302


def test_turning_it_off_takes_a_current_code(ada):
    client = signed_in(ada)
    set_up(client)
    device = TOTPDevice.objects.get(user=ada)
    wrong = client.post(reverse("account_security_off"), {"code": "000000"})
    assert wrong.status_code == 422
    assert TOTPDevice.objects.filter(user=ada).exists()
    response = client.post(reverse("account_security_off"), {"code": totp_code(device)})
    assert response["Location"] == SECURITY
    assert not TOTPDevice.objects.filter(user=ada).exists()
    assert not StaticToken.objects.filter(device__user=ada).exists()
    assert kinds(ada)[-2:] == [AuditKind.MFA_FAILED, AuditKind.MFA_TURNED_OFF]
    assert client.get("/").status_code == 200
    assert password_sign_in(demo.ADA).get("/").status_code == 200  # the password alone again


def test_a_recovery_code_also_turns_it_off(ada):
    client = signed_in(ada)
    codes = set_up(client)
    assert client.post(reverse("account_security_off"), {"code": codes[3]}).status_code == 302
    assert not mfa.has_mfa(ada)


@pytest.mark.parametrize("persona", ["sam", "maria", "superuser"])
def test_staff_cannot_turn_it_off(persona, request):
    user = request.getfixturevalue(persona)
    client = signed_in(user)
    response = client.post(
        reverse("account_security_off"), {"code": totp_code(authenticator(user))}
    )
    assert response.status_code == 403
    assert mfa.has_mfa(user)
    assert "Turn off" not in client.get(SECURITY).content.decode()


def test_nothing_to_replace_or_turn_off_without_a_second_factor(ada):
    client = signed_in(ada)
    assert client.post(reverse("account_security_codes")).status_code == 404
    assert client.post(reverse("account_security_off"), {"code": "123456"}).status_code == 404


def test_an_admin_requires_it_of_the_account_once_she_uses_it_herself(ada, ben, bob):
    client = signed_in(ada)
    url = reverse("account_security_require")
    refused = client.post(url, {"require_mfa": "on"})
    assert refused.status_code == 409
    assert "Set up your own second factor first" in refused.content.decode()
    acme = CustomerAccount.objects.get(name=demo.ACME)
    assert not acme.require_mfa
    set_up(client)
    assert client.post(url, {"require_mfa": "on"})["Location"] == SECURITY
    acme.refresh_from_db()
    assert acme.require_mfa
    event = AuditEvent.objects.get(kind=AuditKind.MFA_REQUIREMENT_CHANGED)
    assert (event.actor, event.customer, event.details) == (ada, acme, {"required": True})
    # Ben and Bob must set one up before using Acme, and may not turn theirs off.
    bob_client = signed_in(bob)
    assert bob_client.get("/")["Location"] == f"{SETUP}?next=%2F"
    set_up(bob_client)
    assert bob_client.get("/").status_code == 200
    off = bob_client.post(reverse("account_security_off"), {"code": "123456"})
    assert off.status_code == 403
    # Lifting the requirement frees Ben; Bob keeps what he set up.
    assert client.post(url, {})["Location"] == SECURITY
    assert signed_in(ben).get("/").status_code == 200
    assert signed_in(bob, verified=False).get("/")["Location"].startswith(VERIFY)


def test_only_an_account_s_admins_set_the_requirement(ben, bob, grace):
    url = reverse("account_security_require")
    for user in (ben, bob):
        assert signed_in(user).post(url, {"require_mfa": "on"}).status_code == 404
        assert "Everyone at" not in signed_in(user).get(SECURITY).content.decode()
    # Grace's form sets Globex's, never Acme's.
    globex = CustomerAccount.objects.get(name="Globex GmbH")
    grace_client = signed_in(grace, verified=True)
    assert grace_client.post(url, {"require_mfa": "on"}).status_code == 302
    assert list(CustomerAccount.objects.filter(require_mfa=True)) == [globex]


def test_it_keeps_the_page_for_non_html_methods(ada):
    for name in ("account_security_codes", "account_security_off", "account_security_require"):
        assert signed_in(ada).get(reverse(name)).status_code == 405


def test_the_verify_page_only_returns_to_this_site(ada):
    device = authenticator(ada)
    client = password_sign_in(demo.ADA)
    for bad in ("https://evil.example/", "//evil.example/", "0", VERIFY):
        response = client.get(VERIFY, {"next": bad})
        assert response.context["next"] == "/", bad
    response = client.post(VERIFY, {"code": totp_code(device), "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_an_htmx_request_is_sent_to_the_code_page_by_client_redirect(ada):
    authenticator(ada)
    client = password_sign_in(demo.ADA)
    response = client.get(
        "/dashboard/activity-panel/",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/"},
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{VERIFY}?next=%2F"


def test_the_second_factor_pages_carry_the_strict_policy(ada):
    client = signed_in(ada)
    for url in (SETUP, SECURITY):
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        assert "unsafe-inline" not in policy
        html = response.content.decode()
        assert "style=" not in html
        assert all("nonce=" in tag or "src=" in tag for tag in re.findall(r"<script[^>]*>", html))
