"""The operation ledger and subscription holds: the one writer of orders.models.Operation.

Non-idempotent POSTs (activate, change order) go through it: one open operation per draft or
subscription, enforced by a unique constraint; after a lost answer the ledger reads Nue before
anything is sent again. An unknown outcome is settled only by reading Nue and finding exactly
what was requested; until then its lock holds, and the clock alone never settles it. The audit
events of a success are written with the outcome, by whichever path learns it first (the answer,
a retry, reconcile_operations).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from orders.models import Operation
from orders.nue import (
    Envelope,
    NueError,
    NueNotFound,
    NueProtocolError,
    NueUnavailable,
    OperationInProgress,
    Order,
    Subscription,
)
from orders.nue.transport import _json_default
from portal.audit import write
from portal.models import CustomerAccount, User

# The service module's logger: what the ledger could not record is logged with its Nue calls.
logger = logging.getLogger("orders.nue")

# Sent once per operation, in the transaction that records it succeeded with its audit events,
# whichever path learned it (the answer, a retry, reconcile_operations): `operation`. What the
# portal does about it (orders.actions.notices: the emails) commits with the outcome, or not at
# all; a receiver's failure is logged and never undoes the outcome.
succeeded = Signal()

# An open operation settles as "not done" only when Nue shows the work not done this long after
# the request left: by then any request Nue received has been answered or abandoned, so a slow
# activation is never taken for a lost one and sent again. Nue showing the work done settles it
# at once, however recent.
NUE_SETTLES_WITHIN = timedelta(seconds=settings.NUE_SETTLES_WITHIN_SECONDS)


def nue_had_time(sent_at: datetime, now: datetime | None = None) -> bool:
    """Whether a write whose answer was lost left long enough ago that Nue still not showing it
    means it was not applied (NUE_SETTLES_WITHIN above): the one clock rule for lost writes."""
    return (now or timezone.now()) - sent_at >= NUE_SETTLES_WITHIN


# A hold whose holder never sent the activation it held for (its worker died before) is released
# this long after it was taken: nothing was sent under it, so there is no outcome to wait for.
STALE_HOLD = timedelta(minutes=5)
# A pending or in-flight row younger than this may belong to a worker still at work (one request:
# the reads, Nue's answer within the read timeout, the worker's own time limit): it settles as
# done as soon as Nue shows its work done, but never as failed while its worker may still send.
OWNER_AT_WORK = timedelta(seconds=90)
# The same change order submitted again this soon after the first succeeded is a double submit.
DUPLICATE_WINDOW = timedelta(minutes=2)


def _payload_hash(body: object) -> str:
    canonical = json.dumps(body, default=_json_default, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Reads(Protocol):
    """What the ledger reads back from Nue to settle an operation: the acting customer's scope
    (orders.scope.CustomerNue), whose every read is checked to be that customer's."""

    def order(
        self,
        order_id: str,
        *,
        status: str | None = None,
        includes: Sequence[str] = ("orderProducts",),
        fresh: bool = False,
    ) -> Order: ...

    def orders(
        self, status: str | None = None, includes: Sequence[str] = (), *, fresh: bool = False
    ) -> list[Order]: ...

    def subscriptions(self) -> list[Subscription]: ...


