"""What the emulator serves beyond the fields Nue documents, and the one setting that turns it on.

nue-api.md §5 item 18c: the emulator's extensions are off by default, and the portal never
depends on them. With `NUE_EMULATOR_EXTENSIONS` off, its answers leave out these fields, which
no documented shape of the object carries:

- on an order line (§3.2): the subscription it changes or created (`assetNumber`,
  `subscriptionName`, `subscriptionId`, `parentSubscriptionName`) and `isFreeTrial`;
- on a subscription (§3.3, which places a bundle's add-ons by `rootId` and `subscriptionLevel`):
  `isFreeTrial`, `freeTrialEndDate`, `parentId` and the parent's and root's names;
- on a product option (§4 found no default, minimum or maximum quantity, nor whether it may be
  changed; §5 item 11 keeps them in the emulator's catalog): those four.

The emulator keeps them in its own records all the same: its pricing and activation need to
know a trial, a line's subscription and an option's limits. Order lines are stored as served (the
list of orders goes out as stored), so for them the setting in force when an order is priced or
activated decides.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

ORDER_LINE_FIELDS = frozenset(
    {"assetNumber", "subscriptionName", "subscriptionId", "parentSubscriptionName", "isFreeTrial"}
)
SUBSCRIPTION_FIELDS = frozenset(
    {
        "isFreeTrial",
        "freeTrialEndDate",
        "parentId",
        "parentSubscriptionName",
        "rootSubscriptionName",
    }
)
OPTION_FIELDS = frozenset({"defaultQuantity", "minQuantity", "maxQuantity", "quantityEditable"})


def enabled() -> bool:
    return bool(getattr(settings, "NUE_EMULATOR_EXTENSIONS", False))


def _without(doc: dict[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    if enabled():
        return doc
    return {key: value for key, value in doc.items() if key not in fields}


def order_line(doc: dict[str, Any]) -> dict[str, Any]:
    return _without(doc, ORDER_LINE_FIELDS)


def subscription(doc: dict[str, Any]) -> dict[str, Any]:
    return _without(doc, SUBSCRIPTION_FIELDS)


def product(doc: dict[str, Any]) -> dict[str, Any]:
    """A catalog product with its options, at every level, as served."""
    if enabled() or not doc.get("productOptions"):
        return doc
    return {**doc, "productOptions": [_option(o) for o in doc["productOptions"]]}


def _option(doc: dict[str, Any]) -> dict[str, Any]:
    found = _without(doc, OPTION_FIELDS)
    if found.get("productOptions"):
        found["productOptions"] = [_option(o) for o in found["productOptions"]]
    return found
