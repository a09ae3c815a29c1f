"""/account/: a person's language and time zone; the browser's, taken at the first sign-in."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django import forms
from django.test import Client
from django.urls import reverse

from portal.forms import AccountSettingsForm
from portal.models import AuditEvent, AuditKind, User
from tests import demo
from tests.conftest import signed_in
from tests.portal.test_impersonation import impersonate

pytestmark = pytest.mark.django_db

ACCOUNT = "/account/"
TIME_ZONE = "/account/time-zone/"


def test_it_requires_sign_in(client):
    for url in (ACCOUNT, TIME_ZONE):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_it_shows_the_persons_settings(grace_client):
    page = grace_client.get(ACCOUNT)
    assert page.status_code == 200
    assert '<option value="de" selected>Deutsch</option>' in page.text
    assert '<option value="Europe/Berlin" selected>Berlin</option>' in page.text
    assert 'lang="de"' in page.text


@pytest.mark.parametrize("zone", ["Europe/Berlin", "UTC", "", "US/Pacific"])
def test_the_zone_list_writes_what_djangos_select_writes(zone):
    """ZoneSelect writes its options in one template: the same elements as Django's Select,
    the person's zone (an alias kept as it is) selected."""
    field = AccountSettingsForm(instance=User(time_zone=zone))["time_zone"]
    ours = str(field)
    theirs = field.as_widget(widget=forms.Select(choices=field.field.choices))
    assert ours.split() == theirs.split()
    assert ours.count(" selected") == (1 if zone else 0)


def test_it_is_linked_from_the_user_menu(ada_client):
    page = ada_client.get("/")
    assert f'href="{ACCOUNT}"' in page.text


def test_it_saves_language_and_time_zone(ada, ada_client):
    response = ada_client.post(ACCOUNT, {"language": "de", "time_zone": "America/Los_Angeles"})
    assert response.status_code == 302
    assert response["Location"] == ACCOUNT
    ada.refresh_from_db()
    assert (ada.language, ada.time_zone) == ("de", "America/Los_Angeles")
    page = ada_client.get(ACCOUNT)
    assert 'lang="de"' in page.text
    assert "America/Los_Angeles" in page.text


@pytest.mark.parametrize(
    "body",
    [
        {"language": "de", "time_zone": "Mars/Olympus_Mons"},
        {"language": "de", "time_zone": ""},
        {"language": "fr", "time_zone": "Europe/Paris"},
        {"language": "", "time_zone": "Europe/Paris"},
    ],
)
def test_it_refuses_what_is_not_a_language_or_time_zone(ada, ada_client, body):
    response = ada_client.post(ACCOUNT, body)
    assert response.status_code == 422
    assert 'role="alert"' in response.text
    ada.refresh_from_db()
    assert (ada.language, ada.time_zone) == ("", "")


def test_it_rejects_other_methods(ada_client):
    assert ada_client.put(ACCOUNT).status_code == 405
    assert ada_client.get(TIME_ZONE).status_code == 405


def test_it_needs_the_csrf_token(ada):
    client = signed_in(ada)
    client.handler.enforce_csrf_checks = True
    assert client.post(ACCOUNT, {"language": "de", "time_zone": "UTC"}).status_code == 403
    assert client.post(TIME_ZONE, {"time_zone": "Europe/Berlin"}).status_code == 403
    ada.refresh_from_db()
    assert (ada.language, ada.time_zone) == ("", "")


