"""What the portal keeps of a failure it showed with a reference, for support to look up.

orders.views.errors describes each failure it maps (the people, the page, what the user read) as
`Failure`, and `record` writes it with the Nue call behind the reference (orders.nue.calls) and
the operation ledger row it happened in. `prune` bounds what is kept
(`manage.py prune_request_failures`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from orders.models import Operation, RequestFailure
from orders.nue import NueError
from orders.nue.calls import call_for

# What is kept of Nue's error text: enough to say what went wrong, never a whole body.
MESSAGE_MAX = 500
# How long a failure is kept unless prune_request_failures is told otherwise.
KEEP_DAYS = 90


@dataclass(frozen=True)
class Failure:
    """One failure as the user was shown it, with what the request says of who and where."""

    reference: str
    status: int
    title: str
    shown_as: str
    user_id: int | None = None
    user_email: str = ""
    impersonator_id: int | None = None
    impersonator_email: str = ""
    customer_id: int | None = None
    method: str = ""
    path: str = ""
    page: str = ""


def record(failure: Failure, error: BaseException) -> RequestFailure:
    """Keep `failure` under its reference, or count one more showing of a reference kept."""
    call = call_for(failure.reference)
    operation = _operation(failure.reference)
    customer_id = failure.customer_id
    if customer_id is None and operation is not None:
        # A staff page (an account manager's approval) has no acting customer; its operation
        # says whose it was.
        customer_id = operation.customer_id
    nue_error = error if isinstance(error, NueError) else None
    fields = {
        "user_id": failure.user_id,
        "user_email": failure.user_email,
        "impersonator_id": failure.impersonator_id,
        "impersonator_email": failure.impersonator_email,
        "customer_id": customer_id,
        "method": failure.method[:10],
        "path": failure.path[:2000],
        "page": failure.page[:2000],
        "nue_method": call.method if call else "",
        "nue_path": call.path[:500] if call else "",
        "nue_request_id": call.request_id if call else "",
        "nue_attempts": call.attempts if call else None,
        "upstream_status": nue_error.status if nue_error is not None else None,
        "error_kind": type(error).__name__,
        "error_code": (nue_error.error_code or "")[:100] if nue_error is not None else "",
        "error_message": _message(error),
        "status": failure.status,
        "title": failure.title[:200],
        "shown_as": failure.shown_as,
        "outcome_unknown": bool(getattr(error, "outcome_unknown", False)),
        "draft_may_exist": bool(getattr(error, "draft_may_exist", False)),
        "operation": operation,
    }
    try:
        # A savepoint: inside a caller's transaction a refused INSERT must not break it.
        with transaction.atomic():
            return RequestFailure.objects.create(reference=failure.reference, **fields)
    except IntegrityError:
        pass
    now = timezone.now()
    seen = RequestFailure.objects.filter(reference=failure.reference)
    seen.update(occurrences=F("occurrences") + 1, last_seen_at=now)
    if operation is not None:
        seen.filter(operation__isnull=True).update(operation=operation)
    return seen.get()


def _operation(reference: str) -> Operation | None:
    """The ledger row whose Nue call this reference names: the ledger closes a row with its
    failed call's reference, and a retry refused while it is open is shown the same one."""
    return Operation.objects.filter(reference=reference).order_by("-created_at").first()


def _message(error: BaseException) -> str:
    # The portal's own database failing: the exception's class says enough, its text may hold SQL.
    text = error.message if isinstance(error, NueError) else ""
    return " ".join(text.split())[:MESSAGE_MAX]


def prune(days: int = KEEP_DAYS) -> int:
    """Forget the failures first shown more than `days` days ago; how many were forgotten."""
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = RequestFailure.objects.filter(created_at__lt=cutoff).delete()
    return deleted
