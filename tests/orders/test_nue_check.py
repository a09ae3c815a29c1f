"""`manage.py nue_check`: against the embedded emulator it prints its table, stores the tenant's
capability record, reads only unless asked for drafts, and then creates named drafts it lists
and never activates; a refused key or a read that does not parse exits non-zero. The findings
Nue's own numbers would settle differently from the emulator's are checked on Nue's shapes."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from nue_emulator import faults, journal
from nue_emulator.models import Order as EmulatorOrder
from orders import capabilities, tenant_check
from orders.models import TenantCapabilities
from orders.nue import (
    DEFAULT_DIALECT,
    Customer,
    EmbeddedTransport,
    Order,
    Product,
    Subscription,
    Tenant,
    embedded_emulator,
)
from orders.scope import CustomerNue
from orders.tenant_probes import PROBE_NAME, probe_coterm_field, probe_reconfigure
from portal.models import CustomerAccount
from tests import demo
from tests.conftest import installed_client

from .conftest import ACME_ID, ok, order_json

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_no_faults", "_clear_cache")]


def nue_check(**options: object) -> str:
    out = io.StringIO()
    call_command("nue_check", stdout=out, **options)
    return out.getvalue()


def row(output: str, finding: str) -> tuple[str, str]:
    """A table row's result and evidence."""
    for line in output.splitlines():
        cells = [c.strip() for c in line.split(" | ")]
        if cells[0] == finding:
            return cells[1], cells[2]
    raise AssertionError(f"no row {finding!r} in:\n{output}")


def record() -> TenantCapabilities:
    return TenantCapabilities.objects.get(api_url=capabilities.api_url())


def test_it_reads_only_prints_its_table_and_stores_what_it_settled():
    with journal.capture() as calls:
        output = nue_check(customer=demo.ACME)

    assert calls
    assert {c.method for c in calls} == {"GET"}
    assert not any(c.wrote for c in calls)
    header = [cell.strip() for cell in output.splitlines()[1].split(" | ")]
    assert header == ["Finding", "Result", "Evidence"]
    assert row(output, "API key")[0] == "accepted"
    assert row(output, "Customer")[0] == demo.ACME
    for read in ("Catalog", "Contacts", "Customer's catalog", "Orders", "Subscriptions"):
        assert row(output, read)[0] == "parsed", read
    assert row(output, "Invoices")[0] == "parsed"
    # Undocumented, and not served by the emulator with its extensions off (nue-api.md §5.18c).
    assert row(output, "GET /orders/{id}")[0] == "not served"
    assert row(output, "Co-term field")[0] == "not checked"
    assert row(output, "Status filter for activated orders")[0] == "active"
    assert row(output, "System discount")[0] == "part of discountAmount"
    assert row(output, "Subtotal")[0] == "after discount"
    assert "Draft orders created" not in output

    stored = record()
    assert stored.activated_status_filter == "active"
    assert stored.system_discount == TenantCapabilities.SystemDiscount.INCLUDED
    assert stored.subtotal == TenantCapabilities.Subtotal.AFTER_DISCOUNT
    assert stored.optional_endpoints["GET /orders/{id}"] is False
    assert stored.optional_endpoints["GET /subscriptions/product-relationships"] is True
    assert (stored.coterm_field, stored.upgrade_target_field, stored.reconfigure_quantity) == (
        "",
        "",
        "",
    )
    assert stored.drafts_checked_at is None
    assert {"finding": "API key", "result": "accepted"}.items() <= stored.findings[0].items()


def test_with_drafts_it_creates_named_drafts_lists_them_and_activates_none():
    with journal.capture() as calls:
        output = nue_check(customer=demo.ACME_ID, with_drafts=True)

    writes = [(c.method, c.route) for c in calls if c.method != "GET"]
    assert writes
    assert set(writes) <= {("POST", "orders"), ("POST", "change-orders")}
    # POST /orders/{id} activates: never sent.
    assert not any(c.route == "order" and c.method != "GET" for c in calls)

    probes = EmulatorOrder.objects.filter(doc__name=PROBE_NAME)
    assert probes.count() == len(writes) == 3
    assert {p.status for p in probes} == {"Draft"}
    listed = output.split("Draft orders created (3)")[1]
    for probe in probes:
        assert f"{probe.number}  id {probe.id}  {PROBE_NAME}" in listed

    assert row(output, "Co-term field")[0] == "coTermAsset"
    assert row(output, "Upgrade/Downgrade/Swap target field")[0] == "targetPriceBookEntryId"
    assert row(output, "Reconfigure quantity")[0] == "the new quantity"
    stored = record()
    assert stored.coterm_field == "coTermAsset"
    assert stored.upgrade_target_field == "targetPriceBookEntryId"
    assert stored.reconfigure_quantity == TenantCapabilities.Reconfigure.ABSOLUTE
    assert stored.drafts_checked_at is not None
    assert sum(1 for f in stored.findings if f["finding"] == "Draft created") == 3


