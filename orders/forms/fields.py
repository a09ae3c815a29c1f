"""Form fields that accept only what reads the same on the page as it is stored and sent."""

from __future__ import annotations

import unicodedata
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

# Unicode's control (Cc) and format (Cf) categories: bidi overrides and isolates (U+202A-202E,
# U+2066-2069), zero-width characters, and the like.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf"})


def no_hidden_characters(value: str) -> None:
    """A bidi override makes "PO-1234" display reversed while Nue stores and invoices it as
    typed: what a customer reads on an invoice must be what was entered."""
    if any(unicodedata.category(ch) in HIDDEN_CATEGORIES for ch in value):
        raise ValidationError(
            gettext_lazy("Remove invisible or direction-changing characters."),
            code="hidden_characters",
        )


class WholeNumberField(forms.IntegerField):
    """An integer written with the digits 0-9. Python reads any script's digits (Arabic-Indic,
    fullwidth) as a number, which would order a quantity the customer did not see as one."""

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, str) and not value.strip().isascii():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class PlainTextField(forms.CharField):
    default_validators = [no_hidden_characters]
