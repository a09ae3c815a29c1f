"""What every view of the orders app shares: whether to answer with a partial, where to send the
browser next, the acting customer's Nue scope, and activating a draft for a request (and the
status its refusal answers with)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from orders import stripe_gateway
from orders.actions.activation import Outcome, activate_draft
from orders.http import CustomerRequest
from orders.policy import Decision, Verdict, can_prepare
from orders.scope import CustomerNue
from portal.audit import pending
from portal.http import is_partial
from portal.models import AuditKind, CustomerAccount


def go(request: HttpRequest, to: str, *args: object) -> HttpResponse:
    """Send the browser to `to` (a URL, or a URL name and its arguments) after a write.

    Never a 302 to HTMX: it would swap the next page into the form's region; HTMX is told to
    load the page instead.
    """
    url = resolve_url(to, *args)
    if is_partial(request):
        return HttpResponseClientRedirect(url)
    return redirect(url)


def customer_scope(request: CustomerRequest, *, buyer: bool = False) -> CustomerNue:
    """The acting customer's Nue scope; without one (staff, no membership chosen) the customer
    pages do not exist (404). `buyer`: for a member whose role may prepare orders (403 else)."""
    if request.nue is None:
        raise Http404("No customer account is selected.")
    if buyer and not can_prepare(request.membership):
        raise PermissionDenied(_("Your role may not buy for this account."))
    return request.nue


def activate(
    request: CustomerRequest,
    scope: CustomerNue,
    order_id: str,
    *,
    customer: CustomerAccount | None = None,
    **options: Any,
) -> Outcome:
    """orders.actions.activation.activate_draft, the one path that activates a draft, for this
    request: its audit events name who acts and from where (`customer` when the person acting is
    not the customer's member, an account manager). Once the ledger holds them, the impersonation
    middleware need not record the request as a plain step as well."""
    audit = pending(request, AuditKind.ACTIVATION, customer=customer)
    outcome = activate_draft(scope, order_id, audit=audit, **options)
    if outcome.audited:
        request.audit_recorded = True  # type: ignore[attr-defined]
    return outcome


def refusal_status(verdict: Verdict) -> int:
    """The status of a page that says why orders.policy refused an activation: 409 where the
    draft is out of date (expired, or Nue has scheduled a change since), 403 where the person
    may not activate it."""
    return 409 if verdict.decision in (Decision.EXPIRED, Decision.SCHEDULED) else 403


def action_audit(request: HttpRequest) -> dict[str, Any]:
    """This request's audit event as portal.audit.pending describes it, for an action that
    writes the events of what it did once that happened (a draft created)."""
    return pending(request, AuditKind.ACTION)


def audited(request: HttpRequest) -> None:
    """The action wrote this request's audit event: the impersonation middleware need not
    record the request as a plain step as well."""
    request.audit_recorded = True  # type: ignore[attr-defined]


def with_stripe_js(response: HttpResponse) -> HttpResponse:
    """A page that loads Stripe.js: its CSP, and no other page's, names Stripe's hosts."""
    response._csp_update = stripe_gateway.csp_sources()  # type: ignore[attr-defined]
    return response
