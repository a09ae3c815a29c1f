"""Benchmark the standalone Nue emulator over real HTTP (gunicorn, loopback).

Measures what issue 3 promises: `GET /orders` for a customer with 10,000 orders (< 1 s) and
pricing a 50-line draft (< 200 ms), plus a few neighbours for context.

    .venv/bin/python bench/emulator_bench.py            # print the results
    .venv/bin/python bench/emulator_bench.py --write    # also append them to bench/RESULTS.md

It builds a throwaway SQLite database in a temporary directory, seeds the demo tenant with
10,000 bulk orders, starts `gunicorn nue_emulator.wsgi` on a free port and times each request
(median and p95 of several runs, after one warm-up).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
KEY = "nue-emulator-bench-key"
BULK_NAME = "Bulk Buyer Inc."
RUNS = 15


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def timed(fn, runs: int = RUNS) -> tuple[float, float, object]:
    fn()  # warm-up
    samples = []
    last = None
    for _ in range(runs):
        started = time.perf_counter()
        last = fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="nue-emulator-bench-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nue_emulator.settings",
        "NUE_EMULATOR_DATABASE_URL": f"sqlite:///{workdir / 'emulator.sqlite3'}",
        "NUE_EMULATOR_API_KEY": KEY,
    }
    env.pop("NUE_EMULATOR_LATENCY_MS", None)
    manage(env, "migrate", "--noinput", "-v0")
    started = time.perf_counter()
    manage(env, "seed_emulator", "-v0", "--bulk-orders", "10000", "--bulk-customer-name", BULK_NAME)
    seed_seconds = time.perf_counter() - started

    port = free_port()
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "nue_emulator.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "--threads",
            "8",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/nue-emulator"
    try:
        client = httpx.Client(base_url=base, headers={"nue-api-key": KEY}, timeout=30)
        for _ in range(100):
            try:
                client.get("/catalog/products")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        results = measure(client)
    finally:
        server.terminate()
        server.wait(timeout=10)

    report = render(results, seed_seconds)
    print(report)
    if args.write:
        path = ROOT / "bench" / "RESULTS.md"
        if not path.exists():
            path.write_text("# Benchmark results\n")
        with path.open("a") as out:
            out.write("\n" + report)


def measure(client: httpx.Client) -> list[tuple[str, float, float, str, str]]:
    customers = client.get("/customers", params={"limit": 500}).json()["data"]
    bulk = next(c["id"] for c in customers if c["name"] == BULK_NAME)
    acme = next(c["id"] for c in customers if c["name"].startswith("Acme"))
    products = {p["sku"]: p for p in client.get("/catalog/products").json()}
    plans = [
        products[s]["priceBookEntries"][0]["id"]
        for s in ("PLAN-STARTER-US", "PLAN-PRO-US", "PLAN-ENTERPRISE-US")
    ]
    start = date.today().isoformat()
    draft = {
        "customer": {"id": acme},
        "effectiveDate": start,
        "options": {"previewInvoice": True, "calculateTax": True},
        "orderProducts": [
            {
                "priceBookEntryId": plans[i % 3],
                "quantity": 1 + i,
                "subscriptionStartDate": start,
                "subscriptionTerm": 12,
                "priceTagCodes": ["SEATS-TIERED"] if i % 2 else ["WELCOME10"],
            }
            for i in range(50)
        ],
    }
    preview = {k: v for k, v in draft.items() if k != "options"}
    ids = json.dumps([bulk])
    rows = []

    def row(label: str, fn, budget: str) -> None:
        median, p95, response = timed(fn)
        assert response.status_code < 300, response.text[:500]
        size = f"{len(response.content) / 1e6:.1f} MB"
        rows.append((label, median, p95, size, budget))

    row(
        "GET /orders, 10,000 orders (headers)",
        lambda: client.get("/orders", params={"customerIds": ids}),
        "< 1000 ms",
    )
    row(
        "GET /orders, 10,000 orders, includes=orderProducts,assets,invoices",
        lambda: client.get(
            "/orders", params={"customerIds": ids, "includes": "orderProducts,assets,invoices"}
        ),
        "< 1000 ms",
    )
    row(
        "GET /orders?status=draft, 10,000-order customer",
        lambda: client.get("/orders", params={"customerIds": ids, "status": "draft"}),
        "",
    )
    row(
        "POST /orders, 50-line draft, previewInvoice + calculateTax",
        lambda: client.post("/orders", json=draft),
        "< 200 ms",
    )
    row(
        "POST /orders/invoice-preview, 50 lines",
        lambda: client.post("/orders/invoice-preview", json=preview),
        "< 200 ms",
    )
    row(
        "GET /subscriptions (Acme)",
        lambda: client.get("/subscriptions", params={"customerIds": json.dumps([acme])}),
        "",
    )
    row(
        "GET /customers/{id}/invoices (Acme)", lambda: client.get(f"/customers/{acme}/invoices"), ""
    )
    return rows


def render(rows: list[tuple[str, float, float, str, str]], seed_seconds: float) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## Nue emulator, standalone ({stamp})",
        "",
        "Command: `.venv/bin/python bench/emulator_bench.py --write` — gunicorn "
        "`nue_emulator.wsgi` with 8 threads on loopback, SQLite, demo tenant plus "
        f"10,000 bulk orders (seeded in {seed_seconds:.1f} s). {RUNS} runs after a warm-up; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs.",
        "",
        "| Request | median | p95 | response | target |",
        "|---|---:|---:|---:|---|",
    ]
    for label, median, p95, size, budget in rows:
        lines.append(f"| {label} | {median:.0f} ms | {p95:.0f} ms | {size} | {budget} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
