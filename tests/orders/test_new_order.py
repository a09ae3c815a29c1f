"""The new-order page: catalog, configuration, validation, live preview and creating the draft."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from nue_emulator import faults, journal
from nue_emulator.models import Product
from orders.scope import for_customer
from orders.templatetags.dates import day_text
from orders.templatetags.money import money
from orders.views.purchase import CONFIG_KEY
from tests.conftest import signed_in

from .purchase_helpers import (
    ONBOARDING,
    PRO,
    SUITE,
    account,
    create_draft,
    entry_id,
    line,
    member,
    suite_line,
    today,
)

URL = "/orders/new/"
PREVIEW_URL = "/orders/new/preview/"
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "preview"}


def upstream_writes(calls: list[journal.Entry]) -> list[str]:
    return [f"{c.method} {c.route}" for c in calls if c.method == "POST"]


def test_it_requires_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_it_has_stable_routes():
    assert reverse("orders:new_order") == URL
    assert reverse("orders:new_order_preview") == PREVIEW_URL


def test_it_refuses_viewers(ben_client):
    assert ben_client.get(URL).status_code == 403
    assert ben_client.post(URL, {"action": "preview"}).status_code == 403
    assert ben_client.post(PREVIEW_URL, {}, **HTMX).status_code == 403


def test_it_rejects_other_methods(ada_client):
    assert ada_client.put(URL).status_code == 405
    assert ada_client.get(PREVIEW_URL).status_code == 405


def test_it_lists_the_catalog_without_add_on_only_products(ada_client):
    page = ada_client.get(URL).content.decode()
    assert "Platform Suite" in page
    assert "Pro Plan (US)" in page
    assert "Onboarding Package" in page
    assert 'Add<span class="visually-hidden"> Admin Seats' not in page
    assert "Bundle contents" in page
    assert "$25.00</span> per User/Month" in page


def test_it_sends_one_time_products_to_the_account_manager(ada_client):
    # Nue's new orders take subscriptions only (new-orders.txt, Current Limitations).
    page = ada_client.get(URL).content.decode()
    onboarding = page.split("<h3>Onboarding Package</h3>")[1].split("</li>")[0]
    assert "Contact your account manager to order this" in onboarding
    assert 'name="add"' not in onboarding
    assert 'Add<span class="visually-hidden"> Pro Plan (US)</span> to order' in page
    assert 'Add<span class="visually-hidden"> Hardware Security Key' not in page


def test_it_adds_no_one_time_product_to_an_order(ada_client):
    with journal.capture() as calls:
        response = ada_client.post(URL, {"add": entry_id(ONBOARDING)})
        assert response.status_code == 302
        page = ada_client.get(URL).content.decode()
        assert "Nothing yet: add a product from the catalog." in page
        # A configuration kept from before (or posted by hand) holding one is not priced.
        ada_client.post(URL, {**line("la", ONBOARDING), **line("lb", PRO)})
        page = ada_client.get(URL).content.decode()
    config = page.split("2. Configure")[1].split("3. Invoice")[0]
    assert "Line 1: Pro Plan (US)" in page
    assert "Onboarding Package" not in config
    assert upstream_writes(calls) == ["POST invoice-preview"]


def test_it_searches_and_filters_the_catalog(ada_client):
    page = ada_client.get(URL, {"q": "pro"}).content.decode()
    assert "Pro Plan (US)" in page
    assert "Starter Plan (US)" not in page
    page = ada_client.get(URL, {"category": "ProfessionalServices"}).content.decode()
    assert "Onboarding Package" in page
    assert "Pro Plan (US)" not in page


def test_it_names_the_catalog_categories_in_words(ada_client):
    page = ada_client.get(URL).content.decode()
    assert '<option value="ProfessionalServices">Professional services</option>' in page
    assert '<option value="RecurringServices">Subscriptions</option>' in page
    assert ">ProfessionalServices<" not in page
    assert ">RecurringServices<" not in page


def test_it_answers_a_catalog_search_with_the_partial(ada_client):
    response = ada_client.get(URL, {"q": "suite"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="catalog")
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="catalog"')
    assert "Platform Suite" in page
    assert "<html" not in page


def test_it_adds_a_bundle_with_its_add_on_tree(ada_client):
    response = ada_client.post(URL, {"add": entry_id(SUITE)})
    assert response.status_code == 302
    assert response["Location"].startswith(URL + "#l")
    page = ada_client.get(URL).content.decode()
    # bundled: included at $0; required: a quantity left empty for Nue's default (no default
    # or limit of an option is documented, nue-api.md §4); optional: a box
    assert "Core Analytics" in page
    assert "Included · $0.00" in page
    key = page.split('name="line" value="')[1].split('"')[0]
    seats = page.split(f'name="{key}-qty_opt-admin-seats"')[1].split(">")[0]
    assert "value=" not in seats
    assert 'min="1"' in seats
    assert 'type="checkbox" name="' in page
    assert "addon_opt-premium-support" in page
    # nested options sit in their own fieldset under the Integration Pack
    assert "<legend>Options of Integration Pack</legend>" in page
    assert "addon_opt-sfdc-connector" in page
    # a fresh line is valid, so the preview shows invoices straight away
    assert "Due today" in page


def test_it_removes_a_line(ada_client):
    ada_client.post(URL, {**line("la", PRO), **line("lb", SUITE), "remove": "la"})
    page = ada_client.get(URL).content.decode()
    assert "Line 1: Platform Suite" in page
    assert "Pro Plan (US)</" not in page.split("2. Configure")[1].split("3. Invoice")[0]


def test_it_previews_live_through_htmx(ada_client):
    response = ada_client.post(PREVIEW_URL, line("la", PRO, quantity="4"), **HTMX)
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="preview"')
    # Pro Plan: 4 x $25 a month, billed monthly from today
    assert "$100.00" in page
    assert "Due today" in page
    assert "Next invoice" in page
    assert "Recurring after that" in page


def test_it_keeps_the_configuration_for_a_reload(ada_client):
    ada_client.post(PREVIEW_URL, line("la", PRO, quantity="7"), **HTMX)
    page = ada_client.get(URL).content.decode()
    assert 'name="la-quantity" value="7"' in page


def test_it_falls_back_to_a_full_post_without_javascript(ada_client):
    response = ada_client.post(URL, {**line("la", PRO, quantity="3"), "action": "preview"})
    assert response.status_code == 302
    page = ada_client.get(URL).content.decode()
    assert 'name="la-quantity" value="3"' in page
    assert "$75.00" in page


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"quantity": "0"}, "la-quantity", "greater than or equal to 1"),
        ({"quantity": ""}, "la-quantity", "This field is required"),
        ({"start_date": (today() - timedelta(days=1)).isoformat()}, "la-start_date", "past"),
        ({"term_months": ""}, "la-term_months", "Enter a term in months"),
        ({"term_months": "121"}, "la-term_months", "less than or equal to 120"),
        ({"term_mode": "coterm"}, "la-coterm", "Choose the subscription"),
        ({"price_tag": "NOPE"}, "la-price_tag", "not a valid price tag"),
        ({"qty_opt-admin-seats": "0"}, "la-qty_opt-admin-seats", "greater than or equal to 1"),
    ],
)
def test_it_validates_like_nue_before_any_call(ada_client, fields, field, message):
    data = {**suite_line(**fields), "action": "draft"}
    with journal.capture() as calls:
        response = ada_client.post(URL, data)
    page = response.content.decode()
    assert response.status_code == 422
    assert f'id="id_{field}_error"' in page
    assert message in page
    assert upstream_writes(calls) == []


def test_it_asks_for_a_product_first(ada_client):
    response = ada_client.post(URL, {"action": "draft"})
    assert response.status_code == 422
    assert "Add at least one product" in response.content.decode()


def test_it_lists_problems_in_the_live_preview(ada_client):
    response = ada_client.post(PREVIEW_URL, line("la", PRO, quantity="0"), **HTMX)
    page = response.content.decode()
    assert 'role="alert"' in page
    assert 'href="#id_la-quantity"' in page


def test_it_shows_the_end_date_of_a_coterm(ada_client):
    scope = for_customer(account())
    assert scope is not None
    subscription = scope.subscription("SUB-00000001")
    assert subscription.end_date is not None
    data = line("la", PRO, term_mode="coterm", coterm="SUB-00000001", term_months="")
    ada_client.post(URL, {**data, "action": "preview"})
    page = ada_client.get(URL).content.decode()
    assert (
        "Ends with that subscription on "
        f'<time datetime="{subscription.end_date.isoformat()}">{day_text(subscription.end_date)}'
    ) in page
    order_id = create_draft(ada_client, data)
    draft = scope.order(order_id)
    assert draft.lines[0].end_date == subscription.end_date


def test_a_line_with_its_own_term_does_not_say_when_it_ends(ada_client):
    ada_client.post(URL, {**line("la", PRO, term_months="12"), "action": "preview"})
    assert "Ends with that subscription" not in ada_client.get(URL).content.decode()


def test_it_applies_a_price_tag(ada_client):
    plain = ada_client.post(PREVIEW_URL, line("la", PRO, quantity="10"), **HTMX)
    tagged = ada_client.post(
        PREVIEW_URL, line("la", PRO, quantity="10", price_tag="welcome10"), **HTMX
    )
    assert "$250.00" in plain.content.decode()
    page = tagged.content.decode()
    assert "$225.00" in page
    assert "Welcome 10%" in page


def test_it_marks_proration_in_words(ada_client):
    subscription_end = "SUB-00000001"
    data = line("la", PRO, term_mode="coterm", coterm=subscription_end, term_months="")
    page = ada_client.post(PREVIEW_URL, data, **HTMX).content.decode()
    assert re.search(r"prorated \d+ of (28|29|30|31) days", page)


def test_it_holds_up_with_fifty_lines(ada_client):
    data: dict[str, object] = {"line": []}
    for n in range(50):
        key = f"l{n:02d}"
        one = line(key, PRO, quantity=str(n + 1))
        one.pop("line")
        data.update(one)
        data["line"].append(key)  # type: ignore[union-attr]
    response = ada_client.post(PREVIEW_URL, data, **HTMX)
    assert response.status_code == 200
    assert "Due today" in response.content.decode()


def test_it_creates_the_draft_and_shows_its_breakdown(ada_client):
    with journal.capture() as calls:
        order_id = create_draft(ada_client, suite_line())
    assert upstream_writes(calls) == ["POST orders"]
    page = ada_client.get(reverse("orders:order_detail", args=[order_id])).content.decode()
    assert 'id="draft-actions"' in page
    assert "Invoices this order will create" in page
    assert "calculated from your shipping address" in page
    assert "Priced for a start on" in page
    # the configuration is done with: a new order starts empty
    assert "Nothing yet: add a product" in ada_client.get(URL).content.decode()


def test_it_says_why_tax_was_not_calculated(db):
    peter = member("peter@initech.example", "admin", name="Initech LLC")
    client = signed_in(peter)
    data = {
        "line": "la",
        "la-entry": entry_id(PRO, name="Initech LLC"),
        "la-quantity": "2",
        "la-start_date": today().isoformat(),
        "la-term_mode": "term",
        "la-term_months": "12",
    }
    order_id = create_draft(client, data)
    page = client.get(reverse("orders:order_detail", args=[order_id])).content.decode()
    assert "No shipping address" in page


def test_it_previews_the_same_figures_as_the_draft(ada_client):
    data = suite_line(**{"addon_opt-premium-support": "on", "quantity": "3"})
    preview = ada_client.post(PREVIEW_URL, data, **HTMX)
    order_id = create_draft(ada_client, data)
    scope = for_customer(account())
    assert scope is not None
    stored = cache.get(f"purchase:draft:{account().pk}:{order_id}")
    draft = scope.order(order_id)
    preview_total = sum(Decimal(i["amount_without_tax"]) for i in stored["invoices"])
    assert preview_total == draft.net_total
    page = preview.content.decode()
    assert f"{money(draft.net_total, draft.currency)} in total" in page


def test_it_keeps_the_input_when_nue_fails_to_create_the_draft(ada_client):
    data = line("la", PRO, quantity="9")
    with faults.inject("orders", "POST", status=503, times=1):
        response = ada_client.post(URL, {**data, "action": "draft"})
    page = response.content.decode()
    assert response.status_code in (502, 503)
    assert 'name="la-quantity" value="9"' in page
    assert "Reference" in page
    assert 'name="la-quantity" value="9"' in ada_client.get(URL).content.decode()


def test_it_keeps_the_input_when_the_preview_fails(ada_client):
    with faults.inject("invoice-preview", "POST", status=503, times=1):
        response = ada_client.post(PREVIEW_URL, line("la", PRO, quantity="5"), **HTMX)
    assert response.status_code in (502, 503)
    assert 'name="la-quantity" value="5"' in ada_client.get(URL).content.decode()


def test_it_puts_nue_validation_errors_on_the_right_field(ada_client):
    """The portal's cached catalog allows 100 admin seats; Nue now allows 3 and says so."""
    ada_client.get(URL)  # the portal caches the catalog
    suite = Product.objects.get(sku=SUITE)
    doc = suite.doc
    for option in doc["productOptions"]:
        if option["productOptionId"] == "opt-admin-seats":
            option["maxQuantity"] = 3
    suite.doc = doc
    suite.save()
    response = ada_client.post(
        URL, {**suite_line(**{"qty_opt-admin-seats": "5"}), "action": "draft"}
    )
    page = response.content.decode()
    assert response.status_code == 422
    assert 'id="id_la-qty_opt-admin-seats_error"' in page
    assert "between 1 and 3" in page


