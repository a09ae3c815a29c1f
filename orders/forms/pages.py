"""Filters of the customer pages: the order history (also its CSV export) and the invoice list.

Filters arrive in the query string, so a filtered list is a link that can be shared and the back
button restores it. Each form hands its valid values to the action's filters, which search and
sort the records: orders.actions.history.OrderFilters, orders.actions.invoices.InvoiceFilters.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy

from orders.actions import invoices
from orders.actions.history import DESCENDING_FIRST, SORTS, OrderFilters
from portal.forms import LocalDateField

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 25


class ListFilterForm(forms.Form):
    """A list's page size, sort and page, as every filtered list of the portal takes them.
    A subclass names its sorts (`sorts`, `descending_first`) and adds its filters."""

    sorts: tuple[str, ...] = ()
    descending_first: tuple[str, ...] = ()
    default_sort = "date"

    per_page = forms.TypedChoiceField(
        label=gettext_lazy("Per page"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[(size, str(size)) for size in PAGE_SIZES],
    )
    sort = forms.ChoiceField(required=False, choices=[], widget=forms.HiddenInput)
    dir = forms.ChoiceField(
        required=False, choices=[("asc", "asc"), ("desc", "desc")], widget=forms.HiddenInput
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sort"].choices = [(key, key) for key in self.sorts]  # type: ignore[attr-defined]

    def value(self, name: str) -> Any:
        """A filter's valid value; an invalid one (already reported on the form) is ignored."""
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        return self.cleaned_data.get(name) if name not in self.errors else None

    def ordering(self) -> tuple[str, bool]:
        """The sort key and whether it runs descending (the column's natural way unless asked)."""
        sort = self.value("sort") or self.default_sort
        chosen = self.value("dir")
        return sort, chosen == "desc" if chosen else sort in self.descending_first


class OrderFilterForm(ListFilterForm):
    sorts = tuple(SORTS)
    descending_first = DESCENDING_FIRST

    q = forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("Order number, name, product or PO number."),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[
            ("", gettext_lazy("Any status")),
            ("draft", gettext_lazy("Draft")),
            ("activated", gettext_lazy("Activated")),
            ("canceled", gettext_lazy("Canceled")),
        ],
    )
    date_from = LocalDateField(
        label=gettext_lazy("Placed from"),
        required=False,
    )
    date_to = LocalDateField(
        label=gettext_lazy("Placed until"),
        required=False,
        help_text=gettext_lazy("Drafts count from the day they were created."),
    )
    field_order = ("q", "status", "date_from", "date_to", "per_page")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", gettext_lazy("Choose a day on or after the “from” day."))
        return cleaned

    def filters(self) -> OrderFilters:
        """The valid filters, search and sort; an invalid one is left out (and reported)."""
        sort, descending = self.ordering()
        return OrderFilters(
            q=self.value("q") or "",
            status=self.value("status") or None,
            date_from=self.value("date_from"),
            date_to=self.value("date_to"),
            sort=sort,
            descending=descending,
        )


class InvoiceFilterForm(ListFilterForm):
    sorts = tuple(invoices.SORTS)
    descending_first = invoices.DESCENDING_FIRST

    q = forms.CharField(
        label=gettext_lazy("Invoice number"),
        required=False,
        max_length=40,
        help_text=gettext_lazy("All or part of it, such as INV-00000012 or 12."),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    show = forms.ChoiceField(
        label=gettext_lazy("Show"), required=False, choices=list(invoices.SHOWS.items())
    )
    field_order = ("q", "show", "per_page")

    def filters(self, today: date) -> invoices.InvoiceFilters:
        sort, descending = self.ordering()
        return invoices.InvoiceFilters(
            today=today,
            q=self.value("q") or "",
            show=self.value("show") or "all",
            sort=sort,
            descending=descending,
        )


def reportable_errors(form: forms.Form) -> bool:
    """Errors the user can see; a tampered hidden value (page=abc) is just ignored."""
    return any(name == "__all__" or not form[name].is_hidden for name in form.errors)


def with_defaults(params: QueryDict) -> QueryDict:
    """The query string with the default page size filled in, so the select shows it."""
    data = params.copy()
    if not data.get("per_page"):
        data["per_page"] = str(DEFAULT_PAGE_SIZE)
    return data
