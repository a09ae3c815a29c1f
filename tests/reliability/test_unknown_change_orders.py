"""A change-order answer lost after it left settles only on a draft holding exactly that change.

Nue documents no way to ask which draft a lost request created, so the ledger reads the drafts
and accepts only one that holds exactly the request, claimed by no other operation; anything
else waits for Nue, then settles as "not sent". Never a draft from today that merely touches
the same subscription (issue 21: a quantity-7 retry confirmed a quantity-6 draft; a quantity-3
retry confirmed an abandoned cancellation).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from django.utils import timezone

from orders import nue
from orders.ledger import NUE_SETTLES_WITHIN
from orders.models import Operation
from orders.scope import CustomerNue
from tests.orders.conftest import change_order_json, ok, subscription_json

pytestmark = pytest.mark.django_db
State = Operation.State


def _lost_change(ledger_scope, nue_mock, buyer, change: nue.AssetChange, drafts: list) -> Operation:
    """Send `change`, lose its answer, and leave Nue listing `drafts`."""
    nue_mock.post("/change-orders").mock(side_effect=httpx.ReadTimeout("lost"))
    nue_mock.get("/orders").mock(return_value=ok(drafts))
    with pytest.raises(nue.NueUnavailable):
        ledger_scope.change([("SUB-00000001", [change])], actor=buyer)
    return Operation.objects.get(state=State.UNKNOWN)


def test_a_lost_change_never_settles_on_another_quantity(
    ledger_scope, nue_mock, subscriptions, buyer
):
    """Preview "quantity 6", go back, preview "quantity 7" while the answer is lost: the
    quantity-6 draft is not the quantity-7 request's, now or later."""
    seven = nue.AssetChange("UpdateQuantity", quantity=Decimal(2), start_date=date(2026, 3, 1))
    six = change_order_json("six-draft", quantity=1)
    op = _lost_change(ledger_scope, nue_mock, buyer, seven, [six])
    assert ledger_scope.ledger.resolve(op).state == State.UNKNOWN  # still open: Nue may yet answer
    Operation.objects.filter(pk=op.pk).update(
        sent_at=timezone.now() - NUE_SETTLES_WITHIN - timedelta(seconds=1)
    )
    op.refresh_from_db()
    assert ledger_scope.ledger.resolve(op).state == State.FAILED
    assert "resolvedOrderId" not in op.result


def test_a_lost_change_never_settles_on_an_abandoned_cancellation(
    ledger_scope, nue_mock, subscriptions, buyer
):
    three = nue.AssetChange("UpdateQuantity", quantity=Decimal(3), start_date=date(2026, 3, 1))
    cancel = change_order_json("cancel-draft", change_type="Cancel", quantity=-5, start=None)
    op = _lost_change(ledger_scope, nue_mock, buyer, three, [cancel])
    # The retry of the same request finds the lock still held, never the cancellation.
    with pytest.raises(nue.OperationInProgress):
        CustomerNue(ledger_scope.account).change([("SUB-00000001", [three])], actor=buyer)
    op.refresh_from_db()
    assert op.state == State.UNKNOWN


def test_a_lost_change_settles_on_the_draft_that_holds_exactly_it(
    ledger_scope, nue_mock, subscriptions, buyer
):
    three = nue.AssetChange("UpdateQuantity", quantity=Decimal(3), start_date=date(2026, 3, 1))
    other_day = change_order_json("other-day", start="2026-04-01")
    exact = change_order_json("exact")
    op = _lost_change(ledger_scope, nue_mock, buyer, three, [other_day, exact])
    resolved = ledger_scope.ledger.resolve(op)
    assert resolved.state == State.SUCCEEDED
    assert resolved.result == {"resolvedOrderId": "exact"}


def test_a_draft_another_operation_claimed_is_never_this_ones(
    ledger_scope, ledger_account, nue_mock, subscriptions, buyer
):
    from portal.models import User

    colleague = User.objects.create_user("ledger-colleague@acme.example")
    Operation.objects.create(
        kind="change",
        target="SUB-00000001",
        customer=ledger_account,
        actor=colleague,
        payload_hash="colleague",
        state=State.SUCCEEDED,
        result={"order": {"id": "colleagues-draft"}},
    )
    three = nue.AssetChange("UpdateQuantity", quantity=Decimal(3), start_date=date(2026, 3, 1))
    theirs = change_order_json("colleagues-draft")
    op = _lost_change(ledger_scope, nue_mock, buyer, three, [theirs])
    assert ledger_scope.ledger.resolve(op).state == State.UNKNOWN


def test_lines_that_do_not_say_what_they_change_prove_nothing(
    ledger_scope, nue_mock, subscriptions, buyer
):
    three = nue.AssetChange("UpdateQuantity", quantity=Decimal(3), start_date=date(2026, 3, 1))
    silent = change_order_json("silent", change_type="")
    op = _lost_change(ledger_scope, nue_mock, buyer, three, [silent])
    assert ledger_scope.ledger.resolve(op).state == State.UNKNOWN


