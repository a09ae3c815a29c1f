"""The purchase flow's pages: configure a new order with a live invoice preview, create the
draft, activate, re-price or discard it (issue 6). What they do is orders.actions.purchase and
orders.actions.activation; the configuration in progress lives in the session (per customer), so
it survives a failed Nue call and a reload."""

from __future__ import annotations

import re
from datetime import date

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from orders.actions import approvals, cards, purchase
from orders.actions.activation import NotActivated, Stale, reprice
from orders.actions.billing import tax_address
from orders.actions.changes import Remembered, remembered_change
from orders.actions.schedule import Schedule
from orders.forms.purchase import (
    ActivateForm,
    CatalogFilterForm,
    LineForm,
    OrderConfiguration,
    OrderContactsForm,
    chosen_pay,
)
from orders.http import CustomerRequest
from orders.nue import NueConflict, NueError, NueValidationError, Order
from orders.policy import Decision, DraftFacts, can_charge_card, decide
from orders.scope import CustomerNue
from orders.throttle import LIVE_PREVIEW_WINDOW, allow_live_preview
from orders.views.common import (
    action_audit,
    activate,
    audited,
    customer_scope,
    go,
    is_partial,
)
from orders.views.errors import add_form_errors, flash_omitted
from orders.views.panels import draft_panel
from portal.audit import record
from portal.impersonation import actors, money_moving
from portal.models import AuditKind

ACTIVATE_FIELDS = {"po_number": "po_number", "po_date": "po_date"}
CONFIG_KEY = "purchase:config:{customer}"
LINE_PATH = re.compile(r"lines\[(\d+)\]\.(.+)")
STALE_TEXT = gettext_lazy(
    "A subscription this change order changes has changed since it was priced: activating it "
    "would apply the change on top of something else. Nothing was changed; preview the change "
    "again from the subscription."
)


def _config_key(request: CustomerRequest) -> str:
    customer = request.customer
    return CONFIG_KEY.format(customer=customer.pk if customer is not None else "none")


def _saved_configuration(request: CustomerRequest) -> dict[str, list[str]] | None:
    data = request.session.get(_config_key(request))
    return data if isinstance(data, dict) else None


def _save_configuration(request: CustomerRequest, data: dict[str, list[str]]) -> None:
    session = request.session
    if session.get(_config_key(request)) == data:
        return  # the change and input events of one edit send the same configuration twice
    session[_config_key(request)] = data
    # Saved now, not by SessionMiddleware: it skips the save when the response is a 5xx, which
    # is exactly when the configuration must survive (a failed preview or draft call). An
    # existing session needs no second write by the middleware.
    existed = session.session_key is not None
    session.save()
    session.modified = not existed


def _line_forms(shop: purchase.Shop, config: OrderConfiguration, today: date) -> list[LineForm]:
    return config.forms(shop.orderable, shop.names, shop.coterm_targets, shop.tags, today)


def _contacts_form(shop: purchase.Shop, config: OrderConfiguration) -> OrderContactsForm:
    return OrderContactsForm(config.data, contacts=shop.customer.contacts)


@require_POST
@money_moving
@vary_on_headers("HX-Request")
def draft_activate(request: CustomerRequest, order_id: str) -> HttpResponse:
    nue = customer_scope(request, buyer=True)
    order = nue.order(order_id, status="draft")
    if order.status == "Activated":
        # A second click, another tab, or a retry after a lost answer: the ledger settles (and
        # audits) what that answer left open, and the page says what was activated, and how.
        nue.ledger.settle([order.id])
        typed_po = request.POST.get("po_number", "")
        messages.info(request, purchase.already_activated(order, typed_po))
        return go(request, "orders:activation_result", order.id)
    approvals.refuse_if_locked(order.id)
    verdict = decide(request.membership, DraftFacts.of(order), timezone.localdate())
    if verdict.decision in (Decision.FORBIDDEN, Decision.REQUEST_APPROVAL):
        raise PermissionDenied(verdict.reason)
    remembered = remembered_change(nue, order.id)
    asks_reason = verdict.facts.cancels and not (remembered and remembered.reasons)
    form = ActivateForm(
        request.POST,
        cancels=asks_reason,
        card=cards.card_on_file(nue.account),
        may_charge_card=can_charge_card(request.membership),
    )
    status: int | None
    if verdict.decision == Decision.EXPIRED:
        # Refused before anything is sent; the page offers to re-price it from today.
        form.is_valid()
        form.add_error(None, verdict.reason)
        status = 409
    else:
        status = _activate(request, nue, order, form, remembered)
        if status is None:
            purchase.forget_draft(nue.account, order.id)
            return go(request, "orders:activation_result", order.id)
    ctx = {"order": order, "draft_panel": draft_panel(request, order, form)}
    template = "orders/_draft_actions.html" if is_partial(request) else "orders/draft_activate.html"
    return render(request, template, ctx, status=status)


