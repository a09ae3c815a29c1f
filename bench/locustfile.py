"""Locust users for bench/portal_load.py (which writes the plan and runs locust headless).

BENCH_PLAN names a JSON file: `pages` (name → method, path, cookie, form data, headers, the
statuses that count as success), `mix` (the page names each user cycles through), `pace`
(seconds between the starts of one user's requests, so N users make a fixed arrival rate of
N / pace while a response takes less than the pace), `users` (N: each user starts 1/N of the pace
after the previous one, so the arrivals are evenly spaced), `activations`
(draft activation URLs, each in the pool twice: every draft is submitted twice, concurrently
when the users' timing allows) and `out`, where every request's record is written at the end.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import gevent
from locust import FastHttpUser, events, task

PLAN: dict[str, Any] = json.loads(Path(os.environ["BENCH_PLAN"]).read_text())
RECORDS: list[dict[str, Any]] = []
_lock = threading.Lock()
_activations = list(PLAN.get("activations", []))
_turns = itertools.count()
# The upstream-error card or partial, or a form showing Nue's failure as its error.
FRIENDLY = ('class="upstream-error', "Try again", 'class="errorlist')


_epoch: list[float] = []


class PortalUser(FastHttpUser):
    """One user on a fixed schedule: request k starts at epoch + offset + k * pace.

    FastHttpUser: the client's own cost is part of every measured latency, and it is about 1 ms
    per request less than HttpUser's. Locust's constant_pacing keeps users that start together
    in step (N requests at once every `pace` seconds: bursts, not a fixed arrival rate); here
    user i starts i/N of the pace after the first, so arrivals are evenly spaced. A late response
    delays only that user's next start.
    """

    host = PLAN["host"]

    def on_start(self) -> None:
        self.turn = next(_turns)
        if not _epoch:
            _epoch.append(time.monotonic())
        pace, users = PLAN["pace"], PLAN["users"]
        self.next_at = _epoch[0] + pace * (self.turn % users) / users
        gevent.sleep(max(0.0, self.next_at - time.monotonic()))

    def wait_time(self) -> float:
        self.next_at += PLAN["pace"]
        return max(0.0, self.next_at - time.monotonic())

    @task
    def visit(self) -> None:
        mix = PLAN["mix"]
        name = mix[self.turn % len(mix)]
        self.turn += 1
        if name == "activate":
            with _lock:
                path = _activations.pop(0) if _activations else None
            if path is None:
                return
            spec = {**PLAN["pages"]["activate"], "path": path}
        else:
            spec = PLAN["pages"][name]
        if "vary" in spec:
            # A new value per request (a change preview of another quantity), as users differ.
            field, low, high = spec["vary"]
            spec = {**spec, "data": {**spec["data"], field: str(random.randint(low, high))}}
        headers = {"Cookie": spec["cookie"], **spec.get("headers", {})}
        body = None
        if spec.get("data") is not None:
            # Encoded here: a field may repeat (a list of values), which needs doseq.
            body = urlencode(spec["data"], doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        with self.client.request(
            spec["method"],
            spec["path"],
            name=name,
            data=body,
            headers=headers,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            elapsed = (time.perf_counter() - started) * 1000
            body = response.text or ""
            ok = response.status_code in spec["ok"]
            upstream = response.headers.get("X-Bench-Upstream-Ms")
            record = {
                "page": name,
                "path": spec["path"],
                "status": response.status_code,
                "ms": elapsed,
                "upstream_ms": float(upstream) if upstream else None,
                "calls": int(response.headers.get("X-Bench-Upstream-Calls") or 0),
                "longest_ms": float(response.headers.get("X-Bench-Upstream-Longest-Ms") or 0),
                "cpu_ms": float(response.headers.get("X-Bench-Cpu-Ms") or 0),
                "server_ms": float(response.headers.get("X-Bench-Server-Ms") or 0),
                "db_ms": float(response.headers.get("X-Bench-Db-Ms") or 0),
                "queries": int(response.headers.get("X-Bench-Db-Queries") or 0),
                "ok": ok,
                "friendly": response.status_code >= 400 and any(m in body for m in FRIENDLY),
                "traceback": "Traceback" in body,
                "bytes": len(response.content or b""),
                "at": time.time(),
            }
            with _lock:
                RECORDS.append(record)
            if ok:
                response.success()
            else:
                response.failure(f"status {response.status_code}")


@events.quitting.add_listener
def write_records(environment: Any, **_: Any) -> None:
    Path(PLAN["out"]).write_text(json.dumps(RECORDS))
