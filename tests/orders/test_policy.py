from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from orders.nue import Order
from orders.policy import (
    Decision,
    DraftFacts,
    DraftKind,
    approval_limit,
    can_cancel,
    can_prepare,
    decide,
)
from portal.models import AuditKind, CustomerAccount, Membership, Role
from portal.policy import can_manage_team

TODAY = date(2026, 12, 4)


def member(role: Role, threshold: str | None = "1000.00") -> Membership:
    account = CustomerAccount(
        name="Acme", nue_customer_id="c", approval_threshold=threshold and Decimal(threshold)
    )
    return Membership(account=account, role=role)


def line(n: int, change_type: str | None = None, sub: str | None = None) -> dict[str, Any]:
    """An order line as Nue documents it: it does not name the subscription it changes."""
    found = {"id": f"line-{n}", "productName": "Pro", "quantity": 1, "totalPrice": "10.00"}
    if change_type:
        found |= {"changeType": change_type}
    return found


def summary(*changes: tuple[str, str]) -> list[dict[str, Any]]:
    """Nue's asset-change summary on a change order: the subscriptions it changes, and how."""
    return [
        {"assetNumber": name, "changeTypes": [kind], "before": {"quantity": 5}}
        for name, kind in changes
    ]


def order(
    *lines: dict[str, Any],
    order_type: str = "New",
    total: str = "10.00",
    start: date = TODAY,
    asset_changes: list[dict[str, Any]] | None = None,
) -> Order:
    """An order as Nue documents it (orderType, orderProducts with their change types)."""
    raw: dict[str, Any] = {
        "id": "o-1",
        "orderNumber": "O-00000001",
        "customerId": "c",
        "status": "Draft",
        "orderType": order_type,
        "orderStartDate": start.isoformat(),
        "listTotal": total,
        "discountAmount": "0",
        "systemDiscountAmount": "0",
        "taxAmount": "0",
        "netTotal": total,
        "grandTotal": total,
        "orderProducts": list(lines) or [line(1)],
    }
    if asset_changes is not None:
        raw["assetChanges"] = asset_changes
    return Order.parse(raw)


def facts(total: str = "10.00", start: date = TODAY) -> DraftFacts:
    return DraftFacts.of(order(total=total, start=start))


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
    assert decide(member(role), facts(amount), TODAY).decision == expected


def test_it_uses_the_default_threshold_when_the_account_has_none(settings):
    settings.APPROVAL_THRESHOLD_DEFAULT = Decimal("50.00")
    verdict = decide(member(Role.BUYER, None), facts("50.01"), TODAY)
    assert verdict.decision == Decision.REQUEST_APPROVAL


# A buyer's spending limit replaces the account's threshold (1000.00 here), above or below it.
@pytest.mark.parametrize(
    ("limit", "amount", "expected"),
    [
        ("200.00", "200.00", Decision.ACTIVATE),
        ("200.00", "200.01", Decision.REQUEST_APPROVAL),
        ("200.00", "999.00", Decision.REQUEST_APPROVAL),  # within the account's, not theirs
        ("5000.00", "4999.99", Decision.ACTIVATE),  # above the account's, within theirs
        ("5000.00", "5000.01", Decision.REQUEST_APPROVAL),
        ("0.00", "0.01", Decision.REQUEST_APPROVAL),
        ("0.00", "0.00", Decision.ACTIVATE),
    ],
)
def test_it_holds_a_buyer_to_their_own_spending_limit(limit, amount, expected):
    buyer = member(Role.BUYER)
    buyer.spending_limit = Decimal(limit)
    verdict = decide(buyer, facts(amount), TODAY)
    assert verdict.decision == expected
    assert approval_limit(buyer) == Decimal(limit)
    if expected == Decision.REQUEST_APPROVAL:
        assert "above your spending limit" in verdict.reason


def test_it_says_the_accounts_limit_for_a_buyer_without_one():
    verdict = decide(member(Role.BUYER), facts("1000.01"), TODAY)
    assert "above your account's approval limit" in verdict.reason
    assert approval_limit(member(Role.BUYER)) == Decimal("1000.00")


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ADMIN])
def test_a_spending_limit_binds_only_buyers(role):
    someone = member(role)
    someone.spending_limit = Decimal("1.00")
    assert approval_limit(someone) == Decimal("1000.00")
    expected = Decision.ACTIVATE if role == Role.ADMIN else Decision.FORBIDDEN
    assert decide(someone, facts("5000.00"), TODAY).decision == expected


