"""Every verb end to end against the in-process emulator (the real HTTP contract, no mocks)."""

from __future__ import annotations

import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from nue_emulator import faults, journal
from nue_emulator.models import Order as EmulatedOrder
from orders import nue
from orders.fanout import fetch_concurrently
from orders.ledger import NUE_SETTLES_WITHIN
from orders.models import Operation
from orders.scope import CustomerNue

from .conftest import ApplyThenTimeout

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_no_faults", "_clear_cache")]


def entry_id(scope: CustomerNue, sku: str) -> str:
    (product,) = [p for p in scope.catalog() if p.sku == sku]
    return product.price_book_entries[0].id


def new_draft(scope: CustomerNue, quantity: int = 3) -> nue.Order:
    line = nue.LineRequest(
        entry_id(scope, "PLAN-PRO-US"),
        Decimal(quantity),
        start_date=timezone.localdate(),
        term_months=12,
    )
    return scope.create_draft([line], effective_date=timezone.localdate()).order


def test_it_maps_demo_contacts_to_customers():
    contacts = nue.tenant().contacts_by_email(["ada@acme.example", "ben@acme.example"])
    assert sorted(c.email for c in contacts) == ["ada@acme.example", "ben@acme.example"]
    assert {c.first_name for c in contacts} == {"Ada", "Ben"}
    (acme,) = nue.tenant().customers([contacts[0].customer_id])
    assert acme.name == "Acme Corporation"
    assert acme.has_shipping_address


def test_it_lists_only_the_customers_own_orders(acme_nue):
    orders = acme_nue.orders()
    assert orders
    assert {o.customer_id for o in orders} == {acme_nue.customer_id}
    drafts = acme_nue.orders(status="draft")
    assert drafts
    assert {o.status for o in drafts} == {"Draft"}


def test_it_reads_one_order_with_lines_and_invoices(acme_nue):
    listed = acme_nue.orders(status="active", includes=["invoices"])
    activated = next(o for o in listed if o.invoices)
    with journal.capture() as calls:
        order = CustomerNue(acme_nue.account).order(
            activated.id, status="active", includes=("orderProducts", "invoices")
        )
    assert order.status == "Activated"
    assert order.lines
    assert order.invoices
    assert all(isinstance(i.amount, Decimal) for i in order.invoices)
    # The documented list (nue-api.md §5.5), with only the includes asked for: extensions are
    # off. Activated orders are listed unfiltered until nue_check settles the filter's spelling.
    assert [(c.method, c.route, c.status) for c in calls] == [("GET", "orders", 200)]
    assert "includes=invoices%2CorderProducts" in calls[0].query


def test_it_hides_another_customers_order(acme_nue, globex_nue):
    acme_order = acme_nue.orders()[0]
    with pytest.raises(nue.NueNotFound):
        globex_nue.order(acme_order.id)
    with pytest.raises(nue.NueNotFound):
        globex_nue.magic_link(acme_order.id)


def test_it_reads_subscriptions_and_their_relationships(acme_nue, globex_nue):
    subscriptions = acme_nue.subscriptions()
    assert {s.customer_id for s in subscriptions} == {acme_nue.customer_id}
    plan = next(s for s in subscriptions if (s.product_name or "").startswith("Pro Plan"))
    assert acme_nue.subscription(plan.name) == plan
    kinds = {r.relationship_type for r in acme_nue.product_relationships([plan.name])}
    assert kinds == {"Upgrade", "Downgrade", "Swap"}
    with pytest.raises(nue.NueNotFound):
        globex_nue.subscription(plan.name)
    with pytest.raises(nue.NueNotFound):
        globex_nue.product_relationships([plan.name])


