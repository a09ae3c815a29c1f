"""Send the queued emails (portal.outbox): one pass, or `--loop` as the mail worker process.

`make run` starts it with `--loop` beside the development server; in production it runs as a
process of its own (README, Production), as many as you like: they share the queue.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from portal import outbox


class Command(BaseCommand):
    help = "Send due emails from the outbox; with --loop keep doing so until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--loop",
            action="store_true",
            help="Keep running: look for due mail every --poll seconds until SIGTERM or Ctrl-C.",
        )
        parser.add_argument(
            "--poll",
            type=float,
            default=settings.OUTBOX_POLL_SECONDS,
            help="Seconds between looks at an empty queue (default OUTBOX_POLL_SECONDS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        worker = outbox.worker_name()
        if not options["loop"]:
            self._report(outbox.send_due(worker), options["verbosity"], always=True)
            return
        stop = threading.Event()

        def finish(signum: int, frame: FrameType | None) -> None:
            # The message being handed over is finished and recorded first: stopping half-way
            # would leave it "sending", then unknown.
            stop.set()

        signal.signal(signal.SIGTERM, finish)
        signal.signal(signal.SIGINT, finish)
        if options["verbosity"]:
            self.stdout.write(f"Mail worker {worker}: sending through {_backend()}")
        while not stop.is_set():
            close_old_connections()
            try:
                done = outbox.send_due(worker, limit=settings.OUTBOX_BATCH)
            except Exception:
                # The database went away, say: try again after the pause rather than exit.
                outbox.logger.exception("Mail worker pass failed")
                stop.wait(options["poll"])
                continue
            self._report(done, options["verbosity"])
            if done.handled < settings.OUTBOX_BATCH:
                stop.wait(options["poll"])
        if options["verbosity"]:
            self.stdout.write(f"Mail worker {worker} stopped.")

    def _report(self, done: outbox.Pass, verbosity: int, *, always: bool = False) -> None:
        if verbosity and (always or done.handled or done.expired):
            self.stdout.write(str(done))


def _backend() -> str:
    return str(settings.OUTBOX_DELIVERY_BACKEND).rsplit(".", 2)[-2]