class Ledger:
    """The operation ledger of one customer account, reading Nue through that customer's scope."""

    def __init__(self, account: CustomerAccount, reads: Reads) -> None:
        self.account = account
        self.reads = reads

    def open_activation(
        self,
        order_id: str,
        body: Mapping[str, Any],
        actor: User,
        on_behalf_of: User | None,
        *,
        audit: Sequence[Mapping[str, Any]],
        amount: Decimal,
    ) -> tuple[Operation, Operation | None]:
        """The ledger row for activating `order_id` with `body` (see `_open`). The body is kept
        as sent: how the order is paid (a card, its transactionHub) is part of it, and a retry
        is answered with what was sent then, never with a different card."""
        return self._open(
            Operation.Kind.ACTIVATE,
            order_id,
            body,
            actor,
            on_behalf_of,
            request=body,
            audit=audit,
            amount=amount,
        )

    def open_change(
        self,
        versions: Mapping[str, int],
        body: Mapping[str, Any],
        actor: User,
        on_behalf_of: User | None,
    ) -> tuple[Operation, Operation | None]:
        """The ledger row for the change order `body` of the subscriptions named in `versions`
        (see `_open`)."""
        # Quantity and term changes are deltas: the same body against a newer version of any of
        # the subscriptions is a new change, not a double click, so the versions are in the hash.
        fingerprint = {"body": body, "subscriptionVersions": dict(versions)}
        return self._open(
            Operation.Kind.CHANGE,
            _ledger_target(versions),
            fingerprint,
            actor,
            on_behalf_of,
            request=body,
        )

    def refuse(self, op: Operation, error: str) -> None:
        """Close `op` as failed before its request was sent."""
        self._close(op, Operation.State.FAILED, error=error, sent=False)

    def _open(
        self,
        kind: str,
        target: str,
        body: object,
        actor: User,
        on_behalf_of: User | None,
        *,
        request: Mapping[str, Any] | None = None,
        audit: Sequence[Mapping[str, Any]] = (),
        amount: Decimal | None = None,
    ) -> tuple[Operation, Operation | None]:
        """Commit an in-flight ledger row for `target`, or explain why nothing may be sent.

        Returns (row, None) when this submit may send, or (row, replay) when an earlier submit
        already did the work: the caller answers with the replay's result and sends nothing.
        Raises OperationInProgress while another submit's outcome is open.
        """
        payload_hash = _payload_hash(body)
        # In autocommit (every request) the INSERT commits by itself; inside a caller's
        # transaction a savepoint keeps a refused INSERT from breaking that transaction.
        guard = transaction.atomic if connection.in_atomic_block else nullcontext
        for _attempt in range(3):
            try:
                with guard():
                    # Written in flight, so sending needs no second commit: until the send,
                    # only the read for an earlier identical submit runs, and a row whose
                    # worker died before sending is settled by resolve() as any stale open
                    # row is (it asks Nue; it never sends again).
                    op = self._insert(
                        kind,
                        target,
                        actor,
                        on_behalf_of,
                        payload_hash,
                        request=dict(request or {}),
                        audit=[dict(event) for event in audit],
                        amount=amount,
                    )
            except IntegrityError:
                existing = _open_on(target)
                if existing is None:
                    continue  # closed between our insert and this read; try again
                if existing.customer_id != self.account.pk:
                    raise NueNotFound("No such object.") from None
                resolved = self.resolve(existing)
                # Only the same request is answered with an earlier one's result: an order is
                # activated once, whoever asks; a change order is this change order only if it
                # holds exactly this change (another change, or a hold, just finished first).
                same = resolved.kind == kind and (
                    kind == Operation.Kind.ACTIVATE or resolved.payload_hash == payload_hash
                )
                if resolved.state == Operation.State.SUCCEEDED and same:
                    return resolved, resolved
                if resolved.is_open:
                    raise OperationInProgress(
                        _still_open(resolved), reference=resolved.reference or None
                    ) from None
                continue
            # A submit that arrives just after an identical one finished gets that one's answer:
            # an order is activated only once; the same change sent twice within the window is a
            # double click, not a second change order.
            done = Operation.objects.filter(
                kind=kind, target=target, state=Operation.State.SUCCEEDED
            ).exclude(pk=op.pk)
            if kind == Operation.Kind.CHANGE:
                done = done.filter(
                    payload_hash=payload_hash,
                    finished_at__gte=timezone.now() - DUPLICATE_WINDOW,
                )
            previous = done.order_by("-finished_at").first()
            if previous is not None:
                self._close(
                    op, Operation.State.FAILED, error=f"Duplicate of #{previous.pk}.", sent=False
                )
                return previous, previous
            return op, None
        raise OperationInProgress(
            _("This is already in progress. Please wait a moment and reload.")
        )

    def send(self, op: Operation, send: Callable[[], Envelope]) -> Any:
        """`send()` the request `op` was opened for, and close `op` with its outcome; returns
        the answer's data. A lost answer leaves `op` unknown, for `resolve` to settle."""
        try:
            envelope = send()
        except NueUnavailable as error:
            error.outcome_unknown = not error.never_sent
            state = Operation.State.UNKNOWN if error.outcome_unknown else Operation.State.FAILED
            self._close_or_leave(op, state, error=error.message, reference=error.reference)
            raise
        except NueProtocolError as error:
            # Nue may have done the work and then sent something unreadable: find out later.
            error.outcome_unknown = True
            state = Operation.State.UNKNOWN
            self._close_or_leave(op, state, error=error.message, reference=error.reference)
            raise
        except NueError as error:
            state = Operation.State.FAILED
            self._close_or_leave(op, state, error=error.message, reference=error.reference)
            raise
        except BaseException as error:
            self._close_or_leave(op, Operation.State.UNKNOWN, error=repr(error))
            raise
        try:
            self._close(
                op,
                Operation.State.SUCCEEDED,
                result=envelope.data,
                reference=envelope.request_id,
                learned_from_answer=True,
            )
        except DatabaseError as error:
            # Nue did the work, and the ledger could not say so: the row stays in flight until a
            # retry or reconcile_operations reads Nue, settles it and writes its audit events.
            logger.exception("Ledger row #%s: Nue answered, the outcome was not recorded", op.pk)
            unrecorded = NueUnavailable(
                "Nue answered; the portal could not record it.", reference=envelope.request_id
            )
            unrecorded.outcome_unknown = True
            raise unrecorded from error
        return envelope.data

    def _close_or_leave(self, op: Operation, state: str, **fields: Any) -> None:
        """Close a row whose request failed; when the database fails too, leave the row open for
        resolve() and let the caller raise the failure the user should see."""
        try:
            self._close(op, state, **fields)
        except DatabaseError:
            logger.exception("Ledger row #%s: the outcome %s was not recorded", op.pk, state)

    def _close(
        self,
        op: Operation,
        state: str,
        *,
        error: str = "",
        reference: str | None = None,
        result: Any = None,
        sent: bool = True,
        learned_from_answer: bool = False,
    ) -> None:
        """`sent=False`: closed before the request left (the row was written in flight).
        `learned_from_answer`: the outcome is Nue's answer to the request, not a later read."""
        now = timezone.now()
        values: dict[str, Any] = {
            "state": state,
            "error": error[:2000],
            "reference": reference or op.reference,
            "result": op.result if result is None else result,
            "finished_at": None if state == Operation.State.UNKNOWN else now,
            "updated_at": now,
        }
        if not sent:
            values["sent_at"] = None
        # Only an open row is closed: whichever path settles it first (the answer, a retry or
        # reconcile reading Nue) decides, and a later one finds it settled and keeps that.
        still_open = Operation.objects.filter(pk=op.pk, state__in=Operation.OPEN_STATES)
        if state != Operation.State.SUCCEEDED or not op.audit:
            # One UPDATE, atomic by itself: no transaction around it (two round trips fewer).
            if still_open.update(**values):
                _assign(op, values)
            else:
                op.refresh_from_db()
            return
        # The outcome and its audit events commit together, exactly once.
        with transaction.atomic():
            if not still_open.update(**values):
                op.refresh_from_db()
                return
            _assign(op, values)
            claimed = Operation.objects.filter(pk=op.pk, audited_at__isnull=True).update(
                audited_at=now
            )
            if claimed:
                learned = "answer" if learned_from_answer else "read back from Nue"
                for event in op.audit:
                    write(event, operation=op.pk, outcome=learned)
                _announce(op)

    @contextmanager
    def hold(
        self, names: Sequence[str], order_id: str, actor: User, on_behalf_of: User | None
    ) -> Iterator[None]:
        """Hold the ledger's one open operation for each subscription while the change order
        `order_id` is activated.

        Two confirmations of different drafts for one subscription never overlap: the second is
        refused as in progress, or comes after the first and finds its draft stale. When the
        activation's outcome is unknown the holds stay open: nothing else may change those
        subscriptions until Nue shows whether it applied (`resolve`).
        """
        held: list[Operation] = []
        try:
            for target in sorted(set(names)):
                held.append(self._hold(target, order_id, actor, on_behalf_of))
            yield
        except NueError as error:
            state = Operation.State.UNKNOWN if error.outcome_unknown else Operation.State.FAILED
            self._release(held, state, error=error.message)
            raise
        except BaseException as error:
            self._release(held, Operation.State.FAILED, error=repr(error))
            raise
        self._release(held, Operation.State.SUCCEEDED, result={"orderId": order_id})

    def _hold(
        self, target: str, order_id: str, actor: User, on_behalf_of: User | None
    ) -> Operation:
        for _attempt in range(3):
            try:
                with transaction.atomic():
                    return self._insert(
                        Operation.Kind.HOLD,
                        target,
                        actor,
                        on_behalf_of,
                        hashlib.sha256(order_id.encode()).hexdigest(),
                        request={"orderId": order_id},
                    )
            except IntegrityError:
                existing = _open_on(target)
                # Whatever holds it is settled by reading Nue, not by waiting for it to age.
                if existing is not None and self.resolve(existing).is_open:
                    break
        raise OperationInProgress(
            _("Another change to %(target)s is being applied right now. Reload in a moment.")
            % {"target": target}
        )

    def _insert(
        self,
        kind: str,
        target: str,
        actor: User,
        on_behalf_of: User | None,
        payload_hash: str,
        **fields: Any,
    ) -> Operation:
        """A new row, in flight: the unique constraint refuses it while `target` has an open one."""
        return Operation.objects.create(
            kind=kind,
            target=target,
            customer=self.account,
            actor=actor,
            on_behalf_of=on_behalf_of,
            payload_hash=payload_hash,
            state=Operation.State.IN_FLIGHT,
            sent_at=timezone.now(),
            **fields,
        )

    @staticmethod
    def _release(held: Sequence[Operation], state: str, **fields: Any) -> None:
        """Settle the holds with the activation's outcome. When the database fails, they stay
        open and settle with the activation's row when something reads Nue (_resolve_hold)."""
        now = timezone.now()
        try:
            Operation.objects.filter(
                pk__in=[op.pk for op in held], state__in=Operation.OPEN_STATES
            ).update(
                state=state,
                finished_at=None if state == Operation.State.UNKNOWN else now,
                updated_at=now,
                error=str(fields.get("error", ""))[:2000],
                result=fields.get("result", {}),
            )
        except DatabaseError:
            logger.exception("Holds %s: the outcome %s was not recorded", held, state)

    def was_activated(self, order_id: str) -> bool:
        """Whether the ledger holds a succeeded activation of this order (every route activates
        through it): a page showing the draft as a draft would offer to do it again."""
        return Operation.objects.filter(
            customer=self.account,
            kind=Operation.Kind.ACTIVATE,
            target=order_id,
            state=Operation.State.SUCCEEDED,
        ).exists()

    def in_progress(self, target: str) -> bool:
        """Whether an operation on `target` is open: what Nue shows of it may yet change."""
        return Operation.objects.filter(
            customer=self.account, target=target, state__in=Operation.OPEN_STATES
        ).exists()

    def settle(self, targets: Iterable[str]) -> None:
        """Resolve the open operations of `targets` by reading Nue: a retry that finds the work
        done settles what the lost answer left open (and writes its audit events)."""
        for op in Operation.objects.filter(
            customer=self.account, target__in=list(targets), state__in=Operation.OPEN_STATES
        ):
            self.resolve(op)

    def resolve(self, op: Operation) -> Operation:
        """Settle an open operation by reading Nue; never sends anything again.

        Succeeded as soon as Nue shows exactly the work done (the order activated; a draft change
        order holding exactly the requested change). Failed only when Nue still shows it not done
        NUE_SETTLES_WITHIN after the request left. Otherwise it stays open, and so does its lock.
        """
        if not op.is_open:
            return op
        if op.kind == Operation.Kind.HOLD:
            return self._resolve_hold(op)
        now = timezone.now()
        # A worker still at work may yet send: its row is never taken for failed meanwhile. Nue
        # showing the work done settles any open row (a worker whose database failed after Nue
        # answered, or one still waiting for the answer, then finds it settled).
        at_work = op.state != Operation.State.UNKNOWN and now - op.updated_at < OWNER_AT_WORK
        settled = not at_work and nue_had_time(op.sent_at or op.created_at, now)
        if op.kind == Operation.Kind.ACTIVATE:
            try:
                # Whether it is activated is all this needs: the activated orders' headers, and
                # only when it is not among them, all of them.
                order = self.reads.order(op.target, status="active", includes=(), fresh=True)
            except NueNotFound:
                if settled:
                    self._close(op, Operation.State.FAILED, error="The order no longer exists.")
                return op
            earlier = (
                Operation.objects.filter(
                    kind=Operation.Kind.ACTIVATE,
                    target=op.target,
                    state=Operation.State.SUCCEEDED,
                )
                .exclude(pk=op.pk)
                .first()
            )
            if order.status == "Activated" and earlier is not None:
                # The ledger's one open row per order means an earlier row did it: this one is
                # a duplicate that Nue refused or never saw.
                self._close(op, Operation.State.FAILED, error=f"Duplicate of #{earlier.pk}.")
            elif order.status == "Activated":
                self._close(op, Operation.State.SUCCEEDED, result={"resolvedOrderId": order.id})
            elif settled:
                self._close(
                    op, Operation.State.FAILED, error=f"Nue shows the order {order.status}."
                )
            return op
        found = self._change_order_for(op)
        if found is not None:
            self._close(op, Operation.State.SUCCEEDED, result={"resolvedOrderId": found.id})
        elif settled:
            self._close(
                op, Operation.State.FAILED, error="Nue shows no change order for this request."
            )
        return op

    def _resolve_hold(self, op: Operation) -> Operation:
        """A hold settles with the activation of the order it held for."""
        order_id = str(op.request.get("orderId", ""))
        activation = (
            Operation.objects.filter(
                kind=Operation.Kind.ACTIVATE, target=order_id, customer=self.account
            )
            .order_by("-created_at")
            .first()
            if order_id
            else None
        )
        if activation is None or activation.created_at < op.created_at:
            # Nothing was sent under this hold yet; its holder may still be reading Nue.
            if timezone.now() - op.created_at >= STALE_HOLD:
                self._close(op, Operation.State.FAILED, error="Released: nothing was sent.")
            return op
        activation = self.resolve(activation)
        if activation.state == Operation.State.SUCCEEDED:
            self._close(op, Operation.State.SUCCEEDED, result={"orderId": order_id})
        elif not activation.is_open:
            self._close(op, Operation.State.FAILED, error=f"Activation #{activation.pk} failed.")
        return op

    def _change_order_for(self, op: Operation) -> Order | None:
        """The draft change order op's request created, if Nue shows exactly one.

        A candidate is a draft created since the request left, claimed by no other operation of
        the ledger, whose lines hold exactly the requested changes (`_draft_holds`). Anything
        else, including two candidates, is not this request's.
        """
        since = (op.sent_at or op.created_at).date()
        drafts = self.reads.orders(status="draft", includes=("orderProducts",), fresh=True)
        claimed = change_orders_made([order.id for order in drafts])
        unclaimed = [
            order
            for order in drafts
            if order.id not in claimed
            and (order.created_date is None or order.created_date >= since)
        ]
        if not unclaimed:
            return None
        subscriptions = self.reads.subscriptions()
        candidates = [
            order for order in unclaimed if _draft_holds(order, op.request, subscriptions)
        ]
        return candidates[0] if len(candidates) == 1 else None


