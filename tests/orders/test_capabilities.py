"""The portal follows the tenant's capability record (manage.py nue_check): request bodies in the
tenant's dialect, totals labelled the way its numbers add up, and the emulator's ways without
one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest
from django.urls import reverse
from django.utils import timezone

from nue_emulator import journal
from orders import capabilities
from orders.models import TenantCapabilities
from orders.nue import (
    DEFAULT_DIALECT,
    AddOn,
    AssetChange,
    Dialect,
    EmbeddedTransport,
    LineRequest,
    embedded_emulator,
)
from tests import demo
from tests.conftest import installed_client, signed_in
from tests.orders import figures

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_no_faults", "_clear_cache")]

BUNDLE = "SUB-00000002"  # Acme: Platform Suite
ADMIN_SEATS = "SUB-00000004"  # its Admin Seats add-on


def store(**answers: Any) -> TenantCapabilities:
    return TenantCapabilities.objects.create(
        api_url=capabilities.api_url(), checked_at=timezone.now(), **answers
    )


class Recording(httpx.BaseTransport):
    """The embedded emulator, keeping every request the portal sent it."""

    def __init__(self) -> None:
        self.inner = EmbeddedTransport(embedded_emulator())
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.inner.handle_request(request)

    def bodies(self, method: str, path: str) -> list[dict[str, Any]]:
        return [
            json.loads(r.content)
            for r in self.requests
            if r.method == method and r.url.path.endswith(path)
        ]


@contextmanager
def recorded() -> Iterator[Recording]:
    transport = Recording()
    with installed_client(transport):
        yield transport


def test_it_sends_and_labels_as_against_the_emulator_without_a_record():
    assert capabilities.record() is None
    assert capabilities.dialect() == DEFAULT_DIALECT
    assert capabilities.figure_labels() == capabilities.DEFAULT_LABELS


def test_it_reads_the_record_again_once_it_is_saved_or_deleted():
    assert capabilities.dialect() == DEFAULT_DIALECT
    record = store(coterm_field="cotermAsset", activated_status_filter="activated")
    assert capabilities.dialect() == Dialect(
        coterm_field="cotermAsset", activated_filter="activated"
    )
    record.reconfigure_quantity = TenantCapabilities.Reconfigure.DELTA
    record.save()
    assert capabilities.dialect().reconfigure_delta
    record.delete()
    assert capabilities.dialect() == DEFAULT_DIALECT


def test_it_keeps_the_default_of_an_answer_not_settled():
    store(upgrade_target_field="priceBookEntryId")
    assert capabilities.dialect() == Dialect(upgrade_target_field="priceBookEntryId")


def test_it_sends_the_coterm_casing_the_record_names(acme_nue):
    store(coterm_field="cotermAsset")
    pro = acme_nue.subscription(demo.PRO)
    today = timezone.localdate()
    line = LineRequest(
        pro.price_book_entry_id, Decimal(1), start_date=today, coterm_subscription=pro.name
    )
    with recorded() as sent:
        draft = acme_nue.create_draft([line], effective_date=today, name="Coterm casing")
    (body,) = sent.bodies("POST", "/orders")
    (product,) = body["orderProducts"]
    assert product["cotermAsset"] == demo.PRO
    assert "coTermAsset" not in product
    assert draft.order.lines[0].end_date == pro.end_date


def test_it_sends_a_reconfigure_as_a_change_where_the_record_says_nue_reads_one(acme_nue):
    store(reconfigure_quantity=TenantCapabilities.Reconfigure.DELTA)
    seats = acme_nue.subscription(ADMIN_SEATS)
    today = timezone.localdate()
    add_on = AddOn(
        "opt-admin-seats",
        seats.quantity + 2,
        effective_date=today,
        current_quantity=seats.quantity,
    )
    with recorded() as sent:
        acme_nue.preview_change(BUNDLE, [AssetChange("Reconfigure", add_ons=(add_on,))])
    (body,) = sent.bodies("POST", "/orders/invoice-preview")
    (change,) = body["assetChanges"]
    assert change["addOns"][0]["productOptionQuantity"] == 2


def test_it_lists_activated_orders_with_the_status_spelling_the_record_names(acme_nue):
    store(activated_status_filter="activated")
    with journal.capture() as calls:
        orders = acme_nue.orders(status="active")
    assert orders
    assert {o.status for o in orders} == {"Activated"}
    (call,) = [c for c in calls if c.route == "orders"]
    assert "status=activated" in call.query


def test_without_a_record_it_lists_activated_orders_unfiltered_and_keeps_them_by_status(acme_nue):
    with journal.capture() as calls:
        orders = acme_nue.orders(status="active")
    assert orders
    assert {o.status for o in orders} == {"Activated"}
    (call,) = [c for c in calls if c.route == "orders"]
    assert "status=" not in call.query


def test_it_labels_the_totals_the_way_the_tenants_numbers_add_up(acme_nue, ada_client):
    order = next(o for o in acme_nue.orders() if o.system_discount_amount)
    url = reverse("orders:order_detail", args=[order.id])

    before = ada_client.get(url).content.decode()
    assert "of which price tags:" in before
    assert "Subtotal, before tax" in before
    assert "plus price tags" not in before

    store(
        system_discount=TenantCapabilities.SystemDiscount.ADDED,
        subtotal=TenantCapabilities.Subtotal.BEFORE_DISCOUNT,
    )
    after = ada_client.get(url).content.decode()
    assert "plus price tags:" in after
    assert "Subtotal, before discount and tax" in after
    assert "of which price tags" not in after
    assert "Subtotal, before tax" not in after
    # Only the words change: every figure is still Nue's own.
    assert figures.shown(after) == figures.shown(before)


def test_the_admin_shows_the_record_and_its_findings_without_editing_them(superuser):
    record = store(
        coterm_field="cotermAsset",
        findings=[{"finding": "Co-term field", "result": "cotermAsset", "evidence": "<O-1>"}],
    )
    client = signed_in(superuser)
    page = client.get(reverse("admin:orders_tenantcapabilities_change", args=[record.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<td>Co-term field</td><td>cotermAsset</td><td>&lt;O-1&gt;</td>" in html
    assert 'name="coterm_field"' not in html
    assert client.get(reverse("admin:orders_tenantcapabilities_add")).status_code == 403
