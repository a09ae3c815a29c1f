"""Two portal instances while Nue, Redis and PostgreSQL fail: nothing applied twice or wrongly,
nothing unaudited, nobody signed out.

    sudo .venv/bin/python bench/fault_test.py [--write] [--only NAME ...]

Starts the standalone emulator behind a fault proxy, and two portal instances (gunicorn.conf.py,
production settings) that reach PostgreSQL and Redis through relays (bench/fault_proxy.py; the
relays' faults are packet filters, so this needs root and iptables). Each experiment makes one
money-moving request on instance A while a fault is on, lifts the fault, lets the user retry on
instance B, runs `reconcile_operations` as cron would, and then reports:

- applied: the writes Nue took (the emulator's journal) and the state Nue holds afterwards;
- audited: the portal's money-moving audit events written for them;
- what the user saw, first and on retry;
- signed out: sessions that stopped working on either instance.

It passes when, for every experiment, applied = requested, audited = applied, Nue holds exactly
the change the user asked for and nobody was signed out. Exits 1 otherwise. `--write` appends the
table to bench/RESULTS.md. Everything it starts stops when it ends (at most 25 minutes).
"""

from __future__ import annotations

import argparse
import html
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fault_proxy import NueProxy, Relay, Rule, iptables_available
from scale_out import create_draft
from stack import BIN, PG, REDIS, ROOT, Session, Stack
from stack import sign_in as sign_in_as

DATABASE = "portal_faults"
GLOBEX_PRO = "SUB-00000007"
MONEY_MOVING = ("activation", "change_order", "cancellation")
UUID = r"[0-9a-f-]{36}"
# How long the portal keeps checking a lost write with Nue (NUE_SETTLES_WITHIN_SECONDS), short
# here so that the experiment where Nue never saw the request ends in seconds.
SETTLES_WITHIN = 15


@dataclass
class Outcome:
    name: str
    requested: int
    applied: int = 0
    audited: int = 0
    holds_asked: bool = False
    state: str = ""
    first: str = ""
    retry: str = ""
    signed_out: int = 0
    ledger: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return (
            self.applied == self.requested
            and self.audited == self.applied
            and self.holds_asked
            and self.signed_out == 0
        )


