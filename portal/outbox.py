"""The durable mail queue: every email is a row of OutgoingEmail first, sent later by the worker.

Why an outbox of our own rather than django-mailer or django-post-office: both send a message
and only then record it, inside one transaction holding the row (django-mailer) or with a bulk
update afterwards (post-office), so a worker that dies after the mail server accepted a message
and before that record commits leaves it queued, and the next run sends it again. Neither backs
off per message (django-mailer retries every deferred message when `retry_deferred` runs from
cron; post-office waits a fixed interval). The portal's bar is "never sent twice", so the row
says "sending" (committed, with a lease) before the message leaves, and a row found still
sending after its lease is not sent again: it becomes "unknown" for a person to look at.

Two ways in, one queue:
- `OutboxBackend` is settings.EMAIL_BACKEND: Django's send_mail, EmailMessage.send() and the
  auth views' password reset write a row instead of talking to a mail server, in the caller's
  transaction (so mail about work that is rolled back never leaves).
- portal.notifications renders the portal's own emails and calls `enqueue`.

The worker (`manage.py send_queued_mail`, `--loop` to keep going) claims one due row at a time
(SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL, so several workers share the queue; a
conditional UPDATE makes the claim exclusive on SQLite too), hands it to
settings.OUTBOX_DELIVERY_BACKEND (the backend EMAIL_URL names) over a connection of its own,
and records the outcome:
- accepted: sent, with `sent_at`;
- refused before or by the mail server (the connection could not be opened; the server answered
  with an error code): queued again with exponential backoff, up to OUTBOX_MAX_ATTEMPTS, then
  failed;
- any other error while the message was being handed over (the connection dropped mid-way):
  the server may have it, so unknown, never resent by the worker;
- the message cannot be built at all: failed at once (sending it again cannot help).
"""

from __future__ import annotations

import base64
import logging
import os
import smtplib
import socket
import uuid
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from email.mime.base import MIMEBase
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import make_msgid
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from portal.models import CustomerAccount, OutgoingEmail

logger = logging.getLogger("portal.outbox")

State = OutgoingEmail.State
ERROR_MAX = 2000


class OutboxBackend(BaseEmailBackend):
    """settings.EMAIL_BACKEND: queue every message Django's mail API sends; the worker sends."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        queued = 0
        for message in email_messages:
            if not message.recipients():
                continue
            try:
                enqueue(message)
            except Exception:
                if not self.fail_silently:
                    raise
                logger.exception("Could not queue the email %r", message.subject)
                continue
            queued += 1
        return queued


def enqueue(
    message: EmailMessage, *, kind: str = "", account: CustomerAccount | None = None
) -> OutgoingEmail:
    """Keep `message` for the worker, in the caller's transaction. It gets its Message-ID now,
    so a copy a person queues again (admin) is recognisably the same message."""
    headers = {str(k): str(v) for k, v in message.extra_headers.items()}
    if not any(name.lower() == "message-id" for name in headers):
        headers["Message-ID"] = make_msgid(domain=settings.OUTBOX_MESSAGE_ID_DOMAIN)
    html = ""
    alternatives: list[dict[str, str]] = []
    for content, mimetype in getattr(message, "alternatives", ()):
        if mimetype == "text/html" and not html and isinstance(content, str):
            html = content
        else:
            alternatives.append({"mimetype": mimetype, **_encoded(content)})
    return OutgoingEmail.objects.create(
        kind=kind,
        account=account,
        subject=str(message.subject),
        from_email=str(message.from_email or settings.DEFAULT_FROM_EMAIL),
        to=list(message.to),
        cc=list(message.cc),
        bcc=list(message.bcc),
        reply_to=list(message.reply_to),
        headers=headers,
        body=str(message.body),
        html=html,
        alternatives=alternatives,
        attachments=[_attachment(item) for item in message.attachments],
    )


def _encoded(content: str | bytes) -> dict[str, str]:
    if isinstance(content, str):
        return {"text": content}
    return {"base64": base64.b64encode(content).decode("ascii")}


def _decoded(item: dict[str, str]) -> str | bytes:
    return item["text"] if "text" in item else base64.b64decode(item["base64"])


def _attachment(item: Any) -> dict[str, str]:
    if isinstance(item, MIMEBase):
        payload = item.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else str(item.get_payload()).encode()
        filename = item.get_filename() or "attachment"
        return {"filename": filename, "mimetype": item.get_content_type(), **_encoded(content)}
    filename, content, mimetype = item
    return {"filename": filename or "", "mimetype": mimetype or "", **_encoded(content)}


def message_of(row: OutgoingEmail) -> EmailMultiAlternatives:
    """The row as the message Django's mail backends send."""
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=row.body,
        from_email=row.from_email,
        to=row.to,
        cc=row.cc,
        bcc=row.bcc,
        reply_to=row.reply_to,
        headers=row.headers,
    )
    if row.html:
        message.attach_alternative(row.html, "text/html")
    for alternative in row.alternatives:
        message.attach_alternative(_decoded(alternative), alternative["mimetype"])
    for attachment in row.attachments:
        message.attach(
            attachment["filename"] or None, _decoded(attachment), attachment["mimetype"] or None
        )
    return message


