"""The URL inventory: every route of the portal, who may use it, and whose object it reaches.

tests/security/test_inventory.py walks Django's resolver and fails for any route without an entry
here, so a new URL cannot ship without saying who may reach it; the other security tests generate
their requests from this table (anonymous, foreign ids, roles, CSRF, GETs that must not write).

Excluded, with their own tests: `admin/` (Django's admin, behind its own staff sign-in; see
test_anonymous.py) and the embedded emulator under `/nue-emulator/` (an upstream stand-in guarded by
its API key; see tests/nue_emulator and test_anonymous.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from django.test import Client
from django.urls import reverse

from orders.actions import approvals, quotes
from orders.models import QuoteLink
from orders.nue import Order
from orders.scope import CustomerNue
from portal.models import CustomerAccount, Invitation, Membership, Role, User

EXCLUDED_PREFIXES = ("admin/", "nue-emulator/")

ADA, BEN, BOB, GRACE, MARIA, SAM, SUPERUSER = (
    "ada",
    "ben",
    "bob",
    "grace",
    "maria",
    "sam",
    "superuser",
)
EMAILS = {
    ADA: "ada@acme.example",
    BEN: "ben@acme.example",
    BOB: "bob@acme.example",
    GRACE: "grace@globex.example",
    MARIA: "maria@nue.example",
    SAM: "sam@nue.example",
    SUPERUSER: "admin@nue.example",
}
EVERYONE = frozenset(EMAILS)
MEMBERS = frozenset({ADA, BEN, BOB, GRACE})
BUYERS = frozenset({ADA, BOB, GRACE})
ADMINS = frozenset({ADA, GRACE})
ACME_MEMBERS = frozenset({ADA, BEN, BOB})
# The vendor's staff, who must pass a second factor (portal/mfa.py) and, in these sweeps, have an
# authenticator app (tests.conftest.signed_in makes one); the customers have none.
STAFF = frozenset({MARIA, SAM, SUPERUSER})
NOBODY: frozenset[str] = frozenset()

ACME = "Acme Corporation"
GLOBEX = "Globex GmbH"
INITECH = "Initech LLC"


class Owner(StrEnum):
    """Whose object a route reaches through its URL or body."""

    NONE = "none"  # nothing of a customer's (sign-in pages, health check, session)
    CUSTOMER = "customer"  # the acting customer's lists (no id in the URL)
    ORDER = "order"
    DRAFT = "draft"
    SUBSCRIPTION = "subscription"
    INVOICE = "invoice"
    CHANGE_PREVIEW = "change preview"
    BASKET = "change basket"
    MEMBERSHIP = "membership"
    MEMBER = "member of a customer's team"
    INVITATION = "invitation to a customer's team"
    APPROVAL = "approval request"
    BOOK_ORDER = "order of a customer in the manager's book"
    AUDIT = "audit"
    IMPERSONATION = "impersonation session"
    # The support workspace: a customer within the agent's reach, and its ledger rows.
    SUPPORT_CUSTOMER = "customer within the support agent's reach"
    OPERATION = "operation ledger row"
    # A quote link's public pages: the token in the URL is the credential, whoever holds it.
    QUOTE_LINK = "quote link, by its token"
    BOOK_QUOTE = "quote link of a customer in the manager's book"


class Ids:
    """Real object ids of one customer, made or read on first use (each test's data is fresh)."""

    def __init__(self, account: CustomerAccount, owner_client: Client | None = None) -> None:
        self.account = account
        self.nue = CustomerNue(account)
        self.owner_client = owner_client

    @property
    def account_id(self) -> int:
        return self.account.pk

    @cached_property
    def membership(self) -> int:
        return Membership.objects.filter(account=self.account).order_by("pk").first().pk

    @cached_property
    def _invitation(self) -> tuple[int, str]:
        """An open invitation to this customer's team: its id, and its link's token."""
        invitation = Invitation(
            account=self.account, email=f"invitee-{self.account.pk}@example.com", role=Role.VIEWER
        )
        token = invitation.new_token()
        invitation.save()
        return invitation.pk, token

    @property
    def invitation(self) -> int:
        return self._invitation[0]

    @property
    def invitation_token(self) -> str:
        return self._invitation[1]

    @cached_property
    def _orders(self) -> list[Order]:
        return self.nue.orders()

    @cached_property
    def order(self) -> str:
        return next(o.id for o in self._orders if o.status == "Activated")

    @cached_property
    def draft(self) -> str:
        return next(o.id for o in self._orders if o.is_draft and o.order_type != "Change")

    @cached_property
    def subscription(self) -> str:
        subs = self.nue.subscriptions()
        return next(s.name for s in subs if not s.is_add_on and s.status == "Active")

    @cached_property
    def invoice(self) -> str:
        return self.nue.invoices(page=1, limit=1).items[0].id

    @cached_property
    def approval(self) -> int:
        requester = User.objects.filter(memberships__account=self.account).first()
        order = self.nue.order(self.draft, fresh=True)
        made = approvals.request_approval(self.account, order, requester=requester, comment="")
        return made.pk

    @cached_property
    def operation(self) -> int:
        """An operation of this customer whose outcome Nue left unknown (a ledger row)."""
        from orders.models import Operation

        actor = User.objects.filter(memberships__account=self.account).first()
        made = Operation.objects.create(
            kind=Operation.Kind.ACTIVATE,
            target=f"sweep-{uuid.uuid4().hex[:12]}",
            customer=self.account,
            actor=actor,
            payload_hash="0" * 64,
            state=Operation.State.UNKNOWN,
        )
        return made.pk

    @cached_property
    def _quote_link(self) -> QuoteLink:
        """A link to this customer's draft, made by one of its members."""
        maker = User.objects.filter(memberships__account=self.account).order_by("pk").first()
        order = self.nue.order(self.draft, fresh=True)
        return quotes.generate_quote_link(self.nue, order, user=maker)

    @property
    def quote_link(self) -> int:
        return self._quote_link.pk

    @property
    def quote_token(self) -> str:
        return self._quote_link.token

    @cached_property
    def change_preview(self) -> str:
        """A draft change order previewed through the wizard by a member of this customer."""
        assert self.owner_client is not None, "a change preview needs the owner's client"
        sub = self.nue.subscription(self.subscription)
        url = reverse("orders:change_details", args=[sub.name, "quantity"])
        response = self.owner_client.post(url, {"quantity": int(sub.quantity) + 1, "when": "today"})
        assert response.status_code == 302, response.content.decode()[:2000]
        return response["Location"].rstrip("/").rsplit("/", 1)[-1]

    @cached_property
    def basket(self) -> str:
        """A change basket previewed by a member of this customer (one quantity change)."""
        assert self.owner_client is not None, "a basket needs the owner's client"
        sub = self.nue.subscription(self.subscription)
        url = reverse("orders:change_details", args=[sub.name, "quantity"])
        body = {"quantity": int(sub.quantity) + 2, "when": "today", "action": "basket"}
        assert self.owner_client.post(url, body).status_code == 302
        response = self.owner_client.post(reverse("orders:change_basket"), {"action": "preview"})
        assert response.status_code == 302, response.content.decode()[:2000]
        return response["Location"].rstrip("/").rsplit("/", 1)[-1]


Build = Callable[[Ids], dict[str, Any]]


def _none(ids: Ids) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Route:
    """One URL pattern: who may use it, with which methods, reaching whose object.

    `kwargs` builds the URL's arguments and `body` a plausible POST body from a customer's ids;
    swapping in another customer's `Ids` gives the foreign-id request. `writes` marks a POST that
    changes state (upstream or the portal's); `moves_money` one that creates or activates an order
    or change order (its view wears @money_moving); `public` routes need no sign-in;
    `before_second_factor` routes are open to a session that still owes its second factor (every
    other signed-in route sends it to that first: tests/security/test_second_factor.py).
    """

    name: str
    methods: tuple[str, ...]
    allowed: frozenset[str]
    owner: Owner
    kwargs: Build = _none
    body: Build = _none
    writes: bool = False
    moves_money: bool = False
    public: bool = False
    # Signed by its sender instead of a session and a CSRF token (Stripe's webhook).
    webhook: bool = False
    htmx_only: bool = False
    before_second_factor: bool = False
    needs: tuple[str, ...] = field(default=())  # Ids attributes the route builds on

    def url(self, ids: Ids) -> str:
        return reverse(self.name, kwargs=self.kwargs(ids) or None)

    @property
    def is_get(self) -> bool:
        return "GET" in self.methods

    @property
    def is_post(self) -> bool:
        return "POST" in self.methods


def _order(ids: Ids) -> dict[str, Any]:
    return {"order_id": ids.order}


def _draft(ids: Ids) -> dict[str, Any]:
    return {"order_id": ids.draft}


def _sub(ids: Ids) -> dict[str, Any]:
    return {"name": ids.subscription}


def _preview(ids: Ids) -> dict[str, Any]:
    return {"name": ids.subscription, "order_id": ids.change_preview}


def _book_draft(ids: Ids) -> dict[str, Any]:
    return {"account_id": ids.account_id, "order_id": ids.draft}


# Django's class-based form views (the auth views) answer PUT as they answer POST.
FORM_VIEW = ("GET", "POST", "PUT")

ROUTES: tuple[Route, ...] = (
    # Sign-in and account pages.
    Route("home", ("GET",), EVERYONE, Owner.CUSTOMER),
    Route("login", FORM_VIEW, EVERYONE, Owner.NONE, public=True),
    Route("logout", ("POST",), EVERYONE, Owner.NONE, before_second_factor=True),
    Route("password_reset", FORM_VIEW, EVERYONE, Owner.NONE, public=True),
    Route("password_reset_done", ("GET",), EVERYONE, Owner.NONE, public=True),
    Route(
        "password_reset_confirm",
        # With an invalid link Django renders "invalid link" before it looks at the method.
        (*FORM_VIEW, "PATCH", "DELETE"),
        EVERYONE,
        Owner.NONE,
        kwargs=lambda ids: {"uidb64": "MQ", "token": "set-password"},
        public=True,
    ),
    Route("password_reset_complete", ("GET",), EVERYONE, Owner.NONE, public=True),
    Route(
        "choose_customer",
        ("GET", "POST"),
        EVERYONE,
        Owner.MEMBERSHIP,
        body=lambda ids: {"membership": ids.membership},
    ),
    # A person's own language and time zone: theirs alone, never an impersonating agent's.
    Route(
        "account",
        ("GET", "POST"),
        EVERYONE,
        Owner.NONE,
        body=lambda ids: {"language": "en", "time_zone": "Europe/Berlin"},
        writes=True,
    ),
    Route(
        "account_time_zone",
        ("POST",),
        EVERYONE,
        Owner.NONE,
        body=lambda ids: {"time_zone": "Europe/Berlin"},
        writes=True,
    ),
    # The second factor: the pages that take it, then the person's security page. Only who has
    # one (the staff here) may replace its recovery codes; nobody here may turn it off (staff
    # must keep it, customers have none); an account's admins require it of its members.
    Route(
        "mfa_verify",
        ("GET", "POST"),
        EVERYONE,
        Owner.NONE,
        body=lambda ids: {"code": "000000"},
        writes=True,
        before_second_factor=True,
    ),
    Route(
        "mfa_setup",
        ("GET", "POST"),
        EVERYONE,
        Owner.NONE,
        body=lambda ids: {"code": "000000"},
        writes=True,
        before_second_factor=True,
    ),
    Route("account_security", ("GET",), EVERYONE, Owner.NONE),
    Route("account_security_codes", ("POST",), STAFF, Owner.NONE, writes=True),
    Route(
        "account_security_off",
        ("POST",),
        NOBODY,
        Owner.NONE,
        body=lambda ids: {"code": "000000"},
        writes=True,
    ),
    Route(
        "account_security_require",
        ("POST",),
        ADMINS,
        Owner.CUSTOMER,
        body=lambda ids: {"require_mfa": "on"},
        writes=True,
    ),
    Route("healthz", ("GET",), EVERYONE, Owner.NONE, public=True),
    Route("favicon", ("GET",), EVERYONE, Owner.NONE, public=True),
    # Stripe's webhook: no sign-in and no CSRF token; Stripe's signature (STRIPE_WEBHOOK_SECRET)
    # is what it checks, and an unsigned request is refused with 400 (test_invoice_payments).
    Route("orders:stripe_webhook", ("POST",), EVERYONE, Owner.NONE, public=True, webhook=True),
    # Support.
    Route("support", ("GET",), frozenset({SAM, SUPERUSER}), Owner.NONE),
    Route(
        "support_impersonate",
        ("GET", "POST"),
        frozenset({SAM, SUPERUSER}),
        Owner.MEMBERSHIP,
        kwargs=lambda ids: {"membership_id": ids.membership},
        body=lambda ids: {"reason": "Customer asked for help on the phone (ticket 4711)"},
        writes=True,
    ),
    Route("support_stop", ("POST",), NOBODY, Owner.IMPERSONATION, writes=True),
    Route(
        "support_elevate",
        ("GET", "POST"),
        NOBODY,
        Owner.IMPERSONATION,
        body=lambda ids: {"reason": "Customer asked us to activate", "next": "/"},
        writes=True,
    ),
    Route("support_audit", ("GET",), frozenset({SAM, SUPERUSER}), Owner.AUDIT),
    # The support workspace (orders/views/support.py): a reference, the open or failed operations
    # and checking one with Nue (it reads; it settles the ledger row), a customer's timeline.
    Route("orders:support_lookup", ("GET",), frozenset({SAM, SUPERUSER}), Owner.NONE),
    Route("orders:support_operations", ("GET",), frozenset({SAM, SUPERUSER}), Owner.NONE),
    Route(
        "orders:support_operation_check",
        ("POST",),
        frozenset({SAM, SUPERUSER}),
        Owner.OPERATION,
        kwargs=lambda ids: {"pk": ids.operation},
        writes=True,
    ),
    Route(
        "orders:support_timeline",
        ("GET",),
        frozenset({SAM, SUPERUSER}),
        Owner.SUPPORT_CUSTOMER,
        kwargs=lambda ids: {"account_id": ids.account_id},
    ),
    Route("access_log", ("GET",), ADMINS, Owner.AUDIT),
    Route("activity_log", ("GET",), ADMINS, Owner.AUDIT),
    Route("activity_export", ("GET",), ADMINS, Owner.AUDIT),
    # Each member's own email choices for the acting customer (no id: nothing foreign to ask).
    Route(
        "notification_preferences",
        ("GET", "POST"),
        MEMBERS,
        Owner.CUSTOMER,
        body=lambda ids: {"enabled": ["order_activated"]},
        writes=True,
    ),
    # Customer pages.
    Route(
        "orders:dashboard_panel",
        ("GET",),
        MEMBERS,
        Owner.CUSTOMER,
        kwargs=lambda ids: {"panel": "activity-panel"},
        htmx_only=True,
    ),
    Route("orders:order_list", ("GET",), MEMBERS, Owner.CUSTOMER),
    Route("orders:order_export", ("GET",), MEMBERS, Owner.CUSTOMER),
    Route("orders:order_detail", ("GET",), MEMBERS, Owner.ORDER, kwargs=_order),
    Route("orders:order_paid_by", ("GET",), MEMBERS, Owner.ORDER, kwargs=_order, htmx_only=True),
    Route("orders:subscription_list", ("GET",), MEMBERS, Owner.CUSTOMER),
    Route("orders:subscription_detail", ("GET",), MEMBERS, Owner.SUBSCRIPTION, kwargs=_sub),
    Route("orders:invoice_list", ("GET",), MEMBERS, Owner.CUSTOMER),
    Route("orders:invoice_export", ("GET",), MEMBERS, Owner.CUSTOMER),
    Route(
        "orders:invoice_detail",
        ("GET",),
        MEMBERS,
        Owner.INVOICE,
        kwargs=lambda ids: {"invoice_id": ids.invoice},
    ),
    # Paying an invoice with the card on file: whoever may buy; read-only impersonation never.
    Route(
        "orders:invoice_pay",
        ("POST",),
        BUYERS,
        Owner.INVOICE,
        kwargs=lambda ids: {"invoice_id": ids.invoice},
        writes=True,
        moves_money=True,
    ),
    Route(
        "orders:invoice_pay_confirm",
        ("POST",),
        BUYERS,
        Owner.INVOICE,
        kwargs=lambda ids: {"invoice_id": ids.invoice, "key": uuid.uuid4()},
        writes=True,
        moves_money=True,
    ),
    # Billing.
    Route("orders:billing", ("GET",), MEMBERS, Owner.CUSTOMER),
    Route(
        "orders:billing_contact_add",
        ("POST",),
        ADMINS,
        Owner.CUSTOMER,
        # Nue's contact emails are unique: each request names a new one.
        body=lambda ids: {
            "first_name": "Sweep",
            "last_name": "Contact",
            "email": f"sweep-{uuid.uuid4().hex[:12]}@example.com",
        },
        writes=True,
    ),
    # The card on file (billing page). Only admins may change it unless the account lets buyers.
    Route("orders:billing_card", ("GET",), MEMBERS, Owner.CUSTOMER),
    Route(
        "orders:billing_card_setup",
        ("POST",),
        ADMINS,
        Owner.CUSTOMER,
        writes=True,
        moves_money=True,
    ),
    Route(
        "orders:billing_card_save",
        ("POST",),
        ADMINS,
        Owner.CUSTOMER,
        body=lambda ids: {"setup_intent": "seti_unknown", "consent": "on"},
        writes=True,
        moves_money=True,
    ),
    Route(
        "orders:billing_card_policy",
        ("POST",),
        ADMINS,
        Owner.CUSTOMER,
        body=lambda ids: {"buyers_manage_cards": "on"},
        writes=True,
    ),
    # The team (customer admins): members, roles, spending limits, invitations.
    Route("orders:team", ("GET",), ADMINS, Owner.CUSTOMER),
    Route(
        "orders:team_invite",
        ("POST",),
        ADMINS,
        Owner.CUSTOMER,
        # Nue's contact emails are unique: each request names a new one.
        body=lambda ids: {
            "email": f"sweep-{uuid.uuid4().hex[:12]}@example.com",
            "role": "viewer",
            "first_name": "Sweep",
            "last_name": "Member",
            "add_contact": "on",
        },
        writes=True,
    ),
    Route(
        "orders:team_member",
        ("POST",),
        ADMINS,
        Owner.MEMBER,
        kwargs=lambda ids: {"membership_id": ids.membership},
        body=lambda ids: {"role": "buyer", "spending_limit": "10.00"},
        writes=True,
    ),
    Route(
        "orders:team_member_remove",
        ("POST",),
        ADMINS,
        Owner.MEMBER,
        kwargs=lambda ids: {"membership_id": ids.membership},
        writes=True,
    ),
    Route(
        "orders:team_invitation_resend",
        ("POST",),
        ADMINS,
        Owner.INVITATION,
        kwargs=lambda ids: {"invitation_id": ids.invitation},
        writes=True,
    ),
    Route(
        "orders:team_invitation_revoke",
        ("POST",),
        ADMINS,
        Owner.INVITATION,
        kwargs=lambda ids: {"invitation_id": ids.invitation},
        writes=True,
    ),
    # An invitation's link: whoever holds it (the page says what it offers to whom).
    Route(
        "invitation",
        ("GET", "POST"),
        EVERYONE,
        Owner.NONE,
        kwargs=lambda ids: {"token": ids.invitation_token},
        body=lambda ids: {"first_name": "Sweep", "last_name": "Invitee"},
        writes=True,
        public=True,
    ),
    # Purchase.
    Route("orders:new_order", ("GET", "POST"), BUYERS, Owner.CUSTOMER, writes=True),
    Route("orders:new_order_preview", ("POST",), BUYERS, Owner.CUSTOMER, writes=True),
    Route(
        "orders:draft_activate",
        ("POST",),
        BUYERS,
        Owner.DRAFT,
        kwargs=_draft,
        body=lambda ids: {"po_number": "PO-1", "consent": "on"},
        writes=True,
        moves_money=True,
    ),
    Route("orders:activation_result", ("GET",), BUYERS, Owner.ORDER, kwargs=_order),
    Route("orders:draft_discard", ("POST",), BUYERS, Owner.DRAFT, kwargs=_draft, writes=True),
    Route("orders:draft_reprice", ("POST",), BUYERS, Owner.DRAFT, kwargs=_draft, writes=True),
    # Approvals and review.
    Route(
        "orders:approval_request",
        ("POST",),
        frozenset({BOB}),
        Owner.DRAFT,
        kwargs=_draft,
        body=lambda ids: {"comment": "Budget Q3", "consent": "on"},
        writes=True,
    ),
    Route(
        "orders:approval_approve",
        ("POST",),
        ADMINS,
        Owner.DRAFT,
        kwargs=_draft,
        body=lambda ids: {"figures": "x"},
        writes=True,
        moves_money=True,
    ),
    Route("orders:approval_withdraw", ("POST",), BUYERS, Owner.DRAFT, kwargs=_draft, writes=True),
    Route("orders:quote_link", ("POST",), BUYERS, Owner.DRAFT, kwargs=_draft, writes=True),
    Route("orders:review", ("GET",), frozenset({MARIA}), Owner.NONE),
    Route(
        "orders:review_request",
        ("GET",),
        frozenset({MARIA}),
        Owner.APPROVAL,
        kwargs=lambda ids: {"pk": ids.approval},
    ),
    Route(
        "orders:review_approve",
        ("POST",),
        frozenset({MARIA}),
        Owner.APPROVAL,
        kwargs=lambda ids: {"pk": ids.approval},
        body=lambda ids: {"figures": "0" * 32},
        writes=True,
        moves_money=True,
    ),
    Route(
        "orders:review_decline",
        ("POST",),
        frozenset({MARIA}),
        Owner.APPROVAL,
        kwargs=lambda ids: {"pk": ids.approval},
        body=lambda ids: {"comment": "Not this quarter"},
        writes=True,
    ),
    Route(
        "orders:review_reprice",
        ("POST",),
        frozenset({MARIA}),
        Owner.APPROVAL,
        kwargs=lambda ids: {"pk": ids.approval},
        writes=True,
    ),
    Route(
        "orders:review_draft", ("GET",), frozenset({MARIA}), Owner.BOOK_ORDER, kwargs=_book_draft
    ),
    Route(
        "orders:review_quote_link",
        ("POST",),
        frozenset({MARIA}),
        Owner.BOOK_ORDER,
        kwargs=_book_draft,
        writes=True,
    ),
    # Quote links: public pages opened with the link's token (any browser, signed in or not),
    # and the account manager's sending and revoking.
    Route(
        "orders:quote_page",
        ("GET",),
        EVERYONE,
        Owner.QUOTE_LINK,
        kwargs=lambda ids: {"token": ids.quote_token},
        public=True,
    ),
    Route(
        "orders:quote_pdf",
        ("GET",),
        EVERYONE,
        Owner.QUOTE_LINK,
        kwargs=lambda ids: {"token": ids.quote_token},
        public=True,
    ),
    Route(
        "orders:quote_accept",
        ("POST",),
        EVERYONE,
        Owner.QUOTE_LINK,
        kwargs=lambda ids: {"token": ids.quote_token},
        body=lambda ids: {
            "name": "Sweep Person",
            "title": "Buyer",
            "email": "sweep@example.com",
            "po_number": "PO-SWEEP",
            "agree": "on",
        },
        writes=True,
        moves_money=True,
        public=True,
    ),
    Route(
        "orders:quote_card_setup",
        ("POST",),
        EVERYONE,
        Owner.QUOTE_LINK,
        kwargs=lambda ids: {"token": ids.quote_token},
        writes=True,
        moves_money=True,
        public=True,
    ),
    Route(
        "orders:review_quote_send",
        ("POST",),
        frozenset({MARIA}),
        Owner.BOOK_QUOTE,
        kwargs=lambda ids: {"pk": ids.quote_link},
        body=lambda ids: {"email": "buyer@example.com"},
        writes=True,
    ),
    Route(
        "orders:review_quote_revoke",
        ("POST",),
        frozenset({MARIA}),
        Owner.BOOK_QUOTE,
        kwargs=lambda ids: {"pk": ids.quote_link},
        writes=True,
    ),
    # Change wizard and basket.
    Route(
        "orders:change_basket",
        ("GET", "POST"),
        MEMBERS,
        Owner.CUSTOMER,  # the acting customer's basket, kept in the session
        body=lambda ids: {"action": "preview"},
        writes=True,
        moves_money=True,
    ),
    Route(
        "orders:change_basket_preview",
        ("GET",),
        MEMBERS,
        Owner.BASKET,
        kwargs=lambda ids: {"basket_id": ids.basket},
    ),
    Route(
        "orders:change_basket_confirm",
        ("POST",),
        BUYERS,
        Owner.BASKET,
        kwargs=lambda ids: {"basket_id": ids.basket},
        writes=True,
        moves_money=True,
    ),
    Route(
        "orders:change_basket_result",
        ("GET",),
        MEMBERS,
        Owner.BASKET,
        kwargs=lambda ids: {"basket_id": ids.basket},
    ),
    Route("orders:change_start", ("GET",), MEMBERS, Owner.SUBSCRIPTION, kwargs=_sub),
    Route("orders:change_preview", ("GET",), MEMBERS, Owner.CHANGE_PREVIEW, kwargs=_preview),
    Route("orders:change_quote", ("GET",), MEMBERS, Owner.CHANGE_PREVIEW, kwargs=_preview),
    Route(
        "orders:change_confirm",
        ("POST",),
        BUYERS,
        Owner.CHANGE_PREVIEW,
        kwargs=_preview,
        writes=True,
        moves_money=True,
    ),
    Route("orders:change_result", ("GET",), MEMBERS, Owner.CHANGE_PREVIEW, kwargs=_preview),
    Route(
        "orders:change_details",
        ("GET", "POST"),
        BUYERS,  # a viewer is shown why not, with 403
        Owner.SUBSCRIPTION,
        kwargs=lambda ids: {"name": ids.subscription, "kind": "quantity"},
        body=lambda ids: {"quantity": "9", "when": "today"},
        writes=True,
        moves_money=True,
    ),
    # The live estimate: priced by Nue, kept nowhere (a POST like the new order's live preview).
    Route(
        "orders:change_estimate",
        ("POST",),
        BUYERS,
        Owner.SUBSCRIPTION,
        kwargs=lambda ids: {"name": ids.subscription, "kind": "quantity"},
        body=lambda ids: {"quantity": "9", "when": "today"},
        writes=True,
        htmx_only=True,
    ),
)

BY_NAME = {route.name: route for route in ROUTES}
# Objects owned by one customer: a member of another customer must find them missing.
CUSTOMER_OWNED = frozenset(
    {
        Owner.ORDER,
        Owner.DRAFT,
        Owner.SUBSCRIPTION,
        Owner.INVOICE,
        Owner.CHANGE_PREVIEW,
        Owner.BASKET,
        Owner.MEMBER,
        Owner.INVITATION,
    }
)


def route_id(route: Route) -> str:
    return route.name