@pytest.mark.parametrize(
    ("role", "manages"), [(Role.VIEWER, False), (Role.BUYER, False), (Role.ADMIN, True)]
)
def test_only_admins_manage_the_team(role, manages):
    assert can_manage_team(member(role)) is manages
    assert not can_manage_team(None)


def test_it_forbids_everything_without_a_membership():
    assert decide(None, facts("0"), TODAY).decision == Decision.FORBIDDEN
    assert not can_prepare(None)
    assert not can_cancel(None)


@pytest.mark.parametrize(
    ("role", "prepare", "cancel"),
    [(Role.VIEWER, False, False), (Role.BUYER, True, False), (Role.ADMIN, True, True)],
)
def test_it_lets_roles_prepare_and_cancel(role, prepare, cancel):
    assert can_prepare(member(role)) is prepare
    assert can_cancel(member(role)) is cancel


@pytest.mark.parametrize(
    ("lines", "changes", "kind", "audit"),
    [
        ([line(1)], None, DraftKind.NEW_ORDER, AuditKind.ACTIVATION),
        ([line(1, "UpdateQuantity", "SUB-1")], None, DraftKind.CHANGE, AuditKind.CHANGE_ORDER),
        ([line(1, "Cancel", "SUB-1")], None, DraftKind.CANCELLATION, AuditKind.CANCELLATION),
        ([line(1, "Renew", "SUB-1")], None, DraftKind.RENEWAL, AuditKind.CHANGE_ORDER),
        (
            [line(1, "UpdateQuantity", "SUB-1"), line(2, "Upgrade", "SUB-2")],
            summary(("SUB-1", "UpdateQuantity"), ("SUB-2", "Upgrade")),
            DraftKind.BASKET,
            AuditKind.CHANGE_ORDER,
        ),
        (
            [line(1, "UpdateQuantity", "SUB-1"), line(2, "Cancel", "SUB-2")],
            summary(("SUB-1", "UpdateQuantity"), ("SUB-2", "Cancel")),
            DraftKind.BASKET,
            AuditKind.CANCELLATION,
        ),
        # Without a summary the lines do not say how many subscriptions change; a cancellation
        # among them is still one.
        (
            [line(1, "UpdateQuantity", "SUB-1"), line(2, "Cancel", "SUB-2")],
            None,
            DraftKind.CANCELLATION,
            AuditKind.CANCELLATION,
        ),
        # Nue's asset-change summary alone says it, when the lines carry no change type.
        (
            [line(1)],
            [{"assetNumber": "SUB-1", "changeTypes": ["Cancel"], "before": {"quantity": 5}}],
            DraftKind.CANCELLATION,
            AuditKind.CANCELLATION,
        ),
    ],
)
def test_it_reads_the_kind_of_a_draft_from_the_order(lines, changes, kind, audit):
    order_type = "New" if kind == DraftKind.NEW_ORDER else "Change"
    found = DraftFacts.of(order(*lines, order_type=order_type, asset_changes=changes))
    assert (found.kind, found.audit_kind) == (kind, audit)


def test_it_forbids_a_buyer_a_cancellation_at_any_amount():
    cancellation = DraftFacts.of(order(line(1, "Cancel", "SUB-1"), total="-120.00"))
    verdict = decide(member(Role.BUYER), cancellation, TODAY)
    assert verdict.decision == Decision.FORBIDDEN
    assert "Only an admin of the account may cancel" in verdict.reason
    assert decide(member(Role.ADMIN), cancellation, TODAY).decision == Decision.ACTIVATE


def test_it_forbids_a_buyer_a_basket_holding_a_cancellation():
    basket = DraftFacts.of(order(line(1, "UpdateQuantity", "SUB-1"), line(2, "Cancel", "SUB-2")))
    assert decide(member(Role.BUYER), basket, TODAY).decision == Decision.FORBIDDEN


@pytest.mark.parametrize("role", [Role.BUYER, Role.ADMIN])
def test_it_refuses_a_draft_priced_for_a_day_that_has_passed(role):
    verdict = decide(member(role), facts(start=TODAY - timedelta(days=5)), TODAY)
    assert verdict.decision == Decision.EXPIRED
    assert "priced for a start on 29 Nov 2026, which has passed" in verdict.reason


def test_it_lets_a_draft_priced_for_today_or_later_activate():
    for start in (TODAY, TODAY + timedelta(days=30)):
        assert decide(member(Role.ADMIN), facts(start=start), TODAY).activates