def backoff(attempts: int) -> timedelta:
    """How long after its `attempts`-th refused try a message is tried again: doubling from
    OUTBOX_RETRY_BASE_SECONDS, never more than OUTBOX_RETRY_MAX_SECONDS."""
    base = settings.OUTBOX_RETRY_BASE_SECONDS
    seconds = min(base * 2 ** max(attempts - 1, 0), settings.OUTBOX_RETRY_MAX_SECONDS)
    return timedelta(seconds=seconds)


def expire_leases() -> int:
    """Rows whose worker stopped while sending (the lease ended): unknown, never resent."""
    now = timezone.now()
    return OutgoingEmail.objects.filter(state=State.SENDING, lease_until__lt=now).update(
        state=State.UNKNOWN,
        last_error="The worker stopped while sending it (its lease ended): it may or may not "
        "have gone out, so it is not sent again. Check with the recipient, then queue it again "
        "or mark it sent (admin).",
    )


def claim(worker: str) -> tuple[OutgoingEmail, str] | None:
    """The next due message, now "sending" for `worker` with a lease, and the claim's token;
    None when nothing is due. The "sending" state is committed before anything is sent."""
    for _ in range(10):
        now = timezone.now()
        # PostgreSQL: rows another worker is claiming are skipped, not waited for. SQLite has
        # no row locks; its single writer and the conditional UPDATE below keep a claim
        # exclusive (and a transaction there would only fail on the other writer's commit).
        guard = (
            transaction.atomic()
            if connection.features.has_select_for_update_skip_locked
            else nullcontext()
        )
        with guard:
            pk = (
                OutgoingEmail.objects.select_for_update(skip_locked=True)
                .filter(state=State.QUEUED, next_attempt_at__lte=now)
                .order_by("next_attempt_at", "pk")
                .values_list("pk", flat=True)
                .first()
            )
            if pk is None:
                return None
            token = f"{worker}/{uuid.uuid4().hex[:12]}"
            claimed = OutgoingEmail.objects.filter(pk=pk, state=State.QUEUED).update(
                state=State.SENDING,
                claimed_by=token,
                attempts=F("attempts") + 1,
                lease_until=now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS),
            )
        if claimed:
            return OutgoingEmail.objects.get(pk=pk), token
    return None


class Refused(Exception):
    """The message did not reach the mail server: sending it again is safe."""


class Unsendable(Exception):
    """The message cannot be built: sending it again cannot help."""


def _hand_over(row: OutgoingEmail) -> None:
    """Send `row` over a connection of its own. Raises Refused or Unsendable when it certainly
    did not go out; any other exception leaves that open."""
    message = message_of(row)
    try:
        message.message().as_bytes()
    except Exception as error:
        raise Unsendable(f"The message cannot be built: {error!r}") from error
    # A connection per message: an idle connection the server closed between two messages would
    # fail the second one in a way that cannot be told from a drop half-way through it.
    mailer = get_connection(settings.OUTBOX_DELIVERY_BACKEND, fail_silently=False)
    try:
        mailer.open()
    except Exception as error:
        raise Refused(f"Could not connect to the mail server: {error!r}") from error
    try:
        try:
            sent = mailer.send_messages([message])
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as error:
            # The server answered with an error code: it did not take the message.
            raise Refused(f"The mail server refused it: {error!r}") from error
        if not sent:
            raise Refused("The mail backend sent nothing.")
    finally:
        try:
            mailer.close()
        except Exception:
            logger.warning("Closing the mail connection failed", exc_info=True)


