"""Database plumbing shared by the API views (api.py) and the emulator's own records (faults.py,
journal.py): on SQLite, writers take turns, and a statement refused for a lock is tried again."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import TypeVar

from django.db import OperationalError, connection, transaction

T = TypeVar("T")

# SQLite's shared cache (the test database) reports a table another connection holds as locked at
# once instead of waiting; such a statement is retried this many times, 20 ms apart.
SQLITE_LOCK_RETRIES = 50
SQLITE_LOCK_WAIT = 0.02

_sqlite_writers = threading.Lock()


def sqlite_locked(error: OperationalError) -> bool:
    return "locked" in str(error) and connection.vendor == "sqlite"


@contextmanager
def serialised() -> Iterator[None]:
    """On SQLite, one writer at a time per process; PostgreSQL needs no help.

    Inside a transaction someone else opened no turn is taken: that transaction may hold SQLite's
    lock already, and waiting for a turn while holding it would deadlock with the turn's holder.
    """
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        with _sqlite_writers:
            yield
    else:
        yield


def bookkeeping(run: Callable[[], T], *, writes: bool = False) -> T:
    """`run()`: a statement of the emulator's own records, beside an API call's transaction rather
    than in it, so a call rolled back (or a dropped connection) still leaves its record.

    Inside a transaction someone else opened (the portal's, embedded) a write runs in a
    savepoint, so a failure leaves that transaction usable. A read does not (every call asks
    whether a fault is injected, and a savepoint makes that three statements): SQLite keeps the
    transaction as it was after a refused read, which is tried again, and on PostgreSQL a read of
    these small tables fails only with the connection or the server, which no savepoint saves.
    """
    attempts = 0
    while True:
        try:
            with (
                serialised() if writes else nullcontext(),
                transaction.atomic() if writes and connection.in_atomic_block else nullcontext(),
            ):
                return run()
        except OperationalError as error:
            attempts += 1
            if not sqlite_locked(error) or attempts == SQLITE_LOCK_RETRIES:
                raise
            time.sleep(SQLITE_LOCK_WAIT)
