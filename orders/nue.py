"""The one gateway to Nue: HTTP client, typed models, error taxonomy and the per-customer scope.

Nothing else in the portal imports httpx. Views get `request.nue` (a `CustomerNue` bound to the
acting customer, built by orders.middleware) and call domain verbs that return typed, immutable
results; they never see a dict, an `httpx.Response` or a customer id. Account mapping (server side
only) uses `tenant()`. Tests swap the process-wide client with `install_client()`.

What Nue returns becomes typed NamedTuples: immutable, slot-free, and built in one C call. Frozen
dataclasses spent a third of a 100-order parse in their per-field object.__setattr__
(bench/nue_gateway.py); what the portal sends and the write results stay frozen dataclasses.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar, copy_context
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, Protocol, TypeVar, cast

import httpx
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from orders.models import Operation
    from portal.models import CustomerAccount, User

logger = logging.getLogger("orders.nue")
security_logger = logging.getLogger("orders.nue.security")
# httpx logs every request's full URL at INFO, query string included (contact emails, customer
# ids); this module logs its own calls without them.
logging.getLogger("httpx").setLevel(logging.WARNING)

# connect/pool short so a dead Nue fails fast; read long enough for pricing a large draft.
DEFAULT_TIMEOUT = httpx.Timeout(connect=3.0, read=15.0, write=10.0, pool=3.0)
# A GET is sent at most 1 + MAX_GET_RETRIES times, and never again after a read timeout, so one
# call waits at most about one read timeout; a POST that may have reached Nue is never sent twice.
MAX_GET_RETRIES = 2
RETRY_BACKOFF_BASE = 0.2
# Retry-After is honoured up to this many seconds; a longer wait is not worth holding a worker.
MAX_RETRY_AFTER = 3.0
# Refuse rather than buffer anything larger: the biggest legitimate answer seen is 21 MB (10,000
# orders with lines, assets and invoices, bench/RESULTS.md).
MAX_BODY_BYTES = 64 * 1024 * 1024
# Catalog, price tags and product relationships change rarely (publishing is explicit in Nue).
CATALOG_CACHE_TTL = 300
# List answers at least this large are parsed again only when their bytes change
# (ParsedAnswers), which keeps at most PARSED_ANSWERS_BUDGET bytes of answers per process, each
# with its parse. A parse takes 1.5 to 2.5 times its answer's size in memory (10,000 orders: an
# 11.4 MB answer, 16 MB parsed), so the memo holds up to about 3.5 times its budget.
PARSED_ANSWER_MIN_BYTES = 16 * 1024
PARSED_ANSWERS_BUDGET = 32 * 1024 * 1024
USER_AGENT = "nue-customer-portal/0.1 (+httpx)"

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


# --- Errors --------------------------------------------------------------------------------------


class NueError(Exception):
    """Base of every failure the gateway raises; `reference` is the request id shown to users."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        reference: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code
        self.reference = reference or uuid.uuid4().hex[:12]
        # Set by the operation ledger when Nue may have done the work although this was raised.
        self.outcome_unknown = False


class NueNotFound(NueError):
    """Unknown id, malformed id, or an object of another customer: all look the same to a user."""


class NueValidationError(NueError):
    """Nue rejected the input; `field_errors` is keyed by the verb's own argument paths."""

    def __init__(
        self,
        message: str,
        *,
        field_errors: Mapping[str, Sequence[str]] | None = None,
        status: int | None = 400,
        error_code: str | None = None,
        reference: str | None = None,
    ) -> None:
        super().__init__(message, status=status, error_code=error_code, reference=reference)
        self.field_errors: dict[str, tuple[str, ...]] = {
            k: tuple(v) for k, v in (field_errors or {}).items()
        }


class NueConflict(NueError):
    """The object is in the wrong state for the action (e.g. activating a non-draft order)."""


class NueAuthError(NueError):
    """The tenant API key is missing, wrong or lacks the Self Service API permission."""


