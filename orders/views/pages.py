"""Customer pages: dashboard, order history (and CSV), order detail, subscriptions, invoices.

Every read goes through `request.nue`, scoped to the acting customer, or an action of
orders.actions.history that derives what the page shows. A NueError a view lets through becomes
orders.views.errors' 404 / friendly 5xx page or HTMX partial (orders.middleware); the dashboard
instead settles each panel's read on its own, so one failing read costs one panel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from orders import stripe_gateway
from orders.actions import billing, cards, history, invoice_payments, invoices, scheduled
from orders.forms.pages import (
    DEFAULT_PAGE_SIZE,
    InvoiceFilterForm,
    ListFilterForm,
    OrderFilterForm,
    reportable_errors,
    with_defaults,
)
from orders.http import CustomerRequest
from orders.nue import Invoice, NueError, Order, Subscription
from orders.policy import ScheduledChange, can_pay_invoices
from orders.scope import CustomerNue
from orders.stripe_gateway import Card
from orders.templatetags.money import UNKNOWN, currency_code
from orders.views.common import customer_scope, is_partial, with_stripe_js
from orders.views.errors import panel_error
from orders.views.panels import approval_panel, draft_panel, quote_link_panel
from orders.views.rows import order_rows
from portal.lists import csv_lines, csv_text, page_links, query_string

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise

# The dashboard is a glance: more open drafts than this link to the filtered history instead.
AWAITING_SHOWN = 6
COLUMNS = (
    ("number", gettext_lazy("Order"), False),
    ("name", gettext_lazy("Name"), False),
    ("status", gettext_lazy("Status"), False),
    ("date", gettext_lazy("Placed"), False),
    ("start", gettext_lazy("Start"), False),
    ("total", gettext_lazy("Total"), True),
    ("acv", gettext_lazy("ACV"), True),
)
# (sort key, or "" for a column the list is not sorted by; label; numeric), in table order.
INVOICE_COLUMNS = tuple(
    (key if key in invoices.SORTS else "", label, key in ("amount", "balance"))
    for key, label in (
        ("number", gettext_lazy("Invoice")),
        ("order", gettext_lazy("Order")),
        ("date", gettext_lazy("Date")),
        ("due", gettext_lazy("Due")),
        ("status", gettext_lazy("Status")),
        ("amount", gettext_lazy("Amount")),
        ("balance", gettext_lazy("Balance")),
        ("pdf", gettext_lazy("PDF")),
        ("pay", gettext_lazy("Payment")),
    )
)
INVOICE_CSV_HEADER = (
    "Invoice number",
    "Status",
    "Payment status",
    "Overdue",
    "Invoice date",
    "Due date",
    "Amount",
    "Tax",
    "Balance",
    "Orders",
    # ISO 4217, as Nue names it (empty where it names none): the amounts stay plain numbers.
    "Currency",
)
CSV_HEADER = (
    "Order number",
    "Name",
    "Status",
    "Type",
    "Placed",
    "Start",
    "List total",
    "Discount",
    "Subtotal",
    "Tax",
    "Total",
    "ACV",
    "TCV",
    "PO number",
    "Currency",
)


def _today() -> date:
    return timezone.localdate()


def _subscriptions_panel(
    subscriptions: list[Subscription] | NueError, nue: CustomerNue
) -> dict[str, Any]:
    if isinstance(subscriptions, NueError):
        return {"subscriptions_error": panel_error(subscriptions)}
    today = _today()
    glance = history.subscriptions_glance(subscriptions, today)
    # The order headers this needs are the activity panel's read, memoised.
    found = scheduled.shown_changes(nue, glance.active, today)
    return {
        "active_subscriptions": scheduled.shown(glance.active, found),
        "renewals": scheduled.shown(glance.renewals, found),
    }


def _activity_panel(orders: list[Order] | NueError, nue: CustomerNue) -> dict[str, Any]:
    if isinstance(orders, NueError):
        return {"activity_error": panel_error(orders)}
    glance = history.activity_glance(orders)
    return {
        "awaiting": glance.awaiting[:AWAITING_SHOWN],
        "awaiting_count": len(glance.awaiting),
        "recent_orders": glance.recent,
    }


def _billing_panel(invoices: list[Invoice] | NueError, nue: CustomerNue) -> dict[str, Any]:
    if isinstance(invoices, NueError):
        return {"billing_error": panel_error(invoices)}
    glance = history.billing_glance(invoices, _today())
    return {
        "spend": glance.spend,
        "open_invoices": glance.open_invoices,
        "overdue_count": glance.overdue_count,
    }


# What each panel of the dashboard shows of its read (history.PANEL_READS), with the scope for
# what it reads besides.
PANELS: dict[str, Callable[[Any, CustomerNue], dict[str, Any]]] = {
    "subscriptions-panel": _subscriptions_panel,
    "activity-panel": _activity_panel,
    "billing-panel": _billing_panel,
}


@require_GET
def home(request: CustomerRequest) -> HttpResponse:
    """`/`: the acting customer's dashboard; a member who has not chosen a customer chooses
    one; staff without a customer see their book."""
    if request.customer is None and request.user.memberships.exists():
        return redirect("choose_customer")
    if request.customer is not None:
        return dashboard(request)
    ctx = {"book": list(request.user.book.order_by("name")) if request.user.is_staff else []}
    return render(request, "portal/home.html", ctx)


@vary_on_headers("HX-Request")
def dashboard(request: CustomerRequest) -> HttpResponse:
    scope = customer_scope(request)
    found = history.dashboard(scope)
    ctx: dict[str, Any] = {
        "today": _today(),
        "approvals": found.approvals,
        # What the panels' reads could not show, said once above them.
        "omitted": scope.omitted("subscriptions", "orders", "invoices"),
    }
    for name, build in PANELS.items():
        ctx.update(build(found.reads[name], scope))
    return render(request, "orders/dashboard.html", ctx)


@require_GET
@vary_on_headers("HX-Request")
def dashboard_panel(request: CustomerRequest, panel: str) -> HttpResponse:
    """One dashboard panel again (its retry button); a failure here is the upstream partial."""
    if panel not in PANELS:
        raise Http404("No such panel.")
    if not is_partial(request):
        return redirect("home")
    scope = customer_scope(request)
    read = history.PANEL_READS[panel](scope)
    ctx = {"today": _today(), **PANELS[panel](read, scope)}
    return render(request, f"orders/dashboard.html#{panel}", ctx)


def _columns(
    params: QueryDict, form: ListFilterForm, columns: Sequence[tuple[str, StrOrPromise, bool]]
) -> list[dict[str, Any]]:
    """A list's column headers, each a link that sorts by it (the other way when it already
    does)."""
    sort, descending = form.ordering()
    headers = []
    for key, label, numeric in columns:
        if not key:  # a column the list is not sorted by
            headers.append({"label": label, "numeric": numeric, "url": None})
            continue
        current = sort == key
        if current:
            next_dir = "asc" if descending else "desc"
        else:
            next_dir = "desc" if key in form.descending_first else "asc"
        headers.append(
            {
                "key": key,
                "label": label,
                "numeric": numeric,
                "url": query_string(params, sort=key, dir=next_dir, page=None),
                "aria_sort": ("descending" if descending else "ascending") if current else None,
                "next": "descending" if next_dir == "desc" else "ascending",
            }
        )
    return headers


def _listing(
    request: CustomerRequest,
    form: ListFilterForm,
    items: Sequence[Any],
    columns: Sequence[tuple[str, StrOrPromise, bool]],
) -> dict[str, Any]:
    """What a filtered, sorted, paged list shows around its rows: the page, its column headers,
    the links to the pages beside it and the query its CSV export repeats."""
    page = Paginator(items, form.value("per_page") or DEFAULT_PAGE_SIZE).get_page(
        form.value("page")
    )
    return {
        "form": form,
        "page": page,
        "columns": _columns(request.GET, form, columns),
        **page_links(request.GET, page),
        "htmx_partial": is_partial(request),
    }


def _list_page(
    request: CustomerRequest, template: str, list_id: str, ctx: dict[str, Any]
) -> HttpResponse:
    """The list's page, or (HTMX) its list alone; 422 when a filter the user sees is invalid."""
    name = f"{template}#{list_id}" if is_partial(request) else template
    return render(request, name, ctx, status=422 if reportable_errors(ctx["form"]) else 200)


