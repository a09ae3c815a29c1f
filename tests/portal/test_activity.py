"""The account activity log (/account/activity/): a customer admin reads what the account's people
did, filtered, paged and as CSV, and never another customer's events."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from portal.models import AuditEvent, AuditKind, CustomerAccount, Membership, Role, User
from tests.conftest import signed_in

pytestmark = pytest.mark.django_db

URL = "/account/activity/"
CSV_URL = "/account/activity/export.csv"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def acme(ada) -> CustomerAccount:
    return ada.memberships.get().account


@pytest.fixture
def globex(grace) -> CustomerAccount:
    return grace.memberships.get().account


def event(
    kind: str,
    customer: CustomerAccount | None,
    actor: User | None,
    *,
    on_behalf_of: User | None = None,
    when: datetime | None = None,
    reason: str = "",
    **details: object,
) -> AuditEvent:
    return AuditEvent.objects.create(
        kind=kind,
        customer=customer,
        actor=actor,
        actor_email=actor.email if actor else "",
        on_behalf_of=on_behalf_of,
        on_behalf_of_email=on_behalf_of.email if on_behalf_of else "",
        created_at=when or timezone.now(),
        reason=reason,
        details=details,
    )


def name(user: User) -> str:
    return user.get_full_name() or user.email


def results(response) -> str:
    """The results region of the page (or the partial)."""
    text = response.text
    start = text.index('<section id="activity-results"')
    return text[start : text.index("</section>", start)]


def table_rows(response) -> list[str]:
    return re.findall(r"<tr>\s*<td>.*?</tr>", results(response), re.S)


def exported(response) -> list[dict[str, str]]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def trail(acme, globex, ada, bob, ben, grace, sam, maria):
    """Acme's activity, with Globex's and the access log's events around it."""
    day = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
    made = {
        "draft": event(
            AuditKind.ACTION,
            acme,
            bob,
            when=day,
            action="draft_created",
            order_id="o-acme-1",
            order_number="O-1001",
            total=Decimal("1250.00"),
        ),
        "approval_requested": event(
            AuditKind.ACTION,
            acme,
            bob,
            when=day + timedelta(hours=1),
            action="approval_requested",
            order_id="o-acme-1",
            order_number="O-1001",
            total=Decimal("1250.00"),
        ),
        "approved": event(
            AuditKind.APPROVAL,
            acme,
            maria,
            when=day + timedelta(days=1),
            order_id="o-acme-1",
            order_number="O-1001",
            total=Decimal("1250.00"),
            operation=7,
        ),
        "cancelled": event(
            AuditKind.CANCELLATION,
            acme,
            sam,
            on_behalf_of=ada,
            when=day + timedelta(days=5),
            reason="Switching to annual",
            order_id="o-acme-2",
            order_number="O-2002",
            subscription="SUB-00000001",
            total=Decimal("-80.00"),
        ),
        "team": event(
            AuditKind.ACTION,
            acme,
            ada,
            when=day + timedelta(days=6),
            action="member_invited",
            email="carol@acme.example",
            role="buyer",
        ),
        # Not activity: the access log's and sign-ins.
        "page": event(AuditKind.PAGE_VIEWED, acme, sam, on_behalf_of=ada, when=day),
        "started": event(AuditKind.IMPERSONATION_STARTED, acme, sam, on_behalf_of=ada, when=day),
        "plain_step": event(AuditKind.ACTION, acme, sam, on_behalf_of=ada, when=day, status=302),
        "sign_in": event(AuditKind.SIGN_IN, None, ada, when=day),
        # Another customer's.
        "globex": event(
            AuditKind.ACTIVATION,
            globex,
            grace,
            when=day + timedelta(days=2),
            order_id="o-globex-1",
            order_number="O-9009",
            total=Decimal("99.00"),
        ),
    }
    return made


# Who may read it


