"""What Nue answers, as typed, immutable models: customers, orders and their lines, subscriptions,
invoices, the catalog, and a change order's before/after summary.

What Nue returns becomes typed NamedTuples: immutable, slot-free, and built in one C call, where
frozen dataclasses pay a per-field object.__setattr__ on every record of a list
(bench/nue_gateway.py times the parse). What the portal sends and the write results stay frozen
dataclasses.
A body that does not parse raises NueProtocolError (orders.nue.fields).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Generic, NamedTuple, TypeVar

from orders.nue.errors import NueProtocolError
from orders.nue.fields import (
    ORDER_STATUSES,
    SUBSCRIPTION_STATUSES,
    _bool,
    _canon,
    _day,
    _dec,
    _int,
    _money,
    _obj,
    _objs,
    _odate,
    _odec,
    _oint,
    _olink,
    _ostr,
    _ostr_any,
    _str,
    _tree,
)

logger = logging.getLogger("orders.nue")


class Address(NamedTuple):
    """A billing or shipping address as customers and contacts carry it (nue-api.md §3.7:
    `shippingStreet`, `shippingCity`, ... and the billing equivalents)."""

    street: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    country: str | None

    @classmethod
    def parse(cls, d: Mapping[str, Any], prefix: str, kind: str) -> Address | None:
        """The `prefix` ("shipping", "billing") address of `d`; None when it has none."""
        found = cls(
            *(
                _ostr(d, f"{prefix}{part}", kind)
                for part in ("Street", "City", "State", "PostalCode", "Country")
            )
        )
        return found if any(found) else None

    def __str__(self) -> str:
        region = " ".join(p for p in (self.state, self.postal_code) if p)
        return ", ".join(p for p in (self.street, self.city, region, self.country) if p)


class Contact(NamedTuple):
    id: str
    customer_id: str
    email: str
    first_name: str
    last_name: str
    name: str
    phone: str | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None

    @classmethod
    def parse(cls, raw: object) -> Contact:
        d = _obj(raw, "contact")
        first = _ostr(d, "firstName", "contact") or ""
        last = _ostr(d, "lastName", "contact") or ""
        return cls(
            id=_str(d, "id", "contact"),
            customer_id=_str(d, "customerId", "contact"),
            email=_str(d, "email", "contact"),
            first_name=first,
            last_name=last,
            name=_ostr(d, "name", "contact") or f"{first} {last}".strip(),
            phone=_ostr(d, "phone", "contact"),
            billing_address=Address.parse(d, "billing", "contact"),
            shipping_address=Address.parse(d, "shipping", "contact"),
        )


SHIPPING_KEYS = ("shippingStreet", "shippingCity", "shippingPostalCode", "shippingCountry")


def _has_shipping(d: Mapping[str, Any]) -> bool:
    nested = d.get("shippingAddress")
    if isinstance(nested, dict) and any(nested.values()):
        return True
    return any(d.get(k) for k in SHIPPING_KEYS)


class Customer(NamedTuple):
    id: str
    name: str
    record_type: str | None
    account_number: str | None
    email: str | None
    has_shipping_address: bool
    external_id: str | None
    contacts: tuple[Contact, ...] = ()
    billing_address: Address | None = None
    shipping_address: Address | None = None
    # ISO 4217, where Nue names the currency the customer is billed in (its billing settings,
    # nue-api.md §3.7); the figures the portal sums over a customer's records (ARR) are in it.
    currency: str | None = None

    @classmethod
    def parse(cls, raw: object) -> Customer:
        d = _obj(raw, "customer")
        return cls(
            id=_str(d, "id", "customer"),
            name=_str(d, "name", "customer"),
            record_type=_ostr(d, "recordType", "customer"),
            account_number=_ostr(d, "accountNumber", "customer"),
            email=_ostr(d, "email", "customer"),
            has_shipping_address=_has_shipping(d),
            external_id=_ostr(d, "externalId", "customer"),
            contacts=tuple(Contact.parse(c) for c in _objs(d, "contacts", "customer")),
            billing_address=Address.parse(d, "billing", "customer"),
            shipping_address=Address.parse(d, "shipping", "customer"),
            currency=_ostr_any(d, "currency", "currencyIsoCode", kind="customer"),
        )

    def contact(self, contact_id: str | None) -> Contact | None:
        return next((c for c in self.contacts if c.id == contact_id), None)


class OrderLine(NamedTuple):
    id: str
    product_name: str
    quantity: Decimal
    total_price: Decimal
    product_id: str | None
    product_sku: str | None
    price_book_entry_id: str | None
    product_option_id: str | None
    parent_id: str | None
    list_price: Decimal | None
    sales_price: Decimal | None
    start_date: date | None
    end_date: date | None
    term: Decimal | None
    price_model: str | None
    # A change order's lines "reflect the changes" (nue-api.md §2.2), named as the request names
    # them. Which subscription a line changes is no documented field of a line (§3.2); what the
    # line is priced on (`priceBookEntryId`) is, as it is of every subscription (§3.3).
    change_type: str | None
    children: tuple[OrderLine, ...] = ()

    @classmethod
    def parse(cls, d: Mapping[str, Any], children: tuple[OrderLine, ...] = ()) -> OrderLine:
        k = "order line"
        return cls(
            id=_str(d, "id", k),
            product_name=_ostr_any(d, "productName", "name", kind=k) or "",
            quantity=_dec(d, "quantity", k),
            total_price=_money(d, "totalPrice", k),
            product_id=_ostr(d, "productId", k),
            product_sku=_ostr(d, "productSku", k),
            price_book_entry_id=_ostr(d, "priceBookEntryId", k),
            product_option_id=_ostr(d, "productOptionId", k),
            parent_id=_ostr(d, "parentId", k),
            list_price=_odec(d, "listPrice", k),
            sales_price=_odec(d, "salesPrice", k),
            start_date=_odate(d, "subscriptionStartDate", "startDate", kind=k),
            end_date=_odate(d, "subscriptionEndDate", "endDate", kind=k),
            term=_odec(d, "subscriptionTerm", k),
            price_model=_ostr(d, "priceModel", k),
            change_type=_ostr(d, "changeType", k),
            children=children,
        )

    def walk(self) -> Iterable[OrderLine]:
        yield self
        for child in self.children:
            yield from child.walk()


class Asset(NamedTuple):
    """An asset, or one of the subscriptions an order lists as its related assets (`includes=
    assets`: "associated subscriptions and physical assets", nue-api.md §2.1; a subscription's
    `name` and `priceBookEntryId` are §3.3's)."""

    id: str
    customer_id: str
    name: str
    asset_number: str | None
    status: str | None
    quantity: Decimal | None
    product_id: str | None
    product_name: str | None
    start_date: date | None
    end_date: date | None
    price_book_entry_id: str | None = None

    @classmethod
    def parse(cls, raw: object) -> Asset:
        d = _obj(raw, "asset")
        k = "asset"
        return cls(
            id=_str(d, "id", k),
            customer_id=_str(d, "customerId", k),
            name=_ostr_any(d, "name", "productName", "assetNumber", kind=k) or "",
            asset_number=_ostr(d, "assetNumber", k),
            status=_ostr(d, "status", k),
            quantity=_odec(d, "quantity", k),
            product_id=_ostr(d, "productId", k),
            product_name=_ostr(d, "productName", k),
            start_date=_odate(
                d, "startDate", "subscriptionStartDate", "lifecycleStartDate", kind=k
            ),
            end_date=_odate(d, "endDate", "subscriptionEndDate", "lifecycleEndDate", kind=k),
            price_book_entry_id=_ostr(d, "priceBookEntryId", k),
        )


class InvoiceDetail(NamedTuple):
    """One billing-period slice of an invoice item (emulator convention, nue-api.md §3.6)."""

    start_date: date | None
    end_date: date | None
    amount: Decimal
    prorated: bool

    @classmethod
    def parse(cls, raw: object) -> InvoiceDetail:
        d = _obj(raw, "invoice detail")
        k = "invoice detail"
        return cls(
            start_date=_day(d, "startDate", k),
            end_date=_day(d, "endDate", k),
            amount=_dec(d, "amount", k),
            prorated=_bool(d, "prorated", k),
        )


class InvoiceItem(NamedTuple):
    product_name: str
    amount: Decimal
    tax_amount: Decimal
    quantity: Decimal | None
    unit_price: Decimal | None
    product_id: str | None
    order_product_id: str | None
    start_date: date | None
    end_date: date | None
    details: tuple[InvoiceDetail, ...]

    @classmethod
    def parse(cls, raw: object) -> InvoiceItem:
        d = _obj(raw, "invoice item")
        k = "invoice item"
        return cls(
            product_name=_ostr_any(d, "productName", "name", kind=k) or "",
            amount=_dec(d, "amount", k),
            tax_amount=_money(d, "taxAmount", k),
            quantity=_odec(d, "quantity", k),
            unit_price=_odec(d, "unitPrice", k),
            product_id=_ostr(d, "productId", k),
            order_product_id=_ostr(d, "orderProductId", k),
            start_date=_day(d, "startDate", k),
            end_date=_day(d, "endDate", k),
            details=tuple(InvoiceDetail.parse(x) for x in _objs(d, "details", k)),
        )


class InvoiceOrder(NamedTuple):
    """An order an invoice bills, as `includes=orders` relates it (nue-api.md §2.8, §3.5)."""

    id: str
    order_number: str | None

    @classmethod
    def parse(cls, raw: object) -> InvoiceOrder:
        d = _obj(raw, "invoice order")
        k = "invoice order"
        return cls(id=_str(d, "id", k), order_number=_ostr(d, "orderNumber", k))


class Invoice(NamedTuple):
    """An issued invoice, or (id/status None) a preview invoice from a draft or invoice preview."""

    id: str | None
    name: str | None
    customer_id: str | None
    status: str | None
    payment_status: str | None
    invoice_date: date | None
    due_date: date | None
    start_date: date | None
    end_date: date | None
    amount: Decimal
    amount_without_tax: Decimal | None
    tax_amount: Decimal
    balance: Decimal | None
    invoice_pdf: str | None
    payment_url: str | None
    items: tuple[InvoiceItem, ...]
    # Only when read with `includes=orders`; empty where Nue relates no order.
    orders: tuple[InvoiceOrder, ...] = ()
    # ISO 4217 code when Nue sends one (an order's invoices take the order's where they name
    # none); never guessed (orders.templatetags.money).
    currency: str | None = None
    # How many payment applications Nue shows (read with `includes=paymentApplications`, §2.8;
    # none listed counts 0). Only counted: §3.5 documents none of their fields.
    payment_applications: int = 0

    @classmethod
    def parse(cls, raw: object) -> Invoice:
        d = _obj(raw, "invoice")
        k = "invoice"
        return cls(
            id=_ostr(d, "id", k),
            name=_ostr_any(d, "name", "invoiceNumber", kind=k),
            customer_id=_ostr(d, "customerId", k),
            status=_ostr(d, "status", k),
            payment_status=_ostr(d, "paymentStatus", k),
            invoice_date=_day(d, "invoiceDate", k),
            due_date=_day(d, "dueDate", k),
            start_date=_day(d, "startDate", k),
            end_date=_day(d, "endDate", k),
            amount=_dec(d, "amount", k),
            amount_without_tax=_odec(d, "amountWithoutTax", k),
            tax_amount=_money(d, "taxAmount", k),
            balance=_odec(d, "balance", k),
            invoice_pdf=_olink(_ostr(d, "invoicePdf", k)),
            payment_url=_olink(_ostr_any(d, "paymentHostedUrl", "paymentUrl", kind=k)),
            items=tuple(InvoiceItem.parse(x) for x in _objs(d, "items", k)),
            orders=tuple(InvoiceOrder.parse(x) for x in _objs(d, "orders", k)),
            currency=_ostr_any(d, "currency", "currencyIsoCode", kind=k),
            payment_applications=len(_objs(d, "paymentApplications", k)),
        )

    @classmethod
    def parse_issued(cls, raw: object) -> Invoice:
        invoice = cls.parse(raw)
        if invoice.id is None or invoice.customer_id is None:
            raise NueProtocolError("Nue sent an invoice without id or customerId.")
        return invoice


class InvoicePreview(NamedTuple):
    invoices: tuple[Invoice, ...]
    warnings: tuple[str, ...] = ()

    @property
    def total(self) -> Decimal:
        return sum((i.amount for i in self.invoices), Decimal(0))


def _in_currency(invoice: Invoice, currency: str | None) -> Invoice:
    """An invoice of an order, in the order's currency where it names none itself."""
    if invoice.currency or not currency:
        return invoice
    return invoice._replace(currency=currency)


def _preview_invoices(
    d: Mapping[str, Any], kind: str, reference: str, currency: str | None = None
) -> Listed[Invoice]:
    """`currency`: the order's, for the invoices that name none."""
    # The create-draft guide reads data.invoices, the getting-started guide data.previewInvoices.
    raw = d.get("previewInvoices")
    key = "previewInvoices" if raw is not None else "invoices"
    listed = parse_each(_objs(d, key, kind), Invoice.parse, "preview invoices", reference)
    if currency is None:
        return listed
    return listed._replace(items=tuple(_in_currency(i, currency) for i in listed.items))


def _contact_ref(d: Mapping[str, Any], name: str) -> str | None:
    value = d.get(name)
    if isinstance(value, dict):
        return _ostr(value, "id", name)
    return _ostr(d, name, "order")


class Order(NamedTuple):
    id: str
    order_number: str
    customer_id: str
    status: str
    name: str | None
    customer_name: str | None
    order_type: str | None
    start_date: date | None
    order_placed_date: date | None
    activated_date: date | None
    created_date: date | None
    list_total: Decimal
    discount_amount: Decimal
    system_discount_amount: Decimal
    subtotal: Decimal | None
    tax_amount: Decimal
    net_total: Decimal
    grand_total: Decimal
    order_acv: Decimal | None
    order_tcv: Decimal | None
    po_number: str | None
    po_date: date | None
    lines: tuple[OrderLine, ...]
    invoices: tuple[Invoice, ...]
    assets: tuple[Asset, ...]
    # A change order's per-subscription summary (before/after), where Nue sends one.
    changes: tuple[SubscriptionChange, ...] = ()
    # The order's document, where Nue gives one (the getting-started guide checks `orderPdf`).
    order_pdf: str | None = None
    # The contacts the order is billed and shipped to (nue-api.md §2.1a): the create-draft
    # guide sends `billToContact` as {id} and `shipToContact` as a bare id; either is read.
    bill_to_contact_id: str | None = None
    ship_to_contact_id: str | None = None
    # ISO 4217 code of every amount of the order, its lines and its invoices, where Nue names it.
    currency: str | None = None

    @classmethod
    def parse(cls, raw: object) -> Order:
        d = _obj(raw, "order")
        k = "order"
        status = _canon(_str(d, "status", k), ORDER_STATUSES)
        currency = _ostr_any(d, "currency", "currencyIsoCode", kind=k)
        return cls(
            id=_str(d, "id", k),
            order_number=_str(d, "orderNumber", k),
            customer_id=_str(d, "customerId", k),
            status=status,
            name=_ostr(d, "name", k),
            customer_name=_ostr(d, "customerName", k),
            order_type=_ostr(d, "orderType", k),
            start_date=_odate(d, "orderStartDate", "effectiveDate", kind=k),
            order_placed_date=_day(d, "orderPlacedDate", k),
            activated_date=_day(d, "activatedDate", k),
            created_date=_day(d, "createdDate", k),
            list_total=_money(d, "listTotal", k),
            discount_amount=_money(d, "discountAmount", k),
            system_discount_amount=_money(d, "systemDiscountAmount", k),
            subtotal=_odec(d, "subtotal", k),
            tax_amount=_money(d, "taxAmount", k),
            net_total=_money(d, "netTotal", k),
            # The guides display grandTotal || netTotal; getting-started reads an order's
            # totalAmount, the total order value (nue-api.md §3.1): an order carrying only that
            # has it as its total.
            grand_total=_money(
                d, "totalAmount" if d.get("grandTotal") is None else "grandTotal", k
            ),
            order_acv=_odec(d, "orderACV", k),
            order_tcv=_odec(d, "orderTCV", k),
            po_number=_ostr(d, "poNumber", k),
            po_date=_day(d, "poDate", k),
            lines=_tree(_objs(d, "orderProducts", k), OrderLine.parse, "order line"),
            invoices=tuple(
                _in_currency(Invoice.parse(x), currency) for x in _objs(d, "invoices", k)
            ),
            assets=tuple(Asset.parse(x) for x in _objs(d, "assets", k)),
            changes=tuple(SubscriptionChange.parse(x) for x in _objs(d, "assetChanges", k)),
            order_pdf=_olink(_ostr(d, "orderPdf", k)),
            bill_to_contact_id=_contact_ref(d, "billToContact"),
            ship_to_contact_id=_contact_ref(d, "shipToContact"),
            currency=currency,
        )

    @property
    def is_draft(self) -> bool:
        return self.status == "Draft"

    @property
    def total(self) -> Decimal:
        # The guides display `grandTotal || netTotal`.
        return self.grand_total or self.net_total

    @property
    def before_tax(self) -> Decimal:
        # `subtotal` is Nue's figure before tax (nue-api.md §3.1); without it, netTotal is.
        return self.net_total if self.subtotal is None else self.subtotal

    def all_lines(self) -> Iterable[OrderLine]:
        for line in self.lines:
            yield from line.walk()


class Subscription(NamedTuple):
    id: str
    name: str
    version: int
    customer_id: str
    status: str
    quantity: Decimal
    product_id: str | None
    product_name: str | None
    product_sku: str | None
    price_book_entry_id: str | None
    start_date: date | None
    end_date: date | None
    term: Decimal | None
    renewal_term: Decimal | None
    auto_renew: bool
    evergreen: bool
    list_price: Decimal | None
    sales_price: Decimal | None
    total_amount: Decimal | None
    total_acv: Decimal | None
    tcv: Decimal | None
    billing_period: str | None
    next_billing_date: date | None
    root_id: str | None
    level: int | None
    cancellation_date: date | None = None
    # The Nue payment method activation set from the order's paymentMethodObject
    # (create-draft-orders.txt, "payment method integration"); None: invoiced, no card.
    default_payment_method_id: str | None = None
    # ISO 4217 code of its prices, where Nue names it (that of the order that created it).
    currency: str | None = None

    @property
    def is_add_on(self) -> bool:
        """Part of a bundle below its top, by the documented hierarchy fields `rootId` and
        `subscriptionLevel` (nue-api.md §3.3)."""
        return (self.root_id is not None and self.root_id != self.id) or (self.level or 1) > 1

    @property
    def cancels_on(self) -> date | None:
        """The last day of a cancellation that has not taken effect yet, else None.

        Derived from documented fields only: Cancel ends the subscription on `cancellationDate`
        (nue-api.md §2.2; the field is named on assets, §3.4, which change orders' `assetNumber`
        says subscriptions are), and until then its `status` is still Active (or Pending) with
        `subscriptionEndDate` on that day.
        """
        if self.cancellation_date is None or self.status not in ("Active", "Pending"):
            return None
        return self.end_date or self.cancellation_date

    @classmethod
    def parse(cls, raw: object) -> Subscription:
        d = _obj(raw, "subscription")
        k = "subscription"
        return cls(
            id=_str(d, "id", k),
            name=_str(d, "name", k),
            version=_int(d, "subscriptionVersion", k, default=1),
            customer_id=_str(d, "customerId", k),
            status=_canon(_ostr(d, "status", k) or "Active", SUBSCRIPTION_STATUSES),
            quantity=_dec(d, "quantity", k),
            product_id=_ostr(d, "productId", k),
            product_name=_ostr(d, "productName", k) or _nested_name(d.get("product")),
            product_sku=_ostr(d, "productSku", k),
            price_book_entry_id=_ostr(d, "priceBookEntryId", k),
            start_date=_odate(d, "subscriptionStartDate", "startDate", kind=k),
            end_date=_odate(d, "subscriptionEndDate", "endDate", kind=k),
            term=_odec(d, "subscriptionTerm", k),
            renewal_term=_odec(d, "renewalTerm", k),
            auto_renew=_bool(d, "autoRenew", k),
            evergreen=_bool(d, "evergreen", k),
            list_price=_odec(d, "listPrice", k),
            sales_price=_odec(d, "salesPrice", k),
            total_amount=_odec(d, "totalAmount", k),
            total_acv=_odec(d, "totalACV", k),
            tcv=_odec(d, "tcv", k),
            billing_period=_ostr(d, "billingPeriod", k),
            next_billing_date=_day(d, "nextBillingDate", k),
            root_id=_ostr(d, "rootId", k),
            level=_oint(d, "subscriptionLevel", k),
            cancellation_date=_day(d, "cancellationDate", k),
            default_payment_method_id=_ostr(d, "defaultPaymentMethodId", k),
            currency=_ostr_any(d, "currency", "currencyIsoCode", kind=k),
        )


def _nested_name(value: object) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return str(value["name"])
    return None


class MagicLink(NamedTuple):
    order_id: str
    url: str


T = TypeVar("T")


class Unparsed(NamedTuple):
    """A record of a list Nue sent that did not parse. It is left out of the list, not the
    list's failure: logged with the answer's request id, and counted for the page to say so."""

    kind: str
    id: str | None
    name: str | None
    customer_id: str | None
    reason: str


class Listed(NamedTuple, Generic[T]):
    """A list answer's records that parsed, those that did not, and the answer's request id."""

    items: tuple[T, ...]
    unparsed: tuple[Unparsed, ...]
    reference: str


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_each(
    raws: Sequence[object], parse: Callable[[object], T], kind: str, reference: str
) -> Listed[T]:
    """`parse` every record of a list; one that raises NueProtocolError is logged and left out.

    One bad record must not cost the customer the whole list (issue 23): what parses is shown,
    and the page says how many records it could not show, with `reference` to find them here.
    """
    items: list[T] = []
    unparsed: list[Unparsed] = []
    for raw in raws:
        try:
            items.append(parse(raw))
        except NueProtocolError as error:
            d = raw if isinstance(raw, dict) else {}
            record = Unparsed(
                kind,
                _text(d.get("id")),
                _text(d.get("name")) or _text(d.get("orderNumber")),
                _text(d.get("customerId")),
                error.message,
            )
            # Ids and the reader's complaint (key names only), never the record's values.
            logger.warning(
                "nue unparsed record request_id=%s kind=%s id=%s reason=%s",
                reference,
                kind,
                record.id,
                record.reason,
            )
            unparsed.append(record)
    return Listed(tuple(items), tuple(unparsed), reference)


class Page(NamedTuple, Generic[T]):
    items: tuple[T, ...]
    page: int
    limit: int
    total: int

    @property
    def has_next(self) -> bool:
        return self.page * self.limit < self.total

    @property
    def has_previous(self) -> bool:
        return self.page > 1


class SubscriptionSnapshot(NamedTuple):
    """The terms of one subscription version, as a change order's before/after summary."""

    version: int | None
    product_id: str | None
    product_name: str | None
    price_book_entry_id: str | None
    quantity: Decimal
    start_date: date | None
    end_date: date | None
    term: Decimal | None
    status: str | None
    sales_price: Decimal | None
    total_amount: Decimal | None

    @classmethod
    def parse(cls, raw: object) -> SubscriptionSnapshot:
        d = _obj(raw, "subscription snapshot")
        k = "subscription snapshot"
        status = _ostr(d, "status", k)
        return cls(
            version=_oint(d, "subscriptionVersion", k),
            product_id=_ostr(d, "productId", k),
            product_name=_ostr(d, "productName", k),
            price_book_entry_id=_ostr(d, "priceBookEntryId", k),
            quantity=_dec(d, "quantity", k),
            start_date=_day(d, "subscriptionStartDate", k),
            end_date=_day(d, "subscriptionEndDate", k),
            term=_odec(d, "subscriptionTerm", k),
            status=_canon(status, SUBSCRIPTION_STATUSES) if status else None,
            sales_price=_odec(d, "salesPrice", k),
            total_amount=_odec(d, "totalAmount", k),
        )

    @classmethod
    def of_line(cls, line: OrderLine) -> SubscriptionSnapshot:
        """A subscription a line will create, as the line prices it (no version or status yet)."""
        return cls(
            version=None,
            product_id=line.product_id,
            product_name=line.product_name,
            price_book_entry_id=line.price_book_entry_id,
            quantity=line.quantity,
            start_date=line.start_date,
            end_date=line.end_date,
            term=line.term,
            status=None,
            sales_price=line.sales_price,
            total_amount=line.total_price,
        )

    @classmethod
    def of(cls, subscription: Subscription) -> SubscriptionSnapshot:
        return cls(
            version=subscription.version,
            product_id=subscription.product_id,
            product_name=subscription.product_name,
            price_book_entry_id=subscription.price_book_entry_id,
            quantity=subscription.quantity,
            start_date=subscription.start_date,
            end_date=subscription.end_date,
            term=subscription.term,
            status=subscription.status,
            sales_price=subscription.sales_price,
            total_amount=subscription.total_amount,
        )


class SubscriptionChange(NamedTuple):
    """One subscription a change order touches: its terms now and once the order is activated.

    `after` is None when Nue does not summarise the change (the order lines still show it).
    """

    name: str
    change_types: tuple[str, ...]
    before: SubscriptionSnapshot
    after: SubscriptionSnapshot | None
    amount: Decimal | None

    @classmethod
    def parse(cls, raw: object) -> SubscriptionChange:
        d = _obj(raw, "asset change")
        k = "asset change"
        types = d.get("changeTypes")
        return cls(
            name=_str(d, "assetNumber", k),
            change_types=tuple(t for t in types if isinstance(t, str))
            if isinstance(types, list)
            else (),
            before=SubscriptionSnapshot.parse(d.get("before")),
            after=SubscriptionSnapshot.parse(d["after"]) if d.get("after") else None,
            amount=_odec(d, "amount", k),
        )
