"""Shared fixtures: the seeded demo tenant, personas, and a guard against real network calls."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client, TransactionTestCase
from django.test.utils import override_settings
from django.utils import timezone, translation
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django.plugin import blocking_manager_key

from nue_emulator import journal
from orders import capabilities, nue
from portal import mfa
from portal.models import User
from tests import demo

LOGIN_BACKEND = "portal.backends.MembershipBackend"
# Tests only: every seeding of the demo hashes its seven sign-ins' passwords (on SQLite after
# every transactional test) and browser tests sign in; a production-strength hash each time
# would be most of their cost.
FAST_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"
REDIS_DATABASES = 16


def pytest_configure(config: pytest.Config) -> None:
    """Test settings, in place before any fixture, seed or live server reads them."""
    # The emulator keeps its journal only while its control endpoints are on (DEBUG in the
    # portal's settings); tests assert on upstream traffic through it whatever DEBUG says, and an
    # empty journal would pass every "nothing was written" assertion. The emulator serves no
    # more than Nue documents, whatever the environment says (nue-api.md §5.18c): the tests of
    # its extensions turn them on for themselves.
    overrides: dict[str, Any] = {
        "PASSWORD_HASHERS": [FAST_HASHER],
        "NUE_EMULATOR_CONTROL": True,
        "NUE_EMULATOR_EXTENSIONS": False,
        # Stripe is off unless a test asks for localstripe (`stripe_on`), whatever .env says.
        "STRIPE_SECRET_KEY": "",
        "STRIPE_PUBLISHABLE_KEY": "",
        "STRIPE_API_BASE": "",
        "STRIPE_JS_URL": "",
        "NUE_COLLECTION_MODE": "payment_links",
        # The mail worker hands messages to Django's test outbox (mail.outbox); Django's test
        # setup points EMAIL_BACKEND there too, so only tests of the queue use OutboxBackend.
        "OUTBOX_DELIVERY_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        # WhiteNoise indexes STATIC_ROOT whenever a handler loads the middleware, which the
        # test client does for every client: once `make bench` (or a release) has collected
        # the static files there, that index doubled the suite's time. Looked up per request
        # instead, as in development.
        "WHITENOISE_AUTOREFRESH": True,
    }
    cache = settings.CACHES["default"]
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and cache["BACKEND"] == "portal.cache.RedisCache":
        overrides["CACHES"] = {"default": {**cache, "LOCATION": worker_redis_url(cache, worker)}}
    override_settings(**overrides).enable()
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        flush_with_delete()
        restore_instead_of_flushing()


def flush_with_delete() -> None:
    """PostgreSQL: empty the tables after each transactional test with DELETE, not TRUNCATE.

    TRUNCATE gives every table and index a new file, a fixed cost per table that is many times
    what deleting the demo's few hundred rows costs. Django's foreign keys on PostgreSQL are
    checked at commit and the flush is one transaction, so the order of the tables is free.
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade:
            return truncate(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        return [f"DELETE FROM {self.quote_name(table)};" for table in tables]

    DatabaseOperations.sql_flush = sql_flush


def restore_instead_of_flushing() -> None:
    """PostgreSQL: a transactional test ends with the demo tenant copied back from its snapshot,
    in place of Django's flush: the flush would empty the tables, make the content types and
    permissions anew (its post_migrate) and leave the copy to empty them all again."""
    flush = TransactionTestCase._fixture_teardown

    def _fixture_teardown(self: TransactionTestCase) -> None:
        if _snapshot_tables and self.available_apps is None:
            restore_demo_tenant()
        else:
            flush(self)

    TransactionTestCase._fixture_teardown = _fixture_teardown


def worker_redis_url(cache: dict[str, Any], worker: str) -> str:
    """REDIS_URL's database for the first pytest-xdist worker, the ones below it for the others.

    A database each rather than a key prefix each: cache.clear() empties the whole database, and
    with it the other worker's sessions.
    """
    index = int(worker.removeprefix("gw"))
    if index >= REDIS_DATABASES:
        raise pytest.UsageError(f"{index + 1} workers, but Redis has {REDIS_DATABASES} databases")
    url = urlsplit(str(cache["LOCATION"]))
    database = int(url.path.strip("/") or 0)
    return urlunsplit(url._replace(path=f"/{(database - index) % REDIS_DATABASES}"))


@contextmanager
def installed_client(
    transport: httpx.BaseTransport, base_url: str = "", api_key: str = "", **options: Any
) -> Iterator[nue.NueClient]:
    """Every Nue call of the process goes through `transport` until the block ends.

    The URL and key default to the embedded emulator's; `options` go to NueClient (`sleep`).
    """
    client = nue.NueClient(
        base_url or settings.NUE_EMULATOR_URL,
        api_key or settings.NUE_API_KEY,
        transport=transport,
        **options,
    )
    previous = nue.install_client(client)
    try:
        yield client
    finally:
        nue.install_client(previous)
        client.close()


def seed_demo_tenant() -> None:
    call_command("seed_emulator", verbosity=0)
    call_command("seed_demo", verbosity=0, force=True)
    # Seeding the sign-ins calls the emulator; its journal is in the database now, and each test
    # starts from an empty one as it starts from the seeded tenant.
    journal.clear()


# PostgreSQL: the tables as first seeded, copied into a schema of their own (out of the search
# path, so no flush sees it) and copied back after each transactional test. Seeding again goes
# through the emulator's pricing, hundreds of queries; the copy is two statements a table.
SNAPSHOT = "demo_snapshot"
_snapshot_tables: list[str] = []
_seeded: list[bool] = []


def take_snapshot() -> None:
    tables = sorted(
        connection.introspection.django_table_names(only_existing=True, include_views=False)
    )
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {SNAPSHOT} CASCADE")
        cursor.execute(f"CREATE SCHEMA {SNAPSHOT}")
        for table in tables:
            cursor.execute(f"CREATE TABLE {SNAPSHOT}.{quote(table)} AS TABLE {quote(table)}")
    _snapshot_tables[:] = tables


def restore_demo_tenant() -> None:
    """The demo tenant back as first seeded; seeded again where there is no snapshot."""
    if not _snapshot_tables:
        seed_demo_tenant()
        return
    quote = connection.ops.quote_name
    # One transaction: the foreign keys are checked at its commit, whatever the table order.
    # The flush's post_migrate made content types and permissions anew; the copies replace them.
    with transaction.atomic(), connection.cursor() as cursor:
        for table in _snapshot_tables:
            cursor.execute(f"DELETE FROM {quote(table)}")
        for table in _snapshot_tables:
            cursor.execute(f"INSERT INTO {quote(table)} TABLE {SNAPSHOT}.{quote(table)}")
    ContentType.objects.clear_cache()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Seed the emulator's demo tenant and the portal's demo sign-ins once per run."""
    with django_db_blocker.unblock():
        seed_demo_tenant()
        _seeded.append(True)
        if connection.vendor == "postgresql":
            take_snapshot()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A transactional test empties every table when it ends; put the demo tenant back.

    A hook rather than a fixture: it must run after pytest-django's own teardown has flushed.
    """
    result = yield
    marker = item.get_closest_marker("django_db")
    # After the last test the session's test database is already gone.
    # On PostgreSQL the teardown itself copied the tenant back (restore_instead_of_flushing).
    transactional = marker is not None and marker.kwargs.get("transaction")
    # Browser tests skipped on a laptop without Chromium never set the database up.
    if nextitem is not None and transactional and _seeded and not _snapshot_tables:
        with item.config.stash[blocking_manager_key].unblock():
            restore_demo_tenant()
    return result


@pytest.fixture(autouse=True)
def _fresh_capabilities() -> None:
    """Each test reads the tenant's capability record afresh: one a rolled-back test saved would
    otherwise stay in this process's copy of it (orders.capabilities) for the next test."""
    capabilities.forget()


@pytest.fixture(autouse=True)
def _default_language_and_zone() -> None:
    """Each test starts in the portal's default language and time zone: a request made as a
    person activates theirs on the test's thread (portal.middleware), and it would stay."""
    translation.activate(settings.LANGUAGE_CODE)
    timezone.deactivate()


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with an empty cache. Cached Nue answers outlive the rows they came from:
    a test's transaction is rolled back or its tables emptied, while a catalog it poisoned stays
    cached under the generation it set, for whichever test the worker runs next."""
    cache.clear()


def _is_local(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_network(monkeypatch) -> None:
    """Tests reach only loopback services (PostgreSQL, Redis, a live server, Chromium)."""
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: object) -> object:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0])  # type: ignore[index]
            if not _is_local(host):
                raise RuntimeError(f"Test tried to reach the network: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


@pytest.fixture(autouse=True)
def _no_live_preview_limit(settings) -> None:
    """Tests preview far faster than anyone types, as one person across tests; the limit has
    its own test."""
    settings.LIVE_PREVIEWS_PER_WINDOW = 1_000_000


LOCALSTRIPE_START_SECONDS = 20


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """One localstripe process for the test session (per xdist worker): its base URL.

    Outside CI a machine without it skips the Stripe tests with the reason; with CI=true that is
    a failure. Started empty (--from-scratch): it saves its state but never reads it back."""
    command = shutil.which("localstripe", path=os.path.dirname(sys.executable))
    if command is None:
        _skip_or_fail("localstripe is not installed (make install installs it)")
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="localstripe-")
    log = open(os.path.join(workdir, "localstripe.log"), "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [command, "--port", str(port), "--from-scratch"], cwd=workdir, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + LOCALSTRIPE_START_SECONDS
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log.close()
                _skip_or_fail(f"localstripe did not start on port {port} (log: {log.name})")
            time.sleep(0.1)
    yield base
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def stripe_on(settings, localstripe: str) -> str:
    """The portal with Stripe configured, against this session's localstripe."""
    settings.STRIPE_SECRET_KEY = "sk_test_portal"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_portal"
    settings.STRIPE_API_BASE = localstripe
    settings.STRIPE_JS_URL = ""
    return localstripe


def _persona(email: str) -> User:
    return User.objects.get(email=email)


@pytest.fixture
def ada(db) -> User:
    """Admin member of Acme."""
    return _persona(demo.ADA)


@pytest.fixture
def ben(db) -> User:
    """Viewer member of Acme."""
    return _persona(demo.BEN)


@pytest.fixture
def bob(db) -> User:
    """Buyer member of Acme: activates up to the approval threshold."""
    return _persona(demo.BOB)


@pytest.fixture
def grace(db) -> User:
    """Admin member of Globex, who must never see Acme's data."""
    return _persona(demo.GRACE)


@pytest.fixture
def maria(db) -> User:
    """Account manager with Acme and Globex in her book."""
    return _persona(demo.MARIA)


@pytest.fixture
def sam(db) -> User:
    """Support agent with the impersonate permission."""
    return _persona(demo.SAM)


@pytest.fixture
def superuser(db) -> User:
    return _persona(demo.SUPERUSER)


def signed_in(user: User, *, verified: bool | None = None) -> Client:
    """A client holding a session signed in as `user`, as Django's login() leaves it, and past
    the second factor where the user's role requires one: the user gets an authenticator app
    (`authenticator`) and the session is marked verified by it, as the code page leaves it.
    `verified=False`: signed in with the password only (no authenticator is made: call
    `authenticator(user)` for one); `verified=True`: verified whatever the role.

    Not through Client.force_login: that runs login() with its receivers (django-axes' access
    log, the sign-in audit entry, last_login), a dozen writes for each of the suite's two
    thousand sign-ins, which tests of signing in exercise through the real form instead.
    """
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = LOGIN_BACKEND
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if verified is None:
        verified = mfa.requires_mfa(user)
    if verified:
        mark_verified(session, authenticator(user))
    session.save()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return client


def authenticator(user: User) -> TOTPDevice:
    """The user's authenticator app (django-otp's TOTP device), made if they have none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=mfa.AUTHENTICATOR_NAME, confirmed=True)
    return device


def mark_verified(session: SessionBase, device: TOTPDevice) -> None:
    """Mark a session as past its second factor, as django_otp.login() does after a code."""
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id


def verify_client(client: Client, user: User) -> None:
    """A client signed in some other way (force_login, the sign-in form) past its second factor."""
    session = client.session
    mark_verified(session, authenticator(user))
    session.save()


def totp_code(device: TOTPDevice, *, at: float | None = None) -> str:
    """The code `device`'s authenticator app shows, one the device has not taken yet (a code
    works once: within the same 30 seconds the next step's code, which the device's tolerance
    accepts, or after a wait)."""
    device.refresh_from_db()
    now = time.time() if at is None else at
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = now
    current = totp.t()
    step = max(current, device.last_t + 1)
    if step > current + device.tolerance:
        time.sleep(device.t0 + (step - device.tolerance - device.drift) * device.step - now + 0.1)
    totp.drift = 0
    totp.time = device.t0 + step * device.step
    return str(totp.token()).zfill(device.digits)


@pytest.fixture
def ada_client(ada) -> Client:
    return signed_in(ada)


@pytest.fixture
def ben_client(ben) -> Client:
    return signed_in(ben)


@pytest.fixture
def bob_client(bob) -> Client:
    return signed_in(bob)


@pytest.fixture
def grace_client(grace) -> Client:
    return signed_in(grace)


@pytest.fixture
def maria_client(maria) -> Client:
    return signed_in(maria)


@pytest.fixture
def sam_client(sam) -> Client:
    return signed_in(sam)
