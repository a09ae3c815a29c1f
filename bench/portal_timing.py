"""The portal's WSGI application, with each response telling how long it waited on Nue.

    gunicorn -c gunicorn.conf.py --pythonpath bench portal_timing:application

Adds `X-Bench-Upstream-Ms`: the time during which at least one Nue call of this request was in
flight (the union of the calls' intervals, so the concurrent reads of a page count once), that
is the request's upstream critical path; `X-Bench-Upstream-Calls`; `X-Bench-Cpu-Ms`, the CPU
time of the request's threads; `X-Bench-Server-Ms`, its time inside the WSGI application; and
`X-Bench-Db-Ms` and `X-Bench-Db-Queries`, its database queries (the request's thread). A page's
latency minus the upstream time is what the portal itself costs. Only bench/portal_load.py
serves this module.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.db import connection

from orders import fanout, nue
from portal.wsgi import application as portal_application

_calls: contextvars.ContextVar[list[tuple[float, float]] | None] = contextvars.ContextVar(
    "bench_nue_calls", default=None
)
# CPU seconds spent by the request's pool threads (parsing the concurrent reads).
_cpu: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar("bench_cpu", default=None)


def _cpu_timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    started = time.thread_time()
    try:
        return fn(*args, **kwargs)
    finally:
        spent = _cpu.get()
        if spent is not None:
            spent.append(time.thread_time() - started)


class _ContextExecutor(ThreadPoolExecutor):
    """fetch_concurrently's pool, running each read in the request's context (its call list)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return super().submit(contextvars.copy_context().run, _cpu_timed, fn, *args, **kwargs)


_send = nue.NueClient._send


def _timed_send(self: nue.NueClient, *args: Any, **kwargs: Any) -> Any:
    started = time.perf_counter()
    try:
        return _send(self, *args, **kwargs)
    finally:
        calls = _calls.get()
        if calls is not None:
            calls.append((started, time.perf_counter()))


fanout.ThreadPoolExecutor = _ContextExecutor  # type: ignore[misc]
nue.NueClient._send = _timed_send  # type: ignore[method-assign]


def union_seconds(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


def _timed_query(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
) -> Any:
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        queries = _queries.get()
        if queries is not None:
            queries.append(time.perf_counter() - started)


_queries: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar(
    "bench_queries", default=None
)


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    calls: list[tuple[float, float]] = []
    spent: list[float] = []
    queries: list[float] = []
    queries_token = _queries.set(queries)
    token, cpu_token = _calls.set(calls), _cpu.set(spent)
    cpu_started, entered = time.thread_time(), time.perf_counter()

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        headers.append(("X-Bench-Upstream-Ms", f"{union_seconds(calls) * 1000:.2f}"))
        headers.append(("X-Bench-Upstream-Calls", str(len(calls))))
        longest = max((stop - start for start, stop in calls), default=0.0)
        headers.append(("X-Bench-Upstream-Longest-Ms", f"{longest * 1000:.2f}"))
        cpu = time.thread_time() - cpu_started + sum(spent)
        headers.append(("X-Bench-Cpu-Ms", f"{cpu * 1000:.2f}"))
        # From the WSGI call to the response headers: the request's time inside the portal.
        headers.append(("X-Bench-Server-Ms", f"{(time.perf_counter() - entered) * 1000:.2f}"))
        headers.append(("X-Bench-Db-Ms", f"{sum(queries) * 1000:.2f}"))
        headers.append(("X-Bench-Db-Queries", str(len(queries))))
        return start_response(status, headers, exc_info)

    try:
        with connection.execute_wrapper(_timed_query):
            return portal_application(environ, start)
    finally:
        _calls.reset(token)
        _cpu.reset(cpu_token)
        _queries.reset(queries_token)
