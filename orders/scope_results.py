"""What the ledger's writes made, read back from the answers it recorded: the activated order and
what activation created, or the draft change order and each subscription's change. A retry that
replays an earlier answer reads it here too."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from orders.listing import Omitted
from orders.nue import (
    ActivationResult,
    Asset,
    ChangeOrderResult,
    Invoice,
    NueNotFound,
    NueProtocolError,
    NueUnavailable,
    Order,
    Subscription,
    SubscriptionChange,
    SubscriptionSnapshot,
    parse_each,
)
from orders.nue.fields import _objs
from orders.nue.models import _preview_invoices
from orders.nue.transport import warning_texts

if TYPE_CHECKING:
    from orders.models import Operation
    from orders.scope import CustomerNue

logger = logging.getLogger("orders.nue")


def activation_result(
    scope: CustomerNue, op: Operation, order: Order, *, replayed: bool
) -> ActivationResult:
    data = op.result if isinstance(op.result, dict) else {}
    reference = op.reference or ""
    try:
        activated = answered_order(scope, data, order.id, reference, "active")
        subscriptions = parse_each(
            _objs(data, "subscriptions", "result"),
            Subscription.parse,
            "subscriptions",
            reference,
        )
        assets = parse_each(_objs(data, "assets", "result"), Asset.parse, "assets", reference)
    except (NueProtocolError, NueUnavailable) as error:
        # Nue activated the order (the ledger recorded its answer); what could not be read
        # is no reason to send it again, and a retry is told it was activated.
        error.outcome_unknown = True
        raise
    invoices = parse_each(_objs(data, "invoices", "result"), Invoice.parse, "invoices", reference)
    scope._note(Omitted.of(invoices))
    return ActivationResult(
        order=activated,
        subscriptions=scope._own(subscriptions, "subscriptions"),
        assets=scope._own(assets, "assets"),
        invoices=invoices.items,
        operation_id=op.pk,
        replayed=replayed,
    )


def answered_order(
    scope: CustomerNue, data: Mapping[str, Any], order_id: str, reference: str, status: str
) -> Order:
    """The order a write's answer carries, or, where it carries none or one that does not
    parse, the order `order_id` (the answer's own id where readable) as Nue lists it now,
    looked for first among those of `status` (what the write made of it).

    `reference`: the request id of the write, under which an unreadable order is logged."""
    raw = data.get("order")
    unreadable: NueProtocolError | None = None
    if raw is not None:
        try:
            return scope._own_one(Order.parse(raw), "order")
        except NueProtocolError as error:
            found = raw.get("id") if isinstance(raw, dict) else None
            order_id = found if isinstance(found, str) and found else order_id
            logger.warning(
                "nue unparsed record request_id=%s kind=order id=%s reason=%s",
                reference,
                order_id,
                error.message,
            )
            error.reference = reference or error.reference
            unreadable = error
    try:
        return scope.order(order_id, status=status, fresh=True)
    except NueNotFound:
        if unreadable is None:
            raise
        # Nue answered with this order, so it exists: what is missing is a readable copy.
        raise unreadable from None


def change_result(
    scope: CustomerNue, op: Operation, befores: Sequence[Subscription], *, replayed: bool
) -> ChangeOrderResult:
    data = op.result if isinstance(op.result, dict) else {}
    reference = op.reference or ""
    try:
        order = answered_order(
            scope, data, str(data.get("resolvedOrderId", "")), reference, "draft"
        )
        # The emulator summarises each touched subscription in data.assetChanges (and on
        # the stored order); without it, the portal still knows each subscription as it was,
        # and the confirm step checks every one of them for a newer version.
        raw_order = data.get("order")
        raw_changes = _objs(data, "assetChanges", "change order") or (
            _objs(raw_order, "assetChanges", "change order") if isinstance(raw_order, dict) else []
        )
    except (NueProtocolError, NueUnavailable) as error:
        # The draft change order exists in Nue (the ledger recorded the answer), but this
        # request cannot show it: the customer is told so, not that nothing happened.
        error.draft_may_exist = True
        raise
    summarised = parse_each(
        raw_changes, SubscriptionChange.parse, "change summaries", reference
    ).items
    seen = {c.name for c in summarised}
    asked = asked_types(op.request)
    unsummarised = [
        SubscriptionChange(b.name, asked.get(b.name, ()), SubscriptionSnapshot.of(b), None, None)
        for b in {b.name: b for b in befores}.values()
        if b.name not in seen
    ]
    invoices = _preview_invoices(data, "change order", reference, order.currency)
    scope._note(Omitted.of(invoices))
    return ChangeOrderResult(
        order=order,
        preview_invoices=invoices.items,
        changes=(*summarised, *unsummarised),
        warnings=warning_texts(data.get("warnings")),
        operation_id=op.pk,
        replayed=replayed,
    )


def asked_types(request: object) -> dict[str, tuple[str, ...]]:
    """The change types a change-order request asked for, per subscription it names."""
    found: dict[str, list[str]] = {}
    changes = request.get("assetChanges") if isinstance(request, dict) else None
    for change in changes if isinstance(changes, list) else ():
        if isinstance(change, dict) and isinstance(change.get("changeType"), str):
            types = found.setdefault(str(change.get("assetNumber")), [])
            if change["changeType"] not in types:
                types.append(change["changeType"])
    return {name: tuple(types) for name, types in found.items()}
