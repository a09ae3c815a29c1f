import pytest

from portal.middleware import SESSION_KEY
from portal.models import CustomerAccount, Membership, Role
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(ada) -> CustomerAccount:
    return ada.memberships.get().account


@pytest.fixture
def globex(grace) -> CustomerAccount:
    return grace.memberships.get().account


def test_it_acts_for_the_only_customer_of_a_member(ada_client, acme):
    response = ada_client.get("/")
    assert response.status_code == 200
    assert response.wsgi_request.customer == acme
    assert acme.name.encode() in response.content


def test_it_asks_a_member_of_several_customers_to_choose(ada, acme, globex):
    Membership.objects.create(user=ada, account=globex, role=Role.VIEWER)
    client = signed_in(ada)
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/customer/"
    page = client.get("/accounts/customer/")
    assert acme.name in page.text
    assert globex.name in page.text

    choice = ada.memberships.get(account=globex)
    response = client.post("/accounts/customer/", {"membership": choice.pk, "next": "/"})
    assert response.status_code == 302
    assert client.get("/").wsgi_request.customer == globex


def test_it_refuses_to_select_another_users_membership(ada, grace, globex):
    client = signed_in(ada)
    foreign = grace.memberships.get()
    response = client.post("/accounts/customer/", {"membership": foreign.pk})
    assert response.status_code == 404
    assert SESSION_KEY not in client.session
    assert client.get("/").wsgi_request.customer != globex


def test_it_rejects_a_tampered_membership_value(ada_client):
    response = ada_client.post("/accounts/customer/", {"membership": "1 OR 1=1"})
    assert response.status_code == 404


def test_it_revalidates_the_stored_choice_on_every_request(ada, acme, globex):
    membership = Membership.objects.create(user=ada, account=globex, role=Role.VIEWER)
    client = signed_in(ada)
    client.post("/accounts/customer/", {"membership": membership.pk})
    assert client.get("/").wsgi_request.customer == globex
    membership.delete()
    response = client.get("/")
    assert response.wsgi_request.customer == acme
    assert SESSION_KEY not in client.session


def test_it_ignores_a_redirect_to_another_host_after_choosing(ada, globex):
    membership = Membership.objects.create(user=ada, account=globex, role=Role.VIEWER)
    client = signed_in(ada)
    response = client.post(
        "/accounts/customer/", {"membership": membership.pk, "next": "https://evil.example/"}
    )
    assert response.headers["Location"] == "/"


def test_it_gives_staff_no_acting_customer(maria_client):
    response = maria_client.get("/")
    assert response.status_code == 200
    assert response.wsgi_request.customer is None
