"""How the scope reads a list answer: record by record, each checked against the customer, the
ones that do not parse told to the customer (Omitted), and arranged once per answer."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from django.utils.translation import ngettext, ngettext_lazy

from orders.nue import Envelope, Listed, NueProtocolError, Order, parse_each
from orders.nue.fields import ORDER_STATUS_FILTERS
from orders.nue.transport import _list_data

T = TypeVar("T")


class Owned(Protocol):
    @property
    def customer_id(self) -> str | None: ...


_O = TypeVar("_O", bound=Owned)


@dataclass(frozen=True, slots=True)
class ListParser(Generic[_O]):
    """Parses a list answer item by item; equal for the same parse and kind (a memo key)."""

    parse: Callable[[object], _O]
    kind: str

    def __call__(self, envelope: Envelope) -> Listed[_O]:
        return readable(
            parse_each(_list_data(envelope, self.kind), self.parse, self.kind, envelope.request_id)
        )


def readable(listed: Listed[T]) -> Listed[T]:
    """A list read, unless not one of its records parsed: then the answer as a whole is not what
    Nue documents (a changed shape, not a bad record), and the read fails as such."""
    if listed.unparsed and not listed.items:
        raise NueProtocolError(
            f"Nue sent {listed.unparsed[0].kind} none of which could be read.",
            reference=listed.reference,
        )
    return listed


@dataclass(frozen=True, slots=True)
class Arrangement(Generic[_O]):
    """How a list is shown: `arrange` sorts and filters it and depends on nothing but the list
    and `key`, so one arranging serves every request for the same answer with the same key."""

    key: Hashable
    arrange: Callable[[Sequence[_O]], Sequence[_O]]


# What a page says of the records of each kind it could not show, whole sentences per kind.
UNREADABLE = {
    "orders": ngettext_lazy(
        "%(count)d order could not be shown: the billing system sent it in a form we cannot read.",
        "%(count)d orders could not be shown:"
        " the billing system sent them in a form we cannot read.",
        "count",
    ),
    "subscriptions": ngettext_lazy(
        "%(count)d subscription could not be shown:"
        " the billing system sent it in a form we cannot read.",
        "%(count)d subscriptions could not be shown:"
        " the billing system sent them in a form we cannot read.",
        "count",
    ),
    "assets": ngettext_lazy(
        "%(count)d asset could not be shown: the billing system sent it in a form we cannot read.",
        "%(count)d assets could not be shown:"
        " the billing system sent them in a form we cannot read.",
        "count",
    ),
    "invoices": ngettext_lazy(
        "%(count)d invoice could not be shown:"
        " the billing system sent it in a form we cannot read.",
        "%(count)d invoices could not be shown:"
        " the billing system sent them in a form we cannot read.",
        "count",
    ),
    "preview invoices": ngettext_lazy(
        "%(count)d invoice of this preview could not be shown:"
        " the billing system sent it in a form we cannot read.",
        "%(count)d invoices of this preview could not be shown:"
        " the billing system sent them in a form we cannot read.",
        "count",
    ),
    "products": ngettext_lazy(
        "%(count)d product could not be shown:"
        " the billing system sent it in a form we cannot read.",
        "%(count)d products could not be shown:"
        " the billing system sent them in a form we cannot read.",
        "count",
    ),
    "price tags": ngettext_lazy(
        "%(count)d price tag could not be shown:"
        " the billing system sent it in a form we cannot read.",
        "%(count)d price tags could not be shown:"
        " the billing system sent them in a form we cannot read.",
        "count",
    ),
}


@dataclass(frozen=True, slots=True)
class Omitted:
    """Records of one kind a read of this request could not show: Nue sent them, they did not
    parse (orders.nue.models.parse_each), and each was logged under `reference`, the request id
    of Nue's answer. `keys` are their ids and names, where readable."""

    kind: str
    count: int
    reference: str
    keys: frozenset[str] = frozenset()

    @property
    def text(self) -> str:
        known = UNREADABLE.get(self.kind)
        if known is not None:
            return known % {"count": self.count}
        return ngettext(
            "%(count)d %(kind)s could not be shown: the billing system sent it in a form we cannot"
            " read.",
            "%(count)d %(kind)s could not be shown: the billing system sent them in a form we"
            " cannot read.",
            self.count,
        ) % {"count": self.count, "kind": self.kind}

    @classmethod
    def of(cls, listed: Listed[Any], mine: Sequence[Any] | None = None) -> Omitted | None:
        records = listed.unparsed if mine is None else mine
        if not records:
            return None
        keys = frozenset(k for r in records for k in (r.id, r.name) if k)
        return cls(records[0].kind, len(records), listed.reference, keys)


def of_status(status: str, then: Arrangement[Order] | None) -> Arrangement[Order]:
    """The orders of one record status, arranged as `then` says."""

    def arrange(orders: Sequence[Order]) -> Sequence[Order]:
        kept = [o for o in orders if o.status == status]
        return then.arrange(kept) if then is not None else kept

    return Arrangement(("status", status, then.key if then is not None else None), arrange)


# nue-api.md documents `assets` and `invoices`; the emulator returns order lines only when asked
# for `orderProducts`, as the getting-started guide asks for them.
ORDER_INCLUDES = frozenset({"orderProducts", "assets", "invoices"})


def record_status(status: str) -> str:
    """The record status (Draft, Activated, Canceled) a caller's status filter names."""
    if status.lower() not in ORDER_STATUS_FILTERS:
        raise ValueError(f"Unknown order status filter {status!r}.")
    return ORDER_STATUS_FILTERS[status.lower()]


def sorted_by(items: Sequence[T], key: Callable[[T], Any], descending: bool) -> list[T]:
    """`items` by `key`, those without a value (None) last in either direction.

    Lists run to 10,000 records: each key is computed once, and the sort moves positions
    rather than (key, record) pairs, so no container per record is allocated for the garbage
    collector to scan."""
    keys = [key(item) for item in items]
    ranked = sorted(
        (i for i, k in enumerate(keys) if k is not None), key=keys.__getitem__, reverse=descending
    )
    return [items[i] for i in ranked] + [x for x, k in zip(items, keys, strict=True) if k is None]


def with_id(order_id: str, orders: Sequence[Order]) -> Order | None:
    """The order of this id (or order number, as a link may name it) among `orders`."""
    return next((o for o in orders if order_id in (o.id, o.order_number)), None)
