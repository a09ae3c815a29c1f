"""The wizard's rules and forms without HTTP: what a subscription allows, dates, what each form
offers, absolute -> delta (orders.actions.changes, orders.forms.changes)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from orders.actions import changes
from orders.actions.scheduled import scheduled_change
from orders.forms import changes as cf
from orders.kinds import change_type_label
from orders.nue import AssetChange, Dialect, Product, ProductOption, Subscription

TODAY = date(2026, 11, 23)


def sub(**changes) -> Subscription:
    base = Subscription(
        id="s1",
        name="SUB-00000001",
        version=2,
        customer_id="c1",
        status="Active",
        quantity=Decimal(5),
        product_id="p1",
        product_name="Pro Plan (US)",
        product_sku="PLAN-PRO-US",
        price_book_entry_id="pbe-pro",
        start_date=date(2026, 1, 27),
        end_date=date(2027, 1, 26),
        term=Decimal(12),
        renewal_term=Decimal(12),
        auto_renew=True,
        evergreen=False,
        list_price=Decimal(25),
        sales_price=Decimal("22.5"),
        total_amount=Decimal(1170),
        total_acv=None,
        tcv=None,
        billing_period="Monthly",
        next_billing_date=date(2026, 11, 27),
        root_id=None,
        level=1,
    )
    return base._replace(**changes)


def bound(
    form_class, data=None, *, sub: Subscription, today: date = TODAY, **reads
) -> cf.ChangeForm:
    """The form of a change to `sub`, offering what the customer's records `reads` allow."""
    offer = changes.offer_from(sub, form_class.kind, today, **reads)
    return form_class(data, sub=sub, today=today, offer=offer)


def asked(form: cf.ChangeForm) -> list[AssetChange]:
    return changes.asset_changes(form.sub, form.asked(), form.today)


def reasons(subscription: Subscription, **kw) -> dict[str, str]:
    options = {
        "others": [],
        "relationships": [],
        "catalog": [],
        "may_prepare": True,
        "may_cancel": True,
        **kw,
    }
    return {c.kind.slug: c.reason for c in changes.choices_for(subscription, **options)}


def test_it_adds_calendar_months_clamping_the_day():
    assert changes.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert changes.add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert changes.extended_end(date(2027, 1, 26), 6) == date(2027, 7, 26)
    assert changes.extended_end(date(2027, 2, 28), 1) == date(2027, 3, 31)


def test_it_names_days_in_the_portals_one_date_format():
    form = bound(cf.QuantityForm, sub=sub(), today=date(2026, 11, 3))
    labels = dict(form.fields["when"].choices)
    assert labels["today"] == "Today, 3 Nov 2026"  # as the day filter shows dates on pages


def test_it_never_offers_a_trial_conversion_it_cannot_tell_is_one():
    """No documented field says a subscription is a free trial (nue-api.md §3.3): the choice is
    shown with the reason, for every subscription, and nothing else is refused on a guess."""
    reason = reasons(sub(sales_price=Decimal(0)))["trial"]
    assert reason.startswith("Nue does not say whether a subscription is a free trial")
    assert reasons(sub(sales_price=Decimal(0)))["renew"] == ""


def test_it_explains_what_a_role_may_not_do():
    assert reasons(sub(), may_cancel=False)["cancel"].startswith("Only an account admin")
    assert all("role" in r for r in reasons(sub(), may_prepare=False).values())
    choices = changes.choices_for(
        sub(),
        others=[],
        relationships=[],
        catalog=[],
        may_prepare=True,
        may_cancel=False,
    )
    assert [c.kind.slug for c in choices if c.forbidden] == ["cancel"]


def test_it_offers_only_renewal_for_an_expired_subscription():
    expired = reasons(sub(status="Expired"))
    assert expired["renew"] == ""
    assert expired["quantity"] == "This subscription has ended; renew it first."


def test_it_turns_a_target_quantity_into_a_delta_from_the_state_it_was_bound_with():
    form = bound(cf.QuantityForm, {"quantity": 8, "when": "today"}, sub=sub())
    assert form.is_valid(), form.errors
    (change,) = asked(form)
    assert change.change_type == "UpdateQuantity"
    assert change.quantity == 3
    assert change.start_date == TODAY
    later = bound(cf.QuantityForm, {"quantity": 8, "when": "today"}, sub=sub(quantity=6))
    assert later.is_valid()
    assert asked(later)[0].quantity == 2


