"""Fixtures of the security sweep: each persona's client and real ids of Acme, Globex, Initech."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from portal.models import CustomerAccount, User
from tests.conftest import signed_in
from tests.security.inventory import ACME, EMAILS, GLOBEX, INITECH, Ids


def _account(name: str) -> CustomerAccount:
    """The portal's account of a demo customer (Initech has none in the seed: made here)."""
    from nue_emulator.models import Customer

    found = CustomerAccount.objects.filter(name=name).first()
    if found is not None:
        return found
    customer = Customer.objects.get(name=name)
    return CustomerAccount.objects.create(nue_customer_id=customer.id, name=name)


@pytest.fixture
def client_for(db) -> Callable[[str], Client]:
    made: dict[str, Client] = {}

    def get(persona: str) -> Client:
        if persona not in made:
            made[persona] = signed_in(User.objects.get(email=EMAILS[persona]))
        return made[persona]

    return get


@pytest.fixture
def acme_ids(client_for) -> Ids:
    return Ids(_account(ACME), client_for("ada"))


@pytest.fixture
def globex_ids(client_for) -> Ids:
    return Ids(_account(GLOBEX), client_for("grace"))


@pytest.fixture
def initech_ids(db) -> Ids:
    """A customer outside Maria's book, with a member so it has memberships and requests."""
    from portal.models import Membership, Role

    account = _account(INITECH)
    peter = User.objects.create_user("peter@initech.example")
    Membership.objects.create(user=peter, account=account, role=Role.BUYER)
    return Ids(account, signed_in(peter))
