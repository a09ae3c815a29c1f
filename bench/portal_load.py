"""The portal under load: overhead over Nue, degraded Nue, and the weight of pages and partials.

    .venv/bin/python bench/portal_load.py [--seconds 20] [--rounds 3] [--write]

Starts the standalone emulator (gunicorn, 1 process x 64 threads, SQLite, demo tenant plus
customers of 100 and 10,000 orders, NUE_EMULATOR_LATENCY_MS=50) and the portal with the
production settings (DEBUG=false, PostgreSQL database `portal_bench`, Redis db 12, gunicorn.conf.py
with 2 workers x 8 threads) serving bench/portal_timing.py, which tells in a header how long each
request waited on Nue. The portal is pinned to CPU 0; the emulator, which stands for a remote
service, and locust (a fixed arrival rate, evenly spaced) to CPU 1 (`--emulator-cpu portal` puts
the emulator on the portal's core instead, as the runs before 2026-12 did).

1. Overhead: each page alone at a fixed rate, every page once per round; latency percentiles,
   throughput, errors, and overhead = latency - the request's upstream critical path, over the
   rounds' pooled samples and per round. Dashboard / its slowest read.
2. Degraded Nue: a mix of pages and draft activations (every draft submitted twice) with Nue
   answering in 2 s, then 30 % of calls 503, then every call hanging; latency bound, friendly
   errors, worker timeouts in the gunicorn log, and activations per draft counted in the
   emulator's journal.
3. Weight: bytes of HTML, CSS and JS per page, and of each HTMX partial against its full page.

`--write` appends the results to bench/RESULTS.md. Stops by itself within 30 minutes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import BIN, ROOT, Session, Stack, form_fields, sign_in

LATENCY_MS = 50
ACME_PRO = "SUB-00000001"
GLOBEX_PRO = "SUB-00000007"
PORTAL_CPUS, LOAD_CPUS = ("0", "1") if (os.cpu_count() or 1) > 1 else (None, None)
# label, page, users, pace (s): users / pace is the arrival rate. Little's law: at 50 ms per Nue
# round a page takes ~60-130 ms, so 10 requests/s keep ~1 request in flight, far below the 16
# request slots (2 workers x 8 threads); the 10,000-order history is CPU-bound (~0.2-0.5 s), so
# 1/s. The last run offers five times the rate, for errors and queueing near the CPU's limit.
RATES: list[tuple[str, str, int, float]] = [
    ("dashboard", "dashboard", 5, 0.5),
    ("history 100", "history_100", 5, 0.5),
    ("history 10000", "history_10000", 1, 1.0),
    ("order detail", "order_detail", 5, 0.5),
    ("new order preview", "new_order_preview", 5, 0.5),
    # One user: the ledger drafts one change per subscription at a time (a concurrent draft of
    # the same subscription is told "in progress", 409), and the bench has one subscription.
    ("change preview", "change_preview", 1, 0.5),
    ("order detail at 50/s", "order_detail", 25, 0.5),
]
DEGRADED_MIX = [
    "dashboard",
    "activate",
    "order_detail",
    "history_100",
    "new_order_preview",
    "activate",
    "change_preview",
]
DRAFTS_PER_SCENARIO = 6


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# --- Setup --------------------------------------------------------------------------------------


def configure(stack: Stack, base: str) -> dict[str, Any]:
    ada, grace = sign_in(base, "ada@acme.example"), sign_in(base, "grace@globex.example")
    bench100, bench10k = (
        sign_in(base, "bench100@bulk.example"),
        sign_in(base, "bench10k@bulk.example"),
    )
    orders = ada.request("GET", "/orders/?status=activated").text
    order_id = re.findall(r'href="/orders/([0-9a-f-]{36})/"', orders)[0]
    config = new_order_config(ada)
    # Each change preview asks for another quantity, above the current one: the same total is
    # a form error ("It already has N"), not a preview.
    form = grace.request("GET", f"/subscriptions/{GLOBEX_PRO}/change/quantity/").text
    current = int(re.search(r'name="quantity"[^>]*value="(\d+)"', form).group(1))  # type: ignore[union-attr]
    pages: dict[str, dict[str, Any]] = {
        "dashboard": page(ada, "GET", "/"),
        "history_100": page(bench100, "GET", "/orders/"),
        "history_10000": page(bench10k, "GET", "/orders/"),
        "order_detail": page(ada, "GET", f"/orders/{order_id}/"),
        "new_order_preview": page(
            ada,
            "POST",
            "/orders/new/preview/",
            data=config,
            headers={"HX-Request": "true", "HX-Target": "preview"},
        ),
        "change_preview": page(
            grace,
            "POST",
            f"/subscriptions/{GLOBEX_PRO}/change/quantity/",
            data={"quantity": str(current + 1), "when": "today"},
            ok=(302,),
            vary=("quantity", current + 1, current + 500),
        ),
        # The second submit of a draft being activated is told so (409) or sees the result.
        "activate": page(ada, "POST", "", data={"consent": "on"}, ok=(302, 409)),
    }
    return {"sessions": {"ada": ada}, "pages": pages, "config": config}


def page(
    session: Session,
    method: str,
    path: str,
    *,
    data: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    ok: tuple[int, ...] = (200,),
    vary: tuple[str, int, int] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "method": method,
        "path": path,
        "cookie": session.header,
        "headers": {"X-CSRFToken": session.csrf, **(headers or {})},
        "ok": list(ok),
    }
    if data is not None:
        spec["data"] = data
    if vary:
        spec["vary"] = list(vary)
    return spec


def new_order_config(ada: Session) -> dict[str, list[str]]:
    """Ada's new order with one seat plan, as the browser posts it to the live preview."""
    catalog = ada.request("GET", "/orders/new/").text
    entry = re.findall(r'name="add" value="([^"]+)"', catalog)[0]
    response = ada.request("POST", "/orders/new/", data={"add": entry})
    assert response.status_code == 302, response.status_code
    fields: dict[str, list[str]] = {}
    for name, value in form_fields(ada.request("GET", "/orders/new/").text, "order-config"):
        fields.setdefault(name, []).append(value)
    return fields


