"""The support pages (/support/, /support/audit/) and the customer admin's access log."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.test import Client

from portal.models import AuditEvent, AuditKind, CustomerAccount, Membership, Role, User
from tests.conftest import signed_in
from tests.orders.purchase_helpers import PRO as PURCHASE_PRO
from tests.orders.purchase_helpers import create_draft, line
from tests.orders.test_change_wizard import PRO, confirm, preview

pytestmark = pytest.mark.django_db


def nav(response) -> str:
    match = re.search(r'<nav class="main-nav".*?</nav>', response.text, re.S)
    return match.group(0) if match else ""


@pytest.fixture
def acme(ada) -> CustomerAccount:
    return ada.memberships.get().account


@pytest.fixture
def globex(grace) -> CustomerAccount:
    return grace.memberships.get().account


@pytest.fixture
def initech(db) -> CustomerAccount:
    account = CustomerAccount.objects.create(nue_customer_id="cust-initech-77", name="Initech")
    peter = User.objects.create_user(
        "peter@initech.example", first_name="Peter", last_name="Gibbons"
    )
    Membership.objects.create(user=peter, account=account, role=Role.BUYER)
    return account


@pytest.fixture
def maria_support(maria) -> User:
    maria.user_permissions.add(Permission.objects.get(codename="impersonate"))
    return User.objects.get(pk=maria.pk)


def impersonate(client: Client, user: User, reason: str = "Ticket SUP-42") -> None:
    response = client.post(f"/support/impersonate/{user.memberships.get().pk}/", {"reason": reason})
    assert response.status_code == 302


# /support/


def test_it_shows_the_support_page_to_support_agents(sam_client):
    response = sam_client.get("/support/")
    assert response.status_code == 200
    assert 'href="/support/"' in nav(response)
    assert 'aria-current="page"' in nav(response)


@pytest.mark.parametrize("persona", ["ada", "ben", "grace", "maria"])
def test_it_hides_the_support_pages_from_everyone_else(request, persona):
    client = signed_in(request.getfixturevalue(persona))
    assert 'href="/support/"' not in nav(client.get("/"))
    for url in ["/support/", "/support/audit/", "/support/impersonate/1/", "/support/elevate/"]:
        assert client.get(url).status_code == 404, url


@pytest.mark.parametrize(
    "url", ["/support/", "/support/audit/", "/support/impersonate/1/", "/account/access-log/"]
)
def test_it_requires_sign_in(url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("acme", {"ada@acme.example", "ben@acme.example"}),
        ("GRACE@", {"grace@globex.example"}),
        ("Gibbons", {"peter@initech.example"}),
        ("initech-77", {"peter@initech.example"}),
    ],
)
def test_it_finds_accounts_by_name_email_person_and_nue_id(sam_client, initech, query, expected):
    response = sam_client.get("/support/", {"q": query})
    found = set(re.findall(r'<span class="muted">([^<]+@[^<]+)</span>', response.text))
    assert expected <= found
    if query != "acme":
        assert "ada@acme.example" not in found


def test_it_finds_the_nue_customer_id(sam_client, acme):
    response = sam_client.get("/support/", {"q": acme.nue_customer_id})
    assert acme.name in response.text


def test_it_offers_an_impersonate_form_with_a_required_reason(sam_client, ada):
    response = sam_client.get("/support/", {"q": "ada@"})
    pk = ada.memberships.get().pk
    form = re.search(
        rf'<form method="post" action="/support/impersonate/{pk}/".*?</form>', response.text, re.S
    ).group(0)
    assert "csrfmiddlewaretoken" in form
    assert re.search(r'<input type="text" id="reason-\d+" name="reason" required', form)
    assert '<label for="reason-' in form


def test_it_shows_why_a_member_cannot_be_impersonated(sam_client, ada):
    User.objects.filter(pk=ada.pk).update(is_active=False)
    response = sam_client.get("/support/", {"q": "ada@"})
    assert "This user is deactivated." in response.text
    assert f'action="/support/impersonate/{ada.memberships.get().pk}/"' not in response.text


def test_it_renders_the_results_partial_for_htmx(sam_client):
    response = sam_client.get("/support/", {"q": "acme"}, HTTP_HX_REQUEST="true")
    assert response.text.lstrip().startswith('<section id="results"')
    assert "<html" not in response.text
    assert response.headers["Vary"].count("HX-Request") == 1


def test_it_limits_an_account_manager_to_her_book(maria_support, initech, acme, globex):
    client = signed_in(maria_support)
    response = client.get("/support/")
    assert acme.name in response.text
    assert globex.name in response.text
    assert "Initech" not in response.text
    peter_membership = initech.memberships.get()
    assert client.get(f"/support/impersonate/{peter_membership.pk}/").status_code == 404


def test_it_rejects_the_wrong_method(sam_client):
    assert sam_client.post("/support/").status_code == 405
    assert sam_client.post("/support/audit/").status_code == 405
    assert sam_client.delete("/support/impersonate/1/").status_code == 405


def test_it_shows_the_impersonation_confirmation_page(sam_client, ada, acme):
    response = sam_client.get(f"/support/impersonate/{ada.memberships.get().pk}/")
    assert response.status_code == 200
    assert acme.nue_customer_id in response.text
    assert "up to 30 minutes" in response.text


def test_it_returns_404_for_a_missing_membership(sam_client):
    assert sam_client.get("/support/impersonate/999999/").status_code == 404


# /support/audit/


def test_it_shows_the_audit_log_to_support_agents(sam_client, ada):
    impersonate(sam_client, ada)
    sam_client.get("/")
    sam_client.post("/support/stop/")
    response = sam_client.get("/support/audit/")
    assert response.status_code == 200
    assert "Impersonation started" in response.text
    assert "Ticket SUP-42" in response.text
    assert "Page viewed" in response.text


def test_it_shows_the_audit_log_to_whoever_may_view_audit_events(maria, ada):
    maria.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    assert signed_in(User.objects.get(pk=maria.pk)).get("/support/audit/").status_code == 200


def test_it_filters_the_audit_log_by_agent_customer_kind_and_date(sam_client, sam, ada, grace):
    with time_machine.travel(datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False):
        AuditEvent.objects.create(kind=AuditKind.SIGN_IN, actor=ada, actor_email=ada.email)
    with time_machine.travel(datetime(2026, 3, 5, 9, tzinfo=UTC), tick=False):
        AuditEvent.objects.create(
            kind=AuditKind.APPROVAL,
            actor=sam,
            actor_email=sam.email,
            customer=grace.memberships.get().account,
            reason="approved SO-7",
        )

    def rows(**params) -> int:
        response = sam_client.get("/support/audit/", params)
        return response.text.count("<tr>") - 1  # minus the header row

    assert rows(agent=sam.pk, kind="approval") == 1
    assert rows(customer=grace.memberships.get().account.pk) == 1
    assert rows(since="2026-03-01", until="2026-03-02") == 1
    assert rows(since="2026-03-03", until="2026-03-06") == 1
    assert rows(kind="sign_in", until="2026-03-04") == 1


def audit_rows(response) -> str:
    match = re.search(r"<tbody>.*?</tbody>", response.text, re.S)
    return match.group(0) if match else ""


def test_it_shows_an_agent_only_the_events_of_customers_in_her_book(
    maria_support, sam, initech, acme, globex
):
    peter = initech.memberships.get().user
    for account in (acme, globex, initech):
        AuditEvent.objects.create(
            kind=AuditKind.APPROVAL, actor=sam, customer=account, reason=f"about {account.name}"
        )
    # Sign-ins name no customer: they belong to the customers their users are members of.
    AuditEvent.objects.create(kind=AuditKind.SIGN_IN, actor=peter, actor_email=peter.email)
    client = signed_in(maria_support)

    rows = audit_rows(client.get("/support/audit/"))
    assert f"about {acme.name}" in rows
    assert f"about {globex.name}" in rows
    assert "about Initech" not in rows
    assert "peter@initech.example" not in rows
    assert "Initech" not in rows

    # Nor can she filter her way to them: the customer filter offers only her book.
    page = client.get("/support/audit/", {"customer": initech.pk})
    assert f'<option value="{initech.pk}"' not in page.text
    assert "Initech" not in audit_rows(page)


def test_it_shows_an_agent_without_a_book_every_customer_but_not_other_staffs_sign_ins(
    sam_client, maria, ada, initech
):
    AuditEvent.objects.create(kind=AuditKind.SIGN_IN, actor=ada, actor_email=ada.email)
    AuditEvent.objects.create(kind=AuditKind.SIGN_IN, actor=maria, actor_email=maria.email)
    AuditEvent.objects.create(kind=AuditKind.SIGN_IN_FAILED, details={"email": "who@else.example"})
    AuditEvent.objects.create(kind=AuditKind.APPROVAL, customer=initech, reason="about Initech")
    rows = audit_rows(sam_client.get("/support/audit/"))
    assert ada.email in rows
    assert "about Initech" in rows
    assert maria.email not in rows
    assert "who@else.example" not in rows

    auditor = User.objects.create_user("auditor@nue.example", is_staff=True)
    auditor.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    rows = audit_rows(signed_in(auditor).get("/support/audit/"))
    assert maria.email in rows
    assert "who@else.example" in rows


def test_it_shows_event_details_as_labelled_fields_never_a_dict(sam_client, sam, ada):
    AuditEvent.objects.create(
        kind=AuditKind.CHANGE_ORDER,
        actor=sam,
        customer=ada.memberships.get().account,
        details={
            "order_number": "O-00000042",
            "subscription": "SUB-00000001",
            "asked": {"asked": "Set quantity to 8", "effective": "2026-11-23"},
            "total": "12345.5",
        },
    )
    rows = audit_rows(sam_client.get("/support/audit/", {"kind": "change_order"}))
    assert "{" not in rows
    assert "<dt>Order</dt><dd>O-00000042</dd>" in rows
    assert "<dt>Asked for</dt><dd>Set quantity to 8</dd>" in rows
    assert "<dt>Effective</dt><dd>23 Nov 2026</dd>" in rows
    assert "<dt>Total</dt><dd>12,345.50</dd>" in rows


def test_it_writes_a_credit_with_a_minus_sign(sam_client, sam, ada):
    AuditEvent.objects.create(
        kind=AuditKind.CANCELLATION,
        actor=sam,
        customer=ada.memberships.get().account,
        details={"order_number": "O-00000043", "total": "-1643.5"},
    )
    rows = audit_rows(sam_client.get("/support/audit/", {"kind": "cancellation"}))
    assert "<dt>Total</dt><dd>\u22121,643.50</dd>" in rows


def test_it_explains_an_inverted_date_range(sam_client):
    response = sam_client.get("/support/audit/", {"since": "2026-03-05", "until": "2026-03-01"})
    assert "The end date is before the start date." in response.text


def test_it_paginates_the_audit_log(sam_client, ada):
    AuditEvent.objects.bulk_create(
        AuditEvent(kind=AuditKind.SIGN_IN, actor=ada, actor_email=ada.email) for _ in range(60)
    )
    first = sam_client.get("/support/audit/", {"kind": "sign_in"})
    assert first.text.count("<tr>") - 1 == 50
    assert "page=2" in first.text
    assert "kind=sign_in" in re.search(r'href="\?([^"]*page=2)', first.text).group(1)
    second = sam_client.get("/support/audit/", {"kind": "sign_in", "page": 2})
    assert second.text.count("<tr>") - 1 == AuditEvent.objects.filter(kind="sign_in").count() - 50


def test_it_renders_the_audit_results_partial_for_htmx(sam_client):
    response = sam_client.get("/support/audit/", HTTP_HX_REQUEST="true")
    assert response.text.lstrip().startswith('<section id="audit-results"')


# /account/access-log/


def test_it_shows_a_customer_admin_who_from_support_looked_and_why(sam_client, ada, ben):
    impersonate(sam_client, ben)
    sam_client.get("/")
    sam_client.post("/support/elevate/", {"reason": "Ben asked to renew"})
    sam_client.post("/support/stop/")
    response = signed_in(ada).get("/account/access-log/")
    assert response.status_code == 200
    assert 'href="/account/access-log/"' in nav(response)
    text = response.text
    assert "Sam Support" in text
    assert f"as {ben.get_full_name() or ben.email}" in text
    assert "Ticket SUP-42" in text
    assert "Ben asked to renew" in text
    assert "Page viewed" in text
    assert '<span class="mono">GET /</span>' in text


def test_it_lists_the_money_moving_steps_an_agent_took_in_the_access_log(sam_client, ada, sam):
    draft_id = create_draft(signed_in(ada), line("la", PURCHASE_PRO, quantity="2"))
    impersonate(sam_client, ada)
    assert sam_client.post("/support/elevate/", {"reason": "Ada asked, SUP-9"}).status_code == 302
    activate = sam_client.post(f"/orders/{draft_id}/activate/", {"consent": "on"})
    assert activate.status_code == 302
    change_id = preview(sam_client, PRO, "quantity", {"quantity": 8, "when": "today"})
    assert confirm(sam_client, PRO, change_id).status_code == 302
    cancel_id = preview(sam_client, PRO, "cancel", {"reason": "switching", "when": "today"})
    assert confirm(sam_client, PRO, cancel_id).status_code == 302
    sam_client.post("/support/stop/")

    steps = AuditEvent.objects.filter(
        kind__in=[AuditKind.ACTIVATION, AuditKind.CHANGE_ORDER, AuditKind.CANCELLATION]
    )
    assert {(e.actor, e.on_behalf_of) for e in steps} == {(sam, ada)}
    text = signed_in(ada).get("/account/access-log/").text
    start = text.index("Committed for you")
    committed = text[start : text.index("</ul>", start)]
    for event in steps:
        assert f"<strong>{event.get_kind_display()}</strong>" in committed
        assert f"<dt>Order</dt><dd>{event.details['order_number']}</dd>" in committed
    assert "<dd>Set quantity to 8</dd>" in committed
    assert "<dt>Operation</dt>" not in committed
    assert [kind in committed for kind in ("Activation", "Change order", "Cancellation")] == [
        True,
        True,
        True,
    ]


def test_it_shows_only_the_acting_customers_access(sam_client, ada, grace):
    impersonate(sam_client, ada, reason="Acme only")
    sam_client.post("/support/stop/")
    response = signed_in(grace).get("/account/access-log/")
    assert "Acme only" not in response.text
    # Grace reads German.
    assert "Niemand vom Support hat über das Portal auf Globex GmbH zugegriffen" in response.text


def test_it_leaves_sign_ins_and_approvals_out_of_the_access_log(ada, acme, maria):
    AuditEvent.objects.create(kind=AuditKind.APPROVAL, actor=maria, customer=acme, reason="ok")
    response = signed_in(ada).get("/account/access-log/")
    assert "Nobody from support has accessed" in response.text


@pytest.mark.parametrize("persona", ["ben", "maria", "sam"])
def test_it_hides_the_access_log_from_non_admins(request, persona):
    client = signed_in(request.getfixturevalue(persona))
    assert 'href="/account/access-log/"' not in nav(client.get("/"))
    assert client.get("/account/access-log/").status_code == 404
