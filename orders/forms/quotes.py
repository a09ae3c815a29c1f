"""Forms of quote links: the recipient's acceptance (who they are, their PO, the terms, and the
card step where the tenant collects by card), and the account manager's "send by email"."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from orders.actions.cards import Pay
from orders.actions.quote_acceptance import Accepting

SETUP_INTENT = r"^seti_[A-Za-z0-9_]{1,200}$"


class QuoteAcceptForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Your name"),
        max_length=200,
        error_messages={"required": gettext_lazy("Enter your name.")},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    title = forms.CharField(
        label=gettext_lazy("Your job title"),
        max_length=200,
        error_messages={"required": gettext_lazy("Enter your job title.")},
        widget=forms.TextInput(attrs={"autocomplete": "organization-title"}),
    )
    email = forms.EmailField(
        label=gettext_lazy("Your email"),
        help_text=gettext_lazy("The confirmation is sent here."),
        error_messages={
            "required": gettext_lazy("Enter your email address."),
            "invalid": gettext_lazy("Enter an email address such as name@example.com."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    po_number = forms.CharField(
        label=gettext_lazy("PO number"),
        max_length=255,
        required=False,
        help_text=gettext_lazy(
            "Your purchase order number, if your company uses them: the order and its "
            "invoices carry it."
        ),
    )
    agree = forms.BooleanField(
        label=gettext_lazy(
            "I have read the terms above and agree to them on behalf of the customer."
        ),
        error_messages={"required": gettext_lazy("Agree to the terms to accept the quote.")},
    )
    pay = forms.ChoiceField(
        label=gettext_lazy("How to pay"),
        choices=[
            (Pay.CARD.value, gettext_lazy("Pay by card")),
            (Pay.INVOICE.value, gettext_lazy("Pay by invoice")),
        ],
        widget=forms.RadioSelect,
        required=False,
    )
    setup_intent = forms.CharField(required=False, widget=forms.HiddenInput)
    card_consent = forms.BooleanField(required=False)

    def __init__(self, *args: Any, card_step: bool = False, **kwargs: Any) -> None:
        """`card_step`: the tenant collects by card, so paying by card is offered (and chosen
        unless the recipient picks invoice)."""
        super().__init__(*args, **kwargs)
        self.card_step = card_step
        if card_step:
            self.fields["pay"].required = True
            self.fields["pay"].initial = Pay.CARD.value
        else:
            del self.fields["pay"], self.fields["setup_intent"], self.fields["card_consent"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.card_step and data.get("pay") == Pay.CARD.value:
            if not re.fullmatch(SETUP_INTENT, data.get("setup_intent") or ""):
                self.add_error(
                    None, gettext_lazy("Enter the card's details in the card field first.")
                )
            if not data.get("card_consent"):
                self.add_error(
                    "card_consent",
                    gettext_lazy("Agree to the card being saved and charged to pay by card."),
                )
        return data

    def accepting(self) -> Accepting:
        data = self.cleaned_data
        pay = Pay(data["pay"]) if self.card_step else Pay.INVOICE
        return Accepting(
            name=data["name"].strip(),
            title=data["title"].strip(),
            email=data["email"],
            po_number=data["po_number"].strip(),
            pay=pay,
            setup_intent=data.get("setup_intent", "") if pay == Pay.CARD else "",
        )


class QuoteSendForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("Send to"),
        help_text=gettext_lazy("Who accepts the quote for the customer."),
        error_messages={
            "required": gettext_lazy("Enter the address to send the quote to."),
            "invalid": gettext_lazy("Enter an email address such as name@example.com."),
        },
    )
    note = forms.CharField(
        label=gettext_lazy("Message (optional)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
