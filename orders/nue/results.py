"""What the write verbs return: a priced draft, an activation, a draft change order."""

from __future__ import annotations

from dataclasses import dataclass

from orders.nue.models import Asset, Invoice, Order, Subscription, SubscriptionChange


@dataclass(frozen=True, slots=True)
class DraftResult:
    order: Order
    preview_invoices: tuple[Invoice, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ActivationResult:
    order: Order
    subscriptions: tuple[Subscription, ...]
    assets: tuple[Asset, ...]
    invoices: tuple[Invoice, ...]
    operation_id: int
    # True when this submit found the activation already done (double submit, resolved timeout).
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class ChangeOrderResult:
    order: Order
    preview_invoices: tuple[Invoice, ...]
    changes: tuple[SubscriptionChange, ...]
    warnings: tuple[str, ...]
    operation_id: int
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class DraftChangeOrder:
    """A draft change order created outside the operation ledger: only `manage.py nue_check`
    makes these, as probes it never activates."""

    order: Order
    changes: tuple[SubscriptionChange, ...]
    warnings: tuple[str, ...]