def test_it_leaves_add_on_quantities_to_nue(ada_client):
    """Which add-on needs a quantity, and how many it allows, Nue does not document (nue-api.md
    §4): nothing is refused before Nue says so, and what Nue says is on the add-on's field."""
    data = {
        **suite_line(**{"addon_opt-integration-pack": "on", "addon_opt-api-endpoints": "on"}),
        "action": "draft",
    }
    with journal.capture() as calls:
        response = ada_client.post(URL, data)
    page = response.content.decode()
    assert response.status_code == 422
    assert 'id="id_la-qty_opt-api-endpoints_error"' in page
    assert "missing addon quantity" in page
    assert upstream_writes(calls) == ["POST orders"]


def main_nav(client) -> str:
    return client.get("/orders/").content.decode().split('class="main-nav"')[1].split("</nav>")[0]


def test_it_offers_new_order_in_the_navigation_to_buyers_only(ada_client, ben_client):
    assert 'href="/orders/new/"' in main_nav(ada_client)
    assert 'href="/orders/new/"' not in main_nav(ben_client)


def test_it_gives_an_add_on_its_own_start_and_term(ada_client):
    start = today() + timedelta(days=31)
    data = suite_line(
        **{
            "addon_opt-premium-support": "on",
            "start_opt-premium-support": start.isoformat(),
            "term_opt-premium-support": "6",
        }
    )
    order_id = create_draft(ada_client, data)
    scope = for_customer(account())
    assert scope is not None
    support = next(
        line for line in scope.order(order_id).all_lines() if line.product_name == "Premium Support"
    )
    assert support.start_date == start
    assert support.term == 6


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"start_opt-premium-support": "2099-01-01"}, "la-start_opt-premium-support", "must start"),
        ({"term_opt-premium-support": "13"}, "la-term_opt-premium-support", "would end"),
    ],
)
def test_it_keeps_an_add_on_within_its_parent(ada_client, fields, field, message):
    data = {**suite_line(**{"addon_opt-premium-support": "on", **fields}), "action": "draft"}
    with journal.capture() as calls:
        response = ada_client.post(URL, data)
    assert response.status_code == 422
    assert f'id="id_{field}_error"' in response.content.decode()
    assert message in response.content.decode()
    assert upstream_writes(calls) == []


