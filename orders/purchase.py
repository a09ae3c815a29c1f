"""The purchase flow: configure a new order with a live invoice preview, create the draft,
activate or discard it (issue 6; nue-api.md §2.1, §2.4, §2.5)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from orders import approvals
from orders.activation import AuditNotes, NotActivated, Stale, activate_draft, reprice
from orders.changes import remembered_change
from orders.errors import add_form_errors, flash_omitted
from orders.http import CustomerRequest
from orders.nue import (
    Invoice,
    NueConflict,
    NueError,
    NueValidationError,
    Order,
    PriceBookEntry,
    PriceTag,
    Subscription,
)
from orders.panels import draft_panel
from orders.policy import Decision, DraftFacts, can_prepare, decide
from orders.purchase_forms import (
    ActivateForm,
    CatalogEntry,
    CatalogFilterForm,
    LineForm,
    OrderConfiguration,
    buyable,
    entry_names,
)
from orders.purchase_schedule import Schedule, build_schedule
from orders.purchase_state import (
    forget_configuration,
    forget_draft,
    save_configuration,
    saved_configuration,
    store_draft,
)
from orders.scope import CustomerNue, fetch_alongside
from orders.throttle import LIVE_PREVIEW_WINDOW, allow_live_preview
from portal.audit import record
from portal.impersonation import actors, money_moving
from portal.models import AuditKind

ACTIVATE_FIELDS = {"po_number": "po_number", "po_date": "po_date"}


def _is_partial(request: CustomerRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def _buyer_nue(request: CustomerRequest) -> CustomerNue:
    """The acting customer's Nue scope, for a member who may prepare orders (viewers may not)."""
    if request.nue is None:
        raise Http404("No acting customer.")
    if not can_prepare(request.membership):
        raise PermissionDenied("Your role may not buy for this account.")
    return request.nue


@dataclass(frozen=True)
class Shop:
    """What configuring a new order needs from Nue: the catalog, tags and subscriptions."""

    catalog: dict[str, CatalogEntry]
    names: dict[str, tuple[str, PriceBookEntry]]
    tags: list[PriceTag]
    subscriptions: list[Subscription]

    @property
    def orderable(self) -> dict[str, CatalogEntry]:
        """What a new order may hold; the rest is listed for the account manager to sell."""
        return {key: item for key, item in self.catalog.items() if item.orderable}

    def line_forms(self, config: OrderConfiguration, today: date) -> list[LineForm]:
        return config.forms(self.orderable, self.names, self.subscriptions, self.tags, today)


def _shop(nue: CustomerNue) -> Shop:
    # The catalog and tags come from the shared cache while Nue lists the subscriptions.
    (catalog, tags), reads = fetch_alongside(
        lambda: (nue.catalog(), nue.price_tags()), subscriptions=nue.subscriptions
    )
    return Shop(
        catalog=buyable(catalog),
        names=entry_names(catalog),
        tags=[t for t in tags if t.active],
        subscriptions=reads["subscriptions"],
    )


def _draft_for_user(
    request: CustomerRequest,
    order_id: str,
    status: str = "draft",
    includes: Sequence[str] = ("orderProducts",),
) -> tuple[CustomerNue, Order]:
    """The acting customer's order, read among those of `status` with `includes` (an order
    in another status is still found, and the view tells what it is now)."""
    nue = _buyer_nue(request)
    return nue, nue.order(order_id, status=status, includes=includes)


STALE_TEXT = (
    "A subscription this change order changes has changed since it was priced: activating it "
    "would apply the change on top of something else. Nothing was changed; preview the change "
    "again from the subscription."
)


def already_activated(order: Order, typed_po: str) -> str:
    """What a second submit of an activated order is told: no PO it typed is silently dropped."""
    text = f"Order {order.order_number} was already activated"
    text += f" with PO number {order.po_number}." if order.po_number else " without a PO number."
    typed_po = typed_po.strip()
    if typed_po and typed_po != (order.po_number or ""):
        text += f" The PO number {typed_po} you entered was not applied."
    return text


def _go(request: CustomerRequest, url: str) -> HttpResponse:
    if _is_partial(request):
        return HttpResponseClientRedirect(url)
    return redirect(url)