@dataclass
class Pass:
    """What one pass of the worker did."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)
    expired: int = 0

    @property
    def handled(self) -> int:
        return len(self.sent) + len(self.retrying) + len(self.failed) + len(self.unknown)

    def __str__(self) -> str:
        return (
            f"{len(self.sent)} sent, {len(self.retrying)} to retry, {len(self.failed)} failed, "
            f"{len(self.unknown)} unknown, {self.expired} leases expired"
        )


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:40]


def send_due(worker: str | None = None, *, limit: int | None = None) -> Pass:
    """One pass of the worker: expire stale leases, then send every due message (at most
    `limit`), one claim at a time."""
    worker = worker or worker_name()
    done = Pass(expired=expire_leases())
    while limit is None or done.handled < limit:
        found = claim(worker)
        if found is None:
            break
        row, token = found
        deliver(row, token, done)
    return done


def deliver(row: OutgoingEmail, token: str, done: Pass) -> None:
    """Send a claimed row and record what happened."""
    mine = OutgoingEmail.objects.filter(
        pk=row.pk, claimed_by=token, state__in=(State.SENDING, State.UNKNOWN)
    )
    try:
        _hand_over(row)
    except Unsendable as error:
        mine.update(state=State.FAILED, lease_until=None, last_error=str(error)[:ERROR_MAX])
        logger.error("Email #%s cannot be sent: %s", row.pk, error)
        done.failed.append(row.pk)
        return
    except Refused as error:
        _retry_or_give_up(row, mine, str(error), done)
        return
    except Exception as error:
        mine.update(
            state=State.UNKNOWN,
            lease_until=None,
            last_error=f"Failed while handing it to the mail server, which may have it: {error!r}"[
                :ERROR_MAX
            ],
        )
        logger.exception("Email #%s: outcome unknown, not resent", row.pk)
        done.unknown.append(row.pk)
        return
    # If this write fails, the row stays "sending" until its lease ends, then unknown: a
    # message that went out is never sent again for want of this record.
    mine.update(state=State.SENT, sent_at=timezone.now(), lease_until=None, last_error="")
    done.sent.append(row.pk)


def _retry_or_give_up(row: OutgoingEmail, mine: Any, error: str, done: Pass) -> None:
    if row.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        mine.update(
            state=State.FAILED,
            lease_until=None,
            last_error=f"Gave up after {row.attempts} attempts: {error}"[:ERROR_MAX],
        )
        logger.error("Email #%s failed for good after %s attempts", row.pk, row.attempts)
        done.failed.append(row.pk)
        return
    mine.update(
        state=State.QUEUED,
        lease_until=None,
        claimed_by="",
        next_attempt_at=timezone.now() + backoff(row.attempts),
        last_error=error[:ERROR_MAX],
    )
    logger.warning("Email #%s refused (try %s), tried again later: %s", row.pk, row.attempts, error)
    done.retrying.append(row.pk)


def queue_again(rows: Iterable[OutgoingEmail]) -> int:
    """A person's decision (admin) to send failed or unknown messages once more, now."""
    return OutgoingEmail.objects.filter(
        pk__in=[row.pk for row in rows], state__in=(State.FAILED, State.UNKNOWN)
    ).update(
        state=State.QUEUED,
        attempts=0,
        next_attempt_at=timezone.now(),
        lease_until=None,
        claimed_by="",
    )


def mark_sent(rows: Iterable[OutgoingEmail]) -> int:
    """A person found an unknown message did arrive."""
    return OutgoingEmail.objects.filter(
        pk__in=[row.pk for row in rows], state=State.UNKNOWN
    ).update(state=State.SENT, sent_at=timezone.now(), lease_until=None)
