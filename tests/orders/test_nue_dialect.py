"""Request bodies in a tenant's dialect: what Nue's guides leave open, spelled as the tenant's
capability record says (manage.py nue_check), the emulator's way by default."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from orders.nue import DEFAULT_DIALECT, AddOn, AssetChange, Dialect, LineRequest

DAY = date(2026, 3, 1)


def coterm_line(*add_ons: AddOn) -> LineRequest:
    return LineRequest(
        "pbe-seat-pro",
        Decimal(2),
        start_date=DAY,
        coterm_subscription="SUB-00000001",
        add_ons=add_ons,
    )


def test_it_sends_the_coterm_field_in_the_tenants_casing():
    assert coterm_line().to_nue()["coTermAsset"] == "SUB-00000001"
    body = coterm_line().to_nue(Dialect(coterm_field="cotermAsset"))
    assert body["cotermAsset"] == "SUB-00000001"
    assert "coTermAsset" not in body


def test_it_names_the_upgrade_target_as_the_tenant_does():
    change = AssetChange("Upgrade", start_date=DAY, target_price_book_entry_id="pbe-seat-ent")
    assert change.to_nue("SUB-00000001")["targetPriceBookEntryId"] == "pbe-seat-ent"
    body = change.to_nue("SUB-00000001", Dialect(upgrade_target_field="priceBookEntryId"))
    assert body["priceBookEntryId"] == "pbe-seat-ent"
    assert "targetPriceBookEntryId" not in body


def test_it_sends_a_reconfigure_as_the_change_of_quantity_where_the_tenant_reads_one():
    nested = AddOn("opt-connector", Decimal(2), effective_date=DAY)
    pack = AddOn(
        "opt-pack", Decimal(5), add_ons=(nested,), effective_date=DAY, current_quantity=Decimal(3)
    )
    change = AssetChange("Reconfigure", add_ons=(pack,))

    (absolute,) = change.to_nue("SUB-00000002")["addOns"]
    assert absolute["productOptionQuantity"] == Decimal(5)
    assert absolute["addOns"][0]["productOptionQuantity"] == Decimal(2)

    (delta,) = change.to_nue("SUB-00000002", Dialect(reconfigure_delta=True))["addOns"]
    assert delta["productOptionQuantity"] == Decimal(2)
    # Not on the bundle yet (no current quantity): the change is the whole quantity.
    assert delta["addOns"][0]["productOptionQuantity"] == Decimal(2)


def test_it_keeps_a_new_lines_add_on_quantities_whatever_the_dialect():
    line = coterm_line(AddOn("opt-admin-seats", Decimal(4), current_quantity=Decimal(3)))
    body = line.to_nue(Dialect(reconfigure_delta=True))
    assert body["addOns"][0]["productOptionQuantity"] == Decimal(4)


def test_it_leaves_the_activated_status_filter_unspelled_until_a_tenant_check_settles_it():
    # The guides spell it two ways: without a record, no spelling is assumed (orders.scope).
    assert DEFAULT_DIALECT.activated_filter is None
