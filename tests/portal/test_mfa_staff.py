"""The vendor's staff and their second factor: Sam cannot impersonate, nor Maria review, until
theirs is set up and this session passed it; where each lands after signing in; and an
impersonation keeps the agent's verification and never touches the customer user's.
(Issue 25, items 4 and 5.)"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.models import AuditEvent, AuditKind
from tests import demo
from tests.conftest import authenticator, signed_in, totp_code

pytestmark = pytest.mark.django_db

SETUP = "/accounts/mfa/setup/"
VERIFY = "/accounts/mfa/verify/"
REASON = {"reason": "Ticket SUP-7: invoice question"}


def impersonate_url(user) -> str:
    return reverse("support_impersonate", args=[user.memberships.get().pk])


def started() -> int:
    return AuditEvent.objects.filter(kind=AuditKind.IMPERSONATION_STARTED).count()


def test_sam_without_an_authenticator_is_sent_to_set_one_up(sam, ada):
    client = signed_in(sam, verified=False)
    url = impersonate_url(ada)
    for response in (client.get(url), client.post(url, REASON)):
        assert response.status_code == 302
        assert response["Location"].startswith(SETUP)
    assert started() == 0
    assert client.get("/").wsgi_request.user == sam  # still Sam, impersonating nobody


def test_sam_with_an_unverified_session_is_asked_for_the_code(sam, ada):
    authenticator(sam)
    client = signed_in(sam, verified=False)
    response = client.post(impersonate_url(ada), REASON)
    assert response["Location"] == VERIFY  # a form's target is no page to come back to
    get = client.get(impersonate_url(ada))
    assert (
        get["Location"] == f"{VERIFY}?next=%2Fsupport%2Fimpersonate%2F{ada.memberships.get().pk}%2F"
    )
    assert started() == 0


def test_sam_verified_impersonates(sam, ada):
    device = authenticator(sam)
    client = signed_in(sam, verified=False)
    client.post(VERIFY, {"code": totp_code(device)})
    response = client.post(impersonate_url(ada), REASON)
    assert response["Location"] == "/"
    assert client.get("/").wsgi_request.impersonator == sam
    assert started() == 1


def test_maria_needs_hers_for_the_review_pages(maria):
    client = signed_in(maria, verified=False)
    assert client.get("/review/")["Location"].startswith(SETUP)
    device = authenticator(maria)
    assert client.get("/review/")["Location"] == f"{VERIFY}?next=%2Freview%2F"
    assert client.post(VERIFY, {"code": totp_code(device), "next": "/review/"})["Location"] == (
        "/review/"
    )
    assert client.get("/review/").status_code == 200


@pytest.mark.parametrize(
    ("persona", "landing"),
    [("sam", "/support/"), ("maria", "/review/"), ("superuser", "/support/"), ("ada", "/")],
)
def test_each_person_lands_where_their_work_is(persona, landing, request):
    user = request.getfixturevalue(persona)
    staff = user.is_staff
    device = authenticator(user) if staff else None
    client = Client()
    response = client.post("/accounts/login/", {"username": user.email, "password": demo.PASSWORD})
    assert response["Location"] == landing
    if device is not None:
        gated = client.get(landing)
        assert gated["Location"] == f"{VERIFY}?next={landing.replace('/', '%2F')}"
        response = client.post(VERIFY, {"code": totp_code(device), "next": landing})
        assert response["Location"] == landing
    assert client.get(landing).status_code == 200


def test_a_sign_in_with_next_goes_there(sam):
    client = Client()
    response = client.post(
        "/accounts/login/?next=/support/audit/",
        {"username": sam.email, "password": demo.PASSWORD, "next": "/support/audit/"},
    )
    assert response["Location"] == "/support/audit/"


def test_stopping_an_impersonation_keeps_the_agent_verified(sam, ada):
    client = signed_in(sam)
    client.post(impersonate_url(ada), REASON)
    assert client.post(reverse("support_stop"))["Location"] == "/support/"
    response = client.get("/support/")
    assert response.status_code == 200
    assert response.wsgi_request.user == sam


def test_an_impersonation_ended_by_its_time_limit_keeps_the_agent_verified(sam, ada, settings):
    import time_machine
    from django.utils import timezone

    client = signed_in(sam)
    client.post(impersonate_url(ada), REASON)
    later = timezone.now() + timezone.timedelta(minutes=settings.IMPERSONATION_MAX_MINUTES + 1)
    with time_machine.travel(later):
        assert client.get("/")["Location"] == "/support/"
        assert client.get("/support/").status_code == 200


def test_an_impersonation_ends_when_the_agent_s_authenticator_is_removed(sam, ada):
    client = signed_in(sam)
    client.post(impersonate_url(ada), REASON)
    TOTPDevice.objects.filter(user=sam).delete()  # a superuser reset it in the admin
    response = client.get("/orders/", follow=True)
    assert response.redirect_chain[0] == ("/support/", 302)
    assert response.redirect_chain[-1][0].startswith(SETUP)
    assert response.wsgi_request.user == sam
    ended = AuditEvent.objects.get(kind=AuditKind.IMPERSONATION_ENDED)
    assert ended.details == {"why": "second_factor"}
    assert "no longer set up" in response.content.decode()


def test_an_agent_never_sets_up_or_changes_a_customer_s_second_factor(sam, ada):
    client = signed_in(sam)
    client.post(impersonate_url(ada), REASON)
    client.post(reverse("support_elevate"), {"reason": "Customer asked", "next": "/"})
    assert client.get(SETUP).status_code == 403
    assert client.get(VERIFY).status_code == 403
    for name in ("account_security_codes", "account_security_require"):
        assert client.post(reverse(name), {"require_mfa": "on"}).status_code in (403, 404)
    page = client.get("/account/security/").content.decode()
    assert "Support cannot change it" in page
    assert "Set up a second factor" not in page
    assert not TOTPDevice.objects.filter(user=ada).exists()


def test_an_agent_impersonates_a_member_of_an_account_that_requires_it(sam, ada):
    """The agent passed his own second factor; Ada's account's requirement is hers to meet."""
    ada.memberships.get().account.__class__.objects.update(require_mfa=True)
    client = signed_in(sam)
    client.post(impersonate_url(ada), REASON)
    assert client.get("/").status_code == 200
    assert client.get("/").wsgi_request.impersonator == sam