def test_it_shows_an_admin_the_accounts_activity_with_who_what_and_when(trail, ada, bob, maria):
    response = signed_in(ada).get(URL)
    assert response.status_code == 200
    rows = table_rows(response)
    # Newest first: the team change, the cancellation, the approval, the request, the draft.
    assert len(rows) == 5
    assert "Member invited" in rows[0]
    assert "<dt>Email</dt><dd>carol@acme.example</dd>" in rows[0]  # PostgreSQL orders keys itself
    assert "<dt>Role</dt><dd>buyer</dd>" in rows[0]
    cancel = rows[1]
    assert "Cancelled a subscription" in cancel
    assert f"Support agent {name(trail['cancelled'].actor)} on behalf of {name(ada)}" in cancel
    assert 'href="/orders/o-acme-2/"' in cancel
    assert ">O-2002</a>" in cancel
    assert 'href="/subscriptions/SUB-00000001/"' in cancel
    assert "\u221280.00" in cancel
    assert "Switching to annual" in cancel
    assert f"Account manager {name(maria)}" in rows[2]
    assert "Approved an order" in rows[2]
    assert "<dt>Operation</dt>" not in rows[2]  # the portal's bookkeeping stays out
    assert "Requested an approval" in rows[3]
    assert name(bob) in rows[4]
    assert "Created a draft order" in rows[4]
    assert "1,250.00" in rows[4]
    # Ada has chosen no time zone: UTC, which the column's heading names.
    assert '<time datetime="2025-03-10T09:30:00+00:00">10 Mar 2025, 09:30</time>' in rows[4]


def test_it_never_shows_another_customers_events(trail, grace):
    response = signed_in(grace).get(URL)
    rows = table_rows(response)
    assert len(rows) == 1
    assert "O-9009" in rows[0]
    assert "O-1001" not in response.text
    assert "O-2002" not in response.text


def test_it_leaves_sign_ins_and_support_sessions_to_the_access_log(trail, ada):
    text = results(signed_in(ada).get(URL))
    assert "Page viewed" not in text
    assert "Impersonation started" not in text
    assert "Signed in" not in text
    assert "302" not in text


@pytest.mark.parametrize("persona", ["ben", "bob", "maria", "sam", "superuser"])
def test_it_hides_the_page_from_everyone_but_the_accounts_admins(request, trail, persona):
    client = signed_in(request.getfixturevalue(persona))
    nav = client.get("/").text
    assert 'href="/account/activity/"' not in nav
    assert client.get(URL).status_code == 404
    assert client.get(URL, headers=HTMX).status_code == 404
    assert client.get(CSV_URL).status_code == 404


def test_it_links_the_page_beside_the_access_log_for_admins(ada):
    page = signed_in(ada).get(URL).text
    nav = re.search(r'<nav class="main-nav".*?</nav>', page, re.S).group(0)
    activity = nav.index('<a href="/account/activity/" aria-current="page">Activity</a>')
    assert nav.index('href="/account/access-log/"') > activity


def test_it_requires_sign_in():
    for url in (URL, CSV_URL):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_it_lets_support_read_it_as_an_admin_and_audits_the_view(trail, sam_client, sam, ada):
    membership = ada.memberships.get()
    started = sam_client.post(f"/support/impersonate/{membership.pk}/", {"reason": "SUP-77"})
    assert started.status_code == 302
    response = sam_client.get(URL + "?activity=drafts")
    assert response.status_code == 200
    assert "Created a draft order" in results(response)
    assert sam_client.get(CSV_URL).status_code == 200
    views = AuditEvent.objects.filter(kind=AuditKind.PAGE_VIEWED, actor=sam, on_behalf_of=ada)
    assert set(views.values_list("path", flat=True)) >= {URL + "?activity=drafts", CSV_URL}


def test_it_is_not_shown_to_support_impersonating_a_buyer(sam_client, bob):
    Membership.objects.filter(user=bob).update(role=Role.BUYER)
    membership = bob.memberships.get()
    sam_client.post(f"/support/impersonate/{membership.pk}/", {"reason": "SUP-78"})
    assert sam_client.get(URL).status_code == 404


# Filters


def _orders(response) -> list[str]:
    return re.findall(r">(O-\d+)</a>", results(response))


