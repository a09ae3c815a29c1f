"""The invitation link, /invitations/<token>/: only the address it was sent to joins, once,
before it expires; as a new sign-in with a name and a password the validators accept, or with
the sign-in it has (issue 25, item 1)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import SESSION_KEY as USER_SESSION_KEY
from django.test import Client
from django.utils import timezone

from portal.middleware import SESSION_KEY
from portal.models import (
    AuditEvent,
    AuditKind,
    CustomerAccount,
    Invitation,
    Membership,
    Role,
    User,
)
from tests import demo
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db

CLEO = "cleo@acme.example"
PASSWORD = "a long walk in the park 42"


def invitation_to(
    account: CustomerAccount,
    email: str = CLEO,
    role: Role = Role.BUYER,
    spending_limit: str | None = "500.00",
    by: User | None = None,
) -> tuple[Invitation, str]:
    invitation = Invitation(
        account=account,
        email=email,
        role=role,
        spending_limit=Decimal(spending_limit) if spending_limit else None,
        first_name="Cleo",
        last_name="Patra",
        invited_by=by,
        currency="USD",  # Nue's for Acme, as the team page's invite records it
    )
    token = invitation.new_token()
    invitation.save()
    return invitation, token


@pytest.fixture
def acme(ada) -> CustomerAccount:
    return ada.memberships.get().account


@pytest.fixture
def invited(acme, ada) -> tuple[Invitation, str]:
    return invitation_to(acme, by=ada)


def url(token: str) -> str:
    return f"/invitations/{token}/"


def join(client: Client, token: str, **more: str):
    body = {"first_name": "Cleo", "last_name": "Patra", "password1": PASSWORD}
    body["password2"] = body["password1"]
    return client.post(url(token), {**body, **more})


def test_it_offers_a_new_address_a_name_and_a_password(invited):
    _, token = invited
    response = Client().get(url(token))
    assert response.status_code == 200
    page = response.text
    assert "Join Acme Corporation" in page
    assert f'Ada Lovelace invited <span class="mono">{CLEO}</span>' in page
    assert "as <strong>buyer</strong>" in page
    assert "$500.00 in 24 hours" in page
    assert 'value="Cleo"' in page  # the name the admin gave, to keep or correct
    assert 'name="password1"' in page
    assert "no-store" in response["Cache-Control"]


def test_it_creates_the_sign_in_and_lands_in_the_account(invited, acme):
    invitation, token = invited
    client = Client()
    response = join(client, token, first_name="Cleopatra")
    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(email=CLEO)
    assert user.first_name == "Cleopatra"
    assert user.check_password(PASSWORD)
    membership = Membership.objects.get(user=user, account=acme)
    assert (membership.role, membership.spending_limit) == (Role.BUYER, Decimal("500.00"))
    invitation.refresh_from_db()
    assert invitation.state == Invitation.State.ACCEPTED
    assert invitation.accepted_by == user
    # Signed in, acting for the account joined: the dashboard is Acme's.
    assert client.session[USER_SESSION_KEY] == str(user.pk)
    assert client.session[SESSION_KEY] == membership.pk
    home = client.get("/")
    assert home.status_code == 200
    assert "Welcome to Acme Corporation: you are a member as buyer." in home.text
    assert 'href="/orders/new/"' in home.text
    event = AuditEvent.objects.get(kind=AuditKind.TEAM, details__action="invitation_accepted")
    assert (event.actor, event.customer) == (user, acme)
    assert event.details["invited_by"] == demo.ADA
    assert event.details["spending_limit"] == "500.00"
    assert AuditEvent.objects.filter(kind=AuditKind.SIGN_IN, actor=user).exists()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "This password is too short."),
        ("password123", "This password is too common."),
        ("cleo@acme.example", "The password is too similar to the email address."),
        ("12345678901234", "This password is entirely numeric."),
    ],
)
def test_it_holds_the_password_to_the_validators(invited, password, message):
    _, token = invited
    response = join(Client(), token, password1=password, password2=password)
    assert response.status_code == 422
    assert message in response.text
    assert not User.objects.filter(email=CLEO).exists()


def test_it_wants_the_same_password_twice(invited):
    _, token = invited
    response = join(Client(), token, password2=PASSWORD + "!")
    assert response.status_code == 422
    assert "The two passwords differ." in response.text
    assert not User.objects.filter(email=CLEO).exists()


def test_it_works_once(invited):
    _, token = invited
    assert join(Client(), token).status_code == 302
    again = Client().get(url(token))
    assert again.status_code == 410
    assert "This invitation has been used already" in again.text
    assert join(Client(), token).status_code == 410
    assert User.objects.filter(email=CLEO).count() == 1


def test_it_says_when_the_link_expired(invited, settings):
    invitation, token = invited
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = Client().get(url(token))
    assert response.status_code == 410
    assert "This invitation has expired. Ask the admin who invited you" in response.text
    assert join(Client(), token).status_code == 410
    assert not User.objects.filter(email=CLEO).exists()


def test_it_expires_after_the_configured_days(acme, settings):
    settings.INVITATION_MAX_AGE_DAYS = 2
    invitation, _ = invitation_to(acme)
    assert invitation.expires_at - invitation.created_at == pytest.approx(
        timedelta(days=2), abs=timedelta(seconds=5)
    )


def test_it_says_when_the_link_was_revoked(invited):
    invitation, token = invited
    Invitation.objects.filter(pk=invitation.pk).update(revoked_at=timezone.now())
    response = Client().get(url(token))
    assert response.status_code == 410
    assert "withdrawn by an admin" in response.text


def test_it_knows_no_other_token(invited):
    response = Client().get(url("not-a-token"))
    assert response.status_code == 404
    assert "This invitation link is not valid" in response.text


def test_it_asks_an_existing_sign_in_to_sign_in_first(grace, acme):
    _, token = invitation_to(acme, email=demo.GRACE, role=Role.VIEWER, spending_limit=None)
    response = Client().get(url(token))
    assert response.status_code == 200
    assert f'href="/accounts/login/?next=%2Finvitations%2F{token}%2F"' in response.text
    assert 'name="password1"' not in response.text
    # A POST without a sign-in creates nothing for an address that has one.
    assert join(Client(), token).status_code == 200
    assert not Membership.objects.filter(user=grace, account=acme).exists()


def test_it_joins_a_signed_in_invitee_with_one_click(grace, acme):
    _, token = invitation_to(acme, email=demo.GRACE, role=Role.VIEWER, spending_limit=None)
    client = signed_in(grace)
    page = client.get(url(token))
    assert page.status_code == 200
    # Grace reads German.
    assert "Acme Corporation beitreten</button>" in page.text
    assert not Membership.objects.filter(user=grace, account=acme).exists()  # a GET joins nobody
    response = client.post(url(token))
    assert response.status_code == 302
    # One person, two customers: Grace keeps Globex and acts for Acme now.
    assert set(grace.memberships.values_list("account__name", flat=True)) == {
        demo.ACME,
        demo.GLOBEX,
    }
    joined = Membership.objects.get(user=grace, account=acme)
    assert joined.role == Role.VIEWER
    assert client.session[SESSION_KEY] == joined.pk
    assert "Acme Corporation" in client.get("/").text


def test_it_matches_the_address_whatever_its_case(grace, acme):
    _, token = invitation_to(acme, email="Grace@Globex.Example", spending_limit=None)
    assert signed_in(grace).post(url(token)).status_code == 302


def test_it_refuses_someone_signed_in_as_another_address(invited, ben, acme):
    _, token = invited
    client = signed_in(ben)
    page = client.get(url(token))
    assert page.status_code == 403
    assert f'This invitation was sent to <span class="mono">{CLEO}</span>' in page.text
    assert f'you are signed in as <span class="mono">{demo.BEN}</span>' in page.text
    assert "Sign out and open the invitation again" in page.text
    assert client.post(url(token)).status_code == 403
    assert join(client, token).status_code == 403
    assert Membership.objects.get(user=ben).role == Role.VIEWER
    assert not User.objects.filter(email=CLEO).exists()
    # The page's sign-out comes back to the invitation, signed out.
    out = client.post("/accounts/logout/", {"next": url(token)})
    assert out["Location"] == url(token)
    assert 'name="password1"' in client.get(url(token)).text


def test_it_tells_a_late_sign_up_to_sign_in(invited):
    """The address got a sign-in between showing the form and sending it."""
    _, token = invited
    client = Client()
    client.get(url(token))
    User.objects.create_user(CLEO, "another password 99")
    response = join(client, token)
    assert response.status_code == 200
    assert "Sign in to accept" in response.text


def test_it_keeps_a_membership_made_meanwhile_as_it_is(grace, acme):
    _, token = invitation_to(acme, email=demo.GRACE, role=Role.ADMIN, spending_limit=None)
    Membership.objects.create(user=grace, account=acme, role=Role.VIEWER)
    assert signed_in(grace).post(url(token)).status_code == 302
    assert Membership.objects.get(user=grace, account=acme).role == Role.VIEWER


def test_support_cannot_accept_for_a_customer(sam, ada, acme):
    _, token = invitation_to(acme, email=demo.ADA, spending_limit=None)
    agent = signed_in(sam)
    start = agent.post(
        f"/support/impersonate/{ada.memberships.get().pk}/", {"reason": "Ticket SUP-9"}
    )
    assert start.status_code == 302
    assert agent.get(url(token)).status_code == 403
    assert agent.post(url(token)).status_code == 403
    elevated = agent.post("/support/elevate/", {"reason": "Asked", "next": "/"})
    assert elevated.status_code == 302
    assert agent.post(url(token)).status_code == 403
    assert Invitation.objects.get(email=demo.ADA).accepted_at is None


def test_it_rejects_other_methods(invited):
    _, token = invited
    assert Client().put(url(token)).status_code == 405
