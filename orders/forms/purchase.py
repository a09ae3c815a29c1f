"""Forms of the purchase flow: the lines of a new order (with a bundle's add-on tree), the
catalog's filter, and activating a draft.

A line's fields carry the line's key as prefix (`k3f9a-quantity`); the add-on tree adds one
checkbox per optional add-on and one quantity field per add-on whose quantity is editable.
Validation mirrors Nue's rules (nue-api.md §2.1, §4) so most mistakes never reach Nue.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext, gettext_lazy

from orders.actions.cards import CardOnFile, Pay
from orders.actions.purchase import CatalogEntry
from orders.actions.schedule import add_months
from orders.forms.fields import PlainTextField, WholeNumberField
from orders.nue import AddOn, Contact, LineRequest, PriceBookEntry, PriceTag, ProductOption
from orders.nue import Subscription as NueSubscription
from orders.templatetags.dates import day_text
from portal.forms import LocalDateField

MAX_TERM_MONTHS = 120  # Nue's longest subscription term
# How far ahead a purchase may start. Nue documents no bound; a start years away is a contract
# to negotiate, not a checkout, and the dates a line computes from it must stay real dates.
START_HORIZON = timedelta(days=2 * 366)
MAX_QUANTITY = 1_000_000
MAX_LINES = 60
DEFAULT_TERM_MONTHS = 12
# The configuration is kept in the session as posted, so only a line's own fields are kept and
# each within bounds: whatever else a request carries never reaches the session store.
LINE_FIELDS = frozenset(
    {"entry", "quantity", "start_date", "term_mode", "term_months", "coterm", "price_tag"}
)
# The order's own fields, kept beside its lines: its bill-to and ship-to contacts.
ORDER_FIELDS = frozenset({"bill_to", "ship_to"})
ADDON_FIELD = re.compile(r"(addon|qty|start|term)_[\w.:-]{1,100}")
MAX_KEY_CHARS = 16
MAX_VALUE_CHARS = 255
MAX_ADDON_FIELDS = 400  # per line: four fields for each add-on of a large bundle
MAX_CONFIGURATION_CHARS = 200_000
TERM = "term"
COTERM = "coterm"


class ActivateForm(forms.Form):
    po_number = PlainTextField(label=gettext_lazy("PO number"), max_length=255, required=False)
    po_date = LocalDateField(label=gettext_lazy("PO date"), required=False)
    # Not sent (a client without the choice): by invoice, never a card it did not name.
    pay = forms.ChoiceField(
        label=gettext_lazy("How to pay"),
        widget=forms.RadioSelect,
        choices=[(Pay.INVOICE, gettext_lazy("Pay by invoice"))],
        required=False,
    )
    consent = forms.BooleanField(
        label=gettext_lazy("Pay the invoices this order creates the way chosen above"),
        error_messages={
            "required": gettext_lazy("Confirm how the invoices of this order are paid.")
        },
    )
    reason = forms.CharField(
        label=gettext_lazy("Why is the subscription canceled?"),
        max_length=1000,
        required=False,
        error_messages={
            "required": gettext_lazy("Say why the subscription is canceled: it goes on record.")
        },
    )

    def __init__(
        self,
        *args: Any,
        cancels: bool = False,
        card: CardOnFile | None = None,
        may_charge_card: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # A cancellation is recorded with its reason; the wizard asks it, this form when the
        # draft is activated without the wizard's preview.
        self.fields["reason"].required = cancels
        self.card = card
        payment_choice(self.fields["pay"], card, may_charge_card)


def payment_choice(field: forms.Field, card: CardOnFile | None, may_charge_card: bool) -> None:
    """Offer the card on file by name ("Charge Visa ending 4242") beside paying by invoice, the
    card first and chosen; by invoice only when there is no card to charge."""
    assert isinstance(field, forms.ChoiceField)
    choices: list[tuple[str, str]] = [(Pay.INVOICE, gettext("Pay by invoice"))]
    if card is not None and card.card is not None and may_charge_card:
        found = card.card
        choices.insert(
            0,
            (
                Pay.CARD,
                gettext("Charge %(card)s (expires %(expiry)s)")
                % {"card": found.label, "expiry": found.expiry},
            ),
        )
    field.choices = choices
    field.initial = choices[0][0]


def chosen_pay(form: forms.Form) -> Pay:
    return Pay(form.cleaned_data.get("pay") or Pay.INVOICE)


class PaymentForm(forms.Form):
    """How a change order is paid, when it is confirmed."""

    # Not sent (a client without the choice): by invoice, never a card it did not name.
    pay = forms.ChoiceField(
        label=gettext_lazy("How to pay"),
        widget=forms.RadioSelect,
        choices=[(Pay.INVOICE, gettext_lazy("Pay by invoice"))],
        required=False,
    )

    def __init__(
        self, *args: Any, card: CardOnFile | None = None, may_charge_card: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.card = card
        payment_choice(self.fields["pay"], card, may_charge_card)


def term_end(start: date, months: int) -> date:
    """Nue's inclusive end: 12 months from 1 Jul 2025 end on 30 Jun 2026."""
    return add_months(start, months) - timedelta(days=1)


