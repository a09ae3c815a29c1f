"""The findings of `manage.py nue_check --with-drafts`: draft orders, never activated, that
learn what Nue's guides leave open in a request. Each creates as few drafts as it can: it tries
the portal's own choice first and stops at the first that Nue demonstrably honours. Every draft
is named PROBE_NAME and kept in Run.drafts, which nue_check lists: Nue documents no way to delete
one, so an operator cancels them in Nue.

- the coterm field's casing (`coTermAsset` or `cotermAsset`, nue-api.md §2.1a);
- the Upgrade/Downgrade/Swap target field (§2.2, named only by the CPQ example, §5.9);
- whether a Reconfigure quantity is the add-on's new quantity or a change of it (§5.10).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from orders.models import TenantCapabilities
from orders.nue import (
    COTERM_FIELDS,
    UPGRADE_TARGET_FIELDS,
    AddOn,
    AssetChange,
    Customer,
    Dialect,
    DraftChangeOrder,
    LineRequest,
    NueError,
    NueValidationError,
    Order,
    OrderLine,
    ProductOption,
    ProductRelationship,
    Subscription,
)
from orders.scope import CustomerNue
from orders.tenant_check import (
    COTERM,
    RECONFIGURE,
    UPGRADE_TARGET,
    Check,
    Finding,
    Run,
    current_versions,
    describe,
    live,
    top_level,
)

PROBE_NAME = "nue_check probe \N{EM DASH} safe to delete"
PROBE_DESCRIPTION = (
    "Created by the customer portal's manage.py nue_check --with-drafts to learn how this Nue "
    "tenant reads an order. Never activated."
)


def _subject(run: Run) -> tuple[Customer, CustomerNue]:
    assert run.customer is not None
    assert run.scope is not None
    return run.customer, run.scope


def probe_coterm_field(run: Run) -> Finding:
    """A new line that co-terms with a subscription of the customer, sent with each casing in
    turn until one gives a line that ends when that subscription does."""
    scope, today = _subject(run)[1], run.today
    pick = _coterm_sample(run)
    if pick is None:
        return Finding(
            COTERM,
            "not checked",
            "no active subscription of the customer whose product it can still buy",
        )
    sub, entry_id = pick
    line = LineRequest(entry_id, Decimal(1), start_date=today, coterm_subscription=sub.name)

    def attempt(spelling: str) -> Attempt:
        probe = CustomerNue(scope.account, dialect=Dialect(coterm_field=spelling))
        draft = probe.create_draft(
            [line],
            effective_date=today,
            name=PROBE_NAME,
            description=PROBE_DESCRIPTION,
            preview_invoice=False,
        )
        run.drafts.append(draft.order)
        lines = draft.order.lines or probe.order(draft.order.id, fresh=True).lines
        end = lines[0].end_date if lines else None
        if end is not None and end == sub.end_date:
            return Attempt(draft.order, True, f"ends {end}, as {sub.name} does")
        return Attempt(draft.order, False, f"ends {end}, not with {sub.name} ({sub.end_date})")

    return _first_honoured(COTERM, "coterm_field", COTERM_FIELDS, attempt)


class Attempt(NamedTuple):
    """A draft one spelling made, whether it shows the spelling honoured, and what it shows."""

    draft: Order
    honoured: bool
    shows: str


def _first_honoured(
    name: str, field_name: str, spellings: Sequence[str], attempt: Callable[[str], Attempt]
) -> Finding:
    """Each spelling in turn until a draft shows one honoured; a refused one makes no draft."""
    tried: list[str] = []
    for spelling in spellings:
        try:
            made = attempt(spelling)
        except NueValidationError as error:
            tried.append(f"{spelling}: refused ({error.message})")
            continue
        except NueError as error:
            tried.append(f"{spelling}: {describe(error)}")
            return Finding(name, "could not tell", "; ".join(tried))
        number = made.draft.order_number
        if made.honoured:
            tried.append(f"{spelling}: draft {number} {made.shows}")
            return Finding(name, spelling, "; ".join(tried), field_name, spelling)
        tried.append(f"{spelling}: accepted, but draft {number} {made.shows}")
    return Finding(name, "not honoured", "; ".join(tried))


def _coterm_sample(run: Run) -> tuple[Subscription, str] | None:
    """A live subscription ending after today whose own, unconfigurable product the customer
    can still buy: one more unit of it co-terms with it."""
    sellable = {
        entry.id
        for product in run.customer_catalog or ()
        if not product.configurable
        for entry in product.price_book_entries
    }
    for sub in top_level(run):
        if sub.price_book_entry_id in sellable and sub.end_date and sub.end_date > run.today:
            return sub, sub.price_book_entry_id
    return None


def probe_upgrade_target(run: Run) -> Finding:
    """An Upgrade (or Downgrade, or Swap) to a target Nue itself lists for a subscription, with
    the target under each candidate field in turn until the draft shows the target product."""
    customer, scope = _subject(run)
    subs = {s.name: s for s in top_level(run)}
    try:
        relationships = scope.product_relationships(sorted(subs)) if subs else []
    except NueError as error:
        return Finding(UPGRADE_TARGET, "could not tell", describe(error))
    target = next((r for r in relationships if r.price_book_entry_id), None)
    if target is None:
        return Finding(
            UPGRADE_TARGET,
            "not checked",
            "no subscription of the customer has an upgrade, downgrade or swap target",
        )
    sub = subs[target.subscription_name]
    change = AssetChange(
        target.relationship_type,
        start_date=max(run.today, sub.start_date or run.today),
        target_price_book_entry_id=target.price_book_entry_id,
    )

    def attempt(spelling: str) -> Attempt:
        draft = run.tenant.draft_change_order(
            customer.id,
            [(sub.name, change)],
            name=PROBE_NAME,
            dialect=Dialect(upgrade_target_field=spelling),
        )
        run.drafts.append(draft.order)
        what = f"({target.relationship_type} of {sub.name})"
        if _shows_target(draft, target):
            shown = target.product_name or target.price_book_entry_id
            return Attempt(draft.order, True, f"{what} carries {shown}")
        return Attempt(draft.order, False, f"{what} does not show the target")

    return _first_honoured(UPGRADE_TARGET, "upgrade_target_field", UPGRADE_TARGET_FIELDS, attempt)


def _shows_target(draft: DraftChangeOrder, target: ProductRelationship) -> bool:
    def is_target(entry: str | None, product: str | None) -> bool:
        return (entry is not None and entry == target.price_book_entry_id) or (
            product is not None and product == target.product_id
        )

    lines = any(
        ln.quantity > 0 and is_target(ln.price_book_entry_id, ln.product_id)
        for ln in draft.order.all_lines()
    )
    summaries = any(
        c.after is not None and is_target(c.after.price_book_entry_id, c.after.product_id)
        for c in draft.changes
    )
    return lines or summaries


@dataclass(frozen=True, slots=True)
class _Addon:
    bundle: Subscription
    option: ProductOption
    subscription: Subscription

    @property
    def quantity(self) -> Decimal:
        return self.subscription.quantity


def probe_reconfigure(run: Run) -> Finding:
    """A Reconfigure that asks for one more of an add-on the bundle has (q units): q + 1 sent as
    the new quantity ends at q + 1, read as a change at 2q + 1.

    Where Nue summarises the add-on after the change, that settles it. Else the draft's lines do,
    and a line may carry the quantity after the change or the change itself: the same draft
    also adds one unit to another subscription (a documented delta), whose line tells which.
    """
    customer = _subject(run)[0]
    addon = _reconfigure_sample(run)
    if addon is None:
        return Finding(
            RECONFIGURE,
            "not checked",
            "no bundle of the customer has an add-on of editable quantity it can raise",
        )
    q = addon.quantity
    day = max(run.today, addon.bundle.start_date or run.today)
    reconfigure = AssetChange(
        "Reconfigure",
        add_ons=(AddOn(addon.option.id, q + 1, effective_date=day, current_quantity=q),),
    )
    reference = _reference_sample(run, addon.bundle)
    changes: list[tuple[str, AssetChange]] = [(addon.bundle.name, reconfigure)]
    if reference is not None:
        start = max(run.today, reference.start_date or run.today)
        changes.append(
            (reference.name, AssetChange("UpdateQuantity", quantity=Decimal(1), start_date=start))
        )
    dialect = Dialect(reconfigure_delta=False)
    try:
        try:
            draft = run.tenant.draft_change_order(
                customer.id, changes, name=PROBE_NAME, dialect=dialect
            )
        except NueValidationError:
            if reference is None:
                raise
            # Refused for the other subscription's unit, perhaps: the add-on alone still tells
            # two of the three outcomes.
            reference = None
            draft = run.tenant.draft_change_order(
                customer.id, changes[:1], name=PROBE_NAME, dialect=dialect
            )
    except NueError as error:
        return Finding(RECONFIGURE, "could not tell", describe(error))
    run.drafts.append(draft.order)
    verdict, how = _reconfigure_verdict(draft, addon, reference)
    asked = (
        f"draft {draft.order.order_number} asks {addon.subscription.name} "
        f"({addon.subscription.product_name}) at {quantity_text(q)} for {quantity_text(q + 1)}"
    )
    evidence = f"{asked}; {how}"
    if verdict is None:
        return Finding(RECONFIGURE, "could not tell", evidence)
    stored = TenantCapabilities.Reconfigure(verdict)
    result = "the new quantity" if verdict == "absolute" else "a change of quantity"
    return Finding(RECONFIGURE, result, evidence, "reconfigure_quantity", stored.value)


def _reconfigure_verdict(
    draft: DraftChangeOrder, addon: _Addon, reference: Subscription | None
) -> tuple[str | None, str]:
    q = addon.quantity
    after = next(
        (c.after for c in draft.changes if c.name == addon.subscription.name and c.after), None
    )
    if after is not None:
        verdict = _after_verdict(after.quantity, q)
        return verdict, f"Nue's summary of it after the change: {quantity_text(after.quantity)}"
    shown = _line_quantity(draft.order, addon.subscription)
    if shown is None:
        return None, "the draft shows no line for it"
    said = f"its line's quantity: {quantity_text(shown)}"
    if reference is not None:
        ref = _line_quantity(draft.order, reference)
        if ref == reference.quantity + 1:
            return _after_verdict(shown, q), f"{said}; lines carry the quantity after a change"
        if ref == 1:
            verdict = {Decimal(1): "absolute", q + 1: "delta"}.get(shown)
            return verdict, f"{said}; lines carry the change itself"
    # Without knowing what a line carries: 1 is only ever the change to q + 1, and 2q + 1 only
    # ever the quantity after adding q + 1; q + 1 is either.
    if shown == 1:
        return "absolute", said
    if shown == 2 * q + 1:
        return "delta", said
    return None, f"{said}, which either reading gives"


def _after_verdict(quantity: Decimal, q: Decimal) -> str | None:
    return {q + 1: "absolute", 2 * q + 1: "delta"}.get(quantity)


def _line_quantity(order: Order, sub: Subscription) -> Decimal | None:
    # Lines do not name their subscription (nue-api.md §3.2): the probe's subscriptions are
    # picked so that each has a product of its own on the order.
    def carries(line: OrderLine) -> bool:
        return line.product_id is not None and line.product_id == sub.product_id

    found = [ln.quantity for ln in order.all_lines() if ln.change_type and carries(ln)]
    return found[0] if len(found) == 1 else None


def _reconfigure_sample(run: Run) -> _Addon | None:
    """An add-on subscription of a live bundle, at q >= 1 units of a top-level option whose
    quantity may be raised to 2q + 1, so either reading is a valid request."""
    products = {p.id: p for p in run.customer_catalog or ()}
    subs = [s for s in current_versions(run) if live(s, run.today)]
    for bundle in top_level(run):
        product = products.get(bundle.product_id or "")
        if product is None or not product.configurable:
            continue
        for option in product.options:
            # Nue documents no quantity limits on options (nue-api.md §4): raising one to 2q + 1
            # may be refused, and then the probe says it could not tell.
            if option.type == "bundled":
                continue
            for sub in subs:
                q = sub.quantity
                if (
                    sub.root_id == bundle.id
                    and sub.id != bundle.id
                    and sub.product_id == option.product_id
                    and q >= 1
                    and q == q.to_integral_value()
                ):
                    return _Addon(bundle, option, sub)
    return None


def _reference_sample(run: Run, bundle: Subscription) -> Subscription | None:
    products = {p.id: p for p in run.customer_catalog or ()}
    for sub in top_level(run):
        product = products.get(sub.product_id or "")
        plain = product is not None and not product.configurable
        if sub.id != bundle.id and plain and sub.quantity >= 1:
            return sub
    return None


def quantity_text(value: Decimal) -> str:
    return f"{value.normalize():f}"


PROBES: tuple[Check, ...] = (probe_coterm_field, probe_upgrade_target, probe_reconfigure)
