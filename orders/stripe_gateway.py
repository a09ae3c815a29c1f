"""The Stripe service module: the only importer of `stripe` (ruff's banned-api rule).

It does what a card on file needs and nothing more: a Stripe customer for a Nue customer (found
again by its `nue_customer_id` metadata), a SetupIntent whose card Stripe.js collects in the
browser, and a saved card's brand, last four and expiry. Card numbers never reach the portal.
Every call has explicit timeouts and one retry (Stripe's client sends an idempotency key with a
retried POST); every failure becomes one of the errors below, with a message a customer can read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import stripe
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 15.0
MAX_NETWORK_RETRIES = 1
STRIPE_JS = "https://js.stripe.com/v3/"
METADATA_KEY = "nue_customer_id"
# Stripe's zero-decimal currencies: an amount in them is sent in whole units, every other
# currency the portal bills in is sent in hundredths (Stripe's "minor units").
ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)


class StripeError(Exception):
    """A Stripe call failed; `message` is for the customer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StripeUnavailable(StripeError):
    """Stripe did not answer, or not usably (connection, timeout, 5xx, our keys refused)."""


class CardRefused(StripeError):
    """The card was declined or could not be authenticated: the customer may try another."""


class StripeRefused(StripeError):
    """Stripe refused the request (an unknown object, a wrong parameter)."""


@dataclass(frozen=True)
class Card:
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int

    @property
    def label(self) -> str:
        return f"{self.brand.title()} ending {self.last4}"

    @property
    def expiry(self) -> str:
        return f"{self.exp_month:02d}/{self.exp_year}"


@dataclass(frozen=True)
class SetupOutcome:
    id: str
    status: str
    customer_id: str | None
    payment_method_id: str | None

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


def configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_PUBLISHABLE_KEY)


def publishable_key() -> str:
    return str(settings.STRIPE_PUBLISHABLE_KEY)


def js_url() -> str:
    if settings.STRIPE_JS_URL:
        return str(settings.STRIPE_JS_URL)
    if settings.STRIPE_API_BASE:
        return f"{settings.STRIPE_API_BASE}/js.stripe.com/v3/"
    return STRIPE_JS


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def csp_sources() -> dict[str, list[str]]:
    """The hosts Stripe.js needs, for the pages that load it (Stripe's CSP guidance): its script
    and card frames from js.stripe.com, 3-D Secure frames from hooks.stripe.com, its calls to
    api.stripe.com. localstripe's mock script calls localstripe itself and opens no frames."""
    if not configured():
        return {}
    if settings.STRIPE_API_BASE:
        return {"script-src": [_origin(js_url())], "connect-src": [settings.STRIPE_API_BASE]}
    return {
        "script-src": [_origin(js_url())],
        "frame-src": ["https://js.stripe.com", "https://hooks.stripe.com"],
        "connect-src": ["https://api.stripe.com"],
    }


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=MAX_NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)),
    )


def client() -> stripe.StripeClient:
    if not configured():
        raise StripeUnavailable(_("Card payments are not set up for this portal."))
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


# What a person is told when Stripe refuses or does not answer, whole sentences per request.
SAID = {
    "read the customer": (
        gettext_lazy("Stripe refused to read the customer: %(reason)s."),
        gettext_lazy(
            "Stripe did not answer while trying to read the customer;"
            " nothing was saved. Try again shortly."
        ),
    ),
    "find the customer": (
        gettext_lazy("Stripe refused to find the customer: %(reason)s."),
        gettext_lazy(
            "Stripe did not answer while trying to find the customer;"
            " nothing was saved. Try again shortly."
        ),
    ),
    "create the customer": (
        gettext_lazy("Stripe refused to create the customer: %(reason)s."),
        gettext_lazy(
            "Stripe did not answer while trying to create the customer;"
            " nothing was saved. Try again shortly."
        ),
    ),
    "start adding the card": (
        gettext_lazy("Stripe refused to start adding the card: %(reason)s."),
        gettext_lazy(
            "Stripe did not answer while trying to start adding the card;"
            " nothing was saved. Try again shortly."
        ),
    ),
    "read the card set-up": (
        gettext_lazy("Stripe refused to read the card set-up: %(reason)s."),
        gettext_lazy(
            "Stripe did not answer while trying to read the card set-up;"
            " nothing was saved. Try again shortly."
        ),
    ),
    "read the card": (
        gettext_lazy("Stripe refused to read the card: %(reason)s."),
        gettext_lazy(
            "Stripe did not answer while trying to read the card;"
            " nothing was saved. Try again shortly."
        ),
    ),
    "save the card as the default": (
        gettext_lazy("Stripe refused to save the card as the default: %(reason)s."),
        gettext_lazy(
            "Stripe did not answer while trying to save the card as the default;"
            " nothing was saved. Try again shortly."
        ),
    ),
    "charge the card": (
        gettext_lazy("Stripe refused to charge the card: %(reason)s."),
        gettext_lazy(
            "Stripe did not answer while trying to charge the card;"
            " nothing was saved. Try again shortly."
        ),
    ),
    "read the payment": (
        gettext_lazy("Stripe refused to read the payment: %(reason)s."),
        gettext_lazy(
            "Stripe did not answer while trying to read the payment;"
            " nothing was saved. Try again shortly."
        ),
    ),
}