def create_drafts(ada: Session, config: dict[str, list[str]], count: int) -> list[str]:
    paths = []
    for _ in range(count):
        response = ada.request("POST", "/orders/new/", data={**config, "action": "draft"})
        location = response.headers.get("Location", "")
        match = re.search(r"/orders/([0-9a-f-]{36})/", location)
        if response.status_code != 302 or not match:
            raise SystemExit(f"Creating a draft failed: {response.status_code} {location}")
        paths.append(f"/orders/{match.group(1)}/activate/")
    return paths


# --- Load ---------------------------------------------------------------------------------------


def run_locust(
    stack: Stack,
    base: str,
    pages: dict[str, Any],
    mix: list[str],
    users: int,
    pace: float,
    seconds: int,
    activations: list[str] = (),  # type: ignore[assignment]
    stop_timeout: int = 10,
) -> list[dict[str, Any]]:
    out = stack.dir / "records.json"
    out.unlink(missing_ok=True)
    plan = stack.dir / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "host": base,
                "pages": pages,
                "mix": mix,
                "pace": pace,
                "users": users,
                "activations": [p for p in activations for _ in range(2)],
                "out": str(out),
            }
        )
    )
    argv = [str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless"]
    argv += ["-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--only-summary"]
    argv += ["--stop-timeout", str(stop_timeout), "--loglevel", "ERROR"]
    if LOAD_CPUS:
        argv = ["taskset", "-c", LOAD_CPUS, *argv]
    subprocess.run(
        argv,
        cwd=ROOT,
        env={**os.environ, "BENCH_PLAN": str(plan)},
        timeout=seconds + stop_timeout + 60,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return json.loads(out.read_text())


def summary(records: list[dict[str, Any]], seconds: float) -> dict[str, float]:
    ms = [r["ms"] for r in records]
    over = [r["ms"] - r["upstream_ms"] for r in records if r["upstream_ms"] is not None]
    return {
        "n": len(records),
        "rps": len(records) / seconds,
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": max(ms, default=float("nan")),
        "errors": sum(not r["ok"] for r in records) / max(1, len(records)),
        "upstream_p50": percentile([r["upstream_ms"] or 0 for r in records], 50),
        "calls": statistics.median([r["calls"] for r in records]) if records else 0,
        "over_p50": percentile(over, 50),
        "over_p95": percentile(over, 95),
        "over_p99": percentile(over, 99),
        "longest_p50": percentile([r["longest_ms"] for r in records], 50),
        "cpu_p50": percentile([r["cpu_ms"] for r in records], 50),
        # Overhead split: inside the portal's WSGI application, and outside it (sockets,
        # gunicorn's accept and hand-off to a thread, the load generator's own scheduling).
        "inside_p50": percentile([r["server_ms"] - (r["upstream_ms"] or 0) for r in records], 50),
        "outside_p50": percentile([r["ms"] - r["server_ms"] for r in records], 50),
        "db_p50": percentile([r["db_ms"] for r in records], 50),
        "queries": statistics.median([r["queries"] for r in records]) if records else 0,
    }


def overhead(
    stack: Stack, base: str, pages: dict[str, Any], seconds: int, only: list[str], rounds: int
) -> list[str]:
    """Every page for `seconds`, then again, `rounds` times: the machine's speed drifts between
    minutes (the same page's p50 has differed by a third from one run to the next), so each
    page's samples come from several moments, pooled, and each round's p50 is shown too."""
    chosen = [rate for rate in RATES if not only or rate[1] in only]
    records: dict[str, list[dict[str, Any]]] = {label: [] for label, *_ in chosen}
    by_round: dict[str, list[float]] = {label: [] for label, *_ in chosen}
    for round_number in range(1, rounds + 1):
        for label, name, users, pace in chosen:
            got = run_locust(stack, base, pages, [name], users, pace, seconds)
            records[label] += got
            by_round[label].append(summary(got, seconds)["over_p50"])
            statuses = Counter(r["status"] for r in got)
            print(f"  round {round_number}, {label}: {summary(got, seconds)} {dict(statuses)}")
    rows = []
    ratio = ""
    for label, name, users, pace in chosen:
        s = summary(records[label], seconds * rounds)
        rows.append(
            f"| {label} | {users / pace:.0f}/s | {s['rps']:.1f}/s "
            f"| {s['calls']:.0f} "
            f"| {s['p50']:.0f} | {s['p95']:.0f} | {s['p99']:.0f} | {s['errors']:.1%} "
            f"| {s['upstream_p50']:.0f} | **{s['over_p50']:.1f}** | **{s['over_p95']:.1f}** "
            f"| {s['over_p99']:.1f} | {' / '.join(f'{v:.1f}' for v in by_round[label])} "
            f"| {s['inside_p50']:.1f} | {s['outside_p50']:.1f} "
            f"| {s['cpu_p50']:.1f} | {s['queries']:.0f} | {s['db_p50']:.1f} |"
        )
        if name == "dashboard":
            ratios = [r["ms"] / r["longest_ms"] for r in records[label] if r["longest_ms"]]
            ratio = (
                f"**Dashboard / its slowest single read: {percentile(ratios, 50):.2f}** median "
                f"per request, p95 {percentile(ratios, 95):.2f} (goal ≤ 1.30; slowest read "
                f"{s['longest_p50']:.0f} ms median, page {s['p50']:.0f} ms)."
            )
    return [
        "| Page | offered | served | Nue calls | p50 ms | p95 ms | p99 ms | errors "
        "| upstream p50 ms | overhead p50 ms | overhead p95 ms | overhead p99 ms "
        "| overhead p50 by round, ms "
        "| of which in the app, p50 ms | outside it, p50 ms | portal CPU p50 ms "
        "| queries | query time p50 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        ratio,
    ]


SCENARIOS: list[tuple[str, dict[str, Any]]] = [
    ("Nue answers in 2 s (+50 ms)", {"route": "*", "latencyMs": 2000}),
    ("30 % of Nue calls answer 503", {"route": "*", "status": 503, "percent": 30}),
    ("every Nue call hangs (60 s)", {"route": "*", "hangSeconds": 60}),
]


def degraded(
    stack: Stack, base: str, setup: dict[str, Any], seconds: int
) -> tuple[list[str], list[str]]:
    rows, notes = [], []
    ada = setup["sessions"]["ada"]
    for label, fault in SCENARIOS:
        stack.fault()
        drafts = create_drafts(ada, setup["config"], DRAFTS_PER_SCENARIO)
        stack.nue("DELETE", "/_emulator/journal")
        stack.fault(**fault)
        started = time.monotonic()
        records = run_locust(
            stack, base, setup["pages"], DEGRADED_MIX, 7, 1.0, seconds, drafts, stop_timeout=120
        )
        elapsed = time.monotonic() - started
        stack.fault()
        time.sleep(2)  # let a hung activation that Nue still completes land in the journal
        journal = stack.nue("GET", "/_emulator/journal")
        draft_ids = {p.split("/")[2] for p in drafts}
        activations = Counter(
            e["path"].rsplit("/", 1)[1]
            for e in journal
            if e["method"] == "POST" and e["wrote"] and e["path"].rsplit("/", 1)[1] in draft_ids
        )
        statuses = Counter(r["status"] for r in records)
        failed = [r for r in records if not r["ok"]]
        unfriendly = [r for r in failed if not r["friendly"] and r["status"] not in (409,)]
        s = summary(records, elapsed)
        worker_timeouts = stack.log("portal").count("WORKER TIMEOUT")
        tracebacks = sum(r["traceback"] for r in records)
        print(f"  {label}: {s} {dict(statuses)} activations={dict(activations)}", flush=True)
        rows.append(
            f"| {label} | {s['n']} | {s['p50']:.0f} | {s['p95']:.0f} | {s['max']:.0f} "
            f"| {' '.join(f'{k}x{v}' for k, v in sorted(statuses.items()))} "
            f"| {len(unfriendly)} | {tracebacks} | {worker_timeouts} "
            f"| {max(activations.values(), default=0)} ({len(activations)} of {len(draft_ids)}) |"
        )
        if unfriendly:
            seen = sorted({f"{r['page']} {r['status']}" for r in unfriendly})
            notes.append(f"{label}: not friendly: {', '.join(seen)}")
    table = [
        "| Nue | requests | p50 ms | p95 ms | max ms | statuses | unfriendly errors "
        "| tracebacks | worker timeouts | activations per draft, max (drafts activated) |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---|",
        *rows,
    ]
    return table, notes


# --- Weight -------------------------------------------------------------------------------------


def weight(base: str, setup: dict[str, Any], stack: Stack) -> list[str]:
    ada: Session = setup["sessions"]["ada"]
    order = setup["pages"]["order_detail"]["path"]

    def size(path: str, **kw: Any) -> tuple[int, int, str]:
        response = ada.request("GET", path, headers={"Accept-Encoding": "identity", **kw})
        body = response.content
        return len(body), len(gzip.compress(body)), response.text

    assets: dict[str, tuple[int, int]] = {}

    def page_weight(path: str) -> tuple[int, int, int, int, int]:
        html, html_gz, text = size(path)
        css = js = css_gz = js_gz = 0
        for asset in re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js))"', text):
            if asset not in assets:
                raw, packed, _ = size(asset)
                assets[asset] = (raw, packed)
            if asset.endswith(".css"):
                css, css_gz = css + assets[asset][0], css_gz + assets[asset][1]
            else:
                js, js_gz = js + assets[asset][0], js_gz + assets[asset][1]
        return html, html_gz, css + js, css_gz + js_gz, len(re.findall(r"/static/", text))

    full_pages = {
        "sign-in": "/accounts/login/",
        "dashboard": "/",
        "order history": "/orders/",
        "order detail": order,
        "subscriptions": "/subscriptions/",
        "invoices": "/invoices/",
        "new order": "/orders/new/",
        "change details (quantity)": f"/subscriptions/{ACME_PRO}/change/quantity/",
    }
    lines = [
        "| Page | HTML | HTML gzip | CSS+JS | CSS+JS gzip |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, path in full_pages.items():
        if label == "sign-in":
            body = stack_get(base, path)
            lines.append(f"| {label} | {len(body)} | {len(gzip.compress(body))} | | |")
            continue
        html, html_gz, assets_raw, assets_gz, _ = page_weight(path)
        lines.append(f"| {label} | {html} | {html_gz} | {assets_raw} | {assets_gz} |")
    htmx = {"HX-Request": "true"}
    partials = [
        ("dashboard: subscriptions panel", "/dashboard/subscriptions-panel/", "/"),
        ("dashboard: activity panel", "/dashboard/activity-panel/", "/"),
        ("dashboard: billing panel", "/dashboard/billing-panel/", "/"),
        ("order history: filter/sort/page", "/orders/?sort=-date", "/orders/"),
        ("invoices: filter/page", "/invoices/?status=paid", "/invoices/"),
        ("new order: catalog filter", "/orders/new/?q=seat", "/orders/new/"),
    ]
    rows = [
        "",
        "| HTMX partial | partial bytes | full page bytes | partial / page |",
        "|---|---:|---:|---:|",
    ]
    for label, path, full in partials:
        headers = {**htmx, "HX-Target": "catalog"} if "catalog" in label else htmx
        part = size(path, **headers)[0]
        # Against the same URL as a full page (a dashboard panel's page is the dashboard).
        whole = size(full if full == "/" else path)[0]
        rows.append(f"| {label} | {part} | {whole} | {part / whole:.0%} |")
    preview = ada.request(
        "POST",
        "/orders/new/preview/",
        data=setup["config"],
        headers={"HX-Request": "true", "HX-Target": "preview", "Accept-Encoding": "identity"},
    )
    whole = size("/orders/new/")[0]
    rows.append(
        f"| new order: live preview (POST) | {len(preview.content)} | {whole} "
        f"| {len(preview.content) / whole:.0%} |"
    )
    change = f"/subscriptions/{ACME_PRO}/change/quantity/"
    form = ada.request(
        "POST",
        change,
        data={"quantity": "0", "when": "today"},
        headers={"HX-Request": "true", "Accept-Encoding": "identity"},
    )
    whole = size(change)[0]
    rows.append(
        f"| change details: form with errors (POST) | {len(form.content)} | {whole} "
        f"| {len(form.content) / whole:.0%} |"
    )
    asset_rows = [
        "",
        "| Static asset | bytes | gzip |",
        "|---|---:|---:|",
        *[f"| `{path}` | {raw} | {packed} |" for path, (raw, packed) in sorted(assets.items())],
    ]
    return lines + rows + asset_rows


def stack_get(base: str, path: str) -> bytes:
    import httpx

    return httpx.get(base + path, headers={"Accept-Encoding": "identity"}, timeout=30).content


# --- Main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20, help="Length of each load run.")
    parser.add_argument("--rounds", type=int, default=3, help="Load runs per page, pooled.")
    parser.add_argument("--degraded-seconds", type=int, default=30)
    parser.add_argument("--write", action="store_true", help="Append to bench/RESULTS.md.")
    parser.add_argument("--pages", nargs="*", default=[], help="Only these pages (a quick look).")
    parser.add_argument("--no-degraded", action="store_true", help="Skip the degraded runs.")
    parser.add_argument(
        "--emulator-cpu",
        choices=("load", "portal"),
        default="load",
        help="Where the emulator runs: beside locust (Nue is a remote service whose CPU is not "
        "the portal's) or on the portal's CPU (both compete for one core).",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker")
    args = parser.parse_args()
    emulator_cpus = LOAD_CPUS if args.emulator_cpu == "load" else PORTAL_CPUS
    placement = (
        "the portal on CPU 0; the emulator and locust on CPU 1"
        if args.emulator_cpu == "load"
        else "the portal and the emulator on CPU 0, locust on CPU 1"
    )
    with Stack("portal_bench", deadline_seconds=1800) as stack:
        stack.start_emulator(LATENCY_MS, cpus=emulator_cpus)
        stack.prepare_portal()
        base = stack.start_portal(
            "portal",
            app="portal_timing:application",
            workers=args.workers,
            threads=args.threads,
            cpus=PORTAL_CPUS,
        )
        setup = configure(stack, base)
        for name, spec in setup["pages"].items():  # warm-up, and every page must work
            if name == "activate":
                continue
            for _ in range(3):
                status = run_once(setup["pages"][name], base)
                if status not in spec["ok"]:
                    raise SystemExit(f"{name} answered {status} in the warm-up")
        load_before = os.getloadavg()[0]
        print("Overhead (50 ms Nue):", flush=True)
        over = overhead(stack, base, setup["pages"], args.seconds, args.pages, args.rounds)
        print("Front-end weight:", flush=True)
        light = weight(base, setup, stack)
        print("\n".join(light), flush=True)
        bad: list[str] = []
        notes: list[str] = []
        if not args.no_degraded:
            print("Degraded Nue:", flush=True)
            bad, notes = degraded(stack, base, setup, args.degraded_seconds)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    # A quick look without the degraded runs says so in its title and has no empty section.
    degraded_section = [
        "### Degraded Nue",
        "",
        f"A mix of dashboard, order detail, history (100), new-order preview, change preview "
        f"and activations of {DRAFTS_PER_SCENARIO} fresh drafts per scenario, each submitted "
        f"twice (7 users, one request per second each, {args.degraded_seconds} s, then waiting "
        "for the requests in flight). Activations per draft are the emulator journal's writes "
        "to `POST /orders/{id}`.",
        "",
        *bad,
        *(["", *notes] if notes else []),
        "",
    ]
    title = "overhead over Nue" + ("" if args.no_degraded else ", degraded Nue")
    lines = [
        "",
        f"## Portal under load: {title} ({when})",
        "",
        # The command as typed, so a quick look (--pages, --no-degraded) says it was one.
        f"Command: `.venv/bin/python bench/portal_load.py {shlex.join(sys.argv[1:])}` "
        f"({os.cpu_count()} CPUs, Python {sys.version.split()[0]}, load average "
        f"{load_before:.1f} from other work when it started). Portal: production settings "
        f"(DEBUG=false, PostgreSQL, Redis, gunicorn.conf.py, {args.workers} workers x "
        f"{args.threads} threads) serving bench/portal_timing.py; standalone emulator with "
        f"50 ms on every call; {placement}. Each page alone, locust users (FastHttpUser) on a "
        "fixed schedule, evenly spaced (a fixed arrival rate while responses are faster than "
        f"the pace), {args.seconds} s per page and round, {args.rounds} rounds (every page, "
        "then again), the rounds' samples pooled. Overhead per request = its latency at the "
        "client - the time at least one of its Nue calls was in flight (its upstream critical "
        "path, measured in the portal process). Goals: overhead p50 ≤ 10 ms, p95 ≤ 30 ms. "
        "*In the app* = the time inside the portal's WSGI application minus the upstream "
        "critical path; *outside it* = client latency minus the time in the app (sockets, "
        "gunicorn, the load generator). "
        "Portal CPU = CPU time of the request's threads (contention-free cost).",
        "",
        *over,
        "",
        *([] if args.no_degraded else degraded_section),
        "### Front-end weight",
        "",
        "Bytes as served (HTML uncompressed; gzip -6 of the same bytes for comparison; "
        "CSS+JS = the stylesheets and scripts the page references).",
        "",
        *light,
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        with open(ROOT / "bench" / "RESULTS.md", "a") as results:
            results.write(text)


def run_once(spec: dict[str, Any], base: str) -> int:
    import httpx

    response = httpx.request(
        spec["method"],
        base + spec["path"],
        headers={"Cookie": spec["cookie"], **spec.get("headers", {})},
        data=spec.get("data"),
        timeout=120,
    )
    return response.status_code


if __name__ == "__main__":
    main()
