"""Run steps at the same moment, and fail unless every one of them finished.

A race test that counts only the survivors proves nothing: a thread that died or hung leaves
one outcome fewer, and "exactly one call upstream" then holds for the wrong reason.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.db import connections

T = TypeVar("T")

JOIN_TIMEOUT = 120


def run_together(steps: Sequence[Callable[[], T]]) -> list[T]:
    """Each step's result, in order. The steps start together at a barrier, each on its own
    thread with its own database connections (closed when it ends). An exception in a step is
    raised here; a step still running after JOIN_TIMEOUT fails the test."""
    barrier = threading.Barrier(len(steps))
    results: dict[int, T] = {}
    errors: dict[int, BaseException] = {}

    def run(index: int, step: Callable[[], T]) -> None:
        try:
            barrier.wait()
            results[index] = step()
        except BaseException as error:
            errors[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(steps)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    hung = [i for i, thread in enumerate(threads) if thread.is_alive()]
    assert not hung, f"steps {hung} did not finish"
    if errors:
        index, error = next(iter(sorted(errors.items(), key=lambda item: item[0])))
        raise AssertionError(f"step {index} of {len(steps)} failed") from error
    assert len(results) == len(steps)
    return [results[i] for i in range(len(steps))]
