"""The mail queue (portal.outbox) and its worker (manage.py send_queued_mail): queued in the
caller's transaction, sent once by the worker, refusals retried with backoff up to a limit, and a
message whose send may have happened never sent again."""

from __future__ import annotations

import smtplib
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings as conf
from django.core import mail
from django.core.mail import EmailMultiAlternatives, send_mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from portal import outbox
from portal.models import OutgoingEmail
from tests.concurrency import run_together
from tests.outbox import deliver

State = OutgoingEmail.State
OUTBOX = "portal.outbox.OutboxBackend"

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued_mail(settings):
    """Django's mail API as in production: into the outbox (Django's test setup points it at
    mail.outbox directly)."""
    settings.EMAIL_BACKEND = OUTBOX


class Flaky(LocmemBackend):
    """A mail server that answers "try again later" to the first `refusals` messages."""

    refusals = 0
    calls = 0

    def send_messages(self, messages):
        type(self).calls += 1
        if type(self).calls <= type(self).refusals:
            raise smtplib.SMTPResponseException(451, b"4.3.0 Try again later")
        return super().send_messages(messages)


@pytest.fixture
def flaky(settings):
    settings.OUTBOX_DELIVERY_BACKEND = "tests.portal.test_outbox.Flaky"
    Flaky.calls = 0
    Flaky.refusals = 0
    return Flaky


class DropsMidway(LocmemBackend):
    """The connection drops while the message is being handed over: the server may have it."""

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


class DiesAfterSending(LocmemBackend):
    """The message reaches the server, then the worker's process is killed before it records
    that (SystemExit stands for the kill: nothing in the worker catches it)."""

    def send_messages(self, messages):
        super().send_messages(messages)
        raise SystemExit("killed")


def test_django_mail_is_queued_not_sent_and_the_worker_sends_it(queued_mail):
    assert send_mail("Welcome", "Plain text", None, ["new@acme.example"]) == 1
    assert mail.outbox == []
    row = OutgoingEmail.objects.get()
    assert (row.state, row.to, row.subject) == (State.QUEUED, ["new@acme.example"], "Welcome")

    done = deliver()

    assert done.sent == [row.pk]
    (message,) = mail.outbox
    assert (message.subject, message.body, message.to) == ("Welcome", "Plain text", row.to)
    row.refresh_from_db()
    assert row.state == State.SENT
    assert row.sent_at is not None
    assert row.attempts == 1


def test_a_message_keeps_its_html_attachments_and_headers(queued_mail):
    """What another part of the portal builds with Django's mail API arrives as built (the
    team's invitation with its HTML part, a quote's confirmation with its PDF)."""
    message = EmailMultiAlternatives(
        "Your quote", "Text part", "sales@nue.example", ["ada@acme.example"],
        cc=["ben@acme.example"], reply_to=["maria@nue.example"], headers={"X-Quote": "Q-1"},
    )  # fmt: skip
    message.attach_alternative("<p>HTML part</p>", "text/html")
    message.attach("quote.pdf", b"%PDF-1.7 \x00\xff binary", "application/pdf")
    message.send()

    deliver()

    (sent,) = mail.outbox
    assert (sent.from_email, sent.cc, sent.reply_to) == (
        "sales@nue.example",
        ["ben@acme.example"],
        ["maria@nue.example"],
    )
    assert sent.alternatives[0][0] == "<p>HTML part</p>"
    assert sent.attachments == [("quote.pdf", b"%PDF-1.7 \x00\xff binary", "application/pdf")]
    assert sent.extra_headers["X-Quote"] == "Q-1"
    assert sent.extra_headers["Message-ID"] == OutgoingEmail.objects.get().headers["Message-ID"]


def _fails_after_mailing() -> None:
    with transaction.atomic():
        send_mail("About work undone", "x", None, ["ada@acme.example"])
        raise RuntimeError("the work failed")


def test_mail_of_a_rolled_back_transaction_is_never_sent(queued_mail):
    with pytest.raises(RuntimeError):
        _fails_after_mailing()

    assert not OutgoingEmail.objects.exists()
    assert deliver().handled == 0
    assert mail.outbox == []


def test_the_worker_sends_a_message_once(queued_mail):
    send_mail("Once", "x", None, ["ada@acme.example"])
    deliver()
    deliver()
    call_command("send_queued_mail", stdout=StringIO())
    assert len(mail.outbox) == 1


def test_a_refused_message_is_retried_with_backoff_until_it_is_sent(
    queued_mail, flaky, time_machine, settings
):
    settings.OUTBOX_RETRY_BASE_SECONDS = 60
    flaky.refusals = 2
    time_machine.move_to(timezone.now(), tick=False)
    send_mail("Retry me", "x", None, ["ada@acme.example"])
    row = OutgoingEmail.objects.get()

    assert deliver().retrying == [row.pk]
    row.refresh_from_db()
    assert (row.state, row.attempts) == (State.QUEUED, 1)
    assert row.next_attempt_at == timezone.now() + timedelta(seconds=60)
    assert "451" in row.last_error
    assert deliver().handled == 0  # not due yet

    time_machine.move_to(row.next_attempt_at)
    assert deliver().retrying == [row.pk]
    row.refresh_from_db()
    assert row.attempts == 2
    assert row.next_attempt_at == timezone.now() + timedelta(seconds=120)  # doubled

    time_machine.move_to(row.next_attempt_at)
    assert deliver().sent == [row.pk]
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == (State.SENT, 3, "")
    assert len(mail.outbox) == 1