@dataclass
class AddonNode:
    """One option of a bundle as the form shows it: nested fieldsets in the template."""

    option: ProductOption
    name: str
    entry: PriceBookEntry | None
    select: forms.BoundField | None
    quantity: forms.BoundField | None
    start: forms.BoundField | None = None
    term: forms.BoundField | None = None
    children: list[AddonNode] = field(default_factory=list)
    # The bundle's currency: an add-on is bought in it, whatever entry the option names.
    bundle_currency: str | None = None

    @property
    def own_dates(self) -> bool:
        """Open the dates when the customer gave some or they are wrong."""
        fields = [f for f in (self.start, self.term) if f is not None]
        return any(f.value() or f.errors for f in fields)

    @property
    def kind(self) -> str:
        return self.option.type

    @property
    def unit_price(self) -> Decimal | None:
        if self.option.type == "bundled":
            return Decimal(0)
        return self.entry.list_price if self.entry else self.option.list_price

    @property
    def currency(self) -> str | None:
        return (self.entry.currency if self.entry else None) or self.bundle_currency


def _select_name(option: ProductOption) -> str:
    return f"addon_{option.id}"


def _quantity_name(option: ProductOption) -> str:
    return f"qty_{option.id}"


def _start_name(option: ProductOption) -> str:
    return f"start_{option.id}"


def _term_name(option: ProductOption) -> str:
    return f"term_{option.id}"