def test_a_finished_different_change_is_not_replayed_for_this_one(
    ledger_scope, ledger_account, nue_mock, subscriptions, buyer
):
    """The conflict branch: an open row for the subscription settles, but it held another change."""
    route = nue_mock.post("/change-orders").mock(
        return_value=httpx.Response(
            201, json={"status": "SUCCESS", "data": {"order": change_order_json("mine")}}
        )
    )
    six = change_order_json("six-draft", quantity=1)
    nue_mock.get("/orders").mock(return_value=ok([six]))
    Operation.objects.create(
        kind="change",
        target="SUB-00000001",
        customer=ledger_account,
        actor=buyer,
        payload_hash="six",
        request={
            "assetChanges": [
                {
                    "changeType": "UpdateQuantity",
                    "assetNumber": "SUB-00000001",
                    "quantity": 1,
                    "startDate": "2026-03-01",
                }
            ]
        },
        state=State.UNKNOWN,
        sent_at=timezone.now(),
    )
    three = nue.AssetChange("UpdateQuantity", quantity=Decimal(3), start_date=date(2026, 3, 1))
    result = ledger_scope.change([("SUB-00000001", [three])], actor=buyer)
    assert not result.replayed
    assert result.order.id == "mine"
    assert route.call_count == 1


def test_a_lost_change_settles_on_its_draft_from_documented_fields_alone(
    ledger_scope, nue_mock, subscriptions, buyer
):
    """Nue's lines name no subscription (nue-api.md §3.2): the draft is found by the change
    type, the price book entry the subscription is priced on (§3.3), the quantity and the day,
    and found however late the check comes, never settled as "not sent" inviting a duplicate."""
    three = nue.AssetChange("UpdateQuantity", quantity=Decimal(3), start_date=date(2026, 3, 1))
    draft = change_order_json("exact")
    assert {"subscriptionName", "assetNumber"}.isdisjoint(draft["orderProducts"][0])
    op = _lost_change(ledger_scope, nue_mock, buyer, three, [draft])
    Operation.objects.filter(pk=op.pk).update(
        sent_at=timezone.now() - NUE_SETTLES_WITHIN - timedelta(seconds=1)
    )
    op.refresh_from_db()
    resolved = ledger_scope.ledger.resolve(op)
    assert resolved.state == State.SUCCEEDED
    assert resolved.result == {"resolvedOrderId": "exact"}


def test_a_line_another_subscription_could_own_proves_nothing(ledger_scope, nue_mock, buyer):
    """Two subscriptions on the same price book entry: a line on it could be either's, so the
    draft is not proven this request's; it stays open, then settles as not sent."""
    nue_mock.get("/subscriptions").mock(
        return_value=ok([subscription_json(), subscription_json("SUB-00000002")])
    )
    three = nue.AssetChange("UpdateQuantity", quantity=Decimal(3), start_date=date(2026, 3, 1))
    op = _lost_change(ledger_scope, nue_mock, buyer, three, [change_order_json("either")])
    assert ledger_scope.ledger.resolve(op).state == State.UNKNOWN
    Operation.objects.filter(pk=op.pk).update(
        sent_at=timezone.now() - NUE_SETTLES_WITHIN - timedelta(seconds=1)
    )
    op.refresh_from_db()
    assert ledger_scope.ledger.resolve(op).state == State.FAILED


def test_a_change_on_another_subscription_is_not_this_one(ledger_scope, nue_mock, buyer):
    """A draft holding the requested change and the same kind of change to another subscription
    (not an add-on of this one) holds more than was asked."""
    other = subscription_json("SUB-00000003", price_book_entry_id="01uOTHER0000000AAA")
    nue_mock.get("/subscriptions").mock(return_value=ok([subscription_json(), other]))
    three = nue.AssetChange("UpdateQuantity", quantity=Decimal(3), start_date=date(2026, 3, 1))
    more = change_order_json("more")
    second = {**more["orderProducts"][0], "id": "more-col-2"}
    more["orderProducts"].append({**second, "priceBookEntryId": "01uOTHER0000000AAA"})
    op = _lost_change(ledger_scope, nue_mock, buyer, three, [more])
    assert ledger_scope.ledger.resolve(op).state == State.UNKNOWN


def test_an_upgrade_is_proven_by_the_credit_on_the_subscriptions_own_entry(
    ledger_scope, nue_mock, subscriptions, buyer
):
    """A charge on the target entry alone could be any subscription's upgrade to it."""
    upgrade = nue.AssetChange(
        "Upgrade", target_price_book_entry_id="01uENT0000000000AA", start_date=date(2026, 3, 1)
    )
    charge_only = change_order_json(
        "charge-only", change_type="Upgrade", price_book_entry_id="01uENT0000000000AA"
    )
    both = change_order_json("both", change_type="Upgrade", quantity=-5)
    both["orderProducts"].append(
        {**charge_only["orderProducts"][0], "id": "both-col-2", "quantity": 5}
    )
    op = _lost_change(ledger_scope, nue_mock, buyer, upgrade, [charge_only, both])
    resolved = ledger_scope.ledger.resolve(op)
    assert resolved.state == State.SUCCEEDED
    assert resolved.result == {"resolvedOrderId": "both"}
