"""Order history pages for a customer with 10,000 orders: time to the first page, and its parts.

    .venv/bin/python bench/pages_history.py            # print the results
    .venv/bin/python bench/pages_history.py --write    # also append them to bench/RESULTS.md
    .venv/bin/python bench/pages_history.py --memo [--write]   # parsed-answer memo on vs off

The default setup of the portal (embedded emulator, in-process WSGI transport) on a throwaway
SQLite database in a temporary directory: demo tenant plus `seed_emulator --bulk-orders 10000`,
and a portal user who is admin of the bulk customer. Each page is requested through Django's
test client (the whole middleware stack, the template rendered), median and p95 of several runs
after one warm-up. "Gateway" is `request.nue.orders()` alone: the read every history page
starts with (the emulator's answer, JSON decoding, parsing and the ownership checks), so
page / gateway shows what the page itself adds.

With `--memo` the pages a user waits for are timed side by side with the per-process
parsed-answer memo (orders.nue.transport.ParsedAnswers) on and off: rounds alternate which
setting goes first, each setting starts from an empty memo and one warm-up request, and the
saving is (off - on) / off of the medians. The memo is kept only while it saves 10 % or more.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 10
BULK = 10_000
BUDGET_MS = 1000.0


def setup(workdir: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    logging.disable(logging.WARNING)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_emulator", verbosity=0, bulk_orders=BULK)


def bench_user():
    from nue_emulator.seed import demo_uuid
    from portal.models import CustomerAccount, Membership, Role, User

    account, _ = CustomerAccount.objects.get_or_create(
        nue_customer_id=demo_uuid("customer:bulk:Bulk Buyer Inc."),
        defaults={"name": "Bulk Buyer Inc."},
    )
    user, _ = User.objects.get_or_create(email="bench@bulk.example")
    Membership.objects.get_or_create(user=user, account=account, defaults={"role": Role.ADMIN})
    return user, account


def timed(fn: Callable[[], object], runs: int = RUNS) -> tuple[float, float]:
    fn()  # warm-up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95


def measure() -> list[tuple[str, float, float, str]]:
    from django.test import Client

    from orders.scope import CustomerNue

    user, account = bench_user()
    client = Client()
    client.force_login(user, backend="portal.backends.MembershipBackend")

    def page(url: str, **headers: str) -> Callable[[], object]:
        def get() -> object:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, (url, response.status_code)
            if response.streaming:
                return b"".join(response.streaming_content)
            return response.content

        return get

    rows = [
        ("Gateway: request.nue.orders(), 10,000 orders", lambda: CustomerNue(account).orders()),
        ("GET /orders/ (first page, 25 rows)", page("/orders/")),
        ("GET /orders/ as HTMX (table partial)", page("/orders/", **{"HX-Request": "true"})),
        ("GET /orders/?sort=total&dir=asc", page("/orders/?sort=total&dir=asc")),
        ("GET /orders/?status=draft (Nue filters)", page("/orders/?status=draft")),
        ("GET /orders/?q=O-00005000 (order number: headers)", page("/orders/?q=O-00005000")),
        ("GET /orders/?q=starter (product: reads lines)", page("/orders/?q=starter")),
        ("GET /orders/export.csv (10,000 rows)", page("/orders/export.csv")),
        ("GET / (dashboard)", page("/")),
    ]
    results = []
    for label, fn in rows:
        median, p95 = timed(fn)
        budget = f"< {BUDGET_MS:.0f} ms" if label.startswith("GET /orders/ (first") else ""
        results.append((label, median, p95, budget))
        print(f"{label:50} median {median:7.0f} ms   p95 {p95:7.0f} ms", flush=True)
    return results


MEMO_PAGES = [
    ("GET /orders/ (first page, 25 rows)", "/orders/", {}),
    ("GET /orders/?page=2", "/orders/?page=2", {}),
    ("GET /orders/?sort=total&dir=asc", "/orders/?sort=total&dir=asc", {}),
    ("GET /orders/ as HTMX (table partial)", "/orders/", {"HX-Request": "true"}),
    ("GET / (dashboard)", "/", {}),
]
MEMO_ROUNDS = 8
MEMO_RUNS = 3


def measure_memo() -> list[tuple[str, float, float]]:
    """Median ms of each page with the memo on and with it off, alternating rounds."""
    from django.test import Client

    from orders.nue import transport

    user, _ = bench_user()
    client = Client()
    client.force_login(user, backend="portal.backends.MembershipBackend")
    kept_from = transport.PARSED_ANSWER_MIN_BYTES

    def use_memo(on: bool) -> None:
        transport.PARSED_ANSWERS.clear()
        # Off: no answer is large enough to be kept, so every request decodes and parses.
        transport.PARSED_ANSWER_MIN_BYTES = kept_from if on else sys.maxsize

    def get(url: str, headers: dict[str, str]) -> float:
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.status_code)
        return (time.perf_counter() - started) * 1000

    samples: dict[tuple[str, bool], list[float]] = {}
    try:
        for round_ in range(MEMO_ROUNDS):
            for on in (True, False) if round_ % 2 == 0 else (False, True):
                use_memo(on)
                get("/orders/", {})  # warm-up: with the memo on, the parse the others reuse
                for label, url, headers in MEMO_PAGES:
                    for _ in range(MEMO_RUNS):
                        samples.setdefault((label, on), []).append(get(url, headers))
            print(f"round {round_ + 1}/{MEMO_ROUNDS}", flush=True)
    finally:
        use_memo(True)
    results = []
    for label, _, _ in MEMO_PAGES:
        on, off = (statistics.median(samples[(label, flag)]) for flag in (True, False))
        results.append((label, on, off))
        print(f"{label:50} memo on {on:7.0f} ms   off {off:7.0f} ms", flush=True)
    return results


def report_memo(results: list[tuple[str, float, float]], seconds: float) -> str:
    lines = [
        f"## Parsed-answer memo on vs off, {BULK:,}-order history "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        "Command: `.venv/bin/python bench/pages_history.py --memo --write` — the default "
        "embedded setup (portal and emulator in one process), SQLite, demo tenant plus "
        f"{BULK:,} bulk orders (seeded in {seconds:.1f} s), Django test client through the "
        f"whole middleware stack; {MEMO_ROUNDS} rounds, each timing every page "
        f"{MEMO_RUNS} times with the memo on and {MEMO_RUNS} times with it off (which goes first "
        "alternates), each from an empty memo after one warm-up request; medians. Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs.",
        "",
        "| Request | memo on | memo off | saving |",
        "|---|---:|---:|---:|",
    ]
    for label, on, off in results:
        saving = f"{(off - on) / off:.0%}" if off else ""
        lines.append(f"| {label} | {on:.0f} ms | {off:.0f} ms | {saving} |")
    return "\n".join(lines) + "\n"


def report(results: list[tuple[str, float, float, str]], seconds: float) -> str:
    gateway = results[0][1]
    lines = [
        f"## Order history pages, 10,000-order customer ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        "Command: `.venv/bin/python bench/pages_history.py --write` — the default embedded setup "
        "(portal and emulator in one process, in-process WSGI transport), SQLite, demo tenant "
        f"plus {BULK:,} bulk orders (seeded in {seconds:.1f} s), Django test client through the "
        f"whole middleware stack. {RUNS} runs after a warm-up; Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs.",
        "",
        "| Request | median | p95 | x gateway | target |",
        "|---|---:|---:|---:|---|",
    ]
    for label, median, p95, budget in results:
        ratio = f"{median / gateway:.2f}" if gateway else ""
        lines.append(f"| {label} | {median:.0f} ms | {p95:.0f} ms | {ratio} | {budget} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    parser.add_argument("--memo", action="store_true", help="parsed-answer memo on vs off")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pages-history-") as tmp:
        started = time.perf_counter()
        setup(Path(tmp))
        seconds = time.perf_counter() - started
        text = report_memo(measure_memo(), seconds) if args.memo else report(measure(), seconds)
    print()
    print(text)
    if args.write:
        path = ROOT / "bench" / "RESULTS.md"
        with path.open("a", encoding="utf-8") as out:
            out.write("\n" + text)


if __name__ == "__main__":
    main()