def test_it_pages_invoices_and_reads_one(acme_nue, globex_nue):
    first = acme_nue.invoices(page=1, limit=2)
    assert len(first.items) == 2
    assert first.total > 2
    assert first.has_next
    invoice = acme_nue.invoice(first.items[0].id)
    assert invoice.items
    assert invoice.items[0].details
    with pytest.raises(nue.NueNotFound):
        globex_nue.invoice(first.items[0].id)


def test_it_reads_the_catalog_with_bundle_options_and_price_tags(acme_nue):
    suite = next(p for p in acme_nue.catalog() if p.sku == "PLATFORM-SUITE")
    assert suite.configurable
    types = {o.type for o in suite.options}
    assert types == {"bundled", "required", "optional"}
    seats = next(o for o in suite.options if o.id == "opt-admin-seats")
    assert (seats.product_sku, seats.type) == ("ADMIN-SEATS", "required")
    nested = next(o for o in suite.options if o.options)
    assert {o.type for o in nested.options} >= {"bundled", "optional"}
    assert "WELCOME10" in {t.code for t in acme_nue.price_tags()}


def test_it_previews_invoices_without_creating_anything(acme_nue):
    before = len(acme_nue.orders())
    preview = acme_nue.preview(
        [
            nue.LineRequest(
                entry_id(acme_nue, "PLAN-PRO-US"),
                Decimal(2),
                start_date=timezone.localdate(),
                term_months=12,
            )
        ]
    )
    assert preview.invoices
    assert preview.total > 0
    assert preview.invoices[0].items[0].details
    assert len(CustomerNue(acme_nue.account).orders()) == before


def test_it_maps_a_bundle_error_back_to_the_line(acme_nue):
    line = nue.LineRequest(
        entry_id(acme_nue, "PLATFORM-SUITE"),
        Decimal(1),
        start_date=timezone.localdate(),
        term_months=12,
        add_ons=(nue.AddOn("opt-not-in-this-bundle"),),
    )
    with pytest.raises(nue.NueValidationError) as caught:
        acme_nue.create_draft([line], effective_date=timezone.localdate())
    assert any(path.startswith("lines[0].add_ons[0]") for path in caught.value.field_errors)


def test_it_creates_links_and_discards_a_draft(acme_nue, globex_nue, ada, grace):
    draft = new_draft(acme_nue)
    assert draft.is_draft
    assert draft.customer_id == acme_nue.customer_id
    link = acme_nue.magic_link(draft.id)
    assert link.url.startswith(settings.SITE_URL)
    with pytest.raises(nue.NueNotFound):
        globex_nue.discard_draft(draft.id, by=grace)
    with journal.capture() as calls:
        assert acme_nue.discard_draft(draft.id, by=ada).id == draft.id
    # Nue has no call for it (nue-api.md §5.4): the draft stays a draft there, out of the
    # portal's sight.
    assert all(c.method == "GET" for c in calls)
    assert EmulatedOrder.objects.get(id=draft.id).status == "Draft"
    with pytest.raises(nue.NueNotFound):
        CustomerNue(acme_nue.account).order(draft.id)
    assert draft.id not in {o.id for o in CustomerNue(acme_nue.account).orders(status="draft")}


def test_it_activates_a_draft_once_through_the_ledger(acme_nue, ada):
    draft = new_draft(acme_nue)
    with journal.capture() as calls:
        result = acme_nue.activate(draft.id, actor=ada, po_number="PO-1")
        again = CustomerNue(acme_nue.account).activate(draft.id, actor=ada)
    assert result.order.status == "Activated"
    assert result.subscriptions
    assert again.replayed
    posts = [c for c in calls if c.method == "POST" and c.route == "order"]
    assert len(posts) == 1
    op = Operation.objects.get(target=draft.id, state=Operation.State.SUCCEEDED)
    assert op.actor == ada


