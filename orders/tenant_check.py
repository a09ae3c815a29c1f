"""What `manage.py nue_check` learns about the Nue tenant the portal talks to: one function per
finding, each returning a Finding (name, result, evidence, and what it settles).

Read-only: the key, the catalog, a customer's contacts, orders, subscriptions and invoices as
the portal parses them, which optional reads Nue serves, the status filter that lists activated
orders, and which arithmetic the tenant's order totals follow. The findings that need draft
orders are orders.tenant_probes', passed to `run_checks` only when asked for. `store` writes the
settled answers to the tenant's capability record (orders.capabilities).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TypeVar

from django.utils import timezone

from orders.listing import ORDER_INCLUDES
from orders.models import TenantCapabilities
from orders.nue import (
    ACTIVATED_FILTERS,
    CUSTOMER_ID,
    INVOICE_ID,
    ORDER_ID,
    Customer,
    Envelope,
    Invoice,
    NueAuthError,
    NueError,
    NueNotFound,
    NueProtocolError,
    NueValidationError,
    Order,
    PriceTag,
    Product,
    Subscription,
    Tenant,
)
from orders.nue.requests import _check_id
from orders.scope import CustomerNue, _parse_relationships
from portal.models import CustomerAccount

T = TypeVar("T")

# Header figures that differ by no more than this are taken as equal: Nue rounds each line.
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Finding:
    """One row of nue_check's table.

    `field` names the TenantCapabilities field the finding settles and `value` what is stored
    there (None: nothing settled, the record keeps what it had). `failed`: a read the portal
    relies on failed, and nue_check exits non-zero.
    """

    name: str
    result: str
    evidence: str
    field: str = ""
    value: object = None
    failed: bool = False


@dataclass
class Run:
    """What one run has read so far, and the drafts it created."""

    tenant: Tenant
    today: date
    catalog: list[Product] | None = None
    customer: Customer | None = None
    scope: CustomerNue | None = None
    customer_catalog: list[Product] | None = None
    orders: list[Order] | None = None
    subscriptions: list[Subscription] | None = None
    invoices: list[Invoice] | None = None
    drafts: list[Order] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Report:
    findings: tuple[Finding, ...]
    drafts: tuple[Order, ...]

    @property
    def failed(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.failed)

    @property
    def key_accepted(self) -> bool:
        return bool(self.findings) and not self.findings[0].failed


# The findings orders.tenant_probes settles with draft orders.
COTERM = "Co-term field"
UPGRADE_TARGET = "Upgrade/Downgrade/Swap target field"
RECONFIGURE = "Reconfigure quantity"
PROBED = (COTERM, UPGRADE_TARGET, RECONFIGURE)

Check = Callable[[Run], Finding]


def run_checks(
    customer: str | None,
    *,
    probes: Sequence[Check] = (),
    tenant: Tenant | None = None,
    today: date | None = None,
) -> Report:
    """Every finding, in the order of the table. `customer`: a Nue customer's id or name;
    `probes`: the checks that create drafts (orders.tenant_probes.PROBES), none by default."""
    run = Run(tenant or Tenant(), today or timezone.localdate())
    findings = [check_key(run)]
    if not findings[0].failed:
        findings += [check_catalog(run), endpoint_price_tags(run)]
        if customer is None:
            findings.append(
                Finding(
                    "Customer",
                    "not checked",
                    "give --customer <name or id> to check a customer's reads, the status "
                    "filter, the totals' arithmetic and (with --with-drafts) the requests",
                )
            )
        else:
            findings.append(check_customer(run, customer))
            if run.customer is not None:
                findings += _customer_findings(run, probes)
    return Report(tuple(findings), tuple(run.drafts))


def _customer_findings(run: Run, probes: Sequence[Check]) -> list[Finding]:
    findings = [
        check_contacts(run),
        check_customer_catalog(run),
        check_orders(run),
        check_subscriptions(run),
        check_invoices(run),
        endpoint_order_by_id(run),
        endpoint_invoice_by_id(run),
        endpoint_product_relationships(run),
    ]
    if probes:
        findings += [probe(run) for probe in probes]
    else:
        findings += [
            Finding(name, "not checked", "creates a draft order: run again with --with-drafts")
            for name in PROBED
        ]
    # After the probes: their drafts give the status filter orders that are not Activated.
    findings += [check_status_filter(run), check_system_discount(run), check_subtotal(run)]
    return findings


def check_key(run: Run) -> Finding:
    name = "API key"
    try:
        count = run.tenant.customer_count()
    except NueAuthError as error:
        return Finding(name, "refused", f"{describe(error)}; check NUE_API_KEY", failed=True)
    except NueError as error:
        return Finding(name, "not checked", describe(error), failed=True)
    shown = "the tenant's customer count" if count is None else f"{count} customers"
    return Finding(name, "accepted", f"GET /customers answered ({shown})")


def check_catalog(run: Run) -> Finding:
    def read() -> str:
        run.catalog = run.tenant.catalog()
        entries = sum(len(p.price_book_entries) for p in run.catalog)
        return f"GET /catalog/products: {len(run.catalog)} products, {entries} price book entries"

    return _required("Catalog", read)


def check_customer(run: Run, wanted: str) -> Finding:
    name = "Customer"
    try:
        found = _find_customers(run.tenant, wanted)
    except NueError as error:
        return Finding(name, "failed", describe(error), failed=True)
    if not found:
        return Finding(
            name, "not found", f"no customer with the id or name {wanted!r}", failed=True
        )
    if len(found) > 1:
        ids = ", ".join(c.id for c in found)
        return Finding(
            name,
            "ambiguous",
            f"{len(found)} customers are named so: {ids}; give the id",
            failed=True,
        )
    customer = found[0]
    run.customer = customer
    account = CustomerAccount.objects.filter(nue_customer_id=customer.id).first()
    # A customer the portal has no account for yet is read all the same: the scope only reads.
    run.scope = CustomerNue(
        account or CustomerAccount(nue_customer_id=customer.id, name=customer.name)
    )
    portal = "a portal account" if account else "no portal account yet"
    return Finding(name, customer.name, f"Nue id {customer.id}; {portal}")


def _find_customers(tenant: Tenant, wanted: str) -> list[Customer]:
    wanted = wanted.strip()
    if CUSTOMER_ID.fullmatch(wanted):
        # A name may look like an id (15 or 18 letters and digits): Nue may refuse it as one.
        with suppress(NueNotFound, NueValidationError):
            found = tenant.customers([wanted])
            if found:
                return found
    account = CustomerAccount.objects.filter(name__iexact=wanted).first()
    if account is not None:
        found = tenant.customers([account.nue_customer_id])
        if found:
            return found
    return tenant.customers_named(wanted)


def check_contacts(run: Run) -> Finding:
    customer = _customer(run)

    def read() -> str:
        contacts = run.tenant.contacts_of(customer.id)
        return f"GET /customers/{{id}}/contacts: {len(contacts)} contacts"

    return _required("Contacts", read)


def check_customer_catalog(run: Run) -> Finding:
    scope = _scope(run)

    def read() -> str:
        run.customer_catalog = scope.catalog()
        return f"GET /customers/{{id}}/products: {len(run.customer_catalog)} products it may buy"

    return _required("Customer's catalog", read)


def check_orders(run: Run) -> Finding:
    scope = _scope(run)

    def read() -> str:
        run.orders = scope.orders(includes=sorted(ORDER_INCLUDES), fresh=True)
        statuses = _counts(o.status for o in run.orders)
        includes = ",".join(sorted(ORDER_INCLUDES))
        return f"GET /orders?includes={includes}: {len(run.orders)} orders ({statuses})"

    return _required("Orders", read)


def check_subscriptions(run: Run) -> Finding:
    scope = _scope(run)

    def read() -> str:
        run.subscriptions = scope.subscriptions()
        statuses = _counts(s.status for s in run.subscriptions)
        return f"GET /subscriptions: {len(run.subscriptions)} subscription versions ({statuses})"

    return _required("Subscriptions", read)


def check_invoices(run: Run) -> Finding:
    scope = _scope(run)

    def read() -> str:
        page = scope.invoices(limit=100)
        run.invoices = list(page.items)
        return f"GET /customers/{{id}}/invoices: {page.total} invoices, {len(page.items)} read"

    return _required("Invoices", read)


def _required(name: str, read: Callable[[], str]) -> Finding:
    try:
        evidence = read()
    except NueError as error:
        return Finding(name, "failed", describe(error), failed=True)
    return Finding(name, "parsed", evidence)


def endpoint_order_by_id(run: Run) -> Finding:
    # Not documented (nue-api.md §2.1): recorded for the operator; the portal never reads one
    # order by id, it picks it out of the customer's list (§5.5).
    key = "GET /orders/{id}"
    order = next(iter(run.orders or ()), None)
    if order is None:
        return _no_sample(key, "no order of the customer to read by id")
    path = f"/orders/{_check_id(order.id, ORDER_ID)}"
    return _endpoint(run, key, path, {}, lambda e: Order.parse(e.data))


def endpoint_price_tags(run: Run) -> Finding:
    return _endpoint(
        run,
        "GET /catalog/price-tags",
        "/catalog/price-tags",
        {},
        lambda e: [PriceTag.parse(t) for t in _as_list(e)],
    )


def endpoint_invoice_by_id(run: Run) -> Finding:
    key = "GET /customers/{id}/invoices/{id}"
    invoice = next(iter(run.invoices or ()), None)
    if invoice is None or invoice.id is None:
        return _no_sample(key, "no invoice of the customer to read by id")
    customer = _customer(run)
    path = (
        f"/customers/{_check_id(customer.id, CUSTOMER_ID)}"
        f"/invoices/{_check_id(invoice.id, INVOICE_ID)}"
    )
    return _endpoint(run, key, path, {}, lambda e: Invoice.parse_issued(e.data))


def endpoint_product_relationships(run: Run) -> Finding:
    key = "GET /subscriptions/product-relationships"
    customer = _customer(run)
    names = sorted({s.name for s in top_level(run)})[:20]
    if not names:
        return _no_sample(key, "no active subscription of the customer to ask about")
    return _endpoint(
        run,
        key,
        "/subscriptions/product-relationships",
        {"subscriptionNames": _json_list(names)},
        lambda e: _parse_relationships(_as_list(e), customer.id),
    )


def _endpoint(
    run: Run,
    key: str,
    path: str,
    params: dict[str, str | int],
    parse: Callable[[Envelope], object],
) -> Finding:
    try:
        parsed = run.tenant.optional_read(path, params, parse)
    except NueError as error:
        # Served, but not as the portal reads it: the pages that use it would fail.
        return Finding(key, "failed", describe(error), failed=True)
    if parsed is None:
        return Finding(
            key, "not served", "Nue has no such path", "optional_endpoints", {key: False}
        )
    return Finding(key, "served", "answered and parsed", "optional_endpoints", {key: True})


def _no_sample(key: str, why: str) -> Finding:
    return Finding(key, "not checked", why)


STATUS_FILTER = "Status filter for activated orders"
SYSTEM_DISCOUNT = "System discount"
SUBTOTAL = "Subtotal"


def check_status_filter(run: Run) -> Finding:
    """Each spelling the guides use, asked of Nue: the one that lists exactly the customer's
    Activated orders (and not its others) is the one the portal sends."""
    customer = _customer(run)
    try:
        every = run.tenant.orders(customer.id)
    except NueError as error:
        return Finding(STATUS_FILTER, "could not tell", describe(error))
    activated = {o.id for o in every if o.status == "Activated"}
    others = len(every) - len(activated)
    if not activated:
        return Finding(STATUS_FILTER, "could not tell", "the customer has no activated order")
    tried: list[str] = []
    honoured: list[str] = []
    for spelling in ACTIVATED_FILTERS:
        try:
            listed = {o.id for o in run.tenant.orders(customer.id, status=spelling)}
        except NueValidationError as error:
            tried.append(f"status={spelling}: refused ({error.message})")
            continue
        except NueError as error:
            tried.append(f"status={spelling}: {describe(error)}")
            continue
        if listed == activated and others:
            honoured.append(spelling)
            tried.append(f"status={spelling}: the {len(activated)} activated of {len(every)}")
        elif listed == activated:
            tried.append(f"status={spelling}: all {len(every)}, every one activated")
        else:
            tried.append(
                f"status={spelling}: {len(listed)} orders, not the {len(activated)} activated"
            )
    evidence = "; ".join(tried)
    if honoured:
        value = honoured[0]
        return Finding(STATUS_FILTER, value, evidence, "activated_status_filter", value)
    if not others:
        evidence += " (an order in another status would tell an ignored filter apart)"
    return Finding(STATUS_FILTER, "could not tell", evidence)


def check_system_discount(run: Run) -> Finding:
    """Whether the price-tag discount (systemDiscountAmount) is part of discountAmount or on top
    of it: which of list - discount and list - discount - system discount the order's figure
    after discount (netTotal, or subtotal) is."""
    if run.orders is None:
        return Finding(SYSTEM_DISCOUNT, "not checked", "the orders did not parse")
    votes: dict[str, list[Order]] = {"included": [], "added": []}
    for order in run.orders:
        system, discount = order.system_discount_amount, order.discount_amount
        if system <= 0 or discount <= 0:
            continue
        after = [x for x in (order.net_total, order.subtotal) if x is not None]
        if any(_equal(x, order.list_total - discount) for x in after):
            votes["included"].append(order)
        elif any(_equal(x, order.list_total - discount - system) for x in after):
            votes["added"].append(order)
    return _decide(
        SYSTEM_DISCOUNT,
        votes,
        "system_discount",
        {"included": "part of discountAmount", "added": "added to discountAmount"},
        "no order of the customer has both a discount and a price-tag discount",
        _discount_example,
    )


def _discount_example(order: Order) -> str:
    subtotal = "none" if order.subtotal is None else _money(order.subtotal)
    return (
        f"{order.order_number}: list {_money(order.list_total)}, discount "
        f"{_money(order.discount_amount)}, system discount {_money(order.system_discount_amount)}, "
        f"netTotal {_money(order.net_total)}, subtotal {subtotal}"
    )


def check_subtotal(run: Run) -> Finding:
    """Whether `subtotal` is before the discount (= listTotal, as in Nue's order data reference
    sample) or after it."""
    if run.orders is None:
        return Finding(SUBTOTAL, "not checked", "the orders did not parse")
    votes: dict[str, list[Order]] = {"after_discount": [], "before_discount": []}
    for order in run.orders:
        subtotal, discount = order.subtotal, order.discount_amount
        if subtotal is None or discount <= 0:
            continue
        after = (
            order.list_total - discount,
            order.list_total - discount - order.system_discount_amount,
        )
        if _equal(subtotal, order.list_total):
            votes["before_discount"].append(order)
        elif any(_equal(subtotal, x) for x in after):
            votes["after_discount"].append(order)
    return _decide(
        SUBTOTAL,
        votes,
        "subtotal",
        {"after_discount": "after discount", "before_discount": "before discount"},
        "no order of the customer has a discount and a subtotal",
        _discount_example,
    )


def _decide(
    name: str,
    votes: dict[str, list[Order]],
    field_name: str,
    results: dict[str, str],
    none_why: str,
    example: Callable[[Order], str],
) -> Finding:
    cast = {k: v for k, v in votes.items() if v}
    if not cast:
        return Finding(name, "could not tell", none_why)
    counts = ", ".join(f"{results[k]}: {len(v)} orders" for k, v in cast.items())
    if len(cast) > 1:
        firsts = "; ".join(example(v[0]) for v in cast.values())
        return Finding(name, "inconsistent", f"{counts}; {firsts}")
    ((answer, orders),) = cast.items()
    return Finding(
        name, results[answer], f"{counts}; e.g. {example(orders[0])}", field_name, answer
    )


def store(report: Report, api_url: str, *, with_drafts: bool) -> TenantCapabilities:
    """The settled answers into the tenant's capability record; unsettled ones keep theirs."""
    now = timezone.now()
    record = TenantCapabilities.objects.filter(api_url=api_url).first()
    if record is None:
        record = TenantCapabilities(api_url=api_url, checked_at=now)
    for finding in report.findings:
        if finding.value is None or not finding.field:
            continue
        if finding.field == "optional_endpoints":
            assert isinstance(finding.value, dict)
            record.optional_endpoints = {**record.optional_endpoints, **finding.value}
        else:
            setattr(record, finding.field, finding.value)
    record.findings = [
        {"finding": f.name, "result": f.result, "evidence": f.evidence} for f in report.findings
    ] + [
        {"finding": "Draft created", "result": d.order_number, "evidence": f"order id {d.id}"}
        for d in report.drafts
    ]
    record.checked_at = now
    if with_drafts:
        record.drafts_checked_at = now
    record.save()
    return record


