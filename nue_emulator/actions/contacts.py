"""`POST /customers/{id}/contacts`: new contacts of a customer, emails unique across the tenant.

Separate because contacts share nothing with orders or subscriptions but the ids and timestamps
of actions/common.py.
"""

from __future__ import annotations

from typing import Any

from nue_emulator import inputs
from nue_emulator.actions.common import new_id, now_iso
from nue_emulator.api import ApiError, invalid
from nue_emulator.models import Contact, Customer

MAX_CONTACTS_PER_REQUEST = 200


def create_contacts(customer: Customer, body: Any) -> list[dict[str, Any]]:
    """`POST /customers/{id}/contacts`: an array of contacts; emails are unique tenant-wide."""
    raw_contacts = inputs.items(body, "body", max_items=MAX_CONTACTS_PER_REQUEST)
    created = []
    seen: set[str] = set()
    for index, raw_value in enumerate(raw_contacts):
        path = f"[{index}]"
        raw = inputs.obj(raw_value, path)
        assert raw is not None
        first = inputs.required_text(raw.get("firstName"), f"{path}.firstName", max_length=40)
        last = inputs.required_text(raw.get("lastName"), f"{path}.lastName", max_length=80)
        name = inputs.text(raw.get("name"), f"{path}.name", required=False) or f"{first} {last}"
        email = inputs.required_text(raw.get("email"), f"{path}.email", max_length=254)
        local, _, domain = email.partition("@")
        if not local or "." not in domain or " " in email:
            raise invalid(f"{path}.email", f"{email!r} is not a valid email address.")
        key = email.lower()
        if key in seen or Contact.objects.filter(email=key).exists():
            raise ApiError(
                400,
                "DUPLICATE_EMAIL",
                f"A contact with email {email} already exists.",
                [{"field": f"{path}.email", "message": "already in use"}],
            )
        seen.add(key)
        stamp = now_iso()
        contact_id = new_id()
        doc = {
            "id": contact_id,
            "customerId": customer.id,
            "name": name,
            "firstName": first,
            "lastName": last,
            **{
                field_name: inputs.text(raw.get(field_name), f"{path}.{field_name}", required=False)
                for field_name in CONTACT_FIELDS
            },
            "email": email,
            "externalId": None,
            "createdDate": stamp,
            "lastModifiedDate": stamp,
        }
        Contact.objects.create(id=contact_id, customer=customer, email=key, doc=doc)
        created.append(doc)
    return created


CONTACT_FIELDS = (
    "middleName",
    "suffix",
    "title",
    "phone",
    "mobilePhone",
    "birthday",
    "shippingStreet",
    "shippingCity",
    "shippingState",
    "shippingPostalCode",
    "shippingCountry",
    # nue-api.md §3.7: "shipping address ... (and billing equivalents)".
    "billingStreet",
    "billingCity",
    "billingState",
    "billingPostalCode",
    "billingCountry",
)