def test_it_turns_a_smaller_total_into_a_negative_delta_at_the_period_end():
    form = bound(cf.QuantityForm, {"quantity": 2, "when": "period_end"}, sub=sub())
    assert form.is_valid(), form.errors
    (change,) = asked(form)
    assert change.quantity == -3
    assert change.start_date == date(2026, 11, 27)


def test_it_turns_a_new_end_date_into_whole_months():
    form = bound(cf.TermForm, {"new_end": "2027-07-26"}, sub=sub())
    assert form.is_valid(), form.errors
    assert asked(form)[0].term == 6
    moved = bound(cf.TermForm, {"new_end": "2027-07-26"}, sub=sub(end_date=date(2027, 2, 10)))
    assert not moved.is_valid()


def test_it_describes_a_new_end_date_in_the_portals_date_format():
    form = bound(cf.TermForm, {"new_end": "2027-07-26"}, sub=sub())
    assert form.is_valid(), form.errors
    assert form.description() == {"asked": "End on 26 Jul 2027"}


def test_it_cancels_no_earlier_than_today():
    form = bound(
        cf.CancelForm, {"reason": "not_using", "when": "date", "on": "2026-11-01"}, sub=sub()
    )
    assert not form.is_valid()
    assert "cannot start in the past" in str(form.errors["on"])


@pytest.mark.parametrize(
    ("change_type", "label"),
    [
        ("UpdateQuantity", "Change quantity"),
        ("CoTerm", "Align end dates"),
        ("NewThing", "New thing"),
    ],
)
def test_a_change_type_reads_as_the_wizard_names_it(change_type, label):
    assert change_type_label(change_type) == label


def test_it_cancels_at_the_end_of_the_billing_period_on_its_last_day():
    # Nue's cancellationDate is the last day of service: the period billed until 27 Nov ends
    # on 26 Nov, so nothing of it is credited.
    form = bound(cf.CancelForm, {"reason": "not_using", "when": "period_end"}, sub=sub())
    assert form.is_valid(), form.errors
    assert asked(form)[0].cancellation_date == date(2026, 11, 26)
    annual = sub(billing_period="Annual", next_billing_date=None)
    form = bound(cf.CancelForm, {"reason": "not_using", "when": "period_end"}, sub=annual)
    assert form.is_valid(), form.errors
    assert asked(form)[0].cancellation_date == date(2027, 1, 26)


def test_it_offers_no_change_to_a_subscription_whose_cancellation_is_scheduled():
    scheduled = sub(cancellation_date=date(2026, 12, 31), end_date=date(2026, 12, 31))
    assert scheduled.cancels_on == date(2026, 12, 31)
    change = scheduled_change(scheduled, [], TODAY)
    assert set(reasons(scheduled, scheduled=change).values()) == {
        "A cancellation is scheduled: it ends on 31 Dec 2026, so it cannot be changed.",
        "A cancellation is scheduled: it ends on 31 Dec 2026 and does not renew.",
        "A cancellation is scheduled already: it is active until 31 Dec 2026.",
    }
    assert sub(status="Canceled", cancellation_date=date(2026, 11, 1)).cancels_on is None


def test_it_knows_an_add_on_by_the_documented_hierarchy():
    assert not sub().is_add_on
    assert sub(root_id="bundle", level=2).is_add_on
    assert sub(root_id="s1").is_add_on is False
    assert "Part of a bundle" in reasons(sub(root_id="bundle", level=3))["quantity"]


def option(option_id: str, kind: str = "optional", children=(), **extra) -> ProductOption:
    fields = {
        "id": option_id,
        "product_id": "p-" + option_id,
        "product_name": option_id.title(),
        "type": kind,
        "price_book_entry_id": None,
        "list_price": None,
        "options": tuple(children),
        **extra,
    }
    return ProductOption(**fields)


