"""manage.py send_renewal_reminders: 30 and 7 days before a term ends, the account's admins are
told once per subscription, term end and window, however often cron runs it."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from orders.actions.renewals import due
from orders.nue import Subscription
from orders.scope import CustomerNue
from portal.models import CustomerAccount, NotificationKind, OutgoingEmail, RenewalReminder
from tests import demo
from tests.outbox import deliver

SITE = "https://portal.example.com"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_no_faults")]


@pytest.fixture
def pro(db, settings) -> Subscription:
    settings.SITE_URL = SITE
    acme = CustomerAccount.objects.get(name=demo.ACME)
    sub = CustomerNue(acme).subscription(demo.PRO)
    assert sub.end_date is not None
    assert not sub.evergreen
    return sub


def on_day(time_machine, day) -> None:
    time_machine.move_to(timezone.make_aware(datetime.combine(day, time(6, 30))), tick=False)


def run() -> str:
    out = StringIO()
    call_command("send_renewal_reminders", stdout=out)
    return out.getvalue()


def reminders_of(sub: Subscription) -> list[OutgoingEmail]:
    return [
        row
        for row in OutgoingEmail.objects.filter(kind=NotificationKind.RENEWAL_REMINDER).order_by(
            "pk"
        )
        if row.subject.startswith(f"{sub.name} ")
    ]


def test_it_reminds_30_days_before_once_however_often_it_runs(pro, time_machine):
    on_day(time_machine, pro.end_date - timedelta(days=31))
    run()
    assert reminders_of(pro) == []

    on_day(time_machine, pro.end_date - timedelta(days=30))
    assert "renewal reminder(s) queued" in run()
    run()
    (row,) = reminders_of(pro)
    assert row.to == [demo.ADA]
    assert row.subject.endswith("in 30 days")
    assert f"{SITE}/subscriptions/{pro.name}/" in row.body
    assert f"ends on {pro.end_date.day} {pro.end_date:%b %Y}" in row.body
    reminder = RenewalReminder.objects.get(subscription=pro.name)
    assert (reminder.renewal_date, reminder.window_days) == (pro.end_date, 30)

    on_day(time_machine, pro.end_date - timedelta(days=12))  # still the 30-day window
    run()
    assert len(reminders_of(pro)) == 1
    deliver()
    assert [m.to for m in mail.outbox if m.subject.startswith(pro.name)] == [[demo.ADA]]


def test_it_reminds_again_7_days_before(pro, time_machine):
    on_day(time_machine, pro.end_date - timedelta(days=20))
    run()
    on_day(time_machine, pro.end_date - timedelta(days=7))
    run()
    run()
    on_day(time_machine, pro.end_date - timedelta(days=2))
    run()
    assert [r.subject.rsplit(" in ", 1)[1] for r in reminders_of(pro)] == ["20 days", "7 days"]
    windows = RenewalReminder.objects.filter(subscription=pro.name).values_list("window_days")
    assert sorted(w for (w,) in windows) == [7, 30]


def test_a_first_run_inside_the_last_week_sends_only_that_weeks_reminder(pro, time_machine):
    on_day(time_machine, pro.end_date - timedelta(days=3))
    run()
    (row,) = reminders_of(pro)
    assert row.subject.endswith("in 3 days")
    assert RenewalReminder.objects.get(subscription=pro.name).window_days == 7


def test_which_subscriptions_get_reminders(pro):
    today = pro.end_date - timedelta(days=10)

    def windows(*subs):
        return [(d.subscription.name, d.window, d.days) for d in due(subs, today)]

    assert windows(pro) == [(pro.name, 30, 10)]
    assert windows(pro._replace(evergreen=True)) == []
    assert windows(pro._replace(status="Canceled")) == []
    assert windows(pro._replace(cancellation_date=pro.end_date)) == []  # cancels instead
    assert windows(pro._replace(root_id="another", level=2)) == []  # an add-on: its bundle's
    assert windows(pro._replace(end_date=today - timedelta(days=1))) == []
    assert windows(pro._replace(end_date=today + timedelta(days=31))) == []
    # Nue lists every version: the current one decides.
    older = pro._replace(version=pro.version - 1, end_date=today + timedelta(days=2))
    assert windows(older, pro) == [(pro.name, 30, 10)]


def test_it_needs_the_portals_address_for_its_links(settings):
    settings.SITE_URL = ""
    with pytest.raises(CommandError, match="SITE_URL"):
        call_command("send_renewal_reminders")


def test_an_account_nue_cannot_read_does_not_stop_the_others(pro, time_machine):
    from nue_emulator import faults

    globex = CustomerNue(CustomerAccount.objects.get(name=demo.GLOBEX)).subscription(
        demo.GLOBEX_PRO
    )
    assert globex.end_date is not None
    on_day(time_machine, globex.end_date - timedelta(days=5))
    err = StringIO()
    # Acme is read first (by name); its answer is one the portal cannot parse.
    with (
        faults.inject("subscriptions", "GET", status=200, body="malformed", times=1),
        pytest.raises(CommandError, match="Acme Corporation"),
    ):
        call_command("send_renewal_reminders", stderr=err, stdout=StringIO())
    assert "Acme Corporation: subscriptions not read from Nue" in err.getvalue()
    assert RenewalReminder.objects.filter(subscription=demo.GLOBEX_PRO).exists()
    assert not RenewalReminder.objects.filter(account__name=demo.ACME).exists()
