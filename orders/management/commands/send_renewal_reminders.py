"""Queue the renewal reminders due today (orders.actions.renewals): run daily from cron.

Idempotent: each subscription gets one reminder per term end and window (30 and 7 days), however
often this runs. Reads every customer account with members from Nue; an account whose
subscriptions cannot be read is reported and the others still get theirs (exit status 1 then).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from orders.actions.renewals import send_reminders
from orders.nue import NueError
from portal.models import CustomerAccount


class Command(BaseCommand):
    help = "Email renewal reminders 30 and 7 days before subscriptions' terms end (once each)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.SITE_URL:
            # No request to take the portal's address from: the emails' links need it.
            raise CommandError("Set SITE_URL: the reminders link to the portal.")
        today = timezone.localdate()
        accounts = (
            CustomerAccount.objects.filter(memberships__user__is_active=True)
            .distinct()
            .order_by("name")
        )
        queued = 0
        unreadable = []
        for account in accounts:
            try:
                sent = send_reminders(account, today)
            except NueError as error:
                unreadable.append(account.name)
                reference = error.reference
                self.stderr.write(f"{account.name}: subscriptions not read from Nue ({reference})")
                continue
            queued += len(sent)
            if options["verbosity"] > 1:
                for reminder in sent:
                    self.stdout.write(f"{account.name}: {reminder}")
        if options["verbosity"]:
            self.stdout.write(f"{queued} renewal reminder(s) queued for {today:%Y-%m-%d}.")
        if unreadable:
            raise CommandError(f"Not read from Nue: {', '.join(unreadable)}.")
