"""Browser journey: Ada invites a colleague as a buyer with a spending limit, adding her as a
contact in Nue; the colleague opens the emailed link in a browser of her own, chooses a
password, lands in Acme's account and buys within her limit (issue 25, items 1 and 2)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from nue_emulator.models import Contact as EmulatedContact
from portal.models import AuditEvent, AuditKind, Invitation, Membership, Role
from tests import demo
from tests.browser.conftest import DESKTOP, PHONE, PageWatch, sign_in
from tests.browser.test_accessibility import Scanner
from tests.browser.test_journeys import CSP_LISTENER, expected_status_errors, role_page

pytestmark = pytest.mark.django_db(transaction=True)

CLEO = "cleo@acme.example"
PASSWORD = "seven green tea cups"
LINK = re.compile(r"https?://\S+/invitations/[A-Za-z0-9_-]+/")


def buy_pro_plan(page, seats: int) -> None:
    """A draft of Pro Plan (US) for a year, as the new-order page makes it."""
    page.goto("/orders/new/")
    page.get_by_role("button", name="Add Pro Plan (US) to order").click()
    page.get_by_label("Quantity", exact=True).fill(str(seats))
    expect(page.locator("#preview")).to_contain_text(f"${25 * seats}.00")
    page.get_by_role("button", name="Create draft").click()
    page.wait_for_url(re.compile(r"/orders/[^/]+/$"))


def test_a_colleague_joins_from_the_email_and_buys_within_her_limit(
    browser, live_server, page, watch
):
    sign_in(page, demo.ADA)
    page.get_by_role("link", name="Team", exact=True).click()
    page.wait_for_url("**/account/team/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Team")
    form = page.locator("form.team-invite")
    form.get_by_label("Email", exact=True).fill(CLEO)
    form.get_by_label("Role").select_option("buyer")
    form.get_by_label("Spending limit").fill("500")
    form.get_by_label("First name").fill("Cleo")
    form.get_by_label("Last name").fill("Patra")
    # Cleo is no contact of Acme in Nue yet: the portal would not find her company without one.
    form.get_by_role("button", name="Send invitation").click()
    expect(form).to_contain_text("is not a contact of Acme Corporation in Nue")
    page.locator("form.team-invite").get_by_label(re.compile("Add as a contact")).check()
    page.locator("form.team-invite").get_by_role("button", name="Send invitation").click()
    expect(page.locator(".messages")).to_contain_text(f"Invitation sent to {CLEO} as buyer.")
    expect(page.locator("#team")).to_contain_text("$500.00")
    watch.screenshot("team-invited")
    assert EmulatedContact.objects.filter(email=CLEO).exists()
    # The refused first try answered 422, which the browser logs.
    assert expected_status_errors(watch.errors, 422) == []

    [message] = mail.outbox
    assert message.to == [CLEO]
    link = LINK.search(message.body)
    assert link is not None

    context = browser.new_context(viewport=PHONE, base_url=live_server.url)
    context.add_init_script(CSP_LISTENER)
    cleo = context.new_page()
    cleo.set_default_timeout(15_000)
    cleo_watch = PageWatch(cleo)
    try:
        cleo.goto(link.group(0))
        expect(cleo.get_by_role("heading", level=1)).to_have_text("Join Acme Corporation")
        expect(cleo.locator("main")).to_contain_text("$500.00 in 24 hours")
        expect(cleo.get_by_label("First name")).to_have_value("Cleo")
        cleo.get_by_label("Password", exact=True).fill(PASSWORD)
        cleo.get_by_label("Password again").fill(PASSWORD)
        cleo_watch.screenshot("team-join")
        cleo.get_by_role("button", name="Create sign-in and join").click()
        cleo.wait_for_url(f"{live_server.url}/")
        expect(cleo.locator(".messages")).to_contain_text(
            "Welcome to Acme Corporation: you are a member as buyer."
        )
        cleo.set_viewport_size(DESKTOP)

        # Two seats for a year ($643.50 after tax) are above her limit: an approval is needed.
        buy_pro_plan(cleo, seats=2)
        expect(cleo.locator("#draft-actions")).to_contain_text(
            "is above your spending limit of $500.00"
        )
        expect(cleo.get_by_role("button", name="Activate order")).to_have_count(0)
        # One seat ($321.75) is within it.
        buy_pro_plan(cleo, seats=1)
        cleo.get_by_label(re.compile("Pay the invoices this order creates")).check()
        cleo.get_by_role("button", name="Activate order").click()
        cleo.wait_for_url(re.compile(r"/activated/$"))
        expect(cleo.get_by_role("heading", level=1)).to_contain_text("is active")
        cleo_watch.screenshot("team-colleague-bought")
        assert cleo_watch.errors == []
    finally:
        context.close()

    membership = Membership.objects.get(user__email=CLEO)
    assert membership.account.name == demo.ACME
    assert membership.spending_limit == 500
    activated = AuditEvent.objects.get(kind=AuditKind.ACTIVATION, actor=membership.user)

    # Ada's activity log shows who in the team did what: Cleo's purchase, and the invitation.
    page.goto("/account/activity/")
    cleo_rows = page.locator("#activity-results tbody tr", has_text="Cleo Patra")
    # The draft she created and its activation.
    expect(cleo_rows.filter(has_text=activated.details["order_number"])).to_have_count(2)
    expect(page.locator("#activity-results")).to_contain_text(CLEO)
    watch.screenshot("team-activity-log")


def test_the_team_and_invitation_pages_pass_axe(browser, live_server):
    """Axe on the team page with a member's form open on an error and an invitation waiting,
    and on the invitation page as a newcomer sees it, at phone width too."""
    acme = Membership.objects.get(user__email=demo.ADA).account
    invitation = Invitation(account=acme, email=CLEO, role=Role.BUYER, first_name="Cleo")
    token = invitation.new_token()
    invitation.save()
    bob = Membership.objects.get(user__email=demo.BOB)
    with role_page(browser, live_server, demo.ADA, by_form=False) as (page, watch):
        scanner = Scanner(page)
        scanner.visit("/account/team/", "team")
        row = page.locator(f"#member-{bob.pk}")
        row.get_by_text("Change").click()
        row.get_by_label("Role", exact=True).select_option("viewer")
        row.get_by_label("Spending limit", exact=True).fill("20")
        row.get_by_role("button", name=re.compile("Save")).click()
        expect(page.locator(f"#member-{bob.pk}")).to_contain_text("Only a buyer has")
        scanner.scan("team, a member's change refused")
        page.set_viewport_size(PHONE)
        scanner.scan("team on a phone")
        scanner.assert_clean()
        assert expected_status_errors(watch.errors, 422) == []
    with role_page(browser, live_server) as (page, watch):
        page.set_viewport_size(PHONE)
        scanner = Scanner(page)
        scanner.visit(f"/invitations/{token}/", "invitation, new sign-in")
        page.get_by_label("Password", exact=True).fill("short")
        page.get_by_label("Password again").fill("short")
        page.get_by_role("button", name="Create sign-in and join").click()
        expect(page.get_by_role("main")).to_contain_text("This password is too short.")
        scanner.scan("invitation, refused password")
        scanner.visit("/invitations/not-a-token/", "invitation, unknown link", status=404)
        scanner.assert_clean()
        assert expected_status_errors(watch.errors, 404, 422) == []
