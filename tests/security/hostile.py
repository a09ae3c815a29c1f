"""Hostile upstream data: names, PO numbers and descriptions that are markup, htmx and templates.

`poison()` rewrites the emulator's stored documents of one customer (and the catalog) so that every
text field the portal shows carries HOSTILE; the pages must show it as text.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import get_hasher

from portal.models import CustomerAccount

HOSTILE = (
    '<script>alert("xss")</script>'
    "<img src=x onerror=alert(1)>"
    '<div hx-get="/hostile-hx/" hx-trigger="load" hx-target="body">hx</div>'
    '"><svg onload=alert(2)>'
    "{{ request.user.password }}{% csrf_token %}{% debug %}"
)
# What must never appear in a page: the markup as markup, the template syntax evaluated.
LIVE_MARKERS = (
    "<script>alert",
    "<img src=x",
    '<div hx-get="/hostile-hx/"',
    "<svg onload",
    'hx-trigger="load" hx-target="body">hx',
)
# The script as text, as Django escapes it.
ESCAPED = ("&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;",)
# Free text a Nue user types. A subscription's or asset's "name" is its number (SUB-…), an id.
TEXT_FIELDS = ("poNumber", "description", "productName", "customerName", "orderName")
NAMED = ("Customer", "Order", "Product")


def _poison_doc(doc: Any, fields: tuple[str, ...]) -> Any:
    if isinstance(doc, dict):
        return {
            key: HOSTILE if key in fields and isinstance(value, str) else _poison_doc(value, fields)
            for key, value in doc.items()
        }
    if isinstance(doc, list):
        return [_poison_doc(item, fields) for item in doc]
    return doc


def _poison_row(row: Any) -> None:
    top = (*TEXT_FIELDS, "name") if type(row).__name__ in NAMED else TEXT_FIELDS
    doc = {k: HOSTILE if k in top and isinstance(v, str) else v for k, v in row.doc.items()}
    row.doc = _poison_doc(doc, TEXT_FIELDS)
    row.save(update_fields=["doc"])


def poison(account: CustomerAccount) -> None:
    """Every text the portal may show of this customer, and of the catalog, becomes HOSTILE."""
    from nue_emulator import models

    customer = models.Customer.objects.get(pk=account.nue_customer_id)
    _poison_row(customer)
    for model in (models.Order, models.Subscription, models.Asset, models.Invoice):
        for row in model.objects.filter(customer=customer):
            _poison_row(row)
    for product in models.Product.objects.all():
        _poison_row(product)
    # The portal's copy of the customer's name, cached from Nue.
    account.name = HOSTILE[:255]
    account.save(update_fields=["name"])
    from orders.scope import CustomerNue

    CustomerNue(account).invalidate_cache()


def evaluated_template(body: str) -> bool:
    """Whether template syntax in the data was run: the debug dump or the password hash shows.

    The suite hashes with a fast hasher (tests/conftest.py), so its prefix is looked for too.
    """
    hashes = ("pbkdf2_", "argon2", f"{get_hasher().algorithm}$")
    return any(mark in body for mark in (*hashes, "SECRET_KEY", settings.SECRET_KEY))
