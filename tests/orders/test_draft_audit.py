"""Preparing is audited too: a new order's draft, a change's draft (wizard and basket) and an
approval request each leave one event, which the account's activity log shows."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from django.urls import reverse

from orders.scope import CustomerNue
from portal.models import AuditEvent, AuditKind
from tests.conftest import signed_in
from tests.orders.approval_helpers import big_draft, lower_limit, make_buyer
from tests.orders.conftest import upstream
from tests.orders.purchase_helpers import PRO as PRO_PLAN
from tests.orders.purchase_helpers import create_draft, line
from tests.orders.test_change_basket import fill, preview_together
from tests.orders.test_change_wizard import PRO, preview

pytestmark = pytest.mark.django_db

ACTIVITY = "/account/activity/"


def drafts_created(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(kind=AuditKind.ACTION, details__action=action))


def test_it_records_the_draft_a_new_order_creates(ada_client, ada):
    draft_id = create_draft(ada_client, line("la", PRO_PLAN, quantity="2"))
    (event,) = drafts_created("draft_created")
    order = CustomerNue(ada.memberships.get().account).order(draft_id)
    assert (event.actor, event.on_behalf_of, event.customer) == (
        ada,
        None,
        ada.memberships.get().account,
    )
    assert event.details["order_id"] == draft_id
    assert event.details["order_number"] == order.order_number
    assert Decimal(event.details["total"]) == order.total
    assert (event.method, event.path) == ("POST", reverse("orders:new_order"))
    page = ada_client.get(ACTIVITY, {"activity": "drafts"}).text
    assert f'<a class="mono" href="/orders/{draft_id}/">{order.order_number}</a>' in page
    assert "Created a draft order" in page


def test_it_records_no_draft_nue_refused(ada_client):
    def refuse(request, emulator):
        body = {"status": "FAILURE", "message": "No such price.", "errors": []}
        return httpx.Response(400, json=body)

    with upstream("POST", "/orders", refuse) as edge:
        response = ada_client.post(
            reverse("orders:new_order"), {**line("la", PRO_PLAN), "action": "draft"}
        )
    assert edge.calls == 1
    assert response.status_code == 422
    assert drafts_created("draft_created") == []


def test_it_records_the_change_draft_the_wizard_previews(ada_client, ada):
    order_id = preview(ada_client, PRO, "quantity", {"quantity": 8, "when": "today"})
    (event,) = drafts_created("change_draft_created")
    assert event.actor == ada
    assert event.details["order_id"] == order_id
    assert event.details["subscription"] == PRO
    assert "total" in event.details
    rows = ada_client.get(ACTIVITY, {"activity": "drafts"}).text
    assert "Prepared a subscription change" in rows
    assert f'href="/subscriptions/{PRO}/"' in rows


def test_it_records_one_change_draft_for_a_basket(ada_client, ada):
    fill(ada_client)
    preview_together(ada_client)
    (event,) = drafts_created("change_draft_created")
    assert set(event.details["subscription"].split(", ")) == {PRO, "SUB-00000002"}


def test_it_records_an_approval_request_and_shows_it(db):
    bob = make_buyer()
    lower_limit()
    order = big_draft()
    response = signed_in(bob).post(
        reverse("orders:approval_request", args=[order.id]), {"comment": "Q3", "consent": "on"}
    )
    assert response.status_code == 302
    (event,) = AuditEvent.objects.filter(details__action="approval_requested")
    assert (event.actor, event.details["order_number"]) == (bob, order.order_number)
    ada = next(m.user for m in event.customer.memberships.select_related("user") if m.is_admin)
    page = signed_in(ada).get(ACTIVITY, {"activity": "approval_requested"}).text
    assert "Requested an approval" in page
    assert bob.email in page
    assert order.order_number in page


def test_it_records_both_people_when_an_elevated_agent_creates_a_draft(sam_client, sam, ada):
    url = reverse("support_impersonate", args=[ada.memberships.get().pk])
    assert sam_client.post(url, {"reason": "Ticket SUP-8"}).status_code == 302
    assert sam_client.post(reverse("support_elevate"), {"reason": "Ada asked"}).status_code == 302
    create_draft(sam_client, line("la", PRO_PLAN))
    (event,) = drafts_created("draft_created")
    assert (event.actor, event.on_behalf_of) == (sam, ada)
    assert event.impersonation is not None
    # The draft's event is the request's record: no plain step besides it.
    plain = AuditEvent.objects.filter(kind=AuditKind.ACTION, path=reverse("orders:new_order"))
    assert list(plain) == [event]
    page = signed_in(ada).get(ACTIVITY).text
    assert f"Support agent {sam.get_full_name() or sam.email} on behalf of" in page


def test_it_records_nothing_for_a_read_only_agent(sam_client, ada):
    url = reverse("support_impersonate", args=[ada.memberships.get().pk])
    sam_client.post(url, {"reason": "Ticket SUP-8"})
    response = sam_client.post(
        reverse("orders:new_order"), {**line("la", PRO_PLAN), "action": "draft"}
    )
    assert response.status_code == 403
    assert drafts_created("draft_created") == []
