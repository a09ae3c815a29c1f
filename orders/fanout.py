"""A page's independent reads, at once: the Nue calls on worker threads and, meanwhile, the
page's own database reads on the request's thread."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from typing import TypeVar

from django.db import connection, connections

T = TypeVar("T")
U = TypeVar("U")

MAX_CONCURRENT_READS = 8


def _in_worker(call: Callable[[], T]) -> T:
    try:
        return call()
    finally:
        # The embedded emulator queries the database on this worker thread; Django connections are
        # per thread, so close this thread's before the pool retires it.
        connections.close_all()


def fetch_concurrently(**calls: Callable[[], T]) -> dict[str, T]:
    """Run a page's independent reads at once: `fetch_concurrently(orders=lambda: nue.orders())`.

    Returns each call's result under its keyword. If any call fails, the first failure (in keyword
    order) is raised after every call has finished, so no worker outlives the request.
    """
    if len(calls) <= 1:
        return {name: call() for name, call in calls.items()}
    return fetch_alongside(lambda: None, **calls)[1]


def fetch_alongside(local: Callable[[], U], /, **calls: Callable[[], T]) -> tuple[U, dict[str, T]]:
    """Run `calls` as fetch_concurrently does and, meanwhile, `local()` on this thread.

    For a page's database reads: they belong on the request's own connection, and done while
    Nue is answering they cost the page no time. Returns `local`'s result and the calls' results;
    a failure of `local` or of a call is raised after every worker has finished.

    Inside a transaction everything runs on this thread, one after another: a worker's
    connection could not see the transaction's uncommitted writes, and the embedded emulator
    reads the portal's database.
    """
    if connection.in_atomic_block:
        return local(), {name: call() for name, call in calls.items()}
    results: dict[str, T] = {}
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=max(1, min(len(calls), MAX_CONCURRENT_READS))) as pool:
        # Each worker runs in a copy of this context: it serves the same request (serving_origin).
        futures = {
            name: pool.submit(copy_context().run, _in_worker, call) for name, call in calls.items()
        }
        try:
            here = local()
        except BaseException as error:  # re-raised below, after every worker finished
            failure = error
        for name, future in futures.items():
            try:
                results[name] = future.result()
            except BaseException as error:
                failure = failure or error
    if failure is not None:
        raise failure
    return here, results
