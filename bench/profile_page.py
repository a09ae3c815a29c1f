"""Where a page's own time goes: cProfile of one page rendered in-process against Nue over HTTP.

    .venv/bin/python bench/profile_page.py [--path /orders/] [--email bench100@bulk.example]
                                           [--runs 20] [--latency-ms 0]

The stack of bench/portal_load.py (standalone emulator, production settings, PostgreSQL
`portal_prof`, Redis db 12), but the portal runs in this process through Django's test client,
so the profile holds the whole request: middleware, views, the Nue gateway, templates. Prints
the CPU time per page and the portal's functions by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import ROOT, Stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="/orders/")
    parser.add_argument("--email", default="bench100@bulk.example")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=0)
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
        for _ in range(3):  # warm-up: templates compiled, connections open, catalog cached
            status = client.get(args.path).status_code
            if status != 200:
                raise SystemExit(f"{args.path} answered {status}")
        started = time.thread_time()
        for _ in range(args.runs):
            client.get(args.path)
        cpu = (time.thread_time() - started) / args.runs * 1000
        print(f"{args.path} as {args.email}: {cpu:.1f} ms CPU per page (this thread)")
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.runs):
            client.get(args.path)
        profile.disable()
        stats = pstats.Stats(profile).sort_stats("cumulative")
        stats.print_stats(r"orders/|portal/|template/(defaulttags|loader_tags)|formats", 40)


if __name__ == "__main__":
    main()
