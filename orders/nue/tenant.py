"""Tenant-level reads for server-side account mapping (`tenant()`); never handed to a view."""

from __future__ import annotations

from collections.abc import Sequence

from orders.nue.models import Contact, Customer
from orders.nue.requests import CUSTOMER_ID, _check_id
from orders.nue.transport import NueClient, _json_list_param, _list_data, get_client


class Tenant:
    """Unscoped reads for server-side account mapping only; never handed to a view."""

    def __init__(self, client: NueClient | None = None) -> None:
        self._client = client

    @property
    def client(self) -> NueClient:
        return self._client or get_client()

    def contacts_by_email(self, emails: Sequence[str]) -> list[Contact]:
        # GET /contacts?emails=[...]
        if not emails:
            return []
        envelope = self.client.get("/contacts", {"emails": _json_list_param(emails)})
        return [Contact.parse(raw) for raw in _list_data(envelope, "contacts")]

    def customers(self, ids: Sequence[str]) -> list[Customer]:
        # GET /customers?customerIds=[...]
        for customer_id in ids:
            _check_id(customer_id, CUSTOMER_ID)
        if not ids:
            return []
        envelope = self.client.get("/customers", {"customerIds": _json_list_param(ids)})
        return [Customer.parse(raw) for raw in _list_data(envelope, "customers")]


def tenant() -> Tenant:
    return Tenant()
