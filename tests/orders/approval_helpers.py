"""Shared setup of the approval, review and quote-link tests: a buyer at Acme, drafts, requests.

The demo seed has no buyer (ben is a viewer), so the tests make one. Acme's approval limit is
lowered so its seeded drafts (a few thousand each) are above it.
"""

from __future__ import annotations

from decimal import Decimal

from orders.actions import approvals
from orders.models import ApprovalRequest
from orders.nue import Order
from orders.scope import CustomerNue
from portal.models import CustomerAccount, Membership, Role, User

ACME = "Acme Corporation"
GLOBEX = "Globex GmbH"
LOW_LIMIT = Decimal("1000.00")


def account(name: str = ACME) -> CustomerAccount:
    return CustomerAccount.objects.get(name=name)


def make_buyer(email: str = "bob@acme.example", name: str = ACME) -> User:
    """A buyer of the customer (the demo's Bob where he exists) who signs in with portal-demo."""
    user = User.objects.filter(email=email).first() or User.objects.create_user(
        email, "portal-demo", first_name="Bob", last_name="Buyer"
    )
    Membership.objects.update_or_create(
        user=user, account=account(name), defaults={"role": Role.BUYER}
    )
    return user


def lower_limit(name: str = ACME, limit: Decimal = LOW_LIMIT) -> CustomerAccount:
    found = account(name)
    found.approval_threshold = limit
    found.save(update_fields=["approval_threshold"])
    return found


def drafts(name: str = ACME, count: int = 2) -> list[Order]:
    """The customer's `count` largest new-order drafts with their lines (Acme's two largest are
    above LOW_LIMIT)."""
    scope = CustomerNue(account(name))
    found = [o for o in scope.orders(status="draft") if o.order_type != "Change"]
    largest = sorted(found, key=lambda o: o.total, reverse=True)[:count]
    return [scope.order(o.id) for o in largest]


def big_draft(name: str = ACME) -> Order:
    return drafts(name, count=1)[0]


def pending_request(
    requester: User, order: Order | None = None, name: str = ACME, comment: str = "Budget Q3"
) -> ApprovalRequest:
    order = order or big_draft(name)
    return approvals.request_approval(account(name), order, requester=requester, comment=comment)