def test_staff_have_settings_too(maria, maria_client):
    response = maria_client.post(ACCOUNT, {"language": "en", "time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    maria.refresh_from_db()
    assert maria.time_zone == "Asia/Tokyo"


# The browser's time zone, once -------------------------------------------------------------


def test_the_page_asks_the_browser_for_its_zone_while_the_person_has_none(ada, ada_client):
    page = ada_client.get("/")
    script = re.search(r'<script src="[^"]*js/locale\.js"[^>]*>', page.text)
    assert script, "locale.js is not loaded"
    assert f'data-url="{TIME_ZONE}"' in script[0]
    assert "nonce=" in script[0]
    ada.time_zone = "Europe/Berlin"
    ada.save()
    assert "js/locale.js" not in ada_client.get("/").text


def test_it_takes_the_browsers_zone_once(ada, ada_client):
    assert ada_client.post(TIME_ZONE, {"time_zone": "America/Los_Angeles"}).status_code == 204
    ada.refresh_from_db()
    assert ada.time_zone == "America/Los_Angeles"
    # A second report (another browser) never overrides what is set.
    assert ada_client.post(TIME_ZONE, {"time_zone": "Asia/Tokyo"}).status_code == 204
    ada.refresh_from_db()
    assert ada.time_zone == "America/Los_Angeles"


@pytest.mark.parametrize("zone", ["", "Not/AZone", "Europe/Berlin\n", "../etc/passwd"])
def test_it_refuses_a_zone_zoneinfo_does_not_know(ada, ada_client, zone):
    assert ada_client.post(TIME_ZONE, {"time_zone": zone}).status_code == 400
    ada.refresh_from_db()
    assert ada.time_zone == ""


def test_it_takes_the_language_from_the_browser_at_the_first_sign_in(ada):
    client = Client(HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.8")
    response = client.post(
        reverse("login"), {"username": demo.ADA, "password": demo.PASSWORD}, follow=True
    )
    assert response.status_code == 200
    ada.refresh_from_db()
    assert ada.language == "de"
    assert 'lang="de"' in response.text


def test_a_chosen_language_outlasts_the_browsers(ada):
    ada.language = "en"
    ada.save()
    client = Client(HTTP_ACCEPT_LANGUAGE="de")
    client.post(reverse("login"), {"username": demo.ADA, "password": demo.PASSWORD})
    ada.refresh_from_db()
    assert ada.language == "en"
    assert 'lang="en"' in client.get("/").text


def test_a_browser_asking_for_no_language_of_ours_gets_english(ada):
    client = Client(HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    client.post(reverse("login"), {"username": demo.ADA, "password": demo.PASSWORD})
    ada.refresh_from_db()
    assert ada.language == "en"


def test_the_sign_in_page_follows_the_browser():
    page = Client(HTTP_ACCEPT_LANGUAGE="de").get(reverse("login"))
    assert 'lang="de"' in page.text
    assert page["Content-Language"] == "de"
    assert 'lang="en"' in Client().get(reverse("login")).text


# Support impersonating ---------------------------------------------------------------------


def test_an_agent_sees_the_customers_language_and_zone_but_cannot_change_them(sam_client, grace):
    impersonate(sam_client, grace, reason="Grace asked about an invoice on the phone")
    page = sam_client.get(ACCOUNT)
    assert page.status_code == 200
    assert 'lang="de"' in page.text
    # The agent sees the portal in Grace's German.
    assert "nur diese Person kann sie ändern" in page.text
    assert '<form method="post" action="/account/"' not in page.text
    assert "js/locale.js" not in page.text
    refused = sam_client.post(ACCOUNT, {"language": "en", "time_zone": "UTC"})
    assert refused.status_code == 403
    assert sam_client.post(TIME_ZONE, {"time_zone": "UTC"}).status_code == 403
    grace.refresh_from_db()
    assert (grace.language, grace.time_zone) == ("de", "Europe/Berlin")
    assert AuditEvent.objects.filter(kind=AuditKind.ACTION_REFUSED, on_behalf_of=grace).exists()


def test_an_elevated_agent_still_cannot_change_them(sam_client, sam, ada):
    impersonate(sam_client, ada, reason="Ada asked us to place an order")
    elevated = sam_client.post(
        reverse("support_elevate"), {"reason": "Ada asked us to activate", "next": "/"}
    )
    assert elevated.status_code == 302
    assert sam_client.post(ACCOUNT, {"language": "de", "time_zone": "UTC"}).status_code == 403
    assert sam_client.post(TIME_ZONE, {"time_zone": "UTC"}).status_code == 403
    ada.refresh_from_db()
    assert (ada.language, ada.time_zone) == ("", "")
    sam.refresh_from_db()
    assert (sam.language, sam.time_zone) == ("", "")


def test_an_agents_sign_in_as_the_customer_sets_nothing_of_theirs(sam_client, ada):
    impersonate(sam_client, ada, reason="Ada asked about an invoice on the phone")
    ada.refresh_from_db()
    assert ada.language == ""


# Times in the person's zone ----------------------------------------------------------------


def test_times_are_shown_in_the_persons_zone(grace, grace_client):
    moment = datetime(2026, 11, 23, 13, 5, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        page = grace_client.get(ACCOUNT)
    # 13:05 UTC is 14:05 in Berlin (CET), written the German way.
    assert "23.11.2026, 14:05" in page.text
    grace.time_zone = "America/Los_Angeles"
    grace.language = "en"
    grace.save()
    with time_machine.travel(moment, tick=False):
        page = grace_client.get(ACCOUNT)
    assert "23 Nov 2026, 05:05" in page.text


def test_a_person_without_a_zone_reads_utc(ada_client):
    with time_machine.travel(datetime(2026, 11, 23, 13, 5, tzinfo=UTC), tick=False):
        page = ada_client.get(ACCOUNT)
    assert "23 Nov 2026, 13:05" in page.text


def test_it_leaves_no_zone_behind_for_the_next_request(grace_client, ada_client):
    moment = datetime(2026, 11, 23, 13, 5, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        grace_client.get(ACCOUNT)
        page = ada_client.get(ACCOUNT)
    assert "23 Nov 2026, 13:05" in page.text
    assert 'lang="en"' in page.text


def test_demo_grace_reads_german_in_berlin_time():
    grace = User.objects.get(email=demo.GRACE)
    assert (grace.language, grace.time_zone) == (demo.GRACE_LANGUAGE, demo.GRACE_TIME_ZONE)


def test_a_second_factor_still_due_sets_no_zone(sam):
    """Before the second factor, the zone is not taken: the page's script is refused (and told
    not to follow the refusal, static/js/locale.js), and nothing is written."""
    client = signed_in(sam, verified=False)
    response = client.post(TIME_ZONE, {"time_zone": "Europe/Berlin"})
    assert response.status_code == 302
    assert "/accounts/mfa/" in response["Location"]
    sam.refresh_from_db()
    assert sam.time_zone == ""
