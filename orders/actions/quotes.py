"""Quote links (issue 8; nue-api.md §2.5): a magic link to Nue's rendering of a draft's quote,
made by a member who may prepare orders or the customer's account manager, and remembered with
the figures it quoted so a page can say when the draft has changed since."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from orders.actions.approvals import figures_of
from orders.models import QuoteLink
from orders.nue import NueConflict, Order
from orders.scope import CustomerNue
from portal.models import User

# Quote templates are configured in the Nue account and no API lists them (nue-api.md §2.3);
# these are the emulator's. A deployment names its own in settings.NUE_QUOTE_TEMPLATES.
DEFAULT_QUOTE_TEMPLATES = {
    "custom-branded-template": "Branded quote",
    "compact": "Compact quote",
}


def quote_templates() -> dict[str, str]:
    """The quote layouts Nue may render, by template id."""
    return dict(getattr(settings, "NUE_QUOTE_TEMPLATES", DEFAULT_QUOTE_TEMPLATES))


def quote_link_for(order_id: str) -> QuoteLink | None:
    return QuoteLink.objects.select_related("generated_by").filter(order_id=order_id).first()


def generate_quote_link(
    nue: CustomerNue,
    order: Order,
    *,
    user: User,
    template_id: str | None = None,
    agent: User | None = None,
) -> QuoteLink:
    """Ask Nue for a fresh magic link to the draft's quote and remember it with its figures.

    `agent`: the support agent impersonating `user`."""
    if not order.is_draft:
        raise NueConflict("Quote links are made for drafts only.")
    link = nue.magic_link(order.id, template_id=template_id)
    quote, _ = QuoteLink.objects.update_or_create(
        order_id=order.id,
        defaults={
            "customer": nue.account,
            "template_id": template_id or "",
            "url": link.url,
            "figures": figures_of(order),
            "generated_by": user,
            "generated_via": agent,
            "generated_at": timezone.now(),
        },
    )
    return quote
