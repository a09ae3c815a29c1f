"""Quote links (issues 8 and 26): the portal's page of a draft's quote, shared by a link that is
its recipient's credential (no sign-in), made by a member who may prepare orders or by the
customer's account manager.

A link remembers what it quoted (the draft's figures, and the version and quantity of every
subscription a change order changes), so a page can say when the draft changed since and an
acceptance of a changed draft is refused. Making a new link for a draft supersedes the one
before; the account manager may revoke a link or email it. What the recipient's acceptance does
is orders.actions.quote_acceptance; the PDF, orders.actions.quote_pdf.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from orders.actions.approvals import changed_figures, figures_of
from orders.models import QuoteAcceptance, QuoteLink
from orders.nue import NueConflict, NueNotFound, Order, site_url
from orders.policy import DraftFacts, is_expired
from orders.scope import CustomerNue
from orders.templatetags.dates import day_text
from portal.models import CustomerAccount, User

logger = logging.getLogger("orders.quotes")

# Quote templates are configured in the Nue account and no API lists them (nue-api.md §2.3);
# these are the emulator's. A deployment names its own in settings.NUE_QUOTE_TEMPLATES.
DEFAULT_QUOTE_TEMPLATES = {
    "custom-branded-template": gettext_lazy("Branded quote"),
    "compact": gettext_lazy("Compact quote"),
}
# How many of the book's quote links the review page lists, newest first.
REVIEW_QUOTES = 50


def quote_templates() -> dict[str, str]:
    """The quote layouts Nue may render, by template id."""
    found = getattr(settings, "NUE_QUOTE_TEMPLATES", DEFAULT_QUOTE_TEMPLATES)
    return {key: str(name) for key, name in found.items()}


def quote_link_for(order_id: str) -> QuoteLink | None:
    """The draft's current link (the latest made; revoked or not), with its acceptance."""
    return (
        QuoteLink.objects.select_related("generated_by", "acceptance__approval")
        .filter(order_id=order_id, superseded_at=None)
        .first()
    )


def link_by_token(token: str) -> QuoteLink | None:
    """The link a quote URL names, whatever its state (the page says which)."""
    return (
        QuoteLink.objects.select_related("customer", "generated_by", "acceptance__approval")
        .filter(token=token)
        .first()
    )


def public_url(link: QuoteLink) -> str:
    """The link as its recipient opens it: absolute, on SITE_URL or the request's host."""
    return site_url(reverse("orders:quote_page", args=[link.token]))


def subscription_versions(nue: CustomerNue, order: Order) -> dict[str, dict[str, str | int]]:
    """Per subscription the draft changes, its version and quantity in Nue now."""
    versions: dict[str, dict[str, str | int]] = {}
    for name in DraftFacts.of(order).subscriptions:
        now = nue.subscription(name)
        versions[name] = {"version": now.version, "quantity": str(now.quantity)}
    return versions


def generate_quote_link(
    nue: CustomerNue,
    order: Order,
    *,
    user: User,
    template_id: str | None = None,
    agent: User | None = None,
) -> QuoteLink:
    """A new link to the draft's quote, with what it quotes; the draft's link before it (if
    any) is superseded and stops working. Nue is asked for its magic link to its own rendering.

    `agent`: the support agent impersonating `user`."""
    if not order.is_draft:
        raise NueConflict(_("Quote links are made for drafts only."))
    magic = nue.magic_link(order.id, template_id=template_id)
    fields = {
        "customer": nue.account,
        "order_id": order.id,
        "order_number": order.order_number,
        "order_name": (order.name or "")[:255],
        "template_id": template_id or "",
        "url": magic.url,
        "figures": figures_of(order),
        "versions": subscription_versions(nue, order),
        "generated_by": user,
        "generated_via": agent,
    }
    for attempt in range(2):
        now = timezone.now()
        try:
            with transaction.atomic():
                QuoteLink.objects.filter(order_id=order.id, superseded_at=None).update(
                    superseded_at=now
                )
                return QuoteLink.objects.create(**fields, generated_at=now)
        except IntegrityError:
            # Another link for the draft was made at the same moment: this one supersedes it.
            if attempt:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Closed:
    """Why a link opens no quote any more: revoked, superseded or expired (a 410 page)."""

    kind: str
    title: str
    text: str