def test_it_limits_live_previews_per_person_without_asking_nue(
    ada_client, bob_client, monkeypatch, settings
):
    from orders import throttle

    settings.LIVE_PREVIEWS_PER_WINDOW = 5
    monkeypatch.setattr(throttle.time, "time", lambda: 1_900_000_000.0)  # one window throughout
    cache.clear()
    data = line("la", PRO)
    url = reverse("orders:new_order_preview")
    with journal.capture() as calls:
        statuses = [
            ada_client.post(url, data, HTTP_HX_REQUEST="true").status_code for _ in range(5 + 2)
        ]
    assert statuses == [200] * 5 + [429] * 2
    previews = [c for c in calls if c.route == "invoice-preview"]
    assert len(previews) == 5
    paused = ada_client.post(url, data, HTTP_HX_REQUEST="true")
    assert paused["Retry-After"] == str(throttle.LIVE_PREVIEW_WINDOW)
    assert 'id="preview"' in paused.content.decode()
    assert "catching up" in paused.content.decode()
    assert bob_client.post(url, data, HTTP_HX_REQUEST="true").status_code == 200


def test_it_keeps_only_known_line_fields_of_bounded_size_in_the_session(ada_client):
    known = line("la", PRO)
    data = {**known, "la-price_tag": "WELCOME10"}
    data.update({f"junk{i}": "x" * 2000 for i in range(900)})  # 1.8 MB the session must not get
    data.update({"lb-quantity": "3", "la-notes": "y" * 2000, "la-qty_opt-seats": "9" * 5000})
    response = ada_client.post(PREVIEW_URL, data, **HTMX)
    assert response.status_code == 200
    stored = ada_client.session[CONFIG_KEY.format(customer=account().pk)]
    expected = {name: [value] for name, value in known.items() if name != "line"}
    assert stored == {"line": ["la"], **expected, "la-price_tag": ["WELCOME10"]}


def test_it_never_lists_price_tag_codes_to_the_buyer(ada_client):
    from orders.scope import for_customer
    from tests.orders.purchase_helpers import account

    codes = [tag.code for tag in for_customer(account()).price_tags() if tag.code]
    assert codes
    page = ada_client.post(reverse("orders:new_order"), line("la", PRO)).content.decode()
    assert "<datalist" not in page
    for code in codes:
        assert code not in page


def test_it_says_how_often_a_product_is_billed_in_words(ada_client):
    from orders.templatetags.dates import billing

    assert billing("Annual") == "annually"
    assert billing("Semi-Annual") == "every six months"
    page = ada_client.get(reverse("orders:new_order")).content.decode()
    assert "billed annually" in page
    assert "billed annual<" not in page
