"""The billing page: the company's bill-to and ship-to contacts and addresses, the address tax
follows, and an admin adding a contact (issue 24, item 6)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from nue_emulator import faults, journal
from nue_emulator.models import Contact as EmulatedContact
from portal.models import AuditEvent, AuditKind

URL = "/billing/"
ADD_URL = "/billing/contacts/"
HTMX = {"HTTP_HX_REQUEST": "true"}

NEW_CONTACT = {
    "first_name": "Linus",
    "last_name": "Lister",
    "email": "linus@acme.example",
    "phone": "+1 217 555 0100",
    "billing_street": "1 Main St",
    "billing_city": "Springfield",
    "billing_state": "IL",
    "billing_country": "US",
    "shipping_street": "1 Main St",
    "shipping_city": "Springfield",
    "shipping_state": "IL",
    "shipping_country": "US",
}


def contact_writes(calls: list[journal.Entry]) -> list[str]:
    return [c.path for c in calls if c.method == "POST" and c.path.endswith("/contacts")]


def test_it_has_stable_routes():
    assert reverse("orders:billing") == URL
    assert reverse("orders:billing_contact_add") == ADD_URL


def test_it_requires_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_it_shows_what_nue_holds(ada_client):
    response = ada_client.get(URL)
    assert response.status_code == 200
    page = response.text
    # The company's addresses and its contacts, as the demo tenant holds them.
    assert "1 Market Street, San Francisco, CA 94105, US" in page
    assert "Ada Lovelace" in page
    assert "ada@acme.example" in page
    assert "Ben Bitdiddle" in page
    assert (
        "Tax is calculated from the shipping address of Acme Corporation, 1 Market Street, "
        "San Francisco, CA 94105, US" in page
    )
    assert 'id="billing-contacts"' in page
    assert 'aria-current="page">Billing<' in page


def test_it_keeps_other_customers_contacts_out(grace_client):
    page = grace_client.get(URL).text
    assert "Hopper" in page
    assert "Lovelace" not in page
    assert "acme.example" not in page


@pytest.mark.parametrize("persona", ["ben_client", "bob_client"])
def test_it_shows_the_page_read_only_to_viewers_and_buyers(persona, request):
    client: Client = request.getfixturevalue(persona)
    response = client.get(URL)
    assert response.status_code == 200
    assert "Ada Lovelace" in response.text
    assert "Add a contact" not in response.text
    assert ADD_URL not in response.text


@pytest.mark.parametrize("persona", ["ben_client", "bob_client"])
def test_it_refuses_a_contact_from_viewers_and_buyers(persona, request):
    client: Client = request.getfixturevalue(persona)
    with journal.capture() as calls:
        response = client.post(ADD_URL, NEW_CONTACT)
    assert response.status_code == 403
    assert contact_writes(calls) == []
    assert not EmulatedContact.objects.filter(email="linus@acme.example").exists()


def test_it_rejects_other_methods(ada_client):
    assert ada_client.post(URL).status_code == 405
    assert ada_client.get(ADD_URL).status_code == 405


def test_it_answers_htmx_with_the_section(ada_client):
    response = ada_client.get(URL, **HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="billing-contacts"')
    assert "<html" not in response.text


def test_it_adds_a_contact_in_nue(ada_client, ada):
    with journal.capture() as calls:
        response = ada_client.post(ADD_URL, NEW_CONTACT)
    assert response.status_code == 302
    assert response["Location"] == URL
    acme = ada.memberships.get().account.nue_customer_id
    assert contact_writes(calls) == [f"/nue-emulator/customers/{acme}/contacts"]
    # What Nue holds is what the body carried, in the documented fields.
    held = EmulatedContact.objects.get(email="linus@acme.example").doc
    assert held["customerId"] == acme
    assert (held["firstName"], held["lastName"], held["name"]) == (
        "Linus",
        "Lister",
        "Linus Lister",
    )
    assert held["phone"] == "+1 217 555 0100"
    assert (held["billingStreet"], held["billingCity"], held["billingState"]) == (
        "1 Main St",
        "Springfield",
        "IL",
    )
    assert (held["shippingCity"], held["shippingCountry"]) == ("Springfield", "US")
    page = ada_client.get(URL).text
    assert "Linus Lister (linus@acme.example) was added" in page
    assert "1 Main St, Springfield, IL, US" in page
    event = AuditEvent.objects.get(kind=AuditKind.ACTION, details__action="contact_added")
    assert event.actor == ada
    assert event.details["contact_email"] == "linus@acme.example"


def test_it_answers_an_htmx_add_with_a_redirect(ada_client):
    response = ada_client.post(ADD_URL, NEW_CONTACT, **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == URL


def test_it_checks_the_input_before_nue(ada_client):
    bad = {**NEW_CONTACT, "email": "not-an-email", "first_name": "", "shipping_country": ""}
    with journal.capture() as calls:
        response = ada_client.post(ADD_URL, bad, **HTMX)
    assert response.status_code == 422
    assert contact_writes(calls) == []
    page = response.text
    assert "Enter a valid email address." in page
    assert "This field is required." in page
    assert "Give the shipping address&#x27;s country." in page
    assert 'value="Lister"' in page
    assert 'value="Springfield"' in page


def test_it_keeps_the_input_when_nue_refuses(ada_client):
    taken = {**NEW_CONTACT, "email": "ben@acme.example"}
    with journal.capture() as calls:
        response = ada_client.post(ADD_URL, taken)
    assert response.status_code == 422
    assert len(contact_writes(calls)) == 1
    page = response.text
    # Nue's own words, on the email field, with everything typed still there.
    assert "already in use" in page
    assert 'value="ben@acme.example"' in page
    assert 'value="Linus"' in page
    assert 'value="1 Main St"' in page
    assert not AuditEvent.objects.filter(details__action="contact_added").exists()


def test_it_says_when_nue_is_down_and_keeps_the_input(ada_client):
    with faults.inject("customer-contacts", "POST", status=503, times=1):
        response = ada_client.post(ADD_URL, NEW_CONTACT)
    assert response.status_code in (502, 503)
    assert 'value="linus@acme.example"' in response.text
    assert not EmulatedContact.objects.filter(email="linus@acme.example").exists()


@pytest.fixture
def as_ada(sam_client, ada) -> Client:
    response = sam_client.post(
        f"/support/impersonate/{ada.memberships.get().pk}/", {"reason": "Ticket SUP-42"}
    )
    assert response.status_code == 302
    return sam_client


def test_it_writes_nothing_while_impersonating_read_only(as_ada):
    with journal.capture() as calls:
        response = as_ada.post(ADD_URL, NEW_CONTACT)
    assert response.status_code == 403
    assert contact_writes(calls) == []
    assert not EmulatedContact.objects.filter(email="linus@acme.example").exists()
    assert AuditEvent.objects.filter(kind=AuditKind.ACTION_REFUSED).exists()


def test_it_records_both_identities_when_elevated(as_ada, ada, sam):
    response = as_ada.post(reverse("support_elevate"), {"reason": "Ada asked in SUP-42"})
    assert response.status_code == 302
    assert as_ada.post(ADD_URL, NEW_CONTACT).status_code == 302
    event = AuditEvent.objects.get(details__action="contact_added")
    assert event.actor == sam
    assert event.on_behalf_of == ada