@require_GET
@vary_on_headers("HX-Request")
def order_list(request: CustomerRequest) -> HttpResponse:
    form = OrderFilterForm(with_defaults(request.GET))
    nue = customer_scope(request)
    orders = history.order_history(nue, form.filters())
    listing = _listing(request, form, orders, COLUMNS)
    ctx = {
        **listing,
        "rows": order_rows(listing["page"].object_list),
        "omitted": nue.omitted("orders"),
        "filtered": any(form.value(k) for k in ("q", "status", "date_from", "date_to")),
    }
    return _list_page(request, "orders/order_list.html", "order-list", ctx)


def csv_number(value: Decimal | None) -> str:
    # Plain digits with a dot: spreadsheets read them as numbers in any locale's import dialog.
    return "" if value is None else f"{value:.2f}"


def csv_currency(code: str | None) -> str:
    known = currency_code(code)
    return "" if known == UNKNOWN else known


def _order_csv_row(o: Order) -> tuple[str, ...]:
    placed, start = history.order_date(o), o.start_date
    return (
        o.order_number,
        csv_text(o.name),
        o.status,
        o.order_type or "",
        placed.isoformat() if placed else "",
        start.isoformat() if start else "",
        csv_number(o.list_total),
        csv_number(o.discount_amount),
        csv_number(o.before_tax),
        csv_number(o.tax_amount),
        csv_number(o.total),
        csv_number(o.order_acv),
        csv_number(o.order_tcv),
        csv_text(o.po_number),
        csv_currency(o.currency),
    )


