"""Signed-in answers carry customer data: every page, partial and export says `no-store`, so no
browser cache or proxy keeps a copy for the next person at the machine. Generated from the
inventory."""

from __future__ import annotations

import pytest

from tests.security.inventory import GRACE, ROUTES, route_id

pytestmark = pytest.mark.django_db

SIGNED_IN_GETS = [route for route in ROUTES if route.is_get and route.allowed]


@pytest.mark.parametrize("route", SIGNED_IN_GETS, ids=route_id)
def test_it_forbids_storing_signed_in_answers(route, client_for, acme_ids, globex_ids):
    persona = sorted(route.allowed)[0]
    url = route.url(globex_ids if persona == GRACE else acme_ids)
    client = client_for(persona)
    for headers in ({}, {"HX-Request": "true"}):
        response = client.get(url, headers=headers)
        assert "no-store" in response.get("Cache-Control", ""), (route.name, response.status_code)


def test_it_forbids_storing_the_order_export(client_for):
    response = client_for("ada").get("/orders/export.csv")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
