"""Approvals, quote links and the account manager's review (issue 8).

Customers: request approval of a draft above their threshold, withdraw it, make a quote link.
Account managers (`request.user.book`): /review/ is their book of business; a request's page
re-prices the draft and offers approve (activation through the ledger), decline and a quote link.
Anything outside a manager's book, and /review/ for anyone but a manager, is a 404.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from orders.actions import approvals, cards, quotes, scheduled
from orders.actions.activation import AuditNotes, NotActivated, Stale, reprice
from orders.forms.review import (
    ApprovalRequestForm,
    ApproveForm,
    BookFilterForm,
    DeclineForm,
    QuoteTemplateForm,
)
from orders.http import CustomerRequest
from orders.models import ApprovalRequest
from orders.nue import (
    ActivationResult,
    NueConflict,
    NueError,
    NueValidationError,
    Order,
)
from orders.policy import (
    Decision,
    can_charge_card,
    can_decide_approvals,
    can_prepare,
    can_withdraw_approval,
    decide,
)
from orders.scope import CustomerNue
from orders.views.common import activate, customer_scope, go, is_partial, refusal_status
from orders.views.errors import TEXTS, add_form_errors, status_for
from orders.views.panels import approval_panel, quote_link_panel
from portal.audit import record
from portal.impersonation import money_moving
from portal.models import AuditKind, CustomerAccount, User

STALE_TEXT = gettext_lazy(
    "A subscription this change order changes has changed since it was priced: approving it "
    "would apply the change on top of something else. Nothing was changed; decline it so the "
    "customer previews the change again."
)


def _agent(request: CustomerRequest) -> User | None:
    """The support agent impersonating the signed-in customer user, whom records name too."""
    return getattr(request, "impersonator", None)


def _customer_draft(request: CustomerRequest, order_id: str) -> tuple[CustomerNue, Order]:
    """The acting customer's order, read among its drafts (found also when it no longer is
    one); 404 without an acting customer."""
    nue = customer_scope(request)
    return nue, nue.order(order_id, status="draft")


def _book(request: CustomerRequest) -> QuerySet[CustomerAccount]:
    """The signed-in account manager's customers; everyone else finds no /review/ pages."""
    book = approvals.book_of(request.user)
    if not book.exists():
        raise Http404("No such page.")
    return book


def _account_in_book(request: CustomerRequest, account_id: int) -> CustomerAccount:
    account = _book(request).filter(pk=account_id).first()
    if account is None:
        raise Http404("No such customer in your book.")
    return account


def _request_in_book(request: CustomerRequest, pk: int) -> ApprovalRequest:
    _book(request)
    approval = approvals.request_in_book(request.user, pk)
    if approval is None:
        raise Http404("No such approval request.")
    return approval


@require_POST
@vary_on_headers("HX-Request")
def approval_request(request: CustomerRequest, order_id: str) -> HttpResponse:
    nue, order = _customer_draft(request, order_id)
    today = timezone.localdate()
    facts, found = scheduled.for_draft(nue, order, today)
    verdict = decide(request.membership, facts, today, found)
    if verdict.decision == Decision.EXPIRED:
        raise NueConflict(verdict.reason)
    if verdict.decision != Decision.REQUEST_APPROVAL:
        raise PermissionDenied(
            verdict.reason or _("This draft does not need an approval from your account manager.")
        )
    form = ApprovalRequestForm(
        request.POST,
        card=cards.card_on_file(nue.account),
        may_charge_card=can_charge_card(request.membership),
    )
    status = 422
    if form.is_valid():
        try:
            approval = approvals.request_approval(
                nue.account,
                order,
                requester=request.user,
                comment=form.cleaned_data["comment"],
                agent=_agent(request),
                po_number=form.cleaned_data["po_number"],
                po_date=form.cleaned_data["po_date"],
                card=form.chosen_card(),
            )
        except NueConflict as error:
            status = add_form_errors(form, error)
        else:
            record(
                request,
                AuditKind.ACTION,
                action="approval_requested",
                approval=approval.pk,
                order_id=order.id,
                order_number=order.order_number,
                total=order.total,
                pay=approval.pay_words,
            )
            messages.success(request, _("Approval requested. Your account manager has been told."))
            return go(request, "orders:order_detail", order.id)
    ctx = {"order": order, "approval_panel": approval_panel(request, order, form)}
    partial_or_page = ("orders/_approval_panel.html", "review/request_approval.html")
    template = partial_or_page[0] if is_partial(request) else partial_or_page[1]
    return render(request, template, ctx, status=status)


