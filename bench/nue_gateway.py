"""Benchmarks of the Nue service module: a three-read page's fan-out, and the module's overhead.

    .venv/bin/python bench/nue_gateway.py [--latency-ms 50] [--rounds 30] [--write]

1. Fan-out: starts the standalone emulator (gunicorn, its own SQLite file in a temporary directory,
   NUE_EMULATOR_LATENCY_MS on every call), points the gateway at it over real HTTP and times one
   read against a dashboard-like page of three reads run with `fetch_concurrently` (and, for
   comparison, the same three one after another). Target: page <= 1.3 x the slowest single read.
2. Overhead: a 100-order list served from memory (httpx.MockTransport), so what is timed is the
   module alone: JSON decoding, model parsing with its checks, the ownership filter. Target: parse
   and checks < 1 ms.

`--write` appends the results to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
API_KEY = "nue-emulator-dev-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_emulator(workdir: Path, latency_ms: int) -> tuple[subprocess.Popen[bytes], str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nue_emulator.settings",
        "NUE_EMULATOR_DATABASE_URL": f"sqlite:///{workdir / 'emulator.sqlite3'}",
        "NUE_EMULATOR_API_KEY": API_KEY,
    }
    for command in (["migrate", "-v0"], ["seed_emulator", "-v0"]):
        subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env=env, check=True)
    port = free_port()
    config = workdir / "gunicorn.conf.py"
    config.write_text("")  # keep the portal's production gunicorn.conf.py out of this process
    server = subprocess.Popen(
        [
            str(Path(PYTHON).parent / "gunicorn"),
            "nue_emulator.wsgi",
            "-c",
            str(config),
            "-b",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "16",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**env, "NUE_EMULATOR_LATENCY_MS": str(latency_ms)},
    )
    base_url = f"http://127.0.0.1:{port}/nue-emulator"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server, base_url
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("The standalone emulator did not start.")


def setup_portal(workdir: Path, base_url: str) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "NUE_API_URL": base_url,
            "NUE_API_KEY": API_KEY,
            "DATABASE_URL": f"sqlite:///{workdir / 'portal.sqlite3'}",
            "LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(call: Callable[[], object], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def fan_out(rounds: int) -> dict[str, float]:
    from orders import nue
    from orders.fanout import fetch_concurrently
    from orders.scope import CustomerNue
    from portal.models import CustomerAccount

    (contact,) = nue.tenant().contacts_by_email(["ada@acme.example"])
    account = CustomerAccount(nue_customer_id=contact.customer_id, name="Acme")

    def scope() -> CustomerNue:
        # A fresh scope per sample: each page view starts with an empty request memo.
        return CustomerNue(account)

    reads: dict[str, Callable[[CustomerNue], object]] = {
        "orders": lambda s: s.orders(),
        "subscriptions": lambda s: s.subscriptions(),
        "invoices": lambda s: s.invoices(limit=25),
    }
    for read in reads.values():  # warm the connection pool and the emulator
        read(scope())
    singles = {
        name: median_ms(timed(lambda r=read: r(scope()), rounds)) for name, read in reads.items()
    }

    def page() -> None:
        s = scope()
        fetch_concurrently(**{name: (lambda r=read: r(s)) for name, read in reads.items()})

    def sequential() -> None:
        s = scope()
        for read in reads.values():
            read(s)

    return {
        **{f"one read: {name}": ms for name, ms in singles.items()},
        "three reads, concurrently": median_ms(timed(page, rounds)),
        "three reads, one after another": median_ms(timed(sequential, rounds)),
        "slowest single read": max(singles.values()),
    }


def overhead(rounds: int) -> dict[str, float]:
    import httpx

    from orders import nue
    from orders.scope import CustomerNue
    from portal.models import CustomerAccount

    (contact,) = nue.tenant().contacts_by_email(["ada@acme.example"])
    account = CustomerAccount(nue_customer_id=contact.customer_id, name="Acme")
    live = CustomerNue(account).client.get(
        "/orders",
        {"customerIds": json.dumps([contact.customer_id]), "includes": "orderProducts"},
    )
    sample = live.data
    with_lines = []
    for index in range(100):
        order = copy.deepcopy(sample[index % len(sample)])
        order["id"] = str(uuid.uuid4())
        with_lines.append(order)
    without_lines = [{k: v for k, v in o.items() if k != "orderProducts"} for o in with_lines]

    def encode(orders: list[dict[str, object]]) -> bytes:
        def number(value: object) -> object:
            if isinstance(value, Decimal):
                return float(value)
            raise TypeError(type(value).__name__)

        return json.dumps(
            {"status": "SUCCESS", "data": orders, "warnings": []}, default=number
        ).encode()

    results: dict[str, float] = {}
    for label, orders in (("list (no lines)", without_lines), ("with lines", with_lines)):
        body = encode(orders)
        client = nue.NueClient(
            "https://nue.bench",
            "k",
            transport=httpx.MockTransport(lambda request, b=body: httpx.Response(200, content=b)),
        )
        scope = CustomerNue(account, client)
        decoded = json.loads(body, parse_float=Decimal)["data"]

        def parse(decoded: list[object] = decoded, scope: CustomerNue = scope) -> None:
            scope._own(nue.parse_each(decoded, nue.Order.parse, "orders", "bench"), "orders")

        many = rounds * 10
        results[f"100 orders {label}: JSON decode"] = (
            min(timed(lambda b=body: json.loads(b, parse_float=Decimal), many)) * 1000
        )
        results[f"100 orders {label}: parse + checks"] = min(timed(parse, many)) * 1000
        results[f"100 orders {label}: whole verb, in-memory transport"] = (
            min(timed(lambda s=scope: (s._forget("orders"), s.orders()), many)) * 1000
        )
        client.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--write", action="store_true", help="Append to bench/RESULTS.md.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        server, base_url = start_emulator(workdir, args.latency_ms)
        try:
            setup_portal(workdir, base_url)
            fan = fan_out(args.rounds)
            cost = overhead(args.rounds)
        finally:
            server.terminate()
            server.wait(timeout=10)
    ratio = fan["three reads, concurrently"] / fan["slowest single read"]
    lines = [
        "",
        "## The Nue service module (orders/nue/, orders/scope.py): fan-out and per-call overhead",
        "",
        f"Command: `.venv/bin/python bench/nue_gateway.py --latency-ms {args.latency_ms} "
        f"--rounds {args.rounds}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}). Standalone emulator under "
        f"gunicorn (1 worker, 16 threads) with {args.latency_ms} ms injected on every call; "
        "the gateway reaches it over HTTP on loopback. Medians of the rounds.",
        "",
        "| Measurement | ms |",
        "|---|---:|",
        *[f"| {name} | {ms:.1f} |" for name, ms in fan.items()],
        "",
        f"**Three-read page / slowest single read: {ratio:.2f}** (target <= 1.30).",
        "",
        "Module overhead for a 100-order list from an in-memory transport (best of "
        f"{args.rounds * 10} runs; parse + checks = typed models, required-field and type checks, "
        "bundle tree, ownership filter; target < 1 ms):",
        "",
        "| Measurement | ms |",
        "|---|---:|",
        *[f"| {name} | {ms:.3f} |" for name, ms in cost.items()],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        with open(ROOT / "bench" / "RESULTS.md", "a") as results:
            results.write(text)


if __name__ == "__main__":
    main()
