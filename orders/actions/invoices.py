"""A customer's invoices as the invoice list shows them (which are open, which overdue, searched
and sorted) and how an open one is paid, from what Nue says of it and what the tenant configured.

Every figure is Nue's: a balance is the invoice's `balance`, never worked out from payments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy

from orders.actions.cards import PAYMENT_LINKS
from orders.listing import sorted_by
from orders.nue import Invoice
from orders.scope import CustomerNue
from portal.models import CustomerAccount, User

# Payment statuses (nue-api.md §3.5) under which nothing is left to pay, whatever else is sent.
SETTLED = frozenset({"paid", "canceled", "creditback", "applied", "refunded", "writtenoff"})
# What the list may show: every invoice, those with a balance due, those past their due date.
SHOWS = {
    "all": gettext_lazy("All invoices"),
    "unpaid": gettext_lazy("Unpaid"),
    "overdue": gettext_lazy("Overdue"),
}
SORTS: dict[str, Callable[[Invoice], Any]] = {
    "number": lambda i: i.name,
    "date": lambda i: i.invoice_date,
    "due": lambda i: i.due_date,
    "amount": lambda i: i.amount,
    "balance": lambda i: i.balance,
}
DESCENDING_FIRST = ("number", "date", "due", "amount", "balance")
# An invoice read with the orders that produced it (nue-api.md §2.8, §3.5).
INCLUDES = ("orders",)


def is_open(invoice: Invoice) -> bool:
    """Nue says the invoice is issued (Active, §3.5) and a balance is still due on it: a draft
    is not payable yet, and a settled payment status is never offered payment."""
    return (
        invoice.status == "Active"
        and invoice.balance is not None
        and invoice.balance > 0
        and (invoice.payment_status or "").lower() not in SETTLED
    )


def is_overdue(invoice: Invoice, today: date) -> bool:
    """Open, and its due date is before the customer's today."""
    return is_open(invoice) and invoice.due_date is not None and invoice.due_date < today


@dataclass(frozen=True)
class InvoiceFilters:
    """How the invoice list is searched, filtered and sorted (Nue documents neither search nor
    sort on a customer's invoices, nue-api.md §2.8, so it happens here, on the typed invoices)."""

    today: date
    q: str = ""
    show: str = "all"
    sort: str = "date"
    descending: bool = True

    def arrange(self, invoices: Sequence[Invoice]) -> list[Invoice]:
        q = self.q.strip().casefold()
        kept = [
            i
            for i in invoices
            if (not q or q in (i.name or "").casefold())
            and (self.show != "unpaid" or is_open(i))
            and (self.show != "overdue" or is_overdue(i, self.today))
        ]
        return sorted_by(kept, SORTS[self.sort], self.descending)


def invoice_list(nue: CustomerNue, filters: InvoiceFilters) -> list[Invoice]:
    return filters.arrange(nue.every_invoice(includes=INCLUDES))


def invoice(nue: CustomerNue, invoice_id: str) -> Invoice:
    return nue.invoice(invoice_id, includes=INCLUDES)


@dataclass(frozen=True)
class InvoiceRow:
    """An invoice as a page shows it: whether it is open or overdue and where Nue lets it be
    paid."""

    invoice: Invoice
    open: bool
    overdue: bool

    @classmethod
    def of(cls, invoice: Invoice, today: date) -> InvoiceRow:
        return cls(invoice, is_open(invoice), is_overdue(invoice, today))

    @property
    def payment_url(self) -> str | None:
        """Nue's hosted payment page for the invoice (Nue Payment Links, nue-api.md §2.8), only
        while it is open: a paid invoice's old link is never offered."""
        return self.invoice.payment_url if self.open else None

    @property
    def portal_charges(self) -> bool:
        """Whether the portal charges the card on file for it: open, and not where Nue
        collects on its own payment page (payment links, and Nue gave the invoice's page)."""
        return self.open and portal_collects(self.invoice.payment_url)


def portal_collects(payment_url: str | None) -> bool:
    return not (settings.NUE_COLLECTION_MODE == PAYMENT_LINKS and payment_url)


@dataclass(frozen=True)
class HowToPay:
    """What an open invoice without Nue's payment page tells the customer: the tenant's
    remittance details (PORTAL_REMITTANCE_DETAILS) and who manages the account. Nue documents
    no endpoint through which a customer pays an invoice, so none is invented."""

    remittance: str
    managers: tuple[User, ...]  # the account managers whose book holds the customer


def how_to_pay(account: CustomerAccount) -> HowToPay:
    managers = account.managers.filter(is_active=True).order_by("first_name", "email")
    return HowToPay(
        remittance=settings.PORTAL_REMITTANCE_DETAILS.strip(),
        managers=tuple(managers),
    )
