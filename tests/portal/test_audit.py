"""The audit trail: append-only events, sign-ins, and every impersonated request."""

from decimal import Decimal

import pytest
from django.contrib.admin.sites import site
from django.test import Client, RequestFactory

from portal.audit import record
from portal.models import AppendOnlyError, AuditEvent, AuditKind
from tests.conftest import LOGIN_BACKEND, verify_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(ada):
    return ada.memberships.get().account


@pytest.fixture
def as_ada(sam_client, ada) -> Client:
    sam_client.post(f"/support/impersonate/{ada.memberships.get().pk}/", {"reason": "SUP-42"})
    return sam_client


def test_it_records_an_event_for_a_request(ada, acme):
    request = RequestFactory().post(
        "/orders/O-1/activate/?x=1", HTTP_USER_AGENT="Firefox", REMOTE_ADDR="203.0.113.9"
    )
    request.user = ada
    request.customer = acme
    event = record(request, AuditKind.ACTIVATION, order="O-1", total=Decimal("12.50"))
    event.refresh_from_db()
    assert (event.kind, event.actor, event.actor_email) == ("activation", ada, ada.email)
    assert (event.on_behalf_of, event.customer, event.impersonation) == (None, acme, None)
    assert (event.ip, event.user_agent) == ("203.0.113.9", "Firefox")
    assert (event.method, event.path) == ("POST", "/orders/O-1/activate/?x=1")
    assert event.details == {"order": "O-1", "total": "12.50"}


def test_it_records_both_identities_while_impersonating(as_ada, sam, ada, acme):
    request = as_ada.get("/").wsgi_request
    event = record(request, AuditKind.APPROVAL, reason="Approved on the phone")
    assert (event.actor, event.on_behalf_of, event.customer) == (sam, ada, acme)
    assert event.on_behalf_of_email == ada.email
    assert event.impersonation == request.impersonation.id


def test_it_refuses_to_change_an_event(ada):
    event = AuditEvent.objects.create(kind=AuditKind.SIGN_IN, actor=ada)
    event.reason = "tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(reason="tampered")
    assert AuditEvent.objects.get(pk=event.pk).reason == ""


def test_it_refuses_to_delete_an_event(ada):
    event = AuditEvent.objects.create(kind=AuditKind.SIGN_IN, actor=ada)
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_it_keeps_the_emails_when_a_user_is_deleted(ben):
    event = AuditEvent.objects.create(kind=AuditKind.SIGN_IN, actor=ben, actor_email=ben.email)
    ben.delete()
    event = AuditEvent.objects.get(pk=event.pk)
    assert (event.actor, event.actor_email) == (None, "ben@acme.example")


def test_it_gives_nobody_add_change_or_delete_in_the_admin(superuser):
    request = RequestFactory().get("/admin/portal/auditevent/")
    request.user = superuser
    admin = site._registry[AuditEvent]
    assert admin.has_view_permission(request)
    assert not admin.has_add_permission(request)
    assert not admin.has_change_permission(request)
    assert not admin.has_delete_permission(request)


def test_it_lists_events_in_the_admin(superuser, ada):
    AuditEvent.objects.create(kind=AuditKind.SIGN_IN, actor=ada, actor_email=ada.email)
    client = Client()
    client.force_login(superuser, backend=LOGIN_BACKEND)
    verify_client(client, superuser)
    response = client.get("/admin/portal/auditevent/")
    assert response.status_code == 200
    assert "ada@acme.example" in response.text
    assert client.get("/admin/portal/auditevent/add/").status_code == 403


def test_it_records_a_sign_in_with_address_and_browser(ada):
    client = Client(HTTP_USER_AGENT="Ada's browser")
    client.post("/accounts/login/", {"username": "ada@acme.example", "password": "portal-demo"})
    event = AuditEvent.objects.get(kind=AuditKind.SIGN_IN)
    assert (event.actor, event.on_behalf_of) == (ada, None)
    assert (event.ip, event.user_agent, event.path) == (
        "127.0.0.1",
        "Ada's browser",
        "/accounts/login/",
    )


