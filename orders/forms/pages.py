"""Filters of the customer pages: the order history (also its CSV export) and the invoice list.

Filters arrive in the query string, so a filtered list is a link that can be shared and the back
button restores it. The order history's form hands its valid values to
orders.actions.history.OrderFilters, which searches and sorts the orders.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict

from orders.actions.history import DESCENDING_FIRST, SORTS, OrderFilters

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 25


class OrderFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        help_text="Order number, name, product or PO number.",
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[
            ("", "Any status"),
            ("draft", "Draft"),
            ("activated", "Activated"),
            ("canceled", "Canceled"),
        ],
    )
    date_from = forms.DateField(
        label="Placed from",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = forms.DateField(
        label="Placed until",
        required=False,
        help_text="Drafts count from the day they were created.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    per_page = forms.TypedChoiceField(
        label="Per page",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[(size, str(size)) for size in PAGE_SIZES],
    )
    sort = forms.ChoiceField(
        required=False, choices=[(key, key) for key in SORTS], widget=forms.HiddenInput
    )
    dir = forms.ChoiceField(
        required=False, choices=[("asc", "asc"), ("desc", "desc")], widget=forms.HiddenInput
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "Choose a day on or after the “from” day.")
        return cleaned

    def value(self, name: str) -> Any:
        """A filter's valid value; an invalid one (already reported on the form) is ignored."""
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        return self.cleaned_data.get(name) if name not in self.errors else None

    def filters(self) -> OrderFilters:
        """The valid filters, search and sort; an invalid one is left out (and reported)."""
        sort = self.value("sort") or "date"
        chosen = self.value("dir")
        return OrderFilters(
            q=self.value("q") or "",
            status=self.value("status") or None,
            date_from=self.value("date_from"),
            date_to=self.value("date_to"),
            sort=sort,
            descending=chosen == "desc" if chosen else sort in DESCENDING_FIRST,
        )


class InvoiceFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Any status"), ("Active", "Issued"), ("Draft", "Draft")],
    )
    per_page = forms.TypedChoiceField(
        label="Per page",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[(size, str(size)) for size in PAGE_SIZES],
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def value(self, name: str) -> Any:
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        return self.cleaned_data.get(name) if name not in self.errors else None


def reportable_errors(form: forms.Form) -> bool:
    """Errors the user can see; a tampered hidden value (page=abc) is just ignored."""
    return any(name == "__all__" or not form[name].is_hidden for name in form.errors)


def with_defaults(params: QueryDict) -> QueryDict:
    """The query string with the default page size filled in, so the select shows it."""
    data = params.copy()
    if not data.get("per_page"):
        data["per_page"] = str(DEFAULT_PAGE_SIZE)
    return data
