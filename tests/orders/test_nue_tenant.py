"""Tenant-level reads used by server-side account mapping (seed_demo, sign-in linking)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import httpx
import pytest

from orders import nue

from .conftest import GLOBEX_ID, ok, order_json

ACME = "0b6f6a36-6f51-4c1e-9d8e-6c2d1f0a1a01"


def test_it_looks_contacts_up_by_email(nue_mock):
    route = nue_mock.get("/contacts").mock(
        return_value=ok(
            [
                {
                    "id": "c1",
                    "customerId": ACME,
                    "email": "ada@acme.example",
                    "firstName": "Ada",
                    "lastName": "Lovelace",
                    "name": "Ada Lovelace",
                    "unknownExtra": {"tolerated": True},
                }
            ]
        )
    )
    contacts = nue.tenant().contacts_by_email(["ada@acme.example"])
    assert contacts == [
        nue.Contact("c1", ACME, "ada@acme.example", "Ada", "Lovelace", "Ada Lovelace")
    ]
    request = route.calls.last.request
    assert json.loads(request.url.params["emails"]) == ["ada@acme.example"]
    assert request.headers["nue-api-key"] == "test-key"


def test_it_reads_customers_with_shipping_presence(nue_mock):
    nue_mock.get("/customers").mock(
        return_value=ok(
            [
                {"id": ACME, "name": "Acme", "shippingCity": "Berlin"},
                {"id": "001E200000ABCDEFGH", "name": "Globex"},
            ],
            pagination={"total": 2},
        )
    )
    acme, globex = nue.tenant().customers([ACME, "001E200000ABCDEFGH"])
    assert (acme.name, acme.has_shipping_address) == ("Acme", True)
    assert (globex.id, globex.has_shipping_address) == ("001E200000ABCDEFGH", False)


def test_it_rejects_a_contact_without_customer_id(nue_mock):
    nue_mock.get("/contacts").mock(return_value=ok([{"id": "c1", "email": "x@y.example"}]))
    with pytest.raises(nue.NueProtocolError):
        nue.tenant().contacts_by_email(["x@y.example"])


def test_it_rejects_a_malformed_customer_id_without_a_call(nue_mock):
    route = nue_mock.get("/customers").mock(return_value=ok([]))
    with pytest.raises(nue.NueNotFound):
        nue.tenant().customers(['x"]&customerIds=["other'])
    assert not route.called


def test_it_maps_an_unreachable_nue_to_unavailable(nue_mock):
    nue_mock.get("/contacts").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(nue.NueUnavailable):
        nue.tenant().contacts_by_email(["ada@acme.example"])


def test_it_finds_customers_by_name_over_every_page(nue_mock):
    others = [{"id": f"001E2000000000{n:04d}", "name": f"Other {n}"} for n in range(99)]
    pages = {
        "1": [*others, {"id": "001E200000ABCDEFGH", "name": "acme "}],
        "2": [{"id": "001E200000ABCDEFGI", "name": "Acme"}],
    }
    route = nue_mock.get("/customers").mock(
        side_effect=lambda request: ok(pages[request.url.params["page"]], pagination={"total": 101})
    )
    found = nue.tenant().customers_named("Acme")
    assert [c.id for c in found] == ["001E200000ABCDEFGH", "001E200000ABCDEFGI"]
    # Nue is asked to filter by name (its dynamic filters), and compared here whatever it did.
    assert {call.request.url.params["name"] for call in route.calls} == {"Acme"}
    assert route.call_count == 2


@pytest.mark.parametrize("status", [404, 405])
def test_an_optional_read_nue_does_not_serve_is_none(nue_mock, status):
    nue_mock.get("/orders/O-00000001").mock(
        return_value=httpx.Response(status, json={"status": "FAILURE", "message": "no"})
    )
    assert nue.tenant().optional_read("/orders/O-00000001", {}, lambda e: e.data) is None


def test_an_optional_read_nue_refuses_otherwise_is_an_error(nue_mock):
    nue_mock.get("/catalog/price-tags").mock(
        return_value=httpx.Response(400, json={"status": "FAILURE", "message": "bad"})
    )
    with pytest.raises(nue.NueValidationError):
        nue.tenant().optional_read("/catalog/price-tags", {}, lambda e: e.data)


def test_a_probe_change_order_must_be_the_customers(nue_mock):
    nue_mock.post("/change-orders").mock(
        return_value=httpx.Response(
            201,
            json={
                "status": "SUCCESS",
                "data": {"order": order_json(customer_id=GLOBEX_ID, orderType="Change")},
            },
        )
    )
    change = nue.AssetChange("UpdateQuantity", quantity=Decimal(1), start_date=date(2026, 1, 2))
    with pytest.raises(nue.NueProtocolError):
        nue.tenant().draft_change_order(
            ACME, [("SUB-00000001", change)], name="probe", dialect=nue.DEFAULT_DIALECT
        )