def closed(link: QuoteLink, now: datetime | None = None) -> Closed | None:
    """Why the link no longer opens its quote, or None while it does. An accepted quote stays
    readable (with its acceptance) whatever happened to the link since."""
    if hasattr(link, "acceptance"):
        return None
    who = link.generated_by.get_full_name() or link.generated_by.email
    if link.superseded_at is not None:
        return Closed(
            "superseded",
            _("This quote was replaced"),
            _(
                "A newer quote for this order was made on %(day)s, and this link no longer opens"
                " it. Use the newest link you received, or ask %(who)s for it."
            )
            % {"day": day_text(link.superseded_at.date()), "who": who},
        )
    if link.revoked_at is not None:
        return Closed(
            "revoked",
            _("This quote was withdrawn"),
            _(
                "The link was withdrawn on %(day)s and no longer opens the quote. Ask %(who)s for"
                " a new one if you still want to order."
            )
            % {"day": day_text(link.revoked_at.date()), "who": who},
        )
    if link.expires_at <= (now or timezone.now()):
        return Closed(
            "expired",
            _("This quote has expired"),
            _("It was valid until %(day)s. Ask %(who)s for a new quote.")
            % {"day": day_text(link.expires_at.date()), "who": who},
        )
    return None


def stale_reasons(link: QuoteLink, order: Order | None, nue: CustomerNue) -> list[str]:
    """Why the quote can no longer be accepted as it was made ([] when it can): the order is
    gone or no longer a draft, its figures changed, a subscription it changes moved on, or it
    was priced to start on a day that has passed. Reads Nue through `nue`."""
    if order is None:
        return [_("The order this quote was made for no longer exists.")]
    if not order.is_draft:
        return [
            _("Order %(number)s is %(status)s now: it was placed or closed without this quote.")
            % {"number": order.order_number, "status": order.status.lower()}
        ]
    reasons = []
    changed = changed_figures(link.figures, order)
    if changed:
        reasons.append(
            _(
                "The order changed since this quote was made (%(figures)s): its price is no longer"
                " the one quoted."
            )
            % {"figures": ", ".join(changed).lower()}
        )
    for name, then in sorted(link.versions.items()):
        try:
            now = nue.subscription(name)
        except NueNotFound:
            reasons.append(
                _("Subscription %(name)s, which this quote changes, no longer exists.")
                % {"name": name}
            )
            continue
        if now.version != then.get("version") or not _same_quantity(
            then.get("quantity"), now.quantity
        ):
            reasons.append(
                _(
                    "Subscription %(name)s changed since this quote was made (it was version"
                    " %(then)s, it is version %(now)s now): the quoted change would apply on top"
                    " of that."
                )
                % {"name": name, "then": then.get("version"), "now": now.version}
            )
    facts = DraftFacts.of(order)
    if is_expired(facts, timezone.localdate()) and facts.start is not None:
        reasons.append(
            _(
                "It was priced for a start on %(day)s, which has passed: accepting it now would"
                " back-date the order."
            )
            % {"day": day_text(facts.start)}
        )
    return reasons


def _same_quantity(then: object, now: Decimal) -> bool:
    try:
        return Decimal(str(then)) == now
    except (InvalidOperation, ValueError):
        return False


def read_draft(link: QuoteLink) -> tuple[CustomerNue, Order | None]:
    """The link's order as Nue holds it now, through its customer's scope (None: gone)."""
    nue = CustomerNue(link.customer)
    try:
        return nue, nue.order(link.order_id, status="draft")
    except NueNotFound:
        return nue, None


def record_view(link: QuoteLink, viewer: object) -> None:
    """Count an opening of the quote (its page or PDF) for the review page: first and last time.
    Its maker checking the link is not the recipient viewing it."""
    if isinstance(viewer, User) and viewer.pk == link.generated_by_id:
        return
    now = timezone.now()
    QuoteLink.objects.filter(pk=link.pk).update(
        first_viewed_at=Coalesce(F("first_viewed_at"), Value(now)),
        last_viewed_at=now,
        view_count=F("view_count") + 1,
    )


def revoke(link: QuoteLink, *, by: User) -> bool:
    """Withdraw a link: it opens only a page saying so. False when it was closed already (or
    accepted: an acceptance is not undone by withdrawing its link)."""
    updated = QuoteLink.objects.filter(
        pk=link.pk, revoked_at=None, superseded_at=None, acceptance__isnull=True
    ).update(revoked_at=timezone.now(), revoked_by=by)
    link.refresh_from_db()
    return bool(updated)


@dataclass(frozen=True)
class QuoteState:
    """A link's state as the review page shows it: a word, a badge colour, and what happened."""

    key: str
    label_text: str
    badge: str

    @property
    def label(self) -> str:
        """The word in the reader's language (marked below, translated when read)."""
        return _(self.label_text)


