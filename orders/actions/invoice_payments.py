"""Paying an open invoice with the card on file, where the portal starts the charge itself
(issue 24, item 5), and recording the payment in Nue (nue-api.md §2.8,
POST /billing/invoices:pay) exactly once.

Which way an invoice is paid: with NUE_COLLECTION_MODE=payment_links and a `paymentHostedUrl`
on the invoice, Nue collects on its own page and the portal offers no second way; otherwise,
when a card is on file and Stripe is configured, the portal charges the card and tells Nue.

The durable record (orders.models.InvoicePayment) is committed before Stripe is called and is
unique per invoice and balance while not failed, so pressing the button again, in another tab
or after a timeout, resumes it and never charges twice (its key is Stripe's idempotency key).
Just before invoices:pay is sent the invoice's balance and number of payment applications are
read and kept; a lost answer is settled by reading them again: exactly our payment added means
recorded, nothing changed means not applied (resent under the ledger's rule), anything else
(someone else paid meanwhile) needs review and is never resent. The clock never says recorded.
Nothing is shown as paid unless Nue's re-read invoice says so. Every outcome is audited as the
member's who started the payment, whether the request, a retry or Stripe's webhook learned it; a
declined charge is also emailed to the account's admins (`_decline`, once, however learned).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders import stripe_gateway as gateway
from orders.actions import cards
from orders.actions.invoices import is_open, portal_collects
from orders.ledger import nue_had_time
from orders.models import InvoicePayment, StripeCustomer
from orders.nue import (
    Invoice,
    NueAuthError,
    NueConflict,
    NueError,
    NueNotFound,
    NueValidationError,
    PayInvoiceRequest,
    site_url,
)
from orders.scope import CustomerNue, for_customer
from orders.stripe_gateway import Card, CardRefused, StripeError
from orders.templatetags.money import UNKNOWN, currency_code
from portal.audit import pending_from, write
from portal.models import AuditKind, CustomerAccount, NotificationKind, User
from portal.notifications import notify

logger = logging.getLogger("orders.payments")

State = InvoicePayment.State
# Stripe has not finished with the charge: a new press resumes the payment, never a new one.
CHARGING = (State.STARTED, State.REQUIRES_ACTION, State.PROCESSING)
# Nue answers these definitely: the payment was not recorded, and sending it again is safe.
REFUSALS = (NueValidationError, NueNotFound, NueConflict, NueAuthError)
PAYMENT_APPLICATIONS = "paymentApplications"


# Said of every declined or unauthenticated charge, however Stripe reported it.
NOTHING_CHARGED = gettext_lazy("Nothing was charged: try again or replace the card.")


class PayProblem(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Outcome:
    """Where a payment stands, with Nue's invoice as last read (None when it could not be)."""

    payment: InvoicePayment
    invoice: Invoice | None = None

    @property
    def paid_in_nue(self) -> bool:
        return self.invoice is not None and not is_open(self.invoice)


def card_to_charge(account: CustomerAccount) -> Card | None:
    """The card on file the portal may charge (None: no card, or Stripe not configured)."""
    return cards.card_on_file(account).card


def minor_units(amount: Decimal, currency: str) -> int:
    """Nue's amount in the currency's smallest unit, as Stripe takes it; an amount that does
    not convert exactly is not charged at all (never rounded)."""
    scaled = amount.scaleb(gateway.minor_digits(currency))
    if scaled != scaled.to_integral_value() or scaled <= 0:
        raise PayProblem(
            _("%(amount)s %(currency)s cannot be charged to a card exactly; nothing was charged.")
            % {"amount": amount, "currency": currency}
        )
    return int(scaled)


def _audit(payment: InvoicePayment, action: str, **more: Any) -> None:
    spec: Mapping[str, Any] = payment.audit_spec or {"customer": payment.account_id}
    write(
        pending_from(
            spec,
            AuditKind.ACTION,
            action=action,
            invoice_id=payment.invoice_id,
            invoice=payment.invoice_number,
            amount=payment.amount,
            currency=payment.currency,
            card=payment.card_label,
            payment_intent=payment.payment_intent_id or "",
            **more,
        )
    )


def _move(payment: InvoicePayment, frm: tuple[str, ...], to: str, **fields: Any) -> bool:
    """Move the payment from one of `frm` to `to` under a row lock; False when another path
    (the webhook, another tab) moved it first. `payment` is refreshed either way."""
    with transaction.atomic():
        locked = InvoicePayment.objects.select_for_update().get(pk=payment.pk)
        moved = locked.state in frm
        if moved:
            locked.state = to
            for name, value in fields.items():
                setattr(locked, name, value)
            locked.save()
    payment.refresh_from_db()
    return moved


