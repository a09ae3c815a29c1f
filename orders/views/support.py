"""The support workspace: look a failure's reference up, the operations whose outcome is open or
failed (with "Check Nue now"), and one customer's timeline.

Linked from /support/ (portal/support_views.py); these need the orders app's records, which the
portal shell may not import. Who may use them and which customers they show are orders.policy's
(`support_reach`): anyone else gets 404, and so does a customer or record outside the agent's
reach, exactly as an unknown one. Every page view is audited (PAGE_VIEWED, with what was asked),
and so is every check of an operation.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from orders.actions import support
from orders.forms.support import LookupForm, OperationFilterForm
from orders.http import CustomerRequest
from orders.models import Operation, RequestFailure
from orders.policy import (
    can_check_operation,
    can_use_support_workspace,
    failures_in_reach,
    operations_in_reach,
    support_reach,
)
from orders.views.common import go, is_partial
from orders.views.errors import panel_error
from portal.audit import record
from portal.models import AuditKind, CustomerAccount, User

OPERATIONS_PAGE_SIZE = 25
TIMELINE_PAGE_SIZE = 30
# A ledger row's result is Nue's answer (an order, its lines): shown whole up to this much.
RESULT_MAX = 4000


def _agent(request: CustomerRequest) -> User:
    """The signed-in support agent; the workspace does not exist for anyone else."""
    if not can_use_support_workspace(request.user):
        raise Http404("No such page.")
    return request.user


def _customer_in_reach(agent: User, account_id: int) -> CustomerAccount:
    return get_object_or_404(support_reach(agent), pk=account_id)


@require_GET
@vary_on_headers("HX-Request")
def support_lookup(request: CustomerRequest) -> HttpResponse:
    agent = _agent(request)
    form = LookupForm(request.GET or None)
    failure: RequestFailure | None = None
    operation: Operation | None = None
    reference = ""
    if form.is_valid():
        reference = form.cleaned_data["reference"]
        failure = (
            failures_in_reach(agent)
            .select_related("customer", "operation", "operation__customer")
            .filter(reference=reference)
            .first()
        )
        operations = operations_in_reach(agent).select_related("customer", "actor")
        if failure is not None and failure.operation is not None:
            operation = operations.filter(pk=failure.operation.pk).first()
        elif failure is None:
            # Kept by the ledger, though no failure was (the portal's database failed with it).
            operation = operations.filter(reference=reference).order_by("-created_at").first()
    found = failure is not None or operation is not None
    customer = failure.customer if failure else operation.customer if operation else None
    record(
        request,
        AuditKind.PAGE_VIEWED,
        customer=customer,
        page="support_lookup",
        reference=reference,
        found=found if reference else None,
    )
    ctx = {
        "form": form,
        "reference": reference,
        "failure": failure,
        "operation": operation,
        "result": _result_text(operation),
        "customer": customer,
    }
    missing = bool(reference) and not found
    status = 404 if missing else 422 if form.errors else 200
    template = "support/lookup.html#lookup" if is_partial(request) else "support/lookup.html"
    return render(request, template, ctx, status=status)


def _result_text(operation: Operation | None) -> str:
    if operation is None or not operation.result:
        return ""
    text = json.dumps(operation.result, indent=2, sort_keys=True, default=str)
    return text if len(text) <= RESULT_MAX else text[:RESULT_MAX] + "\n…"


@require_GET
@vary_on_headers("HX-Request")
def support_operations(request: CustomerRequest) -> HttpResponse:
    agent = _agent(request)
    customers = support_reach(agent)
    form = OperationFilterForm(request.GET or None, customers=customers)
    customer, state = None, ""
    if form.is_valid():
        customer, state = form.cleaned_data["customer"], form.cleaned_data["state"]
    rows = support.operations_needing_attention(
        operations_in_reach(agent), customer=customer, state=state
    )
    page = Paginator(rows, OPERATIONS_PAGE_SIZE).get_page(request.GET.get("page"))
    record(
        request,
        AuditKind.PAGE_VIEWED,
        customer=customer,
        page="support_operations",
        outcome=state or "open or failed",
        page_number=page.number,
    )
    query = request.GET.copy()
    query.pop("page", None)
    ctx = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "back": request.get_full_path(),
    }
    template = (
        "support/operations.html#operations" if is_partial(request) else "support/operations.html"
    )
    return render(request, template, ctx)


@require_POST
@vary_on_headers("HX-Request")
def support_operation_check(request: CustomerRequest, pk: int) -> HttpResponse:
    agent = _agent(request)
    operation = get_object_or_404(
        operations_in_reach(agent).select_related("customer", "actor", "on_behalf_of"), pk=pk
    )
    if can_check_operation(agent, operation):
        check = support.check_operation(operation)
    else:
        check = support.Check(operation, operation.state, _("Already settled: nothing to check."))
    failed = (
        panel_error(check.error, customer=operation.customer) if check.error is not None else None
    )
    record(
        request,
        AuditKind.ACTION,
        customer=operation.customer,
        action="operation_checked",
        operation=operation.pk,
        before=check.before,
        after=check.operation.state,
        reference=failed.reference if failed else "",
    )
    text = (
        _("%(text)s Reference: %(reference)s") % {"text": check.text, "reference": failed.reference}
        if failed
        else check.text
    )
    if is_partial(request):
        ctx = {"op": check.operation, "check": text, "back": request.POST.get("back", "")}
        return render(request, "support/_operation_row.html", ctx)
    messages.info(
        request, _("Operation #%(number)s: %(text)s") % {"number": operation.pk, "text": text}
    )
    return go(request, _back(request.POST.get("back", ""), operation))


def _back(back: str, operation: Operation) -> str:
    """The operations list the check was asked from, else the operation's customer's."""
    listing = reverse("orders:support_operations")
    if back == listing or back.startswith(listing + "?"):
        return back
    return f"{listing}?{urlencode({'customer': operation.customer_id})}"


@require_GET
@vary_on_headers("HX-Request")
def support_timeline(request: CustomerRequest, account_id: int) -> HttpResponse:
    agent = _agent(request)
    account = _customer_in_reach(agent, account_id)
    history = support.customer_history(account)
    page = Paginator(history.timeline, TIMELINE_PAGE_SIZE).get_page(request.GET.get("page"))
    record(
        request,
        AuditKind.PAGE_VIEWED,
        customer=account,
        page="support_timeline",
        page_number=page.number,
    )
    ctx: dict[str, Any] = {
        "account": account,
        "page": page,
        "undated": history.timeline.undated,
        "orders_error": (
            panel_error(history.error, customer=account) if history.error is not None else None
        ),
        "retry_url": request.get_full_path(),
    }
    template = "support/timeline.html#timeline" if is_partial(request) else "support/timeline.html"
    return render(request, template, ctx)
