"""The account activity log: what the people of one customer did in the portal, for its admins.

It reads the audit trail (portal.models.AuditEvent) of the acting customer only: who created,
activated, changed, cancelled, asked approval for, approved or declined, withdrew, paid, ... what,
and when. The sign-ins and the support sessions are not activity: sign-ins name no customer, and
the support access log beside this page tells the sessions (their page views, refusals and
elevations). An impersonated step is the member's activity, told as "support agent X on behalf of
Y". Events of kinds or actions this module does not know (those other features add) are shown
too, in words made from their names, and filtered as "Other activity".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.audit import ACTION_TEXT, detail_fields
from portal.lists import csv_text
from portal.models import AuditEvent, AuditKind, CustomerAccount, User

# The trail of signing in and of support sessions: the access log's, not the members' activity.
NOT_ACTIVITY = (
    AuditKind.SIGN_IN,
    AuditKind.SIGN_IN_FAILED,
    AuditKind.SIGN_OUT,
    AuditKind.IMPERSONATION_STARTED,
    AuditKind.IMPERSONATION_ENDED,
    AuditKind.IMPERSONATION_ELEVATED,
    AuditKind.ACTION_REFUSED,
    AuditKind.PAGE_VIEWED,
)

# What each kind of event says the person did; an ACTION says it in its `action` detail.
KIND_TEXT: dict[str, str | Promise] = {
    AuditKind.ACTIVATION: gettext_lazy("Activated an order"),
    AuditKind.CHANGE_ORDER: gettext_lazy("Changed a subscription"),
    AuditKind.CANCELLATION: gettext_lazy("Cancelled a subscription"),
    AuditKind.APPROVAL: gettext_lazy("Approved an order"),
    AuditKind.DECLINE: gettext_lazy("Declined an approval request"),
}


@dataclass(frozen=True)
class Activity:
    """One choice of the "Activity" filter: events of these kinds, or ACTIONs of these actions."""

    slug: str
    label: str | Promise
    kinds: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()

    @property
    def q(self) -> Q:
        found = Q(kind__in=self.kinds) if self.kinds else Q(pk__in=[])
        if self.actions:
            found |= Q(kind=AuditKind.ACTION, details__action__in=self.actions)
        return found


ACTIVITIES = (
    Activity(
        "drafts", gettext_lazy("Drafts created"), actions=("draft_created", "change_draft_created")
    ),
    Activity("activated", gettext_lazy("Orders activated"), kinds=(AuditKind.ACTIVATION,)),
    Activity("changed", gettext_lazy("Subscriptions changed"), kinds=(AuditKind.CHANGE_ORDER,)),
    Activity("cancelled", gettext_lazy("Subscriptions cancelled"), kinds=(AuditKind.CANCELLATION,)),
    Activity(
        "approval_requested", gettext_lazy("Approvals requested"), actions=("approval_requested",)
    ),
    Activity(
        "approval_decided",
        gettext_lazy("Approved or declined"),
        kinds=(AuditKind.APPROVAL, AuditKind.DECLINE),
    ),
    Activity(
        "approval_withdrawn",
        gettext_lazy("Approval requests withdrawn"),
        actions=("approval_withdrawn",),
    ),
    Activity(
        "discarded",
        gettext_lazy("Drafts discarded or re-priced"),
        actions=("discard_draft", "draft_repriced"),
    ),
    Activity("quote_links", gettext_lazy("Quote links made"), actions=("quote_link_generated",)),
    Activity(
        "payments",
        gettext_lazy("Invoice payments"),
        actions=(
            "invoice_card_charged",
            "invoice_payment_recorded",
            "invoice_payment_declined",
            "invoice_payment_needs_review",
            "invoice_payment_not_recorded",
        ),
    ),
    Activity("card", gettext_lazy("Card on file"), actions=("card_saved", "card_policy_changed")),
    Activity("contacts", gettext_lazy("Contacts added"), actions=("contact_added",)),
)
OTHER = "other"
ACTIVITY_CHOICES = [(a.slug, a.label) for a in ACTIVITIES] + [
    (OTHER, gettext_lazy("Other activity"))
]
_BY_SLUG = {a.slug: a for a in ACTIVITIES}


def activity_q(slug: str) -> Q:
    """The events of one "Activity" choice; "other": those of no other choice (team changes,
    say, which their own feature records)."""
    if slug == OTHER:
        return ~reduce(or_, (a.q for a in ACTIVITIES))
    return _BY_SLUG[slug].q


def account_activity(account: CustomerAccount) -> QuerySet[AuditEvent]:
    """The activity of `account`, newest first: its own events, never another customer's."""
    return (
        AuditEvent.objects.filter(customer=account)
        .exclude(kind__in=NOT_ACTIVITY)
        # A step support took that says nothing more than its request (the impersonation
        # middleware's record of it) is in the access log.
        .exclude(Q(kind=AuditKind.ACTION) & ~Q(details__has_key="action"))
        .select_related("actor", "on_behalf_of")
    )


