"""Fault injection: make chosen routes slow, fail, answer garbage, hang or drop the connection.

The registry is a table of the emulator's database (models.InjectedFault), not process memory:
a fault added by a test or through the HTTP control endpoint reaches every gunicorn worker and
every emulator instance on that database, and its `times` are used up once across all of them,
which is what multi-worker and two-instance fault tests need. Tests use the `inject()` context
manager; benchmarks and out-of-process tests use `/_emulator/faults` (views.py);
`NUE_EMULATOR_LATENCY_MS` adds a latency to every call (standalone load tests).

Faults apply in the order they were added. Taking one is written beside the API call's own
transaction (db.bookkeeping), so a call that is rolled back or drops its connection still used
it up.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models import F, Q, QuerySet

from nue_emulator.db import bookkeeping
from nue_emulator.models import InjectedFault

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


def _row(fault: Fault) -> InjectedFault:
    return InjectedFault(
        key=fault.id,
        route=fault.route,
        method=fault.method,
        status=fault.status,
        body=fault.body or "",
        latency_ms=fault.latency_ms,
        hang_seconds=fault.hang_seconds,
        retry_after=fault.retry_after,
        reset=fault.reset,
        times=fault.times,
        percent=fault.percent,
    )


def _fault(row: InjectedFault) -> Fault:
    return Fault(
        route=row.route,
        method=row.method,
        status=row.status,
        body=row.body or None,
        latency_ms=row.latency_ms,
        hang_seconds=row.hang_seconds,
        retry_after=row.retry_after,
        reset=row.reset,
        times=row.times,
        percent=row.percent,
        id=row.key,
    )


def _in_force() -> QuerySet[InjectedFault]:
    # A row used up by a take whose delete has not run yet is no longer a fault.
    return InjectedFault.objects.filter(Q(times__isnull=True) | Q(times__gte=1)).order_by("pk")


def add(fault: Fault) -> Fault:
    bookkeeping(lambda: _row(fault).save(force_insert=True), writes=True)
    return fault


def remove(fault_id: str) -> bool:
    deleted, _ = bookkeeping(
        lambda: InjectedFault.objects.filter(key=fault_id).delete(), writes=True
    )
    return deleted > 0


def clear() -> None:
    bookkeeping(lambda: InjectedFault.objects.all().delete(), writes=True)


def active() -> list[Fault]:
    return [_fault(row) for row in bookkeeping(lambda: list(_in_force()))]


def take(route: str, method: str) -> Fault | None:
    """The first fault matching this call, counting it against its `times` (returned with the
    `times` it had when read)."""
    method = method.upper()
    # Every call asks; faults are rare. Whether the table holds any is a far cheaper question
    # than which of them match, and still asked of the database, which every emulator process
    # shares.
    if not bookkeeping(InjectedFault.objects.exists):
        return None
    rows = bookkeeping(
        lambda: list(_in_force().filter(route__in=("*", route), method__in=("*", method)))
    )
    for row in rows:
        fault = _fault(row)
        if not fault.matches(route, method):
            continue
        if fault.percent < 100 and random.randrange(100) >= fault.percent:  # noqa: S311
            continue
        if fault.times is None or _claim(row.pk):
            return fault
    return None


def _claim(pk: int) -> bool:
    """One call of a `times` fault, by an UPDATE that succeeds only while one is left: of several
    workers taking at once, exactly one gets the last call and the others look further."""
    claimed = bookkeeping(
        lambda: InjectedFault.objects.filter(pk=pk, times__gte=1).update(times=F("times") - 1),
        writes=True,
    )
    if claimed:
        bookkeeping(lambda: InjectedFault.objects.filter(pk=pk, times__lte=0).delete(), writes=True)
    return bool(claimed)


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
