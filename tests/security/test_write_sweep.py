"""Every write route, generated from the inventory: refused to every persona it does not list,
refused under read-only impersonation unless allow-listed, and guarded as moving money exactly
when the inventory says so (issue 20, items 7, 8 and 14). A view missing its guard fails here."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import get_resolver, reverse

from nue_emulator import journal
from orders.models import ApprovalRequest, QuoteLink
from portal.impersonation import READ_ONLY_ALLOWED
from portal.models import User
from tests.conftest import signed_in
from tests.security.inventory import (
    BY_NAME,
    EMAILS,
    EVERYONE,
    GRACE,
    ROUTES,
    Ids,
    route_id,
)
from tests.security.test_inventory import patterns, walk

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/"}
FORM = "application/x-www-form-urlencoded"
WRITES = [route for route in ROUTES if route.writes]
POSTS = [route for route in ROUTES if route.is_post]
REFUSED_WHILE_READ_ONLY = [route for route in POSTS if route.name not in READ_ONLY_ALLOWED]


def portal_records() -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """What the portal keeps of approvals and quote links (a write need not reach Nue)."""
    requests = list(ApprovalRequest.objects.order_by("pk").values_list("pk", "state"))
    links = list(QuoteLink.objects.order_by("pk").values_list("pk", "url"))
    return requests, links


def callbacks() -> dict[str, object]:
    names = {name for _, name in patterns() if name}
    found: dict[str, object] = {}

    def visit(resolver, namespace: str = "") -> None:
        for entry in resolver.url_patterns:
            if hasattr(entry, "url_patterns"):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                visit(entry, inner)
            elif entry.name and f"{namespace}{entry.name}" in names:
                found[f"{namespace}{entry.name}"] = entry.callback

    visit(get_resolver())
    return found


def test_it_guards_every_money_moving_route_and_lists_every_guarded_view():
    assert list(walk(get_resolver()))  # the resolver walk finds routes at all
    guarded = {name for name, view in callbacks().items() if getattr(view, "moves_money", False)}
    listed = {route.name for route in ROUTES if route.moves_money}
    assert listed - guarded == set(), "inventory says moves money, view lacks @money_moving"
    assert guarded - listed == set(), "view wears @money_moving, inventory does not say so"
    assert all(BY_NAME[name].writes for name in listed)


def test_it_allow_lists_only_routes_of_the_inventory():
    assert set(BY_NAME) >= READ_ONLY_ALLOWED


@pytest.mark.parametrize("route", WRITES, ids=route_id)
def test_it_lets_no_persona_write_what_it_does_not_allow(route, client_for, acme_ids, request):
    outsiders = sorted(EVERYONE - route.allowed)
    # Each persona asks with its own customer's ids (Grace's are Globex's), built before anything
    # is captured: making a preview is a write of its own.
    globex_ids: Ids | None = request.getfixturevalue("globex_ids") if GRACE in outsiders else None
    asks = {
        persona: (
            route.url(ids := (globex_ids if persona == GRACE and globex_ids else acme_ids)),
            urlencode(route.body(ids)),
        )
        for persona in outsiders
    }
    before = portal_records()
    with journal.capture() as calls:
        for persona, (url, body) in asks.items():
            for headers in ({}, HTMX):
                response = client_for(persona).post(url, body, content_type=FORM, headers=headers)
                assert response.status_code in (403, 404), (persona, response.status_code)
    assert not [call for call in calls if call.wrote], f"{route.name}: an outsider wrote upstream"
    assert portal_records() == before, f"{route.name}: an outsider changed the portal's records"


@pytest.fixture
def agent_as_ada(db) -> Client:
    """Sam impersonating Ada (an admin of Acme, who may do the most), read-only."""
    agent = signed_in(User.objects.get(email=EMAILS["sam"]))
    ada = User.objects.get(email=EMAILS["ada"])
    url = reverse("support_impersonate", args=[ada.memberships.get().pk])
    assert agent.post(url, {"reason": "Ticket SUP-1"}).status_code == 302
    return agent


@pytest.mark.parametrize("route", REFUSED_WHILE_READ_ONLY, ids=route_id)
def test_it_refuses_every_write_under_read_only_impersonation(route, agent_as_ada, acme_ids):
    url, body = route.url(acme_ids), urlencode(route.body(acme_ids))
    before = portal_records()
    with journal.capture() as calls:
        page = agent_as_ada.post(url, body, content_type=FORM)
        partial = agent_as_ada.post(url, body, content_type=FORM, headers=HTMX)
    for response in (page, partial):
        assert response.status_code == 403, (route.name, response.status_code)
        assert "Refused: you are impersonating read-only" in response.content.decode()
    assert "<html" not in partial.content.decode()  # the refusal partial, not a whole page
    assert not [call for call in calls if call.wrote], f"{route.name}: wrote upstream read-only"
    assert portal_records() == before


def test_it_refuses_other_unsafe_methods_under_read_only_impersonation(agent_as_ada, acme_ids):
    url = BY_NAME["orders:draft_activate"].url(acme_ids)
    for method in ("PUT", "PATCH", "DELETE"):
        response = agent_as_ada.generic(method, url)
        assert response.status_code == 403, method


def test_it_lets_the_allow_list_through_under_read_only_impersonation(agent_as_ada):
    elevate = agent_as_ada.post(reverse("support_elevate"), {"reason": "SUP-1", "next": "/"})
    assert elevate.status_code == 302
    assert agent_as_ada.post(reverse("support_stop")).status_code == 302
    assert agent_as_ada.post(reverse("logout")).status_code == 302