def _activate(
    request: CustomerRequest,
    nue: CustomerNue,
    order: Order,
    form: ActivateForm,
    remembered: Remembered | None,
) -> int | None:
    """Activate the draft as the form asks, with what the change wizard remembers of it: None
    once it is activated, else the status the form's errors go back with."""
    if not form.is_valid():
        return 422
    actor, on_behalf_of = actors(request)
    po_number = form.cleaned_data["po_number"]
    notes = purchase.activation_notes(
        DraftFacts.of(order),
        reasons=remembered.reasons if remembered else {},
        asked={p.name: p.asked for p in remembered.items} if remembered else {},
        typed_reason=form.cleaned_data["reason"],
        po_number=po_number,
    )
    try:
        activate(
            request,
            nue,
            order.id,
            membership=request.membership,
            actor=actor,
            on_behalf_of=on_behalf_of,
            previewed=remembered.changes if remembered else (),
            po_number=po_number or None,
            po_date=form.cleaned_data["po_date"],
            notes=notes,
            pay=chosen_pay(form),
        )
    except cards.NoCard as missing:
        form.add_error("pay", str(missing))
        return 422
    except NotActivated as refused:
        raise PermissionDenied(refused.verdict.reason) from None
    except Stale:
        form.add_error(None, STALE_TEXT)
        return 409
    except (NueValidationError, NueConflict) as error:
        return add_form_errors(form, error, ACTIVATE_FIELDS)
    return None


@require_POST
@vary_on_headers("HX-Request")
def draft_reprice(request: CustomerRequest, order_id: str) -> HttpResponse:
    """An expired draft again from today, as a new draft (the old one stays as it is)."""
    nue = customer_scope(request, buyer=True)
    order = nue.order(order_id, status="draft")
    result = reprice(nue, order)
    purchase.store_draft(nue.account, result)
    record(
        request,
        AuditKind.ACTION,
        action="draft_repriced",
        order_id=order.id,
        order_number=order.order_number,
        new_order_id=result.order.id,
        new_order_number=result.order.order_number,
    )
    messages.success(
        request,
        _("Draft %(new)s prices the same order from today; %(old)s is left as it was.")
        % {"new": result.order.order_number, "old": order.order_number},
    )
    return go(request, "orders:order_detail", result.order.id)


@require_GET
def activation_result(request: CustomerRequest, order_id: str) -> HttpResponse:
    nue = customer_scope(request, buyer=True)
    # An order not yet activated is found too, and the view tells what it is now.
    order = nue.order(order_id, status="active", includes=("assets", "invoices"))
    if order.status != "Activated":
        return redirect("orders:order_detail", order_id=order.id)
    ctx = {
        "order": order,
        "subscriptions": cards.paid_with(nue.account, purchase.activated_subscriptions(nue, order)),
        "invoices": order.invoices,
    }
    return render(request, "orders/activation_result.html", ctx)


@require_POST
@vary_on_headers("HX-Request")
def draft_discard(request: CustomerRequest, order_id: str) -> HttpResponse:
    """The portal stops offering the draft; in Nue it stays a draft (CustomerNue.discard_draft)."""
    nue = customer_scope(request, buyer=True)
    order = nue.order(order_id, status="draft", includes=())
    discarded = purchase.discard(nue, order, by=request.user, via=request.impersonator)
    record(
        request,
        AuditKind.ACTION,
        action="discard_draft",
        order_id=discarded.id,
        order_number=discarded.order_number,
    )
    messages.success(
        request, _("Draft %(number)s was discarded.") % {"number": discarded.order_number}
    )
    return go(request, "orders:new_order")


def _nue_errors(lines: list[LineForm], order_form: forms.Form, error: NueError) -> int:
    """Put Nue's answer on the fields it names (`lines[1].add_ons[0].quantity`), else on top."""
    if not isinstance(error, NueValidationError):
        return add_form_errors(order_form, error)
    # One error: Nue's summary says it in full (the entry may say only "out of range").
    single = sum(len(v) for v in error.field_errors.values()) == 1
    for path, texts in error.field_errors.items():
        match = LINE_PATH.fullmatch(path)
        index = int(match.group(1)) if match else -1
        form = lines[index] if 0 <= index < len(lines) else None
        name = form.field_for_path(match.group(2)) if form is not None and match else None
        for text in [error.message] if single else texts:
            if form is not None:
                form.add_error(name, text)
            else:
                order_form.add_error(None, text)
    if not error.field_errors:
        order_form.add_error(None, error.message)
    return 422


def _preview(
    nue: CustomerNue,
    shop: purchase.Shop,
    lines: list[LineForm],
    order_form: forms.Form,
    today: date,
) -> Schedule | None:
    """The invoice preview of valid lines; None while any is invalid or Nue refuses them."""
    if not lines or not all(form.is_valid() for form in lines):
        return None
    requests = [form.line_request() for form in lines]
    tags = {
        form.item.product.id: form.cleaned_data["price_tag"]
        for form in lines
        if form.cleaned_data.get("price_tag")
    }
    try:
        return purchase.preview(nue, shop, requests, today, tag_codes=tags)
    except NueValidationError as error:
        _nue_errors(lines, order_form, error)
        return None


