"""What the verbs send: id formats, and typed request bodies (so views never build Nue JSON).

Ids are checked before any call: no path injection, no pointless round trip; a malformed id is
NueNotFound, as an unknown one is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from orders.nue.errors import NueNotFound, NueValidationError

UUID_RE = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# Salesforce ids: 15 or 18 alphanumerics (001… accounts, 01t… products, 01u… entries, 801… orders).
SALESFORCE_ID_RE = r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?"
CUSTOMER_ID = re.compile(rf"(?:{UUID_RE}|{SALESFORCE_ID_RE})")
# An order is named by its id or by its number (O-00000300); both are accepted by order().
ORDER_ID = re.compile(rf"(?:{UUID_RE}|{SALESFORCE_ID_RE}|O-\d{{1,12}})")
SUBSCRIPTION_NAME = re.compile(r"SUB-\d{1,12}")
INVOICE_ID = re.compile(rf"(?:{UUID_RE}|INV-\d{{1,12}})")
# Catalog ids (entries, products, options): Salesforce ids, UUIDs, or slugs like pbe-seat-pro.
CATALOG_ID = re.compile(rf"(?:{UUID_RE}|{SALESFORCE_ID_RE}|[a-z0-9][a-z0-9_-]{{1,63}})")
TEMPLATE_ID = CATALOG_ID


def _check_id(value: object, pattern: re.Pattern[str]) -> str:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise NueNotFound("No such object.")
    return value


# What the guides leave open, each with the spellings a tenant's Nue may take, the portal's
# default first (the emulator takes it): the coterm field of a new line (the guide shows only
# `cotermasset`, its case lost), the target of an Upgrade/Downgrade/Swap (named only by the CPQ
# change-order example), and the status filter of activated orders (`active` in the retrieve
# guide, `activated` in the getting-started guide's example). `manage.py nue_check` learns which
# one a tenant takes (orders.tenant_check).
COTERM_FIELDS = ("coTermAsset", "cotermAsset")
UPGRADE_TARGET_FIELDS = ("targetPriceBookEntryId", "priceBookEntryId")
ACTIVATED_FILTERS = ("active", "activated")


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one tenant's Nue reads what its guides leave open; the defaults are the emulator's.

    Plain values: the scope hands them down (orders.capabilities loads them from the tenant's
    capability record), so this package never reads the database.
    """

    coterm_field: str = COTERM_FIELDS[0]
    upgrade_target_field: str = UPGRADE_TARGET_FIELDS[0]
    # nue-api.md §5.10: a Reconfigure quantity is taken as the add-on's new quantity unless the
    # tenant was found to read it as a change of quantity.
    reconfigure_delta: bool = False
    # None until nue_check settled it: activated orders are then listed unfiltered and kept by
    # their own status, which works whichever spelling the tenant takes.
    activated_filter: str | None = None


DEFAULT_DIALECT = Dialect()


@dataclass(frozen=True, slots=True)
class AddOn:
    """A bundle option on a new line, or (Reconfigure) its new absolute quantity from a date.

    On a new line an option may start later or run for another term than its bundle
    (`subscriptionStartDate`, `subscriptionTerm` on `addOns[]`, new-orders guide).
    `current_quantity` is what a Reconfigure's add-on has now (None: not on the bundle yet), so a
    tenant that reads Reconfigure quantities as changes is sent the difference.
    """

    product_option_id: str
    quantity: Decimal | None = None
    add_ons: tuple[AddOn, ...] = ()
    effective_date: date | None = None
    start_date: date | None = None
    term_months: int | None = None
    current_quantity: Decimal | None = None

    def to_nue(
        self, dialect: Dialect = DEFAULT_DIALECT, *, reconfigure: bool = False
    ) -> dict[str, Any]:
        _check_id(self.product_option_id, CATALOG_ID)
        body: dict[str, Any] = {"productOptionId": self.product_option_id}
        if self.quantity is not None:
            body["productOptionQuantity"] = (
                self.quantity - (self.current_quantity or 0)
                if reconfigure and dialect.reconfigure_delta
                else self.quantity
            )
        if self.effective_date is not None:
            body["reconfigureEffectiveDate"] = self.effective_date
        if self.start_date is not None:
            body["subscriptionStartDate"] = self.start_date
        if self.term_months is not None:
            body["subscriptionTerm"] = self.term_months
        if self.add_ons:
            body["addOns"] = [a.to_nue(dialect, reconfigure=reconfigure) for a in self.add_ons]
        return body


@dataclass(frozen=True, slots=True)
class LineRequest:
    """One product on a new order; either `term_months` or `coterm_subscription` sets its end."""

    price_book_entry_id: str
    quantity: Decimal
    start_date: date | None = None
    term_months: int | None = None
    coterm_subscription: str | None = None
    add_ons: tuple[AddOn, ...] = ()
    price_tag_codes: tuple[str, ...] = ()

    def to_nue(self, dialect: Dialect = DEFAULT_DIALECT) -> dict[str, Any]:
        _check_id(self.price_book_entry_id, CATALOG_ID)
        body: dict[str, Any] = {
            "priceBookEntryId": self.price_book_entry_id,
            "quantity": self.quantity,
        }
        if self.start_date is not None:
            body["subscriptionStartDate"] = self.start_date
        if self.term_months is not None:
            body["subscriptionTerm"] = self.term_months
        if self.coterm_subscription is not None:
            # nue-api.md §2.1a: the guide's flattened `cotermasset`, in the tenant's casing.
            body[dialect.coterm_field] = _check_id(self.coterm_subscription, SUBSCRIPTION_NAME)
        if self.add_ons:
            body["addOns"] = [a.to_nue(dialect) for a in self.add_ons]
        if self.price_tag_codes:
            body["priceTagCodes"] = list(self.price_tag_codes)
        return body