def by_member(events: QuerySet[AuditEvent], user: User) -> QuerySet[AuditEvent]:
    """What `user` did, themself or through a support agent acting for them."""
    return events.filter(Q(actor=user, on_behalf_of__isnull=True) | Q(on_behalf_of=user))


def by_order_number(events: QuerySet[AuditEvent], text: str) -> QuerySet[AuditEvent]:
    """Events about an order whose number contains `text` (a re-priced draft's new one too)."""
    return events.filter(
        Q(details__order_number__icontains=text) | Q(details__new_order_number__icontains=text)
    )


# Details the row shows in a column of its own, or that only the portal's staff need.
COLUMN_DETAILS = frozenset(
    {"action", "order_number", "subscription", "total", "amount", "currency"}
)
IDS = frozenset(
    {"invoice_id", "contact_id", "new_order_id", "approval", "new_approval", "payment_intent"}
)
HIDDEN_DETAILS = COLUMN_DETAILS | IDS | {"consent", "draft_kind", "learned_by"}
# Labels of this page where the audit trail's say something else ("Email tried", a sign-in's).
LABELS = {"email": gettext_lazy("Email")}


@dataclass(frozen=True)
class Person:
    name: str
    email: str

    @classmethod
    def of(cls, user: User | None, email: str) -> Person:
        if user is None:  # deleted since: the trail kept the email
            return cls(email, email)
        return cls(user.get_full_name() or user.email, user.email)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class ActivityRow:
    """One event as the log shows it: who, what they did, to which order or subscription, the
    amount as recorded, and the rest of its details in words."""

    event: AuditEvent
    who: Person | None  # the member (None: the portal itself, a payment settled later)
    agent: Person | None  # the support agent who acted for the member
    manager: bool  # `who` is one of the account's managers, not a member
    what: str
    order_number: str
    order_url: str
    subscriptions: tuple[tuple[str, str], ...]  # (name, url)
    amount: str
    currency: str
    details: list[tuple[str, str]]

    @property
    def who_text(self) -> str:
        if self.who is None:
            return _("The portal")
        if self.agent is not None:
            return _("Support agent %(agent)s on behalf of %(who)s") % {
                "agent": self.agent,
                "who": self.who,
            }
        if self.manager:
            return _("Account manager %(who)s") % {"who": self.who}
        return str(self.who)


def activity_text(event: AuditEvent) -> str:
    """What the person did, in words: known actions and kinds have theirs, others are named
    after their code ("member_invited": "Member invited")."""
    if event.kind == AuditKind.ACTION:
        action = _text(_details(event), "action")
        return str(ACTION_TEXT.get(action) or _words(action))
    return str(KIND_TEXT.get(event.kind) or _words(str(event.get_kind_display())))


