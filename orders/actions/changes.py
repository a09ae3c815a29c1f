"""Changing subscriptions (issue 7): which changes a subscription allows and to whom, what each
change's form may offer, the customer's absolute asks as Nue's deltas, the live estimate, the
draft change order and what is remembered of its preview, and the basket that drafts changes to
several subscriptions as one change order.

Customers ask in absolute values ("8 seats", "ends 2027-07-26"); `asset_changes` turns them into
Nue's deltas (nue-api.md §2.2: UpdateQuantity and UpdateTerm are deltas) against the subscription
as the view read it when the form was submitted. Activating the draft is
orders.actions.activation's, and what a preview shows is orders.actions.change_figures'.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from django.core.cache import cache
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.actions.change_figures import added_add_ons
from orders.actions.schedule import add_months
from orders.kinds import KINDS, KINDS_BY_SLUG, PRODUCT_KINDS, Kind
from orders.nue import (
    AddOn,
    AssetChange,
    ChangeOrderResult,
    Invoice,
    NueConflict,
    NueValidationError,
    Order,
    Product,
    ProductOption,
    ProductRelationship,
    Subscription,
    SubscriptionChange,
    SubscriptionSnapshot,
)
from orders.policy import ScheduledChange, schedule_refusal
from orders.scope import CustomerNue
from portal.audit import pending_from, write
from portal.models import AuditKind, User

TERM_EXTENSIONS = (1, 3, 6, 12, 24, 36)
RENEWAL_TERMS = (12, 24, 36)
# What a draft was computed from (its before/after and preview invoices) is kept in the shared
# cache per customer: reading the draft back from Nue returns neither, and any member of the
# account may open the preview (an admin confirming a buyer's change above the threshold).
PREVIEW_TTL = 7 * 24 * 3600


def extended_end(end: date, months: int) -> date:
    # The emulator's UpdateTerm arithmetic (nue-api.md §5.7): end dates are inclusive.
    return add_months(end + timedelta(days=1), months) - timedelta(days=1)


def renewal_end(end: date, months: int) -> date:
    return extended_end(end, months)


def period_end_date(sub: Subscription) -> date | None:
    """The first day after the current billing period, if it falls inside the term.

    Changes effective then leave the period already paid for untouched.
    """
    if sub.next_billing_date is not None and (
        sub.end_date is None or sub.next_billing_date <= sub.end_date
    ):
        return sub.next_billing_date
    return sub.end_date


def last_service_day(sub: Subscription) -> date | None:
    """The day a cancellation at the end of the billing period names.

    Nue's cancellationDate is the last day of service: Cancel "ends the subscription on that
    date" (nue-api.md §2.2) and end dates are inclusive (§3.3). So the end of the billing period
    is its last day, the day before the next one starts, and nothing of the period paid for is
    credited.
    """
    if sub.next_billing_date is not None and (
        sub.end_date is None or sub.next_billing_date <= sub.end_date
    ):
        return sub.next_billing_date - timedelta(days=1)
    return sub.end_date


def is_bundle(sub: Subscription, catalog: Sequence[Product]) -> bool:
    product = next((p for p in catalog if p.id == sub.product_id), None)
    return product is not None and (product.record_type == "Bundle" or bool(product.options))


@dataclass(frozen=True, slots=True)
class Choice:
    kind: Kind
    reason: str  # empty when available
    forbidden: bool = False  # unavailable because of the member's role, not the subscription

    @property
    def available(self) -> bool:
        return not self.reason


# Whole sentences per kind, so that each language words them as it needs.
NOT_OFFERED = {
    "upgrade": gettext_lazy("No upgrade is offered for %(product)s."),
    "downgrade": gettext_lazy("No downgrade is offered for %(product)s."),
    "swap": gettext_lazy("No swap is offered for %(product)s."),
}


def choices_for(
    sub: Subscription,
    *,
    others: Sequence[Subscription],
    relationships: Sequence[ProductRelationship],
    catalog: Sequence[Product],
    may_prepare: bool,
    may_cancel: bool,
    scheduled: ScheduledChange | None = None,
) -> list[Choice]:
    """Every change kind with the reason it is not available (empty when it is). `scheduled`:
    the change Nue has scheduled for the subscription (orders.actions.scheduled), whose rule is
    orders.policy.schedule_refusal."""
    targets = {r.relationship_type for r in relationships if r.subscription_name == sub.name}

    def reason(kind: Kind) -> str:
        if not may_prepare:
            return _("Your role can see subscriptions but not change them.")
        if sub.is_add_on:
            return _("Part of a bundle: change it through the bundle's add-ons.")
        if sub.status == "Canceled":
            return _("This subscription is canceled.")
        refusal = schedule_refusal(scheduled, kind.slug)
        if refusal:
            return refusal
        if sub.status == "Expired" and kind.slug != "renew":
            return _("This subscription has ended; renew it first.")
        slug = kind.slug
        if slug == "trial":
            # ConvertFreeTrial is documented (nue-api.md §2.2), but no field of a subscription
            # says that it is a free trial (§3.3): the portal cannot tell which one is.
            return _(
                "Nue does not say whether a subscription is a free trial, so converting one is"
                " not offered here: ask your account manager."
            )
        if slug in PRODUCT_KINDS and kind.change_type not in targets:
            return NOT_OFFERED[slug] % {"product": sub.product_name}
        if slug in ("term", "renew") and sub.evergreen:
            return _("Evergreen: it runs until canceled.")
        if slug == "coterm" and not coterm_targets(sub, others):
            return _("No other active subscription ends on a different date.")
        if slug == "addons" and not is_bundle(sub, catalog):
            return _("Only for bundles.")
        if slug == "cancel" and not may_cancel:
            return _("Only an account admin can cancel a subscription.")
        return ""

    forbidden = {
        k.slug for k in KINDS if not may_prepare or (k.slug == "cancel" and not may_cancel)
    }
    return [Choice(k, reason(k), k.slug in forbidden and bool(reason(k))) for k in KINDS]


def subscription_choices(
    scope: CustomerNue,
    sub: Subscription,
    *,
    may_prepare: bool,
    may_cancel: bool,
    scheduled: ScheduledChange | None,
) -> list[Choice]:
    """`choices_for` the subscription as the acting customer has it, with the change scheduled
    for it (`scheduled.change_for`, which the caller read)."""
    # Relationships and catalog come from the shared cache; subscriptions from this request's memo.
    return choices_for(
        sub,
        others=scope.subscriptions(),
        relationships=scope.product_relationships([sub.name]),
        catalog=scope.catalog(),
        may_prepare=may_prepare,
        may_cancel=may_cancel,
        scheduled=scheduled,
    )


def coterm_targets(sub: Subscription, others: Sequence[Subscription]) -> list[Subscription]:
    return [
        o
        for o in others
        if o.name != sub.name
        and not o.is_add_on
        and o.status == "Active"
        and o.cancels_on is None
        and o.end_date is not None
        and o.end_date != sub.end_date
        and (sub.start_date is None or o.end_date >= sub.start_date)
    ]


class BundleOption(NamedTuple):
    """One add-on a customer may set on a bundle, with the option it sits under (None at the
    bundle's top) and the quantity the bundle has of it now."""

    option: ProductOption
    name: str
    quantity: Decimal
    parent: ProductOption | None = None


def bundle_add_ons(sub: Subscription, subscriptions: Sequence[Subscription]) -> list[Subscription]:
    """The subscriptions of a bundle's add-ons at every level, by the documented `rootId`
    (nue-api.md §3.3); options of options (Connector Runtime under Integration Pack) included."""
    return [s for s in subscriptions if s.root_id == sub.id and s.id != sub.id]


def bundle_options(
    sub: Subscription, catalog: Sequence[Product], children: Sequence[Subscription]
) -> list[BundleOption]:
    """The add-ons a customer may set on this bundle: its options at every level that are not
    Bundled (those come with the bundle or with their parent option), in the catalog's order,
    with their product names and current quantities."""
    product = next((p for p in catalog if p.id == sub.product_id), None)
    if product is None:
        return []
    names = {p.id: p.name for p in catalog}
    have = {c.product_id: c.quantity for c in children if c.status != "Canceled"}
    found: list[BundleOption] = []

    def visit(options: Sequence[ProductOption], parent: ProductOption | None) -> None:
        for option in options:
            if option.type != "bundled":
                name = option.product_name or names.get(option.product_id or "", option.id)
                found.append(
                    BundleOption(option, name, have.get(option.product_id, Decimal(0)), parent)
                )
            visit(option.options, option)

    visit(product.options, None)
    return found


@dataclass(frozen=True)
class Offer:
    """What the form of one kind of change may offer for a subscription, from Nue's records.

    The effective-date kinds (quantity, upgrade, downgrade, swap, cancel) offer today, the end
    of the billing period (`period_end`) or a day from `earliest` to the subscription's end.
    """

    kind: Kind
    earliest: date
    period_end: date | None = None
    # A downgrade or a cancellation takes effect when the paid period ends unless the customer
    # says otherwise.
    at_period_end: bool = False
    term_ends: dict[str, int] = field(default_factory=dict)  # new end (ISO) -> months added
    renewals: tuple[tuple[int, date], ...] = ()  # term in months and the end it reaches
    renewal_start: date = date.min  # the new term's first day (renewals only)
    # The relationships moved along, by the price book entry they move to.
    targets: dict[str, ProductRelationship] = field(default_factory=dict)
    coterm_targets: tuple[Subscription, ...] = ()
    # The customer's subscriptions by name (the current versions), to co-term with.
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    trial_starts: tuple[date, ...] = ()  # today, and the day after the trial, when it is ahead
    add_ons: tuple[BundleOption, ...] = ()


def offer(scope: CustomerNue, sub: Subscription, slug: str, today: date) -> Offer:
    """What the form of change `slug` may offer for `sub`, reading through the acting customer's
    scope only what that kind needs (relationships, the other subscriptions, the catalog)."""
    return offer_from(
        sub,
        slug,
        today,
        relationships=scope.product_relationships([sub.name]) if slug in PRODUCT_KINDS else (),
        subscriptions=scope.subscriptions() if slug in ("coterm", "addons") else (),
        catalog=scope.catalog() if slug == "addons" else (),
    )


def offer_from(
    sub: Subscription,
    slug: str,
    today: date,
    *,
    relationships: Sequence[ProductRelationship] = (),
    subscriptions: Sequence[Subscription] = (),
    catalog: Sequence[Product] = (),
) -> Offer:
    """`offer` from the customer's records as read."""
    kind = KINDS_BY_SLUG[slug]
    end = sub.end_date or today
    earliest = max(sub.start_date or today, today)
    if slug == "quantity":
        return Offer(kind, earliest, period_end=period_end_date(sub))
    if slug in PRODUCT_KINDS:
        targets = {
            r.price_book_entry_id: r
            for r in relationships
            if r.relationship_type == kind.change_type and r.price_book_entry_id
        }
        at_period_end = slug == "downgrade"
        return Offer(
            kind, earliest, period_end_date(sub), at_period_end=at_period_end, targets=targets
        )
    if slug == "cancel":
        return Offer(kind, earliest, last_service_day(sub), at_period_end=True)
    if slug == "term":
        ends = {extended_end(end, m).isoformat(): m for m in TERM_EXTENSIONS}
        return Offer(kind, earliest, term_ends=ends)
    if slug == "renew":
        renewals = tuple((m, renewal_end(end, m)) for m in RENEWAL_TERMS)
        return Offer(kind, earliest, renewals=renewals, renewal_start=end + timedelta(days=1))
    if slug == "coterm":
        # The current version of each (the list may carry older versions too).
        current = {s.name: s for s in sorted(subscriptions, key=lambda s: s.version)}
        targets_ = tuple(coterm_targets(sub, subscriptions))
        return Offer(kind, earliest, coterm_targets=targets_, subscriptions=current)
    if slug == "trial":
        starts = (today, end + timedelta(days=1)) if end >= today else (today,)
        return Offer(kind, earliest, trial_starts=starts)
    if slug == "addons":
        children = bundle_add_ons(sub, subscriptions)
        return Offer(kind, earliest, add_ons=tuple(bundle_options(sub, catalog, children)))
    return Offer(kind, earliest)


class AddOnAsked(NamedTuple):
    """One add-on of a bundle as asked: its quantity (the current one where left as it is), the
    quantity it has now, and the option it sits under (None at the bundle's top)."""

    option_id: str
    quantity: Decimal
    current: Decimal
    parent: str | None = None


@dataclass(frozen=True)
class Asked:
    """What the customer asked of one subscription, in absolute terms, as its form validated it.

    `quantity`: the total wanted (an upgrade's new quantity, if any); `effective`: when it takes
    effect; `target`: the price book entry moved to; `months`: added to the term, the renewal
    term, or a converted trial's term; `start`: when a converted trial starts paying;
    `co_term_date`: the end it aligns with; `add_ons`: a bundle's add-ons.
    """

    kind: str
    quantity: int | None = None
    effective: date | None = None
    target: str = ""
    months: int | None = None
    start: date | None = None
    co_term_date: date | None = None
    add_ons: tuple[AddOnAsked, ...] = ()


def asset_changes(sub: Subscription, asked: Asked, today: date) -> list[AssetChange]:
    """The AssetChanges that make `sub` what the customer asked (Nue's deltas, nue-api.md §2.2)."""
    kind = asked.kind
    if kind == "quantity":
        assert asked.quantity is not None
        delta = Decimal(asked.quantity) - sub.quantity
        return [AssetChange("UpdateQuantity", quantity=delta, start_date=asked.effective)]
    if kind == "term":
        return [AssetChange("UpdateTerm", term=asked.months)]
    if kind in PRODUCT_KINDS:
        change = AssetChange(
            KINDS_BY_SLUG[kind].change_type,
            target_price_book_entry_id=asked.target,
            start_date=asked.effective,
            quantity=Decimal(asked.quantity) if asked.quantity else None,
        )
        return [change]
    if kind == "renew":
        start = (sub.end_date or today) + timedelta(days=1)
        return [AssetChange("Renew", renewal_term=asked.months, start_date=start)]
    if kind == "coterm":
        return [AssetChange("CoTerm", co_term_date=asked.co_term_date)]
    if kind == "cancel":
        return [AssetChange("Cancel", cancellation_date=asked.effective)]
    if kind == "trial":
        return [AssetChange("ConvertFreeTrial", start_date=asked.start, term=asked.months)]
    if kind == "addons":
        return [_reconfigure(asked.add_ons, today)]
    raise ValueError(f"Unknown change kind {kind!r}.")


def _reconfigure(add_ons: Sequence[AddOnAsked], today: date) -> AssetChange:
    """A bundle's add-ons as one Reconfigure of absolute quantities; 0 removes an optional one
    (nue-api.md §5.10).

    An option of an option is sent nested in its parent's `addOns[]` when the parent is added by
    the same change (as on a new order, §2.1), else on its own; removing an option takes its
    own options with it.
    """
    asked = {a.option_id: a for a in add_ons}
    wanted = [a.option_id for a in add_ons if a.quantity != a.current]

    def added(option_id: str) -> bool:
        return asked[option_id].current == 0 and asked[option_id].quantity > 0

    def ancestors(option_id: str) -> list[str]:
        found = []
        parent = asked[option_id].parent
        while parent is not None and parent in asked:
            found.append(parent)
            parent = asked[parent].parent
        return found

    def entry(option_id: str) -> AddOn:
        children = [o for o in wanted if asked[o].parent == option_id] if added(option_id) else []
        return AddOn(
            option_id,
            asked[option_id].quantity,
            add_ons=tuple(entry(child) for child in children),
            effective_date=today,
            current_quantity=asked[option_id].current,
        )

    top = [
        option_id
        for option_id in wanted
        # Sent inside an ancestor that is added, or gone with an ancestor that is removed.
        if not any(added(a) or asked[a].quantity == 0 for a in ancestors(option_id))
    ]
    return AssetChange("Reconfigure", add_ons=tuple(entry(option_id) for option_id in top))


class Estimate(NamedTuple):
    """What a change would bill, priced by Nue with nothing kept (POST /orders/invoice-preview
    with assetChanges, nue-api.md §2.4): before tax, which Nue adds only to a draft."""

    invoices: tuple[Invoice, ...]
    warnings: tuple[str, ...]
    problem: str = ""


def estimate(scope: CustomerNue, sub: Subscription, changes: Sequence[AssetChange]) -> Estimate:
    """The change's invoices as Nue would bill them, or why Nue would not."""
    try:
        preview = scope.preview_change(sub.name, list(changes))
    except NueValidationError as error:
        return Estimate((), (), problem=error.message)
    gaps = tuple(
        _("%(text)s Reference: %(reference)s") % {"text": gap.text, "reference": gap.reference}
        for gap in scope.omitted("preview invoices")
    )
    return Estimate(preview.invoices, (*preview.warnings, *gaps))


def draft(
    scope: CustomerNue,
    items: Sequence[tuple[str, Sequence[AssetChange]]],
    *,
    actor: User,
    on_behalf_of: User | None,
    audit: Mapping[str, Any],
) -> ChangeOrderResult:
    """One draft change order holding each subscription's changes (POST /change-orders with
    previewInvoice), through the operation ledger. `audit`: the request's event as
    portal.audit.pending describes it; the draft's event repeats who made it and from where."""
    result = scope.change(
        [(name, list(changes)) for name, changes in items],
        actor=actor,
        on_behalf_of=on_behalf_of,
    )
    replayed = result.replayed
    if replayed and not scope.order(result.order.id, status="draft", fresh=True).is_draft:
        # The ledger answers an identical change sent moments ago with that change order; if it
        # was applied since, previewing it would show the customer a change already made.
        raise NueConflict(
            _(
                "This exact change was just applied as %(number)s. Check the subscription before"
                " making it again."
            )
            % {"number": result.order.order_number}
        )
    if not replayed:
        # A replay is the draft an identical request made moments ago, already recorded.
        write(
            pending_from(
                audit,
                AuditKind.ACTION,
                action="change_draft_created",
                order_id=result.order.id,
                order_number=result.order.order_number,
                subscription=", ".join(name for name, _changes in items),
                total=result.order.total,
                operation=result.operation_id,
            )
        )
    return result


@dataclass(frozen=True, slots=True)
class Preview:
    """A draft change order as it was previewed."""

    order: Order
    name: str
    kind: str
    data: dict[str, list[str]]
    asked: dict[str, str]
    changes: tuple[SubscriptionChange, ...]
    invoices: tuple[Invoice, ...]
    # Add-ons the change adds to a bundle: no subscription yet, so no before (see `cards`).
    added: tuple[SubscriptionSnapshot, ...] = ()
    # Nue's warnings on the draft, e.g. that tax could not be calculated without an address.
    warnings: tuple[str, ...] = ()

    @property
    def kind_info(self) -> Kind:
        return KINDS_BY_SLUG[self.kind]

    @property
    def is_cancel(self) -> bool:
        return self.kind == "cancel"

    @property
    def reconfigured(self) -> set[str]:
        return {self.name} if self.kind == "addons" else set()

    @property
    def posted_fields(self) -> list[tuple[str, str]]:
        """The wizard's form as it was posted, a (name, value) pair per value, to post again."""
        return [(name, value) for name, values in self.data.items() for value in values]

    @property
    def service_until(self) -> date | None:
        """A cancellation's last day of service (nue-api.md §2.2, see last_service_day)."""
        if not self.is_cancel or "effective" not in self.asked:
            return None
        return date.fromisoformat(self.asked["effective"])


def reasons(previews: Sequence[Preview]) -> dict[str, str]:
    """The reason given for each cancellation, for its audit event."""
    return {p.name: p.asked.get("reason", "") for p in previews if p.is_cancel}


class BasketItem(NamedTuple):
    """A change waiting in the basket: the subscription, the kind, what it asks in words, and
    its form's fields as posted (validated again when the basket is previewed)."""

    name: str
    kind: str
    asked: str
    data: dict[str, list[str]]

    @property
    def kind_info(self) -> Kind:
        return KINDS_BY_SLUG[self.kind]


@dataclass(frozen=True, slots=True)
class BasketPreview:
    """A basket as previewed: ONE draft change order holding every item's changes.

    `changes` and `invoices` are the whole order's (a before/after for every subscription it
    touches); `items` are what each item asked for, each a Preview of that same order with the
    changes to its own subscription.
    """

    order: Order
    items: tuple[Preview, ...]
    changes: tuple[SubscriptionChange, ...]
    invoices: tuple[Invoice, ...]
    warnings: tuple[str, ...] = ()

    @property
    def is_cancel(self) -> bool:
        return any(item.is_cancel for item in self.items)

    @property
    def reconfigured(self) -> set[str]:
        return {name for item in self.items for name in item.reconfigured}

    @property
    def added(self) -> tuple[SubscriptionSnapshot, ...]:
        return tuple(snapshot for item in self.items for snapshot in item.added)


@dataclass(frozen=True, slots=True)
class Remembered:
    """What the wizard remembers of a draft change order: what each change was computed from
    and what each item asked (the reason of a cancellation)."""

    changes: tuple[SubscriptionChange, ...]
    items: tuple[Preview, ...]

    @property
    def reasons(self) -> dict[str, str]:
        return reasons(self.items)


# v3: previews are orders.actions.changes' classes; one pickled under the module that held them
# before would not load.
def _preview_key(scope: CustomerNue, order_id: str) -> str:
    return f"change:preview:v3:{scope.account.pk}:{order_id}"


def _basket_key(scope: CustomerNue, basket_id: str) -> str:
    return f"change:basket:v3:{scope.account.pk}:{basket_id}"


def remember(
    scope: CustomerNue,
    sub: Subscription,
    kind: str,
    result: ChangeOrderResult,
    *,
    data: dict[str, list[str]],
    asked: dict[str, str],
) -> Preview:
    """Keep what the draft was computed from, with the form as posted (`data`) and what it asked
    in words, for its preview and its confirmation."""
    preview = Preview(
        order=result.order,
        name=sub.name,
        kind=kind,
        data=data,
        asked=asked,
        changes=result.changes,
        invoices=result.preview_invoices,
        added=added_add_ons(result.order, sub, scope.subscriptions()) if kind == "addons" else (),
        warnings=result.warnings,
    )
    cache.set(_preview_key(scope, result.order.id), preview, PREVIEW_TTL)
    return preview


def recall(scope: CustomerNue, name: str, order_id: str) -> Preview | None:
    """The wizard's preview of the draft changing subscription `name`; None once it expired."""
    preview = cache.get(_preview_key(scope, order_id))
    return preview if isinstance(preview, Preview) and preview.name == name else None


def remembered_change(scope: CustomerNue, order_id: str) -> Remembered | None:
    """The wizard's or the basket's preview of this draft, for the draft page; None if unknown."""
    found = cache.get(_preview_key(scope, order_id))
    if isinstance(found, Preview):
        return Remembered(found.changes, (found,))
    if isinstance(found, BasketPreview):
        return Remembered(found.changes, found.items)
    return None


def remember_basket(
    scope: CustomerNue,
    items: Sequence[tuple[BasketItem, dict[str, str]]],
    result: ChangeOrderResult,
) -> str:
    """Keep the basket's draft as previewed, each item with what it asked in words; the id of the
    basket preview. The draft page finds it by its order too (what it was computed from, the
    reasons)."""
    subscriptions = scope.subscriptions()
    by_name = {s.name: s for s in subscriptions}
    previews = tuple(
        Preview(
            order=result.order,
            name=item.name,
            kind=item.kind,
            data=item.data,
            asked=asked,
            changes=tuple(c for c in result.changes if c.name == item.name),
            invoices=(),
            added=added_add_ons(result.order, by_name[item.name], subscriptions)
            if item.kind == "addons" and item.name in by_name
            else (),
        )
        for item, asked in items
    )
    basket = BasketPreview(
        order=result.order,
        items=previews,
        changes=result.changes,
        invoices=result.preview_invoices,
        warnings=result.warnings,
    )
    basket_id = uuid.uuid4().hex
    cache.set(_basket_key(scope, basket_id), basket, PREVIEW_TTL)
    cache.set(_preview_key(scope, basket.order.id), basket, PREVIEW_TTL)
    return basket_id


def basket_preview(scope: CustomerNue, basket_id: str) -> BasketPreview | None:
    """The basket as previewed; None once it expired."""
    basket = cache.get(_basket_key(scope, basket_id))
    return basket if isinstance(basket, BasketPreview) else None


@dataclass(frozen=True)
class ChangeMade:
    """What an activated change order did to a subscription: changed it (`changed`), or some of
    its add-ons (`add_ons`), or both."""

    changed: bool
    add_ons: list[Subscription]


def change_made(scope: CustomerNue, order: Order, sub: Subscription) -> ChangeMade | None:
    """What `order` changed of `sub`; None unless it is an activated change of it.

    The subscriptions an activated order made versions of are its related assets ("associated
    subscriptions", nue-api.md §2.1); its lines do not name them (§3.2). A change to a bundle's
    add-ons makes versions of the add-ons (by rootId, §3.3), not of the bundle.
    """
    touched = {asset.name for asset in order.assets}
    add_ons = [s for s in bundle_add_ons(sub, scope.subscriptions()) if s.name in touched]
    if order.status != "Activated" or (sub.name not in touched and not add_ons):
        return None
    return ChangeMade(sub.name in touched, add_ons)