@require_POST
@money_moving
@vary_on_headers("HX-Request")
def draft_activate(request: CustomerRequest, order_id: str) -> HttpResponse:
    nue, order = _draft_for_user(request, order_id)
    if order.status == "Activated":
        # A second click, another tab, or a retry after a lost answer: the ledger settles (and
        # audits) what that answer left open, and the page says what was activated, and how.
        nue.ledger.settle([order.id])
        messages.info(request, already_activated(order, request.POST.get("po_number", "")))
        return _go(request, reverse("orders:activation_result", args=[order.id]))
    approvals.refuse_if_locked(order.id)
    verdict = decide(request.membership, DraftFacts.of(order), timezone.localdate())
    if verdict.decision in (Decision.FORBIDDEN, Decision.REQUEST_APPROVAL):
        raise PermissionDenied(verdict.reason)
    remembered = remembered_change(nue, order.id)
    reasons = remembered.reasons if remembered else {}
    form = ActivateForm(request.POST, cancels=verdict.facts.cancels and not reasons)
    status = 422
    if verdict.decision == Decision.EXPIRED:
        # Refused before anything is sent; the page offers to re-price it from today.
        form.is_valid()
        form.add_error(None, verdict.reason)
        status = 409
    elif form.is_valid():
        actor, on_behalf_of = actors(request)
        typed = form.cleaned_data["reason"]
        if verdict.facts.cancels and (typed or not reasons):
            # What the admin says here is the latest word; else the wizard's reason.
            reasons = dict.fromkeys(verdict.facts.subscriptions, typed)
        po_number = form.cleaned_data["po_number"]
        notes = AuditNotes(
            reasons=reasons,
            asked={p.name: p.asked for p in remembered.items} if remembered else {},
            details={"po_number": po_number},
        )
        try:
            activate_draft(
                nue,
                order.id,
                membership=request.membership,
                actor=actor,
                on_behalf_of=on_behalf_of,
                previewed=remembered.changes if remembered else (),
                po_number=po_number or None,
                po_date=form.cleaned_data["po_date"],
                request=request,
                notes=notes,
            )
        except NotActivated as refused:
            raise PermissionDenied(refused.verdict.reason) from None
        except Stale:
            form.add_error(None, STALE_TEXT)
            status = 409
        except (NueValidationError, NueConflict) as error:
            status = add_form_errors(form, error, ACTIVATE_FIELDS)
        else:
            forget_draft(request, order.id)
            return _go(request, reverse("orders:activation_result", args=[order.id]))
    ctx = {"order": order, "draft_panel": draft_panel(request, order, form)}
    template = (
        "orders/_draft_actions.html" if _is_partial(request) else "orders/draft_activate.html"
    )
    return render(request, template, ctx, status=status)


@require_POST
@vary_on_headers("HX-Request")
def draft_reprice(request: CustomerRequest, order_id: str) -> HttpResponse:
    """An expired draft again from today, as a new draft (the old one stays as it is)."""
    nue, order = _draft_for_user(request, order_id)
    result = reprice(nue, order)
    store_draft(request, result)
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
        f"Draft {result.order.order_number} prices the same order from today; "
        f"{order.order_number} is left as it was.",
    )
    return _go(request, reverse("orders:order_detail", args=[result.order.id]))


@require_GET
def activation_result(request: CustomerRequest, order_id: str) -> HttpResponse:
    nue, order = _draft_for_user(request, order_id, "active", ("assets", "invoices"))
    if order.status != "Activated":
        return redirect("orders:order_detail", order_id=order.id)
    # Subscriptions come back among the order's assets, named SUB-… (an assetNumber or a name).
    names = {a.asset_number or a.name for a in order.assets}
    ctx = {
        "order": order,
        "subscriptions": [s for s in nue.subscriptions() if s.name in names],
        "invoices": order.invoices,
    }
    return render(request, "orders/activation_result.html", ctx)


@require_POST
@vary_on_headers("HX-Request")
def draft_discard(request: CustomerRequest, order_id: str) -> HttpResponse:
    """The portal stops offering the draft; in Nue it stays a draft (CustomerNue.discard_draft)."""
    nue, order = _draft_for_user(request, order_id, includes=())
    approvals.refuse_if_locked(order.id)
    discarded = nue.discard_draft(order.id, by=request.user, via=request.impersonator)
    forget_draft(request, order.id)
    record(
        request,
        AuditKind.ACTION,
        action="discard_draft",
        order_id=discarded.id,
        order_number=discarded.order_number,
    )
    messages.success(request, f"Draft {discarded.order_number} was discarded.")
    return _go(request, reverse("orders:new_order"))


LINE_PATH = re.compile(r"lines\[(\d+)\]\.(.+)")


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
    nue: CustomerNue, shop: Shop, lines: list[LineForm], order_form: forms.Form, today: date
) -> Schedule | None:
    """The invoice preview of valid lines (POST /orders/invoice-preview); None while invalid."""
    if not lines or not all(form.is_valid() for form in lines):
        return None
    requests = [form.line_request() for form in lines]
    try:
        preview = nue.preview(requests, effective_date=min(r.start_date or today for r in requests))
    except NueValidationError as error:
        _nue_errors(lines, order_form, error)
        return None
    return _schedule(shop, lines, preview.invoices, today)


