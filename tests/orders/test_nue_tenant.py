"""Tenant-level reads used by server-side account mapping (seed_demo, sign-in linking)."""

from __future__ import annotations

import json

import httpx
import pytest

from orders import nue

from .conftest import ok

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