@require_POST
@vary_on_headers("HX-Request")
def approval_withdraw(request: CustomerRequest, order_id: str) -> HttpResponse:
    _nue, order = _customer_draft(request, order_id)
    pending = approvals.pending_for(order.id)
    if pending is None:
        raise Http404("No pending approval request for this order.")
    if not can_withdraw_approval(request.membership, pending.requested_by_id):
        raise PermissionDenied(_("Only the requester or an admin of the account may withdraw it."))
    approvals.withdraw(pending, by=request.user, via=_agent(request))
    record(request, AuditKind.ACTION, action="approval_withdrawn", approval=pending.pk)
    messages.success(request, _("Approval request withdrawn. The draft can be changed again."))
    return go(request, "orders:order_detail", order.id)


@require_POST
@vary_on_headers("HX-Request")
def quote_link(request: CustomerRequest, order_id: str) -> HttpResponse:
    nue, order = _customer_draft(request, order_id)
    if not can_prepare(request.membership):
        raise PermissionDenied(_("Your role may not make quote links."))
    back = reverse("orders:order_detail", args=[order.id])
    return _generate_quote_link(request, nue, order, back)


def _generate_quote_link(
    request: CustomerRequest, nue: CustomerNue, order: Order, back: str
) -> HttpResponse:
    form = QuoteTemplateForm(request.POST, templates=quotes.quote_templates())
    if not form.is_valid():
        ctx = {"order": order, "quote_panel": quote_link_panel(request, order)}
        return render(request, "orders/_quote_link.html", ctx, status=422)
    template_id = form.cleaned_data["template"] or None
    link = quotes.generate_quote_link(
        nue, order, user=request.user, template_id=template_id, agent=_agent(request)
    )
    # The link itself is a credential: the audit keeps who made one and when, not the URL.
    record(
        request,
        AuditKind.ACTION,
        customer=nue.account,
        action="quote_link_generated",
        order_id=order.id,
        template=link.template_id,
    )
    if is_partial(request):
        ctx = {"order": order, "quote_panel": quote_link_panel(request, order)}
        return render(request, "orders/_quote_link.html", ctx)
    return redirect(back + "#quote-link")


@require_GET
def review(request: CustomerRequest) -> HttpResponse:
    """The book, or with `?customer=` one customer of it: its drafts, renewals and quotes."""
    book = _book(request)
    form = BookFilterForm(request.GET)
    if not form.is_valid():
        raise Http404("No such customer in your book.")
    focus = None
    if form.cleaned_data["customer"] is not None:
        focus = _account_in_book(request, form.cleaned_data["customer"])
        book = book.filter(pk=focus.pk)
    found = approvals.book(request.user, list(book), timezone.localdate())
    rows = [
        replace(row, error=_failure_text(row.failure)) if row.failure else row for row in found.rows
    ]
    # Each quote's state; a draft the page read (its customer's row) also says when it expired.
    drafts = {o.id: o for row in rows for o in (*row.drafts, *row.change_orders)}
    sent = [
        (link, quotes.state_of(link, drafts.get(link.order_id))) for link in quotes.in_book(book)
    ]
    ctx = {
        "rows": rows,
        "pending": found.pending,
        "windows": approvals.RENEWAL_WINDOWS,
        "focus": focus,
        "horizon": max(approvals.RENEWAL_WINDOWS),
        "quotes": sent,
    }
    return render(request, "review/book.html", ctx)


def _failure_text(error: NueError) -> str:
    return str(TEXTS.get(status_for(error), TEXTS[502])[1])


