"""The Nue calls of the unit of work being served (one portal request), by request id.

A failure's reference is the X-Request-Id of the Nue call that failed, or that sent what could
not be read (the verbs raise their parse errors with the answer's request id). Support looks a
reference up and needs the call behind it: the middleware wraps each portal request in
`recording()`, the transport notes every call here, and the code that records the failure asks
`call_for(reference)`. Only the method, the path (ids only: query strings and bodies are never
kept, as in the transport's log) and how it ended are noted; nothing outlives the request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

# A page makes a few dozen calls at most; a unit of work making more keeps its latest.
MAX_CALLS = 256


@dataclass(frozen=True, slots=True)
class NueCall:
    """One call as the transport sent it: its last attempt's status, or "error" when no answer
    came (a timeout, a reset)."""

    request_id: str
    method: str
    path: str
    status: int | str
    attempts: int


class _Journal:
    """The calls of one unit of work; its page's reads at once note theirs from worker threads."""

    def __init__(self) -> None:
        self._calls: OrderedDict[str, NueCall] = OrderedDict()
        self._lock = threading.Lock()

    def note(self, call: NueCall) -> None:
        with self._lock:
            self._calls[call.request_id] = call
            self._calls.move_to_end(call.request_id)
            while len(self._calls) > MAX_CALLS:
                self._calls.popitem(last=False)

    def get(self, request_id: str) -> NueCall | None:
        with self._lock:
            return self._calls.get(request_id)


_journal: ContextVar[_Journal | None] = ContextVar("nue_calls", default=None)


@contextmanager
def recording() -> Iterator[None]:
    """Note the calls made until the block ends. Worker threads of a page's reads at once run in
    a copy of the context (orders.fanout), which holds this same journal."""
    token = _journal.set(_Journal())
    try:
        yield
    finally:
        _journal.reset(token)


def note(call: NueCall) -> None:
    journal = _journal.get()
    if journal is not None:
        journal.note(call)


def call_for(request_id: str) -> NueCall | None:
    """The call with this request id made in this unit of work, if any."""
    journal = _journal.get()
    return journal.get(request_id) if journal is not None else None
