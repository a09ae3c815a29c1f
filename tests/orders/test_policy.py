from decimal import Decimal

import pytest

from orders.policy import Decision, activation_decision, can_cancel, can_prepare
from portal.models import CustomerAccount, Membership, Role


def member(role: Role, threshold: str | None = "1000.00") -> Membership:
    account = CustomerAccount(
        name="Acme", nue_customer_id="c", approval_threshold=threshold and Decimal(threshold)
    )
    return Membership(account=account, role=role)


@pytest.mark.parametrize(
    ("role", "amount", "expected"),
    [
        (Role.VIEWER, "0.00", Decision.FORBIDDEN),
        (Role.VIEWER, "5000.00", Decision.FORBIDDEN),
        (Role.BUYER, "999.99", Decision.ACTIVATE),
        (Role.BUYER, "1000.00", Decision.ACTIVATE),
        (Role.BUYER, "1000.01", Decision.REQUEST_APPROVAL),
        (Role.ADMIN, "1000000.00", Decision.ACTIVATE),
    ],
)
def test_it_decides_by_role_and_threshold(role, amount, expected):
    assert activation_decision(member(role), Decimal(amount)) == expected


def test_it_uses_the_default_threshold_when_the_account_has_none(settings):
    settings.APPROVAL_THRESHOLD_DEFAULT = Decimal("50.00")
    assert activation_decision(member(Role.BUYER, None), Decimal("50.01")) == (
        Decision.REQUEST_APPROVAL
    )


def test_it_forbids_everything_without_a_membership():
    assert activation_decision(None, Decimal(0)) == Decision.FORBIDDEN
    assert not can_prepare(None)
    assert not can_cancel(None)


@pytest.mark.parametrize(
    ("role", "prepare", "cancel"),
    [(Role.VIEWER, False, False), (Role.BUYER, True, False), (Role.ADMIN, True, True)],
)
def test_it_lets_roles_prepare_and_cancel(role, prepare, cancel):
    assert can_prepare(member(role)) is prepare
    assert can_cancel(member(role)) is cancel