def test_it_resolves_an_applied_then_timed_out_activation_without_a_second_post(
    acme_nue, ada, emulator_transport
):
    draft = new_draft(acme_nue)
    flaky = nue.NueClient(
        settings.NUE_EMULATOR_URL,
        settings.NUE_API_KEY,
        transport=ApplyThenTimeout(emulator_transport, "POST", f"/orders/{draft.id}"),
    )
    with journal.capture() as calls:
        with pytest.raises(nue.NueUnavailable):
            CustomerNue(acme_nue.account, flaky).activate(draft.id, actor=ada)
        op = Operation.objects.get(target=draft.id)
        assert op.state == Operation.State.UNKNOWN
        Operation.objects.filter(pk=op.pk).update(updated_at=timezone.now() - timedelta(minutes=2))
        with journal.capture() as reconciling:
            call_command("reconcile_operations", verbosity=0)
    op.refresh_from_db()
    assert op.state == Operation.State.SUCCEEDED
    assert len([c for c in calls if c.method == "POST" and c.route == "order"]) == 1
    # Read the documented way: the headers of the customer's orders.
    (read,) = reconciling
    assert (read.method, read.route) == ("GET", "orders")
    assert "includes" not in read.query


def test_it_retries_an_activation_reset_before_it_reached_the_order(acme_nue, ada):
    draft = new_draft(acme_nue)
    with journal.capture() as calls:
        with faults.inject("order", "POST", reset=True, times=1), pytest.raises(nue.NueUnavailable):
            acme_nue.activate(draft.id, actor=ada)
        op = Operation.objects.get(target=draft.id)
        assert op.state == Operation.State.UNKNOWN
        with pytest.raises(nue.OperationInProgress):
            CustomerNue(acme_nue.account).activate(draft.id, actor=ada)
        # Minutes later Nue could still be working on it; only once it must have answered does
        # a draft that still reads Draft mean the reset came before the order was reached.
        Operation.objects.filter(pk=op.pk).update(sent_at=timezone.now() - timedelta(minutes=2))
        with pytest.raises(nue.OperationInProgress):
            CustomerNue(acme_nue.account).activate(draft.id, actor=ada)
        settled = timezone.now() - NUE_SETTLES_WITHIN - timedelta(seconds=1)
        Operation.objects.filter(pk=op.pk).update(sent_at=settled)
        result = CustomerNue(acme_nue.account).activate(draft.id, actor=ada)
    assert result.order.status == "Activated"
    op.refresh_from_db()
    assert op.state == Operation.State.FAILED
    assert len([c for c in calls if c.method == "POST" and c.route == "order"]) == 2


def test_it_finds_a_change_order_whose_answer_was_lost_from_documented_fields(
    acme_nue, ada, emulator_transport
):
    """The emulator created the draft and the answer was lost; its lines name no subscription
    (nue-api.md §3.2). The ledger finds it by what it can prove, before or after
    NUE_SETTLES_WITHIN, and never settles it as "not sent" inviting a duplicate."""
    assert settings.NUE_EMULATOR_EXTENSIONS is False
    plan = acme_nue.subscription("SUB-00000001")
    change = nue.AssetChange(
        "UpdateQuantity", quantity=Decimal(2), start_date=timezone.localdate() + timedelta(days=1)
    )
    flaky = nue.NueClient(
        settings.NUE_EMULATOR_URL,
        settings.NUE_API_KEY,
        transport=ApplyThenTimeout(emulator_transport, "POST", "/change-orders"),
    )
    with pytest.raises(nue.NueUnavailable):
        CustomerNue(acme_nue.account, flaky).change([(plan.name, [change])], actor=ada)
    op = Operation.objects.get(target=plan.name)
    assert op.state == Operation.State.UNKNOWN
    settled = timezone.now() - NUE_SETTLES_WITHIN - timedelta(seconds=1)
    Operation.objects.filter(pk=op.pk).update(sent_at=settled, updated_at=settled)
    op.refresh_from_db()
    resolved = CustomerNue(acme_nue.account).ledger.resolve(op)
    assert resolved.state == Operation.State.SUCCEEDED
    draft = acme_nue.order(resolved.result["resolvedOrderId"], fresh=True)
    assert (draft.is_draft, draft.order_type) == (True, "Change")


