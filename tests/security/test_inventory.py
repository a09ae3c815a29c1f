"""Every URL pattern has an entry in the inventory, and the entries say the truth about methods."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.security.inventory import BY_NAME, EXCLUDED_PREFIXES, ROUTES, route_id

pytestmark = pytest.mark.django_db

ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry, route, inner)
        elif isinstance(entry, URLPattern):
            yield route, f"{namespace}{entry.name}" if entry.name else None


def patterns() -> list[tuple[str, str | None]]:
    return [(r, n) for r, n in walk(get_resolver()) if not r.startswith(EXCLUDED_PREFIXES)]


def test_it_has_an_entry_for_every_url_pattern():
    unnamed = [route for route, name in patterns() if name is None]
    missing = sorted(name for _, name in patterns() if name and name not in BY_NAME)
    assert not unnamed, f"Name these routes and add them to tests/security/inventory.py: {unnamed}"
    assert not missing, f"Add these routes to tests/security/inventory.py: {missing}"


def test_it_lists_no_route_that_does_not_exist():
    names = {name for _, name in patterns()}
    assert set(BY_NAME) <= names
    assert len(BY_NAME) == len(ROUTES), "two entries for one route"


def test_it_excludes_only_the_admin_and_the_emulator():
    excluded = {route.split("/")[0] for route, _ in walk(get_resolver())} - {
        route.split("/")[0] for route, _ in patterns()
    }
    assert excluded <= {prefix.rstrip("/") for prefix in EXCLUDED_PREFIXES}


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_it_refuses_the_methods_a_route_does_not_list(route, client_for, acme_ids):
    # Public pages are asked anonymously: signed in, the sign-in page redirects whatever the method.
    persona = sorted(route.allowed)[0] if route.allowed else "sam"
    client = Client() if route.public else client_for(persona)
    url = route.url(acme_ids)
    for method in ALL_METHODS:
        if method in route.methods:
            continue
        response = client.generic(method, url)
        assert response.status_code == 405, (route.name, method, response.status_code)
