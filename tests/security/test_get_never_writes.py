"""A GET never writes upstream: every page and partial, for every persona allowed to see it, with
its own ids (the emulator's journal is the proof), and those personas are served (not 403/404).
Generated from the inventory."""

from __future__ import annotations

import pytest

from nue_emulator import journal
from tests.security.inventory import GRACE, ROUTES, route_id

pytestmark = pytest.mark.django_db

GETS = [route for route in ROUTES if route.is_get]
# Results of a confirmation: for a preview not yet confirmed they do not exist yet.
UNTIL_CONFIRMED = {"orders:change_result", "orders:change_basket_result"}


@pytest.mark.parametrize("route", GETS, ids=route_id)
def test_it_writes_nothing_upstream_on_a_get(route, client_for, acme_ids, globex_ids):
    from django.test import Client

    urls = {"acme": route.url(acme_ids), "globex": route.url(globex_ids)}
    personas = sorted(route.allowed) or ["sam"]
    with journal.capture() as calls:
        for persona in personas:
            client = Client() if route.public else client_for(persona)
            url = urls["globex" if persona == GRACE else "acme"]
            for headers in ({}, {"HX-Request": "true"}):
                response = client.get(url, headers=headers)
                where = (route.name, persona, response.status_code)
                assert response.status_code < 500, where
                # The inventory's "allowed" is the truth: these personas are served.
                if route.allowed and route.name not in UNTIL_CONFIRMED:
                    assert response.status_code not in (403, 404), where
    assert not [call for call in calls if call.wrote], [c for c in calls if c.wrote]
