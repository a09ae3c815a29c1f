import pytest
from django.core import mail
from django.test import Client

from tests.conftest import signed_in

pytestmark = pytest.mark.django_db


def test_it_shows_the_sign_in_page_to_anonymous_users():
    response = Client().get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'type="email"' in response.content


def test_it_signs_in_by_email_and_rotates_the_session(ada):
    client = Client()
    client.get("/accounts/login/")
    client.session["probe"] = 1
    before = client.session.session_key
    response = client.post(
        "/accounts/login/", {"username": "ADA@acme.example ", "password": "portal-demo"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.session.session_key != before
    assert int(client.session["_auth_user_id"]) == ada.pk


def test_it_rejects_a_wrong_password_without_saying_which_part_was_wrong(ada):
    response = Client().post(
        "/accounts/login/", {"username": "ada@acme.example", "password": "nope"}
    )
    assert response.status_code == 200
    assert "email and password don&#39;t match an account" in response.text
    assert "_auth_user_id" not in response.wsgi_request.session


def test_it_locks_sign_in_after_repeated_failures(ada):
    client = Client()
    for _ in range(5):
        client.post("/accounts/login/", {"username": "ada@acme.example", "password": "wrong"})
    response = client.post(
        "/accounts/login/", {"username": "ada@acme.example", "password": "portal-demo"}
    )
    assert response.status_code == 429
    assert b"Too many sign-in attempts" in response.content


def test_it_signs_out_only_by_post(ada):
    client = signed_in(ada)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302


def test_it_sends_a_password_reset_link_by_email(ada):
    response = Client().post("/accounts/password-reset/", {"email": "ada@acme.example"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body


def test_it_does_not_reveal_whether_an_email_has_an_account():
    response = Client().post("/accounts/password-reset/", {"email": "nobody@nowhere.example"})
    assert response.status_code == 302
    assert mail.outbox == []
