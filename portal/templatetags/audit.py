"""An audit event's details as (label, text) pairs, never as a dict:
`{% for label, text in event.details|audit_details %}`. `customer_audit_details` leaves out what
only support reads (portal.audit.INTERNAL_DETAILS)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

from portal.audit import detail_fields

register = template.Library()


@register.filter
def audit_details(details: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    return detail_fields(details)


@register.filter
def customer_audit_details(details: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    return detail_fields(details, for_customer=True)
