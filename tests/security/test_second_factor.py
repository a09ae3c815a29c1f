"""The second factor's gate, generated from the inventory (issue 25, item 4): a staff session that
has not passed its second factor reaches no route but the second-factor pages and signing out,
whatever the method, with or without HTMX, and writes nothing on the way; nor the admin site.
A member of an account whose admins require it is held the same way for that account.

The URLs carry placeholder ids: the gate answers before any view looks anything up.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from nue_emulator import journal
from portal.mfa import OPEN_ROUTES
from portal.models import AuditEvent, CustomerAccount, User
from tests.conftest import authenticator, signed_in
from tests.security.inventory import (
    ACME,
    ACME_MEMBERS,
    EMAILS,
    MARIA,
    ROUTES,
    SAM,
    STAFF,
    SUPERUSER,
    Ids,
    route_id,
)
from tests.security.test_write_sweep import portal_records

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
GATED = [route for route in ROUTES if not route.public and not route.before_second_factor]
OPEN = [route for route in ROUTES if route.before_second_factor]


class Placeholders:
    """Ids of the right shape for every route's URL, of nothing that exists."""

    account_id = 987654
    membership = 987654
    order = draft = "ord-placeholder"
    subscription = "SUB-PLACEHOLDER"
    invoice = "inv-placeholder"
    approval = 987654
    change_preview = "co-placeholder"
    basket = "basket-placeholder"
    invitation = 987654
    invitation_token = "token-placeholder"
    operation = 987654


IDS = Placeholders()


def _user(persona: str) -> User:
    return User.objects.get(email=EMAILS[persona])


def _asks(route) -> list[tuple[str, dict[str, str]]]:
    """Each method of the route, plain and as HTMX."""
    return [
        (method, headers)
        for method in route.methods
        for headers in ({}, {"HX-Request": "true", "HX-Current-URL": "http://testserver/orders/"})
    ]


def _sent_to(response, page: str) -> str:
    """Where the gate sent a request: the Location of a redirect, HX-Redirect for htmx."""
    target = response.get("HX-Redirect") or response.get("Location", "")
    assert urlsplit(target).path == reverse(page), (response.status_code, target)
    return target


def test_the_placeholders_stand_in_for_every_id_a_route_builds_on():
    ids = {name for name in dir(Ids) if not name.startswith("_")} - {"nue", "owner_client"}
    assert ids - {"account"} <= set(dir(Placeholders))


def test_the_inventory_opens_to_an_unverified_session_what_the_gate_does():
    assert {route.name for route in OPEN} == set(OPEN_ROUTES)


@pytest.mark.parametrize("route", GATED, ids=route_id)
def test_it_sends_staff_without_a_verified_session_to_their_second_factor(route):
    url = route.url(IDS)
    body = urlencode(route.body(IDS)) if route.is_post else ""
    sam = _user(SAM)
    clients = {persona: signed_in(_user(persona), verified=False) for persona in sorted(STAFF)}
    before, events = portal_records(), AuditEvent.objects.count()
    with journal.capture() as calls:
        # Sam has no authenticator yet: he is sent to set one up.
        for method, headers in _asks(route):
            response = clients[SAM].generic(method, url, body, content_type=FORM, headers=headers)
            assert response.status_code == (200 if headers else 302), (method, headers)
            _sent_to(response, "mfa_setup")
        authenticator(sam)
        # With one, every member of staff is asked for its code first.
        for persona, client in clients.items():
            authenticator(_user(persona))
            for method, headers in _asks(route):
                response = client.generic(method, url, body, content_type=FORM, headers=headers)
                target = _sent_to(response, "mfa_verify")
                if method == "GET" and not headers:
                    assert target == f"{reverse('mfa_verify')}?{urlencode({'next': url})}"
                elif headers:
                    # Back to the page the partial was for, not the partial.
                    assert target.endswith("?next=%2Forders%2F"), persona
    assert calls == [], f"{route.name}: an unverified session reached Nue"
    assert portal_records() == before
    assert AuditEvent.objects.count() == events, f"{route.name}: the gate let something through"


