"""A card on file through Stripe, handed to Nue as its create-draft-orders guide describes
("payment method integration"): a `transactionHub` linking the Nue customer to its Stripe
customer, sent once per customer, and, where the tenant collects with Nue payment links, the
card as a `paymentMethodObject` that Nue upserts at activation and sets on the new
subscriptions as their `defaultPaymentMethodId`.

The card itself is collected by Stripe.js (a SetupIntent): its number never reaches the portal,
which keeps only Stripe's ids (orders.models.StripeCustomer, NuePaymentMethod).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders import stripe_gateway as gateway
from orders.models import NuePaymentMethod, Operation, StripeCustomer
from orders.nue import ActivationResult, Subscription
from orders.scope import CustomerNue
from orders.stripe_gateway import Card, StripeError
from portal.models import CustomerAccount

CARD_CACHE_SECONDS = 300
LIVE = ("Active", "Pending")
NOT_SET_UP = gettext_lazy(
    "Card payments are not set up for this portal: orders are paid by invoice, to the terms on"
    " your account."
)
STRIPE_INVOICING = "stripe_invoicing"
PAYMENT_LINKS = "payment_links"
# The guide's consent: what a customer agrees to when a card is saved for Nue to charge.
CONSENT = gettext_lazy(
    "I authorise saving this card with our billing system and charging it for this and future"
    " invoices of %(account)s, until I replace it."
)


class Pay(StrEnum):
    CARD = "card"
    INVOICE = "invoice"


class NoCard(Exception):
    """Paying by card was chosen, and no card is on file (or Stripe is not set up)."""


@dataclass(frozen=True)
class CardOnFile:
    """What the portal can say about the account's card: `configured` (Stripe is set up),
    the card (None: no card yet, or Stripe could not be read: `problem` says which)."""

    configured: bool
    card: Card | None = None
    problem: str = ""

    @property
    def note(self) -> str:
        return self.problem or ("" if self.configured else str(NOT_SET_UP))


def _link(account: CustomerAccount) -> StripeCustomer | None:
    return StripeCustomer.objects.filter(account=account).first()


def _card(payment_method_id: str) -> Card | None:
    key = f"stripe:card:{payment_method_id}"
    found = cache.get(key)
    if found is None:
        found = gateway.card(payment_method_id)
        cache.set(key, found, CARD_CACHE_SECONDS)
    return found if isinstance(found, Card) else None


def card_on_file(account: CustomerAccount) -> CardOnFile:
    """The card Nue will charge for what the account activates next with a card."""
    if not gateway.configured():
        return CardOnFile(configured=False)
    link = _link(account)
    if link is None or not link.card_payment_method_id:
        return CardOnFile(configured=True)
    try:
        return CardOnFile(configured=True, card=_card(link.card_payment_method_id))
    except StripeError as error:
        return CardOnFile(configured=True, problem=error.message)


def set_buyers_manage_cards(account: CustomerAccount, allowed: bool) -> bool:
    """Let the account's buyers replace the card, or not: True when that changed anything."""
    changed = (
        CustomerAccount.objects.filter(pk=account.pk)
        .exclude(buyers_manage_cards=allowed)
        .update(buyers_manage_cards=allowed)
    )
    account.buyers_manage_cards = allowed
    return bool(changed)


def consent_text(account: CustomerAccount) -> str:
    return CONSENT % {"account": account.name}


def start_setup(account: CustomerAccount) -> str:
    """A SetupIntent for the account's Stripe customer (found or created, and remembered):
    the client secret Stripe.js confirms the card with. Raises StripeError."""
    link = _link(account)
    customer_id = gateway.find_or_create_customer(
        account.nue_customer_id, account.name, known_id=link.stripe_customer_id if link else None
    )
    if link is None or link.stripe_customer_id != customer_id:
        StripeCustomer.objects.update_or_create(
            account=account,
            defaults={
                "nue_customer_id": account.nue_customer_id,
                "stripe_customer_id": customer_id,
                # A new Stripe customer is a new link for Nue to learn.
                "hub_sent_at": None,
            },
        )
    _intent, secret = gateway.create_setup_intent(customer_id, account.nue_customer_id)
    return secret