def test_it_filters_by_member_including_what_support_did_for_them(trail, ada, bob):
    client = signed_in(ada)
    by_bob = client.get(URL, {"member": bob.pk})
    assert all(bob.email in row for row in table_rows(by_bob))
    assert _orders(by_bob) == ["O-1001", "O-1001"]
    by_ada = client.get(URL, {"member": ada.pk})
    texts = table_rows(by_ada)
    assert len(texts) == 2
    assert "Cancelled a subscription" in texts[1]
    assert "Member invited" in texts[0]


@pytest.mark.parametrize(
    ("activity", "expected"),
    [
        ("drafts", ["Created a draft order"]),
        ("approval_requested", ["Requested an approval"]),
        ("approval_decided", ["Approved an order"]),
        ("cancelled", ["Cancelled a subscription"]),
        ("activated", []),
        ("other", ["Member invited"]),
    ],
)
def test_it_filters_by_kind_of_activity(trail, ada, activity, expected):
    response = signed_in(ada).get(URL, {"activity": activity})
    assert response.status_code == 200
    rows = table_rows(response)
    assert len(rows) == len(expected)
    for row, text in zip(rows, expected, strict=True):
        assert text in row
    if not expected:
        assert "No activity matches these filters." in response.text


def test_it_filters_by_days_from_and_to(trail, ada):
    client = signed_in(ada)
    assert _orders(client.get(URL, {"since": "2025-03-11"})) == ["O-2002", "O-1001"]
    assert _orders(client.get(URL, {"until": "2025-03-10"})) == ["O-1001", "O-1001"]
    both = client.get(URL, {"since": "2025-03-11", "until": "2025-03-11"})
    assert _orders(both) == ["O-1001"]
    assert "Approved an order" in results(both)


def test_it_searches_the_order_number(trail, ada):
    client = signed_in(ada)
    assert _orders(client.get(URL, {"q": "o-2002"})) == ["O-2002"]
    assert _orders(client.get(URL, {"q": "1001"})) == ["O-1001"] * 3
    assert "No activity matches" in client.get(URL, {"q": "O-9009"}).text  # Globex's


def test_it_ignores_and_reports_foreign_or_bad_filters(trail, ada, grace):
    client = signed_in(ada)
    response = client.get(URL, {"member": grace.pk, "activity": "drop table", "q": "O-1001"})
    assert response.status_code == 422
    assert "Select a valid choice" in response.text
    # The valid filter still applies; the invalid ones are left out, never someone else's.
    assert _orders(response) == ["O-1001"] * 3
    assert "O-9009" not in response.text
    assert grace.email not in response.text
    backwards = client.get(URL, {"since": "2025-03-12", "until": "2025-03-10"})
    assert backwards.status_code == 422
    assert "The end date is before the start date." in backwards.text


def test_it_offers_only_the_accounts_members(trail, ada, ben, bob, grace):
    form = signed_in(ada).get(URL).text
    select = re.search(r'<select name="member".*?</select>', form, re.S).group(0)
    for member in (ada, ben, bob):
        assert f'value="{member.pk}"' in select
    assert f'value="{grace.pk}"' not in select
    assert "maria@nue.example" not in select


def test_it_keeps_the_filters_in_the_page_links(acme, ada):
    for i in range(55):
        event(AuditKind.ACTION, acme, ada, action="contact_added", contact_email=f"c{i}@x.example")
    event(AuditKind.ACTIVATION, acme, ada, order_number="O-1")
    client = signed_in(ada)
    first = client.get(URL, {"activity": "contacts"})
    assert len(table_rows(first)) == 50
    assert "55 events match your filters" in first.text
    assert 'href="?activity=contacts&amp;page=2"' in first.text
    second = client.get(URL, {"activity": "contacts", "page": 2})
    assert len(table_rows(second)) == 5
    assert 'href="?activity=contacts&amp;page=1"' in second.text
    assert 'href="/account/activity/export.csv?activity=contacts"' in second.text


# HTMX