def _decline(payment: InvoicePayment, message: str, **more: Any) -> bool:
    """The charge failed (declined, or not authenticated): the payment steps aside, audited, and
    the account is told (payment failed, essential for its admins), in one transaction and only
    by the path that moved it; False when another path had settled it already."""
    with transaction.atomic():
        if not _move(payment, CHARGING, State.FAILED, message=message):
            return False
        _audit(payment, "invoice_payment_declined", reason_text=message, **more)
        context = {
            "invoice_number": payment.invoice_number or payment.invoice_id,
            "amount": payment.amount,
            "currency": payment.currency,
            "card": payment.card_label,
            "reason": message,
            "link": site_url(reverse("orders:invoice_detail", args=[payment.invoice_id])),
            "site_url": site_url(""),
        }
        notify(NotificationKind.PAYMENT_FAILED, payment.account, context)
    return True


def live_payment(account: CustomerAccount, invoice_id: str) -> InvoicePayment | None:
    """The invoice's payment still under way (not failed, not recorded), if any."""
    return (
        InvoicePayment.objects.filter(account=account, invoice_id=invoice_id)
        .exclude(state__in=(State.FAILED, State.RECORDED))
        .order_by("-created_at")
        .first()
    )


def start(
    nue: CustomerNue, invoice_id: str, *, by: User, via: User | None, audit: Mapping[str, Any]
) -> Outcome:
    """Charge the card on file for the invoice's balance as Nue gives it now, and record it."""
    invoice = nue.invoice(invoice_id)
    account = nue.account
    live = live_payment(account, invoice.id or invoice_id)
    if live is not None:
        return resume(nue, live)
    if not is_open(invoice) or invoice.balance is None:
        raise PayProblem(_("Nue shows nothing left to pay on this invoice."))
    if not portal_collects(invoice.payment_url):
        raise PayProblem(_("This invoice is paid on the billing system's payment page."))
    link = StripeCustomer.objects.filter(account=account).first()
    card = card_to_charge(account)
    if link is None or card is None or not link.card_payment_method_id:
        raise PayProblem(_("There is no card on file to charge: add one on the billing page."))
    currency = currency_code(invoice.currency)
    if currency == UNKNOWN:
        # A card is charged in a currency; guessing one could charge the wrong amount.
        raise PayProblem(
            _(
                "Nue names no currency for this invoice, so it cannot be charged to a card; pay"
                " it as the invoice says."
            )
        )
    minor = minor_units(invoice.balance, currency)
    try:
        with transaction.atomic():
            payment = InvoicePayment.objects.create(
                account=account,
                invoice_id=invoice.id or invoice_id,
                invoice_number=invoice.name or "",
                amount=invoice.balance,
                currency=currency,
                payment_method_id=link.card_payment_method_id,
                card_label=card.label,
                by=by,
                via=via,
                audit_spec=dict(audit),
            )
    except IntegrityError:
        # Another press made it first: that one is the payment.
        payment = InvoicePayment.objects.exclude(state=State.FAILED).get(
            invoice_id=invoice.id, amount=invoice.balance
        )
        return resume(nue, payment)
    try:
        charge = gateway.charge_card(
            customer_id=link.stripe_customer_id,
            payment_method_id=link.card_payment_method_id,
            amount=minor,
            currency=currency,
            idempotency_key=f"invoice-payment-{payment.idempotency_key}",
            metadata={
                "portal_payment": str(payment.idempotency_key),
                "nue_invoice_id": payment.invoice_id,
                gateway.METADATA_KEY: account.nue_customer_id,
            },
        )
    except CardRefused as error:
        _decline(payment, f"{error.message} {NOTHING_CHARGED}")
        return Outcome(payment)
    except StripeError as error:
        # Whether Stripe charged is not known: the payment stays started, and Stripe's webhook
        # (or a press after it, with the same idempotency key) settles it.
        payment.message = error.message
        payment.save(update_fields=["message", "updated_at"])
        return Outcome(payment)
    return _apply_charge(nue, payment, charge, learned_by="request")


def _apply_charge(
    nue: CustomerNue, payment: InvoicePayment, charge: gateway.Charge, *, learned_by: str
) -> Outcome:
    """Move the payment on by what Stripe says of its PaymentIntent."""
    if payment.payment_intent_id is None:
        InvoicePayment.objects.filter(pk=payment.pk, payment_intent_id=None).update(
            payment_intent_id=charge.id
        )
        payment.refresh_from_db()
    if charge.status == "succeeded":
        if _move(payment, CHARGING, State.CHARGED, message="", charged_at=timezone.now()):
            _audit(payment, "invoice_card_charged", learned_by=learned_by)
        return record_in_nue(nue, payment)
    if charge.needs_action:
        _move(payment, (State.STARTED,), State.REQUIRES_ACTION)
        return Outcome(payment)
    if charge.status == "processing":
        _move(payment, (State.STARTED, State.REQUIRES_ACTION), State.PROCESSING)
        return Outcome(payment)
    message = charge.failure or _("The card was not charged (declined, or not authenticated).")
    _decline(payment, f"{message} {NOTHING_CHARGED}", learned_by=learned_by)
    return Outcome(payment)


