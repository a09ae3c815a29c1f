"""The change wizard's rules and forms: what a subscription allows, and the customer's input.

Customers type absolute values ("8 seats", "ends 2027-07-26"); each form turns them into Nue's
deltas (nue-api.md §2.2: UpdateQuantity and UpdateTerm are deltas) against the subscription it
was bound with, which the view reads fresh when the form is submitted.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from django import forms

from orders.fields import WholeNumberField
from orders.nue import AddOn, AssetChange, Product, ProductOption, ProductRelationship, Subscription
from orders.templatetags.dates import day_text

MAX_QUANTITY = 10_000
TERM_EXTENSIONS = (1, 3, 6, 12, 24, 36)
RENEWAL_TERMS = (12, 24, 36)
CONVERSION_TERMS = (1, 12, 24, 36)


@dataclass(frozen=True, slots=True)
class Kind:
    slug: str
    change_type: str
    label: str
    summary: str


KINDS: tuple[Kind, ...] = (
    Kind("quantity", "UpdateQuantity", "Change quantity", "Add or remove seats or units."),
    Kind("term", "UpdateTerm", "Extend the term", "Move the end date out by whole months."),
    Kind("upgrade", "Upgrade", "Upgrade", "Move to a higher plan."),
    Kind("downgrade", "Downgrade", "Downgrade", "Move to a lower plan."),
    Kind("swap", "Swap", "Swap", "Switch to an equivalent product."),
    Kind("renew", "Renew", "Renew", "Add a new term starting the day after this one ends."),
    Kind("coterm", "CoTerm", "Align end dates", "End together with another subscription."),
    Kind("trial", "ConvertFreeTrial", "Convert trial to paid", "Keep it after the free trial."),
    Kind("addons", "Reconfigure", "Change add-ons", "Add, remove or resize a bundle's add-ons."),
    Kind("cancel", "Cancel", "Cancel", "End the subscription and get credit for unused time."),
)
KINDS_BY_SLUG = {k.slug: k for k in KINDS}
KINDS_BY_CHANGE_TYPE = {k.change_type: k for k in KINDS}


def change_type_label(change_type: str) -> str:
    """What the wizard calls one of Nue's change types: UpdateQuantity is "Change quantity"."""
    kind = KINDS_BY_CHANGE_TYPE.get(change_type)
    if kind is not None:
        return kind.label
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", change_type).capitalize()


PRODUCT_KINDS = ("upgrade", "downgrade", "swap")


# --- Dates ----------------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """Calendar months; the day is clamped to the month's last (Jan 31 + 1 month = Feb 28/29)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def extended_end(end: date, months: int) -> date:
    # The emulator's UpdateTerm arithmetic (nue-api.md §5.7): end dates are inclusive.
    return add_months(end + timedelta(days=1), months) - timedelta(days=1)


def renewal_end(end: date, months: int) -> date:
    return extended_end(end, months)


def period_end_date(sub: Subscription) -> date | None:
    """The first day after the current billing period, if it falls inside the term.

    Changes effective then leave the period already paid for untouched.
    """
    if sub.next_billing_date is not None and (
        sub.end_date is None or sub.next_billing_date <= sub.end_date
    ):
        return sub.next_billing_date
    return sub.end_date


# --- What a subscription allows -----------------------------------------------------------------


def is_bundle(sub: Subscription, catalog: Sequence[Product]) -> bool:
    product = next((p for p in catalog if p.id == sub.product_id), None)
    return product is not None and (product.record_type == "Bundle" or bool(product.options))


@dataclass(frozen=True, slots=True)
class Choice:
    kind: Kind
    reason: str  # empty when available
    forbidden: bool = False  # unavailable because of the member's role, not the subscription

    @property
    def available(self) -> bool:
        return not self.reason