class Bench:
    def __init__(self, stack: Stack, proxy: NueProxy, pg: Relay, redis: Relay) -> None:
        self.stack = stack
        self.proxy = proxy
        self.pg = pg
        self.redis = redis
        self.a = ""
        self.b = ""
        self.sessions: list[Session] = []

    # --- Reading what happened ------------------------------------------------------------------

    def journal(self) -> list[dict[str, Any]]:
        return [e for e in self.stack.nue("GET", "/_emulator/journal") if e["wrote"]]

    def audit_events(self, since: datetime) -> list[tuple[str, dict[str, Any]]]:
        with psycopg.connect(f"{PG}/{DATABASE}", connect_timeout=5) as db:
            rows = db.execute(
                "SELECT kind, details FROM portal_auditevent"
                " WHERE created_at >= %s AND kind = ANY(%s)",
                (since, list(MONEY_MOVING)),
            ).fetchall()
        return [(kind, details) for kind, details in rows]

    def ledger(self, since: datetime) -> str:
        with psycopg.connect(f"{PG}/{DATABASE}", connect_timeout=5) as db:
            rows = db.execute(
                "SELECT kind, state FROM orders_operation WHERE created_at >= %s ORDER BY id",
                (since,),
            ).fetchall()
        return ", ".join(f"{kind} {state}" for kind, state in rows)

    def reconcile(self) -> None:
        subprocess.run(
            [str(BIN / "python"), "manage.py", "reconcile_operations", "--older-than", "0"],
            cwd=ROOT,
            env=self.stack.portal_env(),
            check=True,
            timeout=120,
            stdout=subprocess.DEVNULL,
        )

    def signed_out(self) -> int:
        """Sessions that no longer open the dashboard on one instance or the other."""
        lost = 0
        for session in self.sessions:
            for base in (self.a, self.b):
                response = session.request("GET", "/", base_url=base)
                lost += response.status_code != 200
        return lost

    # --- The user's requests --------------------------------------------------------------------

    def post(self, session: Session, base: str, path: str, data: dict[str, str]) -> httpx.Response:
        try:
            return session.request("POST", path, base_url=base, data=data)
        except httpx.HTTPError as error:
            # The portal itself did not answer: what the user sees is the browser's error.
            return httpx.Response(599, text=f"no answer from the portal ({type(error).__name__})")

    def subscription(self) -> dict[str, Any]:
        [sub] = self.stack.nue("GET", f"/subscriptions?name={GLOBEX_PRO}")
        return sub

    # --- Experiments ----------------------------------------------------------------------------

    def activation(
        self,
        name: str,
        arm: Callable[[str], None],
        lift: Callable[[], None],
        *,
        settle: bool = False,
        sign_in: bool = False,
    ) -> Outcome:
        """Ada activates a fresh draft on A while the fault is on, then once more on B.

        `settle`: Nue never saw the request, so the retry is told the portal is still checking;
        once NUE_SETTLES_WITHIN has passed, reconcile settles it and Ada tries once more.
        `sign_in`: someone signs in on B while the fault is on."""
        ada = self.sessions[0]
        order_id = create_draft(ada)
        outcome = Outcome(name, requested=1)
        since = self.begin()
        arm(order_id)
        path = f"/orders/{order_id}/activate/"
        first = self.post(ada, self.a, path, {"consent": "on"})
        if sign_in:
            try:
                self.sessions.append(sign_in_as(self.b, "ben@acme.example"))
            except SystemExit as failed:
                outcome.signed_out += 1
                outcome.notes.append(f"sign-in during the fault failed: {failed}")
            else:
                outcome.notes.append("signed in on B during the fault")
        lift()
        retry = self.post(ada, self.b, path, {"consent": "on"})
        if settle:
            time.sleep(SETTLES_WITHIN + 1)
            self.reconcile()
            outcome.notes.append(
                f"then, once checked: {seen(self.post(ada, self.b, path, {'consent': 'on'}))}"
            )
        self.finish(outcome, since, first, retry)
        activations = [
            e for e in self.journal() if e["method"] == "POST" and e["path"].endswith(order_id)
        ]
        outcome.applied = len(activations)
        order = self.stack.order("ada@acme.example", order_id)
        outcome.state = f"order {order['status']}"
        outcome.holds_asked = order["status"] == "Activated"
        return outcome

    def change(
        self,
        name: str,
        arm: Callable[[], None],
        lift: Callable[[], None],
        *,
        abandoned: dict[str, str] | None = None,
        on_confirm: bool = False,
    ) -> Outcome:
        """Grace previews a quantity change (after abandoning another preview, if given) and
        confirms it; the fault is on for the preview, or for the confirmation."""
        grace = self.sessions[1]
        before = int(self.subscription()["quantity"])
        wanted = before + 1 if on_confirm else before + 2
        outcome = Outcome(name, requested=1)
        since = self.begin()
        if abandoned:
            kind, data = next(iter(abandoned.items()))
            left = self.post(grace, self.a, f"/subscriptions/{GLOBEX_PRO}/change/{kind}/", data)
            outcome.notes.append(f"abandoned a {kind} preview ({left.status_code})")
        details = f"/subscriptions/{GLOBEX_PRO}/change/quantity/"
        data = {"quantity": str(wanted), "when": "today"}
        if not on_confirm:
            arm()
        first = self.post(grace, self.a, details, data)
        if not on_confirm:
            lift()
            retry = self.post(grace, self.b, details, data)
        else:
            retry = first
        preview = re.search(rf"/change/preview/({UUID})/", retry.headers.get("Location", ""))
        confirm_first = confirm_retry = None
        if preview:
            order_id = preview.group(1)
            page = grace.request("GET", retry.headers["Location"], base_url=self.b)
            if f"{wanted}" not in page.text:
                outcome.notes.append(f"the preview does not show quantity {wanted}")
            confirm = f"/subscriptions/{GLOBEX_PRO}/change/confirm/{order_id}/"
            if on_confirm:
                arm()
            confirm_first = self.post(grace, self.a, confirm, {})
            if on_confirm:
                lift()
                confirm_retry = self.post(grace, self.b, confirm, {})
        else:
            outcome.notes.append(f"no preview after the retry ({retry.status_code})")
        if on_confirm:
            self.finish(outcome, since, confirm_first, confirm_retry)
        else:
            self.finish(outcome, since, first, retry)
        activations = [
            e
            for e in self.journal()
            if e["method"] == "POST" and re.search(rf"/orders/{UUID}$", e["path"])
        ]
        outcome.applied = len(activations)
        sub = self.subscription()
        quantity = int(sub["quantity"])
        outcome.state = f"quantity {before} → {quantity} (asked {wanted}), {sub['status']}"
        outcome.holds_asked = quantity == wanted and sub["status"] == "Active"
        return outcome

    def begin(self) -> datetime:
        self.proxy.clear()
        self.stack.nue("DELETE", "/_emulator/journal")
        return datetime.now(UTC)

    def finish(
        self,
        outcome: Outcome,
        since: datetime,
        first: httpx.Response | None,
        retry: httpx.Response | None,
    ) -> None:
        self.proxy.clear()
        for relay in (self.pg, self.redis):
            relay.restore()
        outcome.first = seen(first)
        outcome.retry = seen(retry) if retry is not first else "(no retry needed)"
        self.reconcile()
        outcome.audited = len(self.audit_events(since))
        outcome.ledger = self.ledger(since)
        outcome.signed_out = self.signed_out()


