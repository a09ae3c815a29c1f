"""Casing quirks and field readers: the one place that knows Nue's spelling variants.

Every typed model of orders.nue.models reads Nue's JSON through these; a field that is missing
or of the wrong type raises NueProtocolError naming the object kind and the key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from orders.nue.errors import NueProtocolError

ORDER_STATUSES = {"draft": "Draft", "activated": "Activated", "canceled": "Canceled"}
# The order statuses a caller may ask GET /orders for, by the record status they keep.
ORDER_STATUS_FILTERS = {
    "draft": "Draft",
    "active": "Activated",
    "activated": "Activated",
    "canceled": "Canceled",
}
# What is sent as GET /orders' `status` filter. The guides disagree on activated orders:
# nue-docs/retrieve-orders.txt lists the filter values as "active, draft, canceled", while
# nue-docs/getting-started-with-order-management.txt (step 4) sends `status=activated`, and no
# API reference page at hand settles it. So activated orders are asked for without a filter and
# picked by the record's own `status`, whose values the order data reference gives as Draft,
# Activated, Canceled (nue-api.md §3.1). Draft and canceled are sent as the list guide spells
# them (no guide disagrees), and every answer is still filtered by the record status, so a filter
# Nue ignores or reads differently never shows orders of another status.
ORDER_STATUS_QUERY = {"Draft": "draft", "Canceled": "canceled"}
OPTION_TYPES = {
    "bundled": "bundled",
    "required": "required",
    "optional": "optional",
    "recommended": "optional",
}

SUBSCRIPTION_STATUSES = {
    "active": "Active",
    "pending": "Pending",
    "canceled": "Canceled",
    "cancelled": "Canceled",
    "expired": "Expired",
}

RELATIONSHIP_TYPES = {"upgrade": "Upgrade", "downgrade": "Downgrade", "swap": "Swap"}


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
    if isinstance(value, str) and value:
        # A number sent as a string, as amounts may be (see _to_dec).
        value = _to_dec(value, kind, key)
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
