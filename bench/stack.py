"""The processes of the load benchmarks: a standalone emulator, portal instances, nginx.

Used by bench/portal_load.py and bench/scale_out.py. Everything runs on loopback, is started
with a deadline and is stopped by `Stack.close()` (called from a `with` block, on SIGTERM/SIGINT
too): every child runs in its own process group, which is terminated and then killed.

The portal runs with the production settings (DEBUG=false, a random SECRET_KEY, PostgreSQL,
Redis, gunicorn with gunicorn.conf.py), against the standalone emulator over HTTP. Two things
differ from a real deployment, both because the benchmark has no TLS: SECURE_SSL_REDIRECT=false,
and the clients send the (Secure) session and CSRF cookies themselves.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/12")
PASSWORD = "portal-demo"
BULK = 10_000
HUNDRED = 100
HUNDRED_NAME = "Hundred Orders Inc."
BULK_NAME = "Bulk Buyer Inc."
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Even if this process is killed outright (no cleanup runs), the kernel sends the child
    # SIGTERM: no server outlives its benchmark.
    if sys.platform == "linux":
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"Nothing answered at {url} within {seconds:.0f} s.")


class Stack:
    """Owns the temporary directory and every process started for one benchmark."""

    def __init__(self, database: str, *, deadline_seconds: int) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="portal-bench-")
        self.dir = Path(self.tmp.name)
        self.database = database
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.emulator_key = "bench-" + secrets.token_hex(16)
        self.secret_key = secrets.token_urlsafe(64)
        self.emulator_url = ""
        # What reaches the portal instead of the real services (bench/fault_test.py's relays).
        self.portal_overrides: dict[str, str] = {}
        self._empty_conf = self.dir / "empty.gunicorn.conf.py"
        self._empty_conf.write_text("")
        # Bounded time: whatever happens, the benchmark ends and its children with it.
        signal.signal(signal.SIGALRM, self._expired)
        signal.signal(signal.SIGTERM, self._expired)
        signal.alarm(deadline_seconds)

    def _expired(self, signum: int, frame: FrameType | None) -> None:
        raise SystemExit(f"Benchmark stopped by signal {signum} (deadline or SIGTERM).")

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        signal.alarm(0)
        for _, process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _, process in reversed(self.processes):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        self.processes.clear()
        self.tmp.cleanup()

    def spawn(
        self, name: str, argv: list[str], env: Mapping[str, str], cpus: str | None = None
    ) -> subprocess.Popen[bytes]:
        log = open(self.dir / f"{name}.log", "ab")  # noqa: SIM115 (the child owns it)
        if cpus and os.cpu_count() and os.cpu_count() > 1:  # type: ignore[operator]
            argv = ["taskset", "-c", cpus, *argv]
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=dict(env),
            stdout=log,
            stderr=log,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()
        self.processes.append((name, process))
        return process

    def log(self, name: str) -> str:
        path = self.dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # --- The emulator -------------------------------------------------------------------------

    def emulator_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "nue_emulator.settings",
            "NUE_EMULATOR_DATABASE_URL": f"sqlite:///{self.dir / 'emulator.sqlite3'}",
            "NUE_EMULATOR_API_KEY": self.emulator_key,
        }

    def start_emulator(self, latency_ms: int, *, cpus: str | None = None, bulk: bool = True) -> str:
        env = self.emulator_env()
        manage = [str(BIN / "python"), "manage.py"]
        commands = [["migrate", "-v0"], ["seed_emulator", "-v0"]]
        if bulk:
            commands += [
                ["seed_emulator", "-v0", "--bulk-orders", str(BULK)],
                [
                    *("seed_emulator", "-v0", "--bulk-orders", str(HUNDRED)),
                    *("--bulk-customer-name", HUNDRED_NAME),
                ],
            ]
        for command in commands:
            subprocess.run([*manage, *command], cwd=ROOT, env=env, check=True, timeout=300)
        port = free_port()
        # One process, many threads: on SQLite the emulator's writers take turns within a process
        # (nue_emulator/db.py); worker processes would contend for the file's lock instead.
        self.spawn(
            "emulator",
            [
                *(str(BIN / "gunicorn"), "nue_emulator.wsgi", "-c", str(self._empty_conf)),
                *("-b", f"127.0.0.1:{port}", "--workers", "1", "--threads", "64"),
                *("--timeout", "120", "--log-level", "warning"),
            ],
            {**env, "NUE_EMULATOR_LATENCY_MS": str(latency_ms)},
            cpus,
        )
        self.emulator_url = f"http://127.0.0.1:{port}/nue-emulator"
        wait_for_http(f"{self.emulator_url}/_emulator/journal")
        return self.emulator_url

    def nue(self, method: str, path: str, body: object = None) -> Any:
        """A call to the emulator itself (control routes, reading ids), not through the portal."""
        response = httpx.request(
            method,
            self.emulator_url + path,
            headers={"nue-api-key": self.emulator_key},
            json=body,
            timeout=60,
        )
        response.raise_for_status()
        return response.json()["data"]

    def order(self, email: str, order_id: str) -> dict[str, Any]:
        """One order of the customer whose contact has `email`, read as Nue documents it (the
        customer's list, nue-api.md §5.5): the emulator serves GET /orders/{id} only with its
        extensions on."""
        (contact,) = self.nue("GET", "/contacts?" + urlencode({"emails": json.dumps([email])}))
        query = urlencode({"customerIds": json.dumps([contact["customerId"]])})
        return next(o for o in self.nue("GET", "/orders?" + query) if o["id"] == order_id)

    def fault(self, **fault: object) -> None:
        self.nue("DELETE", "/_emulator/faults")
        if fault:
            self.nue("POST", "/_emulator/faults", fault)

    # --- The portal ---------------------------------------------------------------------------

    def portal_env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DEBUG": "false",
            "SECRET_KEY": self.secret_key,
            "SECURE_SSL_REDIRECT": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": f"{PG}/{self.database}",
            "REDIS_URL": REDIS,
            "NUE_API_URL": self.emulator_url,
            "NUE_API_KEY": self.emulator_key,
            "LOG_LEVEL": "WARNING",
            "EMAIL_URL": "dummymail://",
            **self.portal_overrides,
            **extra,
        }

    def prepare_portal(self) -> None:
        """A fresh database and Redis db, migrations, static files, the demo and bench users."""
        admin = f"{PG}/postgres"
        env = self.portal_env()
        subprocess.run(
            ["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'],
            check=True,
            timeout=60,
        )
        subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{self.database}"'], check=True)
        redis_db = REDIS.rsplit("/", 1)[1]
        subprocess.run(["redis-cli", "-n", redis_db, "flushdb"], check=True, timeout=30, stdout=-3)
        manage = [str(BIN / "python"), "manage.py"]
        for command in (
            ["migrate", "--noinput", "-v0"],
            ["collectstatic", "--noinput", "-v0"],
            ["seed_demo", "--force"],
            ["shell", "-c", BENCH_USERS],
        ):
            subprocess.run(
                [*manage, *command], cwd=ROOT, env=env, check=True, timeout=300, stdout=-3
            )

    def start_portal(
        self,
        name: str,
        *,
        app: str = "portal.wsgi",
        workers: int = 2,
        threads: int = 8,
        cpus: str | None = None,
    ) -> str:
        port = free_port()
        env = self.portal_env(
            PORT=str(port), WEB_CONCURRENCY=str(workers), GUNICORN_THREADS=str(threads)
        )
        self.spawn(
            name,
            [
                *(str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py")),
                *("--pythonpath", "bench", app),
            ],
            env,
            cpus,
        )
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/healthz")
        return url


# Two users who each see one bulk customer (100 and 10,000 orders), as admins.
BENCH_USERS = f"""
from nue_emulator.seed import demo_uuid
from portal.models import CustomerAccount, Membership, Role, User
for email, name in (("bench100@bulk.example", {HUNDRED_NAME!r}),
                    ("bench10k@bulk.example", {BULK_NAME!r})):
    account, _ = CustomerAccount.objects.get_or_create(
        nue_customer_id=demo_uuid("customer:bulk:" + name), defaults={{"name": name}})
    user, created = User.objects.get_or_create(email=email)
    if created:
        user.set_password({PASSWORD!r})
        user.save()
    Membership.objects.get_or_create(user=user, account=account, defaults={{"role": Role.ADMIN}})
"""


# --- Clients ------------------------------------------------------------------------------------


class Session:
    """A signed-in browser: its cookies sent explicitly (they are Secure, the bench has no TLS)."""

    def __init__(self, base_url: str, cookies: dict[str, str]) -> None:
        self.base_url = base_url
        self.cookies = cookies

    @property
    def header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    @property
    def csrf(self) -> str:
        return self.cookies["csrftoken"]

    def request(
        self, method: str, path: str, *, base_url: str | None = None, **kw: Any
    ) -> httpx.Response:
        headers = {"Cookie": self.header, "X-CSRFToken": self.csrf, **kw.pop("headers", {})}
        response = httpx.request(
            method, (base_url or self.base_url) + path, headers=headers, timeout=120, **kw
        )
        self.cookies.update(
            {c.name: c.value for c in response.cookies.jar if c.value}  # type: ignore[misc]
        )
        return response


def sign_in(base_url: str, email: str) -> Session:
    page = httpx.get(f"{base_url}/accounts/login/", timeout=30)
    cookies = {"csrftoken": page.cookies["csrftoken"]}
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the sign-in page"
    session = Session(base_url, cookies)
    response = session.request(
        "POST",
        "/accounts/login/",
        data={"csrfmiddlewaretoken": token.group(1), "username": email, "password": PASSWORD},
    )
    if response.status_code != 302 or "sessionid" not in session.cookies:
        raise SystemExit(f"Sign-in of {email} failed: {response.status_code}")
    return session


class FormFields(HTMLParser):
    """The successful controls of one <form id=...>, as a browser would submit them."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or ("name" not in a and tag != "option"):
            return
        if tag == "input" and a.get("type") not in ("submit", "button", "checkbox", "radio"):
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "input" and "checked" in a:
            self.fields.append((a["name"], a.get("value", "on")))
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None


def form_fields(html: str, form_id: str) -> list[tuple[str, str]]:
    parser = FormFields(form_id)
    parser.feed(html)
    return parser.fields


def dump(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=1))
