"""Starting, living with and ending an impersonation (django-hijack with our policy)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from axes.models import AccessLog
from django.contrib.auth.models import Group
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.test import Client
from django.urls import path

from portal import urls as portal_urls
from portal.models import AuditEvent, AuditKind, CustomerAccount, Membership, Role, User
from portal.roles import SUPPORT_GROUP
from tests.conftest import LOGIN_BACKEND, signed_in, verify_client

pytestmark = pytest.mark.django_db

BANNER = 'id="impersonation-banner"'
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def fragment(request: HttpRequest) -> HttpResponse:
    return HttpResponse('<div id="orders">Orders</div>')


def no_content(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=204)


def json_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse('{"ok": true}', content_type="application/json")


def template_fragment(request: HttpRequest) -> TemplateResponse:
    return TemplateResponse(request, "portal/_field.html", {})


# A stand-in for the HTMX partials the order pages will serve.
urlpatterns = [
    path("test/fragment/", fragment),
    path("test/no-content/", no_content),
    path("test/json/", json_view),
    *portal_urls.urlpatterns,
]
handler403 = portal_urls.handler403
handler404 = portal_urls.handler404


def impersonate(client: Client, user: User, reason: str = "Ticket SUP-42") -> HttpResponse:
    return client.post(f"/support/impersonate/{user.memberships.get().pk}/", {"reason": reason})


@pytest.fixture
def acme(ada) -> CustomerAccount:
    return ada.memberships.get().account


@pytest.fixture
def as_ada(sam_client, ada) -> Client:
    """Sam, impersonating Ada."""
    response = impersonate(sam_client, ada)
    assert response.status_code == 302
    return sam_client


def test_it_shows_the_agent_what_the_customer_sees(as_ada, ada, sam, acme):
    response = as_ada.get("/")
    assert response.status_code == 200
    request = response.wsgi_request
    assert request.user == ada
    assert request.customer == acme
    assert request.impersonator == sam
    assert request.impersonation.reason == "Ticket SUP-42"
    assert BANNER in response.text
    assert "You are impersonating" in response.text


def test_it_redirects_to_the_customer_home_after_starting(sam_client, ada):
    response = impersonate(sam_client, ada)
    assert response.headers["Location"] == "/"


def test_it_requires_a_reason(sam_client, ada, sam):
    response = sam_client.post(f"/support/impersonate/{ada.memberships.get().pk}/", {"reason": ""})
    assert response.status_code == 422
    assert "This field is required." in response.text
    assert sam_client.get("/support/").wsgi_request.user == sam


def test_it_rotates_the_session_on_start_and_on_stop(sam_client, ada):
    before = sam_client.session.session_key
    impersonate(sam_client, ada)
    during = sam_client.session.session_key
    sam_client.post("/support/stop/")
    after = sam_client.session.session_key
    assert len({before, during, after}) == 3


def test_it_leaves_last_login_alone(sam_client, ada, sam):
    ada.last_login = datetime(2026, 1, 1, tzinfo=UTC)
    ada.save(update_fields=["last_login"])
    sam_last_login = User.objects.get(pk=sam.pk).last_login
    impersonate(sam_client, ada)
    sam_client.get("/")
    sam_client.post("/support/stop/")
    assert User.objects.get(pk=ada.pk).last_login == datetime(2026, 1, 1, tzinfo=UTC)
    assert User.objects.get(pk=sam.pk).last_login == sam_last_login


def test_it_records_no_customer_sign_in_for_an_impersonation(sam_client, ada):
    impersonate(sam_client, ada)
    sam_client.post("/support/stop/")
    assert not AuditEvent.objects.filter(kind=AuditKind.SIGN_IN, actor=ada).exists()
    assert not AccessLog.objects.filter(username=ada.email).exists()


def test_it_records_start_and_end_with_both_identities(sam_client, ada, sam, acme):
    impersonate(sam_client, ada)
    sam_client.post("/support/stop/", HTTP_USER_AGENT="Agent browser")
    started = AuditEvent.objects.get(kind=AuditKind.IMPERSONATION_STARTED)
    ended = AuditEvent.objects.get(kind=AuditKind.IMPERSONATION_ENDED)
    for event in (started, ended):
        assert (event.actor, event.on_behalf_of, event.customer) == (sam, ada, acme)
        assert event.ip == "127.0.0.1"
        assert event.impersonation == started.impersonation
    assert started.reason == "Ticket SUP-42"
    assert ended.details == {"why": "stopped"}
    assert ended.user_agent == "Agent browser"


@pytest.mark.parametrize("url", ["/support/impersonate/{pk}/", "/support/stop/"])
def test_it_needs_the_csrf_token(url, sam, ada):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sam, backend=LOGIN_BACKEND)
    verify_client(client, sam)
    if url == "/support/stop/":
        # Start properly (with the token), then try to stop without it.
        page = client.get(f"/support/impersonate/{ada.memberships.get().pk}/")
        token = page.context["csrf_token"]
        client.post(
            f"/support/impersonate/{ada.memberships.get().pk}/",
            {"reason": "SUP-1", "csrfmiddlewaretoken": str(token)},
        )
        assert client.get("/").wsgi_request.impersonator == sam
    response = client.post(url.format(pk=ada.memberships.get().pk), {"reason": "SUP-1"})
    assert response.status_code == 403
    expected = ada if url == "/support/stop/" else sam
    assert client.get("/").wsgi_request.user == expected


def test_it_starts_and_stops_with_the_csrf_token(sam, ada):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sam, backend=LOGIN_BACKEND)
    verify_client(client, sam)
    url = f"/support/impersonate/{ada.memberships.get().pk}/"
    token = str(client.get(url).context["csrf_token"])
    assert client.post(url, {"reason": "SUP-1", "csrfmiddlewaretoken": token}).status_code == 302
    # The session was rotated, and so was the CSRF token.
    token = str(client.get("/").context["csrf_token"])
    response = client.post("/support/stop/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert client.get("/support/").wsgi_request.user == sam


def test_it_stops_and_brings_the_agent_back_to_support(as_ada, sam):
    response = as_ada.post("/support/stop/", follow=True)
    assert response.redirect_chain == [("/support/", 302)]
    assert response.wsgi_request.user == sam
    assert response.wsgi_request.impersonation is None
    assert BANNER not in response.text
    assert "You stopped impersonating" in response.text


def test_it_stops_an_htmx_request_with_a_client_redirect(as_ada):
    response = as_ada.post("/support/stop/", HTTP_HX_REQUEST="true")
    assert response.headers["HX-Redirect"] == "/support/"


def test_it_rejects_a_get_on_stop(as_ada):
    assert as_ada.get("/support/stop/").status_code == 405


def test_it_has_nothing_to_stop_when_not_impersonating(sam_client):
    assert sam_client.post("/support/stop/").status_code == 404


@pytest.mark.parametrize("url", ["/", "/accounts/customer/", "/account/access-log/", "/missing/"])
def test_it_shows_the_banner_on_every_full_page(as_ada, url):
    response = as_ada.get(url)
    assert response.status_code in (200, 404)
    assert response.text.count(BANNER) == 1
    assert "hx-swap-oob" not in response.text
    assert 'action="/support/stop/"' in response.text


@pytest.mark.urls(__name__)
def test_it_adds_the_banner_out_of_band_to_htmx_responses(as_ada):
    response = as_ada.get("/test/fragment/", HTTP_HX_REQUEST="true")
    assert response.text.startswith('<div id="orders">Orders</div>')
    assert response.text.count(BANNER) == 1
    assert 'hx-swap-oob="true"' in response.text
    assert 'action="/support/stop/"' in response.text
    assert int(response.headers.get("Content-Length", len(response.content))) == len(
        response.content
    )


@pytest.mark.urls(__name__)
def test_it_points_the_banners_elevate_link_at_the_page_not_the_fragment(as_ada):
    response = as_ada.get(
        "/test/fragment/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/orders/?status=draft",
    )
    assert "/support/elevate/?next=/orders/%3Fstatus%3Ddraft" in response.text


def test_it_does_not_duplicate_the_banner_of_a_full_page_fetched_by_htmx(as_ada):
    response = as_ada.get("/", HTTP_HX_REQUEST="true")
    assert response.text.count(BANNER) == 1


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("url", ["/test/no-content/", "/test/json/"])
def test_it_leaves_other_htmx_responses_alone(as_ada, url):
    response = as_ada.get(url, HTTP_HX_REQUEST="true")
    assert BANNER not in response.content.decode()


@pytest.mark.urls(__name__)
def test_it_adds_no_banner_when_not_impersonating(ada_client):
    response = ada_client.get("/test/fragment/", HTTP_HX_REQUEST="true")
    assert response.text == '<div id="orders">Orders</div>'


def test_it_ends_after_the_time_limit(sam_client, ada, sam):
    with time_machine.travel(START, tick=False) as clock:
        impersonate(sam_client, ada)
        clock.shift(timedelta(minutes=29, seconds=59))
        assert sam_client.get("/").wsgi_request.user == ada
        clock.shift(timedelta(seconds=1))
        response = sam_client.get("/", follow=True)
    assert response.redirect_chain == [("/support/", 302)]
    assert response.wsgi_request.user == sam
    assert "reached the 30-minute limit" in response.text
    ended = AuditEvent.objects.get(kind=AuditKind.IMPERSONATION_ENDED)
    assert (ended.actor, ended.on_behalf_of, ended.details) == (sam, ada, {"why": "time_limit"})
    assert ended.customer == ada.memberships.get().account


def test_it_takes_the_time_limit_from_settings(sam_client, ada, sam, settings):
    settings.IMPERSONATION_MAX_MINUTES = 5
    with time_machine.travel(START, tick=False) as clock:
        impersonate(sam_client, ada)
        clock.shift(timedelta(minutes=5))
        assert sam_client.get("/").status_code == 302
        assert sam_client.get("/support/").wsgi_request.user == sam


def test_it_shows_the_time_left_in_the_banner(sam_client, ada):
    with time_machine.travel(START, tick=False) as clock:
        impersonate(sam_client, ada)
        clock.shift(timedelta(minutes=12))
        response = sam_client.get("/")
    assert "Since <time" in response.text
    # Ada has chosen no time zone: UTC, and the banner says which zone its times are in.
    assert ">09:00</time>" in response.text
    assert ">09:30</time> UTC" in response.text
    assert "18\xa0minutes left" in response.text


def test_it_ends_an_expired_impersonation_of_an_htmx_request_with_a_client_redirect(
    sam_client, ada
):
    with time_machine.travel(START, tick=False) as clock:
        impersonate(sam_client, ada)
        clock.shift(timedelta(hours=1))
        response = sam_client.get("/", HTTP_HX_REQUEST="true")
    assert response.headers["HX-Redirect"] == "/support/"


def test_it_refuses_a_write_after_the_time_limit_without_running_it(sam_client, ada, grace):
    with time_machine.travel(START, tick=False) as clock:
        impersonate(sam_client, ada)
        clock.shift(timedelta(hours=1))
        membership = Membership.objects.create(user=ada, account=grace.memberships.get().account)
        response = sam_client.post("/accounts/customer/", {"membership": membership.pk})
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(kind=AuditKind.ACTION).exists()


def test_it_ends_when_the_agent_loses_the_permission(as_ada, sam):
    sam.groups.remove(Group.objects.get(name=SUPPORT_GROUP))
    response = as_ada.get("/", follow=True)
    # Without the permission the support page does not exist for Sam any more.
    assert response.redirect_chain == [("/", 302)]
    assert response.wsgi_request.user == sam
    assert "ended: You do not have the permission" in response.text
    ended = AuditEvent.objects.get(kind=AuditKind.IMPERSONATION_ENDED)
    assert ended.details == {"why": "permission"}


def test_it_ends_when_the_customer_user_is_deactivated(as_ada, ada, sam):
    User.objects.filter(pk=ada.pk).update(is_active=False)
    response = as_ada.get("/")
    assert response.status_code == 302
    assert as_ada.get("/support/").wsgi_request.user == sam


def test_it_signs_out_when_the_agent_is_deactivated(as_ada, sam):
    User.objects.filter(pk=sam.pk).update(is_active=False)
    response = as_ada.get("/")
    assert response.status_code == 302
    assert not as_ada.get("/").wsgi_request.user.is_authenticated
    assert AuditEvent.objects.filter(kind=AuditKind.IMPERSONATION_ENDED, actor=sam).exists()


def test_it_ends_when_the_membership_is_removed(as_ada, ada, sam):
    ada.memberships.get().delete()
    as_ada.get("/")
    assert as_ada.get("/support/").wsgi_request.user == sam


def test_it_refuses_to_chain_impersonations(as_ada, grace):
    response = as_ada.post(
        f"/support/impersonate/{grace.memberships.get().pk}/", {"reason": "again"}
    )
    assert response.status_code == 403  # read-only: refused before the support view
    as_ada.post("/support/elevate/", {"reason": "SUP-42 asked for it"})
    response = as_ada.post(
        f"/support/impersonate/{grace.memberships.get().pk}/", {"reason": "again"}
    )
    assert response.status_code == 404
    assert as_ada.get("/").wsgi_request.impersonation.target.email == "ada@acme.example"


def test_it_pins_the_customer_the_impersonation_was_started_for(as_ada, ada, grace, acme):
    globex = Membership.objects.create(
        user=ada, account=grace.memberships.get().account, role=Role.VIEWER
    )
    as_ada.post("/accounts/customer/", {"membership": globex.pk})
    assert as_ada.get("/").wsgi_request.customer == acme


def test_it_hides_the_support_pages_while_impersonating(as_ada):
    assert as_ada.get("/support/").status_code == 404
    assert 'href="/support/"' not in as_ada.get("/").text


def test_it_ends_the_impersonation_when_the_agent_signs_out(as_ada, sam, ada):
    as_ada.post("/accounts/logout/")
    assert not as_ada.get("/").wsgi_request.user.is_authenticated
    kinds = list(
        AuditEvent.objects.filter(actor=sam).order_by("pk").values_list("kind", "on_behalf_of")
    )
    assert kinds[-2:] == [
        (AuditKind.IMPERSONATION_ENDED, ada.pk),
        (AuditKind.SIGN_OUT, None),
    ]


def test_it_lets_an_account_manager_impersonate_only_in_her_book(maria, ada):
    from django.contrib.auth.models import Permission

    maria.user_permissions.add(Permission.objects.get(codename="impersonate"))
    initech = CustomerAccount.objects.create(nue_customer_id="cust-initech", name="Initech")
    peter = User.objects.create_user("peter@initech.example")
    Membership.objects.create(user=peter, account=initech)
    client = signed_in(maria)
    assert impersonate(client, peter).status_code == 404
    assert impersonate(client, ada).status_code == 302


def test_it_explains_a_refused_target(sam_client, ada):
    User.objects.filter(pk=ada.pk).update(is_active=False)
    response = impersonate(sam_client, ada)
    assert response.status_code == 422
    assert "This user is deactivated." in response.text
