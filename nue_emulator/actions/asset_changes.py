"""Asset changes: each `changeType` of a change order (UpdateQuantity, UpdateTerm, Renew, CoTerm,
Cancel, ConvertFreeTrial, Upgrade, Downgrade, Swap, Reconfigure) applied in turn to a working copy
of the subscription it names, and priced as a charge or a credit line (nue-api.md §5.6-§5.10).

Separate from actions/change_orders.py because this is the pricing of the changes themselves, one
subscription at a time; the order around them (cross-sells, tax, document, plan) is that module's.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from nue_emulator import extensions, inputs, pricing
from nue_emulator.actions.common import (
    DEFAULT_BILLING_PERIOD,
    Context,
    as_date,
    dec,
    find_subscription,
    new_id,
)
from nue_emulator.actions.lines import Line, addon_quantity, expand_addons
from nue_emulator.api import ApiError, invalid
from nue_emulator.catalog import Catalog, Entry, currency_of
from nue_emulator.models import Customer, Subscription
from nue_emulator.pricing import ZERO

CHANGE_TYPES = (
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
)


def snapshot(doc: dict[str, Any]) -> dict[str, Any]:
    """A subscription's terms, as a change order's before/after shows them."""
    return extensions.subscription(
        {
            "subscriptionVersion": doc.get("subscriptionVersion"),
            "productId": doc["productId"],
            "productName": doc["productName"],
            "priceBookEntryId": doc["priceBookEntryId"],
            "quantity": doc["quantity"],
            "subscriptionStartDate": doc["subscriptionStartDate"],
            "subscriptionEndDate": doc["subscriptionEndDate"],
            "subscriptionTerm": doc["subscriptionTerm"],
            "status": doc.get("status"),
            "isFreeTrial": doc.get("isFreeTrial", False),
            "salesPrice": doc["salesPrice"],
            "totalAmount": doc["totalAmount"],
        }
    )


@dataclass
class SubState:
    """A subscription as the change order sees it: the stored version and a working copy."""

    row: Subscription
    doc: dict[str, Any]

    @property
    def name(self) -> str:
        return self.row.name

    @property
    def start(self) -> date:
        return as_date(self.doc["subscriptionStartDate"])

    @property
    def end(self) -> date:
        return as_date(self.doc["subscriptionEndDate"])

    @property
    def quantity(self) -> int:
        return int(self.doc["quantity"])

    @property
    def sales_price(self) -> Decimal:
        return dec(self.doc["salesPrice"])

    @property
    def list_price(self) -> Decimal:
        return dec(self.doc["listPrice"])

    @property
    def charged(self) -> Decimal:
        return dec(self.doc["totalAmount"])


class ChangeBuilder:
    """Applies asset changes one after another to working copies of the subscriptions, pricing
    each as a charge or credit line (nue-api.md §5.6-§5.10)."""

    def __init__(self, catalog: Catalog, customer: Customer | None, today: date) -> None:
        self.catalog = catalog
        self.customer = customer
        self.today = today
        self.states: dict[str, SubState] = {}
        self.originals: dict[str, dict[str, Any]] = {}
        self.lines: list[Line] = []
        self.new_lines: list[Line] = []
        self.ctx: Context | None = None

    # lookups

    def state(self, name: str, path: str) -> SubState:
        if name in self.states:
            return self.states[name]
        row = find_subscription(self.customer, name)
        if row is None:
            raise ApiError(
                400,
                "ASSET_NOT_FOUND",
                f"Subscription {name} was not found for this customer.",
                [{"field": path, "message": "asset not found"}],
            )
        if self.customer is None:
            self.customer = row.customer
        elif row.customer_id != self.customer.id:
            raise ApiError(
                400,
                "ASSET_NOT_FOUND",
                f"Subscription {name} belongs to another customer than the other changes.",
                [{"field": path, "message": "another customer's asset"}],
            )
        if self.ctx is None:
            self.ctx = Context(self.catalog, self.customer, self.today)
        state = SubState(row, dict(row.doc))
        self.states[name] = state
        self.originals[name] = dict(row.doc)
        return state

    def entry_of(self, doc: dict[str, Any]) -> Entry:
        entry = self.catalog.entries.get(doc["priceBookEntryId"])
        if entry is None:
            raise ApiError(
                400,
                "INVALID_PRICE_BOOK_ENTRY",
                f"The product of {doc['name']} is no longer in the published catalog.",
            )
        return entry

    def children(self, parent_name: str) -> list[SubState]:
        rows = Subscription.objects.filter(
            customer=self.customer, is_current=True, doc__parentSubscriptionName=parent_name
        ).order_by("name")
        found = []
        for row in rows:
            state = self.state(row.name, "assetChanges")
            if state.doc.get("status") != "Canceled":
                found.append(state)
        return found

    # lines

    def add_line(
        self,
        state: SubState,
        change_type: str,
        entry: Entry,
        quantity: int,
        start: date,
        end: date,
        list_amount: Decimal,
        net_amount: Decimal,
        before: dict[str, Any],
    ) -> Line:
        line = Line(
            id=new_id(),
            entry=entry,
            quantity=quantity,
            start=start,
            end=end,
            term=pricing.whole_months(start, end) if end >= start else 0,
            billing_period=state.doc.get("billingPeriod") or DEFAULT_BILLING_PERIOD,
            unit_price=dec(entry.pbe["listPrice"]),
            change_type=change_type,
            asset_number=state.name,
            subscription_id=state.row.id,
            before=before,
            after=self.after_snapshot(state),
            level=int(state.doc.get("subscriptionLevel") or 1),
            billing_anchor=state.start,
        )
        line.list_total = list_amount
        line.total = net_amount
        line.discount_amount = list_amount - net_amount
        line.months = pricing.months_between(start, end) if end >= start else None
        self.lines.append(line)
        return line

    @staticmethod
    def after_snapshot(state: SubState) -> dict[str, Any]:
        """The subscription as this change order leaves it: activation makes a new version."""
        return {**snapshot(state.doc), "subscriptionVersion": state.row.version + 1}

    @staticmethod
    def within(state: SubState, day: date, path: str) -> None:
        if not state.start <= day <= state.end:
            raise ApiError(
                400,
                "DATE_OUT_OF_RANGE",
                f"{path}: {day} is outside {state.name}'s term {state.start} to {state.end}.",
                [{"field": path, "message": "outside the subscription term"}],
            )

    @staticmethod
    def live(state: SubState, path: str) -> None:
        if state.doc.get("status") == "Canceled":
            raise ApiError(
                400,
                "SUBSCRIPTION_CANCELED",
                f"{state.name} is canceled and cannot be changed.",
                [{"field": path, "message": "canceled"}],
            )

    def apply(self, raw: dict[str, Any], path: str) -> None:
        kind = inputs.required_text(raw.get("changeType"), f"{path}.changeType")
        canonical = {c.lower(): c for c in CHANGE_TYPES}.get(kind.lower())
        if canonical is None:
            raise invalid(
                f"{path}.changeType",
                f"must be one of {', '.join(CHANGE_TYPES)}.",
                "INVALID_CHANGE_TYPE",
            )
        name = inputs.required_text(raw.get("assetNumber"), f"{path}.assetNumber")
        state = self.state(name, f"{path}.assetNumber")
        if canonical != "Renew":
            self.live(state, f"{path}.assetNumber")
        handlers = {
            "UpdateQuantity": self.change_updatequantity,
            "UpdateTerm": self.change_updateterm,
            "Renew": self.change_renew,
            "CoTerm": self.change_coterm,
            "Cancel": self.change_cancel,
            "ConvertFreeTrial": self.change_convertfreetrial,
            "Upgrade": self.change_upgrade,
            "Downgrade": self.change_downgrade,
            "Swap": self.change_swap,
            "Reconfigure": self.change_reconfigure,
        }
        handlers[canonical](state, raw, path)

    def change_updatequantity(self, state: SubState, raw: dict[str, Any], path: str) -> None:
        delta = inputs.required_int(
            raw.get("quantity"), f"{path}.quantity", minimum=None, nonzero=True
        )
        day = inputs.required_day(raw.get("startDate"), f"{path}.startDate")
        self.within(state, day, f"{path}.startDate")
        self.quantity_change(state, delta, day, "UpdateQuantity", path)

    def quantity_change(self, state: SubState, delta: int, day: date, kind: str, path: str) -> None:
        new_quantity = state.quantity + delta
        if new_quantity < 1:
            raise invalid(
                f"{path}.quantity",
                f"{state.name} has {state.quantity}; a change of {delta} would leave "
                f"{new_quantity} (use Cancel to end it).",
            )
        if state.doc.get("isFreeTrial"):
            list_amount = net = ZERO
        else:
            list_amount = pricing.prorate(state.list_price, delta, day, state.end)
            net = pricing.prorate(state.sales_price, delta, day, state.end)
            if delta < 0:
                net = -pricing.cancel_credit(
                    state.charged, state.sales_price, -delta, day, state.start, state.end
                )
                list_amount = min(list_amount, net)
        before = snapshot(state.doc)
        state.doc["quantity"] = new_quantity
        state.doc["totalAmount"] = state.charged + net
        self.add_line(
            state, kind, self.entry_of(state.doc), delta, day, state.end, list_amount, net, before
        )

    def term_change(
        self, state: SubState, new_end: date, kind: str, path: str, term_delta: int | None = None
    ) -> None:
        if new_end < state.start:
            raise invalid(
                path, f"{state.name} would end {new_end}, before it starts {state.start}."
            )
        if new_end == state.end:
            raise invalid(path, f"{state.name} already ends {new_end}.")
        before = snapshot(state.doc)
        old_end = state.end
        entry = self.entry_of(state.doc)
        trial = bool(state.doc.get("isFreeTrial"))
        if new_end > old_end:
            start, end = old_end + timedelta(days=1), new_end
            list_amount = (
                ZERO if trial else pricing.prorate(state.list_price, state.quantity, start, end)
            )
            net = ZERO if trial else pricing.prorate(state.sales_price, state.quantity, start, end)
        else:
            start, end = new_end + timedelta(days=1), old_end
            net = -pricing.cancel_credit(
                state.charged, state.sales_price, state.quantity, start, state.start, old_end
            )
            list_amount = net
        state.doc["subscriptionEndDate"] = new_end
        state.doc["subscriptionTerm"] = (
            int(state.doc["subscriptionTerm"]) + term_delta
            if term_delta is not None
            else pricing.whole_months(state.start, new_end)
        )
        state.doc["totalAmount"] = state.charged + net
        self.add_line(state, kind, entry, state.quantity, start, end, list_amount, net, before)

    def change_updateterm(self, state: SubState, raw: dict[str, Any], path: str) -> None:
        term = inputs.required_int(
            raw.get("term"),
            f"{path}.term",
            minimum=None,
            nonzero=True,
            maximum=inputs.MAX_TERM_MONTHS,
        )
        inputs.day(raw.get("startDate"), f"{path}.startDate", required=False)
        new_end = pricing.add_months(state.end + timedelta(days=1), term) - timedelta(days=1)
        self.term_change(state, new_end, "UpdateTerm", f"{path}.term", term_delta=term)

    def change_renew(self, state: SubState, raw: dict[str, Any], path: str) -> None:
        """Renew takes `renewalTerm` and `startDate`, both required (nue-api.md §2.2, from the
        change-order data reference): a renewal without its start date is a validation error."""
        term = inputs.required_int(
            raw.get("renewalTerm"), f"{path}.renewalTerm", maximum=inputs.MAX_TERM_MONTHS
        )
        expected = state.end + timedelta(days=1)
        start = inputs.required_day(raw.get("startDate"), f"{path}.startDate")
        if state.doc.get("status") == "Canceled":
            raise ApiError(
                400,
                "SUBSCRIPTION_CANCELED",
                f"{state.name} is canceled.",
                [{"field": f"{path}.assetNumber", "message": "canceled"}],
            )
        if start != expected:
            raise ApiError(
                400,
                "DATE_MISMATCH",
                f"A renewal of {state.name} starts the day after it ends: {expected}.",
                [{"field": f"{path}.startDate", "message": f"expected {expected}"}],
            )
        self.term_change(
            state, pricing.term_end(expected, term), "Renew", f"{path}.renewalTerm", term_delta=term
        )
        state.doc["renewalTerm"] = term

    def change_coterm(self, state: SubState, raw: dict[str, Any], path: str) -> None:
        target = inputs.required_day(raw.get("coTermDate"), f"{path}.coTermDate")
        self.term_change(state, target, "CoTerm", f"{path}.coTermDate")

    def change_cancel(self, state: SubState, raw: dict[str, Any], path: str) -> None:
        day = inputs.required_day(raw.get("cancellationDate"), f"{path}.cancellationDate")
        self.within(state, day, f"{path}.cancellationDate")
        self.cancel(state, day)
        for child in self.children(state.name):
            self.cancel(child, max(day, child.start))

    def cancel(self, state: SubState, day: date) -> None:
        """`cancellationDate` is the last day of service: "Ends the subscription on that date"
        (nue-api.md §2.2), and end dates are inclusive (§3.3, §5.7). So the subscription ends on
        `day`, and only the days after it are credited.

        A canceled subscription no longer renews, so autoRenew goes off with it; its status reads
        Canceled once the date has come (see `subscription_status`)."""
        before = snapshot(state.doc)
        end = state.end
        unused = day + timedelta(days=1)
        if state.doc.get("isFreeTrial") or unused > end:
            credit = list_credit = ZERO
        else:
            credit = pricing.cancel_credit(
                state.charged, state.sales_price, state.quantity, unused, state.start, end
            )
            list_credit = max(
                credit, pricing.prorate(state.list_price, state.quantity, unused, end)
            )
        state.doc["subscriptionEndDate"] = max(min(day, end), state.start)
        state.doc["cancellationDate"] = day
        state.doc["status"] = "Canceled"
        state.doc["autoRenew"] = False
        state.doc["totalAmount"] = state.charged - credit
        self.add_line(
            state,
            "Cancel",
            self.entry_of(state.doc),
            state.quantity,
            unused,
            end,
            -list_credit,
            -credit,
            before,
        )

    def change_convertfreetrial(self, state: SubState, raw: dict[str, Any], path: str) -> None:
        if not state.doc.get("isFreeTrial"):
            raise ApiError(
                400,
                "NOT_A_FREE_TRIAL",
                f"{state.name} is not a free trial.",
                [{"field": f"{path}.assetNumber", "message": "not a free trial"}],
            )
        start = inputs.required_day(raw.get("startDate"), f"{path}.startDate")
        term = inputs.required_int(raw.get("term"), f"{path}.term", maximum=inputs.MAX_TERM_MONTHS)
        if start < state.start:
            raise invalid(f"{path}.startDate", f"must not be before the trial began {state.start}.")
        before = snapshot(state.doc)
        end = pricing.term_end(start, term)
        amount = pricing.prorate(state.list_price, state.quantity, start, end)
        state.doc.update(
            {
                "subscriptionStartDate": start,
                "subscriptionEndDate": end,
                "subscriptionTerm": term,
                "isFreeTrial": False,
                "freeTrialEndDate": start - timedelta(days=1),
                "salesPrice": state.list_price,
                "totalAmount": amount,
            }
        )
        self.add_line(
            state,
            "ConvertFreeTrial",
            self.entry_of(state.doc),
            state.quantity,
            start,
            end,
            amount,
            amount,
            before,
        )

    def change_upgrade(self, state: SubState, raw: dict[str, Any], path: str) -> None:
        self.replace_product(state, raw, path, "Upgrade")

    def change_downgrade(self, state: SubState, raw: dict[str, Any], path: str) -> None:
        self.replace_product(state, raw, path, "Downgrade")

    def change_swap(self, state: SubState, raw: dict[str, Any], path: str) -> None:
        self.replace_product(state, raw, path, "Swap")

    def replace_product(self, state: SubState, raw: dict[str, Any], path: str, kind: str) -> None:
        target_id = inputs.required_text(
            raw.get("targetPriceBookEntryId"), f"{path}.targetPriceBookEntryId"
        )
        day = inputs.required_day(raw.get("startDate"), f"{path}.startDate")
        quantity = inputs.integer(raw.get("quantity"), f"{path}.quantity", required=False)
        self.within(state, day, f"{path}.startDate")
        current = self.entry_of(state.doc)
        allowed = {
            target.pbe["id"]: target
            for rel_kind, target in relationships(
                self.catalog, current.product, currency_of(current.pbe)
            )
            if rel_kind == kind
        }
        target = allowed.get(target_id)
        if target is None:
            names = ", ".join(f"{t.product['name']} ({pbe})" for pbe, t in allowed.items())
            raise ApiError(
                400,
                "INVALID_TARGET_PRODUCT",
                f"{kind} of {state.name} ({current.product['name']}) to {target_id} is not "
                f"allowed; valid targets: {names or 'none'}.",
                [{"field": f"{path}.targetPriceBookEntryId", "message": f"not a {kind} target"}],
            )
        new_quantity = quantity or state.quantity
        before = snapshot(state.doc)
        credit = pricing.cancel_credit(
            state.charged, state.sales_price, state.quantity, day, state.start, state.end
        )
        old_quantity = state.quantity
        price = dec(target.pbe["listPrice"])
        charge = pricing.prorate(price, new_quantity, day, state.end)
        state.doc.update(
            {
                "productId": target.product["id"],
                "productName": target.product["name"],
                "productSku": target.product["sku"],
                "priceBookEntryId": target.pbe["id"],
                "listPrice": price,
                "salesPrice": price,
                "quantity": new_quantity,
                "totalAmount": state.charged - credit + charge,
            }
        )
        after_credit = self.add_line(
            state, kind, current, -old_quantity, day, state.end, -credit, -credit, before
        )
        after_credit.after = self.after_snapshot(state)
        self.add_line(state, kind, target, new_quantity, day, state.end, charge, charge, before)

    def change_reconfigure(self, state: SubState, raw: dict[str, Any], path: str) -> None:
        """Add-on quantities here are absolute (nue-api.md §5.10, an assumption: Nue documents
        deltas only for UpdateQuantity/UpdateTerm); 0 removes an optional add-on.

        An option of an option (Salesforce Connector under Integration Pack) is named either on
        its own, when its parent option is already on the bundle, or nested in its parent's
        `addOns[]` as on a new order (§2.1, §4: "Add-ons can nest"), which adding both at once
        needs."""
        bundle = self.entry_of(state.doc).product
        if bundle.get("recordType") != "Bundle":
            raise ApiError(
                400,
                "NOT_A_BUNDLE",
                f"{state.name} ({bundle['name']}) is not a bundle; Reconfigure needs one.",
                [{"field": f"{path}.assetNumber", "message": "not a bundle"}],
            )
        addons = inputs.items(raw.get("addOns"), f"{path}.addOns")
        parents = option_parents(bundle.get("productOptions") or [], None)
        for index, raw_value in enumerate(addons):
            self.reconfigure_entry(state, bundle, parents, raw_value, f"{path}.addOns[{index}]")

    def reconfigure_entry(
        self,
        state: SubState,
        bundle: dict[str, Any],
        parents: dict[str, tuple[dict[str, Any], dict[str, Any] | None]],
        raw_value: Any,
        addon_path: str,
        within_option: dict[str, Any] | None = None,
    ) -> None:
        addon = inputs.obj(raw_value, addon_path)
        assert addon is not None
        option_id = inputs.required_text(
            addon.get("productOptionId"), f"{addon_path}.productOptionId"
        )
        if option_id not in parents:
            raise ApiError(
                400,
                "INVALID_ADDON_PRODUCT",
                f"{option_id} is not an option of {bundle['name']} (invalid addon product).",
                [{"field": f"{addon_path}.productOptionId", "message": "not a bundle option"}],
            )
        option, parent_option = parents[option_id]
        if within_option is not None and parent_option is not within_option:
            raise ApiError(
                400,
                "INVALID_ADDON_HIERARCHY",
                f"{option_id} is not an option of {within_option['productOptionId']} "
                "(invalid addon hierarchy).",
                [{"field": f"{addon_path}.productOptionId", "message": "wrong level"}],
            )
        if option["optionType"] == "Bundled":
            raise invalid(
                f"{addon_path}.productOptionId",
                f"{option_id} is bundled and cannot be reconfigured.",
            )
        quantity = inputs.required_int(
            addon.get("productOptionQuantity"), f"{addon_path}.productOptionQuantity", minimum=0
        )
        day = inputs.day(
            addon.get("reconfigureEffectiveDate"),
            f"{addon_path}.reconfigureEffectiveDate",
            required=False,
        )
        day = day or max(state.start, min(self.today, state.end))
        self.within(state, day, f"{addon_path}.reconfigureEffectiveDate")
        parent_state = (
            state
            if parent_option is None
            else self.option_subscription(state.name, parent_option["productOptionId"])
        )
        if parent_state is None:
            assert parent_option is not None
            raise ApiError(
                400,
                "INVALID_ADDON_HIERARCHY",
                f"{option_id} sits under {parent_option['productOptionId']}, which "
                f"{state.name} does not have (invalid addon hierarchy).",
                [{"field": f"{addon_path}.productOptionId", "message": "parent missing"}],
            )
        nested = inputs.items(addon.get("addOns"), f"{addon_path}.addOns", required=False)
        existing = self.option_subscription(parent_state.name, option_id)
        self.reconfigure_one(
            state,
            parent_state,
            existing,
            option,
            quantity,
            day,
            addon_path,
            nested=nested if existing is None else [],
            all_option_ids=set(parents),
        )
        if existing is not None:
            for index, child in enumerate(nested):
                self.reconfigure_entry(
                    state, bundle, parents, child, f"{addon_path}.addOns[{index}]", option
                )

    def option_subscription(self, parent_name: str, option_id: str) -> SubState | None:
        for child in self.children(parent_name):
            if child.doc.get("productOptionId") == option_id:
                return child
        return None

    def reconfigure_one(
        self,
        bundle: SubState,
        parent: SubState,
        existing: SubState | None,
        option: dict[str, Any],
        quantity: int,
        day: date,
        path: str,
        *,
        nested: Collection[Any] = (),
        all_option_ids: Collection[str] = (),
    ) -> None:
        field_path = f"{path}.productOptionQuantity"
        if quantity > 0:
            addon_quantity(option, quantity, path)
        if existing is not None:
            if quantity == 0:
                if option["optionType"] == "Required":
                    raise invalid(
                        field_path,
                        f"{option['productOptionId']} is required and cannot be removed.",
                    )
                self.remove_option(existing, day)
                return
            delta = quantity - existing.quantity
            if delta == 0:
                raise invalid(
                    field_path, f"{option['productOptionId']} already has quantity {quantity}."
                )
            if day > existing.end:
                raise invalid(path, f"{existing.name} ends before {day}.")
            self.quantity_change(existing, delta, max(day, existing.start), "Reconfigure", path)
            return
        if quantity == 0:
            raise invalid(
                field_path,
                f"{option['productOptionId']} is not on {bundle.name}; nothing to remove.",
            )
        assert self.ctx is not None
        parent_entry = self.entry_of(parent.doc)
        entry = self.catalog.option_entry(option, currency_of(parent_entry.pbe))
        parent_line = Line(
            id=parent.row.id,
            entry=parent_entry,
            quantity=parent.quantity,
            start=parent.start,
            end=parent.end,
            term=None,
            billing_period=parent.doc.get("billingPeriod") or DEFAULT_BILLING_PERIOD,
            unit_price=ZERO,
            level=int(parent.doc.get("subscriptionLevel") or 1),
        )
        line = Line(
            id=new_id(),
            entry=entry,
            quantity=quantity,
            start=day,
            end=parent.end,
            term=pricing.whole_months(day, parent.end),
            billing_period=parent_line.billing_period,
            unit_price=dec(entry.pbe["listPrice"]),
            level=parent_line.level + 1,
            option=option,
            change_type="Reconfigure",
            asset_number=bundle.name,
            parent_subscription=parent.name,
        )
        line.price()
        if nested and not option.get("productOptions"):
            raise ApiError(
                400,
                "INVALID_ADDON_HIERARCHY",
                f"{option['productOptionId']} has no nested options (invalid addon hierarchy).",
                [{"field": f"{path}.addOns", "message": "no nested options"}],
            )
        children = expand_addons(
            self.ctx,
            line,
            option.get("productOptions") or [],
            list(nested),
            f"{path}.addOns",
            None,
            set(all_option_ids),
        )
        for child in children:
            child.change_type = "Reconfigure"
            child.asset_number = bundle.name
            child.price()
        self.lines.extend([line, *children])
        self.new_lines.extend([line, *children])

    def remove_option(self, existing: SubState, day: date) -> None:
        """An add-on removed from a bundle takes its own options with it, as canceling the
        bundle takes all of them."""
        self.cancel(existing, day)
        self.lines[-1].change_type = "Reconfigure"
        for child in self.children(existing.name):
            self.remove_option(child, max(day, child.start))


def option_parents(
    options: list[dict[str, Any]],
    parent: dict[str, Any] | None,
) -> dict[str, tuple[dict[str, Any], dict[str, Any] | None]]:
    found: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {}
    for option in options:
        found[option["productOptionId"]] = (option, parent)
        found.update(option_parents(option.get("productOptions") or [], option))
    return found


def relationships(
    catalog: Catalog, product: dict[str, Any] | Any, currency: str
) -> list[tuple[str, Entry]]:
    """Upgrade/Downgrade/Swap targets of a product, resolved to their price book entries in
    `currency`: a subscription keeps its currency when it moves to another product."""
    found = []
    for rel in product.get("productRelationships") or []:
        target = catalog.by_sku.get(rel["targetSku"])
        if target is None:
            continue
        for pbe in target.get("priceBookEntries", []):
            if currency_of(pbe) == currency:
                found.append((rel["relationshipType"], Entry(target, pbe)))
    return found