def test_a_read_only_run_keeps_what_a_run_with_drafts_settled():
    nue_check(customer=demo.ACME, with_drafts=True)
    first = record()
    nue_check(customer=demo.ACME)
    again = record()
    assert again.coterm_field == "coTermAsset"
    assert again.reconfigure_quantity == TenantCapabilities.Reconfigure.ABSOLUTE
    assert again.drafts_checked_at == first.drafts_checked_at
    assert again.checked_at > first.checked_at


def test_without_a_customer_it_checks_the_tenant_and_says_what_it_left_out():
    output = nue_check()
    assert row(output, "API key")[0] == "accepted"
    assert row(output, "Catalog")[0] == "parsed"
    assert row(output, "Customer")[0] == "not checked"
    with pytest.raises(CommandError, match="--with-drafts needs --customer"):
        nue_check(with_drafts=True)


def test_it_exits_non_zero_with_a_clear_message_when_the_key_is_refused():
    out = io.StringIO()
    with (
        installed_client(EmbeddedTransport(embedded_emulator()), api_key="not-the-tenants-key"),
        pytest.raises(CommandError, match=r"did not accept the API key .* NUE_API_KEY"),
    ):
        call_command("nue_check", customer=demo.ACME, stdout=out)
    result, evidence = row(out.getvalue(), "API key")
    assert result == "refused"
    assert "401" in evidence
    assert not TenantCapabilities.objects.exists()


def test_it_exits_non_zero_when_a_read_the_portal_relies_on_does_not_parse():
    out = io.StringIO()
    with (
        faults.inject("subscriptions", "GET", body="malformed"),
        pytest.raises(CommandError, match="1 checks failed: Subscriptions"),
    ):
        call_command("nue_check", customer=demo.ACME, stdout=out)
    result, evidence = row(out.getvalue(), "Subscriptions")
    assert result == "failed"
    assert "not JSON" in evidence
    # What did read is stored all the same.
    assert record().activated_status_filter == "active"


def test_it_names_a_customer_it_cannot_find():
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 checks failed: Customer"):
        call_command("nue_check", customer="No Such Customer Ltd", stdout=out)
    assert row(out.getvalue(), "Customer") == (
        "not found",
        "no customer with the id or name 'No Such Customer Ltd'",
    )


# Nue's order data reference sample: list 5,940.00, discount 594.00 (10 %), system discount
# 297.00 (5 %), subtotal 5,940.00.
def sample_order(net_total: str, number: int = 1) -> Order:
    # As Nue's JSON reaches the models: numbers parsed as Decimal.
    body = order_json(
        order_id=f"00000000-0000-4000-8000-{number:012d}",
        number=number,
        status="Activated",
        listTotal=5940.00,
        discount=10.0,
        discountAmount=594.00,
        systemDiscount=5.0,
        systemDiscountAmount=297.00,
        subtotal=5940.00,
        taxAmount=475.20,
        netTotal=float(net_total),
        grandTotal=float(Decimal(net_total) + Decimal("475.20")),
        orderProducts=[],
    )
    return Order.parse(json.loads(json.dumps(body), parse_float=Decimal))


def run_with(*orders: Order) -> tenant_check.Run:
    return tenant_check.Run(Tenant(), date(2026, 1, 1), orders=list(orders))


def test_it_reads_nues_sample_as_a_subtotal_before_the_discount():
    finding = tenant_check.check_subtotal(run_with(sample_order("5346.00")))
    assert (finding.result, finding.field, finding.value) == (
        "before discount",
        "subtotal",
        "before_discount",
    )
    assert "list 5,940.00, discount 594.00, system discount 297.00" in finding.evidence


