"""Shared setup of the quote-link tests: a link made the way people make one, its public URLs,
and the recipient's acceptance."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from orders.actions import quotes
from orders.models import QuoteLink
from orders.nue import Order
from portal.models import User
from tests.conftest import signed_in
from tests.orders.approval_helpers import account, big_draft

ACCEPTOR = {
    "name": "Jane Doe",
    "title": "Chief Financial Officer",
    "email": "jane.doe@acme.example",
    "po_number": "PO-4711",
    "agree": "on",
}


def made_by_manager(maria: User, order: Order | None = None) -> QuoteLink:
    """Maria makes a link for Acme's largest draft from her review page."""
    order = order or big_draft()
    url = reverse("orders:review_quote_link", args=[account().pk, order.id])
    response = signed_in(maria).post(url, {"template": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    found = quotes.quote_link_for(order.id)
    assert found is not None
    return found


def made_by_member(client: Client, order: Order | None = None) -> QuoteLink:
    order = order or big_draft()
    response = client.post(reverse("orders:quote_link", args=[order.id]), {"template": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    found = quotes.quote_link_for(order.id)
    assert found is not None
    return found


def page_url(link: QuoteLink) -> str:
    return reverse("orders:quote_page", args=[link.token])


def accept_url(link: QuoteLink) -> str:
    return reverse("orders:quote_accept", args=[link.token])


def pdf_url(link: QuoteLink) -> str:
    return reverse("orders:quote_pdf", args=[link.token])


def accept(link: QuoteLink, client: Client | None = None, **fields: str):
    """The recipient, not signed in, accepts the quote."""
    return (client or Client()).post(accept_url(link), {**ACCEPTOR, **fields})


def activation_posts(calls: list, order_id: str) -> list:
    return [c for c in calls if c.method == "POST" and c.path.endswith(f"/orders/{order_id}")]
