"""Emails about what happened to a customer account, to the people who chose them.

`notify(kind, account, context, recipients=None)` is the one way the portal tells people: it
picks the recipients, renders the kind's text and HTML templates once per recipient
(templates/emails/notifications/<kind>.txt, whose `subject` partial is the subject, and
<kind>.html, on that folder's base.html) and queues each message in the outbox (portal.outbox)
in the caller's transaction. The mail worker sends it.

An invitation (the team page's) is sent the same way with the context the team's invitation
email has: `notify(NotificationKind.INVITATION, invitation.account, {"invitation":
invitation, "inviter": "Ada Lovelace", "limit": "$5,000.00", "link": accept_url,
"site_url": ...}, [invitation.email])`; it returns the queued rows (none: not queued).

Who receives each kind. `recipients=None` means the account's audience: its admins, and any
other member who turned the kind on for themselves. Callers name the recipients of the kinds
that concern particular people (the requester, the approvers, the invitee).

| kind | recipients | essential |
|---|---|---|
| order activated, change confirmed, cancellation scheduled | audience | no |
| renewal reminder (30 and 7 days before a term ends) | audience | no |
| payment failed | audience | yes, for admins |
| approval requested | the approvers: the account's admins and account managers | yes |
| approval decided | the member who asked | no |
| invitation | the address invited | yes |

Essential means it cannot be turned off by whom it is essential for: a failed payment means money
is owed and service may stop; a request for approval holds a buyer's order, locked, until an
approver decides; an invitation is the invitee's only way in. Everything else reports what the
portal already shows and may be turned off on /account/notifications/ (NotificationPreference
keeps the choices that differ from the default). A named person who is neither a member nor an
account manager of the account gets nothing, except an invited address.

Rendering or queuing failures are logged and never raised: what the email tells has happened
(or is committed with it), and a template problem must not undo or hide it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from portal import outbox
from portal.l10n import zone_or_none
from portal.models import (
    CustomerAccount,
    Membership,
    NotificationKind,
    NotificationPreference,
    OutgoingEmail,
    User,
)

logger = logging.getLogger("portal.notifications")

Kind = NotificationKind
# The name the emails carry, as the portal's pages do (templates/base.html).
BRAND = "Nue portal"


class Audience(StrEnum):
    ACCOUNT = "account"  # the account's admins, and members who turned the kind on
    NAMED = "named"  # whom the caller names


@dataclass(frozen=True)
class Spec:
    audience: Audience
    essential: bool
    # What the preferences page says the email is about.
    about: str | Promise


SPECS: dict[NotificationKind, Spec] = {
    Kind.ORDER_ACTIVATED: Spec(
        Audience.ACCOUNT,
        False,
        gettext_lazy("An order placed in the portal is active in the billing system."),
    ),
    Kind.CHANGE_CONFIRMED: Spec(
        Audience.ACCOUNT,
        False,
        gettext_lazy("A change to a subscription (seats, plan, term) is confirmed."),
    ),
    Kind.CANCELLATION_SCHEDULED: Spec(
        Audience.ACCOUNT, False, gettext_lazy("A subscription is set to cancel, and on which day.")
    ),
    Kind.RENEWAL_REMINDER: Spec(
        Audience.ACCOUNT,
        False,
        gettext_lazy("A subscription's term ends in 30 days, and again 7 days before."),
    ),
    Kind.PAYMENT_FAILED: Spec(
        Audience.ACCOUNT,
        True,
        gettext_lazy("A card payment of an invoice was declined or not authenticated."),
    ),
    Kind.APPROVAL_REQUESTED: Spec(
        Audience.NAMED,
        True,
        gettext_lazy("A buyer asks for your approval of an order above their limit."),
    ),
    Kind.APPROVAL_DECIDED: Spec(
        Audience.NAMED, False, gettext_lazy("An approval you requested was approved or declined.")
    ),
    Kind.INVITATION: Spec(Audience.NAMED, True, gettext_lazy("An invitation to join the account.")),
}


class Role(StrEnum):
    """Why a recipient gets the email, which its footer says."""

    ADMIN = "admin"
    MEMBER = "member"
    MANAGER = "manager"
    INVITEE = "invitee"


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    role: Role
    # It cannot be turned off for this person (the footer says so).
    essential: bool
    user: User | None = None


def _default_on(membership: Membership, kind: NotificationKind) -> bool:
    """What a member gets without a choice of their own: the account's emails if an admin, the
    emails naming them always."""
    return SPECS[kind].audience is Audience.NAMED or membership.is_admin


def is_essential_for(membership: Membership, kind: NotificationKind) -> bool:
    spec = SPECS[kind]
    return spec.essential and (spec.audience is Audience.NAMED or membership.is_admin)


def recipients_for(
    kind: NotificationKind,
    account: CustomerAccount,
    named: Iterable[User | str] | None = None,
) -> list[Recipient]:
    """Who gets `kind` about `account`: `named` (users, or addresses for an invitation), or the
    account's audience when None; less whoever turned a non-essential kind off, once each."""
    spec = SPECS[kind]
    members = {
        m.user_id: m
        for m in Membership.objects.select_related("user").filter(
            account=account, user__is_active=True
        )
    }
    chosen = dict(
        NotificationPreference.objects.filter(account=account, kind=kind).values_list(
            "user_id", "enabled"
        )
    )
    if named is None:
        if spec.audience is Audience.NAMED:
            raise ValueError(f"Name the recipients of {kind}.")
        candidates: list[User | str] = [m.user for m in members.values()]
    else:
        candidates = list(named)
    managers = set(account.managers.filter(is_active=True).values_list("pk", flat=True))
    found: list[Recipient] = []
    seen: set[str] = set()
    for person in candidates:
        recipient = _recipient(person, kind, members, managers, chosen)
        if recipient is None or recipient.email.lower() in seen:
            continue
        seen.add(recipient.email.lower())
        found.append(recipient)
    return found


