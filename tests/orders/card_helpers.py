"""What Stripe.js does in the browser with the card field's details, for tests without one."""

from __future__ import annotations

import httpx

ACCEPTED = "4242424242424242"


def confirm_setup(base: str, client_secret: str, number: str = ACCEPTED) -> httpx.Response:
    """Confirm a SetupIntent on localstripe with a test card, authenticated by the publishable
    key (tests' `stripe_on`), as Stripe.js's confirmCardSetup does."""
    seti = client_secret.split("_secret_")[0]
    return httpx.post(
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
