"""A journal of the calls the emulator received, so tests can assert on upstream traffic
(e.g. "a GET page never causes an upstream write").

Kept in the emulator's database (models.JournalEntry), not process memory, so a test sees the
calls every gunicorn worker and every emulator instance on that database answered: multi-worker
and two-instance tests. It is written only while the control endpoints are mounted
(`NUE_EMULATOR_CONTROL`): when nobody can read it, nothing is written. Bounded: every
PRUNE_EVERY-th row deletes those more than MAX_ENTRIES behind it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Max

from nue_emulator.db import bookkeeping
from nue_emulator.models import JournalEntry

MAX_ENTRIES = 5000
PRUNE_EVERY = 100


@dataclass(frozen=True)
class Entry:
    method: str
    path: str
    query: str
    route: str
    status: int
    duration_ms: float
    wrote: bool

    def as_api(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "route": self.route,
            "status": self.status,
            "durationMs": round(self.duration_ms, 3),
            "wrote": self.wrote,
        }


def _entry(row: JournalEntry) -> Entry:
    return Entry(
        method=row.method,
        path=row.path,
        query=row.query,
        route=row.route,
        status=row.status,
        duration_ms=row.duration_ms,
        wrote=row.wrote,
    )


def enabled() -> bool:
    return bool(getattr(settings, "NUE_EMULATOR_CONTROL", True))


def record(entry: Entry) -> None:
    """Journal a call (beside its transaction: a call rolled back is journaled too)."""
    if not enabled():
        return
    row = JournalEntry(
        method=entry.method,
        path=entry.path,
        query=entry.query,
        route=entry.route,
        status=entry.status,
        duration_ms=entry.duration_ms,
        wrote=entry.wrote,
    )
    bookkeeping(lambda: row.save(force_insert=True), writes=True)
    if row.pk % PRUNE_EVERY == 0:
        bookkeeping(
            lambda: JournalEntry.objects.filter(pk__lte=row.pk - MAX_ENTRIES).delete(),
            writes=True,
        )


def entries() -> list[Entry]:
    """The last MAX_ENTRIES calls, oldest first."""
    rows = bookkeeping(lambda: list(JournalEntry.objects.order_by("-pk")[:MAX_ENTRIES]))
    return [_entry(row) for row in reversed(rows)]


def clear() -> None:
    bookkeeping(lambda: JournalEntry.objects.all().delete(), writes=True)


@contextmanager
def capture() -> Iterator[list[Entry]]:
    """Collect the entries recorded inside the block: `with capture() as calls: ...`."""
    start = bookkeeping(lambda: JournalEntry.objects.aggregate(last=Max("pk"))["last"]) or 0
    calls: list[Entry] = []
    try:
        yield calls
    finally:
        rows = bookkeeping(lambda: list(JournalEntry.objects.filter(pk__gt=start).order_by("pk")))
        calls.extend(_entry(row) for row in rows)
