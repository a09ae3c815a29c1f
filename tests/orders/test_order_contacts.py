"""Per order, the bill-to and ship-to contact: the new-order form's selects, the draft body,
the address the preview says tax follows, and the order page (issue 24, item 6)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from nue_emulator.models import Contact as EmulatedContact
from nue_emulator.models import Order as EmulatedOrder

from .purchase_helpers import PRO, create_draft, line

URL = "/orders/new/"
PREVIEW_URL = "/orders/new/preview/"
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "preview"}


def add_contact(client, first: str, email: str, **shipping: str) -> str:
    body = {"first_name": first, "last_name": "Lovelace", "email": email}
    body.update({f"shipping_{name}": value for name, value in shipping.items()})
    assert client.post("/billing/contacts/", body).status_code == 302
    return EmulatedContact.objects.get(email=email).id


@pytest.fixture
def springfield(ada_client) -> str:
    """An Acme contact shipping to Springfield, IL (Nue's US rate; Acme itself ships to CA)."""
    return add_contact(
        ada_client,
        "Augusta",
        "augusta@acme.example",
        street="1 Main St",
        city="Springfield",
        state="IL",
        country="US",
    )


def test_it_offers_the_customers_contacts(ada_client, springfield):
    page = ada_client.get(URL).text
    assert 'name="bill_to"' in page
    assert 'name="ship_to"' in page
    assert f'value="{springfield}"' in page
    assert "Augusta Lovelace (augusta@acme.example)" in page
    assert "None: the company" in page


def test_it_names_the_address_tax_follows_in_the_preview(ada_client, springfield):
    response = ada_client.post(PREVIEW_URL, line("la", PRO), **HTMX)
    assert response.status_code == 200
    assert (
        "Tax calculated from the shipping address of Acme Corporation, 1 Market Street, "
        "San Francisco, CA 94105, US." in response.text
    )
    response = ada_client.post(PREVIEW_URL, {**line("la", PRO), "ship_to": springfield}, **HTMX)
    assert response.status_code == 200
    assert (
        "Tax calculated from the shipping address of Augusta Lovelace, 1 Main St, Springfield, "
        "IL, US (the order's ship-to contact)." in response.text
    )


def test_it_keeps_the_chosen_contacts_for_the_next_visit(ada_client, springfield):
    ada_client.post(PREVIEW_URL, {**line("la", PRO), "bill_to": springfield}, **HTMX)
    page = ada_client.get(URL).text
    assert f'<option value="{springfield}" selected>' in page


def test_it_sends_the_contacts_as_the_guide_does(ada_client, springfield):
    ben = EmulatedContact.objects.get(email="ben@acme.example").id
    order_id = create_draft(ada_client, {**line("la", PRO), "bill_to": ben, "ship_to": springfield})
    held = EmulatedOrder.objects.get(id=order_id).doc
    # create-draft-orders.txt, "comprehensive configuration": billToContact {id}, shipToContact id.
    assert held["billToContact"] == {"id": ben}
    assert held["shipToContact"] == springfield
    page = ada_client.get(f"/orders/{order_id}/").text
    assert "Ben Bitdiddle (ben@acme.example)" in page
    assert "Augusta Lovelace (augusta@acme.example)" in page


def test_it_sends_no_contact_by_default(ada_client):
    order_id = create_draft(ada_client, line("la", PRO))
    held = EmulatedOrder.objects.get(id=order_id).doc
    assert held["billToContact"] is None
    assert held["shipToContact"] is None
    assert "Ship to" not in ada_client.get(f"/orders/{order_id}/").text


def test_the_tax_follows_the_ship_to(ada_client, springfield):
    company = create_draft(ada_client, line("la", PRO))
    shipped = create_draft(ada_client, {**line("la", PRO), "ship_to": springfield})
    taxes = {
        key: Decimal(str(EmulatedOrder.objects.get(id=order_id).doc["taxAmount"]))
        for key, order_id in (("company", company), ("shipped", shipped))
    }
    assert taxes["company"] != taxes["shipped"]
    assert taxes["shipped"] > 0
    # The draft page shows Nue's figure.
    page = ada_client.get(f"/orders/{shipped}/").text
    assert f"{taxes['shipped']:,.2f}" in page


def test_it_refuses_a_contact_not_offered(ada_client, grace):
    foreign = EmulatedContact.objects.get(email="grace@globex.example").id
    before = EmulatedOrder.objects.count()
    response = ada_client.post(URL, {**line("la", PRO), "ship_to": foreign, "action": "draft"})
    assert response.status_code == 422
    assert "Choose the bill-to and ship-to contacts again." in response.text
    assert EmulatedOrder.objects.count() == before
