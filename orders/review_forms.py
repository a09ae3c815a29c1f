"""Forms of approvals and review: a buyer's request, a manager's approval and decline."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django import forms
from django.conf import settings

from orders.forms.fields import PlainTextField

MAX_COMMENT = 2000
# Quote templates are configured in the Nue account and no API lists them (nue-api.md §2.3);
# these are the emulator's. A deployment names its own in settings.NUE_QUOTE_TEMPLATES.
DEFAULT_QUOTE_TEMPLATES = {
    "custom-branded-template": "Branded quote",
    "compact": "Compact quote",
}


def quote_templates() -> dict[str, str]:
    return dict(getattr(settings, "NUE_QUOTE_TEMPLATES", DEFAULT_QUOTE_TEMPLATES))


def fingerprint(figures: dict[str, Any]) -> str:
    """A short hash of a draft's figures: what the approving manager was shown."""
    canonical = json.dumps(figures, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class ApprovalRequestForm(forms.Form):
    """A buyer's request: what activating will say (PO) and their consent, kept for the approval,
    which activates the order as they asked for it."""

    comment = forms.CharField(
        label="Note for your account manager",
        required=False,
        max_length=MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional: why you need it, by when, a budget reference.",
    )
    po_number = PlainTextField(label="PO number", max_length=255, required=False)
    po_date = forms.DateField(
        label="PO date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    consent = forms.BooleanField(
        label="Once approved, charge the saved payment method for the invoices this order creates",
        error_messages={"required": "Confirm that the saved payment method may be charged."},
    )


class ApproveForm(forms.Form):
    """Approve exactly the figures the manager saw: a re-price in between refuses the approval."""

    figures = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, current: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current = fingerprint(current)
        self.fields["figures"].initial = self.current

    def clean_figures(self) -> str:
        seen: str = self.cleaned_data["figures"]
        if seen != self.current:
            raise forms.ValidationError(
                "The draft's figures changed while you were reviewing it. Check them again, "
                "then approve."
            )
        return seen


class DeclineForm(forms.Form):
    comment = forms.CharField(
        label="Why are you declining?",
        max_length=MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The requester receives this by email.",
        error_messages={"required": "Tell the requester why the order is declined."},
    )


class QuoteTemplateForm(forms.Form):
    """Which quote layout Nue renders; the template ids are configured in the Nue account."""

    template = forms.ChoiceField(label="Layout", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        template = self.fields["template"]
        assert isinstance(template, forms.ChoiceField)
        template.choices = [("", "Standard quote"), *quote_templates().items()]
