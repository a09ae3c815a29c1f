"""What every business step of the emulator shares: ids, timestamps, dates and money read back from
stored documents, the tenant a request acts on, and finding a subscription by name or id.

Separate so that the modules of the steps (new orders, change orders, activation, subscriptions)
can all stand on it without importing each other.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone

from nue_emulator.catalog import Catalog
from nue_emulator.models import Customer, Subscription

DEFAULT_BILLING_PERIOD = "Monthly"


def new_id() -> str:
    return str(uuid.uuid4())


def dec(value: Any) -> Decimal:
    """Money read back from a stored document (a JSON number) or still in memory (a Decimal)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def opt_date(value: Any) -> date | None:
    return None if value is None else as_date(value)


def now_iso() -> str:
    return timezone.now().replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class Context:
    catalog: Catalog
    customer: Customer
    today: date
    warnings: list[dict[str, str]] = field(default_factory=list)

    @property
    def account(self) -> dict[str, Any]:
        return self.customer.doc


def find_subscription(customer: Customer | None, ref: str) -> Subscription | None:
    """The current version of a subscription by name (`SUB-…`) or id, scoped to the customer."""
    query = Subscription.objects.filter(is_current=True)
    if customer is not None:
        query = query.filter(customer=customer)
    found = query.filter(name=ref).first()
    if found is None:
        by_id = Subscription.objects.filter(id=ref).first()
        if by_id is not None and (customer is None or by_id.customer_id == customer.id):
            found = query.filter(name=by_id.name).first()
    return found