class SetupNotFinished(StripeError):
    pass


def finish_setup(account: CustomerAccount, setup_intent_id: str) -> Card:
    """Keep the card a confirmed SetupIntent saved as the account's card on file. Only an
    intent of this account's Stripe customer that Stripe says succeeded counts."""
    link = _link(account)
    if link is None:
        raise SetupNotFinished(_("Start adding the card again: nothing was saved."))
    outcome = gateway.setup_outcome(setup_intent_id)
    if outcome.customer_id != link.stripe_customer_id:
        raise SetupNotFinished(_("That card set-up is not this account's: nothing was saved."))
    if not outcome.succeeded or not outcome.payment_method_id:
        raise SetupNotFinished(
            _(
                "The card was not confirmed (declined, or its authentication did not complete):"
                " nothing was saved. Try again or use another card."
            )
        )
    card = gateway.card(outcome.payment_method_id)
    if card is None:
        raise SetupNotFinished(_("Only cards can be saved here: nothing was saved."))
    gateway.attach_as_default(link.stripe_customer_id, outcome.payment_method_id)
    link.card_payment_method_id = outcome.payment_method_id
    link.save(update_fields=["card_payment_method_id", "updated_at"])
    return card


def activation_terms(account: CustomerAccount, pay: Pay, card_id: str = "") -> dict[str, Any]:
    """What an activation paid this way adds to its body, for the tenant's collection mode
    (create-draft-orders.txt, "payment system requirements"): Stripe invoicing needs only the
    transactionHub, Nue payment links the transactionHub and the card's paymentMethodObject.
    The transactionHub goes until an activation carrying it succeeded ("only required once per
    customer"). Paying by invoice adds nothing: no default payment method is set.

    `card_id`: the card someone chose earlier (an approval request's): charged only while it is
    still the card on file, since their consent was for that card."""
    if pay == Pay.INVOICE:
        return {}
    link = _link(account)
    if not gateway.configured() or link is None or not link.card_payment_method_id:
        raise NoCard(_("There is no card on file to charge: add one on the billing page."))
    if card_id and card_id != link.card_payment_method_id:
        raise NoCard(
            _(
                "The card chosen for this order is no longer the card on file, and nothing else"
                " may be charged: decline the request so it is asked again with the card now on"
                " file."
            )
        )
    body: dict[str, Any] = {}
    if link.hub_sent_at is None:
        body["transactionHub"] = {
            "externalSystem": "Stripe",
            "externalId": link.stripe_customer_id,
            "transactionType": "Customer",
        }
    if settings.NUE_COLLECTION_MODE == PAYMENT_LINKS:
        try:
            card = _card(link.card_payment_method_id)
        except StripeError:
            card = None
        body["paymentMethodObject"] = {
            "externalPaymentMethodId": link.card_payment_method_id,
            "name": card.label if card else "Card on file",
            "paymentMethodType": "Credit Card",
            "paymentSystem": "Stripe",
            "autoChargeEnabled": True,
        }
    return body


def sent_terms(result: ActivationResult) -> Mapping[str, Any]:
    """The body the activation was sent with, as the ledger kept it (a replay's is the first
    submit's, whatever this one chose)."""
    op = Operation.objects.filter(pk=result.operation_id).only("request").first()
    return op.request if op is not None and isinstance(op.request, dict) else {}


def record_activation(account: CustomerAccount, result: ActivationResult) -> None:
    """Learn from an activation what Nue now holds: that it has the transactionHub, and which
    Nue payment method each sent card became (the subscriptions' defaultPaymentMethodId)."""
    sent = sent_terms(result)
    hub = sent.get("transactionHub")
    if isinstance(hub, dict):
        StripeCustomer.objects.filter(
            account=account, stripe_customer_id=hub.get("externalId"), hub_sent_at=None
        ).update(hub_sent_at=timezone.now())
    method = sent.get("paymentMethodObject")
    if not isinstance(method, dict) or not method.get("externalPaymentMethodId"):
        return
    for nue_id in {s.default_payment_method_id for s in result.subscriptions} - {None}:
        NuePaymentMethod.objects.get_or_create(
            account=account,
            nue_payment_method_id=nue_id,
            defaults={"stripe_payment_method_id": method["externalPaymentMethodId"]},
        )


