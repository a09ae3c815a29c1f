"""The billing page's form: a new contact of the customer, with the fields Nue documents for
one (nue-api.md §2.6, §3.7) and Nue's limits on them, so most mistakes never reach Nue."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from orders.forms.fields import PlainTextField
from orders.nue import ContactRequest

# (Nue's part, field name, its labels by address, Nue's limit on its length)
ADDRESS_PARTS = (
    (
        "Street",
        "street",
        {"billing": gettext_lazy("Billing street"), "shipping": gettext_lazy("Shipping street")},
        255,
    ),
    (
        "City",
        "city",
        {"billing": gettext_lazy("Billing city"), "shipping": gettext_lazy("Shipping city")},
        40,
    ),
    (
        "State",
        "state",
        {
            "billing": gettext_lazy("Billing state or region"),
            "shipping": gettext_lazy("Shipping state or region"),
        },
        80,
    ),
    (
        "PostalCode",
        "postal_code",
        {
            "billing": gettext_lazy("Billing postal code"),
            "shipping": gettext_lazy("Shipping postal code"),
        },
        20,
    ),
    (
        "Country",
        "country",
        {
            "billing": gettext_lazy("Billing country code"),
            "shipping": gettext_lazy("Shipping country code"),
        },
        80,
    ),
)
# A tax rate needs the country: an address without one taxes nothing.
NO_COUNTRY = {
    "billing": gettext_lazy("Give the billing address's country."),
    "shipping": gettext_lazy("Give the shipping address's country."),
}


class ContactForm(forms.Form):
    # nue-api.md §3.7: firstName ≤ 40, lastName ≤ 80, name ≤ 255, email unique and valid.
    first_name = PlainTextField(label=gettext_lazy("First name"), max_length=40)
    last_name = PlainTextField(label=gettext_lazy("Last name"), max_length=80)
    email = forms.EmailField(label=gettext_lazy("Email"), max_length=254)
    phone = PlainTextField(label=gettext_lazy("Phone"), max_length=40, required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for prefix in ("billing", "shipping"):
            for _part, name, labels, length in ADDRESS_PARTS:
                self.fields[f"{prefix}_{name}"] = PlainTextField(
                    label=labels[prefix], max_length=length, required=False
                )

    def address_fields(self, prefix: str) -> list[forms.BoundField]:
        return [self[f"{prefix}_{name}"] for _part, name, _label, _length in ADDRESS_PARTS]

    def billing_fields(self) -> list[forms.BoundField]:
        return self.address_fields("billing")

    def shipping_fields(self) -> list[forms.BoundField]:
        return self.address_fields("shipping")

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        for prefix in ("billing", "shipping"):
            given = [data.get(f"{prefix}_{name}") for _p, name, _l, _n in ADDRESS_PARTS]
            if any(given) and not data.get(f"{prefix}_country"):
                self.add_error(f"{prefix}_country", str(NO_COUNTRY[prefix]))
        return data

    def contact_request(self) -> ContactRequest:
        data = self.cleaned_data

        def address(prefix: str) -> tuple[tuple[str, str], ...]:
            return tuple(
                (part, data[f"{prefix}_{name}"])
                for part, name, _label, _length in ADDRESS_PARTS
                if data.get(f"{prefix}_{name}")
            )

        return ContactRequest(
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
            phone=data.get("phone") or None,
            billing=address("billing"),
            shipping=address("shipping"),
        )
