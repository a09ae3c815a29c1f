"""Business steps of the emulator: price and draft orders, change orders, activate, discard.

Views validate the transport (key, JSON, query string); everything about the request body and the
tenant's state is checked here, before anything is written, so a rejected request changes nothing.

One module a job: new_orders, change_orders (asset_changes prices each change), activation,
invoicing, payments, subscriptions, contacts; drafts, lines and common are what they share. The
names below are the ones views.py and history.py call as `actions.<name>`.
"""

from nue_emulator.actions.activation import activate, discard, order_or_404
from nue_emulator.actions.asset_changes import relationships
from nue_emulator.actions.change_orders import (
    change_response,
    create_change_order,
    price_change_order,
)
from nue_emulator.actions.contacts import create_contacts
from nue_emulator.actions.drafts import draft_response
from nue_emulator.actions.invoicing import generate_invoices
from nue_emulator.actions.new_orders import create_draft, price_new_order
from nue_emulator.actions.payments import pay_invoices
from nue_emulator.actions.subscriptions import present_subscription, update_subscription

__all__ = [
    "activate",
    "change_response",
    "create_change_order",
    "create_contacts",
    "create_draft",
    "discard",
    "draft_response",
    "generate_invoices",
    "order_or_404",
    "pay_invoices",
    "present_subscription",
    "price_change_order",
    "price_new_order",
    "relationships",
    "update_subscription",
]
