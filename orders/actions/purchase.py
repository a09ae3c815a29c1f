"""Buying: the catalog a customer may buy from, the live invoice preview of what they configure,
the draft made from it, and what is kept of that draft (issue 6; nue-api.md §2.1, §2.4, §2.5).

The preview invoices and warnings Nue returned for a new draft live in the shared cache per
customer and order: reading the stored draft later (GET /orders) returns no preview
invoices, every member of the account may open the draft (an admin activating a buyer's draft,
say), and a late live-preview request rewriting the session cannot lose them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, cast

from django.core.cache import cache
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.actions import approvals
from orders.actions.activation import AuditNotes
from orders.actions.schedule import Schedule, build_schedule
from orders.fanout import fetch_alongside
from orders.nue import (
    Customer,
    DraftResult,
    Invoice,
    InvoiceDetail,
    InvoiceItem,
    LineRequest,
    Order,
    PriceBookEntry,
    PriceTag,
    Product,
    ProductOption,
    Subscription,
)
from orders.policy import DraftFacts
from orders.scope import CustomerNue
from portal.audit import pending_from, write
from portal.models import AuditKind, CustomerAccount, User

# The product category of subscriptions (nue-api.md §3.8); others become assets or entitlements.
SUBSCRIPTION_CATEGORY = "RecurringServices"
DRAFT_KEY = "purchase:draft:{customer}:{order}"
DRAFT_TTL = 30 * 24 * 3600  # a draft's breakdown outlives a session; Nue keeps drafts open
DECIMALS = frozenset(
    {"amount", "amount_without_tax", "tax_amount", "balance", "quantity", "unit_price"}
)
DATES = frozenset({"invoice_date", "due_date", "start_date", "end_date"})


@dataclass(frozen=True)
class BundleItem:
    """One option of a bundle as the catalog lists it."""

    name: str
    kind: str
    children: tuple[BundleItem, ...] = ()


@dataclass(frozen=True)
class CatalogEntry:
    """A price book entry this customer may buy, with its product and its bundle contents."""

    product: Product
    entry: PriceBookEntry
    contents: tuple[BundleItem, ...] = ()

    @property
    def recurring(self) -> bool:
        return "/" in (self.entry.uom or "") or self.product.product_category == "RecurringServices"

    @property
    def orderable(self) -> bool:
        """Whether a new order may buy it here: Nue's new orders take subscriptions only
        (new-orders.txt, Current Limitations), and the product category is what activation
        makes of a product (nue-api.md §3.8). A product without a category is left to Nue."""
        category = self.product.product_category
        return category is None or category == SUBSCRIPTION_CATEGORY


def buyable(catalog: Sequence[Product]) -> dict[str, CatalogEntry]:
    """Entries sold on their own: a product that only appears as a bundle option is left out."""
    option_entries = {
        o.price_book_entry_id for p in catalog for top in p.options for o in top.walk()
    }
    names = entry_names(catalog)

    def contents(options: Sequence[ProductOption]) -> tuple[BundleItem, ...]:
        return tuple(
            BundleItem(
                name=names.get(o.price_book_entry_id or "", (o.product_name or o.id,))[0],
                kind=o.type,
                children=contents(o.options),
            )
            for o in options
        )

    return {
        e.id: CatalogEntry(p, e, contents(p.options))
        for p in catalog
        for e in p.price_book_entries
        if e.id not in option_entries
    }


def entry_names(catalog: Sequence[Product]) -> dict[str, tuple[str, PriceBookEntry]]:
    return {e.id: (p.name, e) for p in catalog for e in p.price_book_entries}


# Nue's product categories (nue-api.md §3.8), in the words a customer uses.
CATEGORY_LABELS = {
    "RecurringServices": gettext_lazy("Subscriptions"),
    "PhysicalGoods": gettext_lazy("Physical goods"),
    "ProfessionalServices": gettext_lazy("Professional services"),
    "CustomerSupport": gettext_lazy("Customer support"),
}


def category_label(category: str) -> str:
    """A category's label; one Nue adds later reads as words: "DigitalGoods" → "Digital goods"."""
    if category in CATEGORY_LABELS or not category.strip():
        return str(CATEGORY_LABELS.get(category, category))
    first, *rest = re.sub(r"(?<=[a-z])(?=[A-Z][a-z])", " ", category).replace("_", " ").split()
    return " ".join([first, *(w.lower() if w.istitle() else w for w in rest)])


