"""The change wizard's forms: the customer's input for each kind of change, validated against
the subscription as read when the form was submitted and what the kind may offer for it
(orders.actions.changes.Offer, computed by the view's action). A valid form's `asked()` is what
orders.actions.changes.asset_changes turns into Nue's deltas.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from orders.actions.changes import AddOnAsked, Asked, BundleOption, Offer
from orders.forms.fields import WholeNumberField
from orders.nue import AssetChange, NueNotFound, ProductOption, Subscription
from orders.templatetags.dates import day_text
from portal.forms import LocalDateField

MAX_QUANTITY = 10_000
CONVERSION_TERMS = (1, 12, 24, 36)
WHEN_TODAY, WHEN_PERIOD_END, WHEN_DATE = "today", "period_end", "date"


class ChangeForm(forms.Form):
    """Base of the wizard's detail forms, bound to the subscription as read at submit time."""

    kind: str = ""
    # Nue's field paths (as renamed by orders.nue) -> this form's fields, for add_form_errors.
    field_map: dict[str, str] = {}

    def __init__(
        self, *args: Any, sub: Subscription, today: date, offer: Offer, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sub = sub
        self.today = today
        self.offer = offer

    @abstractmethod
    def asked(self) -> Asked:
        """What a valid form asks, in absolute terms: each kind's form says."""

    def fields_of(self, changes: Sequence[AssetChange]) -> dict[str, str]:
        """`field_map` for the changes this form's ask became (the add-ons form names each)."""
        return self.field_map

    def description(self) -> dict[str, str]:
        """What the customer asked for, in their words and language, for the preview and the
        audit trail."""
        return {}


class EffectiveDateMixin(forms.Form):
    """When a change takes effect: today, the end of the billing period, or a chosen day."""

    when = forms.ChoiceField(label=gettext_lazy("Effective"), widget=forms.RadioSelect)
    on = LocalDateField(
        label=gettext_lazy("On this day"),
        required=False,
        help_text=gettext_lazy("Used when you choose a specific day."),
    )
    sub: Subscription
    today: date
    offer: Offer

    def setup_when(self) -> None:
        period_end = self.offer.period_end
        options = [(WHEN_TODAY, _("Today, %(day)s") % {"day": day_text(self.today)})]
        if period_end is not None and period_end > self.today:
            options.append(
                (
                    WHEN_PERIOD_END,
                    _("End of the billing period, %(day)s") % {"day": day_text(period_end)},
                )
            )
        options.append((WHEN_DATE, _("On a specific day")))
        field = self.fields["when"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = options
        default = WHEN_PERIOD_END if self.offer.at_period_end else WHEN_TODAY
        field.initial = default if default in dict(options) else WHEN_TODAY
        on = self.fields["on"]
        on.widget.attrs["min"] = self.offer.earliest.isoformat()
        if self.sub.end_date is not None:
            on.widget.attrs["max"] = self.sub.end_date.isoformat()

    def effective_date(self) -> date:
        when = self.cleaned_data.get("when")
        if when == WHEN_PERIOD_END:
            return self.offer.period_end or self.today
        if when == WHEN_DATE:
            return self.cleaned_data["on"]
        return self.today

    def clean_effective(self) -> None:
        when = self.cleaned_data.get("when")
        if when == WHEN_DATE and not self.cleaned_data.get("on"):
            self.add_error("on", _("Choose the day the change takes effect."))
            return
        if when is None:
            return
        day, earliest = self.effective_date(), self.offer.earliest
        if day < earliest:
            self.add_error(
                "on" if when == WHEN_DATE else "when",
                _(
                    "Choose %(day)s or later: a change cannot start in the past "
                    "or before the subscription starts."
                )
                % {"day": day_text(earliest)},
            )
        elif self.sub.end_date is not None and day > self.sub.end_date:
            self.add_error(
                "on" if when == WHEN_DATE else "when",
                _("Choose %(day)s or earlier: the subscription ends then.")
                % {"day": day_text(self.sub.end_date)},
            )


class QuantityForm(EffectiveDateMixin, ChangeForm):
    kind = "quantity"
    field_order = ("quantity", "when", "on")
    quantity = WholeNumberField(
        label=gettext_lazy("New quantity"),
        min_value=1,
        max_value=MAX_QUANTITY,
        help_text=gettext_lazy("The total you want, not the difference."),
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
            self.add_error(
                "quantity",
                _("It already has %(quantity)s. Enter a different total.") % {"quantity": quantity},
            )
        self.clean_effective()
        return cleaned

    def asked(self) -> Asked:
        quantity = self.cleaned_data["quantity"]
        return Asked(self.kind, quantity=quantity, effective=self.effective_date())

    def description(self) -> dict[str, str]:
        return {
            "asked": _("Set quantity to %(n)s") % {"n": self.cleaned_data["quantity"]},
            "effective": self.effective_date().isoformat(),
        }


class TermForm(ChangeForm):
    kind = "term"
    new_end = forms.ChoiceField(
        label=gettext_lazy("New end date"),
        error_messages={
            "invalid_choice": gettext_lazy(
                "The term changed since this page was loaded; choose the new end date again."
            )
        },
    )
    field_map = {"changes[].term": "new_end"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["new_end"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            (
                iso,
                ngettext("%(day)s (+%(count)d month)", "%(day)s (+%(count)d months)", m)
                % {"day": day_text(date.fromisoformat(iso)), "count": m},
            )
            for iso, m in self.offer.term_ends.items()
        ]
        end = self.sub.end_date or self.today
        field.help_text = _("Today it ends %(day)s. New units and prices follow the new end.") % {
            "day": day_text(end)
        }

    def asked(self) -> Asked:
        return Asked(self.kind, months=self.offer.term_ends[self.cleaned_data["new_end"]])

    def description(self) -> dict[str, str]:
        end = day_text(date.fromisoformat(self.cleaned_data["new_end"]))
        return {"asked": _("End on %(day)s") % {"day": end}}


class ProductForm(EffectiveDateMixin, ChangeForm):
    """Upgrade, downgrade or swap to one of the product relationships' targets."""

    field_order = ("target", "quantity", "when", "on")
    target = forms.ChoiceField(label=gettext_lazy("New product"), widget=forms.RadioSelect)
    quantity = WholeNumberField(
        label=gettext_lazy("Quantity"),
        min_value=1,
        max_value=MAX_QUANTITY,
        required=False,
        help_text=gettext_lazy("Leave empty to keep the current quantity."),
    )
    field_map = {
        "changes[].target_price_book_entry_id": "target",
        "changes[].quantity": "quantity",
        "changes[].start_date": "on",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = self.offer.kind.slug
        field = self.fields["target"]
        assert isinstance(field, forms.ChoiceField)
        targets = self.offer.targets
        field.choices = [(pbe, r.product_name or pbe) for pbe, r in targets.items()]
        if len(targets) == 1:
            field.initial = next(iter(targets))
        self.setup_when()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.clean_effective()
        return cleaned

    def asked(self) -> Asked:
        return Asked(
            self.kind,
            quantity=self.cleaned_data.get("quantity"),
            effective=self.effective_date(),
            target=self.cleaned_data["target"],
        )

    def description(self) -> dict[str, str]:
        target = self.offer.targets[self.cleaned_data["target"]]
        return {
            "asked": _("%(change)s to %(product)s")
            % {"change": self.offer.kind.label, "product": target.product_name},
            "effective": self.effective_date().isoformat(),
        }


class RenewForm(ChangeForm):
    kind = "renew"
    renewal_term = forms.TypedChoiceField(
        label=gettext_lazy("Renew for"), coerce=int, widget=forms.RadioSelect, initial=12
    )
    field_map = {"changes[].renewal_term": "renewal_term", "changes[].start_date": "renewal_term"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["renewal_term"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [
            (
                m,
                ngettext("%(count)d month, until %(day)s", "%(count)d months, until %(day)s", m)
                % {"count": m, "day": day_text(end)},
            )
            for m, end in self.offer.renewals
        ]
        field.help_text = _("The new term starts %(day)s.") % {
            "day": day_text(self.offer.renewal_start)
        }

    def asked(self) -> Asked:
        return Asked(self.kind, months=self.cleaned_data["renewal_term"])

    def description(self) -> dict[str, str]:
        term = self.cleaned_data["renewal_term"]
        asked = ngettext("Renew for %(term)s month", "Renew for %(term)s months", term)
        return {"asked": asked % {"term": term}}


class CotermForm(ChangeForm):
    kind = "coterm"
    # A CharField, not a ChoiceField: a posted name that is not among the choices is looked up,
    # so another customer's subscription is a 404 like everywhere else, not a form error.
    target = forms.CharField(label=gettext_lazy("End together with"), widget=forms.RadioSelect)
    field_map = {"changes[].co_term_date": "target"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        widget = self.fields["target"].widget
        assert isinstance(widget, forms.RadioSelect)
        widget.choices = [
            (
                o.name,
                _("%(product)s (%(name)s), ends %(day)s")
                % {"product": o.product_name, "name": o.name, "day": day_text(o.end_date)},
            )
            for o in self.offer.coterm_targets
            if o.end_date is not None
        ]

    def clean_target(self) -> str:
        name: str = self.cleaned_data["target"]
        target = self.offer.subscriptions.get(name)
        if target is None:
            raise NueNotFound("No such subscription.")
        if target.name == self.sub.name or target.status != "Active":
            raise forms.ValidationError(_("Choose another active subscription."))
        if target.end_date is None or target.end_date == self.sub.end_date:
            raise forms.ValidationError(_("It already ends on the same day; choose another."))
        return name

    def asked(self) -> Asked:
        target = self.offer.subscriptions[self.cleaned_data["target"]]
        return Asked(self.kind, target=target.name, co_term_date=target.end_date)

    def description(self) -> dict[str, str]:
        target = self.cleaned_data["target"]
        return {"asked": _("End together with %(target)s") % {"target": target}}


CANCEL_REASONS = (
    ("too_expensive", gettext_lazy("It is too expensive")),
    ("missing_features", gettext_lazy("It is missing features we need")),
    ("switching", gettext_lazy("We are switching to another product")),
    ("not_using", gettext_lazy("We do not use it enough")),
    ("temporary", gettext_lazy("We only needed it for a while")),
    ("other", gettext_lazy("Something else")),
)


class CancelForm(EffectiveDateMixin, ChangeForm):
    """A cancellation; its end of the billing period is the period's last day of service
    (orders.actions.changes.last_service_day)."""

    kind = "cancel"
    field_order = ("reason", "details", "when", "on")
    reason = forms.ChoiceField(
        label=gettext_lazy("Why are you canceling?"),
        choices=CANCEL_REASONS,
        widget=forms.RadioSelect,
    )
    details = forms.CharField(
        label=gettext_lazy("Anything else we should know?"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    field_map = {"changes[].cancellation_date": "on"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_when()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("reason") == "other" and not cleaned.get("details", "").strip():
            self.add_error("details", _("Tell us a little about why, please."))
        self.clean_effective()
        return cleaned

    def asked(self) -> Asked:
        return Asked(self.kind, effective=self.effective_date())

    def description(self) -> dict[str, str]:
        return {
            "asked": pgettext("change kind", "Cancel"),
            "effective": self.effective_date().isoformat(),
            "reason": _english(dict(CANCEL_REASONS)[self.cleaned_data["reason"]]),
            "details": self.cleaned_data.get("details", ""),
        }


class TrialForm(ChangeForm):
    kind = "trial"
    start = forms.ChoiceField(label=gettext_lazy("Start paying"), widget=forms.RadioSelect)
    term = forms.TypedChoiceField(
        label=gettext_lazy("Term"),
        coerce=int,
        initial=12,
        choices=[(m, str(m)) for m in CONVERSION_TERMS],
        widget=forms.RadioSelect,
    )
    field_map = {"changes[].start_date": "start", "changes[].term": "term"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        now, *after = self.offer.trial_starts
        options = [(now.isoformat(), _("Now, %(day)s") % {"day": day_text(now)})]
        options += [
            (day.isoformat(), _("When the trial ends, %(day)s") % {"day": day_text(day)})
            for day in after
        ]
        field = self.fields["start"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = options
        field.initial = options[-1][0]
        term = self.fields["term"]
        assert isinstance(term, forms.ChoiceField)
        # Worded here, in the reader's language (a class-level label would be worded once).
        term.choices = [
            (m, ngettext("%(count)d month", "%(count)d months", m) % {"count": m})
            for m in CONVERSION_TERMS
        ]

    def asked(self) -> Asked:
        start = date.fromisoformat(self.cleaned_data["start"])
        return Asked(self.kind, start=start, months=self.cleaned_data["term"])

    def description(self) -> dict[str, str]:
        term = self.cleaned_data["term"]
        asked = ngettext(
            "Convert to paid for %(term)s month", "Convert to paid for %(term)s months", term
        )
        return {"asked": asked % {"term": term}}


class AddonsForm(ChangeForm):
    """A bundle's add-ons as absolute quantities; 0 removes an optional one."""

    kind = "addons"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options: Sequence[BundleOption] = self.offer.add_ons
        self.current: dict[str, Decimal] = {}
        self.parents: dict[str, str | None] = {}
        names = {o.option.id: o.name for o in self.options}
        for option, name, quantity, parent in self.options:
            key = f"option_{option.id}"
            self.current[option.id] = quantity
            self.parents[option.id] = parent.id if parent is not None else None
            # A Required option stays on its bundle (nue-api.md §4); how many of an option a
            # bundle allows, Nue does not document: it says so when it prices the change.
            minimum = 1 if option.type == "required" else 0
            help_text = _option_help(option, quantity)
            if parent is not None:
                comes_with = _("Comes with %(parent)s.") % {
                    "parent": names.get(parent.id, parent.product_name)
                }
                help_text = f"{help_text} {comes_with}"
            self.fields[key] = WholeNumberField(
                label=name
                if parent is None
                else _("%(name)s (in %(parent)s)")
                % {"name": name, "parent": names.get(parent.id, "")},
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

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        if not self.wanted():
            raise forms.ValidationError(_("Change at least one add-on's quantity."))
        for option_id, quantity in self.wanted():
            parent = self.parents.get(option_id)
            if parent is None or parent not in self.parents or not quantity:
                continue
            if self._value(parent) == 0:
                parent_label = self.fields[f"option_{parent}"].label
                self.add_error(
                    f"option_{option_id}",
                    _("It comes with %(parent)s: set %(parent)s to 1 or more as well.")
                    % {"parent": parent_label},
                )
        return cleaned

    def asked(self) -> Asked:
        add_ons = tuple(
            AddOnAsked(option_id, self._value(option_id), now, self.parents[option_id])
            for option_id, now in self.current.items()
        )
        return Asked(self.kind, add_ons=add_ons)

    def fields_of(self, changes: Sequence[AssetChange]) -> dict[str, str]:
        """Each add-on's place in the changes (`changes[0].add_ons[1].add_ons[0]`), for Nue's
        errors about its quantity or option."""
        found: dict[str, str] = {}

        def visit(add_ons: Sequence[Any], path: str) -> None:
            for index, add_on in enumerate(add_ons):
                here = f"{path}.add_ons[{index}]"
                found[f"{here}.quantity"] = f"option_{add_on.product_option_id}"
                found[f"{here}.product_option_id"] = f"option_{add_on.product_option_id}"
                visit(add_on.add_ons, here)

        for index, change in enumerate(changes):
            visit(change.add_ons, f"changes[{index}]")
        return found

    def description(self) -> dict[str, str]:
        asked = ", ".join(f"{self.fields['option_' + o].label}: {q}" for o, q in self.wanted())
        return {"asked": asked}


def _option_help(option: ProductOption, quantity: Decimal) -> str:
    if option.type == "required":
        if quantity:
            return _("You have %(count)d. Required: at least 1.") % {"count": int(quantity)}
        return _("Not included yet. Required: at least 1.")
    if not quantity:
        return _("Not included yet: enter how many to add.")
    return _("You have %(count)d. Enter 0 to remove it.") % {"count": int(quantity)}


def _english(text: object) -> str:
    """A choice's label as the audit trail keeps it, whatever language the customer reads."""
    with translation.override("en"):
        return str(text)


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
