"""The change basket: changes to several subscriptions in ONE change order, previewed together,
confirmed at once."""

from __future__ import annotations

from decimal import Decimal

import httpx
from django.urls import reverse
from django.utils import timezone

from nue_emulator import journal
from orders import nue
from orders.models import ApprovalRequest, Operation
from orders.scope import CustomerNue
from orders.views.changes import BASKET_KEY
from portal.models import AuditEvent, AuditKind
from tests.orders import figures
from tests.orders.conftest import upstream

PRO = "SUB-00000001"  # Acme: Pro Plan (US), 5 seats
SUITE = "SUB-00000002"  # Acme: Platform Suite bundle
GLOBEX_PRO = "SUB-00000007"
BASKET = reverse("orders:change_basket")


def acme(ada) -> CustomerNue:
    return CustomerNue(ada.memberships.get().account)


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


def order_id_of(client, basket_id: str) -> str:
    page = client.get(reverse("orders:change_basket_preview", args=[basket_id]))
    return page.context["order"].id


def six_months_more(client, name: str) -> str:
    """The term form's "+6 months" end date for `name`."""
    response = client.get(reverse("orders:change_details", args=[name, "term"]))
    return response.context["form"].fields["new_end"].choices[2][0]


def change_order_posts(calls: list[journal.Entry]) -> int:
    return sum(1 for c in calls if c.method == "POST" and c.path.endswith("/change-orders"))


def activations(calls: list[journal.Entry], order_id: str) -> int:
    return sum(1 for c in calls if c.method == "POST" and c.path.endswith(f"/orders/{order_id}"))


def test_it_requires_login(client):
    assert client.get(BASKET).status_code == 302


def test_it_collects_changes_without_creating_anything(ada_client, ada):
    drafts = {o.id for o in acme(ada).orders(status="draft")}
    fill(ada_client)
    page = ada_client.get(BASKET).content.decode()
    assert "Set quantity to 8" in page
    assert "Renew for 12 months" in page
    assert {o.id for o in acme(ada).orders(status="draft")} == drafts


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
    assert "1 draft change order" not in text
    assert "draft change orders" not in text
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


def test_it_counts_the_subscriptions_changed_apart_from_their_add_ons(ada_client):
    add(ada_client, PRO, "quantity", {"quantity": 8, "when": "today"})
    add_ons = {
        "option_opt-admin-seats": 5,
        "option_opt-premium-support": 1,
        "option_opt-integration-pack": 0,
    }
    assert add(ada_client, SUITE, "addons", add_ons)["Location"] == BASKET
    basket_id = preview_together(ada_client)
    response = ada_client.post(reverse("orders:change_basket_confirm", args=[basket_id]))
    result = ada_client.get(response["Location"]).content.decode()
    assert "Done: 2 changes applied" in result
    assert "changed 2 subscriptions and 1 of their add-ons." in result


def test_it_changes_nothing_when_one_subscription_moved(ada_client, ada):
    fill(ada_client)
    basket_id = preview_together(ada_client)
    scope = acme(ada)
    bump = nue.AssetChange("UpdateQuantity", quantity=Decimal(1), start_date=timezone.localdate())
    scope.activate(scope.change([(PRO, [bump])], actor=ada).order.id, actor=ada)
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
    scope.activate(scope.change([(PRO, [bump])], actor=ada).order.id, actor=ada)
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
    # Grace reads German.
    assert "Ihr Änderungskorb ist leer" in grace_client.get(BASKET).content.decode()


def test_it_refuses_a_viewer(ben_client, ada_client):
    fill(ada_client)
    basket_id = preview_together(ada_client)
    confirm = reverse("orders:change_basket_confirm", args=[basket_id])
    assert ben_client.post(confirm).status_code == 403


def test_it_makes_one_change_order_of_the_whole_basket(ada_client, ada):
    new_end = six_months_more(ada_client, SUITE)
    suite = acme(ada).subscription(SUITE)
    assert add(ada_client, PRO, "quantity", {"quantity": 8, "when": "today"})["Location"] == BASKET
    assert add(ada_client, SUITE, "term", {"new_end": new_end})["Location"] == BASKET
    before = {o.id for o in acme(ada).orders()}
    with upstream("POST", "/change-orders") as transport:
        basket_id = preview_together(ada_client)
    [new] = [o for o in acme(ada).orders() if o.id not in before]
    [body] = transport.bodies
    assert [(c["assetNumber"], c["changeType"]) for c in body["assetChanges"]] == [
        (PRO, "UpdateQuantity"),
        (SUITE, "UpdateTerm"),
    ]
    assert body["options"]["previewInvoice"] is True
    draft = acme(ada).order(new.id)
    assert (draft.status, draft.order_type) == ("Draft", "Change")
    assert {change.name for change in draft.changes} == {PRO, SUITE}

    page = ada_client.get(reverse("orders:change_basket_preview", args=[basket_id]))
    text = page.content.decode()
    assert text.count('class="before-after"') == 2
    assert f'id="ba-{PRO}"' in text
    assert f'id="ba-{SUITE}"' in text
    assert draft.order_number in text
    assert body["options"]["calculateTax"] is True
    assert draft.tax_amount > 0
    assert figures.shown(text) == figures.nues(draft)

    confirm = reverse("orders:change_basket_confirm", args=[basket_id])
    with journal.capture() as calls:
        first = ada_client.post(confirm)
        second = ada_client.post(confirm)  # a double click, a reload
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert activations(calls, draft.id) == 1
    assert change_order_posts(calls) == 0
    assert Operation.objects.filter(kind=Operation.Kind.ACTIVATE, target=draft.id).count() == 1
    assert len(acme(ada).orders()) == len(before) + 1
    assert acme(ada).order(draft.id).status == "Activated"
    pro, suite_after = acme(ada).subscription(PRO), acme(ada).subscription(SUITE)
    assert (pro.quantity, pro.version) == (8, 3)
    assert suite_after.end_date.isoformat() == new_end
    assert suite_after.term == suite.term + 6
    events = AuditEvent.objects.filter(kind=AuditKind.CHANGE_ORDER)
    assert sorted(e.details["subscription"] for e in events) == [PRO, SUITE]
    assert {e.details["order_number"] for e in events} == {draft.order_number}

    result = ada_client.get(first["Location"]).content.decode()
    assert draft.order_number in result
    assert "is now version 3" in result  # Pro
    assert "is now version 2" in result  # the suite


