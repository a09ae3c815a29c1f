"""Dates far ahead never break the new-order page, now or on a later visit (issue 21, item 7)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.urls import reverse
from django.utils import timezone

from nue_emulator import journal
from orders.forms.purchase import START_HORIZON
from tests.conftest import installed_client
from tests.orders.purchase_helpers import PRO, line

PREVIEW = {"HTTP_HX_REQUEST": "true"}


@pytest.mark.parametrize("start", ["2101-01-01", "9999-12-31"])
def test_a_start_far_ahead_is_a_form_error_and_the_page_keeps_working(ada_client, start):
    data = line("la", PRO, start_date=start)
    with journal.capture() as calls:
        preview = ada_client.post(reverse("orders:new_order_preview"), data, **PREVIEW)
        draft = ada_client.post(reverse("orders:new_order"), {**data, "action": "draft"})
    assert preview.status_code == 200
    assert "Choose a start date by" in preview.content.decode()
    assert draft.status_code == 422
    assert not [c for c in calls if c.method == "POST"]
    later = ada_client.get(reverse("orders:new_order"))
    assert later.status_code == 200


def test_the_last_day_of_the_horizon_is_allowed(ada_client):
    last = timezone.localdate() + START_HORIZON
    data = line("la", PRO, start_date=last.isoformat())
    response = ada_client.post(reverse("orders:new_order_preview"), data, **PREVIEW)
    assert "Choose a start date by" not in response.content.decode()


def test_nues_error_about_the_order_as_a_whole_lands_on_the_form(ada_client, settings):
    from django.utils.module_loading import import_string

    app = import_string(settings.NUE_EMULATOR_WSGI_APP)
    inner = httpx.WSGITransport(app=app)

    def refuse_previews(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/orders/invoice-preview"):
            body = {
                "status": "FAILURE",
                "message": "effectiveDate: not accepted.",
                "errors": [{"field": "effectiveDate", "message": "not accepted"}],
            }
            return httpx.Response(400, json=body)
        return inner.handle_request(request)

    with installed_client(httpx.MockTransport(refuse_previews)):
        response = ada_client.post(reverse("orders:new_order_preview"), line("la", PRO), **PREVIEW)
    assert response.status_code == 200
    assert "not accepted" in response.content.decode()


def test_a_configuration_is_kept_only_once_it_validates(ada_client):
    from orders.views.purchase import CONFIG_KEY
    from tests.orders.purchase_helpers import account

    key = CONFIG_KEY.format(customer=account().pk)
    good = line("la", PRO, quantity="4")
    ada_client.post(reverse("orders:new_order_preview"), good, **PREVIEW)
    kept = ada_client.session[key]
    far = (timezone.localdate() + START_HORIZON + timedelta(days=1)).isoformat()
    ada_client.post(reverse("orders:new_order_preview"), line("la", PRO, start_date=far), **PREVIEW)
    assert ada_client.session[key] == kept
