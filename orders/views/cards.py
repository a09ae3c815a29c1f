"""The billing page's card on file (issue 24, items 1 and 3), a section of /billing/ that also
serves alone at /billing/card/: the card Nue charges, and adding or replacing it with Stripe
Elements and a SetupIntent, so the card number goes from the browser
to Stripe and never through the portal. What it does is orders.actions.cards; who may change the
card is orders.policy.can_manage_card (viewers read only)."""

from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from orders import stripe_gateway as gateway
from orders.actions import cards, settled
from orders.http import CustomerRequest
from orders.nue import NueError, Subscription
from orders.policy import can_manage_card, can_set_card_policy
from orders.scope import CustomerNue
from orders.stripe_gateway import StripeError
from orders.views.common import customer_scope, go, is_partial, with_stripe_js
from orders.views.errors import panel_error
from portal.audit import record
from portal.impersonation import money_moving
from portal.models import AuditKind


class SaveCardForm(forms.Form):
    setup_intent = forms.RegexField(
        regex=r"^seti_[A-Za-z0-9_]{1,200}$",
        error_messages={
            "required": gettext_lazy("Enter the card's details in the card field first."),
            "invalid": gettext_lazy("Enter the card's details in the card field first."),
        },
    )
    consent = forms.BooleanField(
        error_messages={
            "required": gettext_lazy("Agree to the card being saved and charged to save it.")
        }
    )


class CardPolicyForm(forms.Form):
    buyers_manage_cards = forms.BooleanField(
        label=gettext_lazy("Buyers of this account may add or replace the card"), required=False
    )


def card_section(
    request: CustomerRequest,
    nue: CustomerNue,
    form: SaveCardForm | None = None,
    carried: list[tuple[Subscription, str]] | NueError | None = None,
) -> dict[str, Any]:
    """What the card section shows: the card on file, what Nue charges each subscription with
    (a failing Nue read costs that list alone: the card is Stripe's), and whether this member
    may change the card."""
    account = nue.account
    may_manage = can_manage_card(request.membership)
    if carried is None:  # not read already, beside the page's other reads
        carried = settled(partial(cards.carried, nue))()
    error = carried if isinstance(carried, NueError) else None
    return {
        "card": cards.card_on_file(account),
        "carried": [] if error else carried,
        "carried_error": panel_error(error) if error else None,
        "may_manage": may_manage and gateway.configured(),
        "consent": cards.consent_text(account),
        "publishable_key": gateway.publishable_key(),
        "stripe_js": gateway.js_url(),
        "form": form,
        "policy_form": CardPolicyForm(initial={"buyers_manage_cards": account.buyers_manage_cards})
        if can_set_card_policy(request.membership)
        else None,
        "who_may": _("Only an admin of this account may add or replace the card.")
        if not account.buyers_manage_cards
        else _("Only an admin or a buyer of this account may add or replace the card."),
    }


def with_stripe_csp(response: HttpResponse, section: dict[str, Any]) -> HttpResponse:
    """The card section loads Stripe.js only for a member who may change the card."""
    return with_stripe_js(response) if section["may_manage"] else response


def _card_scope(request: CustomerRequest) -> CustomerNue:
    """The acting customer's scope, for a member whose role may change the card (403 else)."""
    nue = customer_scope(request)
    if not can_manage_card(request.membership):
        raise PermissionDenied(_("Your role may not change the card on file."))
    return nue


@require_GET
@vary_on_headers("HX-Request")
def billing_card(request: CustomerRequest) -> HttpResponse:
    nue = customer_scope(request)
    section = card_section(request, nue)
    template = "orders/billing/_card.html" if is_partial(request) else "orders/billing/card.html"
    return with_stripe_csp(render(request, template, {"section": section}), section)


@require_POST
@money_moving
def billing_card_setup(request: CustomerRequest) -> HttpResponse:
    """A SetupIntent's client secret for Stripe.js to confirm the card with (JSON)."""
    nue = _card_scope(request)
    try:
        secret = cards.start_setup(nue.account)
    except StripeError as error:
        return JsonResponse({"error": error.message}, status=502)
    return JsonResponse({"clientSecret": secret})


@require_POST
@money_moving
@vary_on_headers("HX-Request")
def billing_card_save(request: CustomerRequest) -> HttpResponse:
    """Keep the card Stripe.js confirmed as the card on file, with the customer's consent."""
    nue = _card_scope(request)
    form = SaveCardForm(request.POST)
    if form.is_valid():
        try:
            card = cards.finish_setup(nue.account, form.cleaned_data["setup_intent"])
        except StripeError as error:
            form.add_error(None, error.message)
        else:
            record(
                request,
                AuditKind.ACTION,
                action="card_saved",
                card=card.label,
                expiry=card.expiry,
                consent=cards.consent_text(nue.account),
            )
            messages.success(
                request,
                _("%(card)s is saved: Nue charges it for what you pay by card.")
                % {"card": card.label},
            )
            return go(request, "orders:billing")
    section = card_section(request, nue, form)
    template = "orders/billing/_card.html" if is_partial(request) else "orders/billing/card.html"
    response = render(request, template, {"section": section}, status=422)
    return with_stripe_csp(response, section)


@require_POST
@vary_on_headers("HX-Request")
def billing_card_policy(request: CustomerRequest) -> HttpResponse:
    """An admin lets the account's buyers replace the card, or stops them (audited)."""
    nue = customer_scope(request)
    if not can_set_card_policy(request.membership):
        raise PermissionDenied(_("Only an admin of the account may decide who changes the card."))
    form = CardPolicyForm(request.POST)
    form.is_valid()  # one optional checkbox: always valid
    allowed = bool(form.cleaned_data.get("buyers_manage_cards"))
    if cards.set_buyers_manage_cards(nue.account, allowed):
        record(request, AuditKind.ACTION, action="card_policy_changed", buyers_manage_cards=allowed)
    messages.success(
        request,
        _("Buyers may now add or replace the card.")
        if allowed
        else _("Only admins may now add or replace the card."),
    )
    return go(request, "orders:billing")