def _call(what: str, call: Any, *args: Any, **kwargs: Any) -> Any:
    refused, unanswered = SAID[what]
    try:
        return call(*args, **kwargs)
    except stripe.CardError as error:
        raise CardRefused(error.user_message or _("The card was declined.")) from error
    except stripe.AuthenticationError as error:
        raise StripeUnavailable(
            _("The portal's Stripe keys were refused; nothing was saved. Please tell us.")
        ) from error
    except stripe.InvalidRequestError as error:
        reason = error.user_message or _("bad request")
        raise StripeRefused(refused % {"reason": reason}) from error
    except stripe.StripeError as error:
        raise StripeUnavailable(str(unanswered)) from error


def find_or_create_customer(nue_customer_id: str, name: str, known_id: str | None = None) -> str:
    """The Stripe customer of a Nue customer: the one known, if Stripe still has it, else one
    found by its metadata, else a new one."""
    c = client()
    if known_id:
        try:
            found = _call("read the customer", c.v1.customers.retrieve, known_id)
            if not getattr(found, "deleted", False):
                return str(found.id)
        except StripeRefused:
            pass  # gone from Stripe (or localstripe restarted empty)
    try:
        query = f"metadata['{METADATA_KEY}']:'{nue_customer_id}'"
        hits = _call("find the customer", c.v1.customers.search, {"query": query, "limit": 1})
        if hits.data:
            return str(hits.data[0].id)
    except StripeRefused:
        pass  # localstripe has no search; Stripe's lags a new customer by about a minute
    created = _call(
        "create the customer",
        c.v1.customers.create,
        {"name": name, "metadata": {METADATA_KEY: nue_customer_id}},
    )
    return str(created.id)


def create_setup_intent(customer_id: str, nue_customer_id: str) -> tuple[str, str]:
    """A SetupIntent that saves a card for charges made later without the customer present:
    (its id, the client secret Stripe.js confirms it with)."""
    intent = _call(
        "start adding the card",
        client().v1.setup_intents.create,
        {
            "customer": customer_id,
            "usage": "off_session",
            "payment_method_types": ["card"],
            "metadata": {METADATA_KEY: nue_customer_id},
        },
    )
    return str(intent.id), str(intent.client_secret)


def setup_outcome(setup_intent_id: str) -> SetupOutcome:
    intent = _call("read the card set-up", client().v1.setup_intents.retrieve, setup_intent_id)
    pm = intent.payment_method
    return SetupOutcome(
        id=str(intent.id),
        status=str(intent.status),
        customer_id=str(intent.customer) if intent.customer else None,
        payment_method_id=str(getattr(pm, "id", pm)) if pm else None,
    )


def card(payment_method_id: str) -> Card | None:
    """The card a payment method is, or None when it is not a card."""
    pm = _call("read the card", client().v1.payment_methods.retrieve, payment_method_id)
    details = getattr(pm, "card", None)
    if details is None:
        return None
    return Card(
        id=str(pm.id),
        brand=str(details.brand or "card"),
        last4=str(details.last4),
        exp_month=int(details.exp_month),
        exp_year=int(details.exp_year),
    )


