"""Locust users for bench/portal_load.py (which writes the plan and runs locust headless).

BENCH_PLAN names a JSON file: `pages` (name → method, path, cookie, form data, headers, the
statuses that count as success), `mix` (the page names each user cycles through), `pace`
(seconds between the starts of one user's requests: locust's constant_pacing, so N users make a
fixed arrival rate of N / pace while a response takes less than the pace), `activations`
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

from locust import HttpUser, constant_pacing, events, task

PLAN: dict[str, Any] = json.loads(Path(os.environ["BENCH_PLAN"]).read_text())
RECORDS: list[dict[str, Any]] = []
_lock = threading.Lock()
_activations = list(PLAN.get("activations", []))
_turns = itertools.count()
# The upstream-error card or partial, or a form showing Nue's failure as its error.
FRIENDLY = ('class="upstream-error', "Try again", 'class="errorlist')


class PortalUser(HttpUser):
    wait_time = constant_pacing(PLAN["pace"])
    host = PLAN["host"]

    def on_start(self) -> None:
        self.turn = next(_turns)

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
        started = time.perf_counter()
        with self.client.request(
            spec["method"],
            spec["path"],
            name=name,
            data=spec.get("data"),
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