CHANGE_TYPES = frozenset(
    {
        "UpdateQuantity",
        "UpdateTerm",
        "Renew",
        "CoTerm",
        "Cancel",
        "ConvertFreeTrial",
        "Upgrade",
        "Downgrade",
        "Swap",
        "Reconfigure",
    }
)


@dataclass(frozen=True, slots=True)
class AssetChange:
    """One change to the subscription a `change()` call targets (nue-api.md §2.2).

    `quantity` and `term` are deltas for UpdateQuantity / UpdateTerm, as in Nue.
    """

    change_type: str
    quantity: Decimal | None = None
    start_date: date | None = None
    term: int | None = None
    renewal_term: int | None = None
    co_term_date: date | None = None
    cancellation_date: date | None = None
    target_price_book_entry_id: str | None = None
    add_ons: tuple[AddOn, ...] = ()

    def to_nue(self, subscription_name: str, dialect: Dialect = DEFAULT_DIALECT) -> dict[str, Any]:
        if self.change_type not in CHANGE_TYPES:
            raise NueValidationError(
                "Unknown change type.", field_errors={"change_type": ["Unknown change type."]}
            )
        body: dict[str, Any] = {"changeType": self.change_type, "assetNumber": subscription_name}
        fields: tuple[tuple[str, object], ...] = (
            ("quantity", self.quantity),
            ("startDate", self.start_date),
            ("term", self.term),
            ("renewalTerm", self.renewal_term),
            ("coTermDate", self.co_term_date),
            ("cancellationDate", self.cancellation_date),
        )
        body.update({key: value for key, value in fields if value is not None})
        if self.target_price_book_entry_id is not None:
            _check_id(self.target_price_book_entry_id, CATALOG_ID)
            body[dialect.upgrade_target_field] = self.target_price_book_entry_id
        if self.add_ons:
            reconfigure = self.change_type == "Reconfigure"
            body["addOns"] = [a.to_nue(dialect, reconfigure=reconfigure) for a in self.add_ons]
        return body


# Nue's request field names -> the verbs' argument names, for NueValidationError.field_errors.
DRAFT_FIELDS = {
    "orderProducts": "lines",
    "addOns": "add_ons",
    "productOptionQuantity": "quantity",
    "subscriptionStartDate": "start_date",
    "subscriptionTerm": "term_months",
    "coTermAsset": "coterm_subscription",
    "cotermAsset": "coterm_subscription",
    "priceTagCodes": "price_tag_codes",
}
CHANGE_FIELDS = {
    "assetChanges": "changes",
    "products": "lines",
    "addOns": "add_ons",
    "productOptionQuantity": "quantity",
    "reconfigureEffectiveDate": "effective_date",
    "subscriptionStartDate": "start_date",
    "subscriptionTerm": "term_months",
    "assetNumber": "subscription_name",
}
ACTIVATE_FIELDS = {"poNumber": "po_number", "poDate": "po_date"}


@dataclass(frozen=True, slots=True)
class ContactRequest:
    """A new contact of the customer (POST /customers/{customerId}/contacts, nue-api.md §2.6:
    `firstName`, `lastName`, `name`, `email` required; §3.7 names the others). An address is
    sent only with what was given of it."""

    first_name: str
    last_name: str
    email: str
    phone: str | None = None
    billing: tuple[tuple[str, str], ...] = ()  # (Street|City|State|PostalCode|Country, value)
    shipping: tuple[tuple[str, str], ...] = ()

    def to_nue(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "firstName": self.first_name,
            "lastName": self.last_name,
            "name": f"{self.first_name} {self.last_name}",
            "email": self.email,
        }
        if self.phone:
            body["phone"] = self.phone
        for prefix, parts in (("billing", self.billing), ("shipping", self.shipping)):
            body.update({f"{prefix}{part}": value for part, value in parts if value})
        return body


# nue-api.md §2.8: the documented example records a card payment as
# paymentSource "Nue", paymentMethod "CreditCard".
PAYMENT_SOURCE = "Nue"
PAYMENT_METHOD_CARD = "CreditCard"


@dataclass(frozen=True, slots=True)
class PayInvoiceRequest:
    """One payment to record against an invoice (POST /billing/invoices:pay, nue-api.md §2.8):
    full or partial, Nue lowers the balance and creates a payment application."""

    invoice_id: str
    amount: Decimal

    def to_nue(self, customer_id: str) -> dict[str, Any]:
        if not self.amount.is_finite() or self.amount <= 0:
            raise NueValidationError("A payment must be more than zero.")
        return {
            "payInvoices": [
                {
                    "invoiceId": self.invoice_id,
                    "customerId": customer_id,
                    # Sent as a JSON number (the transport sends a Decimal exactly, as Nue
                    # takes numbers): the invoice's balance as Nue gave it.
                    "transactionAmount": self.amount,
                    "paymentSource": PAYMENT_SOURCE,
                    "paymentMethod": PAYMENT_METHOD_CARD,
                }
            ]
        }