def _page(
    request: CustomerRequest,
    nue: CustomerNue,
    shop: purchase.Shop,
    lines: list[LineForm],
    order_form: forms.Form,
    schedule: Schedule | None,
    contacts: OrderContactsForm,
    status: int = 200,
) -> HttpResponse:
    filters = CatalogFilterForm(request.GET or None, categories=shop.categories)
    ctx = {
        "catalog": shop.matching(*filters.search()),
        "filters": filters,
        "lines": lines,
        "order_form": order_form,
        "contacts_form": contacts,
        "tax_address": tax_address(shop.customer, *contacts.contact_ids()),
        "schedule": schedule,
        "has_errors": bool(order_form.errors) or any(form.errors for form in lines),
        "omitted": nue.omitted("products", "price tags", "subscriptions"),
        "preview_omitted": nue.omitted("preview invoices"),
    }
    if is_partial(request):
        target = request.htmx.target if request.htmx.target in ("catalog", "preview") else "preview"
        return render(request, f"orders/new_order.html#{target}", ctx, status=status)
    return render(request, "orders/new_order.html", ctx, status=status)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def new_order(request: CustomerRequest) -> HttpResponse:
    nue = customer_scope(request, buyer=True)
    shop = purchase.shop(nue)
    today = timezone.localdate()
    if request.method == "POST":
        config = OrderConfiguration(dict(request.POST.lists()))
        anchor = "#order-config"
        item = shop.orderable.get(request.POST.get("add", ""))
        if item is not None:
            anchor = "#" + config.add(item, today)
        config.remove(request.POST.get("remove", ""))
        _save_configuration(request, config.data)
        if request.POST.get("action") != "draft":
            return redirect(reverse("orders:new_order") + anchor)
        return _create_draft(request, nue, shop, config, today)
    config = OrderConfiguration(_saved_configuration(request))
    lines = _line_forms(shop, config, today)
    # Bound, so that Nue's errors about the order as a whole can be put on it.
    order_form = forms.Form({})
    schedule = _preview(nue, shop, lines, order_form, today)
    return _page(request, nue, shop, lines, order_form, schedule, _contacts_form(shop, config))


def _create_draft(
    request: CustomerRequest,
    nue: CustomerNue,
    shop: purchase.Shop,
    config: OrderConfiguration,
    today: date,
) -> HttpResponse:
    lines = _line_forms(shop, config, today)
    contacts = _contacts_form(shop, config)
    order_form = forms.Form({})
    status = 422
    if not lines:
        order_form.add_error(None, _("Add at least one product to the order."))
    elif not contacts.is_valid():
        # A contact no longer offered (removed in Nue since the page was loaded) is not
        # silently dropped: the order would be billed to someone else.
        order_form.add_error(None, _("Choose the bill-to and ship-to contacts again."))
    elif all(form.is_valid() for form in lines):
        requests = [form.line_request() for form in lines]
        bill_to, ship_to = contacts.contact_ids()
        try:
            result = purchase.create_draft(
                nue,
                requests,
                today,
                bill_to=bill_to,
                ship_to=ship_to,
                audit=action_audit(request),
            )
        except NueError as error:
            status = _nue_errors(lines, order_form, error)
        else:
            audited(request)
            request.session.pop(_config_key(request), None)
            messages.success(
                request,
                _("Draft %(number)s is ready to review.") % {"number": result.order.order_number},
            )
            flash_omitted(request, nue.omitted("preview invoices"))
            return go(request, "orders:order_detail", result.order.id)
    return _page(request, nue, shop, lines, order_form, None, contacts, status=status)


@require_POST
@vary_on_headers("HX-Request")
def new_order_preview(request: CustomerRequest) -> HttpResponse:
    """The live preview: keeps the configuration once it validates, answers with the preview."""
    nue = customer_scope(request, buyer=True)
    if not is_partial(request):
        return new_order(request)
    if not allow_live_preview(request):
        # Nothing reaches Nue; the next pause in typing, or "Update preview", prices it again.
        response = render(request, "orders/_preview_paused.html", status=429)
        response["Retry-After"] = str(LIVE_PREVIEW_WINDOW)
        return response
    shop = purchase.shop(nue)
    today = timezone.localdate()
    config = OrderConfiguration(dict(request.POST.lists()))
    lines = _line_forms(shop, config, today)
    if all(form.is_valid() for form in lines):
        # Kept for the next visit only once it validates: what is kept is shown again then.
        _save_configuration(request, config.data)
    order_form = forms.Form({})
    schedule = _preview(nue, shop, lines, order_form, today)
    return _page(request, nue, shop, lines, order_form, schedule, _contacts_form(shop, config))
