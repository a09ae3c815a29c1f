"""The acting customer's verbs: `request.nue`, a CustomerNue bound to one customer account.

No verb takes a customer id: it is fixed from the session's membership, every object Nue returns
is checked against it, and ids are validated before any call. A customer's reads are memoised
for the request; the catalog, price tags and relationships are kept in the shared cache; a
page's independent reads run at once (`fetch_concurrently`, `fetch_alongside`). Activations and
change orders go through the operation ledger (orders.ledger), which this module calls into.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from django.core.cache import cache
from django.db import connection, connections

from orders.ledger import Ledger
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
    NueNotFound,
    NueProtocolError,
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
from orders.nue.transport import _json_list_param, _list_data

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
        self.ledger = Ledger(account, self)

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
        *,
        fresh: bool = False,
    ) -> list[Order]:
        # GET /orders?customerIds=[...]&status=...&includes=...
        # `arrangement` sorts and filters them; done once per answer (ParsedAnswer). `fresh`:
        # asked of Nue again, not answered from this request's memo.
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
        if fresh:
            self._forget("orders")
        arranged = arrangement.key if arrangement is not None else None
        key = ("orders", params.get("status"), params.get("includes"), arranged)
        return self._memoised(
            key, lambda: self._list("/orders", params, Order.parse, "orders", arrangement)
        )

    def order(self, order_id: str, *, fresh: bool = False) -> Order:
        # GET /orders/{orderId}?includes=orderProducts,assets,invoices, checked against the
        # customer; on 404, GET /orders?customerIds=[...]&includes=... and this id.
        # Nue documents only the list (nue-api.md §2.1, §5.5), but the list costs the customer's
        # whole history per detail page, with every order's lines, assets and invoices. So: the
        # single GET first (the emulator serves it, and ownership is verified on the answer), and
        # the documented list when Nue has no such path.
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
        op, replay = self.ledger.open_activation(
            order.id, body, actor, on_behalf_of, audit=audit, amount=order.total
        )
        if replay is not None:
            return self._activation_result(replay, order, replayed=True)
        if not order.is_draft:
            self.ledger.refuse(op, "The order is not a draft.")
            raise NueConflict("This order is no longer a draft.")
        data = self.ledger.send(
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
        versions = {before.name: before.version for before in befores}
        op, replay = self.ledger.open_change(versions, body, actor, on_behalf_of)
        if replay is None:
            op.result = self.ledger.send(
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

    # Results of the ledger's writes --------------------------------------------------------------

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
        asked = _asked_types(op.request)
        unsummarised = [
            SubscriptionChange(
                b.name, asked.get(b.name, ()), SubscriptionSnapshot.of(b), None, None
            )
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


def _asked_types(request: object) -> dict[str, tuple[str, ...]]:
    """The change types a change-order request asked for, per subscription it names."""
    found: dict[str, list[str]] = {}
    changes = request.get("assetChanges") if isinstance(request, dict) else None
    for change in changes if isinstance(changes, list) else ():
        if isinstance(change, dict) and isinstance(change.get("changeType"), str):
            types = found.setdefault(str(change.get("assetNumber")), [])
            if change["changeType"] not in types:
                types.append(change["changeType"])
    return {name: tuple(types) for name, types in found.items()}


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
