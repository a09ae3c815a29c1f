"""Discarding a draft: confirmation on the page, POST only, owner only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders.nue import NueNotFound
from orders.scope import for_customer

from .purchase_helpers import PRO, account, create_draft, line


@pytest.fixture
def draft_id(ada_client) -> str:
    return create_draft(ada_client, line("la", PRO))


def discard_url(order_id: str) -> str:
    return reverse("orders:draft_discard", args=[order_id])


def test_it_has_a_stable_route():
    assert reverse("orders:draft_discard", args=["x1"]) == "/orders/x1/discard/"


def test_it_asks_for_confirmation_on_the_draft_page(ada_client, draft_id):
    page = ada_client.get(reverse("orders:order_detail", args=[draft_id])).content.decode()
    assert "<summary>Discard this draft…</summary>" in page
    assert f'action="{discard_url(draft_id)}"' in page


def test_it_discards_the_draft(ada_client, draft_id):
    response = ada_client.post(discard_url(draft_id))
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:new_order")
    scope = for_customer(account())
    assert scope is not None
    try:
        order = scope.order(draft_id, fresh=True)
    except NueNotFound:
        return
    assert order.status == "Canceled"


def test_it_answers_htmx_with_a_client_redirect(ada_client, draft_id):
    response = ada_client.post(discard_url(draft_id), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("orders:new_order")


def test_it_rejects_get(ada_client, draft_id):
    assert ada_client.get(discard_url(draft_id)).status_code == 405


def test_it_hides_other_customers_drafts(grace_client, draft_id):
    assert grace_client.post(discard_url(draft_id)).status_code == 404


def test_it_refuses_viewers(ben_client, draft_id):
    assert ben_client.post(discard_url(draft_id)).status_code == 403