def _detail_words(details: Mapping[str, Any]) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    for key, value in details.items():
        found = detail_fields({key: value}, for_customer=True)
        if key in LABELS and len(found) == 1 and not isinstance(value, Mapping):
            found = [(str(LABELS[key]), found[0][1])]
        fields.extend(found)
    return fields


def _link(view: str, **kwargs: str) -> str:
    """The page of the order or subscription an event names (the customer pages check it is
    this customer's); none when the event recorded no id a URL can hold."""
    if not all(kwargs.values()):
        return ""
    try:
        return reverse(view, kwargs=kwargs)
    except NoReverseMatch:
        return ""


def _details(event: AuditEvent) -> Mapping[str, Any]:
    return event.details if isinstance(event.details, dict) else {}


def _words(code: str) -> str:
    return code.replace("_", " ").strip().capitalize() or _("Action")


def _text(details: Mapping[str, Any], key: str) -> str:
    value = details.get(key)
    return "" if value is None else str(value)


def _amount(details: Mapping[str, Any]) -> tuple[str, str]:
    """The amount as recorded (the order's total, or a payment's amount): as the page shows it,
    and as the CSV has it (plain digits with a dot, or nothing when it is not a number)."""
    key = "total" if details.get("total") not in (None, "") else "amount"
    raw = _text(details, key)
    try:
        number = Decimal(raw) if raw else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        return "", ""
    shown = detail_fields({"total": number})
    return (shown[0][1] if shown else ""), str(number)


def rows(events: Iterable[AuditEvent], account: CustomerAccount) -> Iterator[ActivityRow]:
    """`events` (the account's) as rows; the account's managers are read once."""
    managers = set(account.managers.values_list("pk", flat=True))
    for event in events:
        details = _details(event)
        impersonated = bool(event.on_behalf_of_email or event.on_behalf_of_id)
        if impersonated:
            who: Person | None = Person.of(event.on_behalf_of, event.on_behalf_of_email)
            agent: Person | None = Person.of(event.actor, event.actor_email)
        else:
            acted = event.actor is not None or event.actor_email
            who, agent = (Person.of(event.actor, event.actor_email) if acted else None), None
        amount, _plain = _amount(details)
        named = (s.strip() for s in _text(details, "subscription").split(","))
        subscriptions = tuple(name for name in named if name)
        extra = {k: v for k, v in details.items() if k not in HIDDEN_DETAILS}
        yield ActivityRow(
            event=event,
            who=who,
            agent=agent,
            manager=not impersonated and event.actor_id in managers,
            what=activity_text(event),
            order_number=_text(details, "order_number"),
            order_url=_link("orders:order_detail", order_id=_text(details, "order_id")),
            subscriptions=tuple(
                (name, _link("orders:subscription_detail", name=name)) for name in subscriptions
            ),
            amount=amount,
            currency=_text(details, "currency"),
            details=_detail_words(extra),
        )


CSV_HEADER = (
    "when",
    "name",
    "email",
    "support_agent_email",
    "account_manager",
    "activity",
    "kind",
    "action",
    "order_number",
    "subscription",
    "amount",
    "currency",
    "reason",
    "details",
)


def csv_row(row: ActivityRow) -> tuple[str, ...]:
    """One row of the CSV: plain values, the time in ISO 8601 with its offset."""
    event, details = row.event, _details(row.event)
    return (
        event.created_at.isoformat(timespec="seconds"),
        csv_text(row.who.name if row.who else "The portal"),
        csv_text(row.who.email if row.who else ""),
        csv_text(row.agent.email if row.agent else ""),
        "yes" if row.manager else "no",
        csv_text(row.what),
        event.kind,
        csv_text(_text(details, "action")),
        csv_text(row.order_number),
        csv_text(" ".join(name for name, _url in row.subscriptions)),
        _amount(details)[1],
        csv_text(row.currency),
        csv_text(event.reason),
        csv_text("; ".join(f"{label}: {text}" for label, text in row.details)),
    )