def test_backoff_doubles_up_to_its_ceiling(settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 60
    settings.OUTBOX_RETRY_MAX_SECONDS = 3600
    waits = [outbox.backoff(n).total_seconds() for n in range(1, 9)]
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_it_gives_up_after_the_last_attempt(queued_mail, flaky, time_machine, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    flaky.refusals = 100
    send_mail("Never accepted", "x", None, ["ada@acme.example"])
    row = OutgoingEmail.objects.get()
    for _ in range(2):
        assert deliver().retrying == [row.pk]
        row.refresh_from_db()
        time_machine.move_to(row.next_attempt_at + timedelta(seconds=1))

    assert deliver().failed == [row.pk]
    row.refresh_from_db()
    assert (row.state, row.attempts) == (State.FAILED, 3)
    assert "Gave up after 3 attempts" in row.last_error
    time_machine.move_to(timezone.now() + timedelta(days=1))
    assert deliver().handled == 0
    assert flaky.calls == 3
    assert mail.outbox == []


def test_a_connection_that_cannot_be_opened_is_retried(queued_mail, settings):
    settings.OUTBOX_DELIVERY_BACKEND = "tests.orders.test_approvals.BrokenMail"
    send_mail("Server down", "x", None, ["ada@acme.example"])
    assert len(deliver().retrying) == 1
    assert "Could not connect" in OutgoingEmail.objects.get().last_error


def test_a_crash_after_the_server_took_it_is_not_sent_again(queued_mail, settings, time_machine):
    settings.OUTBOX_DELIVERY_BACKEND = "tests.portal.test_outbox.DiesAfterSending"
    send_mail("Sent, then the worker died", "x", None, ["ada@acme.example"])
    row = OutgoingEmail.objects.get()
    with pytest.raises(SystemExit):
        deliver()
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.state == State.SENDING  # what the dead worker left

    settings.OUTBOX_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert deliver().handled == 0  # its lease still runs: a live worker may be at it
    time_machine.move_to(row.lease_until + timedelta(seconds=1))
    done = deliver()

    assert (done.expired, done.handled) == (1, 0)
    row.refresh_from_db()
    assert row.state == State.UNKNOWN
    assert "not sent again" in row.last_error
    assert len(mail.outbox) == 1
    # A person who checked with the recipient settles it.
    assert outbox.mark_sent([row]) == 1
    row.refresh_from_db()
    assert row.state == State.SENT


def test_a_connection_dropped_midway_is_unknown_not_resent(queued_mail, settings, time_machine):
    settings.OUTBOX_DELIVERY_BACKEND = "tests.portal.test_outbox.DropsMidway"
    send_mail("Maybe sent", "x", None, ["ada@acme.example"])
    assert len(deliver().unknown) == 1
    time_machine.move_to(timezone.now() + timedelta(days=1))
    settings.OUTBOX_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert deliver().handled == 0
    row = OutgoingEmail.objects.get()
    assert row.state == State.UNKNOWN
    assert "Connection unexpectedly closed" in row.last_error

    # Only a person's decision sends it again.
    assert outbox.queue_again([row]) == 1
    assert deliver().sent == [row.pk]
    assert len(mail.outbox) == 1


def test_a_slow_worker_past_its_lease_still_records_what_it_sent(queued_mail, settings):
    send_mail("Slow", "x", None, ["ada@acme.example"])
    row, token = outbox.claim("slow-worker")
    # Another worker finds the lease over while the slow one is still handing it over.
    OutgoingEmail.objects.filter(pk=row.pk).update(lease_until=timezone.now() - timedelta(1))
    assert outbox.expire_leases() == 1
    done = outbox.Pass()
    outbox.deliver(row, token, done)
    row.refresh_from_db()
    assert (done.sent, row.state) == ([row.pk], State.SENT)


def test_an_unbuildable_message_fails_at_once(queued_mail):
    send_mail("Fine", "x", None, ["ada@acme.example"])
    OutgoingEmail.objects.update(headers={"X-Note": "two\nlines"})
    done = deliver()
    assert len(done.failed) == 1
    assert "cannot be built" in OutgoingEmail.objects.get().last_error


def test_the_command_reports_one_pass(queued_mail):
    send_mail("One", "x", None, ["ada@acme.example"])
    out = StringIO()
    call_command("send_queued_mail", stdout=out)
    assert "1 sent, 0 to retry, 0 failed, 0 unknown" in out.getvalue()


class Counting(LocmemBackend):
    """Records which thread sent which message, taking a moment over each (a real server
    does), so two workers overlap."""

    sent: list[tuple[str, str]] = []
    lock = threading.Lock()

    def send_messages(self, messages):
        threading.Event().wait(0.01)
        with self.lock:
            for message in messages:
                self.sent.append((threading.current_thread().name, message.subject))
        return len(messages)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    "postgresql" not in conf.DATABASES["default"]["ENGINE"],
    reason="needs PostgreSQL: concurrent writers on SQLite serialise instead of racing",
)
def test_two_workers_racing_send_each_message_once(settings):
    settings.EMAIL_BACKEND = OUTBOX
    settings.OUTBOX_DELIVERY_BACKEND = "tests.portal.test_outbox.Counting"
    Counting.sent = []
    for n in range(30):
        send_mail(f"Message {n}", "x", None, ["ada@acme.example"])

    passes = run_together([lambda: outbox.send_due("worker-a"), lambda: outbox.send_due("b")])

    subjects = [subject for _, subject in Counting.sent]
    assert sorted(subjects) == sorted(f"Message {n}" for n in range(30))
    assert len(set(subjects)) == 30  # none twice
    assert sum(len(p.sent) for p in passes) == 30
    assert all(p.sent for p in passes)  # both took part: the claim skipped, not waited
    assert set(OutgoingEmail.objects.values_list("state", flat=True)) == {State.SENT}
    assert set(OutgoingEmail.objects.values_list("attempts", flat=True)) == {1}