@dataclass(frozen=True)
class Authentication:
    """What Stripe.js's confirmCardPayment needs on the page: the PaymentIntent's client secret
    and, where Stripe refused the off-session charge with `authentication_required` (the
    PaymentIntent back in requires_payment_method), the card to confirm it with."""

    client_secret: str
    payment_method_id: str = ""


def authentication(payment: InvoicePayment) -> Authentication | None:
    if payment.state != State.REQUIRES_ACTION or not payment.payment_intent_id:
        return None
    try:
        charge = gateway.payment_intent(payment.payment_intent_id)
    except StripeError:
        return None
    if not charge.needs_action or not charge.client_secret:
        return None
    card = charge.payment_method_id or payment.payment_method_id
    return Authentication(charge.client_secret, card if charge.authentication_required else "")


def complete(nue: CustomerNue, payment: InvoicePayment) -> Outcome:
    """After Stripe.js completed (or abandoned) the authentication: read the PaymentIntent from
    Stripe, never trusting what the browser says, and move on."""
    if payment.state not in CHARGING or not payment.payment_intent_id:
        return resume(nue, payment)
    charge = gateway.payment_intent(payment.payment_intent_id)
    expected = minor_units(payment.amount, payment.currency)
    if charge.amount != expected or charge.currency.upper() != payment.currency:
        raise PayProblem(_("Stripe holds another amount for this payment; nothing was recorded."))
    return _apply_charge(nue, payment, charge, learned_by="request")


def resume(nue: CustomerNue, payment: InvoicePayment) -> Outcome:
    """A payment found again (a second press, a retry): carry it on without a new charge."""
    if payment.state in (State.CHARGED, State.UNKNOWN, State.RECORDING):
        return record_in_nue(nue, payment)
    if payment.state in CHARGING and payment.payment_intent_id:
        try:
            return _apply_charge(
                nue, payment, gateway.payment_intent(payment.payment_intent_id), learned_by="retry"
            )
        except StripeError:
            return Outcome(payment)
    if payment.state == State.RECORDED:
        return Outcome(payment, _read(nue, payment))
    return Outcome(payment)


def _read(nue: CustomerNue, payment: InvoicePayment) -> Invoice | None:
    try:
        return nue.invoice(payment.invoice_id)
    except NueError:
        return None


def _read_payments(nue: CustomerNue, payment: InvoicePayment) -> Invoice:
    """The invoice with its payment applications (nue-api.md §2.8 `includes`), to count them."""
    return nue.invoice(payment.invoice_id, includes=(PAYMENT_APPLICATIONS,))


def _review(nue: CustomerNue, payment: InvoicePayment, frm: tuple[str, ...], why: str) -> Outcome:
    """Charged, and Nue shows what our payment alone does not explain: nothing is sent again and
    nothing shown as recorded; support finds it (admin, state "needs review")."""
    if _move(payment, frm, State.NEEDS_REVIEW, message=why):
        _audit(payment, "invoice_payment_needs_review", reason_text=why)
        logger.warning("Invoice payment %s needs review: %s", payment.idempotency_key, why)
    return Outcome(payment, _read(nue, payment))


def record_in_nue(nue: CustomerNue, payment: InvoicePayment) -> Outcome:
    """Tell Nue of a charge that succeeded, once (POST /billing/invoices:pay); an unknown
    answer is settled by reading the invoice back."""
    if payment.state in (State.UNKNOWN, State.RECORDING):
        return _settle(nue, payment)
    if payment.state != State.CHARGED:
        return Outcome(payment, _read(nue, payment))
    try:
        before = _read_payments(nue, payment)
    except NueNotFound:
        return _review(nue, payment, (State.CHARGED,), "Nue no longer shows the invoice.")
    except NueError as error:
        # Nothing was sent: the payment stays charged and the next attempt reads again.
        payment.message = error.message
        payment.save(update_fields=["message", "updated_at"])
        return Outcome(payment)
    if before.balance != payment.amount:
        return _review(
            nue,
            payment,
            (State.CHARGED,),
            f"Before recording it, Nue showed a balance of {before.balance} where "
            f"{payment.amount} was charged: another payment was recorded meanwhile.",
        )
    moved = _move(
        payment,
        (State.CHARGED,),
        State.RECORDING,
        sent_to_nue_at=timezone.now(),
        nue_balance_before=before.balance,
        nue_applications_before=before.payment_applications,
    )
    if not moved:
        return Outcome(payment, _read(nue, payment))
    try:
        nue.pay_invoice(PayInvoiceRequest(payment.invoice_id, payment.amount))
    except REFUSALS as error:
        _move(payment, (State.RECORDING,), State.CHARGED, message=error.message)
        _audit(payment, "invoice_payment_not_recorded", reason_text=error.message)
        return Outcome(payment, _read(nue, payment))
    except NueError:
        _move(payment, (State.RECORDING,), State.UNKNOWN)
        return _settle(nue, payment)
    if _move(payment, (State.RECORDING,), State.RECORDED, message=""):
        _audit(payment, "invoice_payment_recorded")
    return Outcome(payment, _read(nue, payment))


