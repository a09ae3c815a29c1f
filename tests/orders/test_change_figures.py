"""What a preview works out of a draft change order whose lines, as Nue documents them, name no
subscription (nue-api.md §3.2): a subscription's credit, and the add-ons a Reconfigure adds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from orders.actions.change_figures import added_add_ons, credit_of
from orders.nue import Order, Subscription, SubscriptionChange, SubscriptionSnapshot


def line(n: int, entry: str, total: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"l-{n}",
        "productName": f"Product {entry}",
        "priceBookEntryId": entry,
        "quantity": extra.pop("quantity", 1),
        "totalPrice": total,
        **extra,
    }


def draft(*lines: dict[str, Any]) -> Order:
    return Order.parse(
        {
            "id": "o-1",
            "orderNumber": "O-00000001",
            "customerId": "c-1",
            "status": "Draft",
            "orderType": "Change",
            "orderProducts": list(lines),
        }
    )


def change(name: str, entry: str) -> SubscriptionChange:
    before = SubscriptionSnapshot.parse({"priceBookEntryId": entry, "quantity": 5})
    return SubscriptionChange(name, (), before, None, None)


def subscription(n: int, product: str, root: str | None = None) -> Subscription:
    return Subscription.parse(
        {
            "id": f"s-{n}",
            "name": f"SUB-{n:08d}",
            "customerId": "c-1",
            "quantity": 1,
            "productId": product,
            "rootId": root,
            "subscriptionLevel": 2 if root else 1,
        }
    )


def test_it_gives_each_subscription_the_credit_priced_on_its_own_entry():
    order = draft(
        line(1, "pbe-a", "-30.00", changeType="Cancel"),
        line(2, "pbe-b", "20.00", changeType="UpdateQuantity"),
    )
    changes = [change("SUB-00000001", "pbe-a"), change("SUB-00000002", "pbe-b")]
    assert credit_of(order, changes[0], changes) == Decimal("30.00")
    assert credit_of(order, changes[1], changes) is None


def test_it_gives_no_credit_a_line_could_be_anothers():
    order = draft(line(1, "pbe-a", "-30.00", changeType="Cancel"))
    changes = [change("SUB-00000001", "pbe-a"), change("SUB-00000002", "pbe-a")]
    assert credit_of(order, changes[0], changes) is None
    assert credit_of(order, changes[0], changes[:1]) == Decimal("30.00")


def test_it_tells_an_added_add_on_from_a_resized_one_by_the_bundles_add_ons():
    bundle = subscription(1, "p-suite")
    seats = subscription(2, "p-seats", root=bundle.id)
    order = draft(
        line(1, "pbe-seats", "45.00", changeType="Reconfigure", productId="p-seats", quantity=3),
        line(
            2,
            "pbe-support",
            "200.00",
            changeType="Reconfigure",
            productId="p-support",
            productOptionId="opt-support",
        ),
    )
    (added,) = added_add_ons(order, bundle, [bundle, seats])
    assert (added.product_id, added.total_amount) == ("p-support", Decimal("200.00"))
