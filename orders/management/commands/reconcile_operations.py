"""Settle operation-ledger rows whose outcome is unknown by reading Nue; never resends a POST.

Run from cron every few minutes. A row is touched only once it is older than the grace period
(so a request Nue is still working on is not mistaken for a failure).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Q
from django.utils import timezone

from orders.models import Operation
from orders.nue import STALE_OPEN, UNKNOWN_GRACE, CustomerNue, NueError


class Command(BaseCommand):
    help = "Resolve unknown (and stale in-flight) Nue operations by reading their targets."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=float,
            default=UNKNOWN_GRACE.total_seconds(),
            help="Only rows last updated this many seconds ago or earlier (default: the grace).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        grace = timedelta(seconds=options["older_than"])
        cutoff = now - grace
        stale = now - STALE_OPEN
        rows = (
            Operation.objects.select_related("customer")
            .filter(
                Q(state=Operation.State.UNKNOWN, updated_at__lte=cutoff)
                | Q(
                    state__in=[Operation.State.PENDING, Operation.State.IN_FLIGHT],
                    updated_at__lte=stale,
                )
            )
            .order_by("created_at")
        )
        counts = {"succeeded": 0, "failed": 0, "still open": 0, "unreachable": 0}
        scopes: dict[int, CustomerNue] = {}
        for op in rows:
            scope = scopes.setdefault(op.customer_id, CustomerNue(op.customer))
            try:
                resolved = scope.resolve(op, grace=grace)
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