@pytest.mark.parametrize(
    ("net_total", "result", "value"),
    [
        ("5346.00", "part of discountAmount", "included"),
        ("5049.00", "added to discountAmount", "added"),
    ],
)
def test_it_tells_whether_the_system_discount_is_part_of_the_discount(net_total, result, value):
    finding = tenant_check.check_system_discount(run_with(sample_order(net_total)))
    assert (finding.result, finding.field, finding.value) == (result, "system_discount", value)


def test_it_settles_nothing_on_orders_that_disagree():
    run = run_with(sample_order("5346.00", 1), sample_order("5049.00", 2))
    finding = tenant_check.check_system_discount(run)
    assert finding.result == "inconsistent"
    assert finding.value is None
    assert "O-00000001" in finding.evidence
    assert "O-00000002" in finding.evidence


def test_it_settles_the_status_filter_nue_honours(nue_mock):
    activated = order_json(order_id="00000000-0000-4000-8000-000000000001", status="Activated")
    draft = order_json(order_id="00000000-0000-4000-8000-000000000002", number=2)

    def orders(request: httpx.Request) -> httpx.Response:
        status = request.url.params.get("status")
        if status == "active":
            return httpx.Response(400, json={"status": "FAILURE", "message": "bad status"})
        return ok([activated] if status == "activated" else [activated, draft])

    nue_mock.get("/orders").mock(side_effect=orders)
    run = tenant_check.Run(Tenant(), date(2026, 1, 1))
    run.customer = nue_customer()
    finding = tenant_check.check_status_filter(run)
    assert (finding.result, finding.field, finding.value) == (
        "activated",
        "activated_status_filter",
        "activated",
    )
    assert "status=active: refused (bad status)" in finding.evidence


def nue_customer() -> Customer:
    return Customer(ACME_ID, "Acme", "Business", None, None, False, None)


BUNDLE_ID = "00000000-0000-4000-8000-0000000000b1"


def subscription(name: str, product: str, quantity: int, **extra: object) -> Subscription:
    return Subscription.parse(
        {
            "id": extra.pop("id", f"id-{name}"),
            "name": name,
            "customerId": ACME_ID,
            "status": "Active",
            "quantity": quantity,
            "productId": product,
            "priceBookEntryId": f"pbe-{product}",
            "subscriptionStartDate": "2025-07-01",
            "subscriptionEndDate": "2026-06-30",
            **extra,
        }
    )


def product(product_id: str, *, options: list[dict[str, object]] = ()) -> Product:
    return Product.parse(
        {
            "id": product_id,
            "name": product_id,
            "configurable": bool(options),
            "priceBookEntries": [{"id": f"pbe-{product_id}", "listPrice": 10}],
            "productOptions": list(options),
        }
    )


def probe_run() -> tenant_check.Run:
    seats = {
        "productOptionId": "opt-seats",
        "productId": "p-seats",
        "optionType": "Required",
        "quantityEditable": True,
        "maxQuantity": 100,
    }
    run = tenant_check.Run(Tenant(), date(2026, 1, 15))
    run.customer = nue_customer()
    run.scope = CustomerNue(
        CustomerAccount(nue_customer_id=ACME_ID, name="Acme"), dialect=DEFAULT_DIALECT
    )
    run.customer_catalog = [product("p-suite", options=[seats]), product("p-pro")]
    run.subscriptions = [
        subscription("SUB-00000002", "p-suite", 1, id=BUNDLE_ID),
        subscription("SUB-00000004", "p-seats", 3, rootId=BUNDLE_ID, subscriptionLevel=2),
        subscription("SUB-00000001", "p-pro", 5),
    ]
    return run


def change_order(lines: list[dict[str, object]]) -> httpx.Response:
    order = order_json(orderProducts=lines, orderType="Change")
    return httpx.Response(201, json={"status": "SUCCESS", "data": {"order": order}})


PRODUCTS = {"SUB-00000004": "p-seats", "SUB-00000001": "p-pro"}


def line(number: int, sub: str, quantity: int, change_type: str) -> dict[str, object]:
    # Lines do not name their subscription (nue-api.md §3.2): the probe knows each by its product.
    return {
        "id": f"line-{number}",
        "productName": sub,
        "productId": PRODUCTS[sub],
        "quantity": quantity,
        "totalPrice": 1,
        "changeType": change_type,
    }


