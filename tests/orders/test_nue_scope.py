"""The per-customer scope (`request.nue`): ownership checks, id checks, models, cache, fan-out."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import date
from decimal import Decimal

import httpx
import pytest
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from orders import nue
from orders.fanout import fetch_alongside, fetch_concurrently
from orders.scope import CustomerNue, for_customer

from .conftest import ACME_ID, GLOBEX_ID, ORDER_ID, ok, order_json, subscription_json

FOREIGN_ORDER = "11111111-2222-4333-8444-555555555555"


def test_it_drops_a_foreign_order_from_a_list_and_alerts(scope, nue_mock, caplog):
    nue_mock.get("/orders").mock(
        return_value=ok([order_json(), order_json(FOREIGN_ORDER, GLOBEX_ID, 2)])
    )
    with caplog.at_level(logging.ERROR, logger="orders.nue.security"):
        orders = scope.orders()
    assert [o.id for o in orders] == [ORDER_ID]
    (alert,) = [r for r in caplog.records if r.name == "orders.nue.security"]
    assert "1 orders of another customer" in alert.getMessage()


def test_it_hides_a_foreign_order_as_not_found(scope, nue_mock, caplog):
    nue_mock.get("/orders").mock(return_value=ok([order_json(FOREIGN_ORDER, GLOBEX_ID, 2)]))
    with (
        caplog.at_level(logging.WARNING, logger="orders.nue.security"),
        pytest.raises(nue.NueNotFound),
    ):
        scope.order(FOREIGN_ORDER)
    assert any(r.name == "orders.nue.security" for r in caplog.records)


def test_it_reads_one_order_from_the_documented_list(scope, nue_mock):
    listed = nue_mock.get("/orders").mock(return_value=ok([order_json()]))
    assert scope.order(ORDER_ID, status="draft").id == ORDER_ID
    (call,) = listed.calls
    params = call.request.url.params
    assert json.loads(params["customerIds"]) == [ACME_ID]
    assert (params["status"], params["includes"]) == ("draft", "orderProducts")


def test_it_reads_only_the_includes_asked_for(scope, nue_mock):
    listed = nue_mock.get("/orders").mock(return_value=ok([order_json()]))
    scope.order(ORDER_ID, includes=())
    scope.order(ORDER_ID, includes=("assets", "invoices"), fresh=True)
    first, second = (call.request.url.params for call in listed.calls)
    assert ("includes" not in first, "status" not in first) == (True, True)
    assert second["includes"] == "assets,invoices"


def test_it_finds_an_order_no_longer_in_the_status_asked_for(scope, nue_mock):
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("status") == "draft":
            return ok([])
        return ok([order_json(status="Activated")])

    listed = nue_mock.get("/orders").mock(side_effect=answer)
    assert scope.order(ORDER_ID, status="draft").status == "Activated"
    assert [c.request.url.params.get("status") for c in listed.calls] == ["draft", None]
    # The same includes on the wider read: what the caller shows is there whatever the status.
    assert {c.request.url.params["includes"] for c in listed.calls} == {"orderProducts"}


def test_it_reads_an_activated_order_in_one_read_whatever_the_filters_spelling(acme, nue_mock):
    listed = nue_mock.get("/orders").mock(return_value=ok([order_json(status="Activated")]))
    # Unsettled (orders.nue.fields.ORDER_STATUS_QUERY): all of them, once, kept by status.
    CustomerNue(acme, dialect=nue.DEFAULT_DIALECT).order(ORDER_ID, status="active")
    settled = nue.Dialect(activated_filter="activated")
    CustomerNue(acme, dialect=settled).order(ORDER_ID, status="active")
    assert [c.request.url.params.get("status") for c in listed.calls] == [None, "activated"]


def test_it_answers_not_found_for_an_order_in_no_list(scope, nue_mock):
    listed = nue_mock.get("/orders").mock(return_value=ok([order_json()]))
    with pytest.raises(nue.NueNotFound):
        scope.order("33333333-4444-4555-8666-777777777777", status="draft")
    assert listed.call_count == 2


def test_it_hides_a_foreign_invoice_as_not_found(scope, nue_mock):
    nue_mock.get(f"/customers/{ACME_ID}/invoices/INV-00000001").mock(
        return_value=ok({"id": "INV-00000001", "customerId": GLOBEX_ID, "amount": 10})
    )
    with pytest.raises(nue.NueNotFound):
        scope.invoice("INV-00000001")


def test_it_drops_foreign_subscriptions(scope, nue_mock):
    nue_mock.get("/subscriptions").mock(
        return_value=ok([subscription_json(), subscription_json("SUB-00000002", GLOBEX_ID)])
    )
    assert [s.name for s in scope.subscriptions()] == ["SUB-00000001"]
    with pytest.raises(nue.NueNotFound):
        scope.subscription("SUB-00000002")


@pytest.mark.parametrize(
    ("verb", "bad_id"),
    [
        ("order", "../customers"),
        ("order", f"{ORDER_ID}/../../contacts"),
        ("order", "O-1?customerIds=x"),
        ("subscription", "SUB-1/x"),
        ("subscription", "sub-00000001"),
        ("invoice", "INV-1%2F..%2F"),
        ("invoice", ""),
        ("magic_link", "../../contacts"),
    ],
)
def test_it_rejects_a_malformed_id_without_a_call(scope, nue_mock, verb, bad_id):
    route = nue_mock.route().mock(return_value=ok([]))
    with pytest.raises(nue.NueNotFound):
        getattr(scope, verb)(bad_id)
    assert not route.called


def test_it_rejects_malformed_catalog_ids_in_writes_without_a_call(scope, nue_mock):
    route = nue_mock.route().mock(return_value=ok([]))
    with pytest.raises(nue.NueNotFound):
        scope.preview([nue.LineRequest("../../x", Decimal(1))])
    assert not route.called


def test_it_parses_an_order_into_typed_values_and_a_bundle_tree(scope, nue_mock):
    nue_mock.get("/orders").mock(return_value=ok([order_json(unknownField={"x": 1})]))
    order = scope.order(ORDER_ID)
    assert order.order_number == "O-00000001"
    assert order.status == "Draft"
    assert order.is_draft
    assert order.total == Decimal("1158.30")
    assert (order.discount_amount, order.system_discount_amount) == (Decimal(120), Decimal(60))
    assert (order.before_tax, order.tax_amount) == (Decimal(1080), Decimal("78.30"))
    assert isinstance(order.list_total, Decimal)
    assert order.start_date == date(2026, 1, 1)
    (root,) = order.lines
    assert root.total_price == Decimal("1000.10")
    assert [c.product_name for c in root.children] == ["Admin Seats"]
    assert [c.product_name for c in root.children[0].children] == ["Nested"]
    assert [line.product_name for line in order.all_lines()] == [
        "Platform Suite",
        "Admin Seats",
        "Nested",
    ]


def test_it_normalises_status_casing(scope, nue_mock):
    nue_mock.get("/orders").mock(return_value=ok([order_json(status="ACTIVATED")]))
    assert scope.orders()[0].status == "Activated"


def test_it_rejects_a_parent_cycle(scope, nue_mock, caplog):
    raw = order_json()
    raw["orderProducts"][0]["parentId"] = raw["orderProducts"][2]["id"]
    nue_mock.get("/orders").mock(return_value=ok([raw]))
    # The only order does not parse: the list as a whole is unreadable, and the log says why.
    with (
        caplog.at_level(logging.WARNING, logger="orders.nue"),
        pytest.raises(nue.NueProtocolError, match="none of which could be read"),
    ):
        scope.orders()
    assert any("cycle" in r.getMessage() for r in caplog.records)


def test_it_memoises_reads_within_a_request(scope, nue_mock):
    route = nue_mock.get("/orders").mock(return_value=ok([order_json()]))
    scope.order(ORDER_ID)
    scope.order(ORDER_ID)
    assert route.call_count == 1
    scope.order(ORDER_ID, fresh=True)
    assert route.call_count == 2


def test_it_answers_an_order_from_a_list_the_request_already_read(scope, nue_mock):
    route = nue_mock.get("/orders").mock(return_value=ok([order_json()]))
    scope.orders(status="draft", includes=("orderProducts", "invoices"))
    # Fewer includes, or no status filter asked for by a caller that knows the status.
    assert scope.order(ORDER_ID, status="draft", includes=("invoices",)).id == ORDER_ID
    assert scope.order(ORDER_ID, status="draft", includes=()).id == ORDER_ID
    assert route.call_count == 1
    # A list lacking an include, or of another status, does not answer for it.
    scope.order(ORDER_ID, status="draft", includes=("assets",))
    assert route.call_count == 2
    scope.order(ORDER_ID, status="active", includes=())
    assert route.call_count == 3


def test_it_takes_an_order_missing_from_a_covering_list_for_missing(scope, nue_mock):
    route = nue_mock.get("/orders").mock(return_value=ok([order_json()]))
    scope.orders(includes=("orderProducts",))
    with pytest.raises(nue.NueNotFound):
        scope.order("33333333-4444-4555-8666-777777777777", status="draft")
    assert route.call_count == 1


def test_it_takes_the_current_version_of_a_subscription(scope, nue_mock):
    nue_mock.get("/subscriptions").mock(
        return_value=ok(
            [
                subscription_json(version=2, quantity=8),
                subscription_json(version=1, quantity=5),
            ]
        )
    )
    subscription = scope.subscription("SUB-00000001")
    assert (subscription.version, subscription.quantity) == (2, Decimal(8))


def test_it_pages_invoices_with_items_and_details(scope, nue_mock):
    route = nue_mock.get(f"/customers/{ACME_ID}/invoices").mock(
        return_value=ok(
            [
                {
                    "id": "4a0f1c2e-1111-4222-8333-444455556666",
                    "name": "INV-00000001",
                    "customerId": ACME_ID,
                    "status": "Active",
                    "invoiceDate": "2026-02-01",
                    "amount": 125.5,
                    "balance": 0,
                    "items": [
                        {
                            "productName": "Pro Plan",
                            "amount": 125.5,
                            "details": [
                                {
                                    "startDate": "2026-02-01",
                                    "endDate": "2026-02-28",
                                    "amount": 125.5,
                                    "prorated": True,
                                }
                            ],
                        }
                    ],
                }
            ],
            pagination={"page": 2, "limit": 1, "total": 3},
        )
    )
    page = scope.invoices(page=2, limit=1)
    assert (page.total, page.has_next, page.has_previous) == (3, True, True)
    (invoice,) = page.items
    assert invoice.items[0].details[0].prorated is True
    assert invoice.amount == Decimal("125.5")
    assert route.calls.last.request.url.params["page"] == "2"


@pytest.mark.usefixtures("_clear_cache")
def test_it_reads_catalog_options_and_caches_per_customer(acme, nue_mock):
    route = nue_mock.get(f"/customers/{ACME_ID}/products").mock(
        return_value=httpx.Response(
            200,
            json=[
                {
                    "id": "01tAAAAAAAAAAAAAAA",
                    "name": "Platform Suite",
                    "recordType": "Bundle",
                    "configurable": True,
                    "priceBookEntries": [
                        {"id": "01uAAAAAAAAAAAAAAA", "listPrice": 400.0, "uom": {"name": "Acct"}}
                    ],
                    "productOptions": [
                        {
                            "productOptionId": "opt-admin-seats",
                            "optionType": "Required",
                            "productOptions": [
                                {"productOptionId": "opt-nested", "optionType": "Bundled"}
                            ],
                        }
                    ],
                }
            ],
        )
    )
    (product,) = CustomerNue(acme).catalog()
    option = product.options[0]
    assert (option.id, option.type) == ("opt-admin-seats", "required")
    assert option.options[0].type == "bundled"
    assert product.price_book_entries[0].list_price == Decimal("400.0")
    assert product.price_book_entries[0].uom == "Acct"
    CustomerNue(acme).catalog()
    assert route.call_count == 1
    CustomerNue(acme).invalidate_cache()
    CustomerNue(acme).catalog()
    assert route.call_count == 2


def test_a_request_reads_the_cache_generation_once_and_again_after_invalidating(
    acme, nue_mock, monkeypatch
):
    products = nue_mock.get(f"/customers/{ACME_ID}/products").mock(return_value=ok([]))
    nue_mock.get("/catalog/price-tags").mock(return_value=ok([]))
    reads: list[str] = []
    get = cache.get

    def counting(key, *args, **kwargs):
        if key.endswith(":generation"):
            reads.append(key)
        return get(key, *args, **kwargs)

    monkeypatch.setattr(cache, "get", counting)
    scope = CustomerNue(acme)
    scope.catalog()
    scope.price_tags()
    assert len(reads) == 1

    scope.invalidate_cache()  # this request's own change: it must not read the old entries
    scope.catalog()
    assert len(reads) == 2
    assert products.call_count == 2


@pytest.mark.usefixtures("_clear_cache")
def test_a_catalog_that_does_not_parse_is_not_kept(acme, nue_mock):
    route = nue_mock.get(f"/customers/{ACME_ID}/products").mock(
        side_effect=[ok([{"name": "no id"}]), ok([])]
    )

    with pytest.raises(nue.NueProtocolError):
        CustomerNue(acme).catalog()
    assert CustomerNue(acme).catalog() == []  # Nue is asked again, not the cache
    assert route.call_count == 2


def test_it_returns_a_magic_link_for_an_own_order(scope, nue_mock):
    nue_mock.get("/orders").mock(return_value=ok([order_json()]))
    nue_mock.get(f"/orders/magiclink/order/{ORDER_ID}").mock(
        return_value=httpx.Response(200, json={"magicLink": "https://app.nue.io/view-order/t0k"})
    )
    link = scope.magic_link(ORDER_ID)
    assert link == nue.MagicLink(ORDER_ID, "https://app.nue.io/view-order/t0k")


def test_it_refuses_a_magic_link_that_is_not_a_url(scope, nue_mock):
    nue_mock.get("/orders").mock(return_value=ok([order_json()]))
    nue_mock.get(f"/orders/magiclink/order/{ORDER_ID}").mock(
        return_value=httpx.Response(200, json={"magicLink": "javascript:alert(1)"})
    )
    with pytest.raises(nue.NueProtocolError):
        scope.magic_link(ORDER_ID)


def test_it_fetches_independent_reads_concurrently(acme):
    # Each read waits until all three are in flight at once: read one after another, the first
    # would wait alone and the barrier would break.
    together = threading.Barrier(3, timeout=5)

    def meet(request: httpx.Request) -> httpx.Response:
        together.wait()
        if request.url.path == "/subscriptions":
            return ok([subscription_json()])
        return ok([])

    client = nue.NueClient("https://nue.test", "k", transport=httpx.MockTransport(meet))
    scope = CustomerNue(acme, client)
    results = fetch_concurrently(
        orders=scope.orders, subscriptions=scope.subscriptions, assets=scope.assets
    )
    assert not together.broken
    assert [s.name for s in results["subscriptions"]] == ["SUB-00000001"]
    assert results["orders"] == []
    assert results["assets"] == []


def test_it_runs_local_work_while_the_reads_are_in_flight(acme):
    # The local work and both reads meet at one barrier: it holds only if all three run at once.
    together = threading.Barrier(3, timeout=5)

    def meet(request: httpx.Request) -> httpx.Response:
        together.wait()
        return ok([])

    client = nue.NueClient("https://nue.test", "k", transport=httpx.MockTransport(meet))
    scope = CustomerNue(acme, client)

    def database_work() -> int:
        together.wait()
        return threading.get_ident()

    caller = threading.get_ident()
    here, results = fetch_alongside(database_work, orders=scope.orders, assets=scope.assets)
    assert not together.broken
    assert here == caller  # the local work ran on the request's thread (its DB connection)
    assert results == {"orders": [], "assets": []}


@pytest.mark.django_db
def test_inside_a_transaction_every_read_runs_on_the_callers_thread(acme):
    """A worker's connection could not see the transaction's writes (the embedded emulator reads
    the portal's database), so there the reads run in turn on the caller's thread."""
    threads = []

    def answer(request: httpx.Request) -> httpx.Response:
        threads.append(threading.get_ident())
        return ok([])

    client = nue.NueClient("https://nue.test", "k", transport=httpx.MockTransport(answer))
    scope = CustomerNue(acme, client)
    with transaction.atomic():
        here, results = fetch_alongside(
            threading.get_ident, orders=scope.orders, assets=scope.assets
        )
    assert threads == [here, here] == [threading.get_ident()] * 2
    assert results == {"orders": [], "assets": []}


def test_a_local_failure_is_raised_after_the_reads_finish(acme):
    finished = []

    def slow(request: httpx.Request) -> httpx.Response:
        time.sleep(0.1)
        finished.append(request.url.path)
        return ok([])

    def broken() -> None:
        raise ValueError("database down")

    client = nue.NueClient("https://nue.test", "k", transport=httpx.MockTransport(slow))
    scope = CustomerNue(acme, client)
    with pytest.raises(ValueError, match="database down"):
        fetch_alongside(broken, orders=scope.orders)
    assert finished == ["/orders"]


def test_it_raises_the_first_failure_of_a_fan_out(scope, nue_mock):
    nue_mock.get("/orders").mock(return_value=ok([]))
    nue_mock.get("/assets").mock(return_value=httpx.Response(409, json={"status": "FAILURE"}))
    with pytest.raises(nue.NueConflict):
        fetch_concurrently(orders=scope.orders, assets=scope.assets)


def test_it_gives_no_scope_without_an_acting_customer():
    assert for_customer(None) is None


def test_it_reads_an_order_by_its_number_through_the_list(scope, nue_mock):
    nue_mock.get("/orders").mock(return_value=ok([order_json()]))
    assert scope.order("O-00000001").id == ORDER_ID


# --- change: one change order for one or several subscriptions ------------------------------------

BASKET_ORDER_ID = "44444444-5555-4666-8777-888888888888"
SEATS = nue.AssetChange("UpdateQuantity", quantity=Decimal(3), start_date=date(2026, 3, 1))
LONGER = nue.AssetChange("UpdateTerm", term=6)


def basket_order_json(names) -> dict[str, object]:
    created = timezone.now().isoformat().replace("+00:00", "Z")
    raw = order_json(BASKET_ORDER_ID, number=88, orderType="Change", createdDate=created)
    raw["orderProducts"] = [
        {
            "id": f"l-{n}",
            "productName": "P",
            "quantity": 1,
            "totalPrice": 1.0,
            "priceBookEntryId": entry_of(n),
            "changeType": "UpdateTerm",
        }
        for n in names
    ]
    return raw


def entry_of(name: str) -> str:
    """A price book entry for each subscription of a basket: its lines are told apart by it."""
    return f"pbe-{name.lower()}"


def mock_subscriptions(nue_mock, *subs):
    return nue_mock.get("/subscriptions").mock(return_value=ok(list(subs)))


def created(data: dict[str, object]) -> httpx.Response:
    return httpx.Response(201, json={"status": "SUCCESS", "data": data, "warnings": []})


@pytest.mark.django_db
def test_it_puts_several_subscriptions_changes_into_one_change_order(ledger_scope, nue_mock, buyer):
    from orders.models import Operation

    mock_subscriptions(
        nue_mock,
        subscription_json("SUB-00000001", version=2),
        subscription_json("SUB-00000002", quantity=1),
    )
    names = ["SUB-00000002", "SUB-00000001"]
    route = nue_mock.post("/change-orders").mock(
        return_value=created({"order": basket_order_json(names)})
    )
    result = ledger_scope.change(
        [("SUB-00000002", [LONGER]), ("SUB-00000001", [SEATS])], actor=buyer
    )
    assert route.call_count == 1
    body = json.loads(route.calls.last.request.content)
    assert [(c["assetNumber"], c["changeType"]) for c in body["assetChanges"]] == [
        ("SUB-00000002", "UpdateTerm"),
        ("SUB-00000001", "UpdateQuantity"),
    ]
    assert body["options"] == {"previewInvoice": True, "calculateTax": True}
    assert result.order.id == BASKET_ORDER_ID
    # Nue summarised nothing: each subscription is still known as it was, for the stale check,
    # with the change types its request asked for (its lines do not name it, nue-api.md §3.2).
    assert [(c.name, c.before.version, c.after, c.change_types) for c in result.changes] == [
        ("SUB-00000002", 1, None, ("UpdateTerm",)),
        ("SUB-00000001", 2, None, ("UpdateQuantity",)),
    ]
    op = Operation.objects.get()
    assert (op.kind, op.target) == ("change", "SUB-00000001,SUB-00000002")


@pytest.mark.django_db
def test_it_keeps_nues_summary_and_adds_the_subscriptions_it_left_out(
    ledger_scope, nue_mock, buyer
):
    mock_subscriptions(
        nue_mock, subscription_json("SUB-00000001"), subscription_json("SUB-00000002")
    )
    summary = {
        "assetNumber": "SUB-00000001",
        "changeTypes": ["UpdateQuantity"],
        "before": {"subscriptionVersion": 1, "quantity": 5},
        "after": {"subscriptionVersion": 2, "quantity": 8},
        "amount": 75.0,
    }
    order = basket_order_json(["SUB-00000001", "SUB-00000002"])
    nue_mock.post("/change-orders").mock(
        return_value=created({"order": order, "assetChanges": [summary]})
    )
    result = ledger_scope.change(
        [("SUB-00000001", [SEATS]), ("SUB-00000002", [LONGER])], actor=buyer
    )
    assert [(c.name, c.after.quantity if c.after else None) for c in result.changes] == [
        ("SUB-00000001", Decimal(8)),
        ("SUB-00000002", None),
    ]


@pytest.mark.django_db
def test_it_sends_nothing_when_one_subscription_is_another_customers(ledger_scope, nue_mock, buyer):
    from orders.models import Operation

    mock_subscriptions(
        nue_mock, subscription_json("SUB-00000001"), subscription_json("SUB-00000007", GLOBEX_ID)
    )
    route = nue_mock.post("/change-orders").mock(return_value=created({}))
    with pytest.raises(nue.NueNotFound):
        ledger_scope.change([("SUB-00000001", [SEATS]), ("SUB-00000007", [LONGER])], actor=buyer)
    assert not route.called
    assert not Operation.objects.exists()


@pytest.mark.django_db
def test_it_fingerprints_every_subscriptions_version(ledger_scope, nue_mock, buyer):
    names = ["SUB-00000001", "SUB-00000002"]
    items = [("SUB-00000001", [SEATS]), ("SUB-00000002", [LONGER])]
    route = nue_mock.post("/change-orders").mock(
        return_value=created({"order": basket_order_json(names)})
    )
    mock_subscriptions(nue_mock, subscription_json(names[0]), subscription_json(names[1]))
    first = ledger_scope.change(items, actor=buyer)
    again = CustomerNue(ledger_scope.account).change(items, actor=buyer)
    assert again.replayed
    assert again.order.id == first.order.id
    assert route.call_count == 1
    # The same body against a newer version of the second subscription is a new change.
    mock_subscriptions(
        nue_mock, subscription_json(names[0]), subscription_json(names[1], version=2)
    )
    moved = CustomerNue(ledger_scope.account).change(items, actor=buyer)
    assert not moved.replayed
    assert route.call_count == 2


@pytest.mark.django_db
def test_it_keys_a_long_basket_within_the_ledger_column_and_resolves_it(
    ledger_scope, nue_mock, buyer
):
    from orders.models import Operation

    names = [f"SUB-{n:08d}" for n in range(1, 8)]
    mock_subscriptions(
        nue_mock, *(subscription_json(n, price_book_entry_id=entry_of(n)) for n in names)
    )
    route = nue_mock.post("/change-orders").mock(side_effect=httpx.ReadTimeout("slow"))
    nue_mock.get("/orders").mock(return_value=ok([basket_order_json(names)]))
    items = [(n, [LONGER]) for n in names]
    with pytest.raises(nue.NueUnavailable):
        ledger_scope.change(items, actor=buyer)
    op = Operation.objects.get()
    assert len(op.target) <= Operation._meta.get_field("target").max_length
    assert op.target.startswith("SUB-00000001,SUB-00000002,")
    again = CustomerNue(ledger_scope.account).change(items, actor=buyer)
    assert again.replayed
    assert again.order.id == BASKET_ORDER_ID
    assert route.call_count == 1


def _mixed_statuses() -> list[dict[str, object]]:
    return [
        order_json("10000000-0000-4000-8000-000000000001", number=1, status="Draft"),
        order_json("10000000-0000-4000-8000-000000000002", number=2, status="Activated"),
        order_json("10000000-0000-4000-8000-000000000003", number=3, status="Canceled"),
    ]


@pytest.mark.parametrize("asked", ["activated", "active", "Activated"])
def test_it_asks_for_activated_orders_without_a_disputed_filter(scope, nue_mock, asked):
    # The guides send `activated` (getting-started) and `active` (retrieve-orders): neither is
    # sent; the record status picks them.
    route = nue_mock.get("/orders").mock(return_value=ok(_mixed_statuses()))
    orders = scope.orders(status=asked)
    assert "status" not in route.calls.last.request.url.params
    assert [o.order_number for o in orders] == ["O-00000002"]


@pytest.mark.parametrize(
    ("asked", "sent", "number"), [("draft", "draft", 1), ("canceled", "canceled", 3)]
)
def test_it_sends_the_documented_filter_and_still_checks_each_status(
    scope, nue_mock, asked, sent, number
):
    # Nue answering with every status (a filter it ignored) still shows only the asked-for one.
    route = nue_mock.get("/orders").mock(return_value=ok(_mixed_statuses()))
    orders = scope.orders(status=asked)
    assert route.calls.last.request.url.params["status"] == sent
    assert [o.order_number for o in orders] == [f"O-{number:08d}"]


def test_a_status_filtered_list_is_not_taken_for_the_whole_list(scope, nue_mock):
    nue_mock.get("/orders").mock(return_value=ok(_mixed_statuses()))
    assert len(scope.orders(status="activated")) == 1
    assert len(scope.orders()) == 3


@pytest.mark.django_db
def test_it_keeps_the_warnings_nue_puts_at_the_envelopes_top_level(ledger_scope, nue_mock, buyer):
    # nue-api.md §1.4: warnings sit beside data; the create-draft guide reads each one's message.
    mock_subscriptions(nue_mock, subscription_json("SUB-00000001"))
    body = {
        "status": "SUCCESS",
        "data": {"order": basket_order_json(["SUB-00000001"]), "warnings": []},
        "warnings": [{"message": "Tax was not calculated: the customer has no shipping address."}],
    }
    nue_mock.post("/change-orders").mock(return_value=httpx.Response(201, json=body))
    result = ledger_scope.change([("SUB-00000001", [SEATS])], actor=buyer)
    assert result.warnings == ("Tax was not calculated: the customer has no shipping address.",)
