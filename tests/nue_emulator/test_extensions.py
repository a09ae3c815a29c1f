"""What Nue does not document is served only with NUE_EMULATOR_EXTENSIONS on (nue-api.md §5.18c):
reading one order by id, discarding a draft, a product by id, and `asOfDate`."""

from __future__ import annotations

import importlib
from datetime import date, timedelta

from nue_emulator import journal
from tests.nue_emulator.conftest import ACME, GLOBEX, error, ok
from tests.nue_emulator.test_orders import simple_order


def draft(api, pbe) -> dict:
    return ok(api.post("/orders", simple_order(pbe)), 201)["order"]


def starter_status(api, **params) -> str:
    subs = ok(api.get("/subscriptions", customerIds=[GLOBEX], **params))
    return next(s for s in subs if s["productSku"] == "PLAN-STARTER-EU")["status"]


def test_they_are_off_unless_a_setting_turns_them_on(monkeypatch, settings):
    import nue_emulator.settings as standalone

    monkeypatch.setenv("NUE_EMULATOR_EXTENSIONS", "true")
    assert importlib.reload(standalone).NUE_EMULATOR_EXTENSIONS is True
    monkeypatch.delenv("NUE_EMULATOR_EXTENSIONS")
    assert importlib.reload(standalone).NUE_EMULATOR_EXTENSIONS is False
    # The suite runs with them off, as the portal does.
    assert settings.NUE_EMULATOR_EXTENSIONS is False


def test_it_does_not_read_one_order_by_id(api, pbe):
    order = draft(api, pbe)
    response = api.get(f"/orders/{order['id']}")
    error(response, 405, "METHOD_NOT_ALLOWED")
    # Activation is what Nue documents on this path.
    assert response["Allow"] == "POST"


def test_it_does_not_delete_a_draft(api, pbe):
    order = draft(api, pbe)
    error(api.delete(f"/orders/{order['id']}"), 405, "METHOD_NOT_ALLOWED")
    listed = ok(api.get("/orders", customerIds=[ACME], status="draft"))
    assert order["id"] in {o["id"] for o in listed}


def test_it_still_activates_on_the_same_path(api, pbe):
    order = draft(api, pbe)
    assert ok(api.post(f"/orders/{order['id']}", {}))["order"]["status"] == "Activated"


def test_it_knows_no_product_by_id(api, catalog):
    pro = catalog["PLAN-PRO-US"]
    with journal.capture() as calls:
        error(api.get(f"/catalog/products/{pro['id']}"), 404, "NOT_FOUND")
        error(api.get("/catalog/products/PLAN-PRO-US"), 404, "NOT_FOUND")
    assert [c.status for c in calls] == [404, 404]


def test_it_ignores_as_of_date(api):
    earlier = (date.today() - timedelta(days=400)).isoformat()
    assert starter_status(api, asOfDate=earlier) == starter_status(api) == "Expired"
    # Not even read: a date that does not exist is no error.
    assert ok(api.get("/subscriptions", customerIds=[GLOBEX], asOfDate="2026-02-30"))


def test_it_reads_one_order_when_on(api, pbe, extensions):
    order = draft(api, pbe)
    fetched = ok(api.get(f"/orders/{order['id']}"))
    assert fetched["orderNumber"] == order["orderNumber"]
    assert fetched["orderProducts"]
    error(api.get("/orders/missing"), 404)


def test_it_discards_a_draft_but_not_an_activated_order_when_on(api, pbe, extensions):
    order = draft(api, pbe)
    assert ok(api.delete(f"/orders/{order['id']}"))["order"]["status"] == "Canceled"
    error(api.delete(f"/orders/{order['id']}"), 409)
    error(api.post(f"/orders/{order['id']}", {}), 409)


def test_it_reads_a_product_by_id_or_sku_when_on(api, catalog, extensions):
    pro = catalog["PLAN-PRO-US"]
    assert api.get(f"/catalog/products/{pro['id']}").json()["sku"] == "PLAN-PRO-US"
    assert api.get("/catalog/products/PLAN-PRO-US").json()["id"] == pro["id"]
    error(api.get("/catalog/products/missing"), 404)


def test_it_answers_a_snapshot_as_of_a_date_when_on(api, extensions):
    earlier = (date.today() - timedelta(days=400)).isoformat()
    assert starter_status(api, asOfDate=earlier) == "Active"
    assert starter_status(api) == "Expired"
    response = api.get("/subscriptions", customerIds=[GLOBEX], asOfDate="2026-02-30")
    assert response.status_code == 400
    assert response.json()["errors"]
