"""The published catalog as the pricing and order code sees it: lookups by id, option trees."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nue_emulator.models import PriceTag, Product


@dataclass(frozen=True)
class Entry:
    """A price book entry together with its product."""

    product: dict[str, Any]
    pbe: dict[str, Any]

    @property
    def recurring(self) -> bool:
        return self.product.get("priceModel") == "Recurring"

    @property
    def subscription(self) -> bool:
        """Activation makes it a subscription: the product category drives provisioning
        (RecurringServices; PhysicalGoods become assets, services entitlements: nue-api.md §3.8)."""
        return self.recurring and self.product.get("productCategory") == "RecurringServices"


def walk_options(options: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for option in options:
        yield option
        yield from walk_options(option.get("productOptions", []))


class Catalog:
    def __init__(self, products: list[dict[str, Any]], tags: list[dict[str, Any]]) -> None:
        self.products = products
        self.by_product_id = {p["id"]: p for p in products}
        self.by_sku = {p["sku"]: p for p in products}
        self.entries: dict[str, Entry] = {}
        for product in products:
            for pbe in product.get("priceBookEntries", []):
                self.entries[pbe["id"]] = Entry(product, pbe)
        self.tags_by_code = {t["code"].upper(): t for t in tags}
        self.tags_by_id = {t["id"]: t for t in tags}
        self.tags = tags

    @classmethod
    def load(cls) -> Catalog:
        return cls(
            [p.doc for p in Product.objects.all()],
            [t.doc for t in PriceTag.objects.order_by("code")],
        )

    def option_entry(self, option: dict[str, Any], currency: str) -> Entry:
        """The entry an add-on is priced on in `currency`: the option names its product's entry
        in the corporate currency, and a bundle bought in another takes its product's entry
        in that one."""
        named = self.entries[option["priceBookEntryId"]]
        for pbe in named.product.get("priceBookEntries", []):
            if currency_of(pbe) == currency:
                return Entry(named.product, pbe)
        return named

    def options_in(self, options: list[dict[str, Any]], currency: str) -> list[dict[str, Any]]:
        """A bundle's options as a customer buying in `currency` reads them: each naming its
        product's entry in that currency."""
        return [
            {
                **option,
                "priceBookEntryId": self.option_entry(option, currency).pbe["id"],
                "productOptions": self.options_in(option.get("productOptions") or [], currency),
            }
            for option in options
        ]

    def all_option_ids(self, product: dict[str, Any]) -> set[str]:
        return {o["productOptionId"] for o in walk_options(product.get("productOptions", []))}


# The tenant's corporate currency: a price book entry or customer that names none is in it.
CORPORATE_CURRENCY = "USD"


def currency_of(record: dict[str, Any]) -> str:
    """The ISO 4217 code of a customer, order or subscription (`currency`) or of a price book
    entry (`currencyIsoCode`, as Salesforce names it)."""
    code = record.get("currencyIsoCode") or record.get("currency") or CORPORATE_CURRENCY
    return str(code).upper()


def eligible(pbe: dict[str, Any], account: dict[str, Any]) -> bool:
    """Nue's catalog eligibility: a customer buys from the entries in its own currency (one
    order, one currency), and a PBE without pricing attributes is universal; otherwise every
    attribute must match the account's field of the same name, `Any` matching everything."""
    if currency_of(pbe) != currency_of(account):
        return False
    for name, wanted in (pbe.get("pricingAttributes") or {}).items():
        if wanted == "Any":
            continue
        if account.get(name) != wanted:
            return False
    return True
