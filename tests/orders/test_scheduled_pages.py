"""Scheduled changes on every page that shows the subscription, and orders.policy's rule on
every route that reaches a change (issue 26, item 3): the demo's contractors' Starter seats are
scheduled to cancel at the end of their term; Pro's changes are scheduled here."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from nue_emulator import journal
from nue_emulator.models import Subscription as StoredSubscription
from orders.actions import approvals
from orders.models import ApprovalRequest, Operation
from orders.scope import CustomerNue
from orders.templatetags.dates import day_text
from orders.views.changes import BASKET_KEY
from portal.models import User
from tests import demo
from tests.orders.approval_helpers import lower_limit

pytestmark = pytest.mark.django_db


def acme(user: User) -> CustomerNue:
    return CustomerNue(user.memberships.get().account)


def details_url(name: str, kind: str) -> str:
    return reverse("orders:change_details", args=[name, kind])


def preview(client, name: str, kind: str, data: dict[str, str]) -> str:
    response = client.post(details_url(name, kind), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"].rstrip("/").split("/")[-1]


def confirm(client, name: str, order_id: str):
    return client.post(reverse("orders:change_confirm", args=[name, order_id]))


def cancels_text(user: User, name: str = demo.CONTRACTORS) -> str:
    end = acme(user).subscription(name).end_date
    assert end is not None
    return f"Active until {day_text(end)}, then cancels"


def cancelling_order(user: User) -> str:
    """The demo's change order that scheduled the contractors' cancellation."""
    orders = acme(user).orders(status="active", includes=("orderProducts",))
    return next(o.id for o in orders if any(c.name == demo.CONTRACTORS for c in o.changes))


def sent(calls: list[journal.Entry]) -> list[str]:
    return [c.path for c in calls if c.method == "POST"]


def test_it_shows_a_scheduled_cancellation_on_every_page_of_the_subscription(ada_client, ada):
    text = cancels_text(ada)
    pages = {
        "dashboard": reverse("home"),
        "subscriptions": reverse("orders:subscription_list"),
        "subscription": reverse("orders:subscription_detail", args=[demo.CONTRACTORS]),
        "wizard": reverse("orders:change_start", args=[demo.CONTRACTORS]),
        "wizard details": details_url(demo.CONTRACTORS, "quantity"),
        "change order": reverse("orders:order_detail", args=[cancelling_order(ada)]),
    }
    for page, url in pages.items():
        response = ada_client.get(url)
        # The details of a change it refuses answer 409, with the page saying why.
        assert response.status_code == (409 if page == "wizard details" else 200), page
        assert text in response.content.decode(), page
    # A subscription with nothing scheduled says nothing of the kind.
    pro = ada_client.get(reverse("orders:subscription_detail", args=[demo.PRO])).content
    assert b"then cancels" not in pro


def test_it_says_what_stays_possible_what_not_and_whom_to_ask(ada_client, ada):
    page = ada_client.get(
        reverse("orders:subscription_detail", args=[demo.CONTRACTORS])
    ).content.decode()
    assert "You can still see it and its invoices." in page
    assert "Not possible while this is scheduled: Change quantity, Extend the term" in page
    # Nue documents no way to withdraw it: the account manager is named instead of a button.
    assert "Nue offers no way to withdraw a scheduled cancellation from this portal." in page
    assert 'href="mailto:maria@nue.example?subject=SUB-00000009' in page
    assert "Keep my subscription" not in page
    order_url = reverse("orders:order_detail", args=[cancelling_order(ada)])
    assert f'href="{order_url}"' in page

    start = ada_client.get(reverse("orders:change_start", args=[demo.CONTRACTORS]))
    html = start.content.decode()
    assert "A cancellation is scheduled: it ends on" in html
    assert "and does not renew" in html
    assert all(not c.available for c in start.context["choices"])
    assert details_url(demo.CONTRACTORS, "quantity") not in html


def test_it_shows_auto_renew_off_while_a_cancellation_is_scheduled(ada_client, ada):
    # Nue may leave autoRenew on beside a cancellationDate (the emulator turns it off).
    stored = StoredSubscription.objects.get(name=demo.CONTRACTORS, is_current=True)
    stored.doc = {**stored.doc, "autoRenew": True}
    stored.save(update_fields=["doc"])
    assert acme(ada).subscription(demo.CONTRACTORS).auto_renew is True

    detail = ada_client.get(reverse("orders:subscription_detail", args=[demo.CONTRACTORS]))
    assert "<dt>Auto-renew</dt><dd>No</dd>" in detail.content.decode()
    listed = ada_client.get(reverse("orders:subscription_list"))
    shown = {s.name: s for s, _add_ons in listed.context["groups"]}
    assert shown[demo.CONTRACTORS].auto_renew is False
    assert shown[demo.PRO].auto_renew is True
    dashboard = ada_client.get(reverse("home"))
    active = {s.name: s for s in dashboard.context["active_subscriptions"]}
    assert active[demo.CONTRACTORS].auto_renew is False


def test_it_refuses_forged_posts_of_every_change_to_a_subscription_scheduled_to_cancel(
    ada_client, ada
):
    today = timezone.localdate().isoformat()
    forged = {
        "quantity": {"quantity": 9, "when": "today"},
        "renew": {"renewal_term": 12},
        "upgrade": {"target": "x", "when": "today"},
        "cancel": {"reason": "not_using", "when": "date", "on": today},
    }
    with journal.capture() as calls:
        for kind, data in forged.items():
            response = ada_client.post(details_url(demo.CONTRACTORS, kind), data)
            assert response.status_code == 409, kind
            assert "A cancellation is scheduled" in response.content.decode(), kind
        estimate = ada_client.post(
            reverse("orders:change_estimate", args=[demo.CONTRACTORS, "quantity"]),
            forged["quantity"],
        )
        assert estimate.status_code == 403
    assert sent(calls) == []
    assert not Operation.objects.exists()


def test_it_refuses_a_basket_holding_a_change_to_a_subscription_scheduled_to_cancel(ada_client):
    session = ada_client.session
    account = str(User.objects.get(email=demo.ADA).memberships.get().account.pk)
    item = [
        demo.CONTRACTORS,
        "quantity",
        "Set quantity to 9",
        {"quantity": ["9"], "when": ["today"]},
    ]
    session[BASKET_KEY] = {account: [item]}
    session.save()
    with journal.capture() as calls:
        response = ada_client.post(reverse("orders:change_basket"), {"action": "preview"})
    assert response.status_code == 409
    assert "SUB-00000009: A cancellation is scheduled" in response.content.decode()
    assert sent(calls) == []


@pytest.fixture
def quantity_draft(ada_client) -> str:
    """Pro at 7 seats, previewed (a draft change order) before anything was scheduled."""
    return preview(ada_client, demo.PRO, "quantity", {"quantity": 7, "when": "today"})


@pytest.fixture
def pro_cancels(ada_client, ada, quantity_draft) -> date:
    """Pro's cancellation at the end of its billing period, scheduled through the wizard after
    the quantity draft was made; its last day."""
    order_id = preview(
        ada_client, demo.PRO, "cancel", {"reason": "not_using", "when": "period_end"}
    )
    assert confirm(ada_client, demo.PRO, order_id).status_code == 302
    last_day = acme(ada).subscription(demo.PRO).cancels_on
    assert last_day is not None
    assert last_day > timezone.localdate()
    return last_day


def test_it_refuses_to_confirm_a_change_drafted_before_the_cancellation(
    ada_client, ada, quantity_draft, pro_cancels
):
    with journal.capture() as calls:
        response = confirm(ada_client, demo.PRO, quantity_draft)
    assert response.status_code == 409
    page = response.content.decode()
    assert "Not possible now." in page
    assert f"it ends on {day_text(pro_cancels)}, so it cannot be changed" in page
    assert not any(path.endswith(quantity_draft) for path in sent(calls))
    assert acme(ada).subscription(demo.PRO).quantity == 5
    # The page shown again offers no confirm: it says why instead.
    assert "Confirm the change" not in page


def test_it_refuses_to_activate_it_from_the_draft_page(
    ada_client, ada, quantity_draft, pro_cancels
):
    page = ada_client.get(reverse("orders:order_detail", args=[quantity_draft])).content.decode()
    assert f"Active until {day_text(pro_cancels)}, then cancels" in page
    assert "so it cannot be changed" in page
    with journal.capture() as calls:
        response = ada_client.post(
            reverse("orders:draft_activate", args=[quantity_draft]), {"consent": "on"}
        )
    assert response.status_code == 403
    assert not any(path.endswith(quantity_draft) for path in sent(calls))
    assert acme(ada).subscription(demo.PRO).quantity == 5


def _schedule_pro_cancellation(client) -> None:
    order_id = preview(client, demo.PRO, "cancel", {"reason": "not_using", "when": "period_end"})
    assert confirm(client, demo.PRO, order_id).status_code == 302


def test_it_refuses_a_buyer_an_approval_request(ada_client, ada, bob_client, quantity_draft):
    lower_limit(limit=Decimal("1.00"))  # Bob would have to ask for anything
    url = reverse("orders:approval_request", args=[quantity_draft])
    form = bob_client.get(reverse("orders:order_detail", args=[quantity_draft]))
    assert form.context["approval_panel"]["may_request"]
    _schedule_pro_cancellation(ada_client)

    page = bob_client.get(reverse("orders:order_detail", args=[quantity_draft]))
    assert not page.context["approval_panel"]["may_request"]
    response = bob_client.post(url, {"comment": "New hires", "pay": "invoice", "consent": "on"})
    assert response.status_code == 403
    assert "A cancellation is scheduled" in response.content.decode()
    assert not ApprovalRequest.objects.exists()


def test_it_refuses_the_account_manager_an_approval(
    ada_client, ada, bob, maria_client, quantity_draft
):
    lower_limit(limit=Decimal("1.00"))
    draft = acme(ada).order(quantity_draft)
    requested = approvals.request_approval(
        ada.memberships.get().account, draft, requester=bob, comment="New hires"
    )
    _schedule_pro_cancellation(ada_client)

    url = reverse("orders:review_request", args=[requested.pk])
    page = maria_client.get(url)
    assert "This request cannot be approved: SUB-00000001: A cancellation is scheduled" in (
        page.content.decode()
    )
    figures = page.context["approve_form"]["figures"].value()
    with journal.capture() as calls:
        response = maria_client.post(
            reverse("orders:review_approve", args=[requested.pk]), {"figures": figures}
        )
    assert response.status_code == 409
    assert "so it cannot be changed" in response.content.decode()
    assert not any(path.endswith(quantity_draft) for path in sent(calls))
    requested.refresh_from_db()
    assert requested.state == ApprovalRequest.State.PENDING
    assert acme(ada).subscription(demo.PRO).quantity == 5


def test_it_shows_the_cancellation_it_scheduled_on_the_result(ada_client, ada):
    order_id = preview(
        ada_client, demo.PRO, "cancel", {"reason": "not_using", "when": "period_end"}
    )
    result = ada_client.get(confirm(ada_client, demo.PRO, order_id)["Location"])
    page = result.content.decode()
    assert "Cancellation scheduled" in page
    assert cancels_text(ada, demo.PRO) in page
    assert "Make another change" not in page
    # The order page of the change order says it too, and names it as what scheduled it.
    order = ada_client.get(reverse("orders:order_detail", args=[order_id])).content.decode()
    assert cancels_text(ada, demo.PRO) in order
    assert "Scheduled by change order" in order


def _seats_drop(ada_client, ada) -> date:
    """Pro down from 5 to 3 seats from the next billing period, through the wizard; the first
    day of 3 seats."""
    sub = acme(ada).subscription(demo.PRO)
    starts = sub.next_billing_date
    assert starts is not None
    assert starts > timezone.localdate()
    data = {"quantity": 3, "when": "date", "on": starts.isoformat()}
    assert (
        confirm(ada_client, demo.PRO, preview(ada_client, demo.PRO, "quantity", data)).status_code
        == 302
    )
    return starts


def test_it_shows_seats_dropping_later_and_keeps_what_still_makes_sense(ada_client, ada):
    starts = _seats_drop(ada_client, ada)
    text = f"Active until {day_text(starts - timedelta(days=1))}, then drops to 3 seats"
    for url in (
        reverse("home"),
        reverse("orders:subscription_list"),
        reverse("orders:subscription_detail", args=[demo.PRO]),
        reverse("orders:change_start", args=[demo.PRO]),
    ):
        assert text in ada_client.get(url).content.decode(), url
    start = ada_client.get(reverse("orders:change_start", args=[demo.PRO]))
    available = {c.kind.slug for c in start.context["choices"] if c.available}
    assert available == {"term", "renew", "cancel"}
    refused = {c.kind.slug: c.reason for c in start.context["choices"]}
    assert "another change of seats or plan before then would overlap it" in refused["quantity"]
    # Auto-renew is Nue's: a change of seats does not turn it off.
    assert (
        "<dt>Auto-renew</dt><dd>Yes"
        in ada_client.get(reverse("orders:subscription_detail", args=[demo.PRO])).content.decode()
    )
    with journal.capture() as calls:
        forged = ada_client.post(
            details_url(demo.PRO, "quantity"), {"quantity": 9, "when": "today"}
        )
    assert forged.status_code == 409
    assert sent(calls) == []
    # Canceling stays possible: its form is offered.
    assert ada_client.get(details_url(demo.PRO, "cancel")).context["choice"].available


def test_it_shows_a_move_to_a_lower_plan_later(ada_client, ada):
    order_id = preview(
        ada_client, demo.PRO, "downgrade", {"when": "period_end"} | _starter(ada_client)
    )
    assert confirm(ada_client, demo.PRO, order_id).status_code == 302
    page = ada_client.get(reverse("orders:subscription_detail", args=[demo.PRO])).content.decode()
    assert "then moves to Starter Plan (US)" in page
    order = ada_client.get(reverse("orders:order_detail", args=[order_id])).content.decode()
    assert "then moves to Starter Plan (US)" in order


def _starter(client) -> dict[str, str]:
    form = client.get(details_url(demo.PRO, "downgrade")).context["form"]
    (target,) = [
        value for value, label in form.fields["target"].choices if label == "Starter Plan (US)"
    ]
    return {"target": target}


def test_it_lists_the_cancellation_in_the_account_managers_view_of_the_customer(maria_client, ada):
    account = ada.memberships.get().account
    page = maria_client.get(reverse("orders:review"), {"customer": account.pk})
    html = page.content.decode()
    listed = html[html.index("Scheduled to cancel") :]
    assert demo.CONTRACTORS in listed
    assert cancels_text(ada) in listed
    renewing = html[html.index("Renewing in the next") : html.index("Scheduled to cancel")]
    assert demo.CONTRACTORS not in renewing
