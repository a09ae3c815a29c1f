"""Anonymous visitors: every route that is not public sends them to sign in, whatever the method.

Generated from the inventory (this replaces the earlier generic sweep of tests/portal): the URLs
carry real ids of Acme, so a route that looked an object up before checking the sign-in would show.
"""

from __future__ import annotations

import pytest
from django.test import Client

from nue_emulator import journal
from tests.security.inventory import ROUTES, route_id

pytestmark = pytest.mark.django_db

PRIVATE = [route for route in ROUTES if not route.public]
PUBLIC = [route for route in ROUTES if route.public and not route.webhook and route.is_get]
# Public forms without a page of their own (a quote's acceptance, opened by its link's token).
PUBLIC_POSTS = [
    route for route in ROUTES if route.public and not route.webhook and not route.is_get
]
WEBHOOKS = [route for route in ROUTES if route.webhook]


@pytest.mark.parametrize("route", PRIVATE, ids=route_id)
def test_it_sends_anonymous_visitors_to_sign_in(route, acme_ids):
    url = route.url(acme_ids)
    body = route.body(acme_ids)
    with journal.capture() as calls:
        for method in route.methods:
            response = Client().generic(method, url, data=_encoded(body), content_type=FORM)
            assert response.status_code == 302, (route.name, method)
            assert response["Location"].startswith("/accounts/login/?next="), (route.name, method)
    assert calls == [], "an anonymous request reached Nue"


@pytest.mark.parametrize("route", PUBLIC, ids=route_id)
def test_it_serves_public_routes_without_sign_in(route, acme_ids):
    response = Client().get(route.url(acme_ids))
    assert response.status_code in (200, 301), route.name
    assert not response.get("Location", "").startswith("/accounts/login/")


@pytest.mark.parametrize("route", PUBLIC_POSTS, ids=route_id)
def test_it_answers_public_forms_without_sign_in(route, acme_ids):
    response = Client().post(route.url(acme_ids), {})
    assert response.status_code < 500, route.name
    assert not response.get("Location", "").startswith("/accounts/login/"), route.name


@pytest.mark.parametrize("route", WEBHOOKS, ids=route_id)
def test_a_webhook_needs_no_sign_in_and_refuses_what_is_unsigned(route, acme_ids):
    response = Client().post(route.url(acme_ids), "{}", content_type="application/json")
    assert response.status_code == 400, route.name
    assert "sessionid" not in response.cookies
    assert Client().get(route.url(acme_ids)).status_code == 405


def test_it_guards_the_admin_with_its_own_sign_in(ada_client):
    response = Client().get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    # A customer's portal session is not a staff session.
    assert ada_client.get("/admin/")["Location"].startswith("/admin/login/")


def test_it_guards_the_embedded_emulator_with_its_api_key():
    response = Client().get("/nue-emulator/orders")
    assert response.status_code == 401
    wrong = Client().get("/nue-emulator/orders", headers={"nue-api-key": "not-the-key"})
    assert wrong.status_code == 401
    control = Client().get("/nue-emulator/_emulator/journal")
    assert control.status_code == 401


FORM = "application/x-www-form-urlencoded"


def _encoded(body: dict[str, object]) -> str:
    from urllib.parse import urlencode

    return urlencode(body)
