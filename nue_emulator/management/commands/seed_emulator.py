"""Seed the emulator's demo tenant (idempotent; `make run` runs it every time)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from nue_emulator import history, seed


class Command(BaseCommand):
    help = "Seed the Nue emulator's demo tenant: catalog, customers, contacts and their history."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bulk-orders",
            type=int,
            nargs="?",
            const=10000,
            default=None,
            help="Also create a customer holding this many orders (default 10000).",
        )
        parser.add_argument(
            "--bulk-customer-name",
            default="Bulk Buyer Inc.",
            help="Name of the customer that holds the bulk orders.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        with transaction.atomic():
            seed.seed_catalog()
            customers = seed.seed_customers()
            created = history.seed_history(customers)
        added = 0
        if options["bulk_orders"]:
            with transaction.atomic():
                added = history.seed_bulk(options["bulk_customer_name"], options["bulk_orders"])
        if options["verbosity"]:
            names = ", ".join(c.name for c in customers.values())
            what = "with their history" if created else "(history already present)"
            self.stdout.write(self.style.SUCCESS(f"Nue emulator seeded: {names} {what}."))
            if options["bulk_orders"]:
                self.stdout.write(
                    f"  {options['bulk_customer_name']}: {added} orders added "
                    f"({options['bulk_orders']} wanted)."
                )
            self.stdout.write(f"  took {time.perf_counter() - started:.1f}s")