def _request_page(
    request: CustomerRequest,
    approval: ApprovalRequest,
    order: Order | None,
    *,
    status: int,
    partial: bool,
    approve_form: ApproveForm | None = None,
    decline_form: DeclineForm | None = None,
) -> HttpResponse:
    """The approval request's page, or `partial`: its decision alone (the quote link panel
    below it is not part of that partial)."""
    current = approvals.figures_of(order) if order is not None else None
    fingerprint = approvals.fingerprint(current) if current else None
    verdict = None
    if order is not None and order.is_draft:
        requester = approvals.requester_membership(approval)
        today = timezone.localdate()
        facts, found = scheduled.for_draft(CustomerNue(approval.customer), order, today)
        verdict = decide(requester, facts, today, found)
    ctx = {
        "verdict": verdict,
        "approval": approval,
        "order": order,
        "current": current,
        "changed": approvals.changed_figures(approval.figures, order) if order else [],
        "approve_form": approve_form or (ApproveForm(current=fingerprint) if fingerprint else None),
        "decline_form": decline_form or DeclineForm(),
        "quote_panel": quote_link_panel(request, order)
        if order is not None and order.is_draft and not partial
        else None,
    }
    template = "review/request.html#decision" if partial else "review/request.html"
    return render(request, template, ctx, status=status)


@require_GET
def review_request(request: CustomerRequest, pk: int) -> HttpResponse:
    approval = _request_in_book(request, pk)
    _nue, order = approvals.draft_of(approval)
    return _request_page(request, approval, order, status=200, partial=False)


@require_POST
@money_moving
@vary_on_headers("HX-Request")
def review_approve(request: CustomerRequest, pk: int) -> HttpResponse:
    approval = _request_in_book(request, pk)
    nue, order = approvals.draft_of(approval)
    if order is None:
        raise Http404("The draft no longer exists; decline the request instead.")
    form = ApproveForm(request.POST, current=approvals.fingerprint_of(order))
    status = _approve(request, approval, nue, order, form)
    if status is None:
        messages.success(
            request,
            _("Approved: order %(number)s is activated.") % {"number": order.order_number},
        )
        return go(request, "orders:review_request", approval.pk)
    return _request_page(
        request, approval, order, status=status, partial=is_partial(request), approve_form=form
    )


@require_POST
@money_moving
@vary_on_headers("HX-Request")
def approval_approve(request: CustomerRequest, order_id: str) -> HttpResponse:
    """An admin of the account approves a buyer's pending request from the order's page."""
    nue, order = _customer_draft(request, order_id)
    if not can_decide_approvals(request.membership):
        raise PermissionDenied(_("Only an admin of the account may approve a request."))
    approval = approvals.pending_for(order.id)
    if approval is None:
        raise NueConflict(_("This draft has no pending approval request."))
    form = ApproveForm(request.POST, current=approvals.fingerprint_of(order))
    status = _approve(request, approval, nue, order, form)
    if status is None:
        messages.success(
            request,
            _("Approved: order %(number)s is activated.") % {"number": order.order_number},
        )
    else:
        messages.error(
            request, " ".join(str(e) for e in form.non_field_errors() or [_("Not approved.")])
        )
    return go(request, "orders:order_detail", order.id)


def _approve(
    request: CustomerRequest,
    approval: ApprovalRequest,
    nue: CustomerNue,
    order: Order,
    form: ApproveForm,
) -> int | None:
    """Approve `approval` as the signed-in person (its account manager or an admin of the
    account): None when the order is activated and the approval recorded, else the status the
    form's errors go back with."""
    if not form.is_valid():
        return 422
    try:
        activated = partial(_activate_approved, request, nue, approval)
        result = approvals.approve(approval, activated, manager=request.user)
    except NotActivated as refused:
        form.add_error(None, refused.verdict.reason)
        return refusal_status(refused.verdict)
    except Stale:
        form.add_error(None, STALE_TEXT)
        return 409
    except cards.NoCard as missing:
        form.add_error(None, str(missing))
        return 409
    except (NueValidationError, NueConflict) as error:
        return add_form_errors(form, error)
    record(
        request,
        AuditKind.APPROVAL,
        customer=approval.customer,
        approval=approval.pk,
        order_id=order.id,
        order_number=order.order_number,
        total=order.total,
        operation=result.operation_id if result else None,
        replayed=result is None or result.replayed,
    )
    return None


