"""Shared setup of the purchase tests: catalog ids from the seeded demo tenant, form posts."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from orders.scope import for_customer
from portal.models import CustomerAccount, Membership, Role, User

ACME = "Acme Corporation"
SUITE = "PLATFORM-SUITE"
PRO = "PLAN-PRO-US"
ONBOARDING = "ONBOARDING-FEE"


def account(name: str = ACME) -> CustomerAccount:
    """The portal's account of a demo customer (created for customers without one, Initech)."""
    from nue_emulator.models import Customer

    found = CustomerAccount.objects.filter(name=name).first()
    if found is not None:
        return found
    customer = next(c for c in Customer.objects.all() if c.doc["name"] == name)
    return CustomerAccount.objects.create(nue_customer_id=customer.id, name=name)


def entry_id(sku: str, name: str = ACME) -> str:
    scope = for_customer(account(name))
    assert scope is not None
    product = next(p for p in scope.catalog() if p.sku == sku)
    return product.price_book_entries[0].id


def today() -> date:
    return timezone.localdate()


def line(key: str, sku: str, **fields: Any) -> dict[str, Any]:
    """The POST fields of one configured line (defaults: quantity 1, today, 12 months)."""
    data: dict[str, Any] = {
        "line": key,
        f"{key}-entry": entry_id(sku),
        f"{key}-quantity": "1",
        f"{key}-start_date": today().isoformat(),
        f"{key}-term_mode": "term",
        f"{key}-term_months": "12",
    }
    data.update({f"{key}-{name}": value for name, value in fields.items()})
    return data


def suite_line(key: str = "la", **fields: Any) -> dict[str, Any]:
    data = line(key, SUITE, **{"qty_opt-admin-seats": "2"})
    data.update({f"{key}-{name}": value for name, value in fields.items()})
    return data


def create_draft(client: Client, data: dict[str, Any]) -> str:
    response = client.post(reverse("orders:new_order"), {**data, "action": "draft"})
    assert response.status_code == 302, response.content.decode()[:3000]
    return response["Location"].rstrip("/").rsplit("/", 1)[-1]


def member(email: str, role: str, name: str = ACME) -> User:
    """A member of the customer with this role (a demo user keeps its sign-in, gets the role)."""
    user = User.objects.filter(email=email).first() or User.objects.create_user(
        email=email, password="unused-in-tests-1"
    )
    Membership.objects.update_or_create(user=user, account=account(name), defaults={"role": role})
    return user


BUYER = Role.BUYER