SENT = (State.UNKNOWN, State.RECORDING)


def _settle(nue: CustomerNue, payment: InvoicePayment) -> Outcome:
    """Whether Nue applied invoices:pay whose answer was lost, by the invoice as Nue shows it
    now against what it showed just before the request: exactly our payment (the balance down
    by its amount, one payment application more) is recorded; nothing changed is not applied;
    anything else needs a person."""
    try:
        invoice = _read_payments(nue, payment)
    except NueNotFound:
        return _review(nue, payment, SENT, "Nue no longer shows the invoice.")
    except NueError:
        return Outcome(payment)
    balance, count = payment.nue_balance_before, payment.nue_applications_before
    if balance is None or count is None or payment.sent_to_nue_at is None:
        unknown = "What Nue showed before the payment was sent is not known."
        return _review(nue, payment, SENT, unknown)
    if invoice.balance == balance - payment.amount and invoice.payment_applications == count + 1:
        if _move(payment, SENT, State.RECORDED, message=""):
            _audit(payment, "invoice_payment_recorded", learned_by="reading Nue back")
        return Outcome(payment, invoice)
    if invoice.balance == balance and invoice.payment_applications == count:
        # Not applied, as far as Nue shows yet: sent again only under the operation ledger's
        # own rule for a lost write (orders.ledger.nue_had_time), so an answer still on its way
        # is never doubled and the two never disagree about when Nue has had time.
        if nue_had_time(payment.sent_to_nue_at) and _move(payment, SENT, State.CHARGED):
            return record_in_nue(nue, payment)
        return Outcome(payment, invoice)
    return _review(
        nue,
        payment,
        SENT,
        f"Nue shows the balance {invoice.balance} and {invoice.payment_applications} payment(s) "
        f"where it showed {balance} and {count} before {payment.amount} was sent: "
        "not (only) this payment.",
    )


def settle(nue: CustomerNue, payment: InvoicePayment) -> InvoicePayment:
    """Move on a payment left part-way (manage.py settle_invoice_payments): a charge by what
    Stripe says of its PaymentIntent, a charged or sent one as record_in_nue does. A charge
    whose PaymentIntent is not known (Stripe's answer to the create was lost) is left for
    Stripe's webhook or the customer's next press: only those resend the create, under its
    idempotency key."""
    if payment.state in CHARGING:
        if payment.payment_intent_id:
            charge = gateway.payment_intent(payment.payment_intent_id)
            _apply_charge(nue, payment, charge, learned_by="settle_invoice_payments")
    elif payment.state in (State.CHARGED, *SENT):
        record_in_nue(nue, payment)
    return payment


def on_stripe_event(event: gateway.Event) -> str:
    """A verified webhook event about a charge the portal started: what was done, in words."""
    payment = InvoicePayment.objects.filter(payment_intent_id=event.object_id).first()
    if payment is None and event.metadata.get("portal_payment"):
        payment = InvoicePayment.objects.filter(
            idempotency_key=event.metadata["portal_payment"]
        ).first()
    if payment is None:
        return "not a payment the portal started"
    nue = for_customer(payment.account)
    assert nue is not None
    if event.type == "payment_intent.succeeded":
        if payment.state == State.RECORDED:
            return "already recorded"
        if payment.state in CHARGING:
            return _apply_charge(
                nue, payment, gateway.payment_intent(event.object_id), learned_by="webhook"
            ).payment.state
        return record_in_nue(nue, payment).payment.state
    if event.type == "payment_intent.payment_failed":
        # The webhook has no reader: the words are in the portal's default language.
        message = _("%(reason)s Nothing was charged.") % {
            "reason": event.failure or _("The card was declined.")
        }
        if payment.payment_intent_id is None:
            InvoicePayment.objects.filter(pk=payment.pk, payment_intent_id=None).update(
                payment_intent_id=event.object_id
            )
        if _decline(payment, message, learned_by="webhook"):
            return "failed"
        return "nothing to do"
    return "ignored"