def _invoice_csv_row(invoice: Invoice, today: date) -> tuple[str, ...]:
    row = invoices.InvoiceRow.of(invoice, today)
    return (
        csv_text(invoice.name),
        csv_text(invoice.status),
        csv_text(invoice.payment_status),
        "yes" if row.overdue else "no",
        _iso(invoice.invoice_date),
        _iso(invoice.due_date),
        csv_number(invoice.amount),
        csv_number(invoice.tax_amount),
        csv_number(invoice.balance),
        " ".join(csv_text(o.order_number) for o in invoice.orders if o.order_number),
        csv_currency(invoice.currency),
    )


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _export(
    request: CustomerRequest,
    form: ListFilterForm,
    template: str,
    rows: Callable[[], Iterable[str]],
    name: str,
) -> HttpResponse | StreamingHttpResponse:
    """A filtered, sorted list (every page) as CSV, streamed row by row; invalid filters show
    the list's page with their errors instead."""
    if reportable_errors(form):
        ctx: dict[str, Any] = {
            "form": form,
            "page": None,
            "columns": [],
            "filtered": True,
            "export_query": "?",
        }
        return render(request, template, ctx, status=422)
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{_today():%Y-%m-%d}.csv"'
    return response


@require_GET
def order_export(request: CustomerRequest) -> HttpResponse | StreamingHttpResponse:
    """The filtered, sorted history (every page) as CSV."""
    form = OrderFilterForm(with_defaults(request.GET))
    return _export(
        request,
        form,
        "orders/order_list.html",
        lambda: csv_lines(
            CSV_HEADER,
            map(_order_csv_row, history.order_history(customer_scope(request), form.filters())),
        ),
        "orders",
    )


@require_GET
def order_detail(request: CustomerRequest, order_id: str) -> HttpResponse:
    nue = customer_scope(request)
    order, approval_read = history.order_with_approval(nue, order_id)
    names = history.subscription_names(order)
    found = _scheduled_for(nue, order, names)
    ctx = {
        "order": order,
        "rows": history.line_rows(order.lines),
        "subscription_names": [(name, "") for name in names],
        # How Nue charges them reads every subscription of the customer: the page asks for it
        # once it is shown (order_paid_by), rather than making every visit wait and pay for it.
        "paid_by_later": order.status == "Activated" and bool(names),
        "changes": history.order_changes(nue, order) if order.order_type == "Change" else [],
        "scheduled": [scheduled.notice(c, nue.account) for c in found.values()],
        "draft_panel": draft_panel(request, order, read=approval_read, scheduled=found)
        if order.is_draft
        else None,
        "approval_panel": approval_panel(request, order, read=approval_read, scheduled=found),
        "quote_panel": quote_link_panel(request, order) if order.is_draft else None,
        "contacts": billing.order_contacts(nue, order),
    }
    return render(request, "orders/order_detail.html", ctx)


def _scheduled_for(
    nue: CustomerNue, order: Order, names: Sequence[str]
) -> dict[str, ScheduledChange]:
    """What Nue has scheduled for the subscriptions a change order changes: what it scheduled,
    or (a draft) what leaves it no room."""
    if order.order_type != "Change" or not names:
        return {}
    changing = [s for s in nue.subscriptions() if s.name in names]
    return scheduled.shown_changes(nue, changing, _today())


@require_GET
@vary_on_headers("HX-Request")
def order_paid_by(request: CustomerRequest, order_id: str) -> HttpResponse:
    """The order page's subscriptions with what Nue charges each with (its HTMX partial)."""
    nue = customer_scope(request)
    order = nue.order(order_id, includes=("assets",))  # another customer's: 404, as ever
    if not is_partial(request):
        return redirect("orders:order_detail", order.id)
    names = history.subscription_names(order)
    ctx = {"order": order, **_paid_by(nue, order, names)}
    return render(request, "orders/order_detail.html#order-subscriptions", ctx)


def _paid_by(nue: CustomerNue, order: Order, names: list[str]) -> dict[str, Any]:
    """What Nue charges each subscription of an activated order with; a failing read costs
    only that (the order is shown, its subscriptions named)."""
    found: dict[str, str] = {}
    failed = None
    if order.status == "Activated" and names:
        try:
            found = cards.named_paid_by(nue, names)
        except NueError as error:
            failed = panel_error(error)
    return {
        "subscription_names": [(name, found.get(name, "")) for name in names],
        "paid_by_error": failed,
    }