def test_it_serves_the_second_factor_pages_to_an_unverified_session():
    sam = _user(SAM)
    client = signed_in(sam, verified=False)
    assert client.get(reverse("mfa_setup")).status_code == 200
    # Once he has an authenticator, replacing it takes a code from it first.
    authenticator(sam)
    assert client.get(reverse("mfa_verify")).status_code == 200
    _sent_to(client.get(reverse("mfa_setup")), "mfa_verify")


@pytest.mark.parametrize("persona", sorted(STAFF))
def test_it_lets_staff_sign_out_before_the_second_factor(persona):
    client = signed_in(_user(persona), verified=False)
    assert client.post(reverse("logout")).status_code == 302
    assert not client.get("/accounts/login/").wsgi_request.user.is_authenticated


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/portal/auditevent/", "/admin/otp_totp/totpdevice/"]
)
def test_it_keeps_the_admin_site_from_an_unverified_superuser(path):
    superuser = _user(SUPERUSER)
    authenticator(superuser)
    response = signed_in(superuser, verified=False).get(path)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('mfa_verify')}?{urlencode({'next': path})}"
    assert signed_in(superuser).get(path).status_code == 200


def test_the_admin_never_shows_an_authenticator_s_key():
    device = authenticator(_user(SAM))
    superuser = _user(SUPERUSER)
    page = signed_in(superuser).get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    assert page.status_code == 200
    assert device.key not in page.content.decode()


def test_it_lets_the_admin_reset_a_lost_authenticator():
    sam = _user(SAM)
    device = authenticator(sam)
    client = signed_in(_user(SUPERUSER))
    url = f"/admin/otp_totp/totpdevice/{device.pk}/delete/"
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not TOTPDevice.objects.filter(user=sam).exists()
    # Sam's next sign-in sets a new one up.
    _sent_to(signed_in(sam, verified=False).get("/support/"), "mfa_setup")


@pytest.mark.parametrize("route", GATED, ids=route_id)
def test_it_holds_members_of_an_account_that_requires_it_until_they_set_it_up(route):
    CustomerAccount.objects.filter(name=ACME).update(require_mfa=True)
    url = route.url(IDS)
    body = urlencode(route.body(IDS)) if route.is_post else ""
    before = portal_records()
    with journal.capture() as calls:
        for persona in sorted(ACME_MEMBERS):
            client = signed_in(_user(persona))
            for method, headers in _asks(route):
                response = client.generic(method, url, body, content_type=FORM, headers=headers)
                if route.name == "choose_customer":
                    # Choosing another of their accounts is still theirs to do.
                    assert response.status_code != 302 or "mfa" not in response["Location"]
                    continue
                _sent_to(response, "mfa_setup")
    assert calls == []
    assert portal_records() == before


def test_it_leaves_members_of_other_accounts_and_staff_alone(client_for):
    CustomerAccount.objects.filter(name=ACME).update(require_mfa=True)
    assert client_for("grace").get("/").status_code == 200
    assert client_for(MARIA).get("/review/").status_code == 200


def test_a_member_of_a_required_account_may_still_choose_another(ada):
    globex = CustomerAccount.objects.get(name="Globex GmbH")
    other = ada.memberships.create(account=globex, role="viewer")
    CustomerAccount.objects.filter(name=ACME).update(require_mfa=True)
    client = signed_in(ada)
    assert client.get("/").status_code == 302  # two accounts: asked to choose first
    chosen = client.post(reverse("choose_customer"), {"membership": other.pk, "next": "/"})
    assert chosen["Location"] == "/"
    assert client.get("/").status_code == 200  # Globex requires nothing
    acme = ada.memberships.get(account__name=ACME)
    client.post(reverse("choose_customer"), {"membership": acme.pk, "next": "/"})
    _sent_to(client.get("/"), "mfa_setup")


def test_an_anonymous_visitor_is_sent_to_sign_in_not_to_a_second_factor():
    for name in ("mfa_verify", "mfa_setup", "account_security"):
        response = Client().get(reverse(name))
        assert response["Location"].startswith("/accounts/login/?next="), name