def _recipient(
    person: User | str,
    kind: NotificationKind,
    members: Mapping[int, Membership],
    managers: set[int],
    chosen: Mapping[int, bool],
) -> Recipient | None:
    essential = SPECS[kind].essential
    if isinstance(person, str):
        # Only an invitation goes to an address that is nobody's yet.
        if kind != Kind.INVITATION or "@" not in person:
            return None
        return Recipient(person.strip(), "", Role.INVITEE, essential)
    if not person.is_active or not person.email:
        return None
    name = person.first_name or person.get_full_name()
    membership = members.get(person.pk)
    if membership is None:
        if person.pk in managers:
            return Recipient(person.email, name, Role.MANAGER, essential, person)
        return None
    role = Role.ADMIN if membership.is_admin else Role.MEMBER
    if is_essential_for(membership, kind):
        return Recipient(person.email, name, role, True, person)
    if not chosen.get(person.pk, _default_on(membership, kind)):
        return None
    return Recipient(person.email, name, role, False, person)


def notify(
    kind: NotificationKind | str,
    account: CustomerAccount,
    context: Mapping[str, Any],
    recipients: Iterable[User | str] | None = None,
) -> list[OutgoingEmail]:
    """Queue the email `kind` about `account` for its recipients (see the module's table).

    `context` is the kind's template context; links in it are absolute. `context["site_url"]`,
    the portal's base URL, is where the footer's link to the preferences page goes when
    SITE_URL is unset. Returns the queued rows: none when nobody is to receive it, or when it
    could not be rendered or queued (logged).
    """
    kind = NotificationKind(kind)
    try:
        with transaction.atomic():
            return [
                outbox.enqueue(render(kind, account, context, one), kind=kind, account=account)
                for one in recipients_for(kind, account, recipients)
            ]
    except Exception:
        logger.exception("Notification %s for account #%s not queued", kind, account.pk)
        return []


