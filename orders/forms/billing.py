"""The billing page's form: a new contact of the customer, with the fields Nue documents for
one (nue-api.md §2.6, §3.7) and Nue's limits on them, so most mistakes never reach Nue."""

from __future__ import annotations

from django import forms

from orders.forms.fields import PlainTextField
from orders.nue import ContactRequest

ADDRESS_PARTS = (
    ("Street", "street", "Street", 255),
    ("City", "city", "City", 40),
    ("State", "state", "State or region", 80),
    ("PostalCode", "postal_code", "Postal code", 20),
    ("Country", "country", "Country code", 80),
)


class ContactForm(forms.Form):
    # nue-api.md §3.7: firstName ≤ 40, lastName ≤ 80, name ≤ 255, email unique and valid.
    first_name = PlainTextField(label="First name", max_length=40)
    last_name = PlainTextField(label="Last name", max_length=80)
    email = forms.EmailField(label="Email", max_length=254)
    phone = PlainTextField(label="Phone", max_length=40, required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for prefix, heading in (("billing", "Billing"), ("shipping", "Shipping")):
            for _part, name, label, length in ADDRESS_PARTS:
                self.fields[f"{prefix}_{name}"] = PlainTextField(
                    label=f"{heading} {label.lower()}", max_length=length, required=False
                )

    def address_fields(self, prefix: str) -> list[forms.BoundField]:
        return [self[f"{prefix}_{name}"] for _part, name, _label, _length in ADDRESS_PARTS]

    def billing_fields(self) -> list[forms.BoundField]:
        return self.address_fields("billing")

    def shipping_fields(self) -> list[forms.BoundField]:
        return self.address_fields("shipping")

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        for prefix, heading in (("billing", "billing"), ("shipping", "shipping")):
            given = [data.get(f"{prefix}_{name}") for _p, name, _l, _n in ADDRESS_PARTS]
            if any(given) and not data.get(f"{prefix}_country"):
                # A tax rate needs the country: an address without one taxes nothing.
                self.add_error(f"{prefix}_country", f"Give the {heading} address's country.")
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