def _customer(run: Run) -> Customer:
    assert run.customer is not None
    return run.customer


def _scope(run: Run) -> CustomerNue:
    assert run.scope is not None
    return run.scope


def live(sub: Subscription, today: date) -> bool:
    return (
        sub.status == "Active"
        and sub.start_date is not None
        and sub.end_date is not None
        and sub.start_date <= today <= sub.end_date
    )


def current_versions(run: Run) -> list[Subscription]:
    """The customer's subscriptions, the current (highest) version of each, by name."""
    current: dict[str, Subscription] = {}
    for sub in run.subscriptions or ():
        if sub.name not in current or sub.version > current[sub.name].version:
            current[sub.name] = sub
    return sorted(current.values(), key=lambda s: s.name)


def top_level(run: Run) -> list[Subscription]:
    """The customer's live subscriptions that are not add-ons, current versions only."""
    return [s for s in current_versions(run) if live(s, run.today) and not s.is_add_on]


def _as_list(envelope: Envelope) -> list[object]:
    if not isinstance(envelope.data, list):
        raise NueProtocolError("Nue sent a list that is not a list.")
    return envelope.data


def _json_list(values: Sequence[str]) -> str:
    # nue-api.md §1.3: list parameters are JSON arrays.
    return json.dumps(list(values), separators=(",", ":"))


def _counts(values: Iterable[str]) -> str:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "none"


def _equal(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= CENT


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def describe(error: NueError) -> str:
    status = f"HTTP {error.status}, " if error.status else ""
    return f"{error.message} ({status}request {error.reference})"