@pytest.mark.parametrize(
    ("addon_line", "reference_line", "result", "value"),
    [
        # Lines carry the change itself (+1 on the other subscription shows as 1).
        (1, 1, "the new quantity", "absolute"),
        (4, 1, "a change of quantity", "delta"),
        # Lines carry the quantity after the change (5 + 1 shows as 6).
        (4, 6, "the new quantity", "absolute"),
        (7, 6, "a change of quantity", "delta"),
    ],
)
def test_it_reads_a_reconfigure_from_lines_whichever_quantity_they_carry(
    nue_mock, addon_line, reference_line, result, value
):
    route = nue_mock.post("/change-orders").mock(
        return_value=change_order(
            [
                line(1, "SUB-00000004", addon_line, "Reconfigure"),
                line(2, "SUB-00000001", reference_line, "UpdateQuantity"),
            ]
        )
    )
    run = probe_run()
    finding = probe_reconfigure(run)
    assert (finding.result, finding.value) == (result, value)
    sent = json.loads(route.calls.last.request.content)
    assert sent["name"] == PROBE_NAME
    reconfigure, reference = sent["assetChanges"]
    assert reconfigure["addOns"] == [
        {
            "productOptionId": "opt-seats",
            "productOptionQuantity": 4,
            "reconfigureEffectiveDate": "2026-01-15",
        }
    ]
    assert (reference["changeType"], reference["quantity"]) == ("UpdateQuantity", 1)
    assert [d.order_number for d in run.drafts] == ["O-00000001"]


def test_it_leaves_a_reconfigure_unsettled_when_either_reading_fits(nue_mock):
    nue_mock.post("/change-orders").mock(
        return_value=change_order([line(1, "SUB-00000004", 4, "Reconfigure")])
    )
    finding = probe_reconfigure(probe_run())
    assert finding.result == "could not tell"
    assert finding.value is None
    assert "which either reading gives" in finding.evidence


def test_it_stores_only_settled_answers():
    report = tenant_check.Report(
        (
            tenant_check.Finding("API key", "accepted", "ok"),
            tenant_check.Finding("Co-term field", "cotermAsset", "", "coterm_field", "cotermAsset"),
            tenant_check.Finding("Subtotal", "could not tell", "no discounts"),
        ),
        (),
    )
    TenantCapabilities.objects.create(
        api_url="https://nue.example", subtotal="before_discount", checked_at=timezone.now()
    )
    stored = tenant_check.store(report, "https://nue.example", with_drafts=False)
    assert (stored.coterm_field, stored.subtotal) == ("cotermAsset", "before_discount")


def test_it_settles_the_coterm_casing_nue_takes_after_one_it_refuses(nue_mock):
    def orders(request: httpx.Request) -> httpx.Response:
        (line,) = json.loads(request.content)["orderProducts"]
        if "cotermAsset" not in line:
            return httpx.Response(
                400,
                json={
                    "status": "FAILURE",
                    "message": "either subscriptionTerm or cotermAsset is required",
                },
            )
        order = order_json(
            orderProducts=[
                {
                    "id": "line-1",
                    "productName": "p-pro",
                    "quantity": 1,
                    "totalPrice": 10,
                    "subscriptionStartDate": "2026-01-15",
                    "subscriptionEndDate": "2026-06-30",
                }
            ]
        )
        return httpx.Response(201, json={"status": "SUCCESS", "data": {"order": order}})

    route = nue_mock.post("/orders").mock(side_effect=orders)
    run = probe_run()
    finding = probe_coterm_field(run)
    assert (finding.result, finding.field, finding.value) == (
        "cotermAsset",
        "coterm_field",
        "cotermAsset",
    )
    assert finding.evidence.startswith("coTermAsset: refused (either subscriptionTerm")
    assert "cotermAsset: draft O-00000001 ends 2026-06-30, as SUB-00000001 does" in finding.evidence
    assert route.call_count == 2
    assert [d.order_number for d in run.drafts] == ["O-00000001"]
    sent = json.loads(route.calls.last.request.content)
    assert (sent["name"], sent["orderProducts"][0]["priceBookEntryId"]) == (PROBE_NAME, "pbe-p-pro")
