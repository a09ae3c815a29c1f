"""What the purchase flow keeps between requests.

The configuration in progress lives in the session (per customer), so it survives a failed Nue
call and a reload. The preview invoices and warnings Nue returned for a new draft live in the
shared cache per customer and order: reading the stored draft later (GET /orders) returns no
preview invoices, every member of the account may open the draft (an admin activating a buyer's
draft, say), and a late live-preview request rewriting the session cannot lose them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest

from orders.nue import DraftResult, Invoice, InvoiceDetail, InvoiceItem

CONFIG_KEY = "purchase:config:{customer}"
DRAFT_KEY = "purchase:draft:{customer}:{order}"
DRAFT_TTL = 30 * 24 * 3600  # a draft's breakdown outlives a session; Nue keeps drafts open
DECIMALS = frozenset(
    {"amount", "amount_without_tax", "tax_amount", "balance", "quantity", "unit_price"}
)
DATES = frozenset({"invoice_date", "due_date", "start_date", "end_date"})


def _config_key(request: HttpRequest) -> str:
    customer = getattr(request, "customer", None)
    return CONFIG_KEY.format(customer=customer.pk if customer is not None else "none")


def saved_configuration(request: HttpRequest) -> dict[str, list[str]] | None:
    data = request.session.get(_config_key(request))
    return data if isinstance(data, dict) else None


def save_configuration(request: HttpRequest, data: dict[str, list[str]]) -> None:
    session = request.session
    if session.get(_config_key(request)) == data:
        return  # the change and input events of one edit send the same configuration twice
    session[_config_key(request)] = data
    # Saved now, not by SessionMiddleware: it skips the save when the response is a 5xx, which
    # is exactly when the configuration must survive (a failed preview or draft call). An
    # existing session needs no second write by the middleware.
    existed = session.session_key is not None
    session.save()
    session.modified = not existed


def forget_configuration(request: HttpRequest) -> None:
    request.session.pop(_config_key(request), None)


def _dump(value: object) -> object:
    if isinstance(value, Decimal | date):
        return str(value)
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: _dump(v) for k, v in value._asdict().items()}
    if isinstance(value, tuple | list):
        return [_dump(v) for v in value]
    return value


def _fields(d: dict[str, Any]) -> dict[str, Any]:
    def load(key: str, value: Any) -> Any:
        if value is None:
            return None
        if key in DECIMALS:
            return Decimal(value)
        if key in DATES:
            return date.fromisoformat(value)
        return value

    return {k: load(k, v) for k, v in d.items()}


def _invoice(d: dict[str, Any]) -> Invoice:
    items = tuple(
        InvoiceItem(
            **{
                **_fields(item),
                "details": tuple(InvoiceDetail(**_fields(x)) for x in item["details"]),
            }
        )
        for item in d["items"]
    )
    return Invoice(**{**_fields(d), "items": items})


def _draft_key(request: HttpRequest, order_id: str) -> str:
    customer = getattr(request, "customer", None)
    return DRAFT_KEY.format(
        customer=customer.pk if customer is not None else "none", order=order_id
    )


def store_draft(request: HttpRequest, result: DraftResult) -> None:
    data = {"invoices": _dump(result.preview_invoices), "warnings": list(result.warnings)}
    cache.set(_draft_key(request, result.order.id), data, DRAFT_TTL)


def stored_draft(request: HttpRequest, order_id: str) -> dict[str, Any] | None:
    """The preview invoices and warnings Nue returned when the draft was created, if known."""
    data = cache.get(_draft_key(request, order_id))
    if not isinstance(data, dict):
        return None
    invoices = tuple(_invoice(d) for d in data.get("invoices", []))
    return {"invoices": invoices, "warnings": tuple(data.get("warnings", []))}


def forget_draft(request: HttpRequest, order_id: str) -> None:
    cache.delete(_draft_key(request, order_id))