class LineForm(forms.Form):
    entry = forms.CharField(widget=forms.HiddenInput)
    quantity = WholeNumberField(
        label=gettext_lazy("Quantity"),
        min_value=1,
        max_value=MAX_QUANTITY,
        widget=forms.NumberInput,
    )
    start_date = LocalDateField(label=gettext_lazy("Start date"))
    term_mode = forms.ChoiceField(
        label=gettext_lazy("Ends"),
        choices=[
            (TERM, gettext_lazy("After a term in months")),
            (COTERM, gettext_lazy("With one of your subscriptions")),
        ],
        widget=forms.RadioSelect,
        required=False,
    )
    term_months = WholeNumberField(
        label=gettext_lazy("Term (months)"), min_value=1, max_value=MAX_TERM_MONTHS, required=False
    )
    coterm = forms.ChoiceField(label=gettext_lazy("Co-term with"), required=False)
    price_tag = PlainTextField(
        label=gettext_lazy("Price tag or promo code"),
        max_length=64,
        required=False,
        # Typed, never listed: a promo code is for those who were given it.
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(
        self,
        *args: Any,
        item: CatalogEntry,
        names: Mapping[str, tuple[str, PriceBookEntry]],
        subscriptions: Sequence[NueSubscription],
        tags: Sequence[PriceTag],
        today: date,
        **kwargs: Any,
    ) -> None:
        """`subscriptions`: those the line may end together with, `tags`: those a typed code
        may name (orders.actions.purchase.Shop decides both)."""
        super().__init__(*args, **kwargs)
        self.item = item
        self.today = today
        self.tags = {t.code.upper(): t for t in tags}
        self.subscriptions = {s.name: s for s in subscriptions}
        coterm = self.fields["coterm"]
        assert isinstance(coterm, forms.ChoiceField)
        coterm.choices = [("", gettext("Choose a subscription"))] + [
            (
                s.name,
                gettext("%(name)s · %(product)s · ends %(day)s")
                % {"name": s.name, "product": s.product_name or "", "day": day_text(s.end_date)},
            )
            for s in self.subscriptions.values()
            if s.end_date is not None
        ]
        if not item.recurring:
            for name in ("term_mode", "term_months", "coterm"):
                del self.fields[name]
        for top in item.product.options:
            for option in top.walk():
                option_name = names.get(option.price_book_entry_id or "", (option.product_name,))[0]
                if option.type == "optional":
                    self.fields[_select_name(option)] = forms.BooleanField(
                        label=gettext("Add %(option)s") % {"option": option_name},
                        required=False,
                    )
                if option.type != "bundled":
                    # Left empty, Nue applies the option's default quantity, or says it needs
                    # one; which options take a quantity, and how many, Nue does not document
                    # (nue-api.md §4) and checks when it prices the order.
                    self.fields[_quantity_name(option)] = WholeNumberField(
                        label=gettext("Quantity of %(option)s") % {"option": option_name},
                        min_value=1,
                        max_value=MAX_QUANTITY,
                        required=False,
                    )
                if item.recurring and option.type != "bundled":
                    self.fields[_start_name(option)] = LocalDateField(
                        label=gettext("Start of %(option)s") % {"option": option_name},
                        required=False,
                    )
                    self.fields[_term_name(option)] = WholeNumberField(
                        label=gettext("Term of %(option)s (months)") % {"option": option_name},
                        min_value=1,
                        max_value=MAX_TERM_MONTHS,
                        required=False,
                    )
        self.addons = [self._node(o, names) for o in item.product.options]
        self.addon_paths: dict[str, ProductOption] = {}

    @property
    def key(self) -> str:
        return self.prefix or ""

    def _node(
        self, option: ProductOption, names: Mapping[str, tuple[str, PriceBookEntry]]
    ) -> AddonNode:
        name, entry = names.get(option.price_book_entry_id or "", (option.product_name, None))
        select = _select_name(option)
        qty = _quantity_name(option)
        start, term = _start_name(option), _term_name(option)
        return AddonNode(
            option=option,
            name=name or option.product_name or option.id,
            entry=entry,
            select=self[select] if select in self.fields else None,
            quantity=self[qty] if qty in self.fields else None,
            start=self[start] if start in self.fields else None,
            term=self[term] if term in self.fields else None,
            children=[self._node(o, names) for o in option.options],
            bundle_currency=self.item.entry.currency,
        )

    def clean_start_date(self) -> date:
        start: date = self.cleaned_data["start_date"]
        problem = self._start_problem(start)
        if problem:
            raise forms.ValidationError(problem)
        return start

    def _start_problem(self, start: date) -> str:
        """Why a line or an add-on may not start on `start` ("" when it may): not in the past,
        and not further ahead than a self-service purchase is priced (START_HORIZON)."""
        if start < self.today:
            return gettext("The start date cannot be in the past.")
        latest = self.today + START_HORIZON
        if start > latest:
            return gettext("Choose a start date by %(day)s; for a later start, ask us.") % {
                "day": day_text(latest)
            }
        return ""

    def clean_price_tag(self) -> str:
        code = self.cleaned_data["price_tag"].strip().upper()
        if code and code not in self.tags:
            raise forms.ValidationError(
                gettext("%(code)s is not a valid price tag or promo code.") % {"code": code}
            )
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.item.recurring:
            mode = data.get("term_mode") or TERM
            data["term_mode"] = mode
            if (
                mode == TERM
                and data.get("term_months") is None
                and "term_months" not in self.errors
            ):
                self.add_error("term_months", gettext("Enter a term in months, or co-term it."))
            if mode == COTERM:
                self._clean_coterm(data)
        start, end = data.get("start_date"), self._line_end(data)
        for node in self.addons:
            self._clean_addon(node, data, included=True, parent=(start, end))
        return data

    def _line_end(self, data: Mapping[str, Any]) -> date | None:
        start = data.get("start_date")
        if not self.item.recurring or start is None:
            return None
        if data.get("term_mode") == COTERM:
            subscription = self.subscriptions.get(data.get("coterm") or "")
            return subscription.end_date if subscription else None
        months = data.get("term_months")
        return term_end(start, months) if months else None

    def _clean_coterm(self, data: dict[str, Any]) -> None:
        name = data.get("coterm")
        subscription = self.subscriptions.get(name or "")
        if subscription is None:
            self.add_error("coterm", gettext("Choose the subscription to co-term with."))
            return
        start = data.get("start_date")
        if start and subscription.end_date and start > subscription.end_date:
            self.add_error(
                "start_date",
                gettext("%(name)s ends %(day)s, before this start.")
                % {"name": subscription.name, "day": day_text(subscription.end_date)},
            )

    def _clean_addon(
        self,
        node: AddonNode,
        data: dict[str, Any],
        *,
        included: bool,
        parent: tuple[date | None, date | None],
    ) -> None:
        option = node.option
        selected = included and (
            option.type in ("bundled", "required") or bool(data.get(_select_name(option)))
        )
        dates = self._clean_addon_dates(node, data, parent) if selected else parent
        for child in node.children:
            self._clean_addon(child, data, included=selected, parent=dates)

    def _clean_addon_dates(
        self, node: AddonNode, data: dict[str, Any], parent: tuple[date | None, date | None]
    ) -> tuple[date | None, date | None]:
        """An add-on starts within its parent's term and ends by the parent's end (Nue's
        INVALID_ADDON_START_DATE and SUBSCRIPTION_TERM_NOT_ALLOWED); defaults: the parent's."""
        parent_start, parent_end = parent
        start_name, term_name = _start_name(node.option), _term_name(node.option)
        own_start, months = data.get(start_name), data.get(term_name)
        if (
            own_start is not None
            and parent_start is not None
            and parent_end is not None
            and not parent_start <= own_start <= parent_end
        ):
            self.add_error(
                start_name,
                gettext(
                    "%(name)s must start between %(start)s and %(end)s, within the term of "
                    "what it belongs to."
                )
                % {"name": node.name, "start": day_text(parent_start), "end": day_text(parent_end)},
            )
            return parent
        problem = self._start_problem(own_start) if own_start is not None else ""
        if problem:  # the parent's own start was refused: its term bounds nothing
            self.add_error(start_name, problem)
            return parent
        start = own_start or parent_start
        if months is None or start is None:
            return start, parent_end
        end = term_end(start, months)
        if parent_end is not None and end > parent_end:
            self.add_error(
                term_name,
                gettext("%(name)s would end %(day)s, after what it belongs to ends (%(end)s).")
                % {"name": node.name, "day": day_text(end), "end": day_text(parent_end)},
            )
            return start, parent_end
        return start, end

    # Output --------------------------------------------------------------------------------

    def end_date(self) -> date | None:
        """The end a co-termed line inherits, shown next to the choice."""
        if not self.item.recurring or self.data.get(self.add_prefix("term_mode")) != COTERM:
            return None
        subscription = self.subscriptions.get(self.data.get(self.add_prefix("coterm")) or "")
        return subscription.end_date if subscription else None

    def line_request(self) -> LineRequest:
        data = self.cleaned_data
        self.addon_paths = {}
        add_ons = self._add_ons(self.addons, data, "add_ons")
        coterm = data.get("term_mode") == COTERM
        return LineRequest(
            price_book_entry_id=self.item.entry.id,
            quantity=Decimal(data["quantity"]),
            start_date=data["start_date"],
            term_months=data.get("term_months") if self.item.recurring and not coterm else None,
            coterm_subscription=data.get("coterm") if self.item.recurring and coterm else None,
            add_ons=add_ons,
            price_tag_codes=(data["price_tag"],) if data.get("price_tag") else (),
        )

    def _add_ons(
        self, nodes: Sequence[AddonNode], data: Mapping[str, Any], path: str
    ) -> tuple[AddOn, ...]:
        result: list[AddOn] = []
        for node in nodes:
            option = node.option
            chosen = option.type in ("bundled", "required") or bool(data.get(_select_name(option)))
            if not chosen:
                continue
            here = f"{path}[{len(result)}]"
            self.addon_paths[here] = option
            quantity = data.get(_quantity_name(option))
            children = self._add_ons(node.children, data, f"{here}.add_ons")
            if option.type == "bundled" and not children:
                continue  # Nue includes bundled options by itself
            result.append(
                AddOn(
                    product_option_id=option.id,
                    quantity=Decimal(quantity) if quantity is not None else None,
                    add_ons=children,
                    start_date=data.get(_start_name(option)),
                    term_months=data.get(_term_name(option)),
                )
            )
        return tuple(result)

    def field_for_path(self, path: str) -> str | None:
        """The field a Nue error path inside this line (`add_ons[0].quantity`) belongs on."""
        head, _, leaf = path.rpartition(".")
        if not head:
            return {
                "quantity": "quantity",
                "start_date": "start_date",
                "term_months": "term_months",
                "coterm_subscription": "coterm",
                "price_tag_codes": "price_tag",
                "price_book_entry_id": None,
            }.get(leaf.split("[")[0])
        option = self.addon_paths.get(head)
        if option is None:
            return None
        dated = {"start_date": _start_name(option), "term_months": _term_name(option)}
        names = [dated[leaf]] if leaf in dated else []
        for name in (*names, _quantity_name(option), _select_name(option)):
            if name in self.fields:
                return name
        return None


def new_line_data(key: str, item: CatalogEntry, today: date) -> dict[str, list[str]]:
    """A fresh line's fields: quantity 1, today, a 12-month term; add-on quantities left to Nue."""
    data = {
        f"{key}-entry": [item.entry.id],
        f"{key}-quantity": ["1"],
        f"{key}-start_date": [today.isoformat()],
    }
    if item.recurring:
        data[f"{key}-term_mode"] = [TERM]
        data[f"{key}-term_months"] = [str(DEFAULT_TERM_MONTHS)]
    return data


def new_key() -> str:
    return "l" + secrets.token_hex(3)


class OrderConfiguration:
    """The lines being configured: keys in order plus every field's raw value (session-safe)."""

    def __init__(self, data: Mapping[str, list[str]] | None = None) -> None:
        raw = dict(data or {})
        keys = dict.fromkeys(
            str(k) for k in raw.get("line", []) if str(k).isalnum() and len(str(k)) <= MAX_KEY_CHARS
        )
        self.keys: list[str] = list(keys)[:MAX_LINES]
        self.data: dict[str, list[str]] = {"line": list(self.keys)}
        budget = MAX_CONFIGURATION_CHARS
        per_line = dict.fromkeys(self.keys, 0)
        for name, values in raw.items():
            if name in ORDER_FIELDS and values and len(str(values[-1])) <= MAX_VALUE_CHARS:
                self.data[name] = [str(values[-1])]
                continue
            key, _, field_name = name.partition("-")
            if key not in per_line or not values:
                continue
            if field_name not in LINE_FIELDS:
                if not ADDON_FIELD.fullmatch(field_name) or per_line[key] >= MAX_ADDON_FIELDS:
                    continue
                per_line[key] += 1
            value = str(values[-1])  # one value per field: the one a form would read
            if len(value) > MAX_VALUE_CHARS:
                continue
            budget -= len(name) + len(value)
            if budget < 0:
                break
            self.data[name] = [value]

    def add(self, item: CatalogEntry, today: date) -> str:
        key = new_key()
        self.keys.append(key)
        self.data["line"] = list(self.keys)
        self.data.update(new_line_data(key, item, today))
        return key

    def remove(self, key: str) -> None:
        if key in self.keys:
            self.keys.remove(key)
        self.data = {k: v for k, v in self.data.items() if not k.startswith(f"{key}-")}
        self.data["line"] = list(self.keys)

    def forms(
        self,
        catalog: Mapping[str, CatalogEntry],
        names: Mapping[str, tuple[str, PriceBookEntry]],
        subscriptions: Sequence[NueSubscription],
        tags: Sequence[PriceTag],
        today: date,
    ) -> list[LineForm]:
        data = MultiValueDict(self.data)
        result = []
        for key in self.keys:
            item = catalog.get(data.get(f"{key}-entry") or "")
            if item is None:
                continue
            result.append(
                LineForm(
                    data,
                    prefix=key,
                    item=item,
                    names=names,
                    subscriptions=subscriptions,
                    tags=tags,
                    today=today,
                )
            )
        return result


class OrderContactsForm(forms.Form):
    """Who the order is billed and shipped to: one of the customer's contacts, or none (Nue
    then bills the customer and taxes from the customer's shipping address)."""

    bill_to = forms.ChoiceField(label=gettext_lazy("Bill-to contact"), required=False)
    ship_to = forms.ChoiceField(
        label=gettext_lazy("Ship-to contact"),
        required=False,
        help_text=gettext_lazy("Tax is calculated from the ship-to contact's shipping address."),
    )

    def __init__(
        self, data: Mapping[str, list[str]] | None, *, contacts: Sequence[Contact]
    ) -> None:
        super().__init__(MultiValueDict(dict(data or {})))
        choices = [("", gettext("None: the company"))]
        choices += [(c.id, f"{c.name} ({c.email})") for c in contacts]
        for name in ("bill_to", "ship_to"):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = choices

    def contact_ids(self) -> tuple[str | None, str | None]:
        """(bill-to, ship-to) ids; a choice no longer offered (a stale session) is none."""
        if not self.is_valid():
            return None, None
        return self.cleaned_data["bill_to"] or None, self.cleaned_data["ship_to"] or None


class CatalogFilterForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=100)
    category = forms.ChoiceField(label=gettext_lazy("Category"), required=False)

    def __init__(
        self, *args: Any, categories: Sequence[tuple[str, str]] = (), **kwargs: Any
    ) -> None:
        """`categories`: the catalog's, each with its label (orders.actions.purchase.Shop)."""
        super().__init__(*args, **kwargs)
        category = self.fields["category"]
        assert isinstance(category, forms.ChoiceField)
        category.choices = [("", gettext("All categories")), *categories]

    def search(self) -> tuple[str, str]:
        """The search text and category asked for; none when the filter is invalid."""
        if not self.is_valid():
            return "", ""
        return self.cleaned_data["q"], self.cleaned_data["category"]
