"""CSRF: every unsafe method of every route refuses a request without its session's token (403),
and writes nothing upstream. Generated from the inventory."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory

from nue_emulator import journal
from portal.mfa import requires_mfa
from portal.models import User
from portal.views import CSRF_FAILURE_MESSAGE
from tests.conftest import LOGIN_BACKEND, verify_client
from tests.security.inventory import EMAILS, GRACE, ROUTES, route_id

pytestmark = pytest.mark.django_db

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
FORM = "application/x-www-form-urlencoded"
# The portal's own CSRF failure page, so a refusal by the view behind it does not count.
REFUSED = CSRF_FAILURE_MESSAGE.encode()
# A webhook carries its sender's signature instead of a token (test_anonymous checks that it
# refuses an unsigned request).
WITH_UNSAFE = [r for r in ROUTES if any(m in UNSAFE for m in r.methods) and not r.webhook]


def _client(persona: str | None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if persona is not None:
        user = User.objects.get(email=EMAILS[persona])
        client.force_login(user, backend=LOGIN_BACKEND)
        if requires_mfa(user):
            verify_client(client, user)
    # The CSRF cookie of this browser, as a page it loaded would have set.
    client.cookies["csrftoken"] = get_token(RequestFactory().get("/"))
    return client


def _foreign_token() -> str:
    """A valid token, but of another browser's cookie."""
    return get_token(RequestFactory().get("/"))


def _persona(route) -> str | None:
    if route.public:
        return None
    return sorted(route.allowed)[0] if route.allowed else "sam"


@pytest.mark.parametrize("route", WITH_UNSAFE, ids=route_id)
def test_it_refuses_unsafe_requests_without_the_sessions_token(route, acme_ids, globex_ids):
    persona = _persona(route)
    ids = globex_ids if persona == GRACE else acme_ids
    url = route.url(ids)
    body = route.body(ids)
    client = _client(persona)
    with journal.capture() as calls:
        for method in (m for m in route.methods if m in UNSAFE):
            missing = client.generic(method, url, urlencode(body), content_type=FORM)
            assert missing.status_code == 403, (route.name, method, "missing")
            # Refused by the CSRF check itself, not by the view behind it.
            assert REFUSED in missing.content, route.name
            foreign = {**body, "csrfmiddlewaretoken": _foreign_token()}
            in_body = client.generic(method, url, urlencode(foreign), content_type=FORM)
            assert in_body.status_code == 403, (route.name, method, "foreign in body")
            assert REFUSED in in_body.content, route.name
            # htmx sends the token as a header (hx-headers on <body>).
            in_header = client.generic(
                method,
                url,
                urlencode(body),
                content_type=FORM,
                headers={"X-CSRFToken": _foreign_token(), "HX-Request": "true"},
            )
            assert in_header.status_code == 403, (route.name, method, "foreign in header")
            assert REFUSED in in_header.content, route.name
    assert not [call for call in calls if call.wrote]


def test_it_accepts_the_sessions_own_token(acme_ids):
    """The refusals above are about the token: with the right one the same request goes through."""
    client = _client("ada")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/accounts/customer/",
        {"membership": acme_ids.membership, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
