"""Another customer's ids, wherever they are put (path, query, form body, htmx values): 404, and
nothing is written upstream. Generated from the inventory."""

from __future__ import annotations

import pytest

from nue_emulator import journal
from tests.security.inventory import (
    ACME_MEMBERS,
    CUSTOMER_OWNED,
    MARIA,
    ROUTES,
    Owner,
    route_id,
)

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
OWNED = [route for route in ROUTES if route.owner in CUSTOMER_OWNED]
IN_BOOK = [
    route for route in ROUTES if route.owner in (Owner.APPROVAL, Owner.BOOK_ORDER, Owner.BOOK_QUOTE)
]


def _send(client, method: str, url: str, body: dict, headers: dict):
    if method == "GET":
        return client.get(url, headers=headers)
    return client.generic(method, url, data=_encoded(body), content_type=FORM, headers=headers)


def _assert_missing(response, route, persona: str, method: str) -> None:
    expected = {404} if persona in route.allowed else {403, 404}
    assert response.status_code in expected, (route.name, persona, method, response.status_code)


@pytest.mark.parametrize("route", OWNED, ids=route_id)
def test_it_hides_globex_objects_from_acme_members(route, client_for, globex_ids):
    url = route.url(globex_ids)
    body = route.body(globex_ids)
    with journal.capture() as calls:
        for persona in sorted(ACME_MEMBERS):
            client = client_for(persona)
            for method in route.methods:
                for headers in ({}, HTMX):
                    response = _send(client, method, url, body, headers)
                    _assert_missing(response, route, persona, method)
    assert not [call for call in calls if call.wrote], "a foreign id caused an upstream write"


@pytest.mark.parametrize("route", OWNED, ids=route_id)
def test_it_hides_acme_objects_from_globex(route, client_for, acme_ids):
    url = route.url(acme_ids)
    with journal.capture() as calls:
        for method in route.methods:
            response = _send(client_for("grace"), method, url, route.body(acme_ids), {})
            _assert_missing(response, route, "grace", method)
    assert not [call for call in calls if call.wrote]


@pytest.mark.parametrize("route", IN_BOOK, ids=route_id)
def test_it_hides_customers_outside_the_managers_book(route, client_for, initech_ids):
    url = route.url(initech_ids)
    body = route.body(initech_ids)
    with journal.capture() as calls:
        for method in route.methods:
            for headers in ({}, HTMX):
                response = _send(client_for(MARIA), method, url, body, headers)
                assert response.status_code == 404, (route.name, method, response.status_code)
    assert not [call for call in calls if call.wrote]


@pytest.mark.parametrize("route", OWNED, ids=route_id)
def test_it_gives_the_manager_no_customer_pages(route, client_for, acme_ids):
    """Maria manages Acme's account but is not its member: customer pages do not exist for her."""
    url = route.url(acme_ids)
    with journal.capture() as calls:
        for method in route.methods:
            response = _send(client_for(MARIA), method, url, route.body(acme_ids), {})
            assert response.status_code == 404, (route.name, method, response.status_code)
    assert not [call for call in calls if call.wrote]


def test_it_refuses_to_act_as_another_customers_membership(client_for, globex_ids):
    url = "/accounts/customer/"
    for headers in ({}, HTMX):
        response = client_for("ada").post(
            url, {"membership": globex_ids.membership}, headers=headers
        )
        assert response.status_code == 404
    page = client_for("ada").get("/orders/").content.decode()
    assert "Globex" not in page


def test_it_refuses_another_customers_subscription_as_a_coterm_target(
    client_for, acme_ids, globex_ids
):
    from django.urls import reverse

    url = reverse("orders:change_details", args=[acme_ids.subscription, "coterm"])
    target = globex_ids.subscription
    with journal.capture() as calls:
        for headers in ({}, HTMX):
            response = client_for("ada").post(url, {"target": target}, headers=headers)
            assert response.status_code in (404, 409), response.status_code
    assert not [call for call in calls if call.wrote]


def test_it_refuses_another_customers_subscription_to_coterm_a_new_order_with(
    client_for, globex_ids
):
    from tests.orders.purchase_helpers import line

    body = {**line("la", "PLAN-PRO-US", term_mode="coterm", coterm=globex_ids.subscription)}
    with journal.capture() as calls:
        for headers in ({}, HTMX):
            response = client_for("ada").post(
                "/orders/new/", {**body, "action": "draft"}, headers=headers
            )
            assert response.status_code == 422, response.status_code
            assert globex_ids.subscription not in _options(response.content.decode())
    assert not [call for call in calls if call.wrote]


def _options(page: str) -> str:
    import re

    return " ".join(re.findall(r'<option value="([^"]*)"', page))


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.is_get and "ada" in r.allowed], ids=route_id
)
def test_it_ignores_globex_ids_in_the_query(route, client_for, acme_ids, globex_ids):
    query = {
        "customer": globex_ids.account.nue_customer_id,
        "customer_id": globex_ids.account.nue_customer_id,
        "account": globex_ids.account_id,
        "membership": globex_ids.membership,
        "order_id": globex_ids.order,
        "name": globex_ids.subscription,
        "invoice_id": globex_ids.invoice,
    }
    url = route.url(acme_ids)
    with journal.capture() as calls:
        response = client_for("ada").get(url, query, headers=_htmx_if(route))
    assert response.status_code < 500
    assert b"Globex" not in _content(response), route.name
    assert not [call for call in calls if call.wrote]


def _content(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def _htmx_if(route) -> dict[str, str]:
    return HTMX if route.htmx_only else {}


FORM = "application/x-www-form-urlencoded"


def _encoded(body: dict[str, object]) -> str:
    from urllib.parse import urlencode

    return urlencode(body)