@require_GET
def subscription_list(request: CustomerRequest) -> HttpResponse:
    nue = customer_scope(request)
    subscriptions = nue.subscriptions()
    found = scheduled.shown_changes(nue, subscriptions, _today())
    groups = [
        (scheduled.Shown(s, found.get(s.name)), scheduled.shown(add_ons, found))
        for s, add_ons in history.subscription_groups(subscriptions)
    ]
    ctx = {
        "groups": groups,
        "count": len(subscriptions),
        "omitted": nue.omitted("subscriptions"),
    }
    return render(request, "orders/subscription_list.html", ctx)


@require_GET
def subscription_detail(request: CustomerRequest, name: str) -> HttpResponse:
    nue = customer_scope(request)
    subscription = nue.subscription(name)
    found = history.subscription_history(nue, subscription)
    # From the orders the history read; when it could not, the cancellations only.
    changes = scheduled.shown_changes(
        nue, [subscription, *found.add_ons], _today(), () if found.error else found.orders
    )
    change = changes.get(subscription.name)
    ctx = {
        "subscription": scheduled.Shown(subscription, change),
        "notice": scheduled.notice(change, nue.account),
        "paid_by": cards.paid_by(nue.account, subscription),
        "versions": found.versions,
        "pending": found.pending,
        "unplaced": found.unplaced,
        "add_ons": scheduled.shown(found.add_ons, changes),
        "history_error": panel_error(found.error) if found.error else None,
    }
    return render(request, "orders/subscription_detail.html", ctx)


@require_GET
@vary_on_headers("HX-Request")
def invoice_list(request: CustomerRequest) -> HttpResponse:
    form = InvoiceFilterForm(with_defaults(request.GET))
    nue = customer_scope(request)
    today = _today()
    found = invoices.invoice_list(nue, form.filters(today))
    ctx = _listing(request, form, found, INVOICE_COLUMNS)
    ctx |= {
        "rows": [invoices.InvoiceRow.of(i, today) for i in ctx["page"].object_list],
        "omitted": nue.omitted("invoices"),
        "filtered": bool(form.value("q")) or (form.value("show") or "all") != "all",
        "how_to_pay": invoices.how_to_pay(nue.account),
        "may_pay": can_pay_invoices(request.membership),
        "pay_card": _pay_card(request, nue),
    }
    return _list_page(request, "orders/invoice_list.html", "invoice-list", ctx)


@require_GET
def invoice_export(request: CustomerRequest) -> HttpResponse | StreamingHttpResponse:
    """The filtered, sorted invoices (every page) as CSV: Nue's figures as plain numbers."""
    form = InvoiceFilterForm(with_defaults(request.GET))
    today = _today()
    return _export(
        request,
        form,
        "orders/invoice_list.html",
        lambda: csv_lines(
            INVOICE_CSV_HEADER,
            (
                _invoice_csv_row(i, today)
                for i in invoices.invoice_list(customer_scope(request), form.filters(today))
            ),
        ),
        "invoices",
    )


@require_GET
def invoice_detail(request: CustomerRequest, invoice_id: str) -> HttpResponse:
    nue = customer_scope(request)
    invoice = invoices.invoice(nue, invoice_id)
    may_pay = can_pay_invoices(request.membership)
    live = invoice_payments.live_payment(nue.account, invoice.id or invoice_id)
    auth = invoice_payments.authentication(live) if live is not None and may_pay else None
    card = invoice_payments.card_to_charge(nue.account)
    ctx = {
        "invoice": invoice,
        "row": invoices.InvoiceRow.of(invoice, _today()),
        "how_to_pay": invoices.how_to_pay(nue.account),
        "may_pay": may_pay,
        "pay_card": card if may_pay else None,
        # A viewer is told that the invoice is paid by card by others, not that nothing online is.
        "others_pay_card": None if may_pay else card,
        "live_payment": live,
        "authenticate": {
            "client_secret": auth.client_secret,
            "payment_method": auth.payment_method_id,
            "publishable_key": stripe_gateway.publishable_key(),
            "stripe_js": stripe_gateway.js_url(),
        }
        if auth
        else None,
    }
    response = render(request, "orders/invoice_detail.html", ctx)
    # Only while a payment awaits the card's authentication does the page load Stripe.js.
    return with_stripe_js(response) if auth else response


def _pay_card(request: CustomerRequest, nue: CustomerNue) -> Card | None:
    """The card on file a member who may pay is offered to pay with (None: no card, Stripe not
    configured, or a role that does not pay)."""
    if not can_pay_invoices(request.membership):
        return None
    return invoice_payments.card_to_charge(nue.account)
