"""What Stripe.js does in the browser with the card field's details, for tests without one."""

from __future__ import annotations

import httpx

ACCEPTED = "4242424242424242"

# What the tests send to localstripe, as Stripe.js would, over one client: each module-level
# httpx call builds a client and loads the CA bundle again.
LOCALSTRIPE = httpx.Client(timeout=10)


def confirm_setup(base: str, client_secret: str, number: str = ACCEPTED) -> httpx.Response:
    """Confirm a SetupIntent on localstripe with a test card, authenticated by the publishable
    key (tests' `stripe_on`), as Stripe.js's confirmCardSetup does."""
    seti = client_secret.split("_secret_")[0]
    return LOCALSTRIPE.post(
        f"{base}/v1/setup_intents/{seti}/confirm",
        json={
            "key": "pk_test_portal",
            "client_secret": client_secret,
            "payment_method_data": {
                "type": "card",
                "card": {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"},
            },
        },
    )
