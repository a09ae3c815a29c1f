"""/account/notifications/: each member chooses their non-essential emails about the account
they act for; essential ones show as always on; support impersonating them only looks."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from portal.models import AuditEvent, AuditKind, NotificationKind, NotificationPreference, User
from portal.notifications import recipients_for
from tests import demo
from tests.conftest import signed_in

Kind = NotificationKind
URL = "/account/notifications/"

pytestmark = pytest.mark.django_db


def test_it_has_a_stable_url():
    assert reverse("notification_preferences") == URL


def checkbox(page: str, kind: str) -> str:
    start = page.index(f'id="kind-{kind}"')
    return page[page.rindex("<input", 0, start) : page.index(">", start) + 1]


def test_an_admin_sees_the_choices_with_the_essential_ones_locked(ada_client):
    page = ada_client.get(URL).content.decode()
    assert "Email notifications" in page
    assert 'name="enabled"' in checkbox(page, "order_activated")
    assert "checked" in checkbox(page, "order_activated")  # an admin's default
    for essential in ("payment_failed", "approval_requested"):
        box = checkbox(page, essential)
        assert "checked disabled" in box
        assert "name=" not in box
    assert "Always sent to you" in page
    assert f'href="{URL}" aria-current="page"' in page  # the navigation links to it


def test_a_viewer_has_everything_off_and_no_approvals(ben_client):
    page = ben_client.get(URL).content.decode()
    assert "checked" not in checkbox(page, "order_activated")
    assert "disabled" not in checkbox(page, "payment_failed")  # not essential for a viewer
    assert 'id="kind-approval_requested"' not in page
    assert 'id="kind-approval_decided"' not in page


def test_a_buyer_chooses_approval_decisions_but_is_not_asked_to_approve(bob_client):
    page = bob_client.get(URL).content.decode()
    assert "checked" in checkbox(page, "approval_decided")
    assert 'id="kind-approval_requested"' not in page


def test_saving_keeps_the_choices_and_audits_them(ada_client, ada):
    response = ada_client.post(URL, {"enabled": ["change_confirmed", "renewal_reminder"]})
    assert response.status_code == 302
    assert response["Location"] == URL
    off = NotificationPreference.objects.filter(user=ada, enabled=False)
    assert sorted(off.values_list("kind", flat=True)) == [
        "approval_decided",
        "cancellation_scheduled",
        "order_activated",
    ]
    account = ada.memberships.get().account
    assert recipients_for(Kind.ORDER_ACTIVATED, account) == []
    assert [r.email for r in recipients_for(Kind.PAYMENT_FAILED, account)] == [demo.ADA]
    event = AuditEvent.objects.get(details__action="notification_preferences_changed")
    assert event.actor == ada
    assert sorted(event.details["turned_off"]) == [
        "approval_decided",
        "cancellation_scheduled",
        "order_activated",
    ]
    page = ada_client.get(URL).content.decode()
    assert "Your email choices are saved." in page
    assert "checked" not in checkbox(page, "order_activated")
    assert "checked" in checkbox(page, "change_confirmed")


def test_saving_again_and_back_to_the_defaults_keeps_no_rows(ada_client, ada):
    everything = ["order_activated", "change_confirmed", "cancellation_scheduled"]
    ada_client.post(URL, {"enabled": everything})
    assert ada_client.post(URL, {"enabled": everything}).status_code == 302
    ada_client.post(URL, {"enabled": [*everything, "renewal_reminder", "approval_decided"]})
    assert not NotificationPreference.objects.filter(user=ada).exists()


def test_a_viewer_may_turn_an_email_on(ben_client, ben):
    ben_client.post(URL, {"enabled": ["order_activated"]})
    account = ben.memberships.get().account
    assert demo.BEN in [r.email for r in recipients_for(Kind.ORDER_ACTIVATED, account)]


def test_an_essential_kind_is_not_a_choice(ada_client, ada):
    response = ada_client.post(URL, {"enabled": ["payment_failed"]})
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    assert not NotificationPreference.objects.filter(user=ada).exists()


def test_it_is_a_members_page(maria_client, sam_client, client):
    assert maria_client.get(URL).status_code == 404  # staff act for a customer, no inbox here
    assert sam_client.get(URL).status_code == 404
    anonymous = client.get(URL)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))


def test_it_answers_htmx_with_the_page_and_refuses_other_methods(ada_client):
    assert ada_client.get(URL, headers={"HX-Request": "true"}).status_code == 200
    assert ada_client.put(URL).status_code == 405
    assert ada_client.delete(URL).status_code == 405


def test_it_needs_the_csrf_token(ada):
    strict = signed_in(ada)
    strict.handler.enforce_csrf_checks = True
    assert strict.post(URL, {"enabled": []}).status_code == 403
    assert not NotificationPreference.objects.exists()


@pytest.fixture
def as_ada(sam_client: Client, ada: User) -> Client:
    response = sam_client.post(
        reverse("support_impersonate", args=[ada.memberships.get().pk]),
        {"reason": "Ticket SUP-9: no emails arrive"},
    )
    assert response.status_code == 302
    return sam_client


def test_support_impersonating_sees_the_choices_read_only(as_ada):
    page = as_ada.get(URL).content.decode()
    assert "You are seeing these choices as support" in page
    assert "disabled" in checkbox(page, "order_activated")
    assert "Save choices" not in page


@pytest.mark.parametrize("elevated", [False, True])
def test_support_impersonating_changes_nothing(as_ada, ada, elevated):
    if elevated:
        response = as_ada.post(
            reverse("support_elevate"), {"reason": "Customer asked", "next": "/"}
        )
        assert response.status_code == 302
    response = as_ada.post(URL, {"enabled": []})
    assert response.status_code == 403
    assert not NotificationPreference.objects.exists()
    refused = AuditEvent.objects.filter(kind=AuditKind.ACTION_REFUSED).latest("created_at")
    assert (refused.actor.email, refused.on_behalf_of) == (demo.SAM, ada)
