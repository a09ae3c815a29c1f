"""The change wizard's estimate: priced by Nue as the customer edits, kept nowhere (issue 20,
item 5); a draft change order exists only once they go on to confirm it."""

from __future__ import annotations

import httpx
import pytest
from django.urls import reverse

from nue_emulator import journal
from orders import approvals
from orders.scope import CustomerNue
from tests.orders.purchase_helpers import account

PRO = "SUB-00000001"
HTMX = {"HTTP_HX_REQUEST": "true"}

pytestmark = pytest.mark.django_db


def estimate_url(kind: str = "quantity") -> str:
    return reverse("orders:change_estimate", args=[PRO, kind])


def writes(calls) -> list[str]:
    return [c.route for c in calls if c.method == "POST" and c.route != "invoice-preview"]


def test_it_estimates_a_change_without_keeping_anything(ada_client):
    drafts = {o.id for o in CustomerNue(account()).orders(status="draft")}
    with journal.capture() as calls:
        response = ada_client.post(estimate_url(), {"quantity": 8, "when": "today"}, **HTMX)
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<section class="card" id="estimate"')
    assert "Before tax" in page
    assert [c.route for c in calls if c.method == "POST"] == ["invoice-preview"]
    assert {o.id for o in CustomerNue(account()).orders(status="draft")} == drafts


def test_an_incomplete_form_asks_nothing_of_nue(ada_client):
    with journal.capture() as calls:
        response = ada_client.post(estimate_url(), {"quantity": "", "when": "today"}, **HTMX)
    assert "Fill in the change" in response.content.decode()
    assert not [c for c in calls if c.method == "POST"]


def test_the_estimate_works_without_javascript(ada_client):
    url = reverse("orders:change_details", args=[PRO, "quantity"])
    with journal.capture() as calls:
        response = ada_client.post(url, {"quantity": 8, "when": "today", "action": "estimate"})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="estimate"' in page
    assert "Invoices this change would create, before tax" in page
    assert 'value="8"' in page  # the form as typed
    assert writes(calls) == []


def test_it_is_refused_to_a_viewer(ben_client):
    response = ben_client.post(estimate_url(), {"quantity": 8, "when": "today"}, **HTMX)
    assert response.status_code in (403, 404)


def test_a_change_walked_away_from_awaits_nobody_and_a_kept_one_is_listed(ada_client, ada):
    details = reverse("orders:change_details", args=[PRO, "quantity"])
    location = ada_client.post(details, {"quantity": 9, "when": "today"})["Location"]
    order_id = location.rstrip("/").split("/")[-1]
    dashboard = ada_client.get(reverse("home"))
    assert order_id not in [o.id for o in dashboard.context["awaiting"]]
    subscription = ada_client.get(reverse("orders:subscription_detail", args=[PRO]))
    assert order_id not in [o.id for o in subscription.context["pending"]]
    # Keeping it as a quote is choosing to keep it: now it awaits someone.
    ada_client.post(reverse("orders:quote_link", args=[order_id]), {"template": ""})
    assert approvals.kept([order_id]) == {order_id}
    dashboard = ada_client.get(reverse("home"))
    assert order_id in [o.id for o in dashboard.context["awaiting"]]


def test_it_says_what_nue_refused_when_nue_sends_no_summary(ada_client):
    from tests.orders.conftest import upstream

    def refuse(request, inner):
        body = {
            "status": "FAILURE",
            "errors": [{"field": "assetChanges[0].quantity", "message": "Too many seats."}],
        }
        return httpx.Response(400, json=body)

    with upstream("POST", "/orders/invoice-preview", refuse):
        response = ada_client.post(estimate_url(), {"quantity": 8, "when": "today"}, **HTMX)
    page = response.content.decode()
    assert "Too many seats." in page
    assert "Nue answered 400" not in page