@dataclass(frozen=True)
class Shop:
    """What configuring a new order needs from Nue: the catalog, tags and subscriptions."""

    catalog: dict[str, CatalogEntry]
    names: dict[str, tuple[str, PriceBookEntry]]
    tags: list[PriceTag]  # the active ones
    subscriptions: list[Subscription]
    customer: Customer  # its contacts: an order's bill-to and ship-to

    @property
    def orderable(self) -> dict[str, CatalogEntry]:
        """What a new order may hold; the rest is listed for the account manager to sell."""
        return {key: item for key, item in self.catalog.items() if item.orderable}

    @property
    def coterm_targets(self) -> list[Subscription]:
        """The subscriptions a new line may end together with: the active ones."""
        return [s for s in self.subscriptions if s.status == "Active"]

    @property
    def categories(self) -> list[tuple[str, str]]:
        """The catalog's categories, each with its label, for the catalog's filter."""
        found = sorted({e.product.product_category or "" for e in self.catalog.values()} - {""})
        return [(category, category_label(category)) for category in found]

    def matching(self, q: str, category: str) -> list[CatalogEntry]:
        """The entries in `category` (any when empty) whose name, description or SKU has `q`."""
        q = q.strip().casefold()
        return [
            i
            for i in self.catalog.values()
            if (not category or i.product.product_category == category)
            and (
                not q
                or q in i.product.name.casefold()
                or q in (i.product.description or "").casefold()
                or q in (i.product.sku or "").casefold()
            )
        ]


def shop(nue: CustomerNue) -> Shop:
    # The catalog and tags come from the shared cache while Nue lists the subscriptions.
    (catalog, tags), reads = fetch_alongside(
        lambda: (nue.catalog(), nue.price_tags()),
        subscriptions=nue.subscriptions,
        customer=nue.customer,
    )
    return Shop(
        catalog=buyable(catalog),
        names=entry_names(catalog),
        tags=[t for t in tags if t.active],
        subscriptions=cast("list[Subscription]", reads["subscriptions"]),
        customer=cast("Customer", reads["customer"]),
    )


def _effective_date(lines: Sequence[LineRequest], today: date) -> date:
    return min(line.start_date or today for line in lines)


def preview(
    nue: CustomerNue,
    shop: Shop,
    lines: Sequence[LineRequest],
    today: date,
    tag_codes: Mapping[str, str] | None = None,
) -> Schedule:
    """The invoice schedule the lines would bill (POST /orders/invoice-preview), each item with
    its proration in words and, by product id, the price tag `tag_codes` applied to it. Raises
    NueValidationError when Nue refuses the lines."""
    found = nue.preview(list(lines), effective_date=_effective_date(lines, today))
    periods = {e.product.id: e.entry.billing_period for e in shop.catalog.values()}
    names = {t.code: t.name for t in shop.tags}
    discounts = {product: names.get(code, "") for product, code in (tag_codes or {}).items()}
    return build_schedule(found.invoices, today=today, periods=periods, discounts=discounts)


def create_draft(
    nue: CustomerNue,
    lines: Sequence[LineRequest],
    today: date,
    *,
    bill_to: str | None = None,
    ship_to: str | None = None,
    audit: Mapping[str, Any],
) -> DraftResult:
    """The draft order of the lines, billed and shipped to those contacts (ids; none: the
    company), with Nue's preview of its invoices (POST /orders), whose breakdown is kept for
    whoever opens the draft next (`stored_draft`). `audit`: the request's event as
    portal.audit.pending describes it; the draft's event repeats who made it and from where."""
    result = nue.create_draft(
        list(lines),
        effective_date=_effective_date(lines, today),
        bill_to_contact_id=bill_to,
        ship_to_contact_id=ship_to,
        preview_invoice=True,
    )
    store_draft(nue.account, result)
    # Written once Nue answered with the draft: a draft whose answer was lost is found again in
    # the order history, not claimed here.
    write(
        pending_from(
            audit,
            AuditKind.ACTION,
            action="draft_created",
            order_id=result.order.id,
            order_number=result.order.order_number,
            total=result.order.total,
        )
    )
    return result


