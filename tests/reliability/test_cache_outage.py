"""Redis refusing or blackholed: nobody is signed out, pages still load, the health check says so.

The production cache (portal.cache.RedisCache) is pointed at a port where nothing listens
(refused) or at a socket that accepts and never answers (blackholed). No Redis server is needed.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from django.core.cache import caches
from django.test import Client

from portal import cache as portal_cache

DEMO_PASSWORD = "portal-demo"


def _closed_port() -> int:
    """A loopback port where nothing listens: connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Blackhole:
    """Accepts connections and never answers, like a Redis behind a dropped route."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = int(self.server.getsockname()[1])
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.server.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self._held.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self._held:
            conn.close()
        self.server.close()


def _redis_cache(port: int) -> dict[str, object]:
    return {
        "default": {
            "BACKEND": "portal.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }


@pytest.fixture
def refused(settings) -> Iterator[None]:
    settings.CACHES = _redis_cache(_closed_port())
    yield
    caches["default"].close()


@pytest.fixture
def blackhole(settings) -> Iterator[Blackhole]:
    hole = Blackhole()
    settings.CACHES = _redis_cache(hole.port)
    yield hole
    caches["default"].close()
    hole.close()


def test_it_answers_reads_as_misses_and_drops_writes_while_redis_refuses(refused):
    cache = caches["default"]
    cache.set("portal-test:key", "value", 30)
    assert cache.get("portal-test:key", "missing") == "missing"
    assert cache.add("portal-test:key", "value") is False
    assert cache.get_many(["a", "b"]) == {}
    assert cache.delete("portal-test:key") is False
    with pytest.raises(ValueError, match="not found"):
        cache.incr("portal-test:n")


def _accepted(hole: Blackhole, at_least: int = 0) -> int:
    """The connections the blackhole took, once its accept loop caught up (at most a second)."""
    for _ in range(20):
        if hole.accepted >= at_least:
            break
        threading.Event().wait(0.05)
    threading.Event().wait(0.1)
    return hole.accepted


def test_a_blackholed_redis_is_asked_once_then_left_alone(blackhole):
    cache = caches["default"]
    assert cache.get("portal-test:key", "missing") == "missing"
    asked = _accepted(blackhole, at_least=1)
    assert asked >= 1
    for _ in range(20):
        assert cache.get("portal-test:key", "missing") == "missing"
        cache.set("portal-test:key", "value", 30)
    # Every later operation within RETRY_AFTER answered without a new connection or a wait.
    assert _accepted(blackhole) == asked


def test_it_tries_redis_again_after_the_pause(blackhole, monkeypatch):
    cache = caches["default"]
    cache.get("portal-test:key")
    asked = _accepted(blackhole, at_least=1)
    later = portal_cache.time.monotonic() + portal_cache.RETRY_AFTER + 1
    monkeypatch.setattr(portal_cache.time, "monotonic", lambda: later)
    assert cache.get("portal-test:key", "missing") == "missing"
    assert _accepted(blackhole, at_least=asked + 1) == asked + 1


def test_signing_in_works_while_redis_refuses(refused, ada):
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": ada.email, "password": DEMO_PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert response.wsgi_request.user == ada


def test_an_outage_after_sign_in_signs_nobody_out(settings, ada):
    client = Client()
    client.post("/accounts/login/", {"username": ada.email, "password": DEMO_PASSWORD})
    assert client.get("/").wsgi_request.user == ada
    settings.CACHES = _redis_cache(_closed_port())
    try:
        response = client.get("/orders/")
        assert response.status_code == 200
        assert response.wsgi_request.user == ada
    finally:
        caches["default"].close()


def test_the_health_check_reports_redis_and_the_database_apart(refused, db):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "cache": "down"}


def test_signing_out_while_the_cache_misses_writes_stays_signed_out(settings, ada, monkeypatch):
    client = Client()
    client.post("/accounts/login/", {"username": ada.email, "password": DEMO_PASSWORD})
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    cache = caches["default"]
    # An outage as the degrading cache meets it: writes and deletes are dropped.
    monkeypatch.setattr(cache, "set", lambda *args, **kwargs: None)
    monkeypatch.setattr(cache, "delete", lambda *args, **kwargs: False)
    client.post("/accounts/logout/")
    monkeypatch.undo()
    replayed = Client()
    replayed.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert replayed.get("/orders/").status_code == 302  # to the sign-in page


def test_production_keeps_sessions_in_the_database_alone():
    from tests.portal.test_settings import manage

    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.SESSION_ENGINE)",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr
    # Never behind Redis: after an outage it could serve a session the database no longer holds.
    assert result.stdout.strip().splitlines()[-1] == "django.contrib.sessions.backends.db"