def attach_as_default(customer_id: str, payment_method_id: str) -> None:
    """Make the card the customer's default in Stripe too (Stripe invoicing charges that one)."""
    _call(
        "save the card as the default",
        client().v1.customers.update,
        customer_id,
        {"invoice_settings": {"default_payment_method": payment_method_id}},
    )


def minor_digits(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL else 2


@dataclass(frozen=True)
class Charge:
    """What Stripe says of a PaymentIntent the portal started: its status (succeeded,
    requires_action, processing, requires_payment_method, canceled, ...), the client secret
    Stripe.js completes an authentication with, and why it failed when it did."""

    id: str
    status: str
    client_secret: str
    amount: int
    currency: str
    payment_method_id: str | None
    failure: str = ""
    failure_code: str = ""

    @property
    def authentication_required(self) -> bool:
        """An off-session charge the bank wants the customer to authenticate: Stripe answers
        a CardError `authentication_required` and leaves the PaymentIntent in
        requires_payment_method, to be confirmed on the page with its client secret and the
        same card (Stripe's "charge a saved card" guide)."""
        return (
            self.status == "requires_payment_method"
            and self.failure_code == "authentication_required"
        )

    @property
    def needs_action(self) -> bool:
        return (
            self.status in ("requires_action", "requires_confirmation")
            or self.authentication_required
        )


def _field(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _as_charge(intent: Any, failure: str = "") -> Charge:
    error = getattr(intent, "last_payment_error", None)
    # Stripe detaches the card from a PaymentIntent whose attempt failed; the error names it.
    pm = intent.payment_method or _field(error, "payment_method")
    return Charge(
        id=str(intent.id),
        status=str(intent.status),
        client_secret=str(intent.client_secret or ""),
        amount=int(intent.amount),
        currency=str(intent.currency),
        payment_method_id=str(_field(pm, "id") or pm) if pm else None,
        failure=failure or str(_field(error, "message") or ""),
        failure_code=str(_field(error, "code") or ""),
    )


def charge_card(
    *,
    customer_id: str,
    payment_method_id: str,
    amount: int,
    currency: str,
    idempotency_key: str,
    metadata: dict[str, str],
) -> Charge:
    """Create and confirm a PaymentIntent for `amount` (minor units) on the saved card, without
    the customer's card details (`off_session`: the card was saved for it). A card that asks for
    authentication answers a Charge that `needs_action` (localstripe: requires_action; Stripe:
    a CardError `authentication_required` carrying the PaymentIntent, which the customer then
    confirms on the page); a declined one raises CardRefused. The idempotency key makes a
    resent create the same PaymentIntent."""

    def create() -> Any:
        try:
            return client().v1.payment_intents.create(
                {
                    "amount": amount,
                    "currency": currency.lower(),
                    "customer": customer_id,
                    "payment_method": payment_method_id,
                    "confirm": True,
                    "off_session": True,
                    "metadata": metadata,
                },
                {"idempotency_key": idempotency_key},
            )
        except stripe.CardError as error:
            found = getattr(error.error, "payment_intent", None) if error.error else None
            if error.code == "authentication_required" and found is not None:
                return found
            raise

    return _as_charge(_call("charge the card", create))


def payment_intent(intent_id: str) -> Charge:
    return _as_charge(_call("read the payment", client().v1.payment_intents.retrieve, intent_id))


class BadSignature(StripeError):
    """A webhook delivery whose signature does not verify (or is too old)."""


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    object_id: str
    metadata: dict[str, str]
    failure: str


def webhook_event(payload: bytes, signature: str, secret: str) -> Event:
    """The event of a webhook delivery, verified with the endpoint's signing secret and
    Stripe's timestamp tolerance (stripe.Webhook.DEFAULT_TOLERANCE, five minutes)."""
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except (stripe.SignatureVerificationError, ValueError) as error:
        raise BadSignature("The webhook's signature does not verify.") from error
    obj = event.data.object.to_dict()
    failed = obj.get("last_payment_error") or {}
    return Event(
        id=str(event.id),
        type=str(event.type),
        object_id=str(obj.get("id") or ""),
        metadata={str(k): str(v) for k, v in (obj.get("metadata") or {}).items()},
        failure=str(failed.get("message") or "") if isinstance(failed, dict) else "",
    )
