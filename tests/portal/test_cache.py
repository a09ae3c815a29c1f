"""The production cache: Django's Redis cache sharing one client per connection pool."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.core.cache import cache

pytestmark = pytest.mark.skipif(
    settings.CACHES["default"]["BACKEND"] != "portal.cache.RedisCache",
    reason="the Redis cache runs in the PostgreSQL + Redis pass of make test (REDIS_URL)",
)


@pytest.fixture(autouse=True)
def _clean():
    cache.clear()
    yield
    cache.clear()


def test_every_operation_goes_through_one_client():
    backend = cache._cache
    first = backend.get_client("a")
    assert backend.get_client("b") is first
    assert backend.get_client("a", write=True) is first  # one server: reads and writes share it


def test_it_stores_reads_and_deletes_as_django_s_cache_does():
    cache.set("portal-test:key", {"amount": "12.50"}, 30)
    assert cache.get("portal-test:key") == {"amount": "12.50"}
    assert cache.add("portal-test:key", "other") is False
    assert cache.add("portal-test:n", 1) is True
    assert cache.incr("portal-test:n") == 2
    cache.delete("portal-test:key")
    assert cache.get("portal-test:key", "gone") == "gone"


def test_threads_share_the_client_safely():
    def roundtrip(n: int) -> int:
        for i in range(50):
            cache.set(f"portal-test:{n}:{i}", n * 1000 + i, 30)
            assert cache.get(f"portal-test:{n}:{i}") == n * 1000 + i
        return n

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sorted(pool.map(roundtrip, range(8))) == list(range(8))
