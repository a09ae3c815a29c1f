import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client

from tests.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_reset_counters():
    cache.clear()
    yield
    cache.clear()


def _sign_in(email: str, password: str, address: str) -> int:
    # The test client's connection is the trusted proxy; the browser's address is forwarded.
    return (
        Client()
        .post(
            "/accounts/login/",
            {"username": email, "password": password},
            HTTP_X_FORWARDED_FOR=address,
        )
        .status_code
    )


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
    assert "email and password don&#x27;t match an account" in response.text
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


def test_it_locks_one_email_tried_from_many_addresses(ada, bob):
    for n in range(5):
        assert _sign_in("ada@acme.example", "wrong", f"198.51.100.{n + 1}") in (200, 429)
    assert _sign_in("ada@acme.example", "portal-demo", "198.51.100.99") == 429
    assert _sign_in("bob@acme.example", "portal-demo", "198.51.100.99") == 302


def test_it_locks_one_address_trying_many_emails(ada, bob):
    for n in range(5):
        _sign_in(f"guess{n}@acme.example", "wrong", "198.51.100.7")
    assert _sign_in("bob@acme.example", "portal-demo", "198.51.100.7") == 429
    assert _sign_in("bob@acme.example", "portal-demo", "198.51.100.8") == 302


def test_it_throttles_password_reset_requests_per_email(ada):
    for _ in range(3):
        assert (
            Client().post("/accounts/password-reset/", {"email": "ada@acme.example"}).status_code
            == 302
        )
    refused = Client().post("/accounts/password-reset/", {"email": "ADA@acme.example"})
    assert refused.status_code == 429
    assert b"Too many reset requests" in refused.content
    assert len(mail.outbox) == 3


def test_it_throttles_password_reset_requests_per_address(ada):
    def ask(email: str) -> int:
        return (
            Client()
            .post(
                "/accounts/password-reset/", {"email": email}, HTTP_X_FORWARDED_FOR="198.51.100.7"
            )
            .status_code
        )

    assert [ask(f"nobody{n}@nowhere.example") for n in range(10)] == [302] * 10
    assert ask("ada@acme.example") == 429
    assert mail.outbox == []


def _reset_link(client: Client) -> str:
    client.post("/accounts/password-reset/", {"email": "ada@acme.example"})
    match = re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", mail.outbox[-1].body)
    assert match is not None
    return match.group(1)


def test_it_requires_new_passwords_of_twelve_characters(ada):
    client = Client()
    form_url = client.get(_reset_link(client), follow=True).wsgi_request.path
    short = client.post(form_url, {"new_password1": "Tq8#vLw2pXz", "new_password2": "Tq8#vLw2pXz"})
    assert short.status_code == 200
    assert "at least 12 characters" in short.text
    done = client.post(form_url, {"new_password1": "Tq8#vLw2pXz!", "new_password2": "Tq8#vLw2pXz!"})
    assert done.status_code == 302


def test_it_links_reset_mail_to_the_requests_host_or_the_site_url(ada, settings):
    Client().post(
        "/accounts/password-reset/", {"email": "ada@acme.example"}, HTTP_HOST="127.0.0.1:8001"
    )
    assert "http://127.0.0.1:8001/accounts/reset/" in mail.outbox[-1].body
    settings.SITE_URL = "https://portal.example.com"
    Client().post(
        "/accounts/password-reset/", {"email": "ada@acme.example"}, HTTP_HOST="127.0.0.1:8001"
    )
    assert "https://portal.example.com/accounts/reset/" in mail.outbox[-1].body