def _announce(op: Operation) -> None:
    """Tell `succeeded`'s receivers, in a savepoint of the outcome's transaction: what they
    write commits with the outcome, and their failure is logged and rolled back alone."""
    try:
        with transaction.atomic():
            succeeded.send(sender=Ledger, operation=op)
    except Exception:
        logger.exception("Ledger row #%s: what follows its success was not done", op.pk)


def _assign(op: Operation, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        setattr(op, name, value)


def _still_open(op: Operation) -> str:
    """What a retry is told while an earlier submit's outcome is open."""
    if op.state != Operation.State.UNKNOWN:
        return _("This is already in progress. Please wait a moment and reload.")
    left = (op.sent_at or op.created_at) + NUE_SETTLES_WITHIN - timezone.now()
    minutes = max(1, -(-int(left.total_seconds()) // 60))
    return ngettext(
        "We are still checking with the billing system whether the earlier attempt went through,"
        " and send nothing again until we know: at most %(minutes)d more minute. Reload then to"
        " see the result.",
        "We are still checking with the billing system whether the earlier attempt went through,"
        " and send nothing again until we know: at most %(minutes)d more minutes. Reload then to"
        " see the result.",
        minutes,
    ) % {"minutes": minutes}


def _open_on(target: str) -> Operation | None:
    """The open operation on `target`: the unique constraint allows one at most."""
    return Operation.objects.filter(target=target, state__in=Operation.OPEN_STATES).first()


def _ledger_target(names: Iterable[str]) -> str:
    """The ledger key of a change order: its subscription names, sorted and joined.

    Too many names for the column keep the whole names that fit and a digest of all of them, so
    the key still differs between baskets and `resolve` still finds the draft by those names.
    """
    width = Operation._meta.get_field("target").max_length or 0
    joined = ",".join(sorted(set(names)))
    if len(joined) <= width:
        return joined
    digest = hashlib.sha256(joined.encode()).hexdigest()[:16]
    head = joined[: width - len(digest) - 1].rpartition(",")[0]
    return f"{head}#{digest}"


def change_orders_made(order_ids: Sequence[str]) -> set[str]:
    """The orders among `order_ids` that the ledger's change operations made (a draft change
    order it created, or found it had created when the answer was lost)."""
    return set(change_orders_asked(order_ids))


def change_orders_asked(order_ids: Sequence[str]) -> dict[str, set[str]]:
    """The subscriptions each change order among `order_ids` that the ledger's change operations
    made was asked to change, as the request it stored names them (Nue's lines do not name
    them, nue-api.md §3.2)."""
    if not order_ids:
        return {}
    rows = Operation.objects.filter(
        kind=Operation.Kind.CHANGE, state=Operation.State.SUCCEEDED
    ).filter(Q(result__order__id__in=order_ids) | Q(result__resolvedOrderId__in=order_ids))
    wanted = set(order_ids)
    asked: dict[str, set[str]] = {}
    for result, request in rows.values_list("result", "request"):
        order_id = _claimed_order_id(result)
        if order_id in wanted:
            asked.setdefault(order_id, set()).update(_names_asked(request))
    return asked


def _names_asked(request: object) -> set[str]:
    changes = request.get("assetChanges") if isinstance(request, dict) else None
    return {
        str(c["assetNumber"])
        for c in (changes if isinstance(changes, list) else ())
        if isinstance(c, dict) and isinstance(c.get("assetNumber"), str)
    }


def _claimed_order_id(result: object) -> str:
    """The order a settled operation's result names (its answer's order, or the one resolved)."""
    if not isinstance(result, dict):
        return ""
    order = result.get("order")
    if isinstance(order, dict) and isinstance(order.get("id"), str):
        return str(order["id"])
    resolved = result.get("resolvedOrderId")
    return resolved if isinstance(resolved, str) else ""


# A change of product has lines on the subscription's price book entry and on the target's.
REPLACING = frozenset({"Upgrade", "Downgrade", "Swap"})


def _draft_holds(
    order: Order, request: Mapping[str, Any], subscriptions: Sequence[Subscription]
) -> bool:
    """Whether a draft change order holds exactly the changes of `request` (a POST /change-orders
    body): the same change types on the same subscriptions, the same quantity deltas and start
    dates, the same cross-sold products.

    Nue's lines do not name the subscription they change (nue-api.md §3.2); they carry the price
    book entry they are priced on, as every subscription does (§3.3). A change's lines are those
    of its type on its subscription's entry (and, for a change of product, on the target's), and
    they prove it only if no other subscription of the customer is priced on that entry and no
    other change of the request could claim them. Where a line could be another's, or the lines
    do not say which change they carry, nothing is proven and the draft is not the request's.
    """
    asked = [c for c in request.get("assetChanges", ()) if isinstance(c, dict)]
    typed = [ln for ln in order.all_lines() if ln.change_type]
    if not asked or not typed:
        return False
    current = {s.name: s for s in sorted(subscriptions, key=lambda s: s.version)}
    priced_on: dict[str, set[str]] = {}
    for each in current.values():
        if each.price_book_entry_id:
            priced_on.setdefault(each.price_book_entry_id, set()).add(each.name)
    claims: dict[tuple[str, str], int] = {}
    owned: list[tuple[str, str, set[str]]] = []
    for index, change in enumerate(asked):
        kind, name = change.get("changeType"), str(change.get("assetNumber"))
        sub = current.get(name)
        entry = sub.price_book_entry_id if sub is not None else None
        # Reconfigure's lines are priced on the add-ons, which the request names by option.
        if not isinstance(kind, str) or kind == "Reconfigure" or entry is None:
            return False
        if priced_on.get(entry) != {name}:
            return False
        entries = {entry}
        target = change.get("targetPriceBookEntryId")
        if kind in REPLACING and isinstance(target, str):
            entries.add(target)
        if any(claims.setdefault((kind, e), index) != index for e in entries):
            return False
        owned.append((kind, entry, entries))
    # A change of a bundle may carry lines on its add-ons (rootId, §3.3), of a kind asked for;
    # a line that could be any other subscription's is another change.
    kinds = {kind for kind, _, _ in owned}
    ids = {current[str(c.get("assetNumber"))].id for c in asked}
    add_ons = {s.name for s in current.values() if s.root_id in ids and s.id not in ids}
    for ln in typed:
        if (str(ln.change_type), str(ln.price_book_entry_id)) in claims:
            continue
        owners = priced_on.get(str(ln.price_book_entry_id), set())
        if ln.change_type not in kinds or not owners or not owners <= add_ons:
            return False
    for change, (kind, entry, entries) in zip(asked, owned, strict=True):
        mine = [ln for ln in typed if ln.change_type == kind and ln.price_book_entry_id in entries]
        if not any(ln.price_book_entry_id == entry for ln in mine):
            return False
        moved = sum((ln.quantity for ln in mine), Decimal(0))
        if kind == "UpdateQuantity" and moved != Decimal(str(change.get("quantity"))):
            return False
        start = change.get("startDate")
        first = min((ln.start_date for ln in mine if ln.start_date), default=None)
        if start is not None and (first is None or first.isoformat() != str(start)):
            return False
    products = [p for p in request.get("products", ()) if isinstance(p, dict)]
    plain = [ln for ln in order.lines if not ln.change_type]
    sold = sorted(
        (str(p.get("priceBookEntryId")), Decimal(str(p.get("quantity")))) for p in products
    )
    return sorted((str(ln.price_book_entry_id), ln.quantity) for ln in plain) == sold
