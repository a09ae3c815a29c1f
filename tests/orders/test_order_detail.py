"""/orders/<id>/: header and totals, bundle tree, change before/after, related records, 404s."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from nue_emulator import faults, journal
from tests.orders import figures
from tests.orders.conftest import ORDER_ID, ok, order_json

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_no_faults", "_clear_cache")]


def by_name(scope, name: str):
    return next(o for o in scope.orders() if o.name == name)


def test_it_requires_login(client, acme_nue):
    order = acme_nue.orders()[0]
    response = client.get(f"/orders/{order.id}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_reads_the_order_once_from_the_documented_list(ada_client, acme_nue):
    draft = next(o for o in acme_nue.orders(status="draft") if o.order_type != "Change")
    with journal.capture() as calls:
        response = ada_client.get(f"/orders/{draft.id}/")
    assert response.status_code == 200
    # One read of the customer's orders with what the page shows; never GET /orders/{id}.
    assert [(c.method, c.route) for c in calls] == [("GET", "orders")]
    assert "includes=assets%2Cinvoices%2CorderProducts" in calls[0].query


def test_it_shows_a_bundle_as_a_tree_with_totals(ada_client, acme_nue):
    order = by_name(acme_nue, "Platform Suite")
    response = ada_client.get(f"/orders/{order.id}/")
    assert response.status_code == 200
    html = response.text
    assert order.order_number in html
    assert "Add-on of Platform Suite: </span>Core Analytics" in html
    assert "Add-on of Platform Suite: </span>Admin Seats" in html
    included = re.search(r'<tr class="line line--depth-1 line--included">.*?</tr>', html, re.S)
    assert included
    assert "Core Analytics" in included.group(0)
    assert "Included" in included.group(0)
    for label in ("List total", "Discount", "Subtotal", "Tax", "Grand total", "ACV", "TCV"):
        assert label in html
    assert "$7,740.00" in html
    assert order.po_number
    assert order.po_number in html
    assert re.search(r'href="/invoices/[^"]+/">INV-\d+</a>', html)
    assert 'href="/subscriptions/SUB-' in html


def test_it_shows_what_an_activated_change_order_changed(ada_client, acme_nue):
    # The first the demo activated: Pro's two more seats (the last cancels the contractors').
    change = min(
        (o for o in acme_nue.orders() if o.order_type == "Change" and not o.is_draft),
        key=lambda o: o.order_number,
    )
    html = ada_client.get(f"/orders/{change.id}/").text
    table = re.search(r'<div class="table-wrap change-table">.*?</table>', html, re.S)
    assert table
    assert "Change quantity" in table.group(0)
    assert "UpdateQuantity" not in html
    quantity = re.search(r"<th scope=\"row\">Quantity</th><td>(\d+)</td><td>(\d+)</td>", html)
    assert quantity
    assert quantity.groups() == ("3", "5")


def test_it_shows_a_draft_change_orders_current_terms_and_its_actions(ada_client, acme_nue):
    draft = next(o for o in acme_nue.orders() if o.order_type == "Change" and o.is_draft)
    html = ada_client.get(f"/orders/{draft.id}/").text
    assert "What this change order changes" in html
    assert "Upgrade" in html
    assert "Pro Plan (US)" in html
    assert "After activation" in html
    assert 'id="draft-actions"' in html


def test_it_shows_draft_actions_only_for_drafts(ada_client, acme_nue):
    activated = by_name(acme_nue, "Platform Suite")
    assert 'id="draft-actions"' not in ada_client.get(f"/orders/{activated.id}/").text
    draft = by_name(acme_nue, "Enterprise plan quote")
    html = ada_client.get(f"/orders/{draft.id}/").text
    assert 'id="draft-actions"' in html
    assert "Subscriptions are created when the order is activated." in html


@pytest.mark.parametrize("order_id", ["not-an-id", "00000000-0000-4000-8000-000000000000"])
def test_it_answers_404_for_unknown_ids(ada_client, order_id):
    assert ada_client.get(f"/orders/{order_id}/").status_code == 404


def test_it_answers_404_for_every_order_of_another_customer(ada_client, globex_nue):
    for order in globex_nue.orders():
        response = ada_client.get(f"/orders/{order.id}/")
        assert response.status_code == 404, order.order_number
        assert order.order_number not in response.text


def test_it_shows_the_friendly_page_when_nue_fails(ada_client, acme_nue):
    order = acme_nue.orders()[0]
    with faults.inject("*", "GET", status=200, body="malformed"):
        response = ada_client.get(f"/orders/{order.id}/")
    assert response.status_code == 502
    assert "Try again" in response.text


def test_it_rejects_post(ada_client, acme_nue):
    order = by_name(acme_nue, "Platform Suite")
    assert ada_client.post(f"/orders/{order.id}/").status_code == 405


def test_it_shows_a_draft_change_orders_terms_after_the_change(ada, ada_client, acme_nue):
    from decimal import Decimal

    from django.utils import timezone

    from orders import nue

    seats = next(s for s in acme_nue.subscriptions() if s.quantity == 5 and s.status == "Active")
    bump = nue.AssetChange("UpdateQuantity", quantity=Decimal(3), start_date=timezone.localdate())
    draft = acme_nue.change([(seats.name, [bump])], actor=ada).order
    response = ada_client.get(f"/orders/{draft.id}/")
    assert response.status_code == 200
    quantity_row = re.search(r'<th scope="row">Quantity</th>.*?</tr>', response.text, re.S)
    assert quantity_row
    assert re.search(r"<td>5</td>\s*<td>8</td>", quantity_row.group(0))
    assert "See the lines below" not in response.text


def test_it_shows_nues_discount_once_with_the_price_tag_part_of_it(ada, ada_client, nue_mock):
    # §3.1 / §5.18a: discountAmount (120) is the whole discount, systemDiscountAmount (60) the
    # part of it from price tags. Adding them would show 180 and break list - discount = subtotal.
    customer_id = ada.memberships.get().account.nue_customer_id
    order = order_json(customer_id=customer_id, status="Activated")
    nue_mock.get("/orders").mock(return_value=ok([order]))
    html = ada_client.get(f"/orders/{ORDER_ID}/").text
    assert figures.shown(html) == {
        "list": Decimal("1200.00"),
        "discount": Decimal("120.00"),
        "tag-discount": Decimal("60.00"),
        "subtotal": Decimal("1080.00"),
        "tax": Decimal("78.30"),
        "total": Decimal("1158.30"),
    }
    assert "of which price tags: <span" in html
    assert "$180.00" not in html


def test_it_offers_the_pdf_nue_gives_for_an_activated_order(ada_client, acme_nue):
    # The getting-started guide checks `orderPdf`: the page links it whenever Nue gives one.
    order = by_name(acme_nue, "Platform Suite")
    assert order.order_pdf
    html = ada_client.get(f"/orders/{order.id}/").text
    # Nue's link as read for this page (the emulator's is on the host the page is served from).
    assert 'href="http://testserver/nue-emulator/view-order-pdf/' in html
    assert "Download PDF" in html
    draft = next(o for o in acme_nue.orders() if o.is_draft)
    assert draft.order_pdf is None
    assert "Download PDF" not in ada_client.get(f"/orders/{draft.id}/").text


@pytest.mark.parametrize(
    ("link", "shown"),
    [
        ("https://files.nue.example/orders/O-1.pdf", True),
        ("javascript:alert(document.cookie)", False),
        ("data:application/pdf;base64,JVBERi0=", False),
        (None, False),
    ],
)
def test_it_links_only_an_http_order_pdf(ada, ada_client, nue_mock, link, shown):
    customer_id = ada.memberships.get().account.nue_customer_id
    order = order_json(customer_id=customer_id, status="Activated", orderPdf=link)
    nue_mock.get("/orders").mock(return_value=ok([order]))
    nue_mock.get(f"/orders/{ORDER_ID}").mock(return_value=ok(order))
    html = ada_client.get(f"/orders/{ORDER_ID}/").text
    assert ("Download PDF" in html) is shown
    if link:
        assert (link in html) is shown
