"""The catalog as Nue answers it: price book entries, products with their bundle options, price
tags, and the upgrade/downgrade/swap targets a subscription may move to (nue-api.md §2.5, §3.8)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

from orders.nue.fields import (
    OPTION_TYPES,
    RELATIONSHIP_TYPES,
    _bool,
    _canon,
    _dec,
    _int,
    _obj,
    _objs,
    _odec,
    _ostr,
    _ostr_any,
    _str,
)
from orders.nue.models import _nested_name

logger = logging.getLogger("orders.nue")


class PriceBookEntry(NamedTuple):
    id: str
    list_price: Decimal
    currency: str | None
    uom: str | None
    billing_period: str | None
    price_model: str | None
    price_book_id: str | None

    @classmethod
    def parse(cls, raw: object) -> PriceBookEntry:
        d = _obj(raw, "price book entry")
        k = "price book entry"
        price_key = next((p for p in ("listPrice", "price", "unitPrice") if p in d), "listPrice")
        uom = d.get("uom")
        return cls(
            id=_str(d, "id", k),
            list_price=_dec(d, price_key, k),
            currency=_ostr_any(d, "currencyIsoCode", "currency", kind=k),
            uom=_nested_name(uom) if isinstance(uom, dict) else _ostr(d, "uom", k),
            billing_period=_ostr(d, "billingPeriod", k),
            price_model=_ostr(d, "priceModel", k),
            price_book_id=_ostr(d, "priceBookId", k),
        )


class ProductOption(NamedTuple):
    """A bundle's product option. Nue documents its type (Bundled, Required, Optional) but no
    default, minimum or maximum quantity, nor whether the quantity may be changed (nue-api.md
    §4): Nue checks those when the order is priced."""

    id: str
    product_id: str | None
    product_name: str
    type: str
    price_book_entry_id: str | None
    list_price: Decimal | None
    options: tuple[ProductOption, ...]
    product_sku: str | None = None

    @classmethod
    def parse(cls, raw: object) -> ProductOption:
        d = _obj(raw, "product option")
        k = "product option"
        option_type = _ostr_any(d, "type", "optionType", "productOptionType", kind=k) or "optional"
        return cls(
            id=_ostr(d, "productOptionId", k) or _str(d, "id", k),
            product_id=_ostr(d, "productId", k),
            product_name=_ostr_any(d, "productName", "name", kind=k) or "",
            type=_canon(option_type, OPTION_TYPES),
            price_book_entry_id=_ostr(d, "priceBookEntryId", k),
            list_price=_odec(d, "listPrice", k),
            options=tuple(
                ProductOption.parse(x)
                for x in _objs(d, "options" if "options" in d else "productOptions", k)
            ),
            product_sku=_ostr(d, "productSku", k),
        )

    def walk(self) -> Iterable[ProductOption]:
        yield self
        for option in self.options:
            yield from option.walk()


class Product(NamedTuple):
    id: str
    name: str
    sku: str | None
    record_type: str | None
    description: str | None
    configurable: bool
    image_url: str | None
    product_category: str | None
    price_book_entries: tuple[PriceBookEntry, ...]
    options: tuple[ProductOption, ...]

    @classmethod
    def parse(cls, raw: object) -> Product:
        d = _obj(raw, "product")
        k = "product"
        return cls(
            id=_str(d, "id", k),
            name=_str(d, "name", k),
            sku=_ostr(d, "sku", k),
            record_type=_ostr(d, "recordType", k),
            description=_ostr(d, "description", k),
            configurable=_bool(d, "configurable", k),
            image_url=_ostr(d, "imageUrl", k),
            product_category=_ostr(d, "productCategory", k),
            price_book_entries=tuple(
                PriceBookEntry.parse(x) for x in _objs(d, "priceBookEntries", k)
            ),
            options=tuple(
                ProductOption.parse(x)
                for x in _objs(d, "productOptions" if "productOptions" in d else "options", k)
            ),
        )


class PriceTier(NamedTuple):
    tier_number: int
    start_unit: Decimal | None
    end_unit: Decimal | None
    amount: Decimal | None
    discount_percentage: Decimal | None
    charge_model: str | None

    @classmethod
    def parse(cls, raw: object) -> PriceTier:
        d = _obj(raw, "price tier")
        k = "price tier"
        return cls(
            tier_number=_int(d, "tierNumber", k, default=1),
            start_unit=_odec(d, "startUnit", k),
            end_unit=_odec(d, "endUnit", k),
            amount=_odec(d, "amount", k),
            discount_percentage=_odec(d, "discountPercentage", k),
            charge_model=_ostr(d, "chargeModel", k),
        )


class PriceTag(NamedTuple):
    id: str
    code: str
    name: str
    record_type: str | None
    price_tag_type: str | None
    price_type: str | None
    description: str | None
    active: bool
    tiers: tuple[PriceTier, ...]

    @classmethod
    def parse(cls, raw: object) -> PriceTag:
        d = _obj(raw, "price tag")
        k = "price tag"
        code = _str(d, "code", k)
        return cls(
            id=_str(d, "id", k),
            code=code,
            name=_ostr(d, "name", k) or code,
            record_type=_ostr(d, "recordType", k),
            price_tag_type=_ostr(d, "priceTagType", k),
            price_type=_ostr(d, "priceType", k),
            description=_ostr(d, "description", k),
            active=_bool(d, "active", k, default=True),
            tiers=tuple(PriceTier.parse(x) for x in _objs(d, "priceTiers", k)),
        )


class ProductRelationship(NamedTuple):
    """An allowed Upgrade / Downgrade / Swap target of a subscription."""

    subscription_name: str
    relationship_type: str
    product_id: str | None
    product_name: str | None
    price_book_entry_id: str | None
    product_sku: str | None = None
    list_price: Decimal | None = None

    @classmethod
    def parse(cls, raw: object, subscription_name: str | None = None) -> ProductRelationship:
        d = _obj(raw, "product relationship")
        k = "product relationship"
        sku = _ostr(d, "targetProductSku", k)
        price = _odec(d, "listPrice", k)
        target = d.get("targetProduct")
        t = target if isinstance(target, dict) else {}
        entries = t.get("priceBookEntries")
        first_entry = entries[0] if isinstance(entries, list) and entries else {}
        return cls(
            subscription_name=subscription_name or _str(d, "subscriptionName", k),
            relationship_type=_canon(
                _ostr_any(d, "relationshipType", "type", kind=k) or "", RELATIONSHIP_TYPES
            ),
            product_id=_ostr_any(d, "targetProductId", "productId", kind=k) or _ostr(t, "id", k),
            product_name=_ostr_any(d, "targetProductName", "productName", kind=k)
            or _ostr(t, "name", k),
            price_book_entry_id=_ostr_any(d, "targetPriceBookEntryId", "priceBookEntryId", kind=k)
            or (_ostr(first_entry, "id", k) if isinstance(first_entry, dict) else None),
            product_sku=sku,
            list_price=price,
        )
