"""Subscriptions as the API shows them (status and next billing date as of a day) and the one
change Nue lets a client make to a subscription directly: `PATCH /subscriptions/{id}`.

Separate from change orders: presenting a subscription serves the read endpoints and activation
alike, and a PATCH writes the current version in place instead of drafting a new one.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone

from nue_emulator import extensions, inputs, pricing
from nue_emulator.actions.common import (
    DEFAULT_BILLING_PERIOD,
    as_date,
    find_subscription,
    now_iso,
    opt_date,
)
from nue_emulator.api import invalid, not_found
from nue_emulator.seed import CUSTOM_FIELDS


def subscription_status(doc: dict[str, Any], today: date) -> str:
    # `cancellationDate` is the last day of service: Cancel "ends the subscription on that date"
    # (nue-api.md §2.2) and end dates are inclusive (§3.3, §5.7), so the subscription is in
    # service through that day (its subscriptionEndDate) and reads Canceled from the day after.
    # Until then it reads as it would otherwise, ending on that date with autoRenew off.
    if doc.get("status") == "Canceled":
        cancels = opt_date(doc.get("cancellationDate"))
        if cancels is None or cancels < today:
            return "Canceled"
    if as_date(doc["subscriptionStartDate"]) > today:
        return "Pending"
    if as_date(doc["subscriptionEndDate"]) < today:
        return "Expired"
    return "Active"


def present_subscription(doc: dict[str, Any], today: date) -> dict[str, Any]:
    """A stored subscription as of `today`: status and next billing date depend on the date."""
    result = extensions.subscription(dict(doc))
    result["status"] = subscription_status(doc, today)
    next_billing = None
    if result["status"] in ("Active", "Pending") and not doc.get("isFreeTrial"):
        for start, _end, _partial in pricing.billing_periods(
            as_date(doc["subscriptionStartDate"]),
            as_date(doc["subscriptionEndDate"]),
            doc.get("billingPeriod") or DEFAULT_BILLING_PERIOD,
        ):
            if start > today:
                next_billing = start
                break
    result["nextBillingDate"] = next_billing
    return result


def update_subscription(ref: str, body: dict[str, Any]) -> dict[str, Any]:
    """`PATCH /subscriptions/{id}`: only `autoRenew` and custom fields (nue-api.md §2.7); quantity,
    term and product change through change orders. Updates the current version in place."""
    row = find_subscription(None, ref)
    if row is None:
        raise not_found("Subscription", ref)
    unknown = sorted(k for k in body if k != "autoRenew" and not k.endswith("__c"))
    if unknown:
        raise invalid(
            unknown[0], "cannot be updated here; only autoRenew and custom fields (__c) can."
        )
    changes = inputs.custom_fields(body, CUSTOM_FIELDS["Subscription"])
    if "autoRenew" in body:
        changes["autoRenew"] = inputs.flag(body["autoRenew"], "autoRenew")
    if not changes:
        raise invalid("body", "give autoRenew or a custom field to update.")
    row.doc = {**row.doc, **changes, "lastModifiedDate": now_iso()}
    row.save(update_fields=["doc"])
    return present_subscription(row.doc, timezone.localdate())
