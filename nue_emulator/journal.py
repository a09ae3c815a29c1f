"""A journal of the calls the emulator received, so tests can assert on upstream traffic
(e.g. "a GET page never causes an upstream write"). Process-local, thread-safe, bounded."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

MAX_ENTRIES = 5000


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


_lock = threading.Lock()
_entries: deque[Entry] = deque(maxlen=MAX_ENTRIES)


def record(entry: Entry) -> None:
    with _lock:
        _entries.append(entry)


def entries() -> list[Entry]:
    with _lock:
        return list(_entries)


def clear() -> None:
    with _lock:
        _entries.clear()


@contextmanager
def capture() -> Iterator[list[Entry]]:
    """Collect the entries recorded inside the block: `with capture() as calls: ...`."""
    with _lock:
        start = len(_entries)
        base = list(_entries)
    calls: list[Entry] = []
    try:
        yield calls
    finally:
        with _lock:
            now = list(_entries)
        # The deque is bounded; fall back to "entries not seen before" when it wrapped.
        calls.extend(now[start:] if now[:start] == base else [e for e in now if e not in base])
