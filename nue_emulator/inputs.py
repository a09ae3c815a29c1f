"""Validation of request bodies field by field, with the JSON path of the offending field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from nue_emulator.api import invalid

MAX_QUANTITY = 1_000_000
MAX_TERM_MONTHS = 120


def obj(value: Any, field: str, *, required: bool = True) -> dict[str, Any] | None:
    if value is None:
        if required:
            raise invalid(field, "is required.")
        return None
    if not isinstance(value, dict):
        raise invalid(field, "must be an object.")
    return value


def body_obj(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid("body", "must be a JSON object.")
    return value


def items(value: Any, field: str, *, required: bool = True, max_items: int = 200) -> list[Any]:
    if value is None:
        if required:
            raise invalid(field, "is required.")
        return []
    if not isinstance(value, list):
        raise invalid(field, "must be an array.")
    if required and not value:
        raise invalid(field, "must not be empty.")
    if len(value) > max_items:
        raise invalid(field, f"may hold at most {max_items} items.")
    return value


def text(value: Any, field: str, *, required: bool = True, max_length: int = 255) -> str | None:
    if value is None or value == "":
        if required:
            raise invalid(field, "is required.")
        return None
    if not isinstance(value, str):
        raise invalid(field, "must be a string.")
    if len(value) > max_length:
        raise invalid(field, f"must be at most {max_length} characters.")
    return value


def required_text(value: Any, field: str, *, max_length: int = 255) -> str:
    result = text(value, field, max_length=max_length)
    assert result is not None
    return result


def integer(
    value: Any,
    field: str,
    *,
    required: bool = True,
    minimum: int | None = 1,
    maximum: int = MAX_QUANTITY,
    nonzero: bool = False,
) -> int | None:
    if value is None:
        if required:
            raise invalid(field, "is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        raise invalid(field, "must be a whole number.")
    if isinstance(value, Decimal | float):
        if value != int(value):
            raise invalid(field, "must be a whole number.")
        value = int(value)
    if minimum is not None and value < minimum:
        raise invalid(field, f"must be at least {minimum}.")
    if value > maximum or value < -maximum:
        raise invalid(field, f"must be at most {maximum}.")
    if nonzero and value == 0:
        raise invalid(field, "must not be zero.")
    return value


def required_int(value: Any, field: str, **kwargs: Any) -> int:
    result = integer(value, field, **kwargs)
    assert result is not None
    return result


def day(value: Any, field: str, *, required: bool = True) -> date | None:
    if value is None or value == "":
        if required:
            raise invalid(field, "is required (YYYY-MM-DD).")
        return None
    if not isinstance(value, str):
        raise invalid(field, "must be a date string YYYY-MM-DD.")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise invalid(field, f"{value!r} is not a valid date (YYYY-MM-DD).") from None
    if len(value) != 10:
        raise invalid(field, f"{value!r} is not a valid date (YYYY-MM-DD).")
    if not 2000 <= parsed.year <= 2100:
        raise invalid(field, "must be between the years 2000 and 2100.")
    return parsed


def required_day(value: Any, field: str) -> date:
    result = day(value, field)
    assert result is not None
    return result


def flag(value: Any, field: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid(field, "must be true or false.")
    return value


def strings(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise invalid(field, "must be an array of strings.")
    return value


def _of_type(value: Any, kind: str) -> bool:
    if kind == "Checkbox":
        return isinstance(value, bool)
    if kind == "Number":
        return isinstance(value, int | float | Decimal) and not isinstance(value, bool)
    if kind == "Date":
        if not isinstance(value, str) or len(value) != 10:
            return False
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return True
    return isinstance(value, str) and len(value) <= 255


def custom_fields(
    source: dict[str, Any], configured: Mapping[str, str], path: str = ""
) -> dict[str, Any]:
    """The custom fields (`Something__c`) of one object, as the tenant configured them: they
    "must be synced via the business objects page", "field names must match exactly as
    configured" and "invalid custom field names will result in API validation errors"
    (create-draft-orders.txt); a value must be of its field's data type (or null).

    `configured` maps each API name to its type: Text, Number, Checkbox or Date."""
    found = {}
    for key, value in source.items():
        if not key.endswith("__c"):
            continue
        field = f"{path}.{key}" if path else key
        kind = configured.get(key)
        if kind is None:
            raise invalid(
                field,
                f"{key} is not a custom field configured on this object"
                f" ({', '.join(sorted(configured)) or 'none is'} configured).",
                "INVALID_CUSTOM_FIELD",
            )
        if value is not None and not _of_type(value, kind):
            raise invalid(field, f"{key} takes a {kind} value.", "INVALID_CUSTOM_FIELD")
        found[key] = value
    return found
