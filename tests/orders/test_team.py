"""The team page, /account/team/: a customer admin invites people by email with a role and a
buyer's spending limit, resends and revokes invitations, changes roles and limits and removes
members; the account always keeps an admin, and every change is audited (issue 25, items 1-2)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client
from django.urls import reverse

from nue_emulator import journal
from nue_emulator.models import Contact as EmulatedContact
from portal.models import AuditEvent, AuditKind, Invitation, Membership, Role, User, hash_token
from tests import demo
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db

URL = "/account/team/"
INVITE_URL = "/account/team/invite/"
HTMX = {"HTTP_HX_REQUEST": "true"}
LINK = re.compile(r"https?://[^/\s]+/invitations/([A-Za-z0-9_-]+)/")
HANK = "hank@globex.example"  # a contact of Globex in Nue, with no sign-in


def member_url(membership: Membership, action: str = "") -> str:
    return f"/account/team/members/{membership.pk}/{action + '/' if action else ''}"


def invitation_url(invitation: Invitation, action: str) -> str:
    return f"/account/team/invitations/{invitation.pk}/{action}/"


def team_events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(kind=AuditKind.TEAM, details__action=action))


def contact_writes(calls: list[journal.Entry]) -> list[str]:
    return [c.path for c in calls if c.method == "POST" and c.path.endswith("/contacts")]


def link_token(message: mail.EmailMessage) -> str:
    found = LINK.search(message.body)
    assert found, message.body
    return found.group(1)


def invite(client: Client, email: str, role: str = "viewer", **more: str):
    return client.post(INVITE_URL, {"email": email, "role": role, **more})


class FailingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("the mail server is down")


def test_it_has_stable_routes():
    assert reverse("orders:team") == URL
    assert reverse("orders:team_invite") == INVITE_URL
    assert reverse("orders:team_member", args=[7]) == "/account/team/members/7/"
    assert reverse("orders:team_member_remove", args=[7]) == "/account/team/members/7/remove/"
    assert reverse("orders:team_invitation_resend", args=[3]) == (
        "/account/team/invitations/3/resend/"
    )
    assert reverse("invitation", args=["abc"]) == "/invitations/abc/"


def test_it_requires_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_lists_members_and_open_invitations(ada_client, ada, bob):
    account = ada.memberships.get().account
    Membership.objects.filter(user=bob).update(spending_limit=Decimal("750.00"))
    waiting = Invitation(account=account, email="cleo@acme.example", role=Role.BUYER)
    waiting.new_token()
    waiting.save()
    revoked = Invitation(account=account, email="gone@acme.example", role=Role.VIEWER)
    revoked.new_token()
    revoked.revoked_at = waiting.created_at
    revoked.save()
    response = ada_client.get(URL)
    assert response.status_code == 200
    page = response.text
    for text in ("Ada Lovelace", demo.ADA, "Ben Bitdiddle", demo.BEN, demo.BOB, "$750.00"):
        assert text in page
    bob_row = re.search(r'<tr id="member-\d+">(?:(?!</tr>).)*bob@acme\.example.*?</tr>', page, re.S)
    assert bob_row is not None
    assert "Buyer" in bob_row.group(0)
    assert "$750.00" in bob_row.group(0)
    assert "cleo@acme.example" in page
    assert "gone@acme.example" not in page
    assert 'aria-current="page">Team<' in page
    # Ada is the only admin: the page offers her no way to remove herself.
    ada_membership = ada.memberships.get()
    assert member_url(ada_membership, "remove") not in page
    assert member_url(bob.memberships.get(), "remove") in page


def test_it_keeps_other_customers_teams_out(grace_client):
    page = grace_client.get(URL).text
    assert demo.GRACE in page
    assert "acme.example" not in page


@pytest.mark.parametrize("persona", ["ben_client", "bob_client"])
def test_it_refuses_viewers_and_buyers(persona, request):
    client: Client = request.getfixturevalue(persona)
    assert client.get(URL).status_code == 403
    with journal.capture() as calls:
        response = invite(client, "cleo@acme.example", add_contact="on", first_name="C")
    assert response.status_code == 403
    assert calls == []
    assert not Invitation.objects.exists()
    assert 'href="/account/team/"' not in client.get("/").text


def test_it_does_not_exist_for_staff_without_a_customer(maria_client):
    assert maria_client.get(URL).status_code == 404


def test_it_rejects_other_methods(ada_client):
    assert ada_client.post(URL).status_code == 405
    assert ada_client.get(INVITE_URL).status_code == 405


def test_it_answers_htmx_with_the_team_region(ada_client):
    response = ada_client.get(URL, **HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="team"')
    assert "<html" not in response.text


def test_it_suggests_contacts_who_are_not_members(grace_client):
    page = grace_client.get(URL).text
    assert f'<option value="{HANK}">' in page
    assert f'<option value="{demo.GRACE}">' not in page


def test_it_invites_a_contact_by_email(grace_client, grace):
    with journal.capture() as calls:
        response = invite(grace_client, HANK, "buyer", spending_limit="500")
    assert response.status_code == 302
    assert response["Location"] == URL
    assert contact_writes(calls) == []  # Hank is a contact already
    invitation = Invitation.objects.get(email=HANK)
    assert (invitation.role, invitation.spending_limit) == (Role.BUYER, Decimal("500.00"))
    assert invitation.invited_by == grace
    assert (invitation.first_name, invitation.last_name) == ("Hank", "Scorpio")
    assert invitation.sent_at is not None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [HANK]
    # Written in the language of Grace, who sends it (Hank's is not known yet), in Globex's
    # currency as she writes it.
    assert message.subject == "Grace Hopper hat Sie zu Globex GmbH im Nue-Portal eingeladen"
    assert "als Käufer" in message.body
    assert invitation.currency == "EUR"
    assert "bis zu 500,00\xa0€ innerhalb von 24 Stunden" in message.body
    token = link_token(message)
    html, kind = message.alternatives[0]
    assert kind == "text/html"
    assert f"/invitations/{token}/" in html
    # Only the email carries the token: the database keeps its hash.
    assert invitation.token_hash == hash_token(token)
    assert token not in invitation.token_hash
    event = team_events("invited")[0]
    assert event.actor == grace
    assert event.details == {
        "action": "invited",
        "email": HANK,
        "role": "buyer",
        "spending_limit": "500.00",
    }
    page = grace_client.get(URL).text
    assert f"Einladung an {HANK} als Einkäufer gesendet." in page  # Grace reads German
    assert f'<th scope="row">{HANK}</th>' in page


def test_it_refuses_an_email_that_is_no_contact_unless_asked_to_add_it(ada_client):
    with journal.capture() as calls:
        response = invite(ada_client, "cleo@acme.example", **HTMX)
    assert response.status_code == 422
    assert "cleo@acme.example is not a contact of Acme Corporation in Nue" in response.text
    assert contact_writes(calls) == []
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_it_adds_the_email_as_a_contact_when_asked(ada_client, ada):
    acme = ada.memberships.get().account
    with journal.capture() as calls:
        response = invite(
            ada_client,
            "Cleo@Acme.example",
            "buyer",
            spending_limit="250.00",
            first_name="Cleo",
            last_name="Patra",
            add_contact="on",
        )
    assert response.status_code == 302
    assert contact_writes(calls) == [f"/nue-emulator/customers/{acme.nue_customer_id}/contacts"]
    held = EmulatedContact.objects.get(email="cleo@acme.example").doc
    assert (held["customerId"], held["firstName"], held["lastName"]) == (
        acme.nue_customer_id,
        "Cleo",
        "Patra",
    )
    invitation = Invitation.objects.get()
    assert invitation.email == "cleo@acme.example"
    assert invitation.name == "Cleo Patra"
    added = AuditEvent.objects.get(kind=AuditKind.ACTION, details__action="contact_added")
    assert added.details["contact_email"] == "cleo@acme.example"
    assert [m.to for m in mail.outbox] == [["cleo@acme.example"]]
    page = ada_client.get(URL).text
    assert "Cleo Patra (cleo@acme.example) is now a contact in Nue." in page


def test_it_needs_a_name_for_a_new_contact(ada_client):
    with journal.capture() as calls:
        response = invite(ada_client, "cleo@acme.example", add_contact="on", first_name="Cleo")
    assert response.status_code == 422
    assert "Nue needs a contact&#x27;s first and last name." in response.text
    assert contact_writes(calls) == []
    assert not Invitation.objects.exists()


def test_it_puts_nues_refusal_of_the_contact_on_the_form(ada_client):
    # Contact emails are unique in the tenant: Grace is Globex's.
    with journal.capture() as calls:
        response = invite(
            ada_client, demo.GRACE, first_name="Grace", last_name="Hopper", add_contact="on"
        )
    assert response.status_code == 422
    assert len(contact_writes(calls)) == 1
    assert "already in use" in response.text
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_it_refuses_members_and_emails_invited_already(grace_client, grace):
    response = invite(grace_client, demo.GRACE.upper())
    assert response.status_code == 422
    # Grace reads German.
    assert f"{demo.GRACE} ist bereits Mitglied von Globex GmbH." in response.text
    assert invite(grace_client, HANK).status_code == 302
    again = invite(grace_client, HANK, "admin")
    assert again.status_code == 422
    assert "ist bereits eingeladen: Senden Sie diese Einladung" in again.text
    assert Invitation.objects.count() == 1


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_it_gives_only_buyers_a_spending_limit(grace_client, role):
    response = invite(grace_client, HANK, role, spending_limit="100")
    assert response.status_code == 422
    assert "Nur Einkäufer haben ein Ausgabenlimit" in response.text  # Grace reads German
    assert not Invitation.objects.exists()


# Arabic-Indic 100: Python reads it as a number; the admin would not see one.
@pytest.mark.parametrize("limit", ["-1", "abc", "\u0661\u0660\u0660", "12345678901.00", "1.234"])
def test_it_rejects_a_bad_spending_limit(grace_client, limit):
    response = invite(grace_client, HANK, "buyer", spending_limit=limit)
    assert response.status_code == 422
    assert not Invitation.objects.exists()


def test_it_keeps_the_invitation_when_the_mail_fails(grace_client, settings):
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    response = invite(grace_client, HANK)
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.sent_at is None
    page = grace_client.get(URL).text
    # Grace reads German: the message and the invitation's badge.
    assert "ihre E-Mail konnte nicht gesendet werden" in page
    assert "E-Mail nicht gesendet" in page


def _invited(client: Client) -> tuple[Invitation, str]:
    assert invite(client, HANK, "buyer").status_code == 302
    return Invitation.objects.get(email=HANK), link_token(mail.outbox[-1])


def test_it_resends_with_a_new_link_that_replaces_the_old(grace_client):
    invitation, first = _invited(grace_client)
    response = grace_client.post(invitation_url(invitation, "resend"))
    assert response.status_code == 302
    assert len(mail.outbox) == 2
    second = link_token(mail.outbox[1])
    assert second != first
    assert Invitation.for_token(first) is None
    assert Invitation.for_token(second) == invitation
    assert Client().get(f"/invitations/{first}/").status_code == 404
    assert Client().get(f"/invitations/{second}/").status_code == 200
    assert team_events("invitation_resent")[0].details["email"] == HANK
    assert "der vorherige Link funktioniert nicht mehr" in grace_client.get(URL).text


def test_it_resends_an_expired_invitation_for_as_long_again(grace_client, settings):
    invitation, _ = _invited(grace_client)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=invitation.created_at)
    # Grace reads German.
    assert "Abgelaufen" in grace_client.get(URL).text
    grace_client.post(invitation_url(invitation, "resend"))
    invitation.refresh_from_db()
    assert invitation.state == Invitation.State.OPEN


def test_it_revokes_an_invitation(grace_client):
    invitation, token = _invited(grace_client)
    response = grace_client.post(invitation_url(invitation, "revoke"), **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == URL
    invitation.refresh_from_db()
    assert invitation.state == Invitation.State.REVOKED
    closed = Client().get(f"/invitations/{token}/")
    assert closed.status_code == 410
    assert "withdrawn by an admin" in closed.text
    assert team_events("invitation_revoked")[0].details["email"] == HANK
    # A revoked invitation is no longer there to resend or revoke.
    assert grace_client.post(invitation_url(invitation, "resend")).status_code == 404
    assert grace_client.post(invitation_url(invitation, "revoke")).status_code == 404


def test_it_hides_another_customers_invitation_and_member(ada_client, grace_client, grace):
    invitation, _ = _invited(grace_client)
    assert ada_client.post(invitation_url(invitation, "revoke")).status_code == 404
    assert ada_client.post(invitation_url(invitation, "resend")).status_code == 404
    globex_member = grace.memberships.get()
    assert ada_client.post(member_url(globex_member), {"role": "viewer"}).status_code == 404
    assert ada_client.post(member_url(globex_member, "remove")).status_code == 404
    invitation.refresh_from_db()
    assert invitation.state == Invitation.State.OPEN
    assert Membership.objects.filter(pk=globex_member.pk, role=Role.ADMIN).exists()


def test_it_changes_a_role_and_a_spending_limit(ada_client, ada, bob):
    membership = bob.memberships.get()
    response = ada_client.post(member_url(membership), {"role": "buyer", "spending_limit": "300"})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.spending_limit == Decimal("300.00")
    event = team_events("member_changed")[0]
    assert event.actor == ada
    assert event.details == {
        "action": "member_changed",
        "email": demo.BOB,
        "role": "buyer",
        "spending_limit": "300.00",
        "previous_role": "buyer",
        "previous_spending_limit": None,
    }
    assert f"{demo.BOB} is now buyer with a spending limit of $300.00." in ada_client.get(URL).text
    # Made a viewer, Bob keeps no limit.
    ada_client.post(member_url(membership), {"role": "viewer", "spending_limit": ""})
    membership.refresh_from_db()
    assert (membership.role, membership.spending_limit) == (Role.VIEWER, None)


def test_it_says_when_nothing_changed(ada_client, bob):
    response = ada_client.post(member_url(bob.memberships.get()), {"role": "buyer"})
    assert response.status_code == 302
    assert f"Nothing changed for {demo.BOB}." in ada_client.get(URL).text
    assert team_events("member_changed") == []


def test_it_puts_a_bad_change_on_that_members_form(ada_client, bob):
    membership = bob.memberships.get()
    response = ada_client.post(
        member_url(membership), {"role": "admin", "spending_limit": "5"}, **HTMX
    )
    assert response.status_code == 422
    assert f'id="member-{membership.pk}-spending_limit"' in response.text
    assert "Only a buyer has a spending limit" in response.text
    membership.refresh_from_db()
    assert membership.role == Role.BUYER


def test_the_last_admin_can_neither_leave_the_role_nor_the_account(ada_client, ada):
    membership = ada.memberships.get()
    demoted = ada_client.post(member_url(membership), {"role": "buyer"})
    assert demoted.status_code == 422
    assert "is the account&#x27;s only admin" in demoted.text
    removed = ada_client.post(member_url(membership, "remove"))
    assert removed.status_code == 409
    assert "is the account&#x27;s only admin" in removed.text
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN
    assert team_events("member_changed") == team_events("member_removed") == []


def test_an_admin_may_step_down_once_another_is_admin(ada_client, ada, ben):
    ada_client.post(member_url(ben.memberships.get()), {"role": "admin"})
    response = ada_client.post(member_url(ada.memberships.get()), {"role": "viewer"})
    assert response.status_code == 302
    assert response["Location"] == "/"  # the team page is no longer hers
    assert ada_client.get(URL).status_code == 403
    # Ben, now the only admin, cannot be demoted by anyone.
    ben_client = signed_in(ben)
    refused = ben_client.post(member_url(ben.memberships.get()), {"role": "buyer"})
    assert refused.status_code == 422


def test_it_removes_a_member_who_keeps_their_sign_in(ada_client, ben):
    response = ada_client.post(member_url(ben.memberships.get(), "remove"))
    assert response.status_code == 302
    assert not Membership.objects.filter(user=ben).exists()
    assert User.objects.filter(pk=ben.pk, is_active=True).exists()
    event = team_events("member_removed")[0]
    assert event.details == {"action": "member_removed", "email": demo.BEN, "role": "viewer"}
    assert f"{demo.BEN} no longer has access to Acme Corporation." in ada_client.get(URL).text
    # Ben's next click finds no customer.
    assert signed_in(ben).get("/orders/").status_code == 404


def test_an_admin_who_removes_themself_goes_home(ada_client, ada, ben):
    ada_client.post(member_url(ben.memberships.get()), {"role": "admin"})
    response = ada_client.post(member_url(ada.memberships.get(), "remove"), **HTMX)
    assert response["HX-Redirect"] == "/"
    assert not Membership.objects.filter(user=ada).exists()


@pytest.fixture
def sam_as_ada(sam, ada) -> Client:
    agent = signed_in(sam)
    url = reverse("support_impersonate", args=[ada.memberships.get().pk])
    assert agent.post(url, {"reason": "Ticket SUP-7"}).status_code == 302
    return agent


def test_read_only_impersonation_sees_the_team_and_changes_nothing(sam_as_ada, bob):
    assert sam_as_ada.get(URL).status_code == 200
    with journal.capture() as calls:
        invited = invite(sam_as_ada, "cleo@acme.example", add_contact="on", first_name="C")
        changed = sam_as_ada.post(member_url(bob.memberships.get()), {"role": "admin"})
    assert invited.status_code == changed.status_code == 403
    assert calls == []
    assert not Invitation.objects.exists()
    assert bob.memberships.get().role == Role.BUYER
    assert mail.outbox == []


def test_an_elevated_agents_change_names_both_people(sam_as_ada, sam, ada, bob):
    elevate = sam_as_ada.post(reverse("support_elevate"), {"reason": "Customer asked", "next": "/"})
    assert elevate.status_code == 302
    membership = bob.memberships.get()
    response = sam_as_ada.post(member_url(membership), {"role": "viewer"})
    assert response.status_code == 302
    event = team_events("member_changed")[0]
    assert (event.actor, event.on_behalf_of) == (sam, ada)
    assert event.impersonation is not None
    # The action's own event stands for the request: no plain "Action" step beside it.
    assert not AuditEvent.objects.filter(
        kind=AuditKind.ACTION, path=member_url(membership)
    ).exists()


def test_the_audit_trail_words_team_changes():
    from portal.audit import detail_fields

    details = {
        "action": "member_changed",
        "email": demo.BOB,
        "role": "viewer",
        "previous_role": "buyer",
        "previous_spending_limit": "300.00",
    }
    assert detail_fields(details, for_customer=True) == [
        ("Action", "Changed a member's role or limit"),
        ("Email", demo.BOB),
        ("Role", "viewer"),
        ("Role before", "buyer"),
        ("Spending limit before", "300.00"),
    ]