def discard(nue: CustomerNue, order: Order, *, by: User, via: User | None = None) -> Order:
    """Discard the draft, unless it awaits an approval (DraftLocked), and forget its breakdown.
    `via`: the support agent acting as `by`."""
    approvals.refuse_if_locked(order.id)
    discarded = nue.discard_draft(order.id, by=by, via=via)
    forget_draft(nue.account, order.id)
    return discarded


def activated_subscriptions(nue: CustomerNue, order: Order) -> list[Subscription]:
    """The subscriptions an activated order made or changed."""
    # Subscriptions come back among the order's assets, named SUB-… (an assetNumber or a name).
    names = {a.asset_number or a.name for a in order.assets}
    return [s for s in nue.subscriptions() if s.name in names]


def activation_notes(
    facts: DraftFacts,
    *,
    reasons: Mapping[str, str],
    asked: Mapping[str, Mapping[str, str]],
    typed_reason: str,
    po_number: str,
) -> AuditNotes:
    """The audit notes of a draft activated from its own page. `reasons` and `asked` are what
    the change wizard remembered of it, if anything; a cancellation's reason typed here is the
    latest word, else the wizard's."""
    if facts.cancels and (typed_reason or not reasons):
        reasons = dict.fromkeys(facts.subscriptions, typed_reason)
    return AuditNotes(reasons=reasons, asked=asked, details={"po_number": po_number})


def already_activated(order: Order, typed_po: str) -> str:
    """What a second submit of an activated order is told: no PO it typed is silently dropped."""
    words = {"number": order.order_number, "po": order.po_number}
    if order.po_number:
        text = _("Order %(number)s was already activated with PO number %(po)s.") % words
    else:
        text = _("Order %(number)s was already activated without a PO number.") % words
    typed_po = typed_po.strip()
    if typed_po and typed_po != (order.po_number or ""):
        # A sentence of its own, after the one above.
        text += " " + _("The PO number %(po)s you entered was not applied.") % {"po": typed_po}
    return text


def _dump(value: object) -> object:
    if isinstance(value, Decimal | date):
        return str(value)
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: _dump(v) for k, v in value._asdict().items()}
    if isinstance(value, tuple | list):
        return [_dump(v) for v in value]
    return value


def _fields(d: dict[str, Any]) -> dict[str, Any]:
    def load(key: str, value: Any) -> Any:
        if value is None:
            return None
        if key in DECIMALS:
            return Decimal(value)
        if key in DATES:
            return date.fromisoformat(value)
        return value

    return {k: load(k, v) for k, v in d.items()}


def _invoice(d: dict[str, Any]) -> Invoice:
    items = tuple(
        InvoiceItem(
            **{
                **_fields(item),
                "details": tuple(InvoiceDetail(**_fields(x)) for x in item["details"]),
            }
        )
        for item in d["items"]
    )
    return Invoice(**{**_fields(d), "items": items})


def _draft_key(account: CustomerAccount, order_id: str) -> str:
    return DRAFT_KEY.format(customer=account.pk, order=order_id)


def store_draft(account: CustomerAccount, result: DraftResult) -> None:
    data = {"invoices": _dump(result.preview_invoices), "warnings": list(result.warnings)}
    cache.set(_draft_key(account, result.order.id), data, DRAFT_TTL)


def stored_draft(account: CustomerAccount, order_id: str) -> dict[str, Any] | None:
    """The preview invoices and warnings Nue returned when the draft was created, if known."""
    data = cache.get(_draft_key(account, order_id))
    if not isinstance(data, dict):
        return None
    invoices = tuple(_invoice(d) for d in data.get("invoices", []))
    return {"invoices": invoices, "warnings": tuple(data.get("warnings", []))}


def forget_draft(account: CustomerAccount, order_id: str) -> None:
    cache.delete(_draft_key(account, order_id))
