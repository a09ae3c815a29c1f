"""Forms of approvals and review: a buyer's request, a manager's approval and decline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from orders.actions.cards import CardOnFile, Pay
from orders.forms.fields import PlainTextField
from orders.forms.purchase import chosen_pay, payment_choice
from orders.stripe_gateway import Card
from portal.forms import LocalDateField

MAX_COMMENT = 2000


class ApprovalRequestForm(forms.Form):
    """A buyer's request: what activating will say (PO), how it is paid (the card on file or
    invoice) and their consent, kept for the approval, which activates the order as they asked
    for it. `card`: the account's CardOnFile (orders.actions.cards), offered by name."""

    comment = forms.CharField(
        label=gettext_lazy("Note for your account manager"),
        required=False,
        max_length=MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Optional: why you need it, by when, a budget reference."),
    )
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
        label=gettext_lazy(
            "Once approved, pay the invoices this order creates the way chosen above"
        ),
        error_messages={
            "required": gettext_lazy("Confirm how the invoices of this order are paid.")
        },
    )

    def __init__(
        self,
        *args: Any,
        card: CardOnFile | None = None,
        may_charge_card: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.card = card
        payment_choice(self.fields["pay"], card, may_charge_card)

    def chosen_card(self) -> Card | None:
        """The card to charge once approved, None for an invoice."""
        if chosen_pay(self) != Pay.CARD or self.card is None:
            return None
        return self.card.card


class ApproveForm(forms.Form):
    """Approve exactly the figures the manager saw: a re-price in between refuses the approval.

    `current`: the fingerprint of the draft's figures now (orders.actions.approvals.fingerprint).
    """

    figures = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, current: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current = current
        self.fields["figures"].initial = current

    def clean_figures(self) -> str:
        seen: str = self.cleaned_data["figures"]
        if seen != self.current:
            raise forms.ValidationError(
                gettext_lazy(
                    "The draft's figures changed while you were reviewing it. Check them again, "
                    "then approve."
                )
            )
        return seen


class DeclineForm(forms.Form):
    comment = forms.CharField(
        label=gettext_lazy("Why are you declining?"),
        max_length=MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("The requester receives this by email."),
        error_messages={"required": gettext_lazy("Tell the requester why the order is declined.")},
    )


class QuoteTemplateForm(forms.Form):
    """Which quote layout Nue renders; the template ids are configured in the Nue account."""

    template = forms.ChoiceField(label=gettext_lazy("Layout"), required=False)

    def __init__(self, *args: Any, templates: Mapping[str, str], **kwargs: Any) -> None:
        """`templates`: the layouts by id (orders.actions.quotes.quote_templates)."""
        super().__init__(*args, **kwargs)
        template = self.fields["template"]
        assert isinstance(template, forms.ChoiceField)
        template.choices = [("", gettext_lazy("Standard quote")), *templates.items()]


class BookFilterForm(forms.Form):
    """/review/?customer=<id>: one customer of the book, its drafts and renewals in full."""

    customer = forms.IntegerField(required=False, min_value=1)
