"""Running the mail worker in a test: the queued emails reach mail.outbox only through it."""

from __future__ import annotations

from portal import outbox


def deliver() -> outbox.Pass:
    """One pass of the worker (manage.py send_queued_mail) over what is due now."""
    return outbox.send_due("test-worker")