class NueRateLimited(NueError):
    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class NueUnavailable(NueError):
    """Connection failure, timeout or 5xx. `timed_out` distinguishes a 504 from a 502/503."""

    def __init__(self, message: str, *, timed_out: bool = False, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.timed_out = timed_out

    @property
    def never_sent(self) -> bool:
        """The connection failed before the request left: Nue cannot have acted on it."""
        return isinstance(self.__cause__, httpx.ConnectError | httpx.ConnectTimeout)


class NueProtocolError(NueError):
    """Nue answered something this module cannot trust: bad JSON, wrong schema, HTML, huge body."""


class OperationInProgress(NueError):
    """Another submit of the same activation or change is still open in the operation ledger."""


# --- Casing quirks and field readers (the one place that knows Nue's spelling variants) ----------

ORDER_STATUSES = {"draft": "Draft", "activated": "Activated", "canceled": "Canceled"}
ORDER_STATUS_FILTERS = {
    "draft": "draft",
    "active": "active",
    "activated": "active",
    "canceled": "canceled",
}
OPTION_TYPES = {
    "bundled": "bundled",
    "required": "required",
    "optional": "optional",
    "recommended": "optional",
}


def _canon(value: str, table: Mapping[str, str]) -> str:
    """Canonical spelling of an enum value; unknown values pass through unchanged."""
    return table.get(value.lower(), value)


def _fail(kind: str, key: str, problem: str) -> NueProtocolError:
    return NueProtocolError(f"Nue sent a {kind} whose {key!r} {problem}.")


def _obj(value: object, kind: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise NueProtocolError(f"Nue sent a {kind} that is not an object.")
    return value


def _objs(d: Mapping[str, Any], key: str, kind: str) -> list[Mapping[str, Any]]:
    value = d.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _fail(kind, key, "is not a list of objects")
    return value


# These readers run for every field of every object (a 100-order list is ~3,000 calls), so each
# tries the common case first with an exact type check and leaves the slow path to a helper.

_ZERO = Decimal(0)


def _str(d: Mapping[str, Any], key: str, kind: str) -> str:
    value = d.get(key)
    if type(value) is str and value:
        return value
    raise _fail(kind, key, "is missing or not a string")


def _ostr(d: Mapping[str, Any], key: str, kind: str) -> str | None:
    value = d.get(key)
    if value is None or type(value) is str:
        return value or None
    raise _fail(kind, key, "is not a string")


def _dec(d: Mapping[str, Any], key: str, kind: str) -> Decimal:
    value = d.get(key)
    if type(value) is Decimal:
        return value
    if value is None:
        raise _fail(kind, key, "is missing")
    return _to_dec(value, kind, key)


def _odec(d: Mapping[str, Any], key: str, kind: str) -> Decimal | None:
    value = d.get(key)
    if value is None or type(value) is Decimal:
        return value
    return _to_dec(value, kind, key)


def _money(d: Mapping[str, Any], key: str, kind: str) -> Decimal:
    """An amount Nue may omit when zero (e.g. taxAmount without calculateTax)."""
    value = d.get(key)
    if type(value) is Decimal:
        return value
    return _ZERO if value is None else _to_dec(value, kind, key)


def _to_dec(value: object, kind: str, key: str) -> Decimal:
    # Bodies are parsed with parse_float=Decimal: no floats; ints and numeric strings do occur.
    if isinstance(value, Decimal):
        if value.is_finite():
            return value
    elif isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise _fail(kind, key, "is not a number") from None
        if result.is_finite():
            return result
    raise _fail(kind, key, "is not a number")


def _int(d: Mapping[str, Any], key: str, kind: str, default: int | None = None) -> int:
    value = d.get(key)
    if type(value) is int:
        return value
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _fail(kind, key, "is missing or not an integer")
    if isinstance(value, Decimal) and value != value.to_integral_value():
        raise _fail(kind, key, "is not an integer")
    return int(value)


def _oint(d: Mapping[str, Any], key: str, kind: str) -> int | None:
    return None if d.get(key) is None else _int(d, key, kind)


def _bool(d: Mapping[str, Any], key: str, kind: str, default: bool = False) -> bool:
    value = d.get(key)
    if value is None:
        return default
    if type(value) is not bool:
        raise _fail(kind, key, "is not a boolean")
    return value


# Lists repeat the same few dates (billing days, period starts); parsing each string once is
# most of a list's date cost. Bounded: cleared when full.
_DATE_CACHE_SIZE = 4096
_date_cache: dict[str, date] = {}


def _to_date(value: object, kind: str, key: str) -> date:
    # Nue sends dates as YYYY-MM-DD and timestamps as ISO-8601 with Z; a date field may be either.
    if type(value) is str:
        hit = _date_cache.get(value)
        if hit is not None:
            return hit
        if len(value) >= 10:
            try:
                parsed = date.fromisoformat(value[:10])
            except ValueError:
                pass
            else:
                if len(_date_cache) >= _DATE_CACHE_SIZE:
                    _date_cache.clear()
                _date_cache[value] = parsed
                return parsed
    raise _fail(kind, key, "is not an ISO date")


def _day(d: Mapping[str, Any], key: str, kind: str) -> date | None:
    value = d.get(key)
    if value is None or value == "":
        return None
    return _to_date(value, kind, key)


def _odate(d: Mapping[str, Any], *keys: str, kind: str) -> date | None:
    """The first present of several spellings (e.g. subscriptionStartDate / startDate)."""
    for key in keys:
        value = d.get(key)
        if value is not None and value != "":
            return _to_date(value, kind, key)
    return None


def _olink(value: str | None) -> str | None:
    """A URL Nue gives for the browser to open, or None unless it is http(s): a page renders it
    as a link, where `javascript:` or `data:` would run in the portal's origin."""
    if value is None or not value.startswith(("https://", "http://")):
        return None
    return value


def _ostr_any(d: Mapping[str, Any], *keys: str, kind: str) -> str | None:
    for key in keys:
        value = _ostr(d, key, kind)
        if value is not None:
            return value
    return None


# --- Models --------------------------------------------------------------------------------------


class Contact(NamedTuple):
    id: str
    customer_id: str
    email: str
    first_name: str
    last_name: str
    name: str

    @classmethod
    def parse(cls, raw: object) -> Contact:
        d = _obj(raw, "contact")
        first = _ostr(d, "firstName", "contact") or ""
        last = _ostr(d, "lastName", "contact") or ""
        return cls(
            id=_str(d, "id", "contact"),
            customer_id=_str(d, "customerId", "contact"),
            email=_str(d, "email", "contact"),
            first_name=first,
            last_name=last,
            name=_ostr(d, "name", "contact") or f"{first} {last}".strip(),
        )


SHIPPING_KEYS = ("shippingStreet", "shippingCity", "shippingPostalCode", "shippingCountry")


def _has_shipping(d: Mapping[str, Any]) -> bool:
    nested = d.get("shippingAddress")
    if isinstance(nested, dict) and any(nested.values()):
        return True
    return any(d.get(k) for k in SHIPPING_KEYS)


class Customer(NamedTuple):
    id: str
    name: str
    record_type: str | None
    account_number: str | None
    email: str | None
    has_shipping_address: bool
    external_id: str | None
    contacts: tuple[Contact, ...] = ()

    @classmethod
    def parse(cls, raw: object) -> Customer:
        d = _obj(raw, "customer")
        return cls(
            id=_str(d, "id", "customer"),
            name=_str(d, "name", "customer"),
            record_type=_ostr(d, "recordType", "customer"),
            account_number=_ostr(d, "accountNumber", "customer"),
            email=_ostr(d, "email", "customer"),
            has_shipping_address=_has_shipping(d),
            external_id=_ostr(d, "externalId", "customer"),
            contacts=tuple(Contact.parse(c) for c in _objs(d, "contacts", "customer")),
        )


T = TypeVar("T")
U = TypeVar("U")
_L = TypeVar("_L")


def _tree(
    raw_lines: list[Mapping[str, Any]], parse: Callable[..., _L], kind: str
) -> tuple[_L, ...]:
    """Nue lists bundle lines depth-first with `parentId`; rebuild the tree (roots in order)."""
    if not raw_lines:
        return ()
    if not any(r.get("parentId") for r in raw_lines):
        return tuple(parse(r, ()) for r in raw_lines)
    ids = {_str(r, "id", kind) for r in raw_lines}
    children: dict[str | None, list[Mapping[str, Any]]] = {}
    for r in raw_lines:
        parent = r.get("parentId")
        children.setdefault(parent if parent in ids else None, []).append(r)
    built = 0

    def make(r: Mapping[str, Any], depth: int) -> _L:
        nonlocal built
        if depth > MAX_BUNDLE_DEPTH:
            raise NueProtocolError(f"Nue sent {kind}s nested deeper than a bundle can be.")
        built += 1
        kids = tuple(make(c, depth + 1) for c in children.get(r["id"], ()))
        return parse(r, kids)

    roots = tuple(make(r, 0) for r in children.get(None, ()))
    if built != len(raw_lines):
        raise NueProtocolError(f"Nue sent {kind}s whose parentIds form a cycle.")
    return roots


# Nue nests add-ons at most three levels (new-orders guide); a little headroom for the tree check.
MAX_BUNDLE_DEPTH = 8


class OrderLine(NamedTuple):
    id: str
    product_name: str
    quantity: Decimal
    total_price: Decimal
    product_id: str | None
    product_sku: str | None
    price_book_entry_id: str | None
    product_option_id: str | None
    parent_id: str | None
    list_price: Decimal | None
    sales_price: Decimal | None
    start_date: date | None
    end_date: date | None
    term: Decimal | None
    price_model: str | None
    subscription_name: str | None
    change_type: str | None
    children: tuple[OrderLine, ...] = ()

    @classmethod
    def parse(cls, d: Mapping[str, Any], children: tuple[OrderLine, ...] = ()) -> OrderLine:
        k = "order line"
        return cls(
            id=_str(d, "id", k),
            product_name=_ostr_any(d, "productName", "name", kind=k) or "",
            quantity=_dec(d, "quantity", k),
            total_price=_money(d, "totalPrice", k),
            product_id=_ostr(d, "productId", k),
            product_sku=_ostr(d, "productSku", k),
            price_book_entry_id=_ostr(d, "priceBookEntryId", k),
            product_option_id=_ostr(d, "productOptionId", k),
            parent_id=_ostr(d, "parentId", k),
            list_price=_odec(d, "listPrice", k),
            sales_price=_odec(d, "salesPrice", k),
            start_date=_odate(d, "subscriptionStartDate", "startDate", kind=k),
            end_date=_odate(d, "subscriptionEndDate", "endDate", kind=k),
            term=_odec(d, "subscriptionTerm", k),
            price_model=_ostr(d, "priceModel", k),
            subscription_name=_ostr_any(d, "subscriptionName", "assetNumber", kind=k),
            change_type=_ostr(d, "changeType", k),
            children=children,
        )

    def walk(self) -> Iterable[OrderLine]:
        yield self
        for child in self.children:
            yield from child.walk()


class Asset(NamedTuple):
    id: str
    customer_id: str
    name: str
    asset_number: str | None
    status: str | None
    quantity: Decimal | None
    product_id: str | None
    product_name: str | None
    start_date: date | None
    end_date: date | None

    @classmethod
    def parse(cls, raw: object) -> Asset:
        d = _obj(raw, "asset")
        k = "asset"
        return cls(
            id=_str(d, "id", k),
            customer_id=_str(d, "customerId", k),
            name=_ostr_any(d, "name", "productName", "assetNumber", kind=k) or "",
            asset_number=_ostr(d, "assetNumber", k),
            status=_ostr(d, "status", k),
            quantity=_odec(d, "quantity", k),
            product_id=_ostr(d, "productId", k),
            product_name=_ostr(d, "productName", k),
            start_date=_odate(
                d, "startDate", "subscriptionStartDate", "lifecycleStartDate", kind=k
            ),
            end_date=_odate(d, "endDate", "subscriptionEndDate", "lifecycleEndDate", kind=k),
        )


class InvoiceDetail(NamedTuple):
    """One billing-period slice of an invoice item (emulator convention, nue-api.md §3.6)."""

    start_date: date | None
    end_date: date | None
    amount: Decimal
    prorated: bool

    @classmethod
    def parse(cls, raw: object) -> InvoiceDetail:
        d = _obj(raw, "invoice detail")
        k = "invoice detail"
        return cls(
            start_date=_day(d, "startDate", k),
            end_date=_day(d, "endDate", k),
            amount=_dec(d, "amount", k),
            prorated=_bool(d, "prorated", k),
        )


class InvoiceItem(NamedTuple):
    product_name: str
    amount: Decimal
    tax_amount: Decimal
    quantity: Decimal | None
    unit_price: Decimal | None
    product_id: str | None
    order_product_id: str | None
    start_date: date | None
    end_date: date | None
    details: tuple[InvoiceDetail, ...]

    @classmethod
    def parse(cls, raw: object) -> InvoiceItem:
        d = _obj(raw, "invoice item")
        k = "invoice item"
        return cls(
            product_name=_ostr_any(d, "productName", "name", kind=k) or "",
            amount=_dec(d, "amount", k),
            tax_amount=_money(d, "taxAmount", k),
            quantity=_odec(d, "quantity", k),
            unit_price=_odec(d, "unitPrice", k),
            product_id=_ostr(d, "productId", k),
            order_product_id=_ostr(d, "orderProductId", k),
            start_date=_day(d, "startDate", k),
            end_date=_day(d, "endDate", k),
            details=tuple(InvoiceDetail.parse(x) for x in _objs(d, "details", k)),
        )


class Invoice(NamedTuple):
    """An issued invoice, or (id/status None) a preview invoice from a draft or invoice preview."""

    id: str | None
    name: str | None
    customer_id: str | None
    status: str | None
    payment_status: str | None
    invoice_date: date | None
    due_date: date | None
    start_date: date | None
    end_date: date | None
    amount: Decimal
    amount_without_tax: Decimal | None
    tax_amount: Decimal
    balance: Decimal | None
    invoice_pdf: str | None
    payment_url: str | None
    items: tuple[InvoiceItem, ...]

    @classmethod
    def parse(cls, raw: object) -> Invoice:
        d = _obj(raw, "invoice")
        k = "invoice"
        return cls(
            id=_ostr(d, "id", k),
            name=_ostr_any(d, "name", "invoiceNumber", kind=k),
            customer_id=_ostr(d, "customerId", k),
            status=_ostr(d, "status", k),
            payment_status=_ostr(d, "paymentStatus", k),
            invoice_date=_day(d, "invoiceDate", k),
            due_date=_day(d, "dueDate", k),
            start_date=_day(d, "startDate", k),
            end_date=_day(d, "endDate", k),
            amount=_dec(d, "amount", k),
            amount_without_tax=_odec(d, "amountWithoutTax", k),
            tax_amount=_money(d, "taxAmount", k),
            balance=_odec(d, "balance", k),
            invoice_pdf=_olink(_ostr(d, "invoicePdf", k)),
            payment_url=_olink(_ostr_any(d, "paymentHostedUrl", "paymentUrl", kind=k)),
            items=tuple(InvoiceItem.parse(x) for x in _objs(d, "items", k)),
        )

    @classmethod
    def parse_issued(cls, raw: object) -> Invoice:
        invoice = cls.parse(raw)
        if invoice.id is None or invoice.customer_id is None:
            raise NueProtocolError("Nue sent an invoice without id or customerId.")
        return invoice


class InvoicePreview(NamedTuple):
    invoices: tuple[Invoice, ...]
    warnings: tuple[str, ...] = ()

    @property
    def total(self) -> Decimal:
        return sum((i.amount for i in self.invoices), Decimal(0))


def _preview_invoices(d: Mapping[str, Any], kind: str) -> tuple[Invoice, ...]:
    # The create-draft guide reads data.invoices, the getting-started guide data.previewInvoices.
    raw = d.get("previewInvoices")
    key = "previewInvoices" if raw is not None else "invoices"
    return tuple(Invoice.parse(x) for x in _objs(d, key, kind))


class Order(NamedTuple):
    id: str
    order_number: str
    customer_id: str
    status: str
    name: str | None
    customer_name: str | None
    order_type: str | None
    start_date: date | None
    order_placed_date: date | None
    activated_date: date | None
    created_date: date | None
    list_total: Decimal
    discount_amount: Decimal
    system_discount_amount: Decimal
    subtotal: Decimal | None
    tax_amount: Decimal
    net_total: Decimal
    grand_total: Decimal
    order_acv: Decimal | None
    order_tcv: Decimal | None
    po_number: str | None
    po_date: date | None
    lines: tuple[OrderLine, ...]
    invoices: tuple[Invoice, ...]
    assets: tuple[Asset, ...]
    # A change order's per-subscription summary (before/after), where Nue sends one.
    changes: tuple[SubscriptionChange, ...] = ()

    @classmethod
    def parse(cls, raw: object) -> Order:
        d = _obj(raw, "order")
        k = "order"
        status = _canon(_str(d, "status", k), ORDER_STATUSES)
        return cls(
            id=_str(d, "id", k),
            order_number=_str(d, "orderNumber", k),
            customer_id=_str(d, "customerId", k),
            status=status,
            name=_ostr(d, "name", k),
            customer_name=_ostr(d, "customerName", k),
            order_type=_ostr(d, "orderType", k),
            start_date=_odate(d, "orderStartDate", "effectiveDate", kind=k),
            order_placed_date=_day(d, "orderPlacedDate", k),
            activated_date=_day(d, "activatedDate", k),
            created_date=_day(d, "createdDate", k),
            list_total=_money(d, "listTotal", k),
            discount_amount=_money(d, "discountAmount", k),
            system_discount_amount=_money(d, "systemDiscountAmount", k),
            subtotal=_odec(d, "subtotal", k),
            tax_amount=_money(d, "taxAmount", k),
            net_total=_money(d, "netTotal", k),
            grand_total=_money(d, "grandTotal", k),
            order_acv=_odec(d, "orderACV", k),
            order_tcv=_odec(d, "orderTCV", k),
            po_number=_ostr(d, "poNumber", k),
            po_date=_day(d, "poDate", k),
            lines=_tree(_objs(d, "orderProducts", k), OrderLine.parse, "order line"),
            invoices=tuple(Invoice.parse(x) for x in _objs(d, "invoices", k)),
            assets=tuple(Asset.parse(x) for x in _objs(d, "assets", k)),
            changes=tuple(SubscriptionChange.parse(x) for x in _objs(d, "assetChanges", k)),
        )

    @property
    def is_draft(self) -> bool:
        return self.status == "Draft"

    @property
    def total(self) -> Decimal:
        # The guides display `grandTotal || netTotal`.
        return self.grand_total or self.net_total

    @property
    def before_tax(self) -> Decimal:
        # `subtotal` is Nue's figure before tax (nue-api.md §3.1); without it, netTotal is.
        return self.net_total if self.subtotal is None else self.subtotal

    def all_lines(self) -> Iterable[OrderLine]:
        for line in self.lines:
            yield from line.walk()


class Subscription(NamedTuple):
    id: str
    name: str
    version: int
    customer_id: str
    status: str
    quantity: Decimal
    product_id: str | None
    product_name: str | None
    product_sku: str | None
    price_book_entry_id: str | None
    start_date: date | None
    end_date: date | None
    term: Decimal | None
    renewal_term: Decimal | None
    auto_renew: bool
    evergreen: bool
    list_price: Decimal | None
    sales_price: Decimal | None
    total_amount: Decimal | None
    total_acv: Decimal | None
    tcv: Decimal | None
    billing_period: str | None
    next_billing_date: date | None
    parent_id: str | None
    root_id: str | None
    level: int | None
    is_free_trial: bool = False
    free_trial_end_date: date | None = None
    cancellation_date: date | None = None

    @property
    def is_add_on(self) -> bool:
        """Part of a bundle below its top, by the documented hierarchy fields `rootId` and
        `subscriptionLevel` (nue-api.md §3.3)."""
        return (self.root_id is not None and self.root_id != self.id) or (self.level or 1) > 1

    @property
    def cancels_on(self) -> date | None:
        """The last day of a cancellation that has not taken effect yet, else None.

        Derived from documented fields only: Cancel ends the subscription on `cancellationDate`
        (nue-api.md §2.2; the field is named on assets, §3.4, which change orders' `assetNumber`
        says subscriptions are), and until then its `status` is still Active (or Pending) with
        `subscriptionEndDate` on that day.
        """
        if self.cancellation_date is None or self.status not in ("Active", "Pending"):
            return None
        return self.end_date or self.cancellation_date

    @classmethod
    def parse(cls, raw: object) -> Subscription:
        d = _obj(raw, "subscription")
        k = "subscription"
        return cls(
            id=_str(d, "id", k),
            name=_str(d, "name", k),
            version=_int(d, "subscriptionVersion", k, default=1),
            customer_id=_str(d, "customerId", k),
            status=_canon(_ostr(d, "status", k) or "Active", SUBSCRIPTION_STATUSES),
            quantity=_dec(d, "quantity", k),
            product_id=_ostr(d, "productId", k),
            product_name=_ostr(d, "productName", k) or _nested_name(d.get("product")),
            product_sku=_ostr(d, "productSku", k),
            price_book_entry_id=_ostr(d, "priceBookEntryId", k),
            start_date=_odate(d, "subscriptionStartDate", "startDate", kind=k),
            end_date=_odate(d, "subscriptionEndDate", "endDate", kind=k),
            term=_odec(d, "subscriptionTerm", k),
            renewal_term=_odec(d, "renewalTerm", k),
            auto_renew=_bool(d, "autoRenew", k),
            evergreen=_bool(d, "evergreen", k),
            list_price=_odec(d, "listPrice", k),
            sales_price=_odec(d, "salesPrice", k),
            total_amount=_odec(d, "totalAmount", k),
            total_acv=_odec(d, "totalACV", k),
            tcv=_odec(d, "tcv", k),
            billing_period=_ostr(d, "billingPeriod", k),
            next_billing_date=_day(d, "nextBillingDate", k),
            parent_id=_ostr(d, "parentId", k),
            root_id=_ostr(d, "rootId", k),
            level=_oint(d, "subscriptionLevel", k),
            is_free_trial=_bool(d, "isFreeTrial", k),
            free_trial_end_date=_day(d, "freeTrialEndDate", k),
            cancellation_date=_day(d, "cancellationDate", k),
        )


SUBSCRIPTION_STATUSES = {
    "active": "Active",
    "pending": "Pending",
    "canceled": "Canceled",
    "cancelled": "Canceled",
    "expired": "Expired",
}


def _nested_name(value: object) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return str(value["name"])
    return None


class PriceBookEntry(NamedTuple):
    id: str
    list_price: Decimal
    currency: str | None
    uom: str | None
    billing_period: str | None
    price_model: str | None
    price_book_id: str | None

    @classmethod
    def parse(cls, raw: object) -> PriceBookEntry:
        d = _obj(raw, "price book entry")
        k = "price book entry"
        price_key = next((p for p in ("listPrice", "price", "unitPrice") if p in d), "listPrice")
        uom = d.get("uom")
        return cls(
            id=_str(d, "id", k),
            list_price=_dec(d, price_key, k),
            currency=_ostr_any(d, "currencyIsoCode", "currency", kind=k),
            uom=_nested_name(uom) if isinstance(uom, dict) else _ostr(d, "uom", k),
            billing_period=_ostr(d, "billingPeriod", k),
            price_model=_ostr(d, "priceModel", k),
            price_book_id=_ostr(d, "priceBookId", k),
        )


class ProductOption(NamedTuple):
    id: str
    product_id: str | None
    product_name: str
    type: str
    default_quantity: Decimal | None
    min_quantity: Decimal | None
    max_quantity: Decimal | None
    quantity_editable: bool
    price_book_entry_id: str | None
    list_price: Decimal | None
    options: tuple[ProductOption, ...]
    product_sku: str | None = None

    @classmethod
    def parse(cls, raw: object) -> ProductOption:
        d = _obj(raw, "product option")
        k = "product option"
        option_type = _ostr_any(d, "type", "optionType", "productOptionType", kind=k) or "optional"
        return cls(
            id=_ostr(d, "productOptionId", k) or _str(d, "id", k),
            product_id=_ostr(d, "productId", k),
            product_name=_ostr_any(d, "productName", "name", kind=k) or "",
            type=_canon(option_type, OPTION_TYPES),
            default_quantity=_odec(d, "defaultQuantity", k),
            min_quantity=_odec(d, "minQuantity", k),
            max_quantity=_odec(d, "maxQuantity", k),
            quantity_editable=_bool(d, "quantityEditable", k, default=True),
            price_book_entry_id=_ostr(d, "priceBookEntryId", k),
            list_price=_odec(d, "listPrice", k),
            options=tuple(
                ProductOption.parse(x)
                for x in _objs(d, "options" if "options" in d else "productOptions", k)
            ),
            product_sku=_ostr(d, "productSku", k),
        )

    def walk(self) -> Iterable[ProductOption]:
        yield self
        for option in self.options:
            yield from option.walk()


class Product(NamedTuple):
    id: str
    name: str
    sku: str | None
    record_type: str | None
    description: str | None
    configurable: bool
    image_url: str | None
    product_category: str | None
    price_book_entries: tuple[PriceBookEntry, ...]
    options: tuple[ProductOption, ...]

    @classmethod
    def parse(cls, raw: object) -> Product:
        d = _obj(raw, "product")
        k = "product"
        return cls(
            id=_str(d, "id", k),
            name=_str(d, "name", k),
            sku=_ostr(d, "sku", k),
            record_type=_ostr(d, "recordType", k),
            description=_ostr(d, "description", k),
            configurable=_bool(d, "configurable", k),
            image_url=_ostr(d, "imageUrl", k),
            product_category=_ostr(d, "productCategory", k),
            price_book_entries=tuple(
                PriceBookEntry.parse(x) for x in _objs(d, "priceBookEntries", k)
            ),
            options=tuple(
                ProductOption.parse(x)
                for x in _objs(d, "productOptions" if "productOptions" in d else "options", k)
            ),
        )


class PriceTier(NamedTuple):
    tier_number: int
    start_unit: Decimal | None
    end_unit: Decimal | None
    amount: Decimal | None
    discount_percentage: Decimal | None
    charge_model: str | None

    @classmethod
    def parse(cls, raw: object) -> PriceTier:
        d = _obj(raw, "price tier")
        k = "price tier"
        return cls(
            tier_number=_int(d, "tierNumber", k, default=1),
            start_unit=_odec(d, "startUnit", k),
            end_unit=_odec(d, "endUnit", k),
            amount=_odec(d, "amount", k),
            discount_percentage=_odec(d, "discountPercentage", k),
            charge_model=_ostr(d, "chargeModel", k),
        )


class PriceTag(NamedTuple):
    id: str
    code: str
    name: str
    record_type: str | None
    price_tag_type: str | None
    price_type: str | None
    description: str | None
    active: bool
    tiers: tuple[PriceTier, ...]

    @classmethod
    def parse(cls, raw: object) -> PriceTag:
        d = _obj(raw, "price tag")
        k = "price tag"
        code = _str(d, "code", k)
        return cls(
            id=_str(d, "id", k),
            code=code,
            name=_ostr(d, "name", k) or code,
            record_type=_ostr(d, "recordType", k),
            price_tag_type=_ostr(d, "priceTagType", k),
            price_type=_ostr(d, "priceType", k),
            description=_ostr(d, "description", k),
            active=_bool(d, "active", k, default=True),
            tiers=tuple(PriceTier.parse(x) for x in _objs(d, "priceTiers", k)),
        )


class MagicLink(NamedTuple):
    order_id: str
    url: str


class Page(NamedTuple, Generic[T]):
    items: tuple[T, ...]
    page: int
    limit: int
    total: int

    @property
    def has_next(self) -> bool:
        return self.page * self.limit < self.total

    @property
    def has_previous(self) -> bool:
        return self.page > 1


# --- HTTP client ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Envelope:
    """A decoded Nue answer: `data` is still raw JSON, parsed by the calling verb."""

    data: Any
    warnings: tuple[str, ...]
    total: int | None
    request_id: str


def _json_list_param(values: Iterable[str]) -> str:
    # nue-api.md §1.3: list parameters are JSON-encoded arrays, then URL-encoded (httpx does that).
    return json.dumps(list(values), separators=(",", ":"))


def _retry_after(response: httpx.Response) -> float | None:
    header = response.headers.get("Retry-After")
    if not header:
        return None
    try:
        seconds = float(header)
    except ValueError:
        try:
            when = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None
        seconds = (when - datetime.now(when.tzinfo)).total_seconds()
    return float(max(0.0, min(seconds, MAX_RETRY_AFTER)))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _map_field_path(path: str, renames: Mapping[str, str]) -> str:
    """`orderProducts[0].addOns[1].productOptionId` -> `lines[0].add_ons[1].product_option_id`."""
    parts = []
    for part in path.split("."):
        name, bracket, rest = part.partition("[")
        parts.append(renames.get(name, _snake(name)) + (bracket + rest if bracket else ""))
    return ".".join(parts)


class ParsedAnswer(Generic[T]):
    """One answer's parse, and what requests derived from it (the orders a customer may see,
    sorted and filtered as asked), so a parse that serves again serves those again too.

    Derived values are shared between requests: a derivation must return an immutable value,
    and depend only on the parse and on its key.
    """

    DERIVED_LIMIT = 16

    def __init__(self, value: T) -> None:
        self.value = value
        self._derived: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def derive(self, key: Hashable, derivation: Callable[[T], U]) -> U:
        with self._lock:
            if key in self._derived:
                self._derived.move_to_end(key)
                return cast("U", self._derived[key])
        # Computed outside the lock: two requests deriving the same key at once get equal values.
        value = derivation(self.value)
        with self._lock:
            self._derived[key] = value
            while len(self._derived) > self.DERIVED_LIMIT:
                self._derived.popitem(last=False)
        return value


class ParsedAnswers:
    """The parses of the last large answers, one per question, least recently used first out.

    Paging, sorting or filtering an order history asks Nue for the same list each time, and
    decoding and parsing 10,000 orders costs about 200 ms of CPU. Nue is still asked on every
    request, so nothing is served stale: when its answer is, byte for byte, the one last parsed
    for the same question (path, query and parse), that parse serves again. Comparing the bytes
    is exact and cheap, and NueClient does it while they arrive (0.5 ms for the 10,000-order
    history's 11 MB, where hashing them took 6). Parses are tuples of immutable records, safe to
    share between requests; the budget counts the bytes of the answers kept to compare with.
    """

    def __init__(self, budget: int) -> None:
        self._budget = budget
        self._size = 0
        self._entries: OrderedDict[Hashable, tuple[bytes, ParsedAnswer[Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def latest(self, key: Hashable) -> tuple[bytes, ParsedAnswer[Any]] | None:
        """The answer last parsed for `key`, and its parse: it serves again only for the very
        same bytes."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: Hashable, payload: bytes, parsed: ParsedAnswer[Any]) -> None:
        size = len(payload)
        if size > self._budget:
            return
        with self._lock:
            replaced = self._entries.pop(key, None)
            if replaced is not None:
                self._size -= len(replaced[0])
            self._entries[key] = (payload, parsed)
            self._size += size
            while self._size > self._budget:
                _, (dropped, _) = self._entries.popitem(last=False)
                self._size -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._size = 0


PARSED_ANSWERS = ParsedAnswers(PARSED_ANSWERS_BUDGET)


class NueClient:
    """One `httpx.Client` per process: pooled connections, explicit timeouts, careful retries."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._sleep = sleep
        self._max_body_bytes = max_body_bytes
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={
                "nue-api-key": api_key,
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
            },
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def get(
        self, path: str, params: Mapping[str, str | int] | None = None, *, bare: bool = False
    ) -> Envelope:
        return self._call("GET", path, params=params, bare=bare)

    def post(
        self,
        path: str,
        body: object,
        *,
        field_renames: Mapping[str, str] | None = None,
    ) -> Envelope:
        return self._call("POST", path, body=body, field_renames=field_renames or {})

    def delete(self, path: str) -> Envelope:
        return self._call("DELETE", path)

    def get_parsed(
        self, path: str, params: Mapping[str, str | int], parse: Callable[[Envelope], T]
    ) -> ParsedAnswer[T]:
        """GET, then `parse(envelope)`. Nue is asked every time; a large answer whose bytes are
        the very bytes last parsed for this question is not decoded and parsed again, and what
        was derived from its parse is not derived again (PARSED_ANSWERS)."""
        key = (path, tuple(sorted(params.items())), parse)
        latest = PARSED_ANSWERS.latest(key)
        status, payload, retry_after, request_id = self._exchange(
            "GET", path, params, None, expected=latest[0] if latest else None
        )
        if latest is not None and 200 <= status < 300 and payload is latest[0]:
            return cast("ParsedAnswer[T]", latest[1])
        envelope = self._decode(
            status, payload, request_id, bare=False, retry_after=retry_after, field_renames={}
        )
        parsed = ParsedAnswer(parse(envelope))
        if len(payload) >= PARSED_ANSWER_MIN_BYTES:
            PARSED_ANSWERS.put(key, payload, parsed)
        return parsed

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: object = None,
        bare: bool = False,
        field_renames: Mapping[str, str] | None = None,
    ) -> Envelope:
        status, payload, retry_after, request_id = self._exchange(method, path, params, body)
        return self._decode(
            status,
            payload,
            request_id,
            bare=bare,
            retry_after=retry_after,
            field_renames=field_renames or {},
        )

    def _exchange(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None,
        body: object,
        *,
        expected: bytes | None = None,
    ) -> tuple[int, bytes, float | None, str]:
        """Send (retrying as the method allows); the final status, body, Retry-After and id.

        A body that is byte for byte `expected` is returned as that very object (see _send)."""
        request_id = uuid.uuid4().hex[:12]
        content = None
        headers = {"X-Request-Id": request_id}
        if body is not None:
            content = json.dumps(body, default=_json_default, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        attempts = 1 + (MAX_GET_RETRIES if method == "GET" else 0)
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                status, payload, retry_after = self._send(
                    method, path, params, content, headers, expected
                )
            except NueUnavailable as error:
                error.reference = request_id
                self._log(request_id, method, path, "error", started, attempt, repr(error))
                # A POST whose connection was never established did not reach Nue: safe to resend.
                never_sent = isinstance(error.__cause__, httpx.ConnectError | httpx.ConnectTimeout)
                # After a read timeout Nue is hung or swamped: asking again would make the page
                # wait the whole read timeout once per attempt (45 s for a GET) and add load.
                gave_up = error.timed_out and not never_sent
                if not gave_up and (
                    attempt < attempts or (never_sent and attempt < 1 + MAX_GET_RETRIES)
                ):
                    self._sleep(self._backoff(attempt, None))
                    continue
                raise
            self._log(request_id, method, path, status, started, attempt)
            if status in RETRYABLE_STATUSES and attempt < attempts:
                self._sleep(self._backoff(attempt, retry_after))
                continue
            return status, payload, retry_after, request_id

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        return RETRY_BACKOFF_BASE * (2.0 ** (attempt - 1)) * random.uniform(0.5, 1.5)  # noqa: S311

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None,
        content: bytes | None,
        headers: Mapping[str, str],
        expected: bytes | None = None,
    ) -> tuple[int, bytes, float | None]:
        """One request; its status, body and Retry-After.

        The body is compared with `expected` while it arrives, and if it is the same bytes,
        `expected` itself is returned: the page that reads an unchanged 11 MB answer neither
        joins its chunks nor compares them after the last one came.
        """
        try:
            request = self._http.build_request(
                method, path, params=params, content=content, headers=headers
            )
            response = self._http.send(request, stream=True)
            try:
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > self._max_body_bytes:
                    raise NueProtocolError("Nue sent a response body larger than allowed.")
                # While the body matches `expected`, its chunks are not kept: they are its prefix.
                known = expected if expected is not None else b""
                matching = expected is not None
                chunks: list[bytes | memoryview] = []
                size = 0
                for chunk in response.iter_bytes():
                    if matching and not known.startswith(chunk, size):
                        matching = False
                        chunks.append(memoryview(known)[:size])  # joined below, copied once
                    size += len(chunk)
                    if size > self._max_body_bytes:
                        raise NueProtocolError("Nue sent a response body larger than allowed.")
                    if not matching:
                        chunks.append(chunk)
            finally:
                response.close()
        except httpx.TimeoutException as error:
            raise NueUnavailable("Nue did not answer in time.", timed_out=True) from error
        except (httpx.TransportError, OSError) as error:
            # WSGITransport lets the in-process app's exceptions (ConnectionResetError) through.
            raise NueUnavailable("Could not reach Nue.") from error
        if matching:  # all of `expected`, or a shorter prefix of it
            body = known if size == len(known) else known[:size]
            return response.status_code, body, _retry_after(response)
        return response.status_code, b"".join(chunks), _retry_after(response)

    def _decode(
        self,
        status: int,
        payload: bytes,
        request_id: str,
        *,
        bare: bool,
        retry_after: float | None,
        field_renames: Mapping[str, str],
    ) -> Envelope:
        body: Any = None
        if payload.strip():
            try:
                body = json.loads(payload, parse_float=Decimal)
            except (ValueError, UnicodeDecodeError):
                body = None
                if 200 <= status < 300:
                    raise NueProtocolError(
                        "Nue sent a body that is not JSON.", status=status, reference=request_id
                    ) from None
        if not 200 <= status < 300:
            raise self._error(status, body, request_id, retry_after, field_renames)
        if body is None:
            raise NueProtocolError("Nue sent an empty body.", status=status, reference=request_id)
        if isinstance(body, dict) and "status" in body:
            outcome = body.get("status")
            if not isinstance(outcome, str) or outcome.upper() != "SUCCESS":
                raise self._error(400, body, request_id, None, field_renames)
            if "data" not in body:
                raise NueProtocolError(
                    "Nue sent an envelope without data.", status=status, reference=request_id
                )
            warnings = tuple(
                w
                if isinstance(w, str)
                else str(w.get("message", w))
                if isinstance(w, dict)
                else str(w)
                for w in (body.get("warnings") or ())
            )
            pagination = body.get("pagination")
            total = pagination.get("total") if isinstance(pagination, dict) else None
            return Envelope(
                data=body["data"],
                warnings=warnings,
                total=total if isinstance(total, int) else None,
                request_id=request_id,
            )
        if bare and isinstance(body, dict | list):
            return Envelope(data=body, warnings=(), total=None, request_id=request_id)
        raise NueProtocolError(
            "Nue sent a body without the response envelope.", status=status, reference=request_id
        )

    def _error(
        self,
        status: int,
        body: object,
        request_id: str,
        retry_after: float | None,
        field_renames: Mapping[str, str],
    ) -> NueError:
        d = body if isinstance(body, dict) else {}
        raw_message = d.get("message") or d.get("error")
        message = raw_message if isinstance(raw_message, str) else f"Nue answered {status}."
        code = d.get("errorCode") if isinstance(d.get("errorCode"), str) else None
        kw: dict[str, Any] = {"status": status, "error_code": code, "reference": request_id}
        if status in (401, 403):
            return NueAuthError(message, **kw)
        if status == 404:
            return NueNotFound(message, **kw)
        if status == 409:
            return NueConflict(message, **kw)
        if status == 429:
            return NueRateLimited(message, retry_after=retry_after, **kw)
        if status >= 500:
            return NueUnavailable(message, **kw)
        if 400 <= status < 500:
            field_errors: dict[str, list[str]] = {}
            errors = d.get("errors")
            for item in errors if isinstance(errors, list) else ():
                if not isinstance(item, dict):
                    continue
                text = item.get("message")
                text = text if isinstance(text, str) and text else message
                where = item.get("field")
                key = _map_field_path(where, field_renames) if isinstance(where, str) else ""
                field_errors.setdefault(key or "__all__", []).append(text)
            return NueValidationError(message, field_errors=field_errors, **kw)
        return NueProtocolError(f"Nue answered with status {status}.", **kw)

    @staticmethod
    def _log(
        request_id: str,
        method: str,
        path: str,
        status: int | str,
        started: float,
        attempt: int,
        detail: str = "",
    ) -> None:
        # Paths carry only ids; query strings (emails, customer ids) and bodies are never logged.
        logger.info(
            "nue request_id=%s method=%s path=%s status=%s duration_ms=%.1f attempt=%d%s",
            request_id,
            method,
            path,
            status,
            (time.perf_counter() - started) * 1000,
            attempt,
            f" error={detail}" if detail else "",
        )


def _warning_text(warning: object) -> str:
    if isinstance(warning, dict):
        return str(warning.get("message", warning))
    return str(warning)


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        # Nue takes numbers; a Decimal that is whole goes as an int, else as its exact string form.
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"Cannot send {type(value).__name__} to Nue")


_client: NueClient | None = None
_client_lock = threading.Lock()

# The origin ("https://portal.example.com") of the portal request being served, set by
# orders.middleware: the in-process emulator answers as that host, so the quote and invoice links
# it hands out open where the browser already is (unless SITE_URL names the portal's address).
serving_origin: ContextVar[str] = ContextVar("serving_origin", default="")


def site_url(path: str) -> str:
    """An absolute link to a portal path: on SITE_URL when set, else on the request's own host."""
    return (settings.SITE_URL or serving_origin.get()) + path


# The in-process emulator runs on the caller's thread, where no socket timeout can end a wait:
# the transport hands it the client's read timeout on the WSGI environ under this key, and the
# emulator answers within it as a server behind a socket would appear to.
EMBEDDED_READ_TIMEOUT = "nue_emulator.read_timeout"
_read_timeout: ContextVar[float | None] = ContextVar("_read_timeout", default=None)


def embedded_emulator() -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """The in-process emulator's WSGI app, called as the host of the portal request served."""
    app = import_string(settings.NUE_EMULATOR_WSGI_APP)

    def as_serving_host(
        environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        scheme, _, host = serving_origin.get().partition("://")
        environ = {**environ, EMBEDDED_READ_TIMEOUT: _read_timeout.get()}
        if host:
            environ = {**environ, "wsgi.url_scheme": scheme, "HTTP_HOST": host}
        return cast("Iterable[bytes]", app(environ, start_response))

    return as_serving_host


class EmbeddedTransport(httpx.BaseTransport):
    """The in-process emulator, with the client's read timeout as a socket would impose it."""

    def __init__(self, app: Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]):
        self._inner = httpx.WSGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout") or {}
        token = _read_timeout.set(timeout.get("read"))
        try:
            return self._inner.handle_request(request)
        except TimeoutError as error:
            raise httpx.ReadTimeout(str(error), request=request) from error
        finally:
            _read_timeout.reset(token)


def build_default_client() -> NueClient:
    """The process-wide client from settings: in-process emulator, or Nue over the network."""
    if settings.NUE_EMULATOR_ENABLED:
        return NueClient(
            settings.NUE_EMULATOR_URL,
            settings.NUE_API_KEY,
            transport=EmbeddedTransport(embedded_emulator()),
        )
    return NueClient(settings.NUE_API_URL, settings.NUE_API_KEY)


def get_client() -> NueClient:
    global _client
    client = _client
    if client is None:
        with _client_lock:
            if _client is None:
                _client = build_default_client()
            client = _client
    return client


def install_client(client: NueClient | None) -> NueClient | None:
    """Swap the process-wide client (tests install one on a mock transport); returns the old one.

    Passing None makes the next call build the default client from settings again.
    """
    global _client
    with _client_lock:
        previous, _client = _client, client
    return previous


# --- Tenant-level verbs --------------------------------------------------------------------------


class Tenant:
    """Unscoped reads for server-side account mapping only; never handed to a view."""

    def __init__(self, client: NueClient | None = None) -> None:
        self._client = client

    @property
    def client(self) -> NueClient:
        return self._client or get_client()

    def contacts_by_email(self, emails: Sequence[str]) -> list[Contact]:
        # GET /contacts?emails=[...]
        if not emails:
            return []
        envelope = self.client.get("/contacts", {"emails": _json_list_param(emails)})
        return [Contact.parse(raw) for raw in _list_data(envelope, "contacts")]

    def customers(self, ids: Sequence[str]) -> list[Customer]:
        # GET /customers?customerIds=[...]
        for customer_id in ids:
            _check_id(customer_id, CUSTOMER_ID)
        if not ids:
            return []
        envelope = self.client.get("/customers", {"customerIds": _json_list_param(ids)})
        return [Customer.parse(raw) for raw in _list_data(envelope, "customers")]


def tenant() -> Tenant:
    return Tenant()


def _list_data(envelope: Envelope, kind: str) -> list[Any]:
    if not isinstance(envelope.data, list):
        raise NueProtocolError(
            f"Nue sent {kind} that are not a list.", reference=envelope.request_id
        )
    return envelope.data


# --- Id formats (checked before any call: no path injection, no pointless round trip) -----------

UUID_RE = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# Salesforce ids: 15 or 18 alphanumerics (001… accounts, 01t… products, 01u… entries, 801… orders).
SALESFORCE_ID_RE = r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?"
CUSTOMER_ID = re.compile(rf"(?:{UUID_RE}|{SALESFORCE_ID_RE})")
# An order is named by its id or by its number (O-00000300); both are accepted by order().
ORDER_ID = re.compile(rf"(?:{UUID_RE}|{SALESFORCE_ID_RE}|O-\d{{1,12}})")
SUBSCRIPTION_NAME = re.compile(r"SUB-\d{1,12}")
INVOICE_ID = re.compile(rf"(?:{UUID_RE}|INV-\d{{1,12}})")
# Catalog ids (entries, products, options): Salesforce ids, UUIDs, or slugs like pbe-seat-pro.
CATALOG_ID = re.compile(rf"(?:{UUID_RE}|{SALESFORCE_ID_RE}|[a-z0-9][a-z0-9_-]{{1,63}})")
TEMPLATE_ID = CATALOG_ID


def _check_id(value: object, pattern: re.Pattern[str]) -> str:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise NueNotFound("No such object.")
    return value


# --- Requests the verbs accept (typed, so views never build Nue JSON) ----------------------------


@dataclass(frozen=True, slots=True)
class AddOn:
    """A bundle option on a new line, or (Reconfigure) its new absolute quantity from a date.

    On a new line an option may start later or run for another term than its bundle
    (`subscriptionStartDate`, `subscriptionTerm` on `addOns[]`, new-orders guide).
    """

    product_option_id: str
    quantity: Decimal | None = None
    add_ons: tuple[AddOn, ...] = ()
    effective_date: date | None = None
    start_date: date | None = None
    term_months: int | None = None

    def to_nue(self) -> dict[str, Any]:
        _check_id(self.product_option_id, CATALOG_ID)
        body: dict[str, Any] = {"productOptionId": self.product_option_id}
        if self.quantity is not None:
            body["productOptionQuantity"] = self.quantity
        if self.effective_date is not None:
            body["reconfigureEffectiveDate"] = self.effective_date
        if self.start_date is not None:
            body["subscriptionStartDate"] = self.start_date
        if self.term_months is not None:
            body["subscriptionTerm"] = self.term_months
        if self.add_ons:
            body["addOns"] = [a.to_nue() for a in self.add_ons]
        return body


@dataclass(frozen=True, slots=True)
class LineRequest:
    """One product on a new order; either `term_months` or `coterm_subscription` sets its end."""

    price_book_entry_id: str
    quantity: Decimal
    start_date: date | None = None
    term_months: int | None = None
    coterm_subscription: str | None = None
    add_ons: tuple[AddOn, ...] = ()
    price_tag_codes: tuple[str, ...] = ()

    def to_nue(self) -> dict[str, Any]:
        _check_id(self.price_book_entry_id, CATALOG_ID)
        body: dict[str, Any] = {
            "priceBookEntryId": self.price_book_entry_id,
            "quantity": self.quantity,
        }
        if self.start_date is not None:
            body["subscriptionStartDate"] = self.start_date
        if self.term_months is not None:
            body["subscriptionTerm"] = self.term_months
        if self.coterm_subscription is not None:
            # nue-api.md §2.1a: the portal sends coTermAsset (the guide's flattened `cotermasset`).
            body["coTermAsset"] = _check_id(self.coterm_subscription, SUBSCRIPTION_NAME)
        if self.add_ons:
            body["addOns"] = [a.to_nue() for a in self.add_ons]
        if self.price_tag_codes:
            body["priceTagCodes"] = list(self.price_tag_codes)
        return body


CHANGE_TYPES = frozenset(
    {
        "UpdateQuantity",
        "UpdateTerm",
        "Renew",
        "CoTerm",
        "Cancel",
        "ConvertFreeTrial",
        "Upgrade",
        "Downgrade",
        "Swap",
        "Reconfigure",
    }
)


@dataclass(frozen=True, slots=True)
class AssetChange:
    """One change to the subscription a `change()` call targets (nue-api.md §2.2).

    `quantity` and `term` are deltas for UpdateQuantity / UpdateTerm, as in Nue.
    """

    change_type: str
    quantity: Decimal | None = None
    start_date: date | None = None
    term: int | None = None
    renewal_term: int | None = None
    co_term_date: date | None = None
    cancellation_date: date | None = None
    target_price_book_entry_id: str | None = None
    add_ons: tuple[AddOn, ...] = ()

    def to_nue(self, subscription_name: str) -> dict[str, Any]:
        if self.change_type not in CHANGE_TYPES:
            raise NueValidationError(
                "Unknown change type.", field_errors={"change_type": ["Unknown change type."]}
            )
        body: dict[str, Any] = {"changeType": self.change_type, "assetNumber": subscription_name}
        fields: tuple[tuple[str, object], ...] = (
            ("quantity", self.quantity),
            ("startDate", self.start_date),
            ("term", self.term),
            ("renewalTerm", self.renewal_term),
            ("coTermDate", self.co_term_date),
            ("cancellationDate", self.cancellation_date),
        )
        body.update({key: value for key, value in fields if value is not None})
        if self.target_price_book_entry_id is not None:
            _check_id(self.target_price_book_entry_id, CATALOG_ID)
            body["targetPriceBookEntryId"] = self.target_price_book_entry_id
        if self.add_ons:
            body["addOns"] = [a.to_nue() for a in self.add_ons]
        return body


# Nue's request field names -> the verbs' argument names, for NueValidationError.field_errors.
DRAFT_FIELDS = {
    "orderProducts": "lines",
    "addOns": "add_ons",
    "productOptionQuantity": "quantity",
    "subscriptionStartDate": "start_date",
    "subscriptionTerm": "term_months",
    "coTermAsset": "coterm_subscription",
    "cotermAsset": "coterm_subscription",
    "priceTagCodes": "price_tag_codes",
}
CHANGE_FIELDS = {
    "assetChanges": "changes",
    "products": "lines",
    "addOns": "add_ons",
    "productOptionQuantity": "quantity",
    "reconfigureEffectiveDate": "effective_date",
    "subscriptionStartDate": "start_date",
    "subscriptionTerm": "term_months",
    "assetNumber": "subscription_name",
}
ACTIVATE_FIELDS = {"poNumber": "po_number", "poDate": "po_date"}


# --- Results of the write verbs ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DraftResult:
    order: Order
    preview_invoices: tuple[Invoice, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ActivationResult:
    order: Order
    subscriptions: tuple[Subscription, ...]
    assets: tuple[Asset, ...]
    invoices: tuple[Invoice, ...]
    operation_id: int
    # True when this submit found the activation already done (double submit, resolved timeout).
    replayed: bool = False


class SubscriptionSnapshot(NamedTuple):
    """The terms of one subscription version, as a change order's before/after summary."""

    version: int | None
    product_id: str | None
    product_name: str | None
    price_book_entry_id: str | None
    quantity: Decimal
    start_date: date | None
    end_date: date | None
    term: Decimal | None
    status: str | None
    sales_price: Decimal | None
    total_amount: Decimal | None

    @classmethod
    def parse(cls, raw: object) -> SubscriptionSnapshot:
        d = _obj(raw, "subscription snapshot")
        k = "subscription snapshot"
        status = _ostr(d, "status", k)
        return cls(
            version=_oint(d, "subscriptionVersion", k),
            product_id=_ostr(d, "productId", k),
            product_name=_ostr(d, "productName", k),
            price_book_entry_id=_ostr(d, "priceBookEntryId", k),
            quantity=_dec(d, "quantity", k),
            start_date=_day(d, "subscriptionStartDate", k),
            end_date=_day(d, "subscriptionEndDate", k),
            term=_odec(d, "subscriptionTerm", k),
            status=_canon(status, SUBSCRIPTION_STATUSES) if status else None,
            sales_price=_odec(d, "salesPrice", k),
            total_amount=_odec(d, "totalAmount", k),
        )

    @classmethod
    def of_line(cls, line: OrderLine) -> SubscriptionSnapshot:
        """A subscription a line will create, as the line prices it (no version or status yet)."""
        return cls(
            version=None,
            product_id=line.product_id,
            product_name=line.product_name,
            price_book_entry_id=line.price_book_entry_id,
            quantity=line.quantity,
            start_date=line.start_date,
            end_date=line.end_date,
            term=line.term,
            status=None,
            sales_price=line.sales_price,
            total_amount=line.total_price,
        )

    @classmethod
    def of(cls, subscription: Subscription) -> SubscriptionSnapshot:
        return cls(
            version=subscription.version,
            product_id=subscription.product_id,
            product_name=subscription.product_name,
            price_book_entry_id=subscription.price_book_entry_id,
            quantity=subscription.quantity,
            start_date=subscription.start_date,
            end_date=subscription.end_date,
            term=subscription.term,
            status=subscription.status,
            sales_price=subscription.sales_price,
            total_amount=subscription.total_amount,
        )


class SubscriptionChange(NamedTuple):
    """One subscription a change order touches: its terms now and once the order is activated.

    `after` is None when Nue does not summarise the change (the order lines still show it).
    """

    name: str
    change_types: tuple[str, ...]
    before: SubscriptionSnapshot
    after: SubscriptionSnapshot | None
    amount: Decimal | None

    @classmethod
    def parse(cls, raw: object) -> SubscriptionChange:
        d = _obj(raw, "asset change")
        k = "asset change"
        types = d.get("changeTypes")
        return cls(
            name=_str(d, "assetNumber", k),
            change_types=tuple(t for t in types if isinstance(t, str))
            if isinstance(types, list)
            else (),
            before=SubscriptionSnapshot.parse(d.get("before")),
            after=SubscriptionSnapshot.parse(d["after"]) if d.get("after") else None,
            amount=_odec(d, "amount", k),
        )


@dataclass(frozen=True, slots=True)
class ChangeOrderResult:
    order: Order
    preview_invoices: tuple[Invoice, ...]
    changes: tuple[SubscriptionChange, ...]
    warnings: tuple[str, ...]
    operation_id: int
    replayed: bool = False


class ProductRelationship(NamedTuple):
    """An allowed Upgrade / Downgrade / Swap target of a subscription."""

    subscription_name: str
    relationship_type: str
    product_id: str | None
    product_name: str | None
    price_book_entry_id: str | None
    product_sku: str | None = None
    list_price: Decimal | None = None

    @classmethod
    def parse(cls, raw: object, subscription_name: str | None = None) -> ProductRelationship:
        d = _obj(raw, "product relationship")
        k = "product relationship"
        sku = _ostr(d, "targetProductSku", k)
        price = _odec(d, "listPrice", k)
        target = d.get("targetProduct")
        t = target if isinstance(target, dict) else {}
        entries = t.get("priceBookEntries")
        first_entry = entries[0] if isinstance(entries, list) and entries else {}
        return cls(
            subscription_name=subscription_name or _str(d, "subscriptionName", k),
            relationship_type=_canon(
                _ostr_any(d, "relationshipType", "type", kind=k) or "", RELATIONSHIP_TYPES
            ),
            product_id=_ostr_any(d, "targetProductId", "productId", kind=k) or _ostr(t, "id", k),
            product_name=_ostr_any(d, "targetProductName", "productName", kind=k)
            or _ostr(t, "name", k),
            price_book_entry_id=_ostr_any(d, "targetPriceBookEntryId", "priceBookEntryId", kind=k)
            or (_ostr(first_entry, "id", k) if isinstance(first_entry, dict) else None),
            product_sku=sku,
            list_price=price,
        )


RELATIONSHIP_TYPES = {"upgrade": "Upgrade", "downgrade": "Downgrade", "swap": "Swap"}


# --- Concurrency ----------------------------------------------------------------------------------

MAX_CONCURRENT_READS = 8


def _in_worker(call: Callable[[], T]) -> T:
    try:
        return call()
    finally:
        # The embedded emulator queries the database on this worker thread; Django connections are
        # per thread, so close this thread's before the pool retires it.
        connections.close_all()


def fetch_concurrently(**calls: Callable[[], T]) -> dict[str, T]:
    """Run a page's independent reads at once: `fetch_concurrently(orders=lambda: nue.orders())`.

    Returns each call's result under its keyword. If any call fails, the first failure (in keyword
    order) is raised after every call has finished, so no worker outlives the request.
    """
    if len(calls) <= 1:
        return {name: call() for name, call in calls.items()}
    return fetch_alongside(lambda: None, **calls)[1]


def fetch_alongside(local: Callable[[], U], /, **calls: Callable[[], T]) -> tuple[U, dict[str, T]]:
    """Run `calls` as fetch_concurrently does and, meanwhile, `local()` on this thread.

    For a page's database reads: they belong on the request's own connection, and done while
    Nue is answering they cost the page no time. Returns `local`'s result and the calls' results;
    a failure of `local` or of a call is raised after every worker has finished.

    Inside a transaction everything runs on this thread, one after another: a worker's
    connection could not see the transaction's uncommitted writes, and the embedded emulator
    reads the portal's database.
    """
    if connection.in_atomic_block:
        return local(), {name: call() for name, call in calls.items()}
    results: dict[str, T] = {}
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=max(1, min(len(calls), MAX_CONCURRENT_READS))) as pool:
        # Each worker runs in a copy of this context: it serves the same request (serving_origin).
        futures = {
            name: pool.submit(copy_context().run, _in_worker, call) for name, call in calls.items()
        }
        try:
            here = local()
        except BaseException as error:  # re-raised below, after every worker finished
            failure = error
        for name, future in futures.items():
            try:
                results[name] = future.result()
            except BaseException as error:
                failure = failure or error
    if failure is not None:
        raise failure
    return here, results


# --- The per-customer scope ----------------------------------------------------------------------

# An open operation settles as "not done" only when Nue shows the work not done this long after
# the request left: by then any request Nue received has been answered or abandoned, so a slow
# activation is never taken for a lost one and sent again. Nue showing the work done settles it
# at once, however recent.
NUE_SETTLES_WITHIN = timedelta(seconds=settings.NUE_SETTLES_WITHIN_SECONDS)
# A hold whose holder never sent the activation it held for (its worker died before) is released
# this long after it was taken: nothing was sent under it, so there is no outcome to wait for.
STALE_HOLD = timedelta(minutes=5)
# A pending or in-flight row younger than this may belong to a worker still at work (one request:
# the reads, Nue's answer within the read timeout, the worker's own time limit): it settles as
# done as soon as Nue shows its work done, but never as failed while its worker may still send.
OWNER_AT_WORK = timedelta(seconds=90)
# The same change order submitted again this soon after the first succeeded is a double submit.
DUPLICATE_WINDOW = timedelta(minutes=2)


class _Owned(Protocol):
    @property
    def customer_id(self) -> str | None: ...


_O = TypeVar("_O", bound=_Owned)


@dataclass(frozen=True, slots=True)
class _ListParser(Generic[_O]):
    """Parses a list answer item by item; equal for the same parse and kind (a memo key)."""

    parse: Callable[[object], _O]
    kind: str

    def __call__(self, envelope: Envelope) -> tuple[_O, ...]:
        return tuple(self.parse(raw) for raw in _list_data(envelope, self.kind))


@dataclass(frozen=True, slots=True)
class Arrangement(Generic[_O]):
    """How a list is shown: `arrange` sorts and filters it and depends on nothing but the list
    and `key`, so one arranging serves every request for the same answer with the same key."""

    key: Hashable
    arrange: Callable[[Sequence[_O]], Sequence[_O]]


def _payload_hash(body: object) -> str:
    canonical = json.dumps(body, default=_json_default, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class CustomerNue:
    """Everything the portal may do in Nue for one customer. Built per request by the middleware.

    No verb takes a customer id: it is fixed here, from the session's membership. Every object Nue
    returns is checked against it; ids are validated before any call.
    """

    def __init__(self, account: CustomerAccount, client: NueClient | None = None) -> None:
        self.account = account
        self.customer_id = account.nue_customer_id
        self._client = client
        self._memo: dict[tuple[object, ...], object] = {}
        self._memo_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<CustomerNue {self.customer_id}>"

    @property
    def client(self) -> NueClient:
        return self._client or get_client()

    # Reads ---------------------------------------------------------------------------------------

    def orders(
        self,
        status: str | None = None,
        includes: Sequence[str] = (),
        arrangement: Arrangement[Order] | None = None,
    ) -> list[Order]:
        # GET /orders?customerIds=[...]&status=...&includes=...
        # `arrangement` sorts and filters them; done once per answer (ParsedAnswer).
        params = self._scope_params()
        if status is not None:
            if status.lower() not in ORDER_STATUS_FILTERS:
                raise ValueError(f"Unknown order status filter {status!r}.")
            params["status"] = ORDER_STATUS_FILTERS[status.lower()]
        unknown = set(includes) - ORDER_INCLUDES
        if unknown:
            raise ValueError(f"Unknown order includes {sorted(unknown)}.")
        if includes:
            params["includes"] = ",".join(sorted(includes))
        arranged = arrangement.key if arrangement is not None else None
        key = ("orders", params.get("status"), params.get("includes"), arranged)
        return self._memoised(
            key, lambda: self._list("/orders", params, Order.parse, "orders", arrangement)
        )

    def order(self, order_id: str, *, fresh: bool = False) -> Order:
        # GET /orders/{orderId}?includes=orderProducts,assets,invoices, checked against the
        # customer; on 404, GET /orders?customerIds=[...]&includes=... and this id.
        # Nue documents only the list (nue-api.md §2.1, §5.5), but the list costs the customer's
        # whole history per detail page (21 MB for the emulator's 10,000-order customer,
        # bench/RESULTS.md). So: the single GET first (the emulator serves it, and ownership is
        # verified on the answer), and the documented list when Nue has no such path.
        _check_id(order_id, ORDER_ID)
        if fresh:
            self._forget("orders")
        return self._memoised(("order", order_id), lambda: self._load_order(order_id))

    def _load_order(self, order_id: str) -> Order:
        includes = {"includes": ",".join(sorted(ORDER_INCLUDES))}
        try:
            envelope = self.client.get(f"/orders/{order_id}", includes)
        except NueNotFound:
            for order in self.orders(includes=sorted(ORDER_INCLUDES)):
                if order_id in (order.id, order.order_number):
                    return order
            raise
        order = Order.parse(envelope.data)
        if order_id not in (order.id, order.order_number):
            raise NueProtocolError("Nue answered with another order than the one asked for.")
        if order.customer_id != self.customer_id:
            # Expected when someone tries another customer's id: the by-id path is unscoped.
            security_logger.warning(
                "Customer %s asked for order %s of another customer; answered 404",
                self.customer_id,
                order_id,
            )
            raise NueNotFound("No such order.")
        return order

    def subscriptions(self) -> list[Subscription]:
        # GET /subscriptions?customerIds=[...]
        params = self._scope_params()
        return self._memoised(
            ("subscriptions",),
            lambda: self._list("/subscriptions", params, Subscription.parse, "subscriptions"),
        )

    def subscription(self, name: str) -> Subscription:
        # GET /subscriptions?customerIds=[...], then the current (highest) version of this name.
        _check_id(name, SUBSCRIPTION_NAME)
        found = [s for s in self.subscriptions() if s.name == name]
        if not found:
            raise NueNotFound("No such subscription.")
        return max(found, key=lambda s: s.version)

    def assets(self) -> list[Asset]:
        # GET /assets?customerIds=[...]
        params = self._scope_params()
        return self._memoised(
            ("assets",), lambda: self._list("/assets", params, Asset.parse, "assets")
        )

    def invoices(self, page: int = 1, limit: int = 25, status: str | None = None) -> Page[Invoice]:
        # GET /customers/{customerId}/invoices?page=...&limit=...&status=...
        if page < 1 or not 1 <= limit <= MAX_INVOICE_PAGE:
            raise ValueError("page must be >= 1 and limit between 1 and 500.")
        params: dict[str, str | int] = {"page": page, "limit": limit}
        if status is not None:
            params["status"] = status
        path = f"/customers/{self._cid()}/invoices"

        def load() -> Page[Invoice]:
            envelope = self.client.get(path, params)
            items = self._own(
                [Invoice.parse_issued(r) for r in _list_data(envelope, "invoices")],
                "invoices",
            )
            total = envelope.total if envelope.total is not None else len(items)
            return Page(items=tuple(items), page=page, limit=limit, total=total)

        return self._memoised(("invoices", page, limit, status), load)

    def invoice(self, invoice_id: str) -> Invoice:
        # GET /customers/{customerId}/invoices/{invoiceId}
        _check_id(invoice_id, INVOICE_ID)
        envelope = self.client.get(f"/customers/{self._cid()}/invoices/{invoice_id}")
        invoice = Invoice.parse_issued(envelope.data)
        if invoice.customer_id != self.customer_id:
            self._alert("invoice", 1)
            raise NueNotFound("No such invoice.")
        return invoice

    def catalog(self) -> list[Product]:
        # GET /customers/{customerId}/products (entries filtered to those this customer may buy)
        return self._cached(
            "catalog",
            lambda: _list_data(
                self.client.get(f"/customers/{self._cid()}/products", bare=True), "products"
            ),
            lambda raw: [Product.parse(p) for p in raw],
        )

    def price_tags(self) -> list[PriceTag]:
        # GET /catalog/price-tags
        return self._cached(
            "price-tags",
            lambda: _list_data(self.client.get("/catalog/price-tags", bare=True), "price tags"),
            lambda raw: [PriceTag.parse(t) for t in raw],
        )

    def product_relationships(self, subscription_names: Sequence[str]) -> list[ProductRelationship]:
        # GET /subscriptions/product-relationships?subscriptionNames=[...]
        names = sorted({_check_id(n, SUBSCRIPTION_NAME) for n in subscription_names})
        if not names:
            return []
        own = {s.name for s in self.subscriptions()}
        if not set(names) <= own:
            raise NueNotFound("No such subscription.")
        return self._cached(
            "relationships:" + ",".join(names),
            lambda: _list_data(
                self.client.get(
                    "/subscriptions/product-relationships",
                    {"subscriptionNames": _json_list_param(names)},
                ),
                "product relationships",
            ),
            lambda raw: _parse_relationships(raw, self.customer_id),
        )

    def preview(
        self, lines: Sequence[LineRequest], *, effective_date: date | None = None
    ) -> InvoicePreview:
        # POST /orders/invoice-preview with orderProducts (nothing is persisted in Nue)
        body: dict[str, Any] = {
            "customer": {"id": self._cid()},
            "orderProducts": [line.to_nue() for line in lines],
        }
        if effective_date is not None:
            body["effectiveDate"] = effective_date
        envelope = self.client.post("/orders/invoice-preview", body, field_renames=DRAFT_FIELDS)
        return self._preview(envelope)

    def preview_change(
        self,
        subscription_name: str,
        changes: Sequence[AssetChange],
        *,
        lines: Sequence[LineRequest] = (),
    ) -> InvoicePreview:
        # POST /orders/invoice-preview with assetChanges (and cross-sell products)
        self.subscription(subscription_name)
        body: dict[str, Any] = {
            "customer": {"id": self._cid()},
            "assetChanges": [c.to_nue(subscription_name) for c in changes],
        }
        if lines:
            body["products"] = [line.to_nue() for line in lines]
        envelope = self.client.post("/orders/invoice-preview", body, field_renames=CHANGE_FIELDS)
        return self._preview(envelope)

    def magic_link(self, order_id: str, template_id: str | None = None) -> MagicLink:
        # GET /orders/magiclink/order/{orderId}[/template/{templateId}] (bare {"magicLink": url})
        order = self.order(order_id)
        path = f"/orders/magiclink/order/{order.id}"
        if template_id is not None:
            path += f"/template/{_check_id(template_id, TEMPLATE_ID)}"
        envelope = self.client.get(path, bare=True)
        data = envelope.data
        url = data.get("magicLink") if isinstance(data, dict) else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise NueProtocolError("Nue sent a magic link that is not a URL.")
        return MagicLink(order_id=order.id, url=url)

    # Writes --------------------------------------------------------------------------------------

    def create_draft(
        self,
        lines: Sequence[LineRequest],
        *,
        effective_date: date,
        name: str | None = None,
        description: str | None = None,
        bill_to_contact_id: str | None = None,
        preview_invoice: bool = True,
        po_number: str | None = None,
        po_date: date | None = None,
    ) -> DraftResult:
        # POST /orders (a Draft: priced, no financial impact, so no ledger is needed)
        # Always taxed, as every change order is (see `change`): a draft's total is what is billed.
        body: dict[str, Any] = {
            "customer": {"id": self._cid()},
            "effectiveDate": effective_date,
            "orderProducts": [line.to_nue() for line in lines],
            "options": {"previewInvoice": preview_invoice, "calculateTax": True},
        }
        if name:
            body["name"] = name
        if description:
            body["description"] = description
        if bill_to_contact_id is not None:
            body["billToContact"] = {"id": _check_id(bill_to_contact_id, CATALOG_ID)}
        if po_number:  # nue-api.md §2.1a: orders carry poNumber and poDate
            body["poNumber"] = po_number
        if po_date is not None:
            body["poDate"] = po_date
        envelope = self.client.post("/orders", body, field_renames=DRAFT_FIELDS)
        data = _obj(envelope.data, "draft order")
        order = self._own_one(Order.parse(data.get("order")), "order")
        self._forget("orders")
        return DraftResult(
            order=order,
            preview_invoices=_preview_invoices(data, "draft order"),
            warnings=envelope.warnings,
        )

    def discard_draft(self, order_id: str) -> Order:
        # DELETE /orders/{orderId} — emulator-only (nue-api.md §5.4); against Nue a 404/405 means
        # "not supported" and the draft simply stays in Draft.
        order = self.order(order_id, fresh=True)
        if not order.is_draft:
            raise NueConflict("Only a draft order can be discarded.")
        envelope = self.client.delete(f"/orders/{order.id}")
        self._forget("orders")
        data = envelope.data
        raw = data.get("order", data) if isinstance(data, dict) else data
        return self._own_one(Order.parse(raw), "order")

    def activate(
        self,
        order_id: str,
        *,
        actor: User,
        on_behalf_of: User | None = None,
        po_number: str | None = None,
        po_date: date | None = None,
        generate_invoice: bool = True,
        activate_invoice: bool = True,
        audit: Sequence[Mapping[str, Any]] = (),
    ) -> ActivationResult:
        # POST /orders/{draftOrderId} — through the operation ledger: never sent twice.
        # `audit`: the events (portal.audit.pending) the ledger writes once Nue shows the order
        # activated, whether the answer says so, a retry reads it, or reconcile_operations does.
        order = self.order(order_id, fresh=True)
        body: dict[str, Any] = {
            "options": {"generateInvoice": generate_invoice, "activateInvoice": activate_invoice}
        }
        if po_number:
            body["poNumber"] = po_number
        if po_date is not None:
            body["poDate"] = po_date
        from orders.models import Operation

        op, replay = self._open_operation(
            Operation.Kind.ACTIVATE,
            order.id,
            body,
            actor,
            on_behalf_of,
            audit=audit,
            amount=order.total,
        )
        if replay is not None:
            return self._activation_result(replay, order, replayed=True)
        if not order.is_draft:
            self._close(op, Operation.State.FAILED, error="The order is not a draft.", sent=False)
            raise NueConflict("This order is no longer a draft.")
        data = self._send_operation(
            op, lambda: self.client.post(f"/orders/{order.id}", body, field_renames=ACTIVATE_FIELDS)
        )
        self.invalidate_cache()
        op.result = data
        return self._activation_result(op, order, replayed=False)

    def change(
        self,
        items: Sequence[tuple[str, Sequence[AssetChange]]],
        *,
        actor: User,
        on_behalf_of: User | None = None,
        lines: Sequence[LineRequest] = (),
        preview_invoice: bool = True,
    ) -> ChangeOrderResult:
        # POST /change-orders — ONE draft change order whose assetChanges[] change one or more
        # subscriptions (each names its own), through the operation ledger.
        # Tax is always asked for, as for a new order: Nue taxes a change order only when
        # options.calculateTax is set (nue-api.md §4), and every change the portal makes (wizard,
        # basket, trial conversion, renewal) is billed with tax like the new order it mirrors.
        if not items:
            raise ValueError("A change order needs at least one subscription's changes.")
        # Every subscription is read (and checked to be this customer's) before anything is sent.
        befores = [self.subscription(name) for name, _changes in items]
        body: dict[str, Any] = {
            "assetChanges": [
                c.to_nue(before.name)
                for before, (_name, changes) in zip(befores, items, strict=True)
                for c in changes
            ],
            "options": {"previewInvoice": preview_invoice, "calculateTax": True},
        }
        if lines:
            body["products"] = [line.to_nue() for line in lines]
        from orders.models import Operation

        # Quantity and term changes are deltas: the same body against a newer version of any of
        # the subscriptions is a new change, not a double click, so the versions are in the hash.
        versions = {before.name: before.version for before in befores}
        fingerprint = {"body": body, "subscriptionVersions": versions}
        op, replay = self._open_operation(
            Operation.Kind.CHANGE,
            _ledger_target(versions),
            fingerprint,
            actor,
            on_behalf_of,
            request=body,
        )
        if replay is None:
            op.result = self._send_operation(
                op,
                lambda: _with_warnings(
                    self.client.post("/change-orders", body, field_renames=CHANGE_FIELDS)
                ),
            )
            self._forget("orders")
        else:
            op = replay
        return self._change_result(op, befores, replayed=replay is not None)

    # Cache and memo ------------------------------------------------------------------------------

    def invalidate_cache(self) -> None:
        """Drop this customer's cached catalog, tags and relationships, and this request's memo."""
        cache.set(self._generation_key(), uuid.uuid4().hex, None)
        with self._memo_lock:
            self._memo.clear()

    def _generation_key(self) -> str:
        return f"nue:{self.customer_id}:generation"

    def _cached(
        self, name: str, load: Callable[[], list[Any]], parse: Callable[[list[Any]], T]
    ) -> T:
        """`parse(load())`, with Nue's answer kept in the shared cache and its parse in this
        request's memo. An answer that does not parse is not kept: every request would fail on
        it until it expired."""
        return self._memoised(("cached", name), lambda: self._load_cached(name, load, parse))

    def _load_cached(
        self, name: str, load: Callable[[], list[Any]], parse: Callable[[list[Any]], T]
    ) -> T:
        generation = self._memoised(
            ("generation",), lambda: cache.get(self._generation_key()) or "0"
        )
        key = f"nue:{self.customer_id}:{generation}:{hashlib.sha256(name.encode()).hexdigest()}"
        hit = cache.get(key)
        if isinstance(hit, list):
            return parse(hit)
        raw = load()
        parsed = parse(raw)
        cache.set(key, raw, CATALOG_CACHE_TTL)
        return parsed

    def _memoised(self, key: tuple[object, ...], load: Callable[[], T]) -> T:
        with self._memo_lock:
            if key in self._memo:
                return self._memo[key]  # type: ignore[return-value]
        value = load()
        with self._memo_lock:
            self._memo[key] = value
        return value

    def _forget(self, kind: str) -> None:
        with self._memo_lock:
            for key in [k for k in self._memo if k[0] == kind]:
                del self._memo[key]
            if kind == "orders":
                for key in [k for k in self._memo if k[0] == "order"]:
                    del self._memo[key]

    # Scope checks --------------------------------------------------------------------------------

    def _cid(self) -> str:
        return _check_id(self.customer_id, CUSTOMER_ID)

    def _scope_params(self) -> dict[str, str | int]:
        return {"customerIds": _json_list_param([self._cid()])}

    def _list(
        self,
        path: str,
        params: Mapping[str, str | int],
        parse: Callable[[object], _O],
        kind: str,
        arrangement: Arrangement[_O] | None = None,
    ) -> list[_O]:
        # Parsed into a tuple: one parse may serve later requests (NueClient.get_parsed), so no
        # caller may change it. Whose items they are is worked out once per parse, and
        # reported on every request that receives another customer's.
        try:
            answer = self.client.get_parsed(path, params, _ListParser(parse, kind))
        except NueNotFound as error:
            # A list is never "not found" for a customer the portal knows: Nue refused the read,
            # which is an upstream failure, not a missing page.
            raise NueProtocolError(
                f"Nue answered 404 to a list of {kind}.", status=404, reference=error.reference
            ) from error
        owned, foreign = answer.derive(("own", self.customer_id), self._split_own)
        if foreign:
            self._alert(kind, foreign)
        if arrangement is not None:
            key = ("arranged", self.customer_id, arrangement.key)
            owned = answer.derive(key, lambda _: tuple(arrangement.arrange(owned)))
        return list(owned)

    def _split_own(self, items: Sequence[_O]) -> tuple[tuple[_O, ...], int]:
        kept = tuple(item for item in items if item.customer_id == self.customer_id)
        return kept, len(items) - len(kept)

    def _own(self, items: list[_O], kind: str) -> list[_O]:
        kept, foreign = self._split_own(items)
        if foreign:
            self._alert(kind, foreign)
        return list(kept)

    def _own_one(self, item: _O, kind: str) -> _O:
        if item.customer_id != self.customer_id:
            self._alert(kind, 1)
            raise NueNotFound(f"No such {kind}.")
        return item

    def _alert(self, kind: str, count: int) -> None:
        security_logger.error(
            "Nue returned %d %s of another customer to a call scoped to customer %s; dropped",
            count,
            kind,
            self.customer_id,
        )

    def _preview(self, envelope: Envelope) -> InvoicePreview:
        data = envelope.data
        if isinstance(data, list):
            invoices = tuple(Invoice.parse(x) for x in data)
        else:
            invoices = _preview_invoices(_obj(data, "invoice preview"), "invoice preview")
        for invoice in invoices:
            if invoice.customer_id not in (None, self.customer_id):
                self._alert("preview invoice", 1)
                raise NueNotFound("No such customer.")
        return InvoicePreview(invoices=invoices, warnings=envelope.warnings)

    # Operation ledger ----------------------------------------------------------------------------

    def _open_operation(
        self,
        kind: str,
        target: str,
        body: object,
        actor: User,
        on_behalf_of: User | None,
        *,
        request: Mapping[str, Any] | None = None,
        audit: Sequence[Mapping[str, Any]] = (),
        amount: Decimal | None = None,
    ) -> tuple[Operation, Operation | None]:
        """Commit an in-flight ledger row for `target`, or explain why nothing may be sent.

        Returns (row, None) when this submit may send, or (row, replay) when an earlier submit
        already did the work: the caller answers with the replay's result and sends nothing.
        Raises OperationInProgress while another submit's outcome is open.
        """
        from orders.models import Operation

        payload_hash = _payload_hash(body)
        # In autocommit (every request) the INSERT commits by itself; inside a caller's
        # transaction a savepoint keeps a refused INSERT from breaking that transaction.
        guard = transaction.atomic if connection.in_atomic_block else nullcontext
        for _attempt in range(3):
            try:
                with guard():
                    # Written in flight, so sending needs no second commit: until the send,
                    # only the read for an earlier identical submit runs, and a row whose
                    # worker died before sending is settled by resolve() as any stale open
                    # row is (it asks Nue; it never sends again).
                    op = Operation.objects.create(
                        kind=kind,
                        target=target,
                        customer=self.account,
                        actor=actor,
                        on_behalf_of=on_behalf_of,
                        payload_hash=payload_hash,
                        request=dict(request or {}),
                        audit=[dict(event) for event in audit],
                        amount=amount,
                        state=Operation.State.IN_FLIGHT,
                        sent_at=timezone.now(),
                    )
            except IntegrityError:
                existing = Operation.objects.filter(
                    target=target, state__in=Operation.OPEN_STATES
                ).first()
                if existing is None:
                    continue  # closed between our insert and this read; try again
                if existing.customer_id != self.account.pk:
                    raise NueNotFound("No such object.") from None
                resolved = self.resolve(existing)
                # Only the same request is answered with an earlier one's result: an order is
                # activated once, whoever asks; a change order is this change order only if it
                # holds exactly this change (another change, or a hold, just finished first).
                same = resolved.kind == kind and (
                    kind == Operation.Kind.ACTIVATE or resolved.payload_hash == payload_hash
                )
                if resolved.state == Operation.State.SUCCEEDED and same:
                    return resolved, resolved
                if resolved.is_open:
                    raise OperationInProgress(
                        _still_open(resolved), reference=resolved.reference or None
                    ) from None
                continue
            # A submit that arrives just after an identical one finished gets that one's answer:
            # an order is activated only once; the same change sent twice within the window is a
            # double click, not a second change order.
            done = Operation.objects.filter(
                kind=kind, target=target, state=Operation.State.SUCCEEDED
            ).exclude(pk=op.pk)
            if kind == Operation.Kind.CHANGE:
                done = done.filter(
                    payload_hash=payload_hash,
                    finished_at__gte=timezone.now() - DUPLICATE_WINDOW,
                )
            previous = done.order_by("-finished_at").first()
            if previous is not None:
                self._close(
                    op, Operation.State.FAILED, error=f"Duplicate of #{previous.pk}.", sent=False
                )
                return previous, previous
            return op, None
        raise OperationInProgress("This is already in progress. Please wait a moment and reload.")

    def _send_operation(self, op: Operation, send: Callable[[], Envelope]) -> Any:
        from orders.models import Operation

        try:
            envelope = send()
        except NueUnavailable as error:
            error.outcome_unknown = not error.never_sent
            state = Operation.State.UNKNOWN if error.outcome_unknown else Operation.State.FAILED
            self._close_or_leave(op, state, error=error.message, reference=error.reference)
            raise
        except NueProtocolError as error:
            # Nue may have done the work and then sent something unreadable: find out later.
            error.outcome_unknown = True
            state = Operation.State.UNKNOWN
            self._close_or_leave(op, state, error=error.message, reference=error.reference)
            raise
        except NueError as error:
            state = Operation.State.FAILED
            self._close_or_leave(op, state, error=error.message, reference=error.reference)
            raise
        except BaseException as error:
            self._close_or_leave(op, Operation.State.UNKNOWN, error=repr(error))
            raise
        try:
            self._close(
                op,
                Operation.State.SUCCEEDED,
                result=envelope.data,
                reference=envelope.request_id,
                learned_from_answer=True,
            )
        except DatabaseError as error:
            # Nue did the work, and the ledger could not say so: the row stays in flight until a
            # retry or reconcile_operations reads Nue, settles it and writes its audit events.
            logger.exception("Ledger row #%s: Nue answered, the outcome was not recorded", op.pk)
            unrecorded = NueUnavailable(
                "Nue answered; the portal could not record it.", reference=envelope.request_id
            )
            unrecorded.outcome_unknown = True
            raise unrecorded from error
        return envelope.data

    def _close_or_leave(self, op: Operation, state: str, **fields: Any) -> None:
        """Close a row whose request failed; when the database fails too, leave the row open for
        resolve() and let the caller raise the failure the user should see."""
        try:
            self._close(op, state, **fields)
        except DatabaseError:
            logger.exception("Ledger row #%s: the outcome %s was not recorded", op.pk, state)

    def _close(
        self,
        op: Operation,
        state: str,
        *,
        error: str = "",
        reference: str | None = None,
        result: Any = None,
        sent: bool = True,
        learned_from_answer: bool = False,
    ) -> None:
        """`sent=False`: closed before the request left (the row was written in flight).
        `learned_from_answer`: the outcome is Nue's answer to the request, not a later read."""
        from orders.models import Operation

        now = timezone.now()
        values: dict[str, Any] = {
            "state": state,
            "error": error[:2000],
            "reference": reference or op.reference,
            "result": op.result if result is None else result,
            "finished_at": None if state == Operation.State.UNKNOWN else now,
            "updated_at": now,
        }
        if not sent:
            values["sent_at"] = None
        # Only an open row is closed: whichever path settles it first (the answer, a retry or
        # reconcile reading Nue) decides, and a later one finds it settled and keeps that.
        still_open = Operation.objects.filter(pk=op.pk, state__in=Operation.OPEN_STATES)
        if state != Operation.State.SUCCEEDED or not op.audit:
            # One UPDATE, atomic by itself: no transaction around it (two round trips fewer).
            if still_open.update(**values):
                _assign(op, values)
            else:
                op.refresh_from_db()
            return
        # The outcome and its audit events commit together, exactly once.
        with transaction.atomic():
            if not still_open.update(**values):
                op.refresh_from_db()
                return
            _assign(op, values)
            claimed = Operation.objects.filter(pk=op.pk, audited_at__isnull=True).update(
                audited_at=now
            )
            if claimed:
                from portal.audit import write

                learned = "answer" if learned_from_answer else "read back from Nue"
                for event in op.audit:
                    write(event, operation=op.pk, outcome=learned)

    @contextmanager
    def hold(
        self, names: Sequence[str], order_id: str, actor: User, on_behalf_of: User | None
    ) -> Iterator[None]:
        """Hold the ledger's one open operation for each subscription while the change order
        `order_id` is activated.

        Two confirmations of different drafts for one subscription never overlap: the second is
        refused as in progress, or comes after the first and finds its draft stale. When the
        activation's outcome is unknown the holds stay open: nothing else may change those
        subscriptions until Nue shows whether it applied (`resolve`).
        """
        from orders.models import Operation

        held: list[Operation] = []
        try:
            for target in sorted(set(names)):
                held.append(self._hold(target, order_id, actor, on_behalf_of))
            yield
        except NueError as error:
            state = Operation.State.UNKNOWN if error.outcome_unknown else Operation.State.FAILED
            self._release(held, state, error=error.message)
            raise
        except BaseException as error:
            self._release(held, Operation.State.FAILED, error=repr(error))
            raise
        self._release(held, Operation.State.SUCCEEDED, result={"orderId": order_id})

    def _hold(
        self, target: str, order_id: str, actor: User, on_behalf_of: User | None
    ) -> Operation:
        from orders.models import Operation

        for _attempt in range(3):
            try:
                with transaction.atomic():
                    return Operation.objects.create(
                        kind=Operation.Kind.HOLD,
                        target=target,
                        customer=self.account,
                        actor=actor,
                        on_behalf_of=on_behalf_of,
                        payload_hash=hashlib.sha256(order_id.encode()).hexdigest(),
                        request={"orderId": order_id},
                        state=Operation.State.IN_FLIGHT,
                        sent_at=timezone.now(),
                    )
            except IntegrityError:
                existing = Operation.objects.filter(
                    target=target, state__in=Operation.OPEN_STATES
                ).first()
                # Whatever holds it is settled by reading Nue, not by waiting for it to age.
                if existing is not None and self.resolve(existing).is_open:
                    break
        raise OperationInProgress(
            f"Another change to {target} is being applied right now. Reload in a moment."
        )

    @staticmethod
    def _release(held: Sequence[Operation], state: str, **fields: Any) -> None:
        """Settle the holds with the activation's outcome. When the database fails, they stay
        open and settle with the activation's row when something reads Nue (_resolve_hold)."""
        from orders.models import Operation

        now = timezone.now()
        try:
            Operation.objects.filter(
                pk__in=[op.pk for op in held], state__in=Operation.OPEN_STATES
            ).update(
                state=state,
                finished_at=None if state == Operation.State.UNKNOWN else now,
                updated_at=now,
                error=str(fields.get("error", ""))[:2000],
                result=fields.get("result", {}),
            )
        except DatabaseError:
            logger.exception("Holds %s: the outcome %s was not recorded", held, state)

    def was_activated(self, order_id: str) -> bool:
        """Whether the ledger holds a succeeded activation of this order (every route activates
        through it): a page showing the draft as a draft would offer to do it again."""
        from orders.models import Operation

        return Operation.objects.filter(
            customer=self.account,
            kind=Operation.Kind.ACTIVATE,
            target=order_id,
            state=Operation.State.SUCCEEDED,
        ).exists()

    def settle(self, targets: Iterable[str]) -> None:
        """Resolve the open operations of `targets` by reading Nue: a retry that finds the work
        done settles what the lost answer left open (and writes its audit events)."""
        from orders.models import Operation

        for op in Operation.objects.filter(
            customer=self.account, target__in=list(targets), state__in=Operation.OPEN_STATES
        ):
            self.resolve(op)

    def resolve(self, op: Operation) -> Operation:
        """Settle an open operation by reading Nue; never sends anything again.

        Succeeded as soon as Nue shows exactly the work done (the order activated; a draft change
        order holding exactly the requested change). Failed only when Nue still shows it not done
        NUE_SETTLES_WITHIN after the request left. Otherwise it stays open, and so does its lock.
        """
        from orders.models import Operation

        if not op.is_open:
            return op
        if op.kind == Operation.Kind.HOLD:
            return self._resolve_hold(op)
        now = timezone.now()
        # A worker still at work may yet send: its row is never taken for failed meanwhile. Nue
        # showing the work done settles any open row (a worker whose database failed after Nue
        # answered, or one still waiting for the answer, then finds it settled).
        at_work = op.state != Operation.State.UNKNOWN and now - op.updated_at < OWNER_AT_WORK
        settled = not at_work and now - (op.sent_at or op.created_at) >= NUE_SETTLES_WITHIN
        if op.kind == Operation.Kind.ACTIVATE:
            try:
                order = self.order(op.target, fresh=True)
            except NueNotFound:
                if settled:
                    self._close(op, Operation.State.FAILED, error="The order no longer exists.")
                return op
            earlier = (
                Operation.objects.filter(
                    kind=Operation.Kind.ACTIVATE,
                    target=op.target,
                    state=Operation.State.SUCCEEDED,
                )
                .exclude(pk=op.pk)
                .first()
            )
            if order.status == "Activated" and earlier is not None:
                # The ledger's one open row per order means an earlier row did it: this one is
                # a duplicate that Nue refused or never saw.
                self._close(op, Operation.State.FAILED, error=f"Duplicate of #{earlier.pk}.")
            elif order.status == "Activated":
                self._close(op, Operation.State.SUCCEEDED, result={"resolvedOrderId": order.id})
            elif settled:
                self._close(
                    op, Operation.State.FAILED, error=f"Nue shows the order {order.status}."
                )
            return op
        found = self._change_order_for(op)
        if found is not None:
            self._close(op, Operation.State.SUCCEEDED, result={"resolvedOrderId": found.id})
        elif settled:
            self._close(
                op, Operation.State.FAILED, error="Nue shows no change order for this request."
            )
        return op

    def _resolve_hold(self, op: Operation) -> Operation:
        """A hold settles with the activation of the order it held for."""
        from orders.models import Operation

        order_id = str(op.request.get("orderId", ""))
        activation = (
            Operation.objects.filter(
                kind=Operation.Kind.ACTIVATE, target=order_id, customer=self.account
            )
            .order_by("-created_at")
            .first()
            if order_id
            else None
        )
        if activation is None or activation.created_at < op.created_at:
            # Nothing was sent under this hold yet; its holder may still be reading Nue.
            if timezone.now() - op.created_at >= STALE_HOLD:
                self._close(op, Operation.State.FAILED, error="Released: nothing was sent.")
            return op
        activation = self.resolve(activation)
        if activation.state == Operation.State.SUCCEEDED:
            self._close(op, Operation.State.SUCCEEDED, result={"orderId": order_id})
        elif not activation.is_open:
            self._close(op, Operation.State.FAILED, error=f"Activation #{activation.pk} failed.")
        return op

    def _change_order_for(self, op: Operation) -> Order | None:
        """The draft change order op's request created, if Nue shows exactly one.

        A candidate is a draft created since the request left, claimed by no other operation of
        the ledger, whose lines hold exactly the requested changes (`_draft_holds`). Anything
        else, including two candidates, is not this request's.
        """
        since = (op.sent_at or op.created_at).date()
        self._forget("orders")
        drafts = self.orders(status="draft", includes=("orderProducts",))
        claimed = change_orders_made([order.id for order in drafts])
        candidates = [
            order
            for order in drafts
            if order.id not in claimed
            and (order.created_date is None or order.created_date >= since)
            and _draft_holds(order, op.request)
        ]
        return candidates[0] if len(candidates) == 1 else None

    def _activation_result(
        self, op: Operation, order: Order, *, replayed: bool
    ) -> ActivationResult:
        data = op.result if isinstance(op.result, dict) else {}
        if "order" in data:
            activated = self._own_one(Order.parse(data["order"]), "order")
        else:
            activated = self.order(order.id, fresh=True)
        return ActivationResult(
            order=activated,
            subscriptions=tuple(
                self._own(
                    [Subscription.parse(s) for s in _objs(data, "subscriptions", "result")],
                    "subscriptions",
                )
            ),
            assets=tuple(
                self._own([Asset.parse(a) for a in _objs(data, "assets", "result")], "assets")
            ),
            invoices=tuple(Invoice.parse(i) for i in _objs(data, "invoices", "result")),
            operation_id=op.pk,
            replayed=replayed,
        )

    def _change_result(
        self, op: Operation, befores: Sequence[Subscription], *, replayed: bool
    ) -> ChangeOrderResult:
        data = op.result if isinstance(op.result, dict) else {}
        if "order" in data:
            order = self._own_one(Order.parse(data["order"]), "order")
        else:
            order = self.order(str(data.get("resolvedOrderId", "")), fresh=True)
        # The emulator summarises each touched subscription in data.assetChanges (and on the
        # stored order); without it, the portal still knows each subscription as it was, and the
        # confirm step checks every one of them for a newer version.
        raw_changes = _objs(data, "assetChanges", "change order") or list(
            _objs(_obj(data.get("order", {}), "order"), "assetChanges", "change order")
        )
        summarised = [SubscriptionChange.parse(c) for c in raw_changes]
        seen = {c.name for c in summarised}
        unsummarised = [
            SubscriptionChange(b.name, (), SubscriptionSnapshot.of(b), None, None)
            for b in {b.name: b for b in befores}.values()
            if b.name not in seen
        ]
        return ChangeOrderResult(
            order=order,
            preview_invoices=_preview_invoices(data, "change order"),
            changes=(*summarised, *unsummarised),
            warnings=tuple(_warning_text(w) for w in data.get("warnings", ()) or ()),
            operation_id=op.pk,
            replayed=replayed,
        )


def _with_warnings(envelope: Envelope) -> Envelope:
    """The answer's data with the envelope's warnings in it: the ledger keeps only data, and a
    change order read back from it must still say what Nue warned about (no tax calculated)."""
    data = envelope.data
    if not envelope.warnings or not isinstance(data, dict) or "warnings" in data:
        return envelope
    return replace(envelope, data={**data, "warnings": list(envelope.warnings)})


def _assign(op: Operation, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        setattr(op, name, value)


def _still_open(op: Operation) -> str:
    """What a retry is told while an earlier submit's outcome is open."""
    from orders.models import Operation

    if op.state != Operation.State.UNKNOWN:
        return "This is already in progress. Please wait a moment and reload."
    left = (op.sent_at or op.created_at) + NUE_SETTLES_WITHIN - timezone.now()
    minutes = max(1, -(-int(left.total_seconds()) // 60))
    return (
        "We are still checking with the billing system whether the earlier attempt went "
        "through, and send nothing again until we know: at most "
        f"{minutes} more minute{'s' if minutes != 1 else ''}. Reload then to see the result."
    )


def _ledger_target(names: Iterable[str]) -> str:
    """The ledger key of a change order: its subscription names, sorted and joined.

    Too many names for the column keep the whole names that fit and a digest of all of them, so
    the key still differs between baskets and `resolve` still finds the draft by those names.
    """
    from orders.models import Operation

    width = Operation._meta.get_field("target").max_length or 0
    joined = ",".join(sorted(set(names)))
    if len(joined) <= width:
        return joined
    digest = hashlib.sha256(joined.encode()).hexdigest()[:16]
    head = joined[: width - len(digest) - 1].rpartition(",")[0]
    return f"{head}#{digest}"


def _ledger_names(target: str) -> set[str]:
    return set(target.partition("#")[0].split(","))


def change_orders_made(order_ids: Sequence[str]) -> set[str]:
    """The orders among `order_ids` that the ledger's change operations made (a draft change
    order it created, or found it had created when the answer was lost)."""
    from orders.models import Operation

    if not order_ids:
        return set()
    rows = Operation.objects.filter(
        kind=Operation.Kind.CHANGE, state=Operation.State.SUCCEEDED
    ).filter(Q(result__order__id__in=order_ids) | Q(result__resolvedOrderId__in=order_ids))
    return {_claimed_order_id(result) for result in rows.values_list("result", flat=True)} & set(
        order_ids
    )


def _claimed_order_id(result: object) -> str:
    """The order a settled operation's result names (its answer's order, or the one resolved)."""
    if not isinstance(result, dict):
        return ""
    order = result.get("order")
    if isinstance(order, dict) and isinstance(order.get("id"), str):
        return str(order["id"])
    resolved = result.get("resolvedOrderId")
    return resolved if isinstance(resolved, str) else ""


def _draft_holds(order: Order, request: Mapping[str, Any]) -> bool:
    """Whether a draft change order holds exactly the changes of `request` (a POST /change-orders
    body): the same change types on the same subscriptions, the same quantity deltas and start
    dates, the same cross-sold products. Where Nue's lines do not say which change and which
    subscription they carry, nothing can be proven, and the draft is not the request's."""
    asked = [c for c in request.get("assetChanges", ()) if isinstance(c, dict)]
    lines = list(order.all_lines())
    typed = [ln for ln in lines if ln.change_type and ln.subscription_name]
    if not asked or not typed:
        return False
    wanted = {(c.get("changeType"), c.get("assetNumber")) for c in asked}
    names = {name for _, name in wanted}
    held = {(ln.change_type, ln.subscription_name) for ln in typed if ln.subscription_name in names}
    # Lines on other subscriptions (a bundle's add-ons) may follow a change, never add a kind.
    if held != wanted or any(ln.change_type not in {k for k, _ in wanted} for ln in typed):
        return False
    for change in asked:
        key = (change.get("changeType"), change.get("assetNumber"))
        mine = [ln for ln in typed if (ln.change_type, ln.subscription_name) == key]
        moved = sum((ln.quantity for ln in mine), Decimal(0))
        if key[0] == "UpdateQuantity" and moved != Decimal(str(change.get("quantity"))):
            return False
        start = change.get("startDate")
        first = min((ln.start_date for ln in mine if ln.start_date), default=None)
        if start is not None and (first is None or first.isoformat() != str(start)):
            return False
    products = [p for p in request.get("products", ()) if isinstance(p, dict)]
    plain = [ln for ln in order.lines if not ln.change_type]
    sold = sorted(
        (str(p.get("priceBookEntryId")), Decimal(str(p.get("quantity")))) for p in products
    )
    return sorted((str(ln.price_book_entry_id), ln.quantity) for ln in plain) == sold


# nue-api.md documents `assets` and `invoices`; the emulator returns order lines only when asked
# for `orderProducts`, so the detail view asks for it too.
ORDER_INCLUDES = frozenset({"orderProducts", "assets", "invoices"})
MAX_INVOICE_PAGE = 500


def _parse_relationships(raw: list[Any], customer_id: str) -> list[ProductRelationship]:
    result: list[ProductRelationship] = []
    for item in raw:
        d = _obj(item, "product relationship")
        owner = _ostr(d, "customerId", "product relationship")
        if owner is not None and owner != customer_id:
            security_logger.error(
                "Nue returned product relationships of another customer's subscription to a "
                "call scoped to customer %s; dropped",
                customer_id,
            )
            continue
        nested = d.get("relationships")
        if isinstance(nested, list):
            name = _str(d, "subscriptionName", "product relationship")
            result.extend(ProductRelationship.parse(r, name) for r in nested)
        else:
            result.append(ProductRelationship.parse(d))
    return result


def for_customer(account: CustomerAccount | None) -> CustomerNue | None:
    """The scope for the acting customer, or None: without one no customer verb is reachable."""
    return CustomerNue(account) if account is not None else None