def choices_for(
    sub: Subscription,
    *,
    others: Sequence[Subscription],
    relationships: Sequence[ProductRelationship],
    catalog: Sequence[Product],
    may_prepare: bool,
    may_cancel: bool,
) -> list[Choice]:
    """Every change kind with the reason it is not available (empty when it is)."""
    targets = {r.relationship_type for r in relationships if r.subscription_name == sub.name}

    def reason(kind: Kind) -> str:
        if not may_prepare:
            return "Your role can see subscriptions but not change them."
        if sub.is_add_on:
            return "Part of a bundle: change it through the bundle's add-ons."
        if sub.status == "Canceled":
            return "This subscription is canceled."
        if sub.cancels_on is not None:
            return f"A cancellation is scheduled: it ends on {day_text(sub.cancels_on)}."
        if sub.status == "Expired" and kind.slug != "renew":
            return "This subscription has ended; renew it first."
        slug = kind.slug
        if slug == "trial":
            # ConvertFreeTrial is documented (nue-api.md §2.2), but no field of a subscription
            # says that it is a free trial (§3.3): the portal cannot tell which one is.
            return (
                "Nue does not say whether a subscription is a free trial, so converting one is "
                "not offered here: ask your account manager."
            )
        if slug in PRODUCT_KINDS and kind.change_type not in targets:
            return f"No {kind.label.lower()} is offered for {sub.product_name}."
        if slug in ("term", "renew") and sub.evergreen:
            return "Evergreen: it runs until canceled."
        if slug == "coterm" and not coterm_targets(sub, others):
            return "No other active subscription ends on a different date."
        if slug == "addons" and not is_bundle(sub, catalog):
            return "Only for bundles."
        if slug == "cancel" and not may_cancel:
            return "Only an account admin can cancel a subscription."
        return ""

    forbidden = {
        k.slug for k in KINDS if not may_prepare or (k.slug == "cancel" and not may_cancel)
    }
    return [Choice(k, reason(k), k.slug in forbidden and bool(reason(k))) for k in KINDS]


def coterm_targets(sub: Subscription, others: Sequence[Subscription]) -> list[Subscription]:
    return [
        o
        for o in others
        if o.name != sub.name
        and not o.is_add_on
        and o.status == "Active"
        and o.cancels_on is None
        and o.end_date is not None
        and o.end_date != sub.end_date
        and (sub.start_date is None or o.end_date >= sub.start_date)
    ]


# --- Forms ---------------------------------------------------------------------------------------

WHEN_TODAY, WHEN_PERIOD_END, WHEN_DATE = "today", "period_end", "date"