SAVED_IN_NUE = gettext_lazy("a payment method saved in Nue")
UNAVAILABLE = gettext_lazy("card details unavailable (Stripe cannot be read just now)")
INVOICED = gettext_lazy("Paid by invoice")


def subscription_cards(
    account: CustomerAccount, subscriptions: Iterable[Subscription]
) -> dict[str, Card | str]:
    """Per subscription name, the card its defaultPaymentMethodId is: Nue's id, through the
    NuePaymentMethod the portal learned at activation, to the Stripe card (cached as
    card_on_file's). A sentence instead when it is a method the portal did not send, or Stripe
    cannot be read (then asked once, not per subscription). Subscriptions without one are
    invoiced and left out."""
    wanted = {s.name: s.default_payment_method_id for s in subscriptions}
    links = dict(
        NuePaymentMethod.objects.filter(
            account=account, nue_payment_method_id__in={v for v in wanted.values() if v}
        ).values_list("nue_payment_method_id", "stripe_payment_method_id")
    )
    found: dict[str, Card | str] = {}
    if gateway.configured():
        for pm in sorted(set(links.values())):
            try:
                found[pm] = _card(pm) or str(SAVED_IN_NUE)
            except StripeError:
                for unread in set(links.values()) - found.keys():
                    found[unread] = str(UNAVAILABLE)
                break
    return {
        name: found.get(links.get(nue_id, ""), str(SAVED_IN_NUE))
        for name, nue_id in wanted.items()
        if nue_id
    }


def carried_words(found: Card | str | None) -> str:
    """How Nue collects a subscription, in words: the card it carries, or invoice."""
    if found is None:
        return str(INVOICED)
    if isinstance(found, Card):
        return _("%(card)s (expires %(expiry)s)") % {"card": found.label, "expiry": found.expiry}
    return found[0].upper() + found[1:]


def paid_by(account: CustomerAccount, subscription: Subscription) -> str:
    """How Nue collects one subscription, in words (carried_words)."""
    return carried_words(subscription_cards(account, [subscription]).get(subscription.name))


def named_paid_by(scope: CustomerNue, names: Iterable[str]) -> dict[str, str]:
    """How Nue collects each named subscription of the customer (an activated order's), in
    words; a name Nue no longer lists is left out. Raises NueError."""
    wanted = set(names)
    subs = [s for s in scope.subscriptions() if s.name in wanted]
    return {s.name: words for s, words in paid_with(scope.account, subs)}


def paid_with(
    account: CustomerAccount, subscriptions: Iterable[Subscription]
) -> list[tuple[Subscription, str]]:
    """Each subscription with how Nue collects it, in words (carried_words)."""
    subs = list(subscriptions)
    shown = subscription_cards(account, subs)
    return [(s, carried_words(shown.get(s.name))) for s in subs]


def carried(scope: CustomerNue) -> list[tuple[Subscription, str]]:
    """What Nue charges each of the customer's live subscriptions with (Nue's
    defaultPaymentMethodId, read now): the top-level ones, and an add-on only where it carries
    another method than its bundle's (the guide's add-on-level payment method). Raises NueError."""
    live = [s for s in scope.subscriptions() if s.status in LIVE]
    shown = subscription_cards(scope.account, live)
    by_id = {s.id: s for s in live}

    def differs(s: Subscription) -> bool:
        root = by_id.get(s.root_id or "")
        return root is None or shown.get(s.name) != shown.get(root.name)

    listed = [s for s in live if not s.is_add_on or differs(s)]
    return [(s, carried_words(shown.get(s.name))) for s in sorted(listed, key=lambda s: s.name)]