def _schedule(
    shop: Shop, lines: list[LineForm], invoices: Sequence[Invoice], today: date
) -> Schedule:
    periods = {e.product.id: e.entry.billing_period for e in shop.catalog.values()}
    tags = {t.code: t.name for t in shop.tags}
    discounts = {
        form.item.product.id: tags.get(form.cleaned_data["price_tag"], "")
        for form in lines
        if form.cleaned_data.get("price_tag")
    }
    return build_schedule(invoices, today=today, periods=periods, discounts=discounts)


def _page(
    request: CustomerRequest,
    nue: CustomerNue,
    shop: Shop,
    lines: list[LineForm],
    order_form: forms.Form,
    schedule: Schedule | None,
    status: int = 200,
) -> HttpResponse:
    categories = sorted({e.product.product_category or "" for e in shop.catalog.values()} - {""})
    filters = CatalogFilterForm(request.GET or None, categories=categories)
    ctx = {
        "catalog": filters.apply(list(shop.catalog.values())),
        "filters": filters,
        "lines": lines,
        "order_form": order_form,
        "schedule": schedule,
        "has_errors": bool(order_form.errors) or any(form.errors for form in lines),
        "omitted": nue.omitted("products", "price tags", "subscriptions"),
        "preview_omitted": nue.omitted("preview invoices"),
    }
    if _is_partial(request):
        target = request.htmx.target if request.htmx.target in ("catalog", "preview") else "preview"
        return render(request, f"orders/new_order.html#{target}", ctx, status=status)
    return render(request, "orders/new_order.html", ctx, status=status)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def new_order(request: CustomerRequest) -> HttpResponse:
    nue = _buyer_nue(request)
    shop = _shop(nue)
    today = timezone.localdate()
    if request.method == "POST":
        config = OrderConfiguration(dict(request.POST.lists()))
        anchor = "#order-config"
        item = shop.orderable.get(request.POST.get("add", ""))
        if item is not None:
            anchor = "#" + config.add(item, today)
        config.remove(request.POST.get("remove", ""))
        save_configuration(request, config.data)
        if request.POST.get("action") != "draft":
            return redirect(reverse("orders:new_order") + anchor)
        return _create_draft(request, nue, shop, config, today)
    config = OrderConfiguration(saved_configuration(request))
    lines = shop.line_forms(config, today)
    # Bound, so that Nue's errors about the order as a whole can be put on it.
    order_form = forms.Form({})
    schedule = _preview(nue, shop, lines, order_form, today)
    return _page(request, nue, shop, lines, order_form, schedule)


def _create_draft(
    request: CustomerRequest,
    nue: CustomerNue,
    shop: Shop,
    config: OrderConfiguration,
    today: date,
) -> HttpResponse:
    lines = shop.line_forms(config, today)
    order_form = forms.Form({})
    status = 422
    if not lines:
        order_form.add_error(None, "Add at least one product to the order.")
    elif all(form.is_valid() for form in lines):
        requests = [form.line_request() for form in lines]
        try:
            result = nue.create_draft(
                requests,
                effective_date=min(r.start_date or today for r in requests),
                preview_invoice=True,
            )
        except NueError as error:
            status = _nue_errors(lines, order_form, error)
        else:
            store_draft(request, result)
            forget_configuration(request)
            messages.success(request, f"Draft {result.order.order_number} is ready to review.")
            flash_omitted(request, nue.omitted("preview invoices"))
            return _go(request, reverse("orders:order_detail", args=[result.order.id]))
    return _page(request, nue, shop, lines, order_form, None, status=status)


@require_POST
@vary_on_headers("HX-Request")
def new_order_preview(request: CustomerRequest) -> HttpResponse:
    """The live preview: keeps the configuration once it validates, answers with the preview."""
    nue = _buyer_nue(request)
    if not _is_partial(request):
        return new_order(request)
    if not allow_live_preview(request):
        # Nothing reaches Nue; the next pause in typing, or "Update preview", prices it again.
        response = render(request, "orders/_preview_paused.html", status=429)
        response["Retry-After"] = str(LIVE_PREVIEW_WINDOW)
        return response
    shop = _shop(nue)
    today = timezone.localdate()
    config = OrderConfiguration(dict(request.POST.lists()))
    lines = shop.line_forms(config, today)
    if all(form.is_valid() for form in lines):
        # Kept for the next visit only once it validates: what is kept is shown again then.
        save_configuration(request, config.data)
    order_form = forms.Form({})
    schedule = _preview(nue, shop, lines, order_form, today)
    return _page(request, nue, shop, lines, order_form, schedule)