def render(
    kind: NotificationKind,
    account: CustomerAccount,
    context: Mapping[str, Any],
    recipient: Recipient,
) -> EmailMultiAlternatives:
    """The email `kind` for one recipient: its subject, text and HTML."""
    base = str(context.get("site_url") or settings.SITE_URL).rstrip("/")
    ctx: dict[str, Any] = {
        # Amounts without a currency are in the portal's (the money filter's default).
        "currency": "",
        **context,
        "kind": kind,
        "account": account,
        "recipient": recipient,
        "brand": BRAND,
        "preferences_url": f"{base}{reverse('notification_preferences')}" if base else "",
    }
    name = f"emails/notifications/{kind}"
    # Written in the recipient's language, its times in their zone; an address without a user
    # (an invitee) reads the portal's default.
    person = recipient.user
    language = (person.language if person else "") or settings.LANGUAGE_CODE
    zone = zone_or_none(person.time_zone) if person else None
    with translation.override(language), timezone.override(zone):
        ctx["subject"] = " ".join(render_to_string(f"{name}.txt#subject", ctx).split())
        text = render_to_string(f"{name}.txt", ctx).strip() + "\n"
        html = render_to_string(f"{name}.html", ctx)
    message = EmailMultiAlternatives(
        ctx["subject"], text, settings.DEFAULT_FROM_EMAIL, [recipient.email]
    )
    message.attach_alternative(html, "text/html")
    return message


@dataclass(frozen=True)
class Choice:
    """One kind of email on a member's preferences page."""

    kind: NotificationKind
    label: str
    about: str
    enabled: bool
    # Essential for this member: shown as always on, not a choice.
    locked: bool

    @property
    def field(self) -> str:
        return str(self.kind)


# In the order the preferences page lists them.
PAGE_KINDS = (
    Kind.ORDER_ACTIVATED,
    Kind.CHANGE_CONFIRMED,
    Kind.CANCELLATION_SCHEDULED,
    Kind.RENEWAL_REMINDER,
    Kind.PAYMENT_FAILED,
    Kind.APPROVAL_REQUESTED,
    Kind.APPROVAL_DECIDED,
)


def _listed(membership: Membership, kind: NotificationKind) -> bool:
    """Approvals concern only those who decide them (admins) or ask for them (buyers)."""
    if kind == Kind.APPROVAL_REQUESTED:
        return membership.is_admin
    if kind == Kind.APPROVAL_DECIDED:
        return membership.can_buy
    return True


def choices(membership: Membership) -> list[Choice]:
    """What `membership`'s person gets about its account, kind by kind."""
    chosen = dict(
        NotificationPreference.objects.filter(
            user_id=membership.user_id, account_id=membership.account_id
        ).values_list("kind", "enabled")
    )
    found = []
    for kind in PAGE_KINDS:
        if not _listed(membership, kind):
            continue
        locked = is_essential_for(membership, kind)
        enabled = locked or chosen.get(kind, _default_on(membership, kind))
        found.append(Choice(kind, str(kind.label), str(SPECS[kind].about), enabled, locked))
    return found


def save_choices(membership: Membership, enabled: Sequence[str]) -> list[NotificationKind]:
    """Keep `membership`'s person's choices: the kinds in `enabled` on, the other choosable
    kinds off. Rows are kept only where they differ from the default. Returns the kinds whose
    setting changed."""
    wanted = set(enabled)
    changed = []
    with transaction.atomic():
        for choice in choices(membership):
            if choice.locked:
                continue
            on = choice.field in wanted
            if on == choice.enabled:
                continue
            changed.append(choice.kind)
            user, account = membership.user_id, membership.account_id
            if on == _default_on(membership, choice.kind):
                NotificationPreference.objects.filter(
                    user_id=user, account_id=account, kind=choice.kind
                ).delete()
            else:
                NotificationPreference.objects.update_or_create(
                    user_id=user, account_id=account, kind=choice.kind, defaults={"enabled": on}
                )
    return changed