def test_it_records_a_failed_sign_in_without_the_password(ada):
    Client().post("/accounts/login/", {"username": "ada@acme.example", "password": "s3cret-guess"})
    event = AuditEvent.objects.get(kind=AuditKind.SIGN_IN_FAILED)
    assert event.actor is None
    assert event.details == {"email": "ada@acme.example"}
    assert "s3cret-guess" not in str(event.details)


def test_it_records_a_sign_out(ada_client, ada):
    ada_client.post("/accounts/logout/")
    event = AuditEvent.objects.get(kind=AuditKind.SIGN_OUT)
    assert event.actor == ada


def test_it_records_every_page_viewed_while_impersonating(as_ada, sam, ada, acme):
    as_ada.get("/")
    as_ada.get("/account/access-log/?page=1")
    as_ada.get("/missing/")
    views = AuditEvent.objects.filter(kind=AuditKind.PAGE_VIEWED).order_by("pk")
    assert [(v.path, v.details["status"]) for v in views] == [
        ("/", 200),
        ("/account/access-log/?page=1", 200),
        ("/missing/", 404),
    ]
    for view in views:
        assert (view.actor, view.on_behalf_of, view.customer, view.method) == (
            sam,
            ada,
            acme,
            "GET",
        )


def test_it_records_every_action_taken_while_impersonating(as_ada, sam, ada):
    as_ada.post("/support/elevate/", {"reason": "SUP-42 asked for it"})  # read-only writes nothing
    as_ada.post("/accounts/customer/", {"membership": ada.memberships.get().pk})
    action = AuditEvent.objects.get(kind=AuditKind.ACTION)
    assert (action.actor, action.on_behalf_of) == (sam, ada)
    assert (action.method, action.path) == ("POST", "/accounts/customer/")
    assert action.details == {"status": 302, "elevated": True}


def test_it_records_no_page_views_without_impersonation(ada_client, sam_client):
    ada_client.get("/")
    sam_client.get("/support/")
    assert not AuditEvent.objects.filter(kind=AuditKind.PAGE_VIEWED).exists()


def test_it_groups_the_events_of_one_impersonation(as_ada):
    as_ada.get("/")
    as_ada.post("/support/stop/")
    ids = set(
        AuditEvent.objects.exclude(impersonation=None).values_list("impersonation", flat=True)
    )
    assert len(ids) == 1
    kinds = list(
        AuditEvent.objects.exclude(impersonation=None).order_by("pk").values_list("kind", flat=True)
    )
    assert kinds == ["impersonation_started", "page_viewed", "impersonation_ended"]


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("127.0.0.1", "198.51.100.7", "198.51.100.7"),  # the proxy's word for the browser
        ("127.0.0.1", "10.9.9.9, 198.51.100.7", "198.51.100.7"),  # the entry the proxy added
        ("127.0.0.1", "not-an-address", "127.0.0.1"),
        ("127.0.0.1", "", "127.0.0.1"),
        ("203.0.113.9", "198.51.100.7", "203.0.113.9"),  # not a proxy: the header is ignored
    ],
)
def test_it_takes_the_browser_address_from_a_trusted_proxy_only(remote, forwarded, expected):
    from portal.audit import client_ip

    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_it_locks_out_one_browser_behind_the_proxy_not_every_user(ben):
    def sign_in(password: str, browser: str) -> int:
        return (
            Client()
            .post(
                "/accounts/login/",
                {"username": ben.email, "password": password},
                HTTP_X_FORWARDED_FOR=browser,
            )
            .status_code
        )

    statuses = [sign_in("wrong", "198.51.100.66") for _ in range(5)]
    assert statuses[-1] == 429
    assert sign_in("portal-demo", "198.51.100.66") == 429
    # ben's email stays paused from every address; someone else behind the proxy signs in.
    assert sign_in("portal-demo", "203.0.113.20") == 429
    ada = Client().post(
        "/accounts/login/",
        {"username": "ada@acme.example", "password": "portal-demo"},
        HTTP_X_FORWARDED_FOR="203.0.113.20",
    )
    assert ada.status_code == 302