def test_it_answers_htmx_with_the_results_alone(trail, ada):
    client = signed_in(ada)
    partial = client.get(URL, {"activity": "drafts"}, headers=HTMX)
    assert partial.status_code == 200
    assert partial.text.lstrip().startswith('<section id="activity-results"')
    assert "<html" not in partial.text
    assert '<form method="get"' not in partial.text
    assert "Created a draft order" in partial.text
    assert partial["Vary"]
    assert "HX-Request" in partial["Vary"]
    page = client.get(URL, {"activity": "drafts"})
    assert page.text.lstrip().startswith("<!doctype html>")
    assert 'hx-get="/account/activity/"' in page.text
    assert 'hx-push-url="true"' in page.text
    assert '<option value="drafts" selected>' in page.text  # the bookmarked filter, shown


def test_it_answers_a_history_restore_with_the_whole_page(trail, ada):
    headers = {**HTMX, "HX-History-Restore-Request": "true"}
    response = signed_in(ada).get(URL, headers=headers)
    assert response.text.lstrip().startswith("<!doctype html>")


# CSV


def test_it_exports_the_filtered_activity_as_csv(trail, ada, bob, sam):
    response = signed_in(ada).get(CSV_URL, {"q": "O-"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="activity-\d{4}-\d{2}-\d{2}\.csv"', response["Content-Disposition"]
    )
    rows = exported(response)
    header = "when,name,email,support_agent_email,account_manager,activity,kind,action,"
    header += "order_number,subscription,amount,currency,reason,details"
    assert list(rows[0]) == header.split(",")
    assert [r["order_number"] for r in rows] == ["O-2002", "O-1001", "O-1001", "O-1001"]
    cancel, approved, requested, draft = rows
    assert cancel["when"] == "2025-03-15T09:30:00+00:00"
    assert (cancel["email"], cancel["support_agent_email"]) == (
        "ada@acme.example",
        sam.email,
    )
    assert cancel["amount"] == "-80.00"  # a plain number, not a text cell
    assert cancel["subscription"] == "SUB-00000001"
    assert cancel["reason"] == "Switching to annual"
    assert approved["account_manager"] == "yes"
    assert approved["email"] == "maria@nue.example"
    assert requested["action"] == "approval_requested"
    assert (draft["kind"], draft["activity"], draft["amount"]) == (
        "action",
        "Created a draft order",
        "1250.00",
    )
    assert draft["email"] == bob.email


def test_it_exports_only_the_acting_customers_events(trail, grace):
    rows = exported(signed_in(grace).get(CSV_URL))
    assert [r["order_number"] for r in rows] == ["O-9009"]


def test_it_exports_details_in_words_and_defuses_formulas(acme, ada):
    event(
        AuditKind.ACTION,
        acme,
        ada,
        reason="=1+1",
        action="member_role_changed",
        order_number="@SUM(A1)",
        role="buyer",
        total="NaN",
        subscription=" , SUB-1,",
    )
    (row,) = exported(signed_in(ada).get(CSV_URL))
    assert row["activity"] == "Member role changed"
    assert row["details"] == "Role: buyer"
    assert (row["reason"], row["order_number"]) == ("'=1+1", "'@SUM(A1)")
    assert row["amount"] == ""
    assert row["subscription"] == "SUB-1"


def test_it_refuses_to_export_with_invalid_filters(trail, ada):
    response = signed_in(ada).get(CSV_URL, {"since": "2025-03-12", "until": "2025-03-01"})
    assert response.status_code == 422
    assert not response.streaming
    assert "The end date is before the start date." in response.text


def test_it_shows_hostile_details_as_text(acme, ada):
    event(
        AuditKind.ACTION,
        acme,
        ada,
        reason='<img src=x onerror="alert(1)">',
        action="<script>alert(1)</script>",
        order_number='<b hx-get="/x">O-1</b>',
    )
    text = results(signed_in(ada).get(URL))
    assert "<script>" not in text
    assert "<img" not in text
    assert "<b hx-get" not in text
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in text
