"""notify(): who receives each kind of email, what a member's choices change, and what every
email is made of (text and accessible, self-contained HTML)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core import mail

from portal import notifications
from portal.models import (
    CustomerAccount,
    Membership,
    NotificationKind,
    NotificationPreference,
    OutgoingEmail,
    User,
)
from portal.notifications import Role, notify, recipients_for
from tests import demo
from tests.orders.approval_helpers import lower_limit, make_buyer, pending_request
from tests.outbox import deliver

Kind = NotificationKind
SITE = "https://portal.example.com"

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(db) -> CustomerAccount:
    return CustomerAccount.objects.get(name=demo.ACME)


def emails(found) -> list[str]:
    return sorted(r.email for r in found)


def member(email: str) -> Membership:
    return Membership.objects.select_related("account", "user").get(user__email=email)


def test_the_accounts_emails_go_to_its_admins_by_default(acme):
    for kind in (Kind.ORDER_ACTIVATED, Kind.CHANGE_CONFIRMED, Kind.PAYMENT_FAILED):
        assert emails(recipients_for(kind, acme)) == [demo.ADA]  # not Ben, not Bob


def test_a_member_may_turn_off_a_non_essential_email(acme, ada):
    notifications.save_choices(member(demo.ADA), enabled=[Kind.CHANGE_CONFIRMED])
    assert recipients_for(Kind.ORDER_ACTIVATED, acme) == []
    assert emails(recipients_for(Kind.CHANGE_CONFIRMED, acme)) == [demo.ADA]
    pref = NotificationPreference.objects.get(user=ada, kind=Kind.ORDER_ACTIVATED)
    assert pref.enabled is False
    # Only the choices that differ from the default are kept.
    assert not NotificationPreference.objects.filter(kind=Kind.CHANGE_CONFIRMED).exists()


def test_an_essential_email_reaches_an_admin_whatever_is_stored(acme, ada):
    notifications.save_choices(member(demo.ADA), enabled=[])
    NotificationPreference.objects.create(
        user=ada, account=acme, kind=Kind.PAYMENT_FAILED, enabled=False
    )
    (ada_gets,) = recipients_for(Kind.PAYMENT_FAILED, acme)
    assert (ada_gets.email, ada_gets.essential, ada_gets.role) == (demo.ADA, True, Role.ADMIN)
    maria = User.objects.get(email=demo.MARIA)
    assert emails(recipients_for(Kind.APPROVAL_REQUESTED, acme, [ada, maria])) == [
        demo.ADA,
        demo.MARIA,
    ]


def test_another_member_may_turn_an_email_on(acme):
    notifications.save_choices(member(demo.BEN), enabled=[Kind.ORDER_ACTIVATED])
    found = recipients_for(Kind.ORDER_ACTIVATED, acme)
    assert emails(found) == [demo.ADA, demo.BEN]
    ben = next(r for r in found if r.email == demo.BEN)
    assert (ben.role, ben.essential) == (Role.MEMBER, False)


def test_a_requester_may_turn_off_approval_decisions(acme, bob):
    assert emails(recipients_for(Kind.APPROVAL_DECIDED, acme, [bob])) == [demo.BOB]
    notifications.save_choices(member(demo.BOB), enabled=[])
    assert recipients_for(Kind.APPROVAL_DECIDED, acme, [bob]) == []


def test_nobody_outside_the_account_is_named(acme, grace, sam, ada):
    """Another customer's admin, support staff without the account in their book, a
    deactivated member and a bare address (but for an invitation) get nothing."""
    ada.is_active = False
    ada.save(update_fields=["is_active"])
    assert recipients_for(Kind.APPROVAL_DECIDED, acme, [grace, sam, ada, "x@acme.example"]) == []
    assert recipients_for(Kind.ORDER_ACTIVATED, acme) == []
    (invitee,) = recipients_for(Kind.INVITATION, acme, ["New.Person@acme.example"])
    assert (invitee.role, invitee.essential) == (Role.INVITEE, True)


def test_each_person_gets_one_email(acme, ada):
    found = recipients_for(Kind.APPROVAL_REQUESTED, acme, [ada, ada, ada.email.upper(), ada])
    assert len(found) == 1


def test_a_named_kind_needs_its_recipients(acme):
    with pytest.raises(ValueError, match="Name the recipients"):
        recipients_for(Kind.APPROVAL_DECIDED, acme)
    assert notify(Kind.APPROVAL_DECIDED, acme, {}) == []  # logged, never raised


def test_each_recipient_gets_their_own_email_and_nothing_is_sent_before_the_worker(acme):
    notifications.save_choices(member(demo.BEN), enabled=[Kind.ORDER_ACTIVATED])
    rows = notify(Kind.ORDER_ACTIVATED, acme, sample(Kind.ORDER_ACTIVATED))
    assert [r.to for r in rows] == [[demo.ADA], [demo.BEN]]
    assert {r.kind for r in rows} == {Kind.ORDER_ACTIVATED}
    assert {r.account for r in rows} == {acme}
    assert mail.outbox == []
    deliver()
    assert sorted(m.to[0] for m in mail.outbox) == [demo.ADA, demo.BEN]
    to_ben = next(m for m in mail.outbox if m.to == [demo.BEN])
    assert "Hello Ben" in to_ben.body
    assert "as a member of Acme Corporation" in to_ben.body
    assert f"{SITE}/account/notifications/" in to_ben.body  # where to turn it off


# What every email is made of.


def sample(kind: NotificationKind) -> dict:
    link = f"{SITE}/somewhere/"
    common = {"link": link, "site_url": SITE, "currency": "USD"}
    return common | {
        Kind.ORDER_ACTIVATED: {"order_number": "O-1001", "total": Decimal("12345.5"), "by": "x"},
        Kind.CHANGE_CONFIRMED: {
            "order_number": "O-1002",
            "subscriptions": ["SUB-00000001"],
            "changes": ["Change quantity"],
            "effective": date(2027, 7, 5),
            "total": Decimal("10"),
        },
        Kind.CANCELLATION_SCHEDULED: {
            "order_number": "O-1003",
            "subscriptions": ["SUB-00000001"],
            "effective": date(2027, 7, 5),
            "total": Decimal("-10"),
            "reason": "switching",
        },
        Kind.RENEWAL_REMINDER: {
            "subscription": "SUB-00000001",
            "product": "Pro Plan",
            "term_ends": date(2027, 7, 5),
            "days": 30,
            "window": 30,
            "auto_renew": True,
            "renewal_term": 12,
        },
        Kind.PAYMENT_FAILED: {
            "invoice_number": "INV-0001",
            "amount": Decimal("99.00"),
            "currency": "USD",
            "card": "Visa ending 0341",
            "reason": "Your card was declined.",
        },
        Kind.INVITATION: {
            "inviter": "Ada Lovelace",
            "limit": "$5,000.00",
            # The team page's invitation, as its email has it.
            "invitation": SimpleNamespace(
                role="buyer",
                get_role_display=lambda: "Buyer",
                expires_at=datetime(2027, 1, 9, 12, 0, tzinfo=UTC),
                email="new@acme.example",
            ),
        },
    }.get(kind, {})


def every_email(acme) -> list[OutgoingEmail]:
    bob = make_buyer()
    lower_limit()
    approval = pending_request(bob)  # queues "approval requested"
    rows = list(OutgoingEmail.objects.filter(kind=Kind.APPROVAL_REQUESTED, to=[demo.ADA]))
    rows += notify(Kind.APPROVAL_DECIDED, acme, sample(Kind.APPROVAL_DECIDED) | {
        "approval": approval, "approved": False}, [bob])  # fmt: skip
    rows += notify(Kind.INVITATION, acme, sample(Kind.INVITATION), ["new@acme.example"])
    for kind in notifications.SPECS:
        if notifications.SPECS[kind].audience is notifications.Audience.ACCOUNT:
            rows += notify(kind, acme, sample(kind), None)
    assert sorted({r.kind for r in rows}) == sorted(Kind.values)
    return rows


def test_every_kind_has_a_text_and_an_accessible_self_contained_html_part(acme, settings):
    settings.SITE_URL = SITE
    for row in every_email(acme):
        html = row.html
        assert row.subject, row.kind
        assert "\n" not in row.subject, row.kind
        assert row.body.strip(), row.kind
        assert re.search(r'<html lang="en">', html), row.kind
        assert f"<title>{row.subject}</title>" in html.replace("&#x27;", "'"), row.kind
        assert len(re.findall(r"<h1[ >]", html)) == 1, row.kind
        # Nothing loaded from elsewhere: no images, style sheets, fonts or scripts.
        assert not re.search(r"<(img|link|script|iframe|object)\b", html), row.kind
        assert not re.search(r"url\(|@import|src=", html), row.kind
        for href in re.findall(r'href="([^"]*)"', html):
            assert href.startswith("https://"), (row.kind, href)
        if row.kind != Kind.INVITATION:
            assert "Nue portal" in html, row.kind
            assert "Acme Corporation" in html, row.kind


def test_html_email_colours_meet_contrast_for_text():
    """Every text colour of the emails on their backgrounds (white card, grey page, the brand
    bar for white text) is at least WCAG AA's 4.5:1."""
    from pathlib import Path

    from django.conf import settings

    folder = Path(settings.BASE_DIR) / "templates" / "emails" / "notifications"
    styles = " ".join(path.read_text() for path in folder.glob("*.html"))
    colours = set(re.findall(r"(?<!-)color:(#[0-9a-f]{6})", styles))
    backgrounds = set(re.findall(r"background-color:(#[0-9a-f]{6})", styles))
    assert colours
    assert backgrounds == {"#f6f7fb", "#3b4cca", "#ffffff"}
    for colour in colours:
        on = ["#3b4cca"] if colour == "#ffffff" else ["#ffffff", "#f6f7fb"]
        for background in on:
            assert contrast(colour, background) >= 4.5, (colour, background)


def contrast(one: str, two: str) -> float:
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(one), luminance(two)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_an_invitation_says_what_the_role_allows(acme):
    (row,) = notify(Kind.INVITATION, acme, sample(Kind.INVITATION), ["new@acme.example"])
    assert row.subject == "Ada Lovelace invited you to Acme Corporation on the Nue portal"
    assert "up to $5,000.00 in 24 hours without an approval" in row.body
    assert "until 9 Jan 2027, 12:00 UTC, and only for new@acme.example" in row.body
    assert "because someone invited this address" in row.body
    assert f"{SITE}/somewhere/" in row.html


def test_the_footer_says_why_and_whether_it_can_be_turned_off(acme):
    (optional,) = notify(Kind.ORDER_ACTIVATED, acme, sample(Kind.ORDER_ACTIVATED))
    (essential,) = notify(Kind.PAYMENT_FAILED, acme, sample(Kind.PAYMENT_FAILED))
    assert f'href="{SITE}/account/notifications/"' in optional.html
    assert "Choose which emails you get" in optional.body
    assert "It is essential, so it is always sent." in essential.body
    assert "/account/notifications/" not in essential.html
    assert "$12,345.50" in optional.body  # money as the pages show it
