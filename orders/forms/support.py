"""Forms of the support workspace: a reference to look up, the operations list's filters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy

from portal.models import CustomerAccount


class ReferenceField(forms.CharField):
    """A reference as a customer reads it out or pastes it: "Reference: 3F9A0C1B2D4E." is the
    reference 3f9a0c1b2d4e (they are lowercase hexadecimal)."""

    def to_python(self, value: Any) -> str:
        text = str(super().to_python(value))
        if text.lower().startswith("reference:"):
            text = text[len("reference:") :].strip()
        return text.rstrip(".").strip().lower()


class LookupForm(forms.Form):
    reference = ReferenceField(
        label=gettext_lazy("Reference"),
        max_length=64,
        help_text=gettext_lazy("As the customer's page showed it, e.g. 3f9a0c1b2d4e."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        validators=[
            RegexValidator(
                r"^[a-z0-9_-]{4,32}$",
                gettext_lazy("A reference is 4 to 32 letters, digits, dashes or underscores."),
                code="invalid",
            )
        ],
    )


class OperationFilterForm(forms.Form):
    customer = forms.ModelChoiceField(
        queryset=CustomerAccount.objects.none(),
        required=False,
        label=gettext_lazy("Customer"),
        empty_label=gettext_lazy("Every customer"),
    )
    state = forms.ChoiceField(
        label=gettext_lazy("Outcome"),
        required=False,
        choices=[
            ("", gettext_lazy("Unknown, in flight or failed")),
            ("open", gettext_lazy("Unknown or in flight")),
            ("failed", gettext_lazy("Failed")),
        ],
    )

    def __init__(self, *args: Any, customers: QuerySet[CustomerAccount], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers  # type: ignore[attr-defined]