class ChangeForm(forms.Form):
    """Base of the wizard's detail forms, bound to the subscription as read at submit time."""

    kind: str = ""
    # Nue's field paths (as renamed by orders.nue) -> this form's fields, for add_form_errors.
    field_map: dict[str, str] = {}

    def __init__(self, *args: Any, sub: Subscription, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sub = sub
        self.today = today

    # Each detail form defines it: the AssetChanges its cleaned data asks for.
    changes: Callable[[], list[AssetChange]]

    def description(self) -> dict[str, str]:
        """What the customer asked for, in their words, for the preview and the audit trail."""
        return {}


class EffectiveDateMixin(forms.Form):
    """When a change takes effect: today, the end of the billing period, or a chosen day."""

    when = forms.ChoiceField(label="Effective", widget=forms.RadioSelect)
    on = forms.DateField(
        label="On this day",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Used when you choose a specific day.",
    )
    default_when = WHEN_TODAY
    sub: Subscription
    today: date

    def period_end(self) -> date | None:
        """The day "end of the billing period" stands for: when the change takes effect."""
        return period_end_date(self.sub)

    def setup_when(self) -> None:
        period_end = self.period_end()
        options = [(WHEN_TODAY, f"Today, {day_text(self.today)}")]
        if period_end is not None and period_end > self.today:
            options.append((WHEN_PERIOD_END, f"End of the billing period, {day_text(period_end)}"))
        options.append((WHEN_DATE, "On a specific day"))
        field = self.fields["when"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = options
        field.initial = self.default_when if self.default_when in dict(options) else WHEN_TODAY
        on = self.fields["on"]
        earliest = self.earliest()
        on.widget.attrs["min"] = earliest.isoformat()
        if self.sub.end_date is not None:
            on.widget.attrs["max"] = self.sub.end_date.isoformat()

    def earliest(self) -> date:
        start = self.sub.start_date or self.today
        return max(start, self.today)

    def effective_date(self) -> date:
        when = self.cleaned_data.get("when")
        if when == WHEN_PERIOD_END:
            return self.period_end() or self.today
        if when == WHEN_DATE:
            return self.cleaned_data["on"]
        return self.today

    def clean_effective(self) -> None:
        when = self.cleaned_data.get("when")
        if when == WHEN_DATE and not self.cleaned_data.get("on"):
            self.add_error("on", "Choose the day the change takes effect.")
            return
        if when is None:
            return
        day = self.effective_date()
        if day < self.earliest():
            self.add_error(
                "on" if when == WHEN_DATE else "when",
                f"Choose {day_text(self.earliest())} or later: a change cannot start in the past "
                "or before the subscription starts.",
            )
        elif self.sub.end_date is not None and day > self.sub.end_date:
            self.add_error(
                "on" if when == WHEN_DATE else "when",
                f"Choose {day_text(self.sub.end_date)} or earlier: the subscription ends then.",
            )


class QuantityForm(EffectiveDateMixin, ChangeForm):
    kind = "quantity"
    field_order = ("quantity", "when", "on")
    quantity = WholeNumberField(
        label="New quantity",
        min_value=1,
        max_value=MAX_QUANTITY,
        help_text="The total you want, not the difference.",
    )
    field_map = {
        "changes[].quantity": "quantity",
        "changes[].start_date": "on",
        "changes[].subscription_name": "quantity",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["quantity"].initial = int(self.sub.quantity)
        self.fields["quantity"].widget.attrs.update({"inputmode": "numeric", "min": 1})
        self.setup_when()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        quantity = cleaned.get("quantity")
        if quantity is not None and Decimal(quantity) == self.sub.quantity:
            self.add_error("quantity", f"It already has {quantity}. Enter a different total.")
        self.clean_effective()
        return cleaned

    def delta(self) -> Decimal:
        return Decimal(self.cleaned_data["quantity"]) - self.sub.quantity

    def changes(self) -> list[AssetChange]:
        return [
            AssetChange("UpdateQuantity", quantity=self.delta(), start_date=self.effective_date())
        ]

    def description(self) -> dict[str, str]:
        return {
            "asked": f"Set quantity to {self.cleaned_data['quantity']}",
            "effective": self.effective_date().isoformat(),
        }


class TermForm(ChangeForm):
    kind = "term"
    new_end = forms.ChoiceField(
        label="New end date",
        error_messages={
            "invalid_choice": "The term changed since this page was loaded; choose the new "
            "end date again."
        },
    )
    field_map = {"changes[].term": "new_end"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        end = self.sub.end_date or self.today
        self.months = {extended_end(end, m).isoformat(): m for m in TERM_EXTENSIONS}
        field = self.fields["new_end"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            (iso, f"{day_text(date.fromisoformat(iso))} (+{m} month{'s' if m > 1 else ''})")
            for iso, m in self.months.items()
        ]
        field.help_text = f"Today it ends {day_text(end)}. New units and prices follow the new end."

    def changes(self) -> list[AssetChange]:
        return [AssetChange("UpdateTerm", term=self.months[self.cleaned_data["new_end"]])]

    def description(self) -> dict[str, str]:
        return {"asked": f"End on {day_text(date.fromisoformat(self.cleaned_data['new_end']))}"}


class ProductForm(EffectiveDateMixin, ChangeForm):
    """Upgrade, downgrade or swap to one of the product relationships' targets."""

    field_order = ("target", "quantity", "when", "on")
    target = forms.ChoiceField(label="New product", widget=forms.RadioSelect)
    quantity = WholeNumberField(
        label="Quantity",
        min_value=1,
        max_value=MAX_QUANTITY,
        required=False,
        help_text="Leave empty to keep the current quantity.",
    )
    field_map = {
        "changes[].target_price_book_entry_id": "target",
        "changes[].quantity": "quantity",
        "changes[].start_date": "on",
    }

    def __init__(
        self,
        *args: Any,
        kind: str,
        relationships: Sequence[ProductRelationship],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.change_type = KINDS_BY_SLUG[kind].change_type
        self.targets = {
            r.price_book_entry_id: r
            for r in relationships
            if r.relationship_type == self.change_type and r.price_book_entry_id
        }
        field = self.fields["target"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(pbe, r.product_name or pbe) for pbe, r in self.targets.items()]
        if len(self.targets) == 1:
            field.initial = next(iter(self.targets))
        # A downgrade takes effect when the paid period ends unless the customer says otherwise.
        self.default_when = WHEN_PERIOD_END if kind == "downgrade" else WHEN_TODAY
        self.setup_when()

    def changes(self) -> list[AssetChange]:
        quantity = self.cleaned_data.get("quantity")
        return [
            AssetChange(
                self.change_type,
                target_price_book_entry_id=self.cleaned_data["target"],
                start_date=self.effective_date(),
                quantity=Decimal(quantity) if quantity else None,
            )
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.clean_effective()
        return cleaned

    def description(self) -> dict[str, str]:
        target = self.targets[self.cleaned_data["target"]]
        return {
            "asked": f"{self.change_type} to {target.product_name}",
            "effective": self.effective_date().isoformat(),
        }


class RenewForm(ChangeForm):
    kind = "renew"
    renewal_term = forms.TypedChoiceField(
        label="Renew for", coerce=int, widget=forms.RadioSelect, initial=12
    )
    field_map = {"changes[].renewal_term": "renewal_term", "changes[].start_date": "renewal_term"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        end = self.sub.end_date or self.today
        field = self.fields["renewal_term"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [
            (m, f"{m} months, until {day_text(renewal_end(end, m))}") for m in RENEWAL_TERMS
        ]
        field.help_text = f"The new term starts {day_text(end + timedelta(days=1))}."

    def changes(self) -> list[AssetChange]:
        end = self.sub.end_date or self.today
        return [
            AssetChange(
                "Renew",
                renewal_term=self.cleaned_data["renewal_term"],
                start_date=end + timedelta(days=1),
            )
        ]

    def description(self) -> dict[str, str]:
        return {"asked": f"Renew for {self.cleaned_data['renewal_term']} months"}


class CotermForm(ChangeForm):
    kind = "coterm"
    # A CharField, not a ChoiceField: a posted name that is not among the choices is looked up,
    # so another customer's subscription is a 404 like everywhere else, not a form error.
    target = forms.CharField(label="End together with", widget=forms.RadioSelect)
    field_map = {"changes[].co_term_date": "target"}

    def __init__(
        self,
        *args: Any,
        others: Sequence[Subscription],
        lookup: Callable[[str], Subscription],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lookup = lookup
        self.targets = {o.name: o for o in coterm_targets(self.sub, others)}
        widget = self.fields["target"].widget
        assert isinstance(widget, forms.RadioSelect)
        widget.choices = [
            (o.name, f"{o.product_name} ({o.name}), ends {day_text(o.end_date)}")
            for o in self.targets.values()
            if o.end_date is not None
        ]

    def clean_target(self) -> str:
        name: str = self.cleaned_data["target"]
        # Read it again: the choices came from the same list, but its end may have moved since.
        target = self.lookup(name)
        if target.name == self.sub.name or target.status != "Active":
            raise forms.ValidationError("Choose another active subscription.")
        if target.end_date is None or target.end_date == self.sub.end_date:
            raise forms.ValidationError("It already ends on the same day; choose another.")
        self.targets[name] = target
        return name

    def changes(self) -> list[AssetChange]:
        target = self.targets[self.cleaned_data["target"]]
        return [AssetChange("CoTerm", co_term_date=target.end_date)]

    def description(self) -> dict[str, str]:
        return {"asked": f"End together with {self.cleaned_data['target']}"}


CANCEL_REASONS = (
    ("too_expensive", "It is too expensive"),
    ("missing_features", "It is missing features we need"),
    ("switching", "We are switching to another product"),
    ("not_using", "We do not use it enough"),
    ("temporary", "We only needed it for a while"),
    ("other", "Something else"),
)


class CancelForm(EffectiveDateMixin, ChangeForm):
    kind = "cancel"
    field_order = ("reason", "details", "when", "on")
    reason = forms.ChoiceField(
        label="Why are you canceling?", choices=CANCEL_REASONS, widget=forms.RadioSelect
    )
    details = forms.CharField(
        label="Anything else we should know?",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    field_map = {"changes[].cancellation_date": "on"}
    default_when = WHEN_PERIOD_END

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_when()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("reason") == "other" and not cleaned.get("details", "").strip():
            self.add_error("details", "Tell us a little about why, please.")
        self.clean_effective()
        return cleaned

    def period_end(self) -> date | None:
        # Nue's cancellationDate is the last day of service: Cancel "ends the subscription on
        # that date" (nue-api.md §2.2) and end dates are inclusive (§3.3). So the end of the
        # billing period is its last day, the day before the next one starts, and nothing of the
        # period paid for is credited.
        sub = self.sub
        if sub.next_billing_date is not None and (
            sub.end_date is None or sub.next_billing_date <= sub.end_date
        ):
            return sub.next_billing_date - timedelta(days=1)
        return sub.end_date

    def changes(self) -> list[AssetChange]:
        return [AssetChange("Cancel", cancellation_date=self.effective_date())]

    def description(self) -> dict[str, str]:
        return {
            "asked": "Cancel",
            "effective": self.effective_date().isoformat(),
            "reason": dict(CANCEL_REASONS)[self.cleaned_data["reason"]],
            "details": self.cleaned_data.get("details", ""),
        }


class TrialForm(ChangeForm):
    kind = "trial"
    start = forms.ChoiceField(label="Start paying", widget=forms.RadioSelect)
    term = forms.TypedChoiceField(
        label="Term",
        coerce=int,
        initial=12,
        choices=[(m, f"{m} month{'s' if m > 1 else ''}") for m in CONVERSION_TERMS],
        widget=forms.RadioSelect,
    )
    field_map = {"changes[].start_date": "start", "changes[].term": "term"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        end = self.sub.end_date or self.today
        options = [(self.today.isoformat(), f"Now, {day_text(self.today)}")]
        if end >= self.today:
            after = end + timedelta(days=1)
            options.append((after.isoformat(), f"When the trial ends, {day_text(after)}"))
        field = self.fields["start"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = options
        field.initial = options[-1][0]

    def changes(self) -> list[AssetChange]:
        return [
            AssetChange(
                "ConvertFreeTrial",
                start_date=date.fromisoformat(self.cleaned_data["start"]),
                term=self.cleaned_data["term"],
            )
        ]

    def description(self) -> dict[str, str]:
        return {"asked": f"Convert to paid for {self.cleaned_data['term']} months"}


class BundleOption(NamedTuple):
    """One add-on a customer may set on a bundle, with the option it sits under (None at the
    bundle's top) and the quantity the bundle has of it now."""

    option: ProductOption
    name: str
    quantity: Decimal
    parent: ProductOption | None = None


class AddonsForm(ChangeForm):
    """A bundle's add-ons as absolute quantities; 0 removes an optional one (nue-api.md §5.10).

    An option of an option is sent nested in its parent's `addOns[]` when the parent is added by
    the same change (as on a new order, §2.1), else on its own; removing an option takes its
    own options with it.
    """

    kind = "addons"

    def __init__(self, *args: Any, options: Sequence[BundleOption], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current: dict[str, Decimal] = {}
        self.parents: dict[str, str | None] = {}
        self.field_map = {}
        names = {o.option.id: o.name for o in options}
        for option, name, quantity, parent in options:
            key = f"option_{option.id}"
            self.current[option.id] = quantity
            self.parents[option.id] = parent.id if parent is not None else None
            # A Required option stays on its bundle (nue-api.md §4); how many of an option a
            # bundle allows, Nue does not document: it says so when it prices the change.
            minimum = 1 if option.type == "required" else 0
            help_text = _option_help(option, quantity)
            if parent is not None:
                help_text += f" Comes with {names.get(parent.id, parent.product_name)}."
            self.fields[key] = WholeNumberField(
                label=name if parent is None else f"{name} (in {names.get(parent.id, '')})",
                min_value=minimum,
                max_value=MAX_QUANTITY,
                initial=int(quantity),
                help_text=help_text,
                # Left empty, an add-on stays as it is.
                required=False,
            )

    def _value(self, option_id: str) -> Decimal:
        value = self.cleaned_data.get(f"option_{option_id}")
        return self.current[option_id] if value is None else Decimal(value)

    def wanted(self) -> list[tuple[str, int]]:
        return [
            (option_id, self.cleaned_data[f"option_{option_id}"])
            for option_id, now in self.current.items()
            if self.cleaned_data.get(f"option_{option_id}") is not None
            and Decimal(self.cleaned_data[f"option_{option_id}"]) != now
        ]

    def _ancestors(self, option_id: str) -> list[str]:
        found = []
        parent = self.parents.get(option_id)
        while parent is not None and parent in self.parents:
            found.append(parent)
            parent = self.parents.get(parent)
        return found

    def _added(self, option_id: str) -> bool:
        return self.current[option_id] == 0 and self._value(option_id) > 0

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        if not self.wanted():
            raise forms.ValidationError("Change at least one add-on's quantity.")
        for option_id, quantity in self.wanted():
            parent = self.parents.get(option_id)
            if parent is None or parent not in self.parents or not quantity:
                continue
            if self._value(parent) == 0:
                parent_label = self.fields[f"option_{parent}"].label
                self.add_error(
                    f"option_{option_id}",
                    f"It comes with {parent_label}: set {parent_label} to 1 or more as well.",
                )
        return cleaned

    def _entry(self, option_id: str, wanted: dict[str, int], path: str) -> AddOn:
        """The add-on entry for option_id, with the options added under it when it is added."""
        self.field_map[f"{path}.quantity"] = f"option_{option_id}"
        self.field_map[f"{path}.product_option_id"] = f"option_{option_id}"
        children = (
            [o for o in wanted if self.parents.get(o) == option_id]
            if self._added(option_id)
            else []
        )
        return AddOn(
            option_id,
            Decimal(wanted[option_id]),
            add_ons=tuple(
                self._entry(child, wanted, f"{path}.add_ons[{index}]")
                for index, child in enumerate(children)
            ),
            effective_date=self.today,
            current_quantity=self.current[option_id],
        )

    def changes(self) -> list[AssetChange]:
        wanted = dict(self.wanted())
        top = [
            option_id
            for option_id in wanted
            # Sent inside an ancestor that is added, or gone with an ancestor that is removed.
            if not any(self._added(a) or self._value(a) == 0 for a in self._ancestors(option_id))
        ]
        self.field_map = {}
        add_ons = tuple(
            self._entry(option_id, wanted, f"changes[0].add_ons[{index}]")
            for index, option_id in enumerate(top)
        )
        return [AssetChange("Reconfigure", add_ons=add_ons)]

    def description(self) -> dict[str, str]:
        asked = ", ".join(f"{self.fields['option_' + o].label}: {q}" for o, q in self.wanted())
        return {"asked": asked}


def _option_help(option: ProductOption, quantity: Decimal) -> str:
    if option.type == "required":
        have = f"You have {int(quantity)}." if quantity else "Not included yet."
        return f"{have} Required: at least 1."
    if not quantity:
        return "Not included yet: enter how many to add."
    return f"You have {int(quantity)}. Enter 0 to remove it."


def bundle_add_ons(sub: Subscription, subscriptions: Sequence[Subscription]) -> list[Subscription]:
    """The subscriptions of a bundle's add-ons at every level, by the documented `rootId`
    (nue-api.md §3.3); options of options (Connector Runtime under Integration Pack) included."""
    return [s for s in subscriptions if s.root_id == sub.id and s.id != sub.id]


def bundle_options(
    sub: Subscription, catalog: Sequence[Product], children: Sequence[Subscription]
) -> list[BundleOption]:
    """The add-ons a customer may set on this bundle: its options at every level that are not
    Bundled (those come with the bundle or with their parent option), in the catalog's order,
    with their product names and current quantities."""
    product = next((p for p in catalog if p.id == sub.product_id), None)
    if product is None:
        return []
    names = {p.id: p.name for p in catalog}
    have = {c.product_id: c.quantity for c in children if c.status != "Canceled"}
    found: list[BundleOption] = []

    def visit(options: Sequence[ProductOption], parent: ProductOption | None) -> None:
        for option in options:
            if option.type != "bundled":
                name = option.product_name or names.get(option.product_id or "", option.id)
                found.append(
                    BundleOption(option, name, have.get(option.product_id, Decimal(0)), parent)
                )
            visit(option.options, option)

    visit(product.options, None)
    return found


FORMS: dict[str, type[ChangeForm]] = {
    "quantity": QuantityForm,
    "term": TermForm,
    "upgrade": ProductForm,
    "downgrade": ProductForm,
    "swap": ProductForm,
    "renew": RenewForm,
    "coterm": CotermForm,
    "cancel": CancelForm,
    "trial": TrialForm,
    "addons": AddonsForm,
}
