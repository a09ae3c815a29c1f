"""Settle open operation-ledger rows by reading Nue; never resends a POST.

Run from cron every few minutes. A row settles as succeeded as soon as Nue shows exactly its work
done, and as failed only once Nue still shows it not done NUE_SETTLES_WITHIN after it was sent
(orders.ledger.Ledger.resolve): a request Nue is still working on is never taken for a failure.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from orders.models import Operation
from orders.nue import NueError
from orders.scope import CustomerNue


class Command(BaseCommand):
    help = "Resolve unknown (and stale in-flight) Nue operations by reading their targets."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=float,
            default=60.0,
            help="Only rows last updated this many seconds ago or earlier (default 60): younger "
            "ones are most likely still being answered.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        cutoff = timezone.now() - timedelta(seconds=options["older_than"])
        rows = (
            Operation.objects.select_related("customer")
            .filter(state__in=Operation.OPEN_STATES, updated_at__lte=cutoff)
            .order_by("created_at")
        )
        counts = {"succeeded": 0, "failed": 0, "still open": 0, "unreachable": 0}
        scopes: dict[int, CustomerNue] = {}
        for op in rows:
            scope = scopes.setdefault(op.customer_id, CustomerNue(op.customer))
            try:
                resolved = scope.ledger.resolve(op)
            except NueError as error:
                counts["unreachable"] += 1
                self.stderr.write(f"#{op.pk} {op}: Nue unreachable ({error.reference})")
                continue
            key = "still open" if resolved.is_open else resolved.state
            counts[key] += 1
            if options["verbosity"] > 1:
                self.stdout.write(f"#{op.pk} {resolved}")
        if options["verbosity"]:
            self.stdout.write(", ".join(f"{n} {k}" for k, n in counts.items()))
