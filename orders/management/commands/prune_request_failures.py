"""Forget the failures support can look up once they are older than a number of days.

Run from cron once a day: what /support/lookup/ finds is what RequestFailure keeps, and it would
otherwise grow with every failure ever shown.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders.actions.failures import KEEP_DAYS, prune


class Command(BaseCommand):
    help = "Delete the request failures first shown more than --days days ago."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=KEEP_DAYS,
            help=f"Keep the failures of this many days (default {KEEP_DAYS}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days < 1:
            raise CommandError("--days must be at least 1.")
        deleted = prune(days)
        if options["verbosity"]:
            self.stdout.write(f"{deleted} request failure{'s' if deleted != 1 else ''} deleted")