def seen(response: httpx.Response | None) -> str:
    """What the user saw: where they were sent, or the page's alert (else its heading)."""
    if response is None:
        return "—"
    if response.is_redirect:
        where = response.headers.get("Location", "")
        where = re.sub(UUID, "…", where)
        return f"{response.status_code} → {where}"
    text = response.text
    # An error page's heading; else the page's first alert, to its first full stop; else its
    # heading.
    match = (
        re.search(r'class="error-page[^>]*>.*?<h1>(.*?)</h1>', text, re.S)
        or re.search(r'role="alert"[^>]*>(.*?)(?:\.|</(?:p|div|section)>)', text, re.S)
        or re.search(r"<h1[^>]*>(.*?)</h1>", text, re.S)
    )
    words = re.sub(r"<[^>]+>", " ", match.group(1)) if match else text[:80]
    words = " ".join(html.unescape(words).split())
    return f"{response.status_code} {words[:120]}"


Experiment = tuple[str, Callable[[str], Outcome]]


def experiments(bench: Bench) -> list[Experiment]:
    proxy, pg, redis = bench.proxy, bench.pg, bench.redis

    def nue(mode: str, *, before: bool = False, then: Callable[[], None] | None = None):
        def arm(order_id: str) -> None:
            proxy.add(Rule("POST", f"/orders/{order_id}", mode, before=before, then=then))

        return arm

    def relay(fail: Callable[[], None]) -> Callable[[str], None]:
        return lambda order_id: fail()

    def confirm(mode: str, then: Callable[[], None] | None = None) -> Callable[[], None]:
        return lambda: proxy.add(Rule("POST", rf"/orders/{UUID}", mode, then=then))

    def preview(mode: str) -> Callable[[], None]:
        return lambda: proxy.add(Rule("POST", "/change-orders", mode))

    def nothing() -> None:
        pass

    def restore() -> None:
        pg.restore()
        redis.restore()

    def activation(arm: Callable[[str], None], lift: Callable[[], None] = nothing, **kw: Any):
        return lambda name: bench.activation(name, arm, lift, **kw)

    def change(arm: Callable[[], None], lift: Callable[[], None] = nothing, **kw: Any):
        return lambda name: bench.change(name, arm, lift, **kw)

    quantity = {"quantity": {"quantity": "3", "when": "today"}}
    cancellation = {"cancel": {"when": "today", "reason": "too_expensive"}}
    return [
        ("activate: answer lost after apply", activation(nue("drop"))),
        ("activate: reset after apply", activation(nue("reset"))),
        ("activate: 502 after apply", activation(nue("502"))),
        ("activate: malformed JSON after apply", activation(nue("malformed"))),
        ("activate: no answer past every timeout", activation(nue("hang"))),
        ("activate: reset before Nue saw it", activation(nue("reset", before=True), settle=True)),
        ("activate: PostgreSQL refusing", activation(relay(pg.refuse), restore)),
        ("activate: PostgreSQL blackholed", activation(relay(pg.blackhole), restore)),
        (
            "activate: PostgreSQL refusing after Nue applied",
            activation(nue("answer", then=pg.refuse), restore),
        ),
        (
            "activate: PostgreSQL blackholed after Nue applied",
            activation(nue("answer", then=pg.blackhole), restore),
        ),
        ("activate: Redis refusing", activation(relay(redis.refuse), restore, sign_in=True)),
        ("activate: Redis blackholed", activation(relay(redis.blackhole), restore, sign_in=True)),
        (
            "activate: Redis blackholed after Nue applied",
            activation(nue("answer", then=redis.blackhole), restore),
        ),
        (
            "change preview: 502 after apply, another preview abandoned",
            change(preview("502"), abandoned=quantity),
        ),
        (
            "change preview: reset after apply, a cancellation abandoned",
            change(preview("reset"), abandoned=cancellation),
        ),
        ("change confirm: answer lost after apply", change(confirm("drop"), on_confirm=True)),
        ("change confirm: no answer past every timeout", change(confirm("hang"), on_confirm=True)),
        (
            "change confirm: PostgreSQL refusing after Nue applied",
            change(confirm("answer", then=pg.refuse), restore, on_confirm=True),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="Append to bench/RESULTS.md.")
    parser.add_argument(
        "--only", nargs="*", default=[], help="Run experiments whose name has this."
    )
    args = parser.parse_args()
    if os.geteuid() != 0 or not iptables_available():
        raise SystemExit("This benchmark needs root and iptables (apt-get install -y iptables).")

    outcomes: list[Outcome] = []
    with Stack(DATABASE, deadline_seconds=1500) as stack:
        stack.start_emulator(0, bulk=False)
        proxy = NueProxy(stack.emulator_url)
        pg = Relay(int(PG.rsplit(":", 1)[1]))
        redis = Relay(6379)
        try:
            stack.portal_overrides = {
                "NUE_API_URL": proxy.url,
                "DATABASE_URL": f"postgres://postgres@127.0.0.1:{pg.port}/{DATABASE}",
                "REDIS_URL": f"redis://127.0.0.1:{redis.port}/{REDIS.rsplit('/', 1)[1]}",
                "NUE_SETTLES_WITHIN_SECONDS": str(SETTLES_WITHIN),
            }
            stack.prepare_portal()
            bench = Bench(stack, proxy, pg, redis)
            bench.a = stack.start_portal("portal_a", workers=2, threads=4)
            bench.b = stack.start_portal("portal_b", workers=2, threads=4)
            bench.sessions = [
                sign_in_as(bench.a, "ada@acme.example"),
                sign_in_as(bench.a, "grace@globex.example"),
            ]
            for name, run in experiments(bench):
                if args.only and not any(part in name for part in args.only):
                    continue
                outcome = run(name)
                outcomes.append(outcome)
                print(
                    f"{'PASS' if outcome.passed else 'FAIL'}  {name}: applied {outcome.applied}/"
                    f"{outcome.requested}, audited {outcome.audited}, {outcome.state}; first "
                    f"{outcome.first!r}; retry {outcome.retry!r}; ledger [{outcome.ledger}]; "
                    f"signed out {outcome.signed_out} {'; '.join(outcome.notes)}",
                    flush=True,
                )
        finally:
            proxy.close()
            pg.close()
            redis.close()
    report(outcomes, args.write)
    if not all(o.passed for o in outcomes):
        raise SystemExit(1)


def report(outcomes: list[Outcome], write: bool) -> None:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        "",
        f"## Faults: two instances while Nue, Redis and PostgreSQL fail ({when})",
        "",
        "Command: `.venv/bin/python bench/fault_test.py --write` (as root) — two portal "
        "instances (gunicorn.conf.py, production settings) reaching PostgreSQL and Redis through "
        "relays that refuse or blackhole on cue, and the standalone emulator behind a proxy that "
        "loses answers after Nue applied the work. The first request goes to instance A with the "
        "fault on; the retry goes to B after it is lifted; `reconcile_operations` runs as cron "
        "would. Applied is read from the emulator's journal and state, audited from the portal's "
        "audit log.",
        "",
        "| Experiment | Applied / asked | Audited | Nue afterwards | First answer | Retry | "
        "Signed out | Result |",
        "|---|---:|---:|---|---|---|---:|---|",
        *[
            f"| {o.name} | {o.applied} / {o.requested} | {o.audited} | {o.state} | {o.first} | "
            f"{'; '.join([o.retry, *o.notes])} | {o.signed_out} | "
            f"{'pass' if o.passed else '**FAIL**'} |"
            for o in outcomes
        ],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if write:
        with open(ROOT / "bench" / "RESULTS.md", "a") as out:
            out.write(text)


if __name__ == "__main__":
    main()
