"""The change basket: changes to several subscriptions, previewed together, confirmed at once."""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from orders import nue

PRO = "SUB-00000001"
SUITE = "SUB-00000002"
BASKET = reverse("orders:change_basket")


def acme(ada) -> nue.CustomerNue:
    return nue.CustomerNue(ada.memberships.get().account)


def add(client, name: str, kind: str, data: dict):
    url = reverse("orders:change_details", args=[name, kind])
    return client.post(url, {**data, "action": "basket"})


def fill(client) -> None:
    assert add(client, PRO, "quantity", {"quantity": 8, "when": "today"})["Location"] == BASKET
    assert add(client, SUITE, "renew", {"renewal_term": 12})["Location"] == BASKET


def preview_together(client) -> str:
    response = client.post(BASKET, {"action": "preview"})
    assert response.status_code == 302, response.content.decode()[:3000]
    return response["Location"].rstrip("/").split("/")[-1]


def test_it_requires_login(client):
    assert client.get(BASKET).status_code == 302


def test_it_collects_changes_without_creating_anything(ada_client, ada):
    fill(ada_client)
    page = ada_client.get(BASKET).content.decode()
    assert "Set quantity to 8" in page
    assert "Renew for 12 months" in page
    assert not acme(ada).orders(status="draft") or all(
        o.order_type != "Change" or o.created_date != timezone.localdate()
        for o in acme(ada).orders(status="draft")
    )


def test_it_keeps_one_change_per_subscription(ada_client):
    fill(ada_client)
    add(ada_client, PRO, "quantity", {"quantity": 9, "when": "today"})
    page = ada_client.get(BASKET).content.decode()
    assert "Set quantity to 9" in page
    assert "Set quantity to 8" not in page


def test_it_previews_two_changes_together_and_applies_both(ada_client, ada):
    fill(ada_client)
    basket_id = preview_together(ada_client)
    page = ada_client.get(reverse("orders:change_basket_preview", args=[basket_id]))
    text = page.content.decode()
    assert text.count('class="before-after"') == 2
    assert "Confirm all changes" in text
    suite_end = acme(ada).subscription(SUITE).end_date
    response = ada_client.post(reverse("orders:change_basket_confirm", args=[basket_id]))
    assert response.status_code == 302
    assert acme(ada).subscription(PRO).quantity == 8
    assert acme(ada).subscription(SUITE).end_date > suite_end
    result = ada_client.get(response["Location"]).content.decode()
    assert "is now version 3" in result  # Pro
    assert "is now version 2" in result  # the suite
    assert (
        "holds" not in ada_client.get(reverse("orders:change_start", args=[PRO])).content.decode()
    )


def test_it_changes_nothing_when_one_subscription_moved(ada_client, ada):
    fill(ada_client)
    basket_id = preview_together(ada_client)
    scope = acme(ada)
    bump = nue.AssetChange("UpdateQuantity", quantity=Decimal(1), start_date=timezone.localdate())
    scope.activate(scope.change(PRO, [bump], actor=ada).order.id, actor=ada)
    suite_end = acme(ada).subscription(SUITE).end_date
    response = ada_client.post(reverse("orders:change_basket_confirm", args=[basket_id]))
    assert response.status_code == 409
    assert "This preview is out of date" in response.content.decode()
    assert acme(ada).subscription(SUITE).end_date == suite_end
    assert acme(ada).subscription(PRO).quantity == 6


def test_it_reports_an_item_that_no_longer_validates(ada_client, ada):
    add(ada_client, PRO, "quantity", {"quantity": 6, "when": "today"})
    scope = acme(ada)
    bump = nue.AssetChange("UpdateQuantity", quantity=Decimal(1), start_date=timezone.localdate())
    scope.activate(scope.change(PRO, [bump], actor=ada).order.id, actor=ada)
    response = ada_client.post(BASKET, {"action": "preview"})
    assert response.status_code == 422
    assert "It already has 6" in response.content.decode()


def test_it_removes_an_item(ada_client):
    fill(ada_client)
    response = ada_client.post(BASKET, {"action": "remove", "name": PRO})
    assert response.status_code == 302
    page = ada_client.get(BASKET).content.decode()
    assert "Set quantity to 8" not in page
    assert "Renew for 12 months" in page


def test_it_keeps_baskets_per_customer(ada_client, grace_client):
    fill(ada_client)
    basket_id = preview_together(ada_client)
    url = reverse("orders:change_basket_preview", args=[basket_id])
    assert grace_client.get(url).status_code == 404
    confirm = reverse("orders:change_basket_confirm", args=[basket_id])
    assert grace_client.post(confirm).status_code == 404
    assert "Your basket is empty" in grace_client.get(BASKET).content.decode()


def test_it_refuses_a_viewer(ben_client, ada_client):
    fill(ada_client)
    basket_id = preview_together(ada_client)
    confirm = reverse("orders:change_basket_confirm", args=[basket_id])
    assert ben_client.post(confirm).status_code == 403
