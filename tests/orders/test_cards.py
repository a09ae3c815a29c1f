"""The card on file (issue 24): the billing page's card section by role, adding a card through a
SetupIntent against a real localstripe, and activation charged to it or invoiced, with what Nue
is sent for the tenant's collection mode and what its subscriptions then carry."""

from __future__ import annotations

from django.urls import reverse

from nue_emulator.models import Order as EmuOrder
from nue_emulator.models import PaymentMethod as EmuPaymentMethod
from nue_emulator.models import Subscription as EmuSubscription
from orders.models import NuePaymentMethod, Operation, StripeCustomer
from portal.models import AuditEvent, AuditKind

from .card_helpers import confirm_setup
from .purchase_helpers import PRO, account, create_draft, line

CARD_URL = "/billing/card/"


def add_card(client, base: str, number: str = "4242424242424242"):
    secret = client.post(reverse("orders:billing_card_setup")).json()["clientSecret"]
    confirm_setup(base, secret, number)
    seti = secret.split("_secret_")[0]
    return client.post(reverse("orders:billing_card_save"), {"setup_intent": seti, "consent": "on"})


def test_it_has_stable_routes():
    assert reverse("orders:billing_card") == CARD_URL
    assert reverse("orders:billing_card_setup") == "/billing/card/setup/"
    assert reverse("orders:billing_card_save") == "/billing/card/save/"


def test_it_requires_login(client, db):
    assert client.get(CARD_URL).status_code == 302


def test_without_stripe_it_says_orders_are_paid_by_invoice(ada_client):
    page = ada_client.get(CARD_URL)
    assert page.status_code == 200
    assert "Card payments are not set up" in page.content.decode()
    assert "js.stripe.com" not in page["Content-Security-Policy"]
    assert ada_client.post(reverse("orders:billing_card_setup")).status_code == 502


