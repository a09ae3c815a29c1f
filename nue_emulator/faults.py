"""Fault injection: make chosen routes slow, fail, answer garbage, hang or drop the connection.

A process-local, thread-safe registry. Tests use the `inject()` context manager; benchmarks and
out-of-process tests use the HTTP control endpoint (`/_emulator/faults`, see views.py);
`NUE_EMULATOR_LATENCY_MS` adds a latency to every call (standalone load tests).
"""

from __future__ import annotations

import os
import random
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

BODIES = ("malformed", "empty", "html")
CONTROL_PREFIX = "emulator-"


@dataclass
class Fault:
    route: str = "*"  # a URL name from urls.py ("orders", "order", …) or "*" for every route
    method: str = "*"
    status: int | None = None
    body: str | None = None  # "malformed" | "empty" | "html"; None keeps the JSON error envelope
    latency_ms: int = 0
    hang_seconds: float = 0.0
    retry_after: int | None = None
    reset: bool = False
    times: int | None = None  # how many matching calls it affects; None = until removed
    percent: int = 100  # share of matching calls it affects, drawn at random (degraded-Nue loads)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        if self.body is not None and self.body not in BODIES:
            raise ValueError(f"body must be one of {', '.join(BODIES)}")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError("status must be an HTTP status code")
        if self.latency_ms < 0 or self.hang_seconds < 0:
            raise ValueError("latency_ms and hang_seconds must not be negative")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1")
        if not 1 <= self.percent <= 100:
            raise ValueError("percent must be between 1 and 100")

    def matches(self, route: str, method: str) -> bool:
        # A wildcard never hits the control routes, or a fault could lock itself in.
        if self.route == "*" and route.startswith(CONTROL_PREFIX):
            return False
        return self.route in ("*", route) and self.method in ("*", method.upper())

    def as_api(self) -> dict[str, Any]:
        data = asdict(self)
        return {
            "id": data["id"],
            "route": data["route"],
            "method": data["method"],
            "status": data["status"],
            "body": data["body"],
            "latencyMs": data["latency_ms"],
            "hangSeconds": data["hang_seconds"],
            "retryAfter": data["retry_after"],
            "reset": data["reset"],
            "times": data["times"],
            "percent": data["percent"],
        }


_lock = threading.Lock()
_faults: list[Fault] = []


def add(fault: Fault) -> Fault:
    with _lock:
        _faults.append(fault)
    return fault


def remove(fault_id: str) -> bool:
    with _lock:
        before = len(_faults)
        _faults[:] = [f for f in _faults if f.id != fault_id]
        return len(_faults) != before


def clear() -> None:
    with _lock:
        _faults.clear()


def active() -> list[Fault]:
    with _lock:
        return list(_faults)


def take(route: str, method: str) -> Fault | None:
    """The first fault matching this call, counting it against its `times`."""
    with _lock:
        for fault in _faults:
            if fault.matches(route, method):
                if fault.percent < 100 and random.randrange(100) >= fault.percent:  # noqa: S311
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        _faults.remove(fault)
                return fault
    return None


def global_latency_ms() -> int:
    try:
        return max(0, int(os.environ.get("NUE_EMULATOR_LATENCY_MS", "0")))
    except ValueError:
        return 0


@contextmanager
def inject(
    route: str = "*",
    method: str = "*",
    *,
    status: int | None = None,
    body: str | None = None,
    latency_ms: int = 0,
    hang_seconds: float = 0.0,
    retry_after: int | None = None,
    reset: bool = False,
    times: int | None = None,
    percent: int = 100,
) -> Iterator[Fault]:
    """Apply a fault for the duration of the block, e.g.
    `with inject("orders", "GET", status=503, retry_after=2, times=1): ...`"""
    fault = add(
        Fault(
            route=route,
            method=method,
            status=status,
            body=body,
            latency_ms=latency_ms,
            hang_seconds=hang_seconds,
            retry_after=retry_after,
            reset=reset,
            times=times,
            percent=percent,
        )
    )
    try:
        yield fault
    finally:
        remove(fault.id)