PACK = option(
    "pack",
    children=[
        option("runtime", "bundled"),
        option("connector"),
        option("endpoints"),
    ],
)
SUITE_PRODUCT = Product(
    id="p-suite",
    name="Suite",
    sku="SUITE",
    record_type="Bundle",
    description=None,
    configurable=True,
    image_url=None,
    product_category=None,
    price_book_entries=(),
    options=(option("seats", "required"), PACK),
)


def addons_form(data, have=()):
    bundle = sub(product_id="p-suite")
    children = [
        sub(id=f"c-{o}", product_id=f"p-{o}", quantity=Decimal(1), root_id="s1", level=2)
        for o in have
    ]
    return bound(cf.AddonsForm, data, sub=bundle, catalog=[SUITE_PRODUCT], subscriptions=children)


def test_it_offers_options_of_options_but_not_bundled_ones():
    form = addons_form(None)
    assert list(form.fields) == [
        "option_seats",
        "option_pack",
        "option_connector",
        "option_endpoints",
    ]
    assert form.fields["option_connector"].label == "Connector (in Pack)"


def test_it_nests_an_option_under_its_parent_added_with_it():
    form = addons_form({"option_pack": 1, "option_connector": 1})
    assert form.is_valid(), form.errors
    (change,) = asked(form)
    (pack,) = change.add_ons
    assert pack.product_option_id == "pack"
    assert [a.product_option_id for a in pack.add_ons] == ["connector"]
    field_map = form.fields_of([change])
    assert field_map["changes[0].add_ons[0].add_ons[0].quantity"] == "option_connector"


def test_it_sends_an_option_on_its_own_when_the_bundle_has_its_parent():
    form = addons_form({"option_endpoints": 4}, have=["pack"])
    assert form.is_valid(), form.errors
    (change,) = asked(form)
    assert [(a.product_option_id, a.quantity, a.add_ons) for a in change.add_ons] == [
        ("endpoints", Decimal(4), ())
    ]


def test_it_refuses_an_option_without_its_parent():
    form = addons_form({"option_connector": 1})
    assert not form.is_valid()
    assert "comes with Pack" in str(form.errors["option_connector"])


def test_it_removes_an_option_with_its_parent():
    form = addons_form({"option_pack": 0, "option_connector": 0}, have=["pack", "connector"])
    assert form.is_valid(), form.errors
    (change,) = asked(form)
    assert [(a.product_option_id, a.quantity) for a in change.add_ons] == [("pack", Decimal(0))]


def test_an_add_on_not_included_yet_says_how_to_add_it_not_how_to_remove_it():
    from decimal import Decimal

    from orders.forms.changes import _option_help
    from orders.nue import ProductOption

    fields = dict.fromkeys(ProductOption._fields)
    option = ProductOption(**{**fields, "type": "optional"})
    assert _option_help(option, Decimal(0)) == "Not included yet: enter how many to add."
    assert "Enter 0 to remove" in _option_help(option, Decimal(3))


def test_it_sets_no_add_on_limits_nue_does_not_document():
    """How many of an option a bundle allows is no documented field (nue-api.md §4): a required
    option keeps at least one, any other may go to 0, and Nue checks the rest."""
    form = addons_form(None, have=["seats"])
    assert (form.fields["option_seats"].min_value, form.fields["option_pack"].min_value) == (1, 0)
    assert form.fields["option_connector"].max_value == cf.MAX_QUANTITY
    assert "Required: at least 1." in form.fields["option_seats"].help_text


def test_it_tells_each_add_on_what_it_has_now_for_a_tenant_that_reads_changes():
    form = addons_form({"option_connector": 1, "option_endpoints": 4}, have=["pack", "endpoints"])
    assert form.is_valid(), form.errors
    (change,) = asked(form)
    assert [(a.product_option_id, a.quantity, a.current_quantity) for a in change.add_ons] == [
        ("connector", Decimal(1), Decimal(0)),
        ("endpoints", Decimal(4), Decimal(1)),
    ]
    delta = change.to_nue("SUB-00000002", Dialect(reconfigure_delta=True))["addOns"]
    assert [a["productOptionQuantity"] for a in delta] == [Decimal(1), Decimal(3)]
