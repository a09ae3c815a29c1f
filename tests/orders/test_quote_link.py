"""Quote links: made for a draft of one's own customer (or of a manager's book) only, copied,
dated, and flagged when the draft changed since."""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from django.urls import reverse

from orders.models import QuoteLink
from portal.models import AuditEvent, AuditKind, User
from tests.conftest import signed_in
from tests.orders.approval_helpers import GLOBEX, account, big_draft, make_buyer


@pytest.fixture
def bob(db) -> User:
    return make_buyer()


@pytest.fixture
def bob_client(bob) -> Client:
    return signed_in(bob)


def _url(order_id: str) -> str:
    return reverse("orders:quote_link", args=[order_id])


def _detail(order_id: str) -> str:
    return reverse("orders:order_detail", args=[order_id])


def test_it_generates_a_link_for_a_draft_of_ones_own_customer(bob, bob_client, settings):
    order = big_draft()

    response = bob_client.post(_url(order.id), {"template": ""})

    assert response.status_code == 302
    assert response["Location"] == _detail(order.id) + "#quote-link"
    link = QuoteLink.objects.get(order_id=order.id)
    assert link.url.startswith("http://testserver/nue-emulator/view-order/")
    assert settings.NUE_API_KEY not in link.url
    assert link.generated_by == bob
    assert link.figures["grand_total"] == f"{order.total:.2f}"
    page = bob_client.get(_detail(order.id)).content.decode()
    assert link.url in page
    assert "Copy link" in page
    assert "Generated" in page
    assert f"/quote/{link.token}/" in page
    assert "js/quote_link.js" in page


def test_it_opens_the_quote_the_link_points_to(bob_client):
    order = big_draft()
    bob_client.post(_url(order.id), {"template": ""})
    url = QuoteLink.objects.get(order_id=order.id).url
    quote = Client().get(url.removeprefix("http://127.0.0.1:8000"))
    assert quote.status_code == 200
    assert order.order_number.encode() in quote.content


def test_it_uses_a_branded_template_when_chosen(bob_client):
    order = big_draft()
    bob_client.post(_url(order.id), {"template": "custom-branded-template"})
    assert QuoteLink.objects.get(order_id=order.id).template_id == "custom-branded-template"


