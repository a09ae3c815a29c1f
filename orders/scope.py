"""The acting customer's verbs: `request.nue`, a CustomerNue bound to one customer account.

No verb takes a customer id: it is fixed from the session's membership, every object Nue returns
is checked against it, and ids are validated before any call. A customer's reads are memoised
for the request; the catalog, price tags and relationships are kept in the shared cache; a
page's independent reads run at once (`fetch_concurrently`, `fetch_alongside`). Activations and
change orders go through the operation ledger, written here too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from contextvars import copy_context
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from django.core.cache import cache
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from orders.nue import (
    ActivationResult,
    Asset,
    AssetChange,
    ChangeOrderResult,
    DraftResult,
    Envelope,
    Invoice,
    InvoicePreview,
    LineRequest,
    MagicLink,
    NueClient,
    NueConflict,
    NueError,
    NueNotFound,
    NueProtocolError,
    NueUnavailable,
    OperationInProgress,
    Order,
    Page,
    PriceTag,
    Product,
    ProductRelationship,
    Subscription,
    SubscriptionChange,
    SubscriptionSnapshot,
    get_client,
)
from orders.nue.fields import ORDER_STATUS_FILTERS, _obj, _objs, _ostr, _str
from orders.nue.models import _preview_invoices
from orders.nue.requests import (
    ACTIVATE_FIELDS,
    CATALOG_ID,
    CHANGE_FIELDS,
    CUSTOMER_ID,
    DRAFT_FIELDS,
    INVOICE_ID,
    ORDER_ID,
    SUBSCRIPTION_NAME,
    TEMPLATE_ID,
    _check_id,
)
from orders.nue.transport import _json_default, _json_list_param, _list_data

if TYPE_CHECKING:
    from orders.models import Operation
    from portal.models import CustomerAccount, User

# One logger for the security events of the Nue service module, the scope's checks included.
security_logger = logging.getLogger("orders.nue.security")

# Catalog, price tags and product relationships change rarely (publishing is explicit in Nue).
CATALOG_CACHE_TTL = 300

MAX_CONCURRENT_READS = 8

T = TypeVar("T")
U = TypeVar("U")


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


# An open operation settles as "not done" only when Nue shows the work not done this long after
# the request left: by then any request Nue received has been answered or abandoned, so a slow
# activation is never taken for a lost one and sent again. Nue showing the work done settles it
# at once, however recent.
NUE_SETTLES_WITHIN = timedelta(minutes=10)
# A hold whose holder never sent the activation it held for (its worker died before) is released
# this long after it was taken: nothing was sent under it, so there is no outcome to wait for.
STALE_HOLD = timedelta(minutes=5)
# A pending or in-flight row younger than this belongs to a worker still at work (one request:
# the reads, Nue's answer within the read timeout, the worker's own time limit); only its owner
# closes it. Older, its worker is gone (a crash, a database blip) and Nue is asked instead.
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
                        "This is already in progress. Please wait a moment and reload.",
                        reference=resolved.reference or None,
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
            self._close(op, state, error=error.message, reference=error.reference)
            raise
        except NueProtocolError as error:
            # Nue may have done the work and then sent something unreadable: find out later.
            error.outcome_unknown = True
            self._close(op, Operation.State.UNKNOWN, error=error.message, reference=error.reference)
            raise
        except NueError as error:
            self._close(op, Operation.State.FAILED, error=error.message, reference=error.reference)
            raise
        except BaseException as error:
            self._close(op, Operation.State.UNKNOWN, error=repr(error))
            raise
        self._close(
            op,
            Operation.State.SUCCEEDED,
            result=envelope.data,
            reference=envelope.request_id,
            learned_from_answer=True,
        )
        return envelope.data

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

        op.state = state
        op.error = error[:2000]
        if reference:
            op.reference = reference
        if result is not None:
            op.result = result
        op.finished_at = None if state == Operation.State.UNKNOWN else timezone.now()
        fields = ["state", "error", "reference", "result", "finished_at", "updated_at"]
        if not sent:
            op.sent_at = None
            fields.append("sent_at")
        if state != Operation.State.SUCCEEDED or not op.audit:
            # One UPDATE, atomic by itself: no transaction around it (two round trips fewer).
            op.save(update_fields=fields)
            return
        # The outcome and its audit events commit together, exactly once: whichever path learns
        # of the success first (the answer, a retry, reconcile) claims the events.
        with transaction.atomic():
            op.save(update_fields=fields)
            now = timezone.now()
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
        from orders.models import Operation

        now = timezone.now()
        Operation.objects.filter(pk__in=[op.pk for op in held]).update(
            state=state,
            finished_at=None if state == Operation.State.UNKNOWN else now,
            updated_at=now,
            error=str(fields.get("error", ""))[:2000],
            result=fields.get("result", {}),
        )

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
        if op.state != Operation.State.UNKNOWN and timezone.now() - op.updated_at < OWNER_AT_WORK:
            # Its worker may still be sending it: Nue showing the order activated could be
            # another row's doing, and this one must not be credited with it.
            return op
        settled = timezone.now() - (op.sent_at or op.created_at) >= NUE_SETTLES_WITHIN
        if op.kind == Operation.Kind.HOLD:
            return self._resolve_hold(op)
        if op.kind == Operation.Kind.ACTIVATE:
            try:
                order = self.order(op.target, fresh=True)
            except NueNotFound:
                if settled:
                    self._close(op, Operation.State.FAILED, error="The order no longer exists.")
                return op
            if order.status == "Activated":
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


def _warning_text(warning: object) -> str:
    if isinstance(warning, dict):
        return str(warning.get("message", warning))
    return str(warning)


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
