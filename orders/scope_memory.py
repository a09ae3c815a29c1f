"""What a CustomerNue keeps: its request's memo of Nue's answers, and the catalog, price tags and
relationships it keeps in the shared cache under the customer's generation, which
`invalidate_cache` moves on so every process stops reading what was kept before."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.cache import cache

from orders.listing import Omitted, readable
from orders.nue import NueClient, parse_each
from orders.nue.transport import _list_data

# Catalog, price tags and product relationships change rarely (publishing is explicit in Nue).
CATALOG_CACHE_TTL = 300

T = TypeVar("T")


class RequestMemory:
    """What CustomerNue keeps while a request lasts, and in the shared cache: no verb of its own."""

    customer_id: str

    if TYPE_CHECKING:

        @property
        def client(self) -> NueClient: ...

    def __init__(self) -> None:
        self._memo: dict[tuple[object, ...], object] = {}
        self._memo_lock = threading.Lock()
        self._omitted: dict[str, Omitted] = {}

    def _note(self, omitted: Omitted | None) -> None:
        if omitted is not None:
            with self._memo_lock:
                self._omitted[omitted.kind] = omitted

    def omitted(self, *kinds: str) -> list[Omitted]:
        """What this request's reads of `kinds` could not show, for the page to say so.

        Pages render them with templates/orders/_omitted.html."""
        with self._memo_lock:
            return [self._omitted[kind] for kind in kinds if kind in self._omitted]

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
        key = self._cache_key(name)
        hit = cache.get(key)
        if isinstance(hit, list):
            return parse(hit)
        raw = load()
        parsed = parse(raw)
        cache.set(key, raw, CATALOG_CACHE_TTL)
        return parsed

    def _cached_list(
        self, name: str, path: str, parse: Callable[[object], T], kind: str
    ) -> list[T]:
        """GET `path` (a bare list), kept in the shared cache as `_cached` keeps answers. A
        record that does not parse is left out (parse_each) and the answer is not kept: the next
        request asks Nue again, and shows it as soon as Nue sends it readable."""
        return self._memoised(
            ("cached", name), lambda: self._load_cached_list(name, path, parse, kind)
        )

    def _load_cached_list(
        self, name: str, path: str, parse: Callable[[object], T], kind: str
    ) -> list[T]:
        key = self._cache_key(name)
        hit = cache.get(key)
        if isinstance(hit, list):
            # Kept only when every record parsed; this reference names the log of any that no
            # longer do (a newer portal reading an older answer).
            listed = parse_each(hit, parse, kind, uuid.uuid4().hex[:12])
        else:
            envelope = self.client.get(path, bare=True)
            raw = _list_data(envelope, kind)
            listed = readable(parse_each(raw, parse, kind, envelope.request_id))
            if not listed.unparsed:
                cache.set(key, raw, CATALOG_CACHE_TTL)
        self._note(Omitted.of(listed))
        return list(listed.items)

    def _cache_key(self, name: str) -> str:
        generation = self._memoised(
            ("generation",), lambda: cache.get(self._generation_key()) or "0"
        )
        return f"nue:{self.customer_id}:{generation}:{hashlib.sha256(name.encode()).hexdigest()}"

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
