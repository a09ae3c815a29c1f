"""Paying an open invoice with the card on file (issue 24, item 5): the button on the invoice
list and page, the return from the card's authentication (3-D Secure), and Stripe's webhook.
What happens is orders.actions.invoice_payments; who may pay is orders.policy.can_pay_invoices.
The pages then show Nue's invoice as read again, never the portal's idea of it."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from orders import stripe_gateway as gateway
from orders.actions import invoice_payments as payments
from orders.http import CustomerRequest
from orders.models import InvoicePayment, StripeEvent
from orders.policy import can_pay_invoices
from orders.stripe_gateway import BadSignature, StripeError
from orders.templatetags.money import money
from orders.views.common import customer_scope
from portal.audit import pending
from portal.impersonation import money_moving
from portal.models import AuditKind

State = InvoicePayment.State


def _say(request: CustomerRequest, outcome: payments.Outcome) -> None:
    payment = outcome.payment
    amount = money(payment.amount, payment.currency)
    if payment.state == State.RECORDED:
        status = outcome.invoice.payment_status if outcome.invoice else None
        said = {"amount": amount, "card": payment.card_label, "status": status}
        messages.success(
            request,
            _("Paid %(amount)s with %(card)s. Nue shows the invoice as %(status)s.") % said
            if status
            else _("Paid %(amount)s with %(card)s.") % said,
        )
    elif payment.state == State.NEEDS_REVIEW:
        messages.warning(
            request,
            _(
                "%(card)s was charged %(amount)s; Nue shows another payment on this invoice too. "
                "We have not recorded ours twice; your account manager will reconcile it "
                "(reference %(reference)s)."
            )
            % {"card": payment.card_label, "amount": amount, "reference": payment.reference},
        )
    elif payment.state == State.FAILED:
        messages.error(request, payment.message or _("The card was not charged."))
    elif payment.state == State.REQUIRES_ACTION:
        messages.info(
            request,
            _("Your bank asks you to confirm the payment of %(amount)s.") % {"amount": amount},
        )
    elif payment.state in (State.CHARGED, State.RECORDING, State.UNKNOWN):
        messages.warning(
            request,
            _(
                "%(card)s was charged %(amount)s; the billing system has not confirmed the "
                "payment yet. It is not charged again: reload this page in a minute."
            )
            % {"card": payment.card_label, "amount": amount}
            + (f" ({payment.message})" if payment.message else ""),
        )
    else:
        messages.info(
            request,
            _("The payment of %(amount)s is under way with Stripe; reload this page in a minute.")
            % {"amount": amount}
            + (f" ({payment.message})" if payment.message else ""),
        )


def _may_pay(request: CustomerRequest) -> None:
    if not can_pay_invoices(request.membership):
        raise PermissionDenied(_("Your role may not pay invoices."))


@require_POST
@money_moving
def invoice_pay(request: CustomerRequest, invoice_id: str) -> HttpResponse:
    """Charge the card on file for the invoice's balance, as Nue gives it now."""
    nue = customer_scope(request)
    _may_pay(request)
    try:
        outcome = payments.start(
            nue,
            invoice_id,
            by=request.user,
            via=request.impersonator,
            audit=pending(request, AuditKind.ACTION),
        )
    except (payments.PayProblem, StripeError) as error:
        messages.error(request, error.message)
    else:
        _say(request, outcome)
        invoice_id = outcome.payment.invoice_id
    return redirect("orders:invoice_detail", invoice_id)


@require_POST
@money_moving
def invoice_pay_confirm(request: CustomerRequest, invoice_id: str, key: str) -> HttpResponse:
    """Back from Stripe.js's authentication: Stripe is asked how the payment stands."""
    nue = customer_scope(request)
    _may_pay(request)
    payment = InvoicePayment.objects.filter(
        account=nue.account, invoice_id=invoice_id, idempotency_key=key
    ).first()
    if payment is None:
        raise Http404("No such payment.")
    try:
        _say(request, payments.complete(nue, payment))
    except (payments.PayProblem, StripeError) as error:
        messages.error(request, error.message)
    return redirect("orders:invoice_detail", invoice_id)


@login_not_required
@csrf_exempt  # Stripe signs its deliveries instead (STRIPE_WEBHOOK_SECRET); no session is used.
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's events about charges the portal started: payment_intent.succeeded and
    payment_intent.payment_failed. Verified, applied once per event id, idempotent per
    payment."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret or not gateway.configured():
        return JsonResponse({"error": "webhooks are not configured"}, status=400)
    try:
        event = gateway.webhook_event(
            request.body, request.headers.get("Stripe-Signature", ""), secret
        )
    except BadSignature as error:
        return JsonResponse({"error": error.message}, status=400)
    _event, created = StripeEvent.objects.get_or_create(
        event_id=event.id, defaults={"type": event.type}
    )
    if not created:
        return JsonResponse({"received": True, "done": "already handled"})
    try:
        done = payments.on_stripe_event(event)
    except BaseException as error:
        # Stripe retries a delivery that failed: an event not acted on is not counted as
        # handled, whatever stopped it (Stripe, Nue, the database).
        StripeEvent.objects.filter(event_id=event.id).delete()
        if isinstance(error, StripeError):
            return JsonResponse({"error": error.message}, status=503)
        raise
    return JsonResponse({"received": True, "done": str(done)})