def test_an_admin_gets_the_card_form_and_a_csp_naming_localstripe(ada_client, stripe_on):
    page = ada_client.get(CARD_URL)
    body = page.content.decode()
    assert 'id="card-form"' in body
    assert "may be charged" not in body  # the consent is the guide's, in full:
    assert "charging it for this and future invoices of Acme Corporation" in body
    assert f"{stripe_on}/js.stripe.com/v3/" in body
    csp = page["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp
    assert stripe_on in csp
    assert "<script>" not in body


def test_it_answers_htmx_with_the_section(ada_client, stripe_on):
    page = ada_client.get(CARD_URL, headers={"HX-Request": "true"})
    assert "<html" not in page.content.decode()
    assert 'id="card-on-file"' in page.content.decode()


def test_a_viewer_sees_the_card_and_may_not_change_it(ada_client, ben_client, stripe_on):
    add_card(ada_client, stripe_on)
    page = ben_client.get(CARD_URL).content.decode()
    assert "Visa ending 4242" in page
    assert "12/2034" in page
    assert 'id="card-form"' not in page
    assert ben_client.post(reverse("orders:billing_card_setup")).status_code == 403
    assert ben_client.post(reverse("orders:billing_card_save"), {}).status_code == 403


def test_a_buyer_may_replace_it_only_where_the_account_lets_buyers(bob_client, stripe_on):
    assert bob_client.post(reverse("orders:billing_card_setup")).status_code == 403
    assert 'id="card-form"' not in bob_client.get(CARD_URL).content.decode()
    acme = account()
    acme.buyers_manage_cards = True
    acme.save()
    assert 'id="card-form"' in bob_client.get(CARD_URL).content.decode()
    assert add_card(bob_client, stripe_on).status_code == 302


def test_an_admin_adds_a_card_and_it_is_audited(ada_client, stripe_on):
    response = add_card(ada_client, stripe_on)
    assert response.status_code == 302
    link = StripeCustomer.objects.get(account=account())
    assert link.stripe_customer_id.startswith("cus_")
    assert link.card_payment_method_id.startswith("pm_")
    assert link.nue_customer_id == account().nue_customer_id
    assert "Visa ending 4242" in ada_client.get(CARD_URL).content.decode()
    event = AuditEvent.objects.filter(kind=AuditKind.ACTION).latest("pk")
    assert event.details["action"] == "card_saved"
    assert event.details["card"] == "Visa ending 4242"
    assert "future invoices" in event.details["consent"]


def test_consent_is_required(ada_client, stripe_on):
    secret = ada_client.post(reverse("orders:billing_card_setup")).json()["clientSecret"]
    confirm_setup(stripe_on, secret)
    seti = secret.split("_secret_")[0]
    response = ada_client.post(reverse("orders:billing_card_save"), {"setup_intent": seti})
    assert response.status_code == 422
    assert StripeCustomer.objects.get(account=account()).card_payment_method_id == ""


def test_a_declined_card_saves_nothing_and_says_so(ada_client, stripe_on):
    response = add_card(ada_client, stripe_on, "4000000000000002")
    assert response.status_code == 422
    assert "nothing was saved" in response.content.decode()
    assert StripeCustomer.objects.get(account=account()).card_payment_method_id == ""


def test_an_unauthenticated_3d_secure_card_saves_nothing(ada_client, stripe_on):
    response = add_card(ada_client, stripe_on, "4000002760003184")
    assert response.status_code == 422
    assert "authentication did not complete" in response.content.decode()


def test_another_customers_setup_intent_is_refused(ada_client, grace_client, stripe_on):
    secret = grace_client.post(reverse("orders:billing_card_setup")).json()["clientSecret"]
    confirm_setup(stripe_on, secret)
    ada_client.post(reverse("orders:billing_card_setup"))
    seti = secret.split("_secret_")[0]
    response = ada_client.post(
        reverse("orders:billing_card_save"), {"setup_intent": seti, "consent": "on"}
    )
    assert response.status_code == 422
    assert "is not this account" in response.content.decode()


def test_read_only_impersonation_writes_nothing(sam_client, ada, stripe_on):
    started = sam_client.post(
        f"/support/impersonate/{ada.memberships.get().pk}/", {"reason": "Ticket SUP-42"}
    )
    assert started.status_code == 302
    assert 'id="card-on-file"' in sam_client.get(CARD_URL).content.decode()
    assert sam_client.post(reverse("orders:billing_card_setup")).status_code == 403
    save = {"setup_intent": "seti_x", "consent": "on"}
    assert sam_client.post(reverse("orders:billing_card_save"), save).status_code == 403
    assert not StripeCustomer.objects.exists()


# Activation charged to the card, or invoiced.


def activate(client, draft_id: str, **data):
    return client.post(reverse("orders:draft_activate", args=[draft_id]), {"consent": "on", **data})


def sent(draft_id: str) -> dict:
    return Operation.objects.get(kind=Operation.Kind.ACTIVATE, target=draft_id).request


def test_the_activation_form_names_the_card_and_invoice(ada_client, stripe_on):
    add_card(ada_client, stripe_on)
    draft_id = create_draft(ada_client, line("la", PRO))
    page = ada_client.get(reverse("orders:order_detail", args=[draft_id])).content.decode()
    assert "Charge Visa ending 4242 (expires 12/2034)" in page
    assert "Pay by invoice" in page


def test_without_stripe_the_activation_form_offers_invoice_only_and_says_so(ada_client):
    draft_id = create_draft(ada_client, line("la", PRO))
    page = ada_client.get(reverse("orders:order_detail", args=[draft_id])).content.decode()
    assert "Pay by invoice" in page
    assert "Charge " not in page
    assert "Card payments are not set up" in page


def test_payment_links_send_the_hub_once_and_the_card(ada_client, stripe_on, settings):
    settings.NUE_COLLECTION_MODE = "payment_links"
    add_card(ada_client, stripe_on)
    link = StripeCustomer.objects.get(account=account())
    first = create_draft(ada_client, line("la", PRO))
    assert activate(ada_client, first, pay="card").status_code == 302
    body = sent(first)
    assert body["transactionHub"] == {
        "externalSystem": "Stripe",
        "externalId": link.stripe_customer_id,
        "transactionType": "Customer",
    }
    assert body["paymentMethodObject"] == {
        "externalPaymentMethodId": link.card_payment_method_id,
        "name": "Visa ending 4242",
        "paymentMethodType": "Credit Card",
        "paymentSystem": "Stripe",
        "autoChargeEnabled": True,
    }
    # What Nue now holds: one payment method for the card, on the new subscription.
    (method,) = EmuPaymentMethod.objects.filter(external_id=link.card_payment_method_id)
    subs = EmuSubscription.objects.filter(order_id=first)
    assert {s.doc["defaultPaymentMethodId"] for s in subs} == {method.id}
    assert EmuOrder.objects.get(id=first).doc["transactionHub"]["externalId"] == (
        link.stripe_customer_id
    )
    link.refresh_from_db()
    assert link.hub_sent_at is not None
    assert NuePaymentMethod.objects.get(nue_payment_method_id=method.id).stripe_payment_method_id
    result = ada_client.get(reverse("orders:activation_result", args=[first])).content.decode()
    assert "Visa ending 4242 (expires 12/2034)" in result
    # The hub goes once per customer; the same card again updates Nue's, never duplicates it.
    second = create_draft(ada_client, line("la", PRO))
    activate(ada_client, second, pay="card")
    assert "transactionHub" not in sent(second)
    assert sent(second)["paymentMethodObject"]["externalPaymentMethodId"] == (
        link.card_payment_method_id
    )
    assert EmuPaymentMethod.objects.filter(external_id=link.card_payment_method_id).count() == 1


def test_stripe_invoicing_sends_the_hub_only(ada_client, stripe_on, settings):
    settings.NUE_COLLECTION_MODE = "stripe_invoicing"
    add_card(ada_client, stripe_on)
    draft_id = create_draft(ada_client, line("la", PRO))
    assert activate(ada_client, draft_id, pay="card").status_code == 302
    body = sent(draft_id)
    assert body["transactionHub"]["externalSystem"] == "Stripe"
    assert "paymentMethodObject" not in body
    subs = EmuSubscription.objects.filter(order_id=draft_id)
    assert {s.doc["defaultPaymentMethodId"] for s in subs} == {None}


def test_paying_by_invoice_sends_no_payment_method(ada_client, stripe_on):
    add_card(ada_client, stripe_on)
    draft_id = create_draft(ada_client, line("la", PRO))
    assert activate(ada_client, draft_id, pay="invoice").status_code == 302
    assert "transactionHub" not in sent(draft_id)
    assert "paymentMethodObject" not in sent(draft_id)
    result = ada_client.get(reverse("orders:activation_result", args=[draft_id])).content.decode()
    assert "Invoice" in result


def test_charging_a_card_that_is_not_there_is_a_form_error(ada_client, stripe_on):
    draft_id = create_draft(ada_client, line("la", PRO))
    response = activate(ada_client, draft_id, pay="card")
    assert response.status_code == 422
    assert not Operation.objects.filter(target=draft_id).exists()


def test_a_retry_is_answered_with_what_the_first_submit_sent(ada_client, stripe_on):
    add_card(ada_client, stripe_on)
    draft_id = create_draft(ada_client, line("la", PRO))
    activate(ada_client, draft_id, pay="card")
    again = activate(ada_client, draft_id, pay="invoice")
    assert again.status_code == 302
    (op,) = Operation.objects.filter(kind=Operation.Kind.ACTIVATE, target=draft_id)
    assert "paymentMethodObject" in op.request


def test_the_billing_page_shows_the_card_section_above_the_contacts(ada_client, stripe_on):
    add_card(ada_client, stripe_on)
    page = ada_client.get(reverse("orders:billing"))
    body = page.content.decode()
    assert body.index('id="card-on-file"') < body.index('id="billing-contacts"')
    assert "Visa ending 4242" in body
    assert stripe_on in page["Content-Security-Policy"]


def test_the_billing_page_names_no_stripe_host_for_a_viewer(ben_client, stripe_on):
    page = ben_client.get(reverse("orders:billing"))
    assert 'id="card-on-file"' in page.content.decode()
    assert stripe_on not in page["Content-Security-Policy"]
