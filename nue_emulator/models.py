"""The emulator's state: each record keeps its full API representation in `doc`.

Indexed columns carry only what the API filters and sorts on (customer, status, number, dates), so
a list endpoint reads one column of pre-built JSON instead of re-assembling records from joins. That
is what keeps `GET /orders` for a customer with 10,000 orders well under a second.

`InjectedFault` and `JournalEntry` are not Nue's state but the emulator's test controls
(faults.py, journal.py), kept here so every worker and every instance on this database shares them.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import F
from django.utils import timezone


class DocEncoder(json.JSONEncoder):
    """Stores money as JSON numbers (what the API returns) and dates as ISO strings."""

    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return float(o)
        if isinstance(o, datetime):
            return o.isoformat().replace("+00:00", "Z")
        if isinstance(o, date):
            return o.isoformat()
        return super().default(o)


class Sequence(models.Model):
    """Counters behind the human-readable numbers (`O-…`, `SUB-…`, `INV-…`)."""

    name = models.CharField(max_length=32, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"

    @classmethod
    def take(cls, name: str, count: int = 1) -> int:
        """Reserve `count` numbers and return the first; the UPDATE serialises callers."""
        cls.objects.get_or_create(name=name)
        cls.objects.filter(name=name).update(value=F("value") + count)
        return cls.objects.get(name=name).value - count + 1


class Customer(models.Model):
    id = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=255, db_index=True)
    created = models.DateTimeField(default=timezone.now)
    doc = models.JSONField(encoder=DocEncoder)

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    id = models.CharField(max_length=64, primary_key=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    # Stored lower-cased: Nue treats the email as the contact's unique login identifier.
    email = models.CharField(max_length=254, unique=True)
    doc = models.JSONField(encoder=DocEncoder)

    def __str__(self) -> str:
        return self.email


class PaymentMethod(models.Model):
    """A customer's saved payment method (Nue Collections), created or updated by activating an
    order that carries a `paymentMethodObject` (create-draft-orders.txt). No endpoint lists them:
    a subscription names its own as `defaultPaymentMethodId`."""

    id = models.CharField(max_length=64, primary_key=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    # The payment system's id (a Stripe `pm_…`): the same one again updates, never duplicates.
    external_id = models.CharField(max_length=255)
    doc = models.JSONField(encoder=DocEncoder)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "external_id"], name="emu_payment_method_external_id"
            ),
        ]

    def __str__(self) -> str:
        return self.id


class Product(models.Model):
    id = models.CharField(max_length=64, primary_key=True)
    sku = models.CharField(max_length=64, unique=True)
    position = models.PositiveIntegerField(default=0)
    doc = models.JSONField(encoder=DocEncoder)

    class Meta:
        ordering = ["position", "sku"]

    def __str__(self) -> str:
        return self.sku


class PriceTag(models.Model):
    id = models.CharField(max_length=64, primary_key=True)
    code = models.CharField(max_length=64, unique=True)
    doc = models.JSONField(encoder=DocEncoder)

    def __str__(self) -> str:
        return self.code


class Order(models.Model):
    id = models.CharField(max_length=64, primary_key=True)
    number = models.CharField(max_length=32, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="orders")
    status = models.CharField(max_length=16)
    order_type = models.CharField(max_length=16, default="New")
    created = models.DateTimeField(default=timezone.now)
    doc = models.JSONField(encoder=DocEncoder)
    # The document without its lines: what `GET /orders` sends unless orderProducts is included.
    header = models.JSONField(encoder=DocEncoder, default=dict)
    # What activation must do (new lines, subscription after-states); never returned by the API.
    plan = models.JSONField(default=dict, encoder=DocEncoder)

    class Meta:
        indexes = [
            models.Index(fields=["customer", "status"]),
            models.Index(fields=["customer", "created"]),
        ]

    def __str__(self) -> str:
        return self.number

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.header = order_header(self.doc)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "doc" in update_fields:
            kwargs["update_fields"] = {*update_fields, "header"}
        super().save(*args, **kwargs)


def order_header(doc: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in doc.items() if key != "orderProducts"}


class Subscription(models.Model):
    """One row per version; the current version of each name has `is_current` set."""

    id = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=32)
    version = models.PositiveIntegerField()
    is_current = models.BooleanField(default=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="subscriptions")
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, related_name="+")
    doc = models.JSONField(encoder=DocEncoder)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="emu_subscription_version"),
        ]
        indexes = [models.Index(fields=["customer", "is_current"])]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class Asset(models.Model):
    """Assets (physical goods) and entitlements (services) created by activation."""

    KINDS = [("asset", "Asset"), ("entitlement", "Entitlement")]

    id = models.CharField(max_length=64, primary_key=True)
    kind = models.CharField(max_length=16, choices=KINDS)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="assets")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="assets")
    doc = models.JSONField(encoder=DocEncoder)

    def __str__(self) -> str:
        return self.id


class Invoice(models.Model):
    id = models.CharField(max_length=64, primary_key=True)
    number = models.CharField(max_length=32, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="invoices")
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, related_name="invoices")
    status = models.CharField(max_length=16)
    invoice_date = models.DateField()
    doc = models.JSONField(encoder=DocEncoder)

    class Meta:
        indexes = [models.Index(fields=["customer", "invoice_date"])]

    def __str__(self) -> str:
        return self.number


class InjectedFault(models.Model):
    """A fault of faults.py; the auto `id` orders them (first added, first applied)."""

    key = models.CharField(max_length=32, unique=True)  # the fault's "id" in the API
    route = models.TextField(default="*")
    method = models.TextField(default="*")
    status = models.PositiveSmallIntegerField(null=True)
    body = models.CharField(max_length=16, default="")  # "" keeps the JSON error envelope
    latency_ms = models.PositiveIntegerField(default=0)
    hang_seconds = models.FloatField(default=0.0)
    retry_after = models.PositiveIntegerField(null=True)
    reset = models.BooleanField(default=False)
    times = models.PositiveIntegerField(null=True)  # calls left; null = until removed
    percent = models.PositiveSmallIntegerField(default=100)

    def __str__(self) -> str:
        return f"{self.method} {self.route}"


class JournalEntry(models.Model):
    """A call the emulator answered (journal.py); the auto `id` orders them."""

    method = models.TextField()
    path = models.TextField()
    query = models.TextField()
    route = models.TextField()
    status = models.PositiveSmallIntegerField()
    duration_ms = models.FloatField()
    wrote = models.BooleanField()

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status}"
