"""The operation ledger behind activate() and change(): one upstream POST per intent."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders import nue
from orders.ledger import NUE_SETTLES_WITHIN, OWNER_AT_WORK
from orders.models import Operation
from orders.scope import CustomerNue
from portal.models import AuditEvent

from .conftest import (
    ACME_ID,
    CHANGE_ORDER_ID,
    ORDER_ID,
    FakeOrders,
    change_order_json,
    ok,
    order_json,
)

pytestmark = pytest.mark.django_db
State = Operation.State


def test_it_activates_once_and_records_the_result(ledger_scope, fake_orders, buyer):
    result = ledger_scope.activate(ORDER_ID, actor=buyer, po_number="PO-7")
    assert result.order.status == "Activated"
    assert [s.name for s in result.subscriptions] == ["SUB-00000009"]
    assert result.invoices[0].amount == Decimal("1158.30")
    assert not result.replayed
    op = Operation.objects.get()
    assert (op.kind, op.target, op.state, op.actor, op.customer) == (
        "activate",
        ORDER_ID,
        State.SUCCEEDED,
        buyer,
        ledger_scope.account,
    )
    assert op.result["order"]["status"] == "Activated"
    assert len(op.payload_hash) == 64
    assert op.sent_at is not None
    assert op.finished_at is not None
    assert fake_orders.posts == 1


def test_the_row_is_in_flight_before_the_post_leaves_with_one_write(
    ledger_scope, fake_orders, buyer
):
    seen = []
    fake_orders.post_effect = lambda: seen.append(
        Operation.objects.values_list("state", "sent_at").get()
    )
    with CaptureQueriesContext(connection) as queries:
        ledger_scope.activate(ORDER_ID, actor=buyer)
    [(state, sent_at)] = seen
    assert state == State.IN_FLIGHT
    assert sent_at is not None
    writes = [q["sql"].split()[0] for q in queries if q["sql"].split()[0] in ("INSERT", "UPDATE")]
    # The row, then its outcome: nothing else is written for the send.
    assert writes == ["INSERT", "UPDATE"]


def test_it_sends_po_fields_and_invoice_options(ledger_scope, nue_mock, fake_orders, buyer):
    ledger_scope.activate(ORDER_ID, actor=buyer, po_number="PO-7", po_date=date(2026, 1, 2))
    body = json.loads(nue_mock.calls.last.request.content)
    assert body == {
        "options": {"generateInvoice": True, "activateInvoice": True},
        "poNumber": "PO-7",
        "poDate": "2026-01-02",
    }


def test_it_answers_a_double_submit_with_the_first_result(ledger_scope, fake_orders, buyer):
    ledger_scope.activate(ORDER_ID, actor=buyer)
    again = CustomerNue(ledger_scope.account).activate(ORDER_ID, actor=buyer)
    assert again.replayed
    assert again.order.status == "Activated"
    assert fake_orders.posts == 1


def test_it_refuses_while_another_submit_is_in_flight(ledger_scope, fake_orders, buyer):
    Operation.objects.create(
        kind="activate",
        target=ORDER_ID,
        customer=ledger_scope.account,
        actor=buyer,
        payload_hash="x",
        state=State.IN_FLIGHT,
    )
    with pytest.raises(nue.OperationInProgress):
        ledger_scope.activate(ORDER_ID, actor=buyer)
    assert fake_orders.posts == 0


def test_it_allows_one_open_operation_per_target(ledger_account, buyer):
    fields = {
        "kind": "activate",
        "target": ORDER_ID,
        "customer": ledger_account,
        "actor": buyer,
        "payload_hash": "x",
    }
    Operation.objects.create(**fields, state=State.SUCCEEDED)
    Operation.objects.create(**fields, state=State.UNKNOWN)
    with pytest.raises(IntegrityError), transaction.atomic():
        Operation.objects.create(**fields, state=State.PENDING)


def test_it_marks_a_timed_out_activation_unknown_and_resolves_it_by_reading(
    ledger_scope, nue_mock, buyer
):
    orders = FakeOrders(nue_mock, post_effect=httpx.ReadTimeout("applied, then too slow"))
    with pytest.raises(nue.NueUnavailable) as caught:
        ledger_scope.activate(ORDER_ID, actor=buyer)
    assert caught.value.timed_out
    op = Operation.objects.get()
    assert op.state == State.UNKNOWN
    assert op.reference == caught.value.reference

    result = CustomerNue(ledger_scope.account).activate(ORDER_ID, actor=buyer)
    assert result.replayed
    assert result.order.status == "Activated"
    op.refresh_from_db()
    assert op.state == State.SUCCEEDED
    assert orders.posts == 1


def test_it_marks_a_reset_activation_unknown(ledger_scope, nue_mock, buyer):
    FakeOrders(nue_mock, post_effect=ConnectionResetError("reset"))
    with pytest.raises(nue.NueUnavailable):
        ledger_scope.activate(ORDER_ID, actor=buyer)
    assert Operation.objects.get().state == State.UNKNOWN


def test_it_keeps_an_unknown_activation_open_while_nue_could_still_apply_it(
    ledger_scope, nue_mock, buyer
):
    orders = FakeOrders(nue_mock)
    op = Operation.objects.create(
        kind="activate",
        target=ORDER_ID,
        customer=ledger_scope.account,
        actor=buyer,
        payload_hash="x",
        state=State.UNKNOWN,
        sent_at=timezone.now() - timedelta(minutes=2),
    )
    # Minutes after the answer was lost Nue still shows a draft: a slow answer, not a lost one.
    with pytest.raises(nue.OperationInProgress):
        ledger_scope.activate(ORDER_ID, actor=buyer)
    assert orders.posts == 0
    op.refresh_from_db()
    assert op.state == State.UNKNOWN

    later = timezone.now() - NUE_SETTLES_WITHIN - timedelta(seconds=1)
    Operation.objects.filter(pk=op.pk).update(sent_at=later)
    result = CustomerNue(ledger_scope.account).activate(ORDER_ID, actor=buyer)
    assert not result.replayed
    assert orders.posts == 1
    op.refresh_from_db()
    assert op.state == State.FAILED
    assert Operation.objects.filter(state=State.SUCCEEDED).count() == 1


def activation_row(scope, actor, **fields) -> Operation:
    """An open ledger row activating ORDER_ID, sent now unless `fields` say otherwise."""
    defaults = {"payload_hash": "x", "state": State.IN_FLIGHT, "sent_at": timezone.now()}
    return Operation.objects.create(
        kind="activate",
        target=ORDER_ID,
        customer=scope.account,
        actor=actor,
        **{**defaults, **fields},
    )


def test_it_settles_an_open_activation_as_soon_as_nue_shows_it_done(ledger_scope, nue_mock, buyer):
    orders = FakeOrders(nue_mock)
    orders.status = "Activated"
    op = activation_row(ledger_scope, buyer)
    # However recent: a worker whose database failed after Nue answered left it in flight, and
    # the retry that reads Nue settles it at once instead of blocking the order for minutes.
    ledger_scope.ledger.resolve(op)
    op.refresh_from_db()
    assert op.state == State.SUCCEEDED
    assert orders.posts == 0


def test_an_in_flight_row_is_not_failed_while_its_worker_may_still_send(
    ledger_scope, nue_mock, buyer
):
    FakeOrders(nue_mock)  # Nue shows the order still a draft
    long_ago = timezone.now() - NUE_SETTLES_WITHIN - timedelta(minutes=1)
    op = activation_row(ledger_scope, buyer, sent_at=long_ago)
    ledger_scope.ledger.resolve(op)
    op.refresh_from_db()
    assert op.state == State.IN_FLIGHT

    gone = timezone.now() - OWNER_AT_WORK - timedelta(seconds=1)
    Operation.objects.filter(pk=op.pk).update(updated_at=gone)
    op.refresh_from_db()
    ledger_scope.ledger.resolve(op)
    op.refresh_from_db()
    assert op.state == State.FAILED


def test_an_activation_an_earlier_row_did_settles_as_its_duplicate(ledger_scope, nue_mock, buyer):
    FakeOrders(nue_mock).status = "Activated"
    earlier = activation_row(ledger_scope, buyer, state=State.SUCCEEDED, sent_at=None)
    op = activation_row(ledger_scope, buyer, payload_hash="y", state=State.UNKNOWN)
    ledger_scope.ledger.resolve(op)
    op.refresh_from_db()
    assert op.state == State.FAILED
    assert op.error == f"Duplicate of #{earlier.pk}."


def test_the_first_path_to_settle_a_row_decides_and_audits_once(ledger_scope, nue_mock, buyer):
    FakeOrders(nue_mock).status = "Activated"
    event = {"kind": "activation", "actor": buyer.pk, "customer": ledger_scope.account.pk}
    op = activation_row(ledger_scope, buyer, audit=[event])
    ledger_scope.ledger.resolve(op)  # a retry reads Nue first
    late = Operation.objects.get(pk=op.pk)
    late.state = State.IN_FLIGHT  # what the worker still holds in memory
    # Then the worker's own answer arrives, as a success and as a failure: neither changes the
    # settled row, and its audit event is written once.
    ledger = ledger_scope.ledger
    ledger._close(late, State.SUCCEEDED, result={"order": {}}, learned_from_answer=True)
    ledger._close(late, State.FAILED, error="Nue refused: not a draft.")
    op.refresh_from_db()
    assert op.state == State.SUCCEEDED
    assert late.state == State.SUCCEEDED
    assert AuditEvent.objects.filter(kind="activation").count() == 1


def test_it_fails_the_operation_when_nue_rejects_it(ledger_scope, nue_mock, buyer):
    nue_mock.get("/orders").mock(return_value=ok([order_json()]))
    nue_mock.post(f"/orders/{ORDER_ID}").mock(
        return_value=httpx.Response(
            400,
            json={
                "status": "FAILURE",
                "message": "PO date is in the past",
                "errors": [{"field": "poDate", "message": "Must not be in the past."}],
            },
        )
    )
    with pytest.raises(nue.NueValidationError) as caught:
        ledger_scope.activate(ORDER_ID, actor=buyer, po_date=date(2020, 1, 1))
    assert caught.value.field_errors == {"po_date": ("Must not be in the past.",)}
    op = Operation.objects.get()
    assert op.state == State.FAILED
    assert op.error == "PO date is in the past"


def test_it_fails_when_the_connection_never_opened(ledger_scope, nue_mock, buyer, sleeps):
    nue_mock.get("/orders").mock(return_value=ok([order_json()]))
    nue_mock.post(f"/orders/{ORDER_ID}").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(nue.NueUnavailable):
        ledger_scope.activate(ORDER_ID, actor=buyer)
    assert Operation.objects.get().state == State.FAILED


def test_it_refuses_to_activate_an_order_that_is_not_a_draft(ledger_scope, nue_mock, buyer):
    orders = FakeOrders(nue_mock)
    orders.status = "Canceled"
    with pytest.raises(nue.NueConflict):
        ledger_scope.activate(ORDER_ID, actor=buyer)
    assert orders.posts == 0
    op = Operation.objects.get()
    assert op.state == State.FAILED
    assert op.sent_at is None  # written in flight, closed before anything was sent


def test_it_records_who_acted_for_whom(ledger_scope, fake_orders, buyer):
    from portal.models import User

    agent = User.objects.create_user("ledger-agent@nue.example", is_staff=True)
    ledger_scope.activate(ORDER_ID, actor=agent, on_behalf_of=buyer)
    op = Operation.objects.get()
    assert (op.actor, op.on_behalf_of) == (agent, buyer)


def test_it_hides_a_foreign_order_from_activation(ledger_scope, nue_mock, buyer):
    route = nue_mock.post(f"/orders/{ORDER_ID}").mock(return_value=ok({}))
    nue_mock.get("/orders").mock(
        return_value=ok([order_json(customer_id="44444444-5555-4666-8777-888888888888")])
    )
    with pytest.raises(nue.NueNotFound):
        ledger_scope.activate(ORDER_ID, actor=buyer)
    assert not route.called
    assert not Operation.objects.exists()


def test_it_invalidates_the_customer_cache_after_activation(
    ledger_scope, nue_mock, fake_orders, buyer
):
    catalog = nue_mock.get(f"/customers/{ACME_ID}/products").mock(
        return_value=httpx.Response(200, json=[])
    )
    ledger_scope.catalog()
    CustomerNue(ledger_scope.account).catalog()
    assert catalog.call_count == 1
    ledger_scope.activate(ORDER_ID, actor=buyer)
    CustomerNue(ledger_scope.account).catalog()
    assert catalog.call_count == 2


def test_reconcile_settles_stale_unknown_operations_without_sending(ledger_scope, nue_mock, buyer):
    orders = FakeOrders(nue_mock, post_effect=httpx.ReadTimeout("applied, then too slow"))
    with pytest.raises(nue.NueUnavailable):
        ledger_scope.activate(ORDER_ID, actor=buyer)
    Operation.objects.update(updated_at=timezone.now() - timedelta(minutes=5))
    Operation.objects.update(sent_at=timezone.now() - timedelta(minutes=5))
    call_command("reconcile_operations", verbosity=0)
    assert Operation.objects.get().state == State.SUCCEEDED
    assert orders.posts == 1


def test_reconcile_leaves_recent_unknown_operations(ledger_scope, nue_mock, buyer):
    orders = FakeOrders(nue_mock, post_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(nue.NueUnavailable):
        ledger_scope.activate(ORDER_ID, actor=buyer)
    call_command("reconcile_operations", verbosity=0)
    assert Operation.objects.get().state == State.UNKNOWN
    assert orders.posts == 1


# Change orders -----------------------------------------------------------------------------------


def test_it_creates_a_change_order_once(ledger_scope, nue_mock, subscriptions, buyer):
    route = nue_mock.post("/change-orders").mock(
        return_value=httpx.Response(
            201,
            json={
                "status": "SUCCESS",
                "data": {"order": change_order_json(), "invoices": [{"amount": 75.0}]},
                "warnings": [],
            },
        )
    )
    change = nue.AssetChange("UpdateQuantity", quantity=Decimal(3), start_date=date(2026, 3, 1))
    result = ledger_scope.change([("SUB-00000001", [change])], actor=buyer)
    assert result.order.id == CHANGE_ORDER_ID
    assert result.preview_invoices[0].amount == Decimal("75.0")
    (summary,) = result.changes
    assert (summary.name, summary.before.quantity) == ("SUB-00000001", Decimal(5))
    body = json.loads(route.calls.last.request.content)
    assert body["assetChanges"] == [
        {
            "changeType": "UpdateQuantity",
            "assetNumber": "SUB-00000001",
            "quantity": 3,
            "startDate": "2026-03-01",
        }
    ]
    op = Operation.objects.get()
    assert (op.kind, op.target, op.state) == ("change", "SUB-00000001", State.SUCCEEDED)


def test_it_resolves_a_timed_out_change_order_from_the_drafts(
    ledger_scope, nue_mock, subscriptions, buyer
):
    route = nue_mock.post("/change-orders").mock(side_effect=httpx.ReadTimeout("slow"))
    draft = change_order_json(change_type="Cancel", quantity=-5, start="2026-07-01")
    nue_mock.get("/orders").mock(return_value=ok([draft]))
    change = nue.AssetChange("Cancel", cancellation_date=date(2026, 6, 30))
    with pytest.raises(nue.NueUnavailable):
        ledger_scope.change([("SUB-00000001", [change])], actor=buyer)
    assert Operation.objects.get().state == State.UNKNOWN

    again = CustomerNue(ledger_scope.account).change([("SUB-00000001", [change])], actor=buyer)
    assert again.replayed
    assert again.order.id == CHANGE_ORDER_ID
    assert route.call_count == 1
    assert Operation.objects.get().state == State.SUCCEEDED


def test_it_rejects_an_unknown_change_type_without_a_call(
    ledger_scope, nue_mock, subscriptions, buyer
):
    route = nue_mock.post("/change-orders").mock(return_value=ok({}))
    with pytest.raises(nue.NueValidationError):
        ledger_scope.change([("SUB-00000001", [nue.AssetChange("Teleport")])], actor=buyer)
    assert not route.called


def test_it_answers_a_repeated_identical_change_with_the_first_change_order(
    ledger_scope, nue_mock, subscriptions, buyer
):
    route = nue_mock.post("/change-orders").mock(
        return_value=httpx.Response(
            201, json={"status": "SUCCESS", "data": {"order": change_order_json()}}
        )
    )
    change = nue.AssetChange("UpdateQuantity", quantity=Decimal(1), start_date=date(2026, 3, 1))
    first = ledger_scope.change([("SUB-00000001", [change])], actor=buyer)
    again = CustomerNue(ledger_scope.account).change([("SUB-00000001", [change])], actor=buyer)
    assert again.replayed
    assert again.order.id == first.order.id
    assert route.call_count == 1
    duplicate = Operation.objects.get(error__startswith="Duplicate of")
    assert duplicate.sent_at is None

    different = nue.AssetChange("UpdateQuantity", quantity=Decimal(2), start_date=date(2026, 3, 1))
    CustomerNue(ledger_scope.account).change([("SUB-00000001", [different])], actor=buyer)
    assert route.call_count == 2