def test_it_sends_nothing_for_a_basket_with_another_customers_subscription(ada_client, ada):
    fill(ada_client)
    session = ada_client.session
    baskets = session[BASKET_KEY]
    [key] = baskets
    baskets[key].append([GLOBEX_PRO, "quantity", "Set quantity to 9", {"quantity": ["9"]}])
    session[BASKET_KEY] = baskets
    session.save()
    before = len(acme(ada).orders())
    with journal.capture() as calls:
        response = ada_client.post(BASKET, {"action": "preview"})
    assert response.status_code == 404
    assert change_order_posts(calls) == 0
    assert len(acme(ada).orders()) == before
    assert not Operation.objects.exists()


def test_it_puts_a_nue_validation_error_on_the_item_it_names(ada_client, ada):
    new_end = six_months_more(ada_client, SUITE)
    add(ada_client, PRO, "quantity", {"quantity": 8, "when": "today"})
    add(ada_client, SUITE, "term", {"new_end": new_end})

    def reject(request, emulator):
        errors = [{"field": "assetChanges[1].term", "message": "Too long for this bundle."}]
        body = {"status": "FAILURE", "message": "Bad term.", "errors": errors}
        return httpx.Response(400, json=body)

    with upstream("POST", "/change-orders", reject) as transport:
        response = ada_client.post(BASKET, {"action": "preview"})
    assert response.status_code == 422
    assert len(transport.bodies) == 1
    assert response.context["errors"] == {SUITE: ["Too long for this bundle."]}
    assert "Too long for this bundle." in response.content.decode()


def test_it_puts_an_error_naming_no_item_on_the_basket(ada_client):
    fill(ada_client)

    def reject(request, emulator):
        return httpx.Response(400, json={"status": "FAILURE", "message": "Nue said no."})

    with upstream("POST", "/change-orders", reject):
        response = ada_client.post(BASKET, {"action": "preview"})
    assert response.status_code == 422
    assert response.context["errors"] == {}
    assert response.context["problems"] == ["Nue said no."]


def test_it_keeps_a_basket_with_a_cancellation_for_an_admin(ada_client, bob_client):
    assert add(ada_client, PRO, "quantity", {"quantity": 6, "when": "today"})["Location"] == BASKET
    cancel = {"reason": "too_expensive", "when": "today"}
    assert add(ada_client, SUITE, "cancel", cancel)["Location"] == BASKET
    basket_id = preview_together(ada_client)
    confirm = reverse("orders:change_basket_confirm", args=[basket_id])
    response = bob_client.post(confirm)
    assert response.status_code == 403
    assert "The draft change order is kept for an account admin." in response.content.decode()


def test_it_weighs_the_one_orders_total_against_the_approval_limit(ada_client, ada, bob_client):
    fill(ada_client)
    basket_id = preview_together(ada_client)
    order = acme(ada).order(order_id_of(ada_client, basket_id))
    # The three seats are prorated to the term's end, so their price moves with the calendar:
    # the limit is set between the larger change (the renewal) and the order holding both.
    by_subscription = {change.name: change.amount or Decimal(0) for change in order.changes}
    assert set(by_subscription) == {PRO, SUITE}
    # The lines are before tax; the order is taxed as a new order is.
    assert order.before_tax == sum(by_subscription.values())
    assert order.tax_amount > 0
    assert order.total == order.before_tax + order.tax_amount
    larger = max(by_subscription.values())
    account = ada.memberships.get().account
    account.approval_threshold = (larger + order.total) / 2
    account.save(update_fields=["approval_threshold"])
    confirm = reverse("orders:change_basket_confirm", args=[basket_id])
    response = bob_client.post(confirm)
    assert response.status_code == 403
    assert "are above your approval limit" in response.content.decode()
    # The buyer asks the account manager for the whole change order from the preview.
    order_id = order_id_of(ada_client, basket_id)
    request_url = reverse("orders:approval_request", args=[order_id])
    page = bob_client.get(reverse("orders:change_basket_preview", args=[basket_id]))
    assert f'action="{request_url}"' in page.content.decode()
    bob_client.post(request_url, {"comment": "Seats and the renewal together", "consent": "on"})
    assert ApprovalRequest.objects.get(order_id=order_id).is_pending
