import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def nav(response) -> str:
    match = re.search(r'<nav class="main-nav".*?</nav>', response.text, re.S)
    return match.group(0) if match else ""


def test_it_shows_a_customer_the_customer_navigation(ada_client, ada):
    response = ada_client.get("/")
    assert 'aria-current="page"' in nav(response)
    assert "Admin" not in nav(response)
    assert "Acme" in response.text
    assert "Admin</span>" in response.text  # Ada's role badge


def test_it_shows_the_superuser_the_admin_link(superuser):
    from tests.conftest import signed_in

    response = signed_in(superuser).get("/")
    assert 'href="/admin/"' in nav(response)


def test_it_shows_an_account_manager_the_book(maria_client):
    response = maria_client.get("/")
    assert "Your book of customers" in response.text
    assert "Acme" in response.text
    assert "Globex" in response.text


def test_it_sends_a_strict_csp_with_a_fresh_nonce(ada_client):
    first = ada_client.get("/")
    second = ada_client.get("/")
    policy = first.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    nonce_1 = re.search(r"'nonce-([^']+)'", policy).group(1)
    nonce_2 = re.search(r"'nonce-([^']+)'", second.headers["Content-Security-Policy"]).group(1)
    assert nonce_1 != nonce_2
    assert f'nonce="{nonce_1}"' in first.text


def test_it_serves_htmx_locally_and_puts_the_csrf_header_on_body(ada_client):
    response = ada_client.get("/")
    assert re.search(r'<script src="/static/django_htmx/htmx-2[^"]*\.js"', response.text)
    assert "https://" not in re.sub(r'content="[^"]*"', "", response.text.split("<body")[0])
    body = re.search(r"<body[^>]*>", response.text).group(0)
    assert "X-CSRFToken" in body
    assert "<script>" not in response.text  # no inline script


def test_it_configures_htmx_without_eval(ada_client):
    response = ada_client.get("/")
    assert '"allowEval": false' in response.text


def test_it_renders_a_friendly_404():
    response = Client().get("/accounts/definitely-missing/")
    assert response.status_code in (302, 404)


def test_it_renders_a_friendly_404_for_signed_in_users(ada_client):
    response = ada_client.get("/no-such-page/")
    assert response.status_code == 404
    assert "We couldn't find that page" in response.text


def test_it_redirects_the_favicon_to_the_static_icon():
    response = Client().get("/favicon.ico")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("favicon.svg")


def test_it_answers_the_health_check_without_sign_in():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


def test_it_answers_the_health_check_over_plain_http_behind_an_https_redirect(settings):
    settings.SECURE_SSL_REDIRECT = True
    assert Client().get("/healthz").status_code == 200
    assert Client().get("/accounts/login/").status_code == 301