def test_it_rejects_an_unknown_template(bob_client):
    order = big_draft()
    response = bob_client.post(_url(order.id), {"template": "nope"}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert not QuoteLink.objects.filter(order_id=order.id).exists()


def test_it_answers_htmx_with_the_panel(bob_client):
    order = big_draft()
    response = bob_client.post(_url(order.id), {"template": ""}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="quote-link"' in body
    assert "<html" not in body
    assert QuoteLink.objects.get(order_id=order.id).url in body


def test_it_says_when_the_draft_changed_since_the_link(bob_client):
    order = big_draft()
    bob_client.post(_url(order.id), {"template": ""})
    link = QuoteLink.objects.get(order_id=order.id)
    link.figures = dict(link.figures, grand_total="1.00")
    link.save()

    page = bob_client.get(_detail(order.id)).content.decode()

    assert "The draft changed since this link was made" in page
    assert "Regenerate link" in page


def test_it_regenerates_with_the_current_figures(bob_client):
    order = big_draft()
    bob_client.post(_url(order.id), {"template": ""})
    QuoteLink.objects.filter(order_id=order.id).update(figures={"grand_total": "1.00"})

    first = QuoteLink.objects.get(order_id=order.id)
    bob_client.post(_url(order.id), {"template": ""})

    link = QuoteLink.objects.get(order_id=order.id, superseded_at=None)
    assert link.pk != first.pk
    assert link.figures["grand_total"] == f"{order.total:.2f}"
    page = bob_client.get(_detail(order.id)).content.decode()
    assert "changed since" not in page
    # The link before it is superseded: it no longer opens the quote, and the page offers the new.
    first.refresh_from_db()
    assert first.superseded_at is not None
    assert first.token not in page
    assert link.token in page


def test_it_lets_a_viewer_see_but_not_make_a_link(bob_client, ben_client):
    order = big_draft()
    assert ben_client.post(_url(order.id), {"template": ""}).status_code == 403
    bob_client.post(_url(order.id), {"template": ""})
    page = ben_client.get(_detail(order.id)).content.decode()
    assert QuoteLink.objects.get(order_id=order.id).url in page
    assert "Regenerate link" not in page


def test_it_hides_another_customers_draft(grace_client):
    order = big_draft()
    assert grace_client.post(_url(order.id), {"template": ""}).status_code == 404
    assert not QuoteLink.objects.exists()


def test_it_never_shows_a_link_to_another_customer(bob_client, grace_client):
    order = big_draft()
    bob_client.post(_url(order.id), {"template": ""})
    url = QuoteLink.objects.get(order_id=order.id).url
    assert url not in grace_client.get(_detail(order.id)).content.decode()


def test_it_lets_a_manager_make_a_link_for_a_customer_in_the_book(maria, maria_client):
    order = big_draft()
    url = reverse("orders:review_quote_link", args=[account().pk, order.id])

    response = maria_client.post(url, {"template": ""})

    assert response.status_code == 302
    assert QuoteLink.objects.get(order_id=order.id).generated_by == maria
    event = AuditEvent.objects.filter(kind=AuditKind.ACTION).latest("created_at")
    assert event.details["action"] == "quote_link_generated"
    assert event.customer == account()


def test_it_is_not_found_for_a_customer_outside_the_book(db):
    manager = User.objects.create_user("gus@nue.example", is_staff=True)
    account(GLOBEX).managers.add(manager)
    order = big_draft()
    url = reverse("orders:review_quote_link", args=[account().pk, order.id])
    assert signed_in(manager).post(url, {"template": ""}).status_code == 404


def test_it_refuses_an_activated_order(ada_client):
    from orders.scope import CustomerNue

    scope = CustomerNue(account())
    activated = next(o for o in scope.orders() if o.status == "Activated")
    response = ada_client.post(_url(activated.id), {"template": ""})
    assert response.status_code == 409


def test_it_never_logs_the_link(bob_client, caplog):
    order = big_draft()
    with caplog.at_level(logging.DEBUG):
        bob_client.post(_url(order.id), {"template": ""})
    url = QuoteLink.objects.get(order_id=order.id).url
    assert url not in caplog.text
    assert url.rsplit("/", 1)[-1] not in caplog.text
    assert not any(url in str(e.details) for e in AuditEvent.objects.all())


def test_it_rejects_get(bob_client):
    assert bob_client.get(_url(big_draft().id)).status_code == 405


def test_it_requires_sign_in(db, client):
    response = client.post(_url(big_draft().id), {"template": ""})
    assert response.status_code == 302


def test_it_links_on_the_requests_own_host_without_a_site_url(bob_client, settings):
    settings.SITE_URL = ""
    order = big_draft()
    bob_client.post(_url(order.id), {"template": ""}, HTTP_HOST="127.0.0.1:8001")
    link = QuoteLink.objects.get(order_id=order.id)
    assert link.url.startswith("http://127.0.0.1:8001/nue-emulator/view-order/")


def test_it_links_on_the_site_url_when_set(bob_client, settings):
    settings.SITE_URL = "https://portal.example.com"
    order = big_draft()
    bob_client.post(_url(order.id), {"template": ""}, HTTP_HOST="127.0.0.1:8001")
    link = QuoteLink.objects.get(order_id=order.id)
    assert link.url.startswith("https://portal.example.com/nue-emulator/view-order/")


def test_it_links_invoice_pdfs_on_the_requests_own_host(ada_client, settings):
    settings.SITE_URL = ""
    html = ada_client.get("/invoices/", HTTP_HOST="localhost:8001").text
    assert 'href="http://localhost:8001/nue-emulator/view-invoice/' in html
