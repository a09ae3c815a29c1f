"""The team page's forms: an invitation (who, role, spending limit, and a name for a new Nue
contact), and a member's role and limit. Only a buyer has a spending limit (orders.policy)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

from orders.actions.team import Invite
from orders.forms.fields import PlainTextField
from portal.models import Role

# Membership.spending_limit: 12 digits, 2 of them cents.
LIMIT_DIGITS = 12
LIMIT_PLACES = 2
CENT = Decimal("0.01")
LIMIT_HELP = gettext_lazy(
    "Buyers only: what they may activate in 24 hours without approval, in place of the "
    "account's approval limit. Leave empty to use the account's."
)
NOT_A_BUYER = gettext_lazy(
    "Only a buyer has a spending limit: leave it empty for a viewer or an admin."
)


class AmountField(forms.DecimalField):
    """An amount written with the digits 0-9 (Python reads any script's digits as a number,
    which would set a limit the admin did not see as one)."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and not value.strip().isascii():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


def _limit_field() -> AmountField:
    return AmountField(
        label=gettext_lazy("Spending limit"),
        required=False,
        min_value=Decimal(0),
        max_digits=LIMIT_DIGITS,
        decimal_places=LIMIT_PLACES,
        help_text=LIMIT_HELP,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )


class RoleLimitForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices, initial=Role.BUYER)
    spending_limit = _limit_field()

    def clean_spending_limit(self) -> Decimal | None:
        # In cents, as it is kept: the audit trail and the messages read "500.00", not "500".
        limit = self.cleaned_data["spending_limit"]
        return None if limit is None else limit.quantize(CENT)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("spending_limit") is not None and data.get("role") != Role.BUYER:
            self.add_error("spending_limit", NOT_A_BUYER)
        return data

    @property
    def chosen_role(self) -> Role:
        return Role(self.cleaned_data["role"])


class InviteForm(RoleLimitForm):
    email = forms.EmailField(
        label=gettext_lazy("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off", "list": "contact-emails"}),
    )
    # nue-api.md §3.7: a contact's firstName ≤ 40, lastName ≤ 80.
    first_name = PlainTextField(label=gettext_lazy("First name"), max_length=40, required=False)
    last_name = PlainTextField(label=gettext_lazy("Last name"), max_length=80, required=False)
    add_contact = forms.BooleanField(
        label=gettext_lazy("Add as a contact in Nue if the email is not one yet"),
        required=False,
        help_text=gettext_lazy(
            "The portal finds a member's company through their contact in Nue. Give "
            "their first and last name for it."
        ),
    )

    field_order = ["email", "role", "spending_limit", "first_name", "last_name", "add_contact"]

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip().lower()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("add_contact"):
            for name in ("first_name", "last_name"):
                if name in data and not data[name]:
                    self.add_error(name, gettext_lazy("Nue needs a contact's first and last name."))
        return data

    def invite(self) -> Invite:
        data = self.cleaned_data
        return Invite(
            email=data["email"],
            role=self.chosen_role,
            spending_limit=data.get("spending_limit"),
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            add_contact=bool(data.get("add_contact")),
        )


class MemberForm(RoleLimitForm):
    """One member's row: its fields' ids name the member, as the page shows a form per row."""

    def __init__(self, *args: Any, member_id: int, **kwargs: Any) -> None:
        kwargs["auto_id"] = f"member-{member_id}-%s"
        super().__init__(*args, **kwargs)
