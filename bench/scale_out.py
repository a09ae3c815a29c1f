"""Two portal instances behind nginx, sharing PostgreSQL and Redis: proof that they act as one.

    .venv/bin/python bench/scale_out.py [--write]

Starts the standalone emulator, two portal instances (gunicorn.conf.py, production settings,
PostgreSQL database `portal_scale`, Redis db 12) and Debian's nginx with deploy/nginx.conf (its
placeholders filled, on a free loopback port, our own prefix: not the system service). Then checks:

1. /healthz and a static file answer through nginx; requests spread over both instances.
2. A session started on instance A continues on instance B (and through nginx).
3. The shared cache: a change preview drafted on A opens on B.
4. Login throttling (django-axes, database handler): failures counted on both instances lock the
   account on both.
5. Twenty concurrent activations of one draft through nginx, served by both instances: the
   emulator's journal shows exactly one activation; every answer is the result page or "in
   progress".

Exits 1 if a check fails. `--write` appends the report to bench/RESULTS.md. Everything it starts
stops when it ends (at most 10 minutes).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import ROOT, Session, Stack, sign_in, wait_for_http

SUBMITS = 20
GLOBEX_PRO = "SUB-00000007"


def start_nginx(stack: Stack, upstreams: list[str]) -> str:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise SystemExit("nginx is not installed: apt-get install -y nginx")
    from stack import free_port

    port = free_port()
    prefix = stack.dir / "nginx"
    prefix.mkdir()
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    for key, value in {
        "__PREFIX__": str(prefix),
        "__LISTEN__": f"127.0.0.1:{port}",
        "__PORTAL_1__": upstreams[0].removeprefix("http://"),
        "__PORTAL_2__": upstreams[1].removeprefix("http://"),
        "__STATIC_ROOT__": str(ROOT / "staticfiles"),
    }.items():
        config = config.replace(key, value)
    (prefix / "nginx.conf").write_text(config)
    stack.spawn("nginx", [nginx, "-p", str(prefix), "-c", "nginx.conf", "-g", "daemon off;"], {})
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/healthz")
    return url


def served(stack: Stack, name: str, needle: str) -> int:
    """Requests for paths containing `needle` in one instance's gunicorn access log."""
    return sum(needle in line for line in stack.log(name).splitlines() if '"' in line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="Append to bench/RESULTS.md.")
    args = parser.parse_args()
    results: list[tuple[str, bool, str]] = []

    def check(label: str, passed: bool, detail: str) -> None:
        results.append((label, passed, detail))
        print(f"{'PASS' if passed else 'FAIL'}  {label}: {detail}", flush=True)

    with Stack("portal_scale", deadline_seconds=600) as stack:
        stack.start_emulator(0, bulk=False)
        stack.prepare_portal()
        a = stack.start_portal("portal_a", workers=2, threads=4)
        b = stack.start_portal("portal_b", workers=2, threads=4)
        lb = start_nginx(stack, [a, b])

        # 1. Health, static files, spread.
        health = httpx.get(f"{lb}/healthz", timeout=10)
        ada = sign_in(lb, "ada@acme.example")
        page = ada.request("GET", "/")
        css = re.search(r'href="(/static/css/portal\.[0-9a-f]+\.css)"', page.text)
        static = httpx.get(lb + css.group(1), timeout=10) if css else None
        for _ in range(10):
            ada.request("GET", "/healthz")
        spread = (served(stack, "portal_a", "/healthz"), served(stack, "portal_b", "/healthz"))
        check(
            "health check and static files through nginx",
            health.json() == {"status": "ok"}
            and static is not None
            and static.status_code == 200
            and "immutable" in static.headers.get("Cache-Control", ""),
            f"/healthz {health.status_code} {health.text.strip()}; {css and css.group(1)} "
            f"{static and static.status_code} from nginx "
            f"({static and static.headers.get('Cache-Control')})",
        )
        check(
            "nginx spreads requests over both instances",
            min(spread) > 0,
            f"/healthz served by A {spread[0]}x, by B {spread[1]}x",
        )

        # 2. A session started on A continues on B.
        on_a = sign_in(a, "ada@acme.example")
        on_b = on_a.request("GET", "/orders/", base_url=b)
        via_lb = on_a.request("GET", "/subscriptions/", base_url=lb)
        check(
            "session started on A continues on B",
            on_b.status_code == 200
            and "Acme" in on_b.text
            and via_lb.status_code == 200
            and "Acme" in via_lb.text,
            f"signed in on A; B answered /orders/ {on_b.status_code}, "
            f"nginx answered /subscriptions/ {via_lb.status_code}",
        )

        # 3. A change preview drafted on A (kept in the shared cache) opens on B.
        grace = sign_in(a, "grace@globex.example")
        drafted = grace.request(
            "POST",
            f"/subscriptions/{GLOBEX_PRO}/change/quantity/",
            data={"quantity": "7", "when": "today"},
        )
        preview_url = drafted.headers.get("Location", "")
        preview = grace.request("GET", preview_url, base_url=b) if preview_url else None
        check(
            "cache shared: change preview drafted on A opens on B",
            drafted.status_code == 302
            and preview is not None
            and preview.status_code == 200
            and "7" in preview.text,
            f"POST on A {drafted.status_code} → {preview_url}; GET on B "
            f"{preview and preview.status_code}",
        )

        # 4. Login throttling shared: failures on A and B add up.
        statuses = []
        for attempt in range(5):
            statuses.append(failed_login(a if attempt % 2 == 0 else b, "ben@acme.example"))
        locked_a = login_status(a, "ben@acme.example", "portal-demo")
        locked_b = login_status(b, "ben@acme.example", "portal-demo")
        check(
            "login throttling shared (django-axes, database handler)",
            # AXES_FAILURE_LIMIT=5: the fifth failure is the one that locks.
            statuses == [200, 200, 200, 200, 429] and locked_a == 429 and locked_b == 429,
            f"5 wrong passwords alternating A/B answered {statuses}; then the right password: "
            f"A {locked_a}, B {locked_b} (429 = locked out)",
        )

        # 5. Twenty concurrent activations of one draft through nginx.
        order_id = create_draft(ada)
        stack.nue("DELETE", "/_emulator/journal")
        answers = activate_concurrently(ada, order_id)
        time.sleep(1)
        journal = stack.nue("GET", "/_emulator/journal")
        activations = [
            e
            for e in journal
            if e["method"] == "POST" and e["path"].endswith(f"/orders/{order_id}") and e["wrote"]
        ]
        order = stack.order("ada@acme.example", order_id)
        needle = f"/orders/{order_id}/activate/"
        per_instance = (served(stack, "portal_a", needle), served(stack, "portal_b", needle))
        check(
            f"{SUBMITS} concurrent activations of one draft over both instances: one activation",
            len(activations) == 1
            and set(answers) <= {302, 409}
            and min(per_instance) > 0
            and order.get("status") == "Activated",
            f"answers {dict(sorted(answers.items()))}; served by A {per_instance[0]}, "
            f"by B {per_instance[1]}; activations in the emulator's journal: "
            f"{len(activations)}; order status {order.get('status')}",
        )
        worker_timeouts = stack.log("portal_a").count("WORKER TIMEOUT") + stack.log(
            "portal_b"
        ).count("WORKER TIMEOUT")
        check("no worker timeouts", worker_timeouts == 0, f"{worker_timeouts} in the logs")

    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        "",
        f"## Scale-out: two instances behind nginx ({when})",
        "",
        "Command: `.venv/bin/python bench/scale_out.py --write` — two portal instances "
        "(gunicorn.conf.py, 2 workers x 4 threads each, production settings) sharing PostgreSQL "
        "and Redis, Debian's nginx with deploy/nginx.conf, the standalone emulator.",
        "",
        "| Check | Result | Detail |",
        "|---|---|---|",
        *[
            f"| {label} | {'pass' if ok else '**FAIL**'} | {detail} |"
            for label, ok, detail in results
        ],
        "",
    ]
    text = "\n".join(lines)
    if args.write:
        with open(ROOT / "bench" / "RESULTS.md", "a") as out:
            out.write(text)
    if not all(ok for _, ok, _ in results):
        raise SystemExit(1)


