"""Where a page's own time goes: cProfile of one page rendered in-process against Nue over HTTP.

    .venv/bin/python bench/profile_page.py [--path /orders/] [--email bench100@bulk.example]
                                           [--post FIELD=VALUE ...] [--runs 20] [--latency-ms 0]
                                           [--sort cumulative|tottime] [--all] [--parts]

`{order}` in the path stands for the customer's first activated order. With `--post` the page
is a form's POST (a 302 counts as answered); `{n}` in a value stands for a number that grows by
one with each request, so a change preview asks for another quantity each time:

    .venv/bin/python bench/profile_page.py --email grace@globex.example \
        --path /subscriptions/SUB-00000007/change/quantity/ \
        --post 'quantity={n}' --post when=today --parts

The stack of bench/portal_load.py (standalone emulator, production settings, PostgreSQL
`portal_prof`, Redis db 12), but the portal runs in this process through Django's test client,
so the profile holds the whole request: middleware, views, the Nue gateway, templates. Prints
the CPU time per page and the portal's functions by cumulative time; `--parts` prints instead
how much of the request thread's CPU time went to rendering templates (with the queries the
templates' panels run), compiling SQL and running it, and the CPU and wall time of the steps
a page pays for besides its own work: the acting membership and user (with the session), the
operation ledger, the Nue calls' HTTP client and the shared cache.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import ROOT, Stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="/orders/")
    parser.add_argument("--email", default="bench100@bulk.example")
    parser.add_argument("--post", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--sort", default="cumulative", choices=("cumulative", "tottime"))
    parser.add_argument("--all", action="store_true", help="every function, not only the portal's")
    parser.add_argument(
        "--parts", action="store_true", help="CPU in templates, SQL and shared steps; no profile"
    )
    args = parser.parse_args()
    with Stack("portal_prof", deadline_seconds=600) as stack:
        stack.start_emulator(args.latency_ms)
        stack.prepare_portal()
        os.environ.update(stack.portal_env(ALLOWED_HOSTS="testserver"))
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.test import Client

        from portal.models import User

        client = Client()
        client.force_login(User.objects.get(email=args.email))
        if "{order}" in args.path:  # the customer's first order, as in bench/portal_load.py
            listing = client.get("/orders/?status=activated").content.decode()
            order = re.findall(r'href="/orders/([0-9a-f-]{36})/"', listing)[0]
            args.path = args.path.replace("{order}", order)
        fetch = Page(client, args.path, args.post)
        for _ in range(3):  # warm-up: templates compiled, connections open, catalog cached
            fetch()
        # Process time: the request's thread and the pool threads of its concurrent Nue reads.
        started = time.process_time()
        for _ in range(args.runs):
            fetch()
        cpu = (time.process_time() - started) / args.runs * 1000
        print(f"{args.path} as {args.email}: {cpu:.1f} ms CPU per page (all threads)")
        if args.parts:
            print_parts(fetch, args.runs)
            return
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.runs):
            fetch()
        profile.disable()
        if os.environ.get("PROFILE_DUMP"):
            profile.dump_stats(os.environ["PROFILE_DUMP"])
        stats = pstats.Stats(profile).sort_stats(args.sort)
        if args.all:
            stats.print_stats(40)
        else:
            stats.print_stats(r"orders/|portal/|templates/|django/template/|formats", 40)


class Page:
    """One request for the page: a GET, or a POST of the `--post` fields; fails unless answered."""

    def __init__(self, client: Any, path: str, fields: list[str]) -> None:
        self.client, self.path, self.counter = client, path, 1000
        self.fields = [field.partition("=")[::2] for field in fields]

    def __call__(self) -> None:
        if self.fields:
            self.counter += 1
            data = {name: value.replace("{n}", str(self.counter)) for name, value in self.fields}
            response = self.client.post(self.path, data)
        else:
            response = self.client.get(self.path)
        if response.status_code not in (200, 302):
            raise SystemExit(f"{self.path} answered {response.status_code}")


def print_parts(fetch: Page, runs: int) -> None:
    """CPU time of the request's own thread per page: what templates and SQL took of it, and
    the CPU and wall time of the steps every page or every change pays for."""
    from django.core.cache import caches
    from django.db.backends.utils import CursorWrapper
    from django.db.models.sql.compiler import SQLCompiler
    from django.template.backends.django import Template

    from orders.ledger import Ledger
    from orders.nue import NueClient
    from portal import middleware

    layers = ("templates", "SQL compiled", "SQL run")
    steps = ("acting membership and user", "operation ledger", "Nue calls", "shared cache")
    cpu: dict[str, float] = dict.fromkeys((*layers, *steps), 0.0)
    wall: dict[str, float] = dict.fromkeys(steps, 0.0)
    # A part inside itself counts once: a subquery's as_sql, the ledger closing a duplicate's
    # row while it opens.
    running: set[str] = set()

    def timed(owner: Any, name: str, part: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if part in running or threading.current_thread() is not threading.main_thread():
                return original(*args, **kwargs)
            running.add(part)
            started, cpu_started = time.perf_counter(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                running.discard(part)
                cpu[part] += time.thread_time() - cpu_started
                if part in wall:
                    wall[part] += time.perf_counter() - started

        setattr(owner, name, wrapper)

    timed(Template, "render", "templates")
    timed(SQLCompiler, "as_sql", "SQL compiled")
    timed(CursorWrapper, "execute", "SQL run")
    # The middleware's first look at request.user loads the session and the user.
    timed(middleware, "resolve_membership", "acting membership and user")
    timed(Ledger, "_open", "operation ledger")
    timed(Ledger, "_close", "operation ledger")
    timed(NueClient, "_send", "Nue calls")
    for method in ("get", "set", "get_many", "set_many", "delete"):
        timed(type(caches["default"]), method, "shared cache")
    started = time.thread_time()
    for _ in range(runs):
        fetch()
    thread = (time.thread_time() - started) / runs * 1000
    parts = ", ".join(f"{part} {cpu[part] / runs * 1000:.2f}" for part in layers)
    print(f"request thread: {thread:.1f} ms CPU per page, of which {parts} ms")
    for step in steps:
        print(
            f"  {step}: {cpu[step] / runs * 1000:.2f} ms CPU, "
            f"{wall[step] / runs * 1000:.2f} ms wall per page"
        )


if __name__ == "__main__":
    main()
