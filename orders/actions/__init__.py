"""What the portal does, as named steps with plain arguments (zulip's `actions/`): the acting
customer's scope (orders.scope), the member or user acting, typed values. No request objects and
no responses: views parse input with forms, call these, and render what they return.

purchase.py buys (catalog, preview, drafts) and schedule.py puts an invoice schedule in words;
changes.py and change_figures.py change subscriptions; activation.py is the one path that
activates a draft; approvals.py and quotes.py are what account managers and customers do with a
draft before it is activated; history.py derives what the pages show from Nue's records
(subscription versions, spend by month). `settled` lets a page that makes several reads lose
only what one failing read shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from orders.nue import NueError

T = TypeVar("T")


def settled(call: Callable[[], T]) -> Callable[[], T | NueError]:
    """`call`, answering its Nue failure instead of raising it: one failing read of a page that
    makes several costs only what that read shows."""

    def run() -> T | NueError:
        try:
            return call()
        except NueError as error:
            return error

    return run
