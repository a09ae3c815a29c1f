"""Tenant-level calls, never handed to a view: server-side account mapping (`tenant()`), and
what `manage.py nue_check` asks of a tenant it checks (orders.tenant_check)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from orders.nue.catalog import Product
from orders.nue.errors import NueError, NueNotFound, NueProtocolError
from orders.nue.fields import _obj, _objs
from orders.nue.models import Contact, Customer, Order, SubscriptionChange
from orders.nue.requests import CHANGE_FIELDS, CUSTOMER_ID, AssetChange, Dialect, _check_id
from orders.nue.results import DraftChangeOrder
from orders.nue.transport import Envelope, NueClient, _json_list_param, _list_data, get_client

T = TypeVar("T")

# Paginated lists (customers, contacts) are read this many at a time, and at most this many
# pages: a name shared beyond that is found by its id instead.
PAGE_SIZE = 100
MAX_PAGES = 50


class Tenant:
    """Unscoped calls; never handed to a view."""

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

    def customer_count(self) -> int | None:
        # GET /customers?page=1&limit=1 (its pagination.total; None when Nue gives none)
        return self.client.get("/customers", {"page": 1, "limit": 1}).total

    def customers_named(self, name: str) -> list[Customer]:
        # GET /customers?name=...&page=...&limit=... (Nue's dynamic filter on any customer
        # field); the name is compared here as well, whether or not Nue filtered.
        wanted = name.strip().casefold()
        found = self._pages("/customers", {"name": name.strip()}, Customer.parse, "customers")
        return [c for c in found if c.name.strip().casefold() == wanted]

    def contacts_of(self, customer_id: str) -> list[Contact]:
        # GET /customers/{customerId}/contacts?page=...&limit=...
        path = f"/customers/{_check_id(customer_id, CUSTOMER_ID)}/contacts"
        return self._pages(path, {}, Contact.parse, "contacts")

    def catalog(self) -> list[Product]:
        # GET /catalog/products (a bare array: every published self-service product)
        envelope = self.client.get("/catalog/products", bare=True)
        return [Product.parse(raw) for raw in _list_data(envelope, "products")]

    def orders(self, customer_id: str, status: str | None = None) -> list[Order]:
        # GET /orders?customerIds=[...]&status=... with the status spelled exactly as given,
        # for nue_check to learn which spelling the tenant filters by.
        params: dict[str, str | int] = {
            "customerIds": _json_list_param([_check_id(customer_id, CUSTOMER_ID)])
        }
        if status is not None:
            params["status"] = status
        envelope = self.client.get("/orders", params)
        return [Order.parse(raw) for raw in _list_data(envelope, "orders")]

    def optional_read(
        self, path: str, params: Mapping[str, str | int], parse: Callable[[Envelope], T]
    ) -> T | None:
        """GET a path Nue may not serve: `parse(envelope)`, or None when Nue has no such path
        (404 for a path whose ids are known to exist, or 405). The caller checks every id in
        `path`."""
        try:
            envelope = self.client.get(path, params, bare=True)
        except NueNotFound:
            return None
        except NueError as error:
            if error.status == 405:
                return None
            raise
        return parse(envelope)

    def draft_change_order(
        self,
        customer_id: str,
        changes: Sequence[tuple[str, AssetChange]],
        *,
        name: str,
        dialect: Dialect,
    ) -> DraftChangeOrder:
        # POST /change-orders — for nue_check's probes only, which are never activated: the
        # portal's own change orders go through the operation ledger (CustomerNue.change).
        body: dict[str, Any] = {
            "name": name,
            "assetChanges": [change.to_nue(sub, dialect) for sub, change in changes],
            "options": {"previewInvoice": False, "calculateTax": False},
        }
        envelope = self.client.post("/change-orders", body, field_renames=CHANGE_FIELDS)
        data = _obj(envelope.data, "change order")
        order = Order.parse(data.get("order"))
        if order.customer_id != customer_id:
            raise NueProtocolError("Nue answered with another customer's change order.")
        raw_changes = _objs(data, "assetChanges", "change order") or _objs(
            _obj(data.get("order"), "order"), "assetChanges", "change order"
        )
        return DraftChangeOrder(
            order=order,
            changes=tuple(SubscriptionChange.parse(c) for c in raw_changes),
            warnings=envelope.warnings,
        )

    def _pages(
        self,
        path: str,
        params: Mapping[str, str | int],
        parse: Callable[[object], T],
        kind: str,
    ) -> list[T]:
        items: list[T] = []
        for page in range(1, MAX_PAGES + 1):
            envelope = self.client.get(path, {**params, "page": page, "limit": PAGE_SIZE})
            raw = _list_data(envelope, kind)
            items.extend(parse(r) for r in raw)
            total = envelope.total
            if len(raw) < PAGE_SIZE or (total is not None and len(items) >= total):
                break
        return items


def tenant() -> Tenant:
    return Tenant()
