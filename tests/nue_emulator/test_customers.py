"""Customers and contacts: how the portal maps a sign-in email to a Nue customer."""

from __future__ import annotations

from tests.nue_emulator.conftest import ACME, GLOBEX, INITECH


def test_it_requires_the_api_key(anonymous):
    response = anonymous.get("/contacts", emails=["ada@acme.example"])
    assert response.status_code == 401
    assert response.json()["status"] == "FAILURE"
    assert response.json()["errorCode"] == "UNAUTHORIZED"


def test_it_rejects_a_wrong_api_key(seeded):
    from tests.nue_emulator.conftest import Api

    assert Api("wrong-key").get(f"/customers/{ACME}").status_code == 401


def test_it_finds_contacts_by_email_case_insensitively(api):
    response = api.get("/contacts", emails=["ADA@acme.example", "grace@globex.example", "x@y.z"])
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "SUCCESS"
    assert body["pagination"]["total"] == 2
    by_email = {c["email"]: c for c in body["data"]}
    assert by_email["ada@acme.example"]["customerId"] == ACME
    assert by_email["ada@acme.example"]["firstName"] == "Ada"
    assert by_email["grace@globex.example"]["customerId"] == GLOBEX


def test_it_rejects_emails_that_are_not_a_json_array(api):
    response = api.get("/contacts", emails='{"a": 1}')
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "emails"


def test_it_returns_one_customer_with_contacts(api):
    body = api.get(f"/customers/{ACME}", includes="contacts").json()
    assert body["data"]["name"] == "Acme Corporation"
    assert body["data"]["shippingCountry"] == "US"
    assert {c["email"] for c in body["data"]["contacts"]} == {
        "ada@acme.example",
        "ben@acme.example",
        "bob@acme.example",
    }


def test_it_lists_customers_by_id_with_pagination(api):
    body = api.get("/customers", customerIds=[ACME, GLOBEX], includes="contacts").json()
    assert body["pagination"]["total"] == 2
    assert {c["id"] for c in body["data"]} == {ACME, GLOBEX}
    assert all("contacts" in c for c in body["data"])


def test_it_knows_a_customer_without_shipping_address(api):
    body = api.get(f"/customers/{INITECH}").json()
    assert body["data"]["shippingStreet"] is None


def test_it_answers_404_for_an_unknown_customer(api):
    response = api.get("/customers/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert response.json()["errorCode"] == "NOT_FOUND"


def test_it_rejects_an_unknown_include(api):
    response = api.get(f"/customers/{ACME}", includes="orders")
    assert response.status_code == 400


def test_it_rejects_a_post_on_a_read_only_route(api):
    response = api.post("/contacts", {})
    assert response.status_code == 405