STATES = {
    "accepted": QuoteState("accepted", gettext_noop("Accepted"), "ok"),
    "awaiting_approval": QuoteState(
        "awaiting_approval", gettext_noop("Accepted, awaiting approval"), "warn"
    ),
    "declined": QuoteState("declined", gettext_noop("Accepted, approval declined"), "danger"),
    "accepting": QuoteState("accepting", gettext_noop("Being accepted"), "accent"),
    "revoked": QuoteState("revoked", gettext_noop("Revoked"), "muted"),
    "superseded": QuoteState("superseded", gettext_noop("Superseded"), "muted"),
    "expired": QuoteState("expired", gettext_noop("Expired"), "muted"),
    "viewed": QuoteState("viewed", gettext_noop("Viewed"), "accent"),
    "sent": QuoteState("sent", gettext_noop("Sent"), "muted"),
}
ACCEPTED_STATES = {
    "activated": "accepted",
    "awaiting_approval": "awaiting_approval",
    "declined": "declined",
    "accepting": "accepting",
}


def state_of(link: QuoteLink, order: Order | None = None) -> QuoteState:
    """The link's state from what the portal holds; `order`, the draft as Nue holds it when
    the page read it, also makes a draft whose start has passed an expired quote."""
    acceptance = getattr(link, "acceptance", None)
    if acceptance is not None:
        return STATES[ACCEPTED_STATES[acceptance.outcome]]
    found = closed(link)
    if found is not None:
        return STATES[found.kind]
    if (
        order is not None
        and order.is_draft
        and is_expired(DraftFacts.of(order), timezone.localdate())
    ):
        return STATES["expired"]
    return STATES["viewed" if link.first_viewed_at else "sent"]


def in_book(accounts: QuerySet[CustomerAccount]) -> list[QuoteLink]:
    """The current quote links of a manager's customers (`accounts`, their book), newest first."""
    return list(
        QuoteLink.objects.select_related("customer", "generated_by", "acceptance__approval")
        .filter(customer__in=accounts, superseded_at=None)
        .order_by("-generated_at", "-pk")[:REVIEW_QUOTES]
    )


def link_in_book(accounts: QuerySet[CustomerAccount], pk: int) -> QuoteLink | None:
    """Quote link `pk` if its customer is among `accounts` (a manager's book)."""
    return (
        QuoteLink.objects.select_related("customer", "generated_by", "acceptance__approval")
        .filter(pk=pk, customer__in=accounts)
        .first()
    )


def _send(subject: str, template: str, ctx: dict[str, Any], recipients: Sequence[str]) -> None:
    """One place the quote mail leaves from (a durable mail queue may take it over)."""
    send_mail(
        subject,
        render_to_string(template, ctx),
        settings.DEFAULT_FROM_EMAIL,
        list(dict.fromkeys(r for r in recipients if r)),
    )


def send_quote_link(link: QuoteLink, to: str, *, by: User, note: str = "") -> None:
    """Email the link to `to`, from `by` (the account manager), and remember that it was sent.
    Raises whatever the mail backend raises: nothing is recorded as sent then."""
    if closed(link) is not None:
        raise NueConflict(_("This link no longer opens the quote: make a new one to send."))
    ctx = {
        "link": link,
        "url": public_url(link),
        "sender": by,
        "note": note,
        "brand": settings.PORTAL_BRAND_NAME,
        "expires": day_text(link.expires_at.date()),
    }
    number = link.order_number or link.order_id
    subject = _("Quote %(number)s for %(customer)s") % {
        "number": number,
        "customer": link.customer.name,
    }
    _send(subject, "emails/quote_link.txt", ctx, [to])
    QuoteLink.objects.filter(pk=link.pk).update(sent_to=to, sent_at=timezone.now())
    link.refresh_from_db()


def notify_quote_accepted(acceptance: QuoteAcceptance) -> None:
    """The acceptance's confirmation to whoever accepted, and a notice to the link's maker and
    the customer's account managers. Sent once the acceptance is committed; a mail failure is
    logged, never raised (the order stands)."""
    link = acceptance.link
    ctx = {
        "acceptance": acceptance,
        "link": link,
        "url": public_url(link),
        "brand": settings.PORTAL_BRAND_NAME,
        "activated": acceptance.state == QuoteAcceptance.State.ACTIVATED,
    }
    number = link.order_number or link.order_id
    staff = [m.email for m in link.customer.managers.filter(is_active=True)]
    try:
        _send(
            _("Your order %(number)s with %(brand)s: quote accepted")
            % {"number": number, "brand": settings.PORTAL_BRAND_NAME},
            "emails/quote_accepted.txt",
            ctx,
            [acceptance.email],
        )
        _send(
            _("Quote accepted: %(customer)s order %(number)s")
            % {"customer": link.customer.name, "number": number},
            "emails/quote_accepted_notice.txt",
            ctx,
            [link.generated_by.email, *staff],
        )
    except Exception:
        logger.exception("quote acceptance mail failed acceptance=%s", acceptance.pk)