def test_it_creates_a_change_order_with_before_and_after(acme_nue, ada):
    plan = next(s for s in acme_nue.subscriptions() if s.name == "SUB-00000001")
    change = nue.AssetChange(
        "UpdateQuantity", quantity=Decimal(2), start_date=timezone.localdate() + timedelta(days=1)
    )
    preview = acme_nue.preview_change(plan.name, [change])
    assert preview.invoices
    result = acme_nue.change([(plan.name, [change])], actor=ada)
    assert result.order.is_draft
    assert result.order.order_type == "Change"
    (summary,) = result.changes
    assert summary.name == plan.name
    assert summary.before.quantity == plan.quantity
    assert summary.after is not None
    assert summary.after.quantity == plan.quantity + 2
    assert Operation.objects.get(target=plan.name).state == Operation.State.SUCCEEDED


def test_it_treats_the_same_delta_on_a_newer_version_as_a_new_change(acme_nue, ada):
    plan = next(s for s in acme_nue.subscriptions() if s.name == "SUB-00000001")
    change = nue.AssetChange("UpdateQuantity", quantity=Decimal(3), start_date=timezone.localdate())
    first = acme_nue.change([(plan.name, [change])], actor=ada)
    acme_nue.activate(first.order.id, actor=ada)
    second = acme_nue.change([(plan.name, [change])], actor=ada)
    assert not second.replayed
    assert second.order.id != first.order.id
    (summary,) = second.changes
    assert summary.before.quantity == plan.quantity + 3
    assert summary.after is not None
    assert summary.after.quantity == plan.quantity + 6


def test_it_retries_a_failed_read_and_succeeds(acme_nue):
    with journal.capture() as calls, faults.inject("orders", "GET", status=503, times=1):
        assert acme_nue.orders()
    assert [c.status for c in calls if c.route == "orders"] == [503, 200]


@pytest.mark.parametrize("body", ["malformed", "empty", "html"])
def test_it_refuses_garbage_from_the_emulator(acme_nue, body):
    with (
        faults.inject("subscriptions", "GET", status=200, body=body),
        pytest.raises(nue.NueProtocolError),
    ):
        acme_nue.subscriptions()


def test_it_fetches_a_dashboard_concurrently(acme_nue):
    results = fetch_concurrently(
        orders=acme_nue.orders,
        subscriptions=acme_nue.subscriptions,
        invoices=lambda: acme_nue.invoices(limit=5),
    )
    assert results["orders"]
    assert results["subscriptions"]
    assert results["invoices"].items


def test_it_rejects_a_malformed_id_before_reaching_the_emulator(acme_nue):
    with journal.capture() as calls, pytest.raises(nue.NueNotFound):
        acme_nue.order("../../contacts")
    assert calls == []


def test_it_reads_the_order_date_types(acme_nue):
    order = acme_nue.orders()[0]
    assert isinstance(order.created_date, date)
    assert isinstance(order.grand_total, Decimal)


def test_it_waits_as_told_when_rate_limited(acme_nue):
    with (
        journal.capture() as calls,
        faults.inject("subscriptions", "GET", status=429, retry_after=1, times=1),
    ):
        started = time.monotonic()
        assert acme_nue.subscriptions()
    assert time.monotonic() - started >= 1.0
    assert [c.status for c in calls if c.route == "subscriptions"] == [429, 200]


def test_it_gives_up_after_the_retries_when_nue_stays_down(acme_nue):
    with (
        journal.capture() as calls,
        faults.inject("orders", "GET", status=503),
        pytest.raises(nue.NueUnavailable),
    ):
        acme_nue.orders()
    assert len([c for c in calls if c.route == "orders"]) == 1 + nue.MAX_GET_RETRIES
