"""Discarding a draft: confirmation on the page, POST only, owner only.

Nue documents no way to cancel or delete a draft (nue-api.md §5.4): the portal records the
discard and stops offering the draft; in Nue it stays a draft.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from nue_emulator import journal
from nue_emulator.models import Order as EmulatedOrder
from orders.models import DiscardedDraft
from orders.nue import NueNotFound
from orders.scope import for_customer
from portal.models import AuditEvent, AuditKind

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


def test_it_discards_the_draft_in_the_portal_only(ada, ada_client, draft_id):
    with journal.capture() as calls:
        response = ada_client.post(discard_url(draft_id))
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:new_order")
    # Nothing is sent to Nue, and the draft is read once, from the documented list.
    assert [(c.method, c.route) for c in calls] == [("GET", "orders")]
    assert "status=draft" in calls[0].query
    assert EmulatedOrder.objects.get(id=draft_id).status == "Draft"
    discarded = DiscardedDraft.objects.get(order_id=draft_id)
    assert (discarded.customer, discarded.discarded_by, discarded.discarded_via) == (
        account(),
        ada,
        None,
    )
    event = AuditEvent.objects.get(kind=AuditKind.ACTION, details__action="discard_draft")
    assert event.details["order_number"] == discarded.order_number
    scope = for_customer(account())
    assert scope is not None
    with pytest.raises(NueNotFound):
        scope.order(draft_id)


def test_it_stops_offering_the_discarded_draft(ada_client, maria_client, draft_id):
    link = f"/orders/{draft_id}/"
    drafts = reverse("orders:order_list") + "?status=draft"

    def offered() -> list[bool]:
        return [
            link in ada_client.get(reverse("home")).text,
            link in ada_client.get(drafts).text,
            draft_id in maria_client.get(reverse("orders:review")).text,
        ]

    assert offered() == [True, True, True]
    ada_client.post(discard_url(draft_id))
    assert offered() == [False, False, False]
    assert ada_client.get(link).status_code == 404
    with journal.capture() as calls:
        activate = ada_client.post(
            reverse("orders:draft_activate", args=[draft_id]), {"consent": "on"}
        )
        quote = ada_client.post(reverse("orders:quote_link", args=[draft_id]))
        again = ada_client.post(discard_url(draft_id))
    assert (activate.status_code, quote.status_code, again.status_code) == (404, 404, 404)
    assert not [c for c in calls if c.method != "GET"]


def test_it_refuses_an_order_that_is_no_longer_a_draft(ada_client):
    scope = for_customer(account())
    assert scope is not None
    activated = scope.orders(status="active")[0]
    assert ada_client.post(discard_url(activated.id)).status_code == 409
    assert not DiscardedDraft.objects.exists()


def test_it_answers_htmx_with_a_client_redirect(ada_client, draft_id):
    response = ada_client.post(discard_url(draft_id), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("orders:new_order")


def test_it_rejects_get(ada_client, draft_id):
    assert ada_client.get(discard_url(draft_id)).status_code == 405


def test_it_hides_other_customers_drafts(grace_client, draft_id):
    assert grace_client.post(discard_url(draft_id)).status_code == 404
    assert not DiscardedDraft.objects.exists()


def test_it_refuses_viewers(ben_client, draft_id):
    assert ben_client.post(discard_url(draft_id)).status_code == 403
    assert not DiscardedDraft.objects.exists()
