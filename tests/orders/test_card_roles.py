"""Who may do what with the card on file (issue 24, "Done means"): Ada (admin) replaces it and
decides whether buyers may; Bob (buyer) sees it and replaces it only where the account lets
buyers; Ben (viewer) sees it and changes nothing. A refused POST is a 403 that writes nothing:
not in the portal's database (the Stripe link, the account's flag, the audit log) and not in
Nue (the emulator's journal)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from nue_emulator import journal
from orders.models import StripeCustomer
from portal.models import AuditEvent, AuditKind
from tests.orders.purchase_helpers import account
from tests.orders.test_cards import CARD_URL, add_card

POLICY_URL = "/billing/card/policy/"
WRITES = {
    "orders:billing_card_setup": {},
    "orders:billing_card_save": {"setup_intent": "seti_x", "consent": "on"},
    "orders:billing_card_policy": {"buyers_manage_cards": "on"},
}


@pytest.fixture
def card(ada_client, stripe_on) -> None:
    add_card(ada_client, stripe_on)


def _state() -> tuple:
    acme = account()
    link = StripeCustomer.objects.filter(account=acme).values_list(
        "stripe_customer_id", "card_payment_method_id"
    )
    return (acme.buyers_manage_cards, list(link), AuditEvent.objects.count())


def _refused(client: Client, name: str) -> None:
    before = _state()
    with journal.capture() as calls:
        response = client.post(reverse(name), WRITES[name])
    assert response.status_code == 403, name
    assert _state() == before, name
    assert not [c for c in calls if c.wrote], name


def test_it_has_a_stable_route():
    assert reverse("orders:billing_card_policy") == POLICY_URL


@pytest.mark.parametrize("where", ["orders:billing_card", "orders:billing"])
def test_ada_sees_the_card_the_form_and_the_buyers_policy(ada_client, card, where):
    body = ada_client.get(reverse(where)).content.decode()
    assert "Visa ending 4242" in body
    assert 'id="card-form"' in body
    assert 'id="card-policy"' in body


@pytest.mark.parametrize("persona", ["bob_client", "ben_client"])
@pytest.mark.parametrize("where", ["orders:billing_card", "orders:billing"])
def test_bob_and_ben_see_the_card_and_nothing_to_change(request, card, persona, where):
    body = request.getfixturevalue(persona).get(reverse(where)).content.decode()
    section = body.split('id="card-on-file"', 1)[1].split("</section>", 1)[0]
    assert "Visa ending 4242" in section
    assert "<form" not in section
    assert "Only an admin of this account may add or replace the card." in section


@pytest.mark.parametrize("name", sorted(WRITES))
def test_ben_changes_nothing(ben_client, card, name):
    _refused(ben_client, name)


@pytest.mark.parametrize("name", sorted(WRITES))
def test_ben_changes_nothing_even_where_buyers_may(ben_client, card, name):
    acme = account()
    acme.buyers_manage_cards = True
    acme.save()
    _refused(ben_client, name)


@pytest.mark.parametrize("name", sorted(WRITES))
def test_bob_changes_nothing_by_default(bob_client, card, name):
    _refused(bob_client, name)


def test_bob_may_never_change_the_policy(bob_client, card):
    acme = account()
    acme.buyers_manage_cards = True
    acme.save()
    _refused(bob_client, "orders:billing_card_policy")


def test_ada_lets_buyers_replace_the_card_and_bob_then_does(ada_client, bob_client, stripe_on):
    response = ada_client.post(POLICY_URL, {"buyers_manage_cards": "on"})
    assert response.status_code == 302
    assert account().buyers_manage_cards
    event = AuditEvent.objects.filter(kind=AuditKind.ACTION).latest("pk")
    assert event.details["action"] == "card_policy_changed"
    assert event.details["buyers_manage_cards"] is True
    page = bob_client.get(CARD_URL).content.decode()
    assert 'id="card-form"' in page
    assert "Only an admin or a buyer of this account may" not in page
    assert add_card(bob_client, stripe_on).status_code == 302
    assert StripeCustomer.objects.get(account=account()).card_payment_method_id


def test_ada_takes_it_back(ada_client, bob_client):
    acme = account()
    acme.buyers_manage_cards = True
    acme.save()
    assert ada_client.post(POLICY_URL, {}).status_code == 302
    assert not account().buyers_manage_cards
    assert bob_client.post(reverse("orders:billing_card_setup")).status_code == 403


def test_saving_the_same_policy_again_audits_nothing(ada_client):
    before = AuditEvent.objects.filter(details__action="card_policy_changed").count()
    ada_client.post(POLICY_URL, {})
    assert AuditEvent.objects.filter(details__action="card_policy_changed").count() == before


def test_grace_cannot_change_acmes_policy(grace_client):
    grace_client.post(POLICY_URL, {"buyers_manage_cards": "on"})
    assert not account().buyers_manage_cards


def test_it_rejects_get(ada_client):
    assert ada_client.get(POLICY_URL).status_code == 405


def test_read_only_impersonation_changes_no_policy(sam_client, ada):
    sam_client.post(f"/support/impersonate/{ada.memberships.get().pk}/", {"reason": "SUP-7"})
    assert sam_client.post(POLICY_URL, {"buyers_manage_cards": "on"}).status_code == 403
    assert not account().buyers_manage_cards
