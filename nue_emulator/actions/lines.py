"""Order lines: the `Line` every draft is priced from, and the products a request names made into
lines: validated (price book entry, eligibility, term, co-term, free trial, price tags), each bundle
expanded into its add-ons, nested under it.

Separate because three jobs build lines from products this way (a new order, the products a change
order cross-sells, the add-ons a Reconfigure adds to a bundle), and asset changes make their charge
and credit lines from the same `Line`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from nue_emulator import inputs, pricing
from nue_emulator.actions.common import (
    DEFAULT_BILLING_PERIOD,
    Context,
    as_date,
    dec,
    find_subscription,
    new_id,
)
from nue_emulator.actions.payment_methods import payment_method_object
from nue_emulator.api import ApiError, invalid
from nue_emulator.catalog import Entry, currency_of, eligible
from nue_emulator.pricing import ZERO, money
from nue_emulator.seed import CUSTOM_FIELDS

MAX_ADDON_DEPTH = 3


@dataclass
class Line:
    """One priced order product: a top-level product, an add-on, or a change to a subscription."""

    id: str
    entry: Entry
    quantity: int
    start: date
    end: date | None  # None for a one-time charge
    term: int | None
    billing_period: str
    unit_price: Decimal
    level: int = 1
    parent: Line | None = None
    option: dict[str, Any] | None = None
    tags: list[dict[str, Any]] = field(default_factory=list)
    coterm_asset: str | None = None
    custom: dict[str, Any] = field(default_factory=dict)
    free_trial: bool = False
    change_type: str | None = None
    asset_number: str | None = None
    subscription_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    # Set by price(): a change line carries its own (possibly negative) amounts.
    list_total: Decimal = ZERO
    discount_amount: Decimal = ZERO
    total: Decimal = ZERO
    tax: Decimal = ZERO
    months: Decimal | None = None
    parent_subscription: str | None = None  # a new add-on under an existing subscription
    # Its own paymentMethodObject, kept with the draft for activation (actions/payment_methods).
    payment_method: dict[str, Any] | None = None
    # A change line's: the start of the billing cycle of the subscription it changes, which its
    # invoices join (actions/invoicing); None bills from the line's own start.
    billing_anchor: date | None = None

    def price(self) -> None:
        tags = [pricing.Tag.from_doc(t) for t in self.tags]
        months = pricing.months_between(self.start, self.end) if self.end else None
        unit = ZERO if self.free_trial else self.unit_price
        result = pricing.price_line(unit, self.quantity, months, tags)
        self.list_total, self.discount_amount, self.total = (
            result.list_total,
            result.discount_amount,
            result.total,
        )
        self.months = months

    @property
    def sales_price(self) -> Decimal:
        """Net price per unit per month (per unit for one-time charges)."""
        if not self.quantity:
            return ZERO
        factor = self.months if self.months else Decimal(1)
        return money(self.total / (self.quantity * factor)) if factor else ZERO

    def priced(self) -> pricing.PricedLine:
        return pricing.PricedLine(
            self.list_total, self.discount_amount, self.total, self.tax, self.months
        )

    def as_api(self) -> dict[str, Any]:
        product, pbe = self.entry.product, self.entry.pbe
        return {
            "id": self.id,
            "lineType": "LineItem",
            "changeType": self.change_type,
            "assetNumber": self.asset_number,
            "subscriptionId": self.subscription_id,
            "priceBookEntryId": pbe["id"],
            "priceBookId": pbe["priceBookId"],
            "productId": product["id"],
            "productName": product["name"],
            "productSku": product["sku"],
            "productCategory": product["productCategory"],
            "priceModel": product["priceModel"],
            "uom": pbe["uom"]["name"],
            "productOptionId": self.option["productOptionId"] if self.option else None,
            "optionType": self.option["optionType"] if self.option else None,
            "parentId": self.parent.id if self.parent else None,
            "rootId": self.root.id if self.parent else None,
            "level": self.level,
            "parentSubscriptionName": self.parent_subscription,
            "quantity": self.quantity,
            "subscriptionStartDate": self.start,
            "subscriptionEndDate": self.end,
            "subscriptionTerm": self.term,
            "coTermAsset": self.coterm_asset,
            "billingPeriod": self.billing_period if self.end else None,
            "isFreeTrial": self.free_trial,
            "listPrice": self.unit_price,
            "salesPrice": self.sales_price,
            "netSalesPrice": self.sales_price,
            "listTotal": self.list_total,
            "discount": (
                money(self.discount_amount * 100 / self.list_total) if self.list_total else ZERO
            ),
            "discountAmount": self.discount_amount,
            "totalPrice": self.total,
            "tax": self.tax,
            "totalAmount": self.total + self.tax,
            "priceTagCodes": [t["code"] for t in self.tags],
            "before": self.before,
            "after": self.after,
            **self.custom,
        }

    @property
    def root(self) -> Line:
        line = self
        while line.parent is not None:
            line = line.parent
        return line


def resolve_tags(ctx: Context, raw: dict[str, Any], path: str) -> list[dict[str, Any]]:
    tags = []
    for code in inputs.strings(raw.get("priceTagCodes"), f"{path}.priceTagCodes"):
        tag = ctx.catalog.tags_by_code.get(code.upper())
        if tag is None:
            raise ApiError(
                400,
                "INVALID_PRICE_TAG",
                f"Price tag code {code} is not published.",
                [{"field": f"{path}.priceTagCodes", "message": f"unknown code {code}"}],
            )
        tags.append(tag)
    for tag_id in inputs.strings(raw.get("priceTagIds"), f"{path}.priceTagIds"):
        tag = ctx.catalog.tags_by_id.get(tag_id)
        if tag is None:
            raise ApiError(
                400,
                "INVALID_PRICE_TAG",
                f"Price tag {tag_id} is not published.",
                [{"field": f"{path}.priceTagIds", "message": f"unknown id {tag_id}"}],
            )
        tags.append(tag)
    return tags


def coterm_end(ctx: Context, asset: str, start: date, path: str) -> date:
    """The end date a line inherits from the asset it co-terms with (nue-api.md §2.1a)."""
    subscription = find_subscription(ctx.customer, asset)
    if subscription is None:
        raise ApiError(
            400,
            "ASSET_NOT_FOUND",
            f"Co-term asset {asset} was not found for this customer (asset not found).",
            [{"field": f"{path}.coTermAsset", "message": "asset not found"}],
        )
    end = as_date(subscription.doc["subscriptionEndDate"])
    if start > end:
        raise ApiError(
            400,
            "DATE_MISMATCH",
            f"Start date {start} is after the end date {end} of co-term asset {asset} "
            "(date mismatch).",
            [{"field": f"{path}.subscriptionStartDate", "message": "date mismatch"}],
        )
    return end


def line_dates(
    ctx: Context,
    raw: dict[str, Any],
    path: str,
    start: date,
    recurring: bool,
) -> tuple[date | None, int | None, str | None]:
    """End date and term from `subscriptionTerm`, `subscriptionEndDate` or `coTermAsset`."""
    if not recurring:
        return None, None, None
    term = inputs.integer(
        raw.get("subscriptionTerm"),
        f"{path}.subscriptionTerm",
        required=False,
        maximum=inputs.MAX_TERM_MONTHS,
    )
    asset = inputs.text(
        raw.get("coTermAsset", raw.get("cotermAsset")), f"{path}.coTermAsset", required=False
    )
    end_given = inputs.day(
        raw.get("subscriptionEndDate"), f"{path}.subscriptionEndDate", required=False
    )
    if term is not None and asset is not None:
        raise invalid(path, "give either subscriptionTerm or coTermAsset, not both.")
    if asset is not None:
        end = coterm_end(ctx, asset, start, path)
        return end, pricing.whole_months(start, end), asset
    if term is not None:
        return pricing.term_end(start, term), term, None
    if end_given is not None:
        if end_given < start:
            raise invalid(f"{path}.subscriptionEndDate", "must not be before the start date.")
        return end_given, pricing.whole_months(start, end_given), None
    raise ApiError(
        400,
        "MISSING_SUBSCRIPTION_TERM",
        f"{path}: either subscriptionTerm or coTermAsset is required.",
        [{"field": f"{path}.subscriptionTerm", "message": "subscriptionTerm or coTermAsset"}],
    )


def line_billing_period(ctx: Context, entry: Entry, order_period: str | None) -> str:
    """Product, then order, then account, then system default (nue-api.md §4)."""
    return (
        entry.pbe.get("billingPeriod")
        or order_period
        or ctx.account.get("billingPeriod")
        or DEFAULT_BILLING_PERIOD
    )


def build_product_lines(
    ctx: Context,
    raw_products: list[Any],
    path: str,
    order_period: str | None,
) -> list[Line]:
    """Validate order products and expand bundles; lines come out depth-first."""
    lines: list[Line] = []
    for index, raw_value in enumerate(raw_products):
        line_path = f"{path}[{index}]"
        raw = inputs.obj(raw_value, line_path)
        assert raw is not None
        pbe_id = inputs.required_text(raw.get("priceBookEntryId"), f"{line_path}.priceBookEntryId")
        entry = ctx.catalog.entries.get(pbe_id)
        if entry is None:
            raise ApiError(
                400,
                "INVALID_PRICE_BOOK_ENTRY",
                f"Price book entry {pbe_id} is not in the published catalog.",
                [{"field": f"{line_path}.priceBookEntryId", "message": "unknown price book entry"}],
            )
        if not entry.product.get("soldIndependently", True):
            raise ApiError(
                400,
                "PRODUCT_NOT_SOLD_INDEPENDENTLY",
                f"{entry.product['name']} is sold only as a bundle add-on.",
                [{"field": f"{line_path}.priceBookEntryId", "message": "add-on only"}],
            )
        if not eligible(entry.pbe, ctx.account):
            raise ApiError(
                400,
                "PRODUCT_NOT_ELIGIBLE",
                f"{entry.product['name']} is not available to this customer.",
                [{"field": f"{line_path}.priceBookEntryId", "message": "not eligible"}],
            )
        quantity = inputs.required_int(raw.get("quantity"), f"{line_path}.quantity")
        start = inputs.required_day(
            raw.get("subscriptionStartDate"), f"{line_path}.subscriptionStartDate"
        )
        free_trial = inputs.flag(raw.get("isFreeTrial"), f"{line_path}.isFreeTrial")
        if free_trial:
            end, term, asset = trial_dates(entry, start, f"{line_path}.isFreeTrial")
        else:
            end, term, asset = line_dates(ctx, raw, line_path, start, entry.recurring)
        line = Line(
            id=new_id(),
            entry=entry,
            quantity=quantity,
            start=start,
            end=end,
            term=term,
            billing_period=line_billing_period(ctx, entry, order_period),
            unit_price=dec(entry.pbe["listPrice"]),
            tags=resolve_tags(ctx, raw, line_path),
            coterm_asset=asset,
            custom=inputs.custom_fields(raw, CUSTOM_FIELDS["OrderProduct"], line_path),
            free_trial=free_trial,
            payment_method=payment_method_object(
                raw.get("paymentMethodObject"), f"{line_path}.paymentMethodObject", ctx.customer
            ),
        )
        lines.append(line)
        options = entry.product.get("productOptions") or []
        raw_addons = inputs.items(raw.get("addOns"), f"{line_path}.addOns", required=False)
        if raw_addons and not options:
            raise ApiError(
                400,
                "INVALID_ADDON_PRODUCT",
                f"{entry.product['name']} is not a bundle and takes no add-ons "
                "(invalid addon product).",
                [{"field": f"{line_path}.addOns", "message": "not a bundle"}],
            )
        lines.extend(
            expand_addons(
                ctx,
                line,
                options,
                raw_addons,
                f"{line_path}.addOns",
                order_period,
                ctx.catalog.all_option_ids(entry.product),
            )
        )
    return lines


def trial_dates(entry: Entry, start: date, path: str) -> tuple[date | None, int | None, str | None]:
    """Emulator extension: `isFreeTrial: true` on a product with a free-trial configuration
    starts the trial (priced at $0 for its days); ConvertFreeTrial later makes it paid."""
    config = entry.product.get("freeTrialConfiguration")
    if not config or not entry.recurring:
        raise invalid(path, f"{entry.product['name']} has no free trial.")
    days = int(config.get("freeTrialUnit") or 30)
    return start + timedelta(days=days - 1), 1, None


def expand_addons(
    ctx: Context,
    parent: Line,
    options: list[dict[str, Any]],
    raw_addons: list[Any],
    path: str,
    order_period: str | None,
    all_option_ids: set[str],
) -> list[Line]:
    """Bundled options come at $0, required ones at their default quantity, optional ones only
    when listed (nue-api.md §4); nested add-ons must belong to their parent option."""
    if parent.level > MAX_ADDON_DEPTH:
        raise ApiError(
            400, "INVALID_ADDON_HIERARCHY", f"{path}: add-ons nest at most three levels."
        )
    by_id = {o["productOptionId"]: o for o in options}
    listed: dict[str, tuple[dict[str, Any], str]] = {}
    for index, raw_value in enumerate(raw_addons):
        addon_path = f"{path}[{index}]"
        raw = inputs.obj(raw_value, addon_path)
        assert raw is not None
        option_id = inputs.required_text(
            raw.get("productOptionId"), f"{addon_path}.productOptionId"
        )
        if option_id not in by_id:
            if option_id in all_option_ids:
                raise ApiError(
                    400,
                    "INVALID_ADDON_HIERARCHY",
                    f"Add-on {option_id} is not an option of {parent.entry.product['name']} at "
                    "this level (invalid addon hierarchy).",
                    [{"field": f"{addon_path}.productOptionId", "message": "wrong level"}],
                )
            raise ApiError(
                400,
                "INVALID_ADDON_PRODUCT",
                f"{option_id} is not an option of {parent.entry.product['name']} "
                "(invalid addon product).",
                [{"field": f"{addon_path}.productOptionId", "message": "not a bundle option"}],
            )
        if option_id in listed:
            raise invalid(f"{addon_path}.productOptionId", f"{option_id} is listed twice.")
        listed[option_id] = (raw, addon_path)

    lines: list[Line] = []
    for option in sorted(options, key=lambda o: o.get("optionOrder", 0)):
        option_id = option["productOptionId"]
        raw, addon_path = listed.get(option_id, ({}, f"{path}[{option_id}]"))
        if option_id not in listed and option["optionType"] not in ("Bundled", "Required"):
            continue
        entry = ctx.catalog.option_entry(option, currency_of(parent.entry.pbe))
        quantity = addon_quantity(option, raw.get("productOptionQuantity"), addon_path)
        start = (
            inputs.day(
                raw.get("subscriptionStartDate"),
                f"{addon_path}.subscriptionStartDate",
                required=False,
            )
            or parent.start
        )
        if parent.end is not None and not parent.start <= start <= parent.end:
            raise ApiError(
                400,
                "INVALID_ADDON_START_DATE",
                f"Add-on {option_id} must start between {parent.start} and {parent.end}.",
                [{"field": f"{addon_path}.subscriptionStartDate", "message": "outside parent"}],
            )
        end, term, asset = addon_dates(ctx, raw, addon_path, start, parent, entry.recurring)
        line = Line(
            id=new_id(),
            entry=entry,
            quantity=quantity,
            start=start,
            end=end,
            term=term,
            billing_period=parent.billing_period,
            unit_price=ZERO if option["optionType"] == "Bundled" else dec(entry.pbe["listPrice"]),
            level=parent.level + 1,
            parent=parent,
            option=option,
            tags=resolve_tags(ctx, raw, addon_path),
            coterm_asset=asset,
            custom=inputs.custom_fields(raw, CUSTOM_FIELDS["OrderProduct"], addon_path),
            payment_method=payment_method_object(
                raw.get("paymentMethodObject"), f"{addon_path}.paymentMethodObject", ctx.customer
            ),
        )
        lines.append(line)
        nested = inputs.items(raw.get("addOns"), f"{addon_path}.addOns", required=False)
        children = option.get("productOptions") or []
        if nested and not children:
            nested_id = nested[0].get("productOptionId") if isinstance(nested[0], dict) else None
            raise ApiError(
                400,
                "INVALID_ADDON_HIERARCHY",
                f"{option_id} has no nested options; {nested_id} cannot be added under it "
                "(invalid addon hierarchy).",
                [{"field": f"{addon_path}.addOns", "message": "no nested options"}],
            )
        lines.extend(
            expand_addons(
                ctx, line, children, nested, f"{addon_path}.addOns", order_period, all_option_ids
            )
        )
    return lines


def addon_quantity(option: dict[str, Any], value: Any, path: str) -> int:
    default = option.get("defaultQuantity")
    if value is None:
        if default is None:
            raise ApiError(
                400,
                "MISSING_ADDON_QUANTITY",
                f"Add-on {option['productOptionId']} needs productOptionQuantity "
                "(missing addon quantity).",
                [{"field": f"{path}.productOptionQuantity", "message": "required"}],
            )
        return int(default)
    quantity = inputs.required_int(value, f"{path}.productOptionQuantity")
    if not option.get("quantityEditable") and default is not None and quantity != default:
        raise ApiError(
            400,
            "ADDON_QUANTITY_NOT_EDITABLE",
            f"The quantity of add-on {option['productOptionId']} is fixed at {default}.",
            [{"field": f"{path}.productOptionQuantity", "message": f"fixed at {default}"}],
        )
    low, high = option.get("minQuantity"), option.get("maxQuantity")
    if (low is not None and quantity < low) or (high is not None and quantity > high):
        raise ApiError(
            400,
            "ADDON_QUANTITY_OUT_OF_RANGE",
            f"The quantity of add-on {option['productOptionId']} must be between "
            f"{low or 1} and {high or 'unlimited'}.",
            [{"field": f"{path}.productOptionQuantity", "message": "out of range"}],
        )
    return quantity


def addon_dates(
    ctx: Context,
    raw: dict[str, Any],
    path: str,
    start: date,
    parent: Line,
    recurring: bool,
) -> tuple[date | None, int | None, str | None]:
    """An add-on co-terms with its parent unless it names its own term, which must fit in it."""
    if not recurring:
        return None, None, None
    if any(
        k in raw for k in ("subscriptionTerm", "coTermAsset", "cotermAsset", "subscriptionEndDate")
    ):
        end, term, asset = line_dates(ctx, raw, path, start, recurring)
    else:
        end, term, asset = parent.end, None, None
        if end is not None:
            term = pricing.whole_months(start, end)
    if parent.end is not None and end is not None and end > parent.end:
        raise ApiError(
            400,
            "SUBSCRIPTION_TERM_NOT_ALLOWED",
            f"{path}: the add-on would end {end}, after its parent ends {parent.end} "
            "(subscription term not allowed).",
            [{"field": f"{path}.subscriptionTerm", "message": "ends after parent"}],
        )
    return end, term, asset
