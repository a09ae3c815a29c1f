"""The billing page: who the company is billed and shipped to as Nue holds it, which address tax
follows, and (admins) a new contact (issue 24, item 6). Its sections are separate partials, so
other billing sections (a card on file) sit beside them."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from orders.actions.billing import page_reads, tax_address
from orders.forms.billing import ContactForm
from orders.http import CustomerRequest
from orders.nue import NueError
from orders.policy import can_add_contact, can_see_billing
from orders.scope import CustomerNue
from orders.views.cards import card_section, with_stripe_csp
from orders.views.common import customer_scope, go, is_partial
from orders.views.errors import add_form_errors
from portal.audit import record
from portal.models import AuditKind


def _billing_scope(request: CustomerRequest) -> CustomerNue:
    nue = customer_scope(request)
    if not can_see_billing(request.membership):
        raise PermissionDenied(_("Your role may not see billing."))
    return nue


def _page(
    request: CustomerRequest, nue: CustomerNue, form: ContactForm | None, status: int = 200
) -> HttpResponse:
    if is_partial(request):
        customer, section = nue.customer(), None
    else:
        reads = page_reads(nue)
        customer, section = reads.customer, card_section(request, nue, carried=reads.carried)
    may_add = can_add_contact(request.membership)
    ctx = {
        "customer": customer,
        "default_tax_address": tax_address(customer),
        "may_add_contact": may_add,
        "contact_form": (form or ContactForm()) if may_add else None,
        "omitted": nue.omitted("contacts"),
        "section": section,
    }
    if section is None:
        return render(request, "orders/billing.html#billing-contacts", ctx, status=status)
    return with_stripe_csp(render(request, "orders/billing.html", ctx, status=status), section)


@require_GET
@vary_on_headers("HX-Request")
def billing(request: CustomerRequest) -> HttpResponse:
    return _page(request, _billing_scope(request), None)


@require_POST
@vary_on_headers("HX-Request")
def billing_contact_add(request: CustomerRequest) -> HttpResponse:
    nue = _billing_scope(request)
    if not can_add_contact(request.membership):
        raise PermissionDenied(_("Only an admin of the account may add a contact."))
    form = ContactForm(request.POST)
    if not form.is_valid():
        return _page(request, nue, form, status=422)
    try:
        contact = nue.add_contact(form.contact_request())
    except NueError as error:
        # Nue's refusal (an email already in use) goes onto the form, with what was typed.
        fields = {f"[].{name}": name for name in form.fields}
        return _page(request, nue, form, status=add_form_errors(form, error, fields))
    record(
        request,
        AuditKind.ACTION,
        action="contact_added",
        contact_id=contact.id,
        contact_email=contact.email,
    )
    messages.success(
        request,
        _("%(name)s (%(email)s) was added to your contacts.")
        % {"name": contact.name, "email": contact.email},
    )
    return go(request, "orders:billing")
