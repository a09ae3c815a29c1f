"""Who may use what: a viewer writes nothing, and a route is 403/404 for every persona it does not
list. Generated from the inventory, with each persona's own ids (Grace's are Globex's)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from nue_emulator import journal
from portal.models import Membership, Role
from tests.security.inventory import BEN, EVERYONE, GRACE, ROUTES, route_id

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
FORM = "application/x-www-form-urlencoded"
WRITES = [route for route in ROUTES if route.writes]
GETS = [route for route in ROUTES if route.is_get and not route.public]


def _encoded(body: dict[str, object]) -> str:
    from urllib.parse import urlencode

    return urlencode(body)


def test_it_lets_a_viewer_preview_no_basket_left_from_a_buyer_role(client_for, acme_ids):
    """A basket filled while Ben was a buyer creates no drafts once he is a viewer again."""
    membership = Membership.objects.get(user__email="ben@acme.example")
    membership.role = Role.BUYER
    membership.save(update_fields=["role"])
    ben = client_for(BEN)
    url = reverse("orders:change_details", args=[acme_ids.subscription, "quantity"])
    added = ben.post(url, {"quantity": "11", "when": "today", "action": "basket"})
    assert added.status_code == 302
    membership.role = Role.VIEWER
    membership.save(update_fields=["role"])
    with journal.capture() as calls:
        response = ben.post(reverse("orders:change_basket"), {"action": "preview"})
    assert response.status_code == 403
    assert not [call for call in calls if call.wrote]


@pytest.mark.parametrize("route", GETS, ids=route_id)
def test_it_hides_pages_from_personas_it_does_not_list(route, client_for, acme_ids, globex_ids):
    headers = HTMX if route.htmx_only else {}
    urls = {"acme": route.url(acme_ids), "globex": route.url(globex_ids)}
    with journal.capture() as calls:
        for persona in sorted(EVERYONE - route.allowed):
            url = urls["globex" if persona == GRACE else "acme"]
            response = client_for(persona).get(url, headers=headers)
            assert response.status_code in (403, 404), (route.name, persona, response.status_code)
    assert not [call for call in calls if call.wrote]
