"""How a refusal (403) or a missing page (404) renders: a page for a page load, the portal's own
partial for an HTMX request (keeping the id of the element it replaces), the same in every mode."""

from __future__ import annotations

import pytest
from django.test import Client

from nue_emulator.models import Order
from tests.conftest import LOGIN_BACKEND
from tests.nue_emulator.conftest import ACME

pytestmark = pytest.mark.django_db

PREVIEW = "/orders/new/preview/"
HTMX = {"HX-Request": "true", "HX-Target": "preview", "HX-Current-URL": "http://testserver/"}


def test_it_refuses_a_page_load_with_the_whole_page(ben_client):
    response = ben_client.post("/orders/new/", {"action": "preview"})
    assert response.status_code == 403
    assert "<html" in response.text
    assert "Your role may not buy for this account." in response.text


@pytest.mark.parametrize("debug", [False, True])
def test_it_refuses_an_htmx_request_with_the_portals_partial(ben_client, settings, debug):
    settings.DEBUG = debug
    response = ben_client.post(PREVIEW, {}, headers=HTMX)
    assert response.status_code == 403
    assert "<html" not in response.text
    assert response.text.lstrip().startswith(
        '<div class="error-page card" role="alert" id="preview">'
    )
    assert "Your role may not buy for this account." in response.text


def test_it_keeps_no_target_id_that_is_not_an_element_id(ben_client):
    response = ben_client.post(PREVIEW, {}, headers={**HTMX, "HX-Target": 'x" onclick="1'})
    assert response.status_code == 403
    assert " id=" not in response.text.split(">", 1)[0]


def test_it_answers_a_missing_object_to_htmx_with_the_partial(ada_client):
    response = ada_client.get("/orders/no-such-order/", headers={**HTMX, "HX-Target": "main"})
    assert response.status_code == 404
    assert "<html" not in response.text
    assert 'id="main"' in response.text
    assert "We couldn't find that page" in response.text


def test_it_refuses_a_read_only_impersonated_htmx_write_in_place(sam_client, ada):
    sam_client.post(
        f"/support/impersonate/{ada.memberships.get().pk}/", {"reason": "Ticket SUP-42"}
    )
    draft = Order.objects.filter(customer_id=ACME, status="Draft").values_list("id", flat=True)[0]
    response = sam_client.post(
        f"/orders/{draft}/activate/",
        {"consent": "on"},
        headers={**HTMX, "HX-Target": "draft-actions"},
    )
    assert response.status_code == 403
    assert "<html" not in response.text
    assert '<div class="card refusal" role="alert" id="draft-actions">' in response.text


@pytest.mark.parametrize("debug", [False, True])
def test_it_loads_htmx_without_the_debug_script_that_replaces_the_page(ada_client, settings, debug):
    settings.DEBUG = debug
    page = ada_client.get("/").text
    assert "django_htmx/htmx-2.min.js" in page
    assert "django-htmx.js" not in page


def test_it_answers_an_htmx_post_without_the_csrf_token_with_the_partial(ada):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ada, backend=LOGIN_BACKEND)
    response = client.post(PREVIEW, {}, headers=HTMX)
    assert response.status_code == 403
    assert "<html" not in response.text
    assert 'id="preview"' in response.text
    assert "This form had expired" in response.text
