"""Read-only impersonation: `@money_moving` refuses writes until the agent elevates."""

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from django.views.decorators.http import require_http_methods

from portal import urls as portal_urls
from portal.impersonation import money_moving
from portal.models import AuditEvent, AuditKind

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

ACTIVATIONS: list[str] = []


@money_moving
@require_http_methods(["GET", "POST"])
def activate(request: HttpRequest) -> HttpResponse:
    """Stands in for the order views' activate (and change, cancel, approve)."""
    if request.method == "POST":
        ACTIVATIONS.append(request.user.email)
        return HttpResponse("Activated")
    return HttpResponse("Confirm the activation")


urlpatterns = [path("test/activate/", activate), *portal_urls.urlpatterns]
handler403 = portal_urls.handler403
handler404 = portal_urls.handler404


@pytest.fixture(autouse=True)
def _fresh_ledger():
    ACTIVATIONS.clear()


@pytest.fixture
def as_ada(sam_client, ada) -> Client:
    response = sam_client.post(
        f"/support/impersonate/{ada.memberships.get().pk}/", {"reason": "Ticket SUP-42"}
    )
    assert response.status_code == 302
    return sam_client


def test_it_refuses_a_money_moving_post_while_impersonating(as_ada):
    response = as_ada.post("/test/activate/", HTTP_REFERER="http://testserver/orders/O-1/")
    assert response.status_code == 403
    assert ACTIVATIONS == []
    assert "Refused: you are impersonating read-only" in response.text
    assert "Nothing was sent." in response.text
    assert 'action="/support/elevate/"' in response.text
    assert 'name="next" value="/orders/O-1/"' in response.text
    assert response.text.count('id="impersonation-banner"') == 1


def test_it_refuses_an_htmx_write_with_a_partial(as_ada):
    response = as_ada.post(
        "/test/activate/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/orders/O-1/",
    )
    assert response.status_code == 403
    assert "<html" not in response.text
    assert "Refused: you are impersonating read-only" in response.text
    assert 'name="next" value="/orders/O-1/"' in response.text
    assert 'hx-swap-oob="true"' in response.text  # the banner still comes along


def test_it_audits_the_refusal_with_both_identities(as_ada, sam, ada):
    as_ada.post("/test/activate/")
    refused = AuditEvent.objects.get(kind=AuditKind.ACTION_REFUSED)
    assert (refused.actor, refused.on_behalf_of) == (sam, ada)
    assert (refused.method, refused.path) == ("POST", "/test/activate/")
    # The impersonation layer refuses it before the view: the path names what was refused.
    assert refused.details == {"view": "/test/activate/"}
    # One event for the request, not a second generic "action".
    assert not AuditEvent.objects.filter(kind=AuditKind.ACTION).exists()


def test_it_lets_the_agent_read_while_impersonating(as_ada):
    response = as_ada.get("/test/activate/")
    assert response.status_code == 200
    assert response.text.startswith("Confirm the activation")


def test_it_lets_customers_act_as_usual(ada_client):
    response = ada_client.post("/test/activate/")
    assert response.status_code == 200
    assert ACTIVATIONS == ["ada@acme.example"]


def test_it_keeps_the_views_own_method_check(as_ada):
    assert as_ada.put("/test/activate/").status_code == 403  # refused before anything else
    assert Client().put("/test/activate/").status_code == 302  # sign in first


def test_it_allows_money_moving_after_elevation(as_ada, sam, ada):
    response = as_ada.post("/support/elevate/", {"reason": "Customer asked in SUP-42", "next": "/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    response = as_ada.post("/test/activate/")
    assert response.status_code == 200
    assert ACTIVATIONS == ["ada@acme.example"]
    elevated = AuditEvent.objects.get(kind=AuditKind.IMPERSONATION_ELEVATED)
    assert (elevated.actor, elevated.on_behalf_of) == (sam, ada)
    assert elevated.reason == "Customer asked in SUP-42"
    action = AuditEvent.objects.get(kind=AuditKind.ACTION)
    assert (action.actor, action.on_behalf_of, action.path) == (sam, ada, "/test/activate/")
    assert action.details == {"status": 200, "elevated": True}


def test_it_shows_the_elevation_in_the_banner(as_ada):
    assert "Read-only" in as_ada.get("/").text
    as_ada.post("/support/elevate/", {"reason": "SUP-42 asked for it"})
    page = as_ada.get("/").text
    assert "Elevated: money-moving actions allowed" in page
    assert "impersonation-banner--elevated" in page


def test_it_ends_the_elevation_with_the_impersonation(as_ada, ada):
    as_ada.post("/support/elevate/", {"reason": "SUP-42 asked for it"})
    as_ada.post("/support/stop/")
    as_ada.post(f"/support/impersonate/{ada.memberships.get().pk}/", {"reason": "SUP-43"})
    assert as_ada.post("/test/activate/").status_code == 403


def test_it_requires_a_reason_to_elevate(as_ada):
    response = as_ada.post("/support/elevate/", {"reason": " ", "next": "/"})
    assert response.status_code == 422
    assert "This field is required." in response.text
    assert as_ada.post("/test/activate/").status_code == 403


def test_it_shows_the_elevation_form(as_ada):
    response = as_ada.get("/support/elevate/?next=/orders/")
    assert response.status_code == 200
    assert 'name="next" value="/orders/"' in response.text
    assert "Allow money-moving actions" in response.text


def test_it_ignores_a_foreign_next_after_elevating(as_ada):
    response = as_ada.post(
        "/support/elevate/", {"reason": "SUP-42 asked", "next": "https://evil.example/"}
    )
    assert response.headers["Location"] == "/"


def test_it_has_nothing_to_elevate_when_not_impersonating(sam_client, ada_client):
    assert sam_client.post("/support/elevate/", {"reason": "why not"}).status_code == 404
    assert ada_client.get("/support/elevate/").status_code == 404


def test_it_needs_the_csrf_token_to_elevate(sam, ada):
    from tests.conftest import LOGIN_BACKEND, verify_client

    client = Client(enforce_csrf_checks=True)
    client.force_login(sam, backend=LOGIN_BACKEND)
    verify_client(client, sam)
    url = f"/support/impersonate/{ada.memberships.get().pk}/"
    token = str(client.get(url).context["csrf_token"])
    client.post(url, {"reason": "SUP-1", "csrfmiddlewaretoken": token})
    assert client.post("/support/elevate/", {"reason": "SUP-1 again"}).status_code == 403
    assert not client.get("/").wsgi_request.impersonation.elevated


def test_it_offers_only_a_local_way_back_from_the_elevation_form(as_ada):
    response = as_ada.get("/support/elevate/?next=javascript:alert(1)")
    assert "javascript:" not in response.text
    assert '<a href="/">Stay read-only</a>' in response.text