def failed_login(base: str, email: str) -> int:
    return login_status(base, email, "not-the-password")


def login_status(base: str, email: str, password: str) -> int:
    page = httpx.get(f"{base}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token
    session = Session(base, {"csrftoken": page.cookies["csrftoken"]})
    response = session.request(
        "POST",
        "/accounts/login/",
        data={"csrfmiddlewaretoken": token.group(1), "username": email, "password": password},
    )
    return response.status_code


def create_draft(ada: Session) -> str:
    catalog = ada.request("GET", "/orders/new/").text
    entry = re.findall(r'name="add" value="([^"]+)"', catalog)[0]
    added = ada.request("POST", "/orders/new/", data={"add": entry})
    assert added.status_code == 302, added.status_code
    from stack import form_fields

    fields: dict[str, list[str]] = {}
    for name, value in form_fields(ada.request("GET", "/orders/new/").text, "order-config"):
        fields.setdefault(name, []).append(value)
    response = ada.request("POST", "/orders/new/", data={**fields, "action": "draft"})
    match = re.search(r"/orders/([0-9a-f-]{36})/", response.headers.get("Location", ""))
    if response.status_code != 302 or not match:
        raise SystemExit(f"Creating a draft failed: {response.status_code}")
    return match.group(1)


def activate_concurrently(ada: Session, order_id: str) -> Counter[int]:
    barrier = threading.Barrier(SUBMITS)
    answers: Counter[int] = Counter()
    lock = threading.Lock()

    def submit() -> None:
        barrier.wait(timeout=30)
        response = httpx.post(
            f"{ada.base_url}/orders/{order_id}/activate/",
            data={"consent": "on"},
            headers={"Cookie": ada.header, "X-CSRFToken": ada.csrf},
            timeout=60,
        )
        with lock:
            answers[response.status_code] += 1

    threads = [threading.Thread(target=submit) for _ in range(SUBMITS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return answers


if __name__ == "__main__":
    main()
