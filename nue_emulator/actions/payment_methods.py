"""Payment methods on orders (create-draft-orders.txt, "Payment method integration"): the
`paymentMethodObject` of an order, an order product or an add-on, checked against the guide's
schema when the draft is made and stored with it; on activation each one is created or updated
(upserted by its external id) and set on the subscriptions as `defaultPaymentMethodId`.

Separate because it spans both ends of an order: drafting validates and keeps the objects, and
activation saves them and picks one for each new subscription, add-on first.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from nue_emulator import inputs
from nue_emulator.actions.common import new_id, now_iso
from nue_emulator.api import ApiError, invalid
from nue_emulator.models import Customer, PaymentMethod

# The guide's "valid values" of paymentMethodType. Its published text lost case and punctuation,
# so a value is matched on its letters alone ("credit card", "Credit Card", "NonElectronic").
PAYMENT_METHOD_TYPES = (
    "Electronic",
    "NonElectronic",
    "ACH",
    "Bank Transfer",
    "Cash",
    "Check",
    "Credit Card",
    "Debit Card",
    "PayPal",
    "Wire Transfer",
    "Other",
)
NEW_FIELDS = ("externalPaymentMethodId", "name", "paymentMethodType", "paymentSystem")


def _letters(value: str) -> str:
    return re.sub(r"[^a-z]", "", value.lower())


TYPES_BY_LETTERS = {_letters(t): t for t in PAYMENT_METHOD_TYPES}


def payment_method_object(value: Any, path: str, customer: Customer) -> dict[str, Any] | None:
    """A `paymentMethodObject` as the guide's schema has it: `{id}` of an existing Nue payment
    method of this customer (UUID), or a new one from the payment system with
    externalPaymentMethodId, name, paymentMethodType (one of the documented values),
    paymentSystem and autoChargeEnabled, all required."""
    obj = inputs.obj(value, path, required=False)
    if obj is None:
        return None
    if "id" in obj:
        if len(obj) > 1:
            raise invalid(
                path, "give either id (an existing payment method) or a new one's fields."
            )
        ref = inputs.required_text(obj["id"], f"{path}.id")
        try:
            uuid.UUID(ref)
        except ValueError:
            raise invalid(f"{path}.id", "must be a payment method id (UUID).") from None
        if not PaymentMethod.objects.filter(id=ref, customer=customer).exists():
            raise ApiError(
                400,
                "PAYMENT_METHOD_NOT_FOUND",
                f"Payment method {ref} is not one of this customer's.",
                [{"field": f"{path}.id", "message": "unknown payment method"}],
            )
        return {"id": ref}
    new = {name: inputs.required_text(obj.get(name), f"{path}.{name}") for name in NEW_FIELDS}
    kind = TYPES_BY_LETTERS.get(_letters(new["paymentMethodType"]))
    if kind is None:
        raise invalid(
            f"{path}.paymentMethodType", f"must be one of {', '.join(PAYMENT_METHOD_TYPES)}."
        )
    if not isinstance(obj.get("autoChargeEnabled"), bool):
        raise invalid(f"{path}.autoChargeEnabled", "is required: true or false.")
    return {**new, "paymentMethodType": kind, "autoChargeEnabled": obj["autoChargeEnabled"]}


def payment_plan(order_level: dict[str, Any] | None, lines: dict[str, Any]) -> dict[str, Any]:
    """What the draft stores for activation: the order's object and each line's own."""
    return {"order": order_level, "lines": {k: v for k, v in lines.items() if v is not None}}


def _save(customer: Customer, obj: dict[str, Any]) -> str:
    """The payment method an object names, created or (same external id) updated."""
    if "id" in obj:
        return str(obj["id"])
    found = PaymentMethod.objects.filter(
        customer=customer, external_id=obj["externalPaymentMethodId"]
    ).first()
    doc = {**obj, "accountId": customer.id, "lastModifiedDate": now_iso()}
    if found is None:
        method_id = new_id()
        PaymentMethod.objects.create(
            id=method_id,
            customer=customer,
            external_id=obj["externalPaymentMethodId"],
            doc={"id": method_id, **doc, "createdDate": doc["lastModifiedDate"]},
        )
        return method_id
    found.doc = {**found.doc, **doc}
    found.save(update_fields=["doc"])
    return found.id


def default_payment_methods(
    customer: Customer,
    plan: dict[str, Any],
    new_lines: list[dict[str, Any]],
    override: dict[str, Any] | None,
) -> dict[str, str | None]:
    """Saves the order's payment methods and answers, per new line, the one its subscription
    takes: "add-on level … product level … order level … no payment method if no payment method
    is specified at any level" (the guide's fallback). An add-on of an add-on looks to its
    parent add-on before the product. `override` is an order-level object sent on activation."""
    stored = plan.get("paymentMethods") or {}
    order_level = override or stored.get("order")
    by_line: dict[str, dict[str, Any]] = stored.get("lines") or {}
    saved: dict[str, str] = {}

    def save(obj: dict[str, Any]) -> str:
        key = str(obj.get("id") or obj["externalPaymentMethodId"])
        if key not in saved:
            saved[key] = _save(customer, obj)
        return saved[key]

    order_method = save(order_level) if order_level else None
    parents = {line["id"]: line.get("parentId") for line in new_lines}
    chosen: dict[str, str | None] = {}
    for line in new_lines:
        line_id: str | None = line["id"]
        method = order_method
        while line_id is not None:
            if line_id in by_line:
                method = save(by_line[line_id])
                break
            line_id = parents.get(line_id)
        chosen[line["id"]] = method
    return chosen
