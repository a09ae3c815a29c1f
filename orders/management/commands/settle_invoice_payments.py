"""Move on every invoice payment the portal left part-way: charging (Stripe's PaymentIntent is
read), charged, being recorded or unknown in Nue (settled as orders.actions.invoice_payments
does: by Nue's balance and payment applications against what it showed just before sending).

Run from cron every few minutes. Idempotent: a payment already settled is not touched, one whose
outcome Nue does not yet show stays as it is, and nothing is charged or sent twice (a resend to
Nue happens only under the operation ledger's rule for a lost write).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from orders.actions import invoice_payments as payments
from orders.models import InvoicePayment
from orders.scope import CustomerNue
from orders.stripe_gateway import StripeError

State = InvoicePayment.State
OPEN = (*payments.CHARGING, State.CHARGED, State.RECORDING, State.UNKNOWN)


class Command(BaseCommand):
    help = "Settle the invoice payments left charging, charged, recording or unknown."

    def handle(self, *args: Any, **options: Any) -> None:
        rows = (
            InvoicePayment.objects.select_related("account")
            .filter(state__in=OPEN)
            .order_by("created_at")
        )
        scopes: dict[int, CustomerNue] = {}
        seen = 0
        for payment in rows:
            seen += 1
            was = payment.state
            nue = scopes.setdefault(payment.account_id, CustomerNue(payment.account))
            try:
                now = payments.settle(nue, payment).state
            except StripeError as error:
                self.stderr.write(f"{payment.reference} {payment}: {was}, Stripe: {error.message}")
                continue
            told = f"{was} -> {now}" if now != was else f"still {now}"
            self.stdout.write(f"{payment.reference} {payment}: {told}")
        self.stdout.write(f"{seen} invoice payment(s) looked at.")
