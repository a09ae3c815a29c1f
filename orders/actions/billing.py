"""Who is billed and shipped to: the customer's contacts and addresses as Nue holds them, and
which address an order's tax follows (issue 24, item 6)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from django.utils.translation import gettext as _

from orders.actions import cards, settled
from orders.fanout import fetch_alongside
from orders.nue import Address, Customer, NueError, Order, Subscription
from orders.scope import CustomerNue


@dataclass(frozen=True)
class BillingReads:
    """The billing page's reads: the customer with its contacts, and what Nue charges each
    subscription with (or the NueError that read failed with: it costs the card section its
    list, not the page)."""

    customer: Customer
    carried: list[tuple[Subscription, str]] | NueError


def page_reads(nue: CustomerNue) -> BillingReads:
    """Both of the billing page's Nue reads at once (orders.fanout): the customer on a worker,
    the subscriptions here, with the database reads that name their cards."""
    carried, reads = fetch_alongside(settled(partial(cards.carried, nue)), customer=nue.customer)
    return BillingReads(reads["customer"], carried)


@dataclass(frozen=True)
class TaxAddress:
    """The shipping address tax follows, and whose it is (a contact's name, or the company's)."""

    whose: str
    address: Address
    role: str  # "ship-to contact", "bill-to contact", "company"


def tax_address(
    customer: Customer, bill_to_id: str | None = None, ship_to_id: str | None = None
) -> TaxAddress | None:
    """The address Nue taxes an order from; None when there is none (Nue then warns, untaxed).

    Tax follows the shipping address (nue-api.md §4): the order's, else the customer's
    (new-orders.txt, Calculating Tax). The order's is its ship-to contact's; the bill-to
    contact's comes before the customer's. Nue does not spell out those two steps; they are the
    emulator's rule (nue_emulator/actions/drafts.py tax_address), and the page says Nue's own
    warning when the draft comes back untaxed.
    """
    candidates = (
        (customer.contact(ship_to_id), _("ship-to contact")),
        (customer.contact(bill_to_id), _("bill-to contact")),
    )
    for contact, role in candidates:
        if contact is not None and _taxable(contact.shipping_address):
            assert contact.shipping_address is not None
            return TaxAddress(contact.name, contact.shipping_address, role)
    if _taxable(customer.shipping_address):
        assert customer.shipping_address is not None
        return TaxAddress(customer.name, customer.shipping_address, "company")
    return None


def _taxable(address: Address | None) -> bool:
    """A tax rate needs the country (nue_emulator/actions/new_orders.shipping_address)."""
    return address is not None and bool(address.country)


@dataclass(frozen=True)
class OrderContacts:
    """The bill-to and ship-to an order carries, by name where Nue lists the contact."""

    bill_to: str | None
    ship_to: str | None


def order_contacts(nue: CustomerNue, order: Order) -> OrderContacts | None:
    """None when Nue gives the order neither (the customer is billed): no read is made then."""
    if order.bill_to_contact_id is None and order.ship_to_contact_id is None:
        return None
    customer = nue.customer()

    def named(contact_id: str | None) -> str | None:
        if contact_id is None:
            return None
        contact = customer.contact(contact_id)
        if contact is None:
            return _("contact %(id)s") % {"id": contact_id}
        return f"{contact.name} ({contact.email})"

    return OrderContacts(
        bill_to=named(order.bill_to_contact_id),
        ship_to=named(order.ship_to_contact_id),
    )
