"""Django's Redis cache, shared per connection pool, that degrades instead of failing.

Django builds a new `redis.Redis` for every cache operation, and each one rebuilds its table of
response callbacks (about a thousand entries), paid for the session and every cached Nue read of
every request. A client over a connection pool is safe to share between threads, so each pool
gets one, made when the pool is first used.

Redis holds nothing the portal cannot do without: sessions live in the database (settings), and
cached Nue reads are read again from Nue. So when Redis refuses, resets or
stops answering, an operation answers as a miss (reads) or as not stored (writes), and the
process leaves Redis alone for `RETRY_AFTER` seconds: a blackholed Redis costs one socket
timeout per process in that time, not one per operation of every request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends import redis as django_redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Seconds a process skips Redis after an operation failed on the connection.
RETRY_AFTER = 5.0
# What an outage looks like to redis-py: refused, reset, unreachable or too slow.
OUTAGE = (RedisConnectionError, RedisTimeoutError, OSError)


class SharedClient(django_redis.RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[Any, Any] = {}
        self._down_until = 0.0
        self._lock = threading.Lock()

    # The stubs declare only the public interface; the two private members are Django's.
    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(pool)
        if client is None:
            new = self._client(connection_pool=pool)  # type: ignore[attr-defined]
            client = self._clients.setdefault(pool, new)
        return client

    @property
    def available(self) -> bool:
        """False while this process is leaving Redis alone after a failure."""
        return time.monotonic() >= self._down_until

    def _guarded(self, call: Callable[..., T], fallback: T, *args: Any) -> T:
        if not self.available:
            return fallback
        try:
            return call(*args)
        except OUTAGE as error:
            with self._lock:
                first = self.available
                self._down_until = time.monotonic() + RETRY_AFTER
            if first:
                logger.warning(
                    "Redis %s failed (%s); serving without the cache for %.0f s",
                    call.__name__,
                    type(error).__name__,
                    RETRY_AFTER,
                )
            return fallback

    def add(self, key: Any, value: Any, timeout: Any) -> bool:
        return self._guarded(super().add, False, key, value, timeout)

    def get(self, key: Any, default: Any) -> Any:
        return self._guarded(super().get, default, key, default)

    def set(self, key: Any, value: Any, timeout: Any) -> None:
        self._guarded(super().set, None, key, value, timeout)

    def touch(self, key: Any, timeout: Any) -> bool:
        return self._guarded(super().touch, False, key, timeout)

    def delete(self, key: Any) -> bool:
        return self._guarded(super().delete, False, key)

    def get_many(self, keys: Any) -> dict[Any, Any]:
        return self._guarded(super().get_many, {}, keys)

    def has_key(self, key: Any) -> bool:
        return self._guarded(super().has_key, False, key)

    def incr(self, key: Any, delta: int) -> Any:
        missing = object()
        value = self._guarded(super().incr, missing, key, delta)
        if value is missing:
            # Django's contract for a key the cache does not hold.
            raise ValueError(f"Key '{key}' not found.")
        return value

    def set_many(self, data: Any, timeout: Any) -> None:
        self._guarded(super().set_many, None, data, timeout)

    def delete_many(self, keys: Any) -> None:
        self._guarded(super().delete_many, None, keys)

    def clear(self) -> bool:
        return self._guarded(super().clear, False)

    def ping(self) -> bool:
        """Whether Redis answers now (the health check); does not wait out RETRY_AFTER."""
        try:
            return bool(self.get_client().ping())
        except OUTAGE:
            return False


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedClient

    def ping(self) -> bool:
        return bool(self._cache.ping())  # type: ignore[attr-defined]