def _activate_approved(
    request: CustomerRequest, nue: CustomerNue, approval: ApprovalRequest
) -> ActivationResult | None:
    """The one activation path, deciding for the member who asked: an approval activates only
    what they could ask for, and runs the wizard's staleness check."""
    outcome = activate(
        request,
        nue,
        approval.order_id,
        membership=approvals.requester_membership(approval),
        actor=request.user,
        approving=True,
        # Activated as the requester asked: their PO, paid the way they chose (that card and
        # no other), under the consent they gave.
        po_number=approval.po_number or None,
        po_date=approval.po_date,
        pay=cards.Pay(approval.pay),
        card_id=approval.card_payment_method_id,
        customer=approval.customer,
        notes=AuditNotes(
            details={
                "approval": approval.pk,
                "po_number": approval.po_number,
                "consented_at": approval.consented_at,
                "pay": approval.pay_words,
            },
        ),
    )
    return outcome.result


@require_POST
@vary_on_headers("HX-Request")
def review_reprice(request: CustomerRequest, pk: int) -> HttpResponse:
    """An expired draft of the request re-priced from today; the request follows it."""
    approval = _request_in_book(request, pk)
    if not approval.is_pending:
        raise NueConflict(_("This request has already been decided or withdrawn."))
    nue, order = approvals.draft_of(approval)
    if order is None:
        raise Http404("The draft no longer exists; decline the request instead.")
    result = reprice(nue, order)
    moved = approvals.follow_repriced(approval, result.order, by=request.user)
    record(
        request,
        AuditKind.ACTION,
        customer=approval.customer,
        action="draft_repriced",
        approval=approval.pk,
        new_approval=moved.pk,
        order_id=order.id,
        order_number=order.order_number,
        new_order_id=result.order.id,
        new_order_number=result.order.order_number,
    )
    messages.success(
        request,
        _("Draft %(number)s prices the order from today; the request moved to it.")
        % {"number": result.order.order_number},
    )
    return go(request, "orders:review_request", moved.pk)


@require_POST
@vary_on_headers("HX-Request")
def review_decline(request: CustomerRequest, pk: int) -> HttpResponse:
    approval = _request_in_book(request, pk)
    form = DeclineForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            approvals.decline(approval, manager=request.user, comment=form.cleaned_data["comment"])
        except NueConflict as error:
            status = add_form_errors(form, error)
        else:
            record(
                request,
                AuditKind.DECLINE,
                customer=approval.customer,
                approval=approval.pk,
                order_id=approval.order_id,
                order_number=approval.order_number,
                comment=form.cleaned_data["comment"],
            )
            messages.success(
                request,
                _("Declined: %(person)s has been told why.") % {"person": approval.requested_by},
            )
            return go(request, "orders:review_request", approval.pk)
    _nue, order = approvals.draft_of(approval)
    return _request_page(
        request, approval, order, status=status, partial=is_partial(request), decline_form=form
    )


@require_GET
def review_draft(request: CustomerRequest, account_id: int, order_id: str) -> HttpResponse:
    account = _account_in_book(request, account_id)
    order = CustomerNue(account).order(order_id, status="draft")
    ctx = {
        "account": account,
        "order": order,
        "approval": approvals.latest_for(order.id),
        "quote_panel": quote_link_panel(request, order),
    }
    return render(request, "review/draft.html", ctx)


@require_POST
@vary_on_headers("HX-Request")
def review_quote_link(request: CustomerRequest, account_id: int, order_id: str) -> HttpResponse:
    account = _account_in_book(request, account_id)
    nue = CustomerNue(account)
    order = nue.order(order_id, status="draft")
    back = reverse("orders:review_draft", args=[account.pk, order.id])
    return _generate_quote_link(request, nue, order, back)
