"""Property tests of every form and POST view: whatever is typed or forged, never a 500, and input
that is refused (any 4xx) writes nothing upstream. Query strings of every page likewise.

Examples are few (the suite stays fast) but each route gets its own run, with its fields' names
plus stray ones, and values from a mix of junk: NULs, huge and negative numbers, bad dates, markup.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nue_emulator import journal
from tests.security.inventory import ADA, BOB, GRACE, MARIA, ROUTES, SAM, SUPERUSER, route_id

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FORM = "application/x-www-form-urlencoded"

NASTY = st.sampled_from(
    [
        "",
        " ",
        "0",
        "-1",
        "1e309",
        "NaN",
        "9" * 40,
        "2026-02-30",
        "0001-01-01",
        "9999-12-31",
        "\x00",
        "a\x00b",
        "../../etc/passwd",
        "//evil.example/",
        "https://evil.example/",
        "<script>alert(1)</script>",
        "{{ 7*7 }}",
        "' OR 1=1 --",
        "today",
        "period_end",
        "date",
        "draft",
        "preview",
        "basket",
        "remove",
        "on",
        "la",
    ]
)
VALUES = st.one_of(
    NASTY,
    st.text(max_size=40),
    st.integers(min_value=-(10**15), max_value=10**15).map(str),
    st.dates().map(lambda d: d.isoformat()),
)
# Field names each POST view reads, from its forms and the request itself.
FIELDS: dict[str, tuple[str, ...]] = {
    "login": ("username", "password", "next"),
    "password_reset": ("email",),
    "password_reset_confirm": ("new_password1", "new_password2"),
    "choose_customer": ("membership", "next"),
    "support_impersonate": ("reason",),
    "support_elevate": ("reason", "next"),
    "orders:new_order": (
        "line",
        "la-entry",
        "la-quantity",
        "la-start_date",
        "la-term_mode",
        "la-term_months",
        "la-coterm",
        "la-price_tag",
        "add",
        "remove",
        "action",
    ),
    "orders:draft_activate": ("po_number", "po_date", "consent"),
    "orders:approval_request": ("comment",),
    "orders:quote_link": ("template",),
    "orders:review_approve": ("figures",),
    "orders:review_decline": ("comment",),
    "orders:review_quote_link": ("template",),
    "orders:review_quote_send": ("email", "note"),
    "orders:quote_accept": (
        "name",
        "title",
        "email",
        "po_number",
        "agree",
        "pay",
        "setup_intent",
        "card_consent",
    ),
    "orders:change_basket": ("action", "name"),
    "orders:change_details": (
        "quantity",
        "when",
        "on",
        "target",
        "new_end",
        "reason",
        "details",
        "action",
    ),
}
FIELDS["orders:new_order_preview"] = FIELDS["orders:new_order"]
POSTS = [r for r in ROUTES if "POST" in r.methods]
GETS = [r for r in ROUTES if r.is_get]
QUERY_KEYS = ("q", "status", "date_from", "date_to", "sort", "dir", "page", "per_page", "next")
QUERY_KEYS += ("category", "kind", "customer", "actor", "panel")
KINDS = ("quantity", "term", "upgrade", "renew", "coterm", "cancel", "trial", "addons")


def _persona(route) -> str:
    order = (BOB, ADA, MARIA, SAM, SUPERUSER, GRACE)
    return next((p for p in order if p in route.allowed), SAM)


def _bodies(route):
    names = FIELDS.get(route.name, ())
    keys = st.sampled_from(names) if names else st.text(min_size=1, max_size=10)
    stray = st.text(min_size=1, max_size=10)
    return st.dictionaries(st.one_of(keys, stray), st.lists(VALUES, min_size=1, max_size=2))


def _encode(body: dict[str, list[str]]) -> str:
    return urlencode([(k, v) for k, values in body.items() for v in values])


def _check(response, calls, route) -> None:
    where = (route.name, response.status_code)
    assert response.status_code < 500 or response.status_code in (502, 503, 504), where
    assert response.status_code != 500, where
    if response.status_code >= 400:
        assert not [c for c in calls if c.wrote], ("refused input wrote upstream", *where)


@pytest.mark.parametrize("route", POSTS, ids=route_id)
def test_it_never_fails_on_forged_posts(route, client_for, acme_ids):
    client = client_for(_persona(route)) if not route.public else __import__("django").test.Client()
    url = route.url(acme_ids)
    headers_choice = st.sampled_from([{}, {"HX-Request": "true"}])

    @FUZZ
    @given(body=_bodies(route), headers=headers_choice)
    def run(body, headers):
        with journal.capture() as calls:
            response = client.post(url, _encode(body), content_type=FORM, headers=headers)
        _check(response, calls, route)

    run()


@pytest.mark.parametrize("kind", KINDS)
def test_it_never_fails_on_forged_change_details(kind, client_for, acme_ids):
    from django.urls import reverse

    client = client_for(ADA)
    url = reverse("orders:change_details", args=[acme_ids.subscription, kind])
    route = next(r for r in ROUTES if r.name == "orders:change_details")

    @FUZZ
    @given(body=_bodies(route))
    def run(body):
        with journal.capture() as calls:
            response = client.post(url, _encode(body), content_type=FORM)
        _check(response, calls, route)

    run()


@pytest.mark.parametrize("route", GETS, ids=route_id)
def test_it_never_fails_on_forged_query_strings(route, client_for, acme_ids):
    from django.test import Client

    client = Client() if route.public else client_for(_persona(route))
    url = route.url(acme_ids)
    keys = st.sampled_from(QUERY_KEYS)
    query = st.dictionaries(st.one_of(keys, st.text(min_size=1, max_size=8)), VALUES, max_size=4)
    headers = {"HX-Request": "true"} if route.htmx_only else {}

    @settings(FUZZ, max_examples=6)
    @given(params=query)
    def run(params):
        with journal.capture() as calls:
            response = client.get(url + "?" + urlencode(params), headers=headers)
        assert response.status_code != 500, (route.name, params)
        assert not [c for c in calls if c.wrote], route.name

    run()
