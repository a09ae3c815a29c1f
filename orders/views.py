"""Customer pages: dashboard, order history (and CSV), order detail, subscriptions, invoices.

Every read goes through `request.nue`, scoped to the acting customer. A NueError a view lets
through becomes orders.errors' 404 / friendly 5xx page or HTMX partial (orders.middleware); the
dashboard instead settles each panel's read on its own, so one failing read costs one panel.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from orders import approvals
from orders.errors import TEXTS, status_for
from orders.forms import (
    DEFAULT_PAGE_SIZE,
    InvoiceFilterForm,
    OrderFilterForm,
    csv_number,
    csv_text,
    order_date,
    reportable_errors,
    with_defaults,
)
from orders.http import CustomerRequest
from orders.ledger import change_orders_asked
from orders.nue import (
    SUBSCRIPTION_NAME,
    Asset,
    Invoice,
    NueError,
    Order,
    OrderLine,
    Subscription,
    SubscriptionChange,
    SubscriptionSnapshot,
)
from orders.panels import approval_panel, draft_panel, quote_link_panel
from orders.scope import CustomerNue, fetch_alongside, fetch_concurrently

logger = logging.getLogger("orders.views")
T = TypeVar("T")

RENEWAL_WINDOW = timedelta(days=90)
RECENT_ORDERS = 5
# The dashboard is a glance: more open drafts than this link to the filtered history instead.
AWAITING_SHOWN = 6
SPEND_MONTHS = 12
# One page of Nue's invoice list covers a year of any demo customer; more is not "at a glance".
DASHBOARD_INVOICES = 500
DETAIL_INCLUDES = ("orderProducts", "assets", "invoices")
# The order page shows its lines and invoices; its status is what it shows, so it is not filtered.
# Its lines, its invoices, and the subscriptions it made versions of (its related assets).
ORDER_PAGE_INCLUDES = ("orderProducts", "assets", "invoices")
COLUMNS = (
    ("number", "Order", False),
    ("name", "Name", False),
    ("status", "Status", False),
    ("date", "Placed", False),
    ("start", "Start", False),
    ("total", "Total", True),
    ("acv", "ACV", True),
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
)


def _partial(request: CustomerRequest) -> bool:
    return bool(request.htmx and not request.htmx.history_restore_request)


def _nue(request: CustomerRequest) -> CustomerNue:
    """The acting customer's scope; without one (staff, no membership) these pages do not exist."""
    if request.nue is None:
        raise Http404("No customer account is selected.")
    return request.nue


def _today() -> date:
    return timezone.localdate()


# --- Dashboard ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelError:
    """A panel's read that failed: what the panel says instead of its content."""

    title: str
    message: str
    reference: str


def _settled(call: Callable[[], T]) -> Callable[[], T | PanelError]:
    def run() -> T | PanelError:
        try:
            return call()
        except NueError as error:
            logger.warning(
                "panel read failed reference=%s kind=%s",
                error.reference,
                type(error).__name__,
            )
            title, message = TEXTS.get(status_for(error), TEXTS[502])
            return PanelError(title, message, error.reference)

    return run


def _subscriptions_panel(subscriptions: list[Subscription] | PanelError) -> dict[str, Any]:
    if isinstance(subscriptions, PanelError):
        return {"subscriptions_error": subscriptions}
    today = _today()
    main = [s for s in _top_level(subscriptions) if s.status in ("Active", "Pending")]
    # A subscription scheduled to cancel ends on its last day: it is not up for renewal.
    renewals = [
        s
        for s in main
        if s.end_date is not None
        and s.cancels_on is None
        and today <= s.end_date <= today + RENEWAL_WINDOW
    ]
    return {"active_subscriptions": main, "renewals": renewals}


def _activity_panel(orders: list[Order] | PanelError) -> dict[str, Any]:
    if isinstance(orders, PanelError):
        return {"activity_error": orders}
    by_date = sorted(orders, key=lambda o: order_date(o) or date.min, reverse=True)
    drafts = approvals.awaiting([o for o in by_date if o.is_draft])
    return {
        "awaiting": drafts[:AWAITING_SHOWN],
        "awaiting_count": len(drafts),
        "recent_orders": by_date[:RECENT_ORDERS],
    }


def _billing_panel(invoices: list[Invoice] | PanelError) -> dict[str, Any]:
    if isinstance(invoices, PanelError):
        return {"billing_error": invoices}
    today = _today()
    months = _spend_by_month(invoices, today)
    open_invoices = [i for i in invoices if (i.balance or 0) > 0]
    overdue = [i for i in open_invoices if _is_overdue(i, today)]
    return {
        "spend_months": months,
        "invoiced_total": sum((amount for _, amount in months), Decimal(0)),
        "open_invoices": open_invoices,
        "open_total": sum((i.balance or Decimal(0) for i in open_invoices), Decimal(0)),
        "overdue_count": len(overdue),
        "overdue_total": sum((i.balance or Decimal(0) for i in overdue), Decimal(0)),
    }


def _dashboard_invoices(nue: CustomerNue) -> list[Invoice]:
    return list(nue.invoices(page=1, limit=DASHBOARD_INVOICES).items)


PANELS: dict[str, tuple[Callable[[CustomerNue], Any], Callable[[Any], dict[str, Any]]]] = {
    "subscriptions-panel": (lambda nue: nue.subscriptions(), _subscriptions_panel),
    "activity-panel": (lambda nue: nue.orders(), _activity_panel),
    "billing-panel": (_dashboard_invoices, _billing_panel),
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
    """The three reads run at once, and the approvals summary is read from the database while
    they are in flight."""
    nue = _nue(request)
    summary, reads = fetch_alongside(
        partial(approvals.for_customer, nue.account),
        **{name: _settled(partial(read, nue)) for name, (read, _) in PANELS.items()},
    )
    ctx: dict[str, Any] = {"today": _today(), "approvals": summary}
    for name, (_, build) in PANELS.items():
        ctx.update(build(reads[name]))
    return render(request, "orders/dashboard.html", ctx)


@require_GET
@vary_on_headers("HX-Request")
def dashboard_panel(request: CustomerRequest, panel: str) -> HttpResponse:
    """One dashboard panel again (its retry button); a failure here is the upstream partial."""
    if panel not in PANELS:
        raise Http404("No such panel.")
    if not _partial(request):
        return redirect("home")
    read, build = PANELS[panel]
    ctx = {"today": _today(), **build(read(_nue(request)))}
    return render(request, f"orders/dashboard.html#{panel}", ctx)


def _spend_by_month(invoices: list[Invoice], today: date) -> list[tuple[date, Decimal]]:
    """Invoiced amounts of the last 12 calendar months, this one included, oldest first."""
    months = []
    first = today.replace(day=1)
    for _ in range(SPEND_MONTHS):
        months.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    months.reverse()
    totals = dict.fromkeys(months, Decimal(0))
    for invoice in invoices:
        if invoice.invoice_date is None or invoice.status == "Canceled":
            continue
        month = invoice.invoice_date.replace(day=1)
        if month in totals:
            totals[month] += invoice.amount
    return list(totals.items())


def _is_overdue(invoice: Invoice, today: date) -> bool:
    return (
        (invoice.balance or 0) > 0
        and invoice.due_date is not None
        and invoice.due_date < today
        and invoice.status != "Canceled"
    )


def _top_level(subscriptions: list[Subscription]) -> list[Subscription]:
    return [s for s in subscriptions if not s.is_add_on]


# --- Order history and export ---------------------------------------------------------------------


def _filtered_orders(request: CustomerRequest, form: OrderFilterForm) -> list[Order]:
    # Nue filters by status itself; product names come only with the lines, read when searching.
    status = form.value("status") or None
    includes = ("orderProducts",) if form.needs_lines else ()
    return _nue(request).orders(status=status, includes=includes, arrangement=form.arrangement)


def _query(params: QueryDict, **changes: object) -> str:
    query = params.copy()
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = str(value)
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


def _columns(params: QueryDict, form: OrderFilterForm) -> list[dict[str, Any]]:
    columns = []
    for key, label, numeric in COLUMNS:
        current = form.sort_key == key
        if current:
            next_dir = "asc" if form.descending else "desc"
        else:
            next_dir = "desc" if key in ("date", "start", "total", "acv", "number") else "asc"
        columns.append(
            {
                "key": key,
                "label": label,
                "numeric": numeric,
                "url": _query(params, sort=key, dir=next_dir, page=None),
                "aria_sort": ("descending" if form.descending else "ascending")
                if current
                else None,
                "next": "descending" if next_dir == "desc" else "ascending",
            }
        )
    return columns


@require_GET
@vary_on_headers("HX-Request")
def order_list(request: CustomerRequest) -> HttpResponse:
    form = OrderFilterForm(with_defaults(request.GET))
    orders = _filtered_orders(request, form)
    per_page = form.value("per_page") or DEFAULT_PAGE_SIZE
    page = Paginator(orders, per_page).get_page(form.value("page"))
    ctx = {
        "form": form,
        "page": page,
        "omitted": _nue(request).omitted("orders"),
        "columns": _columns(request.GET, form),
        "filtered": any(form.value(k) for k in ("q", "status", "date_from", "date_to")),
        "previous_url": _query(request.GET, page=page.previous_page_number())
        if page.has_previous()
        else None,
        "next_url": _query(request.GET, page=page.next_page_number()) if page.has_next() else None,
        "export_query": _query(request.GET, page=None),
        "htmx_partial": _partial(request),
    }
    template = "orders/order_list.html"
    if _partial(request):
        template += "#order-list"
    return render(request, template, ctx, status=422 if reportable_errors(form) else 200)


class _Echo:
    """csv.writer's file: hands each row back instead of storing it, for streaming."""

    def write(self, value: str) -> str:
        return value


def _csv_rows(orders: list[Order]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for o in orders:
        placed, start = order_date(o), o.start_date
        yield writer.writerow(
            (
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
            )
        )


@require_GET
def order_export(request: CustomerRequest) -> HttpResponse | StreamingHttpResponse:
    """The filtered, sorted history (every page) as CSV, streamed row by row."""
    form = OrderFilterForm(with_defaults(request.GET))
    if reportable_errors(form):
        return render(request, "orders/order_list.html", _export_error_ctx(form), status=422)
    orders = _filtered_orders(request, form)
    response = StreamingHttpResponse(_csv_rows(orders), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="orders-{_today():%Y-%m-%d}.csv"'
    return response


def _export_error_ctx(form: OrderFilterForm) -> dict[str, Any]:
    return {"form": form, "page": None, "columns": [], "filtered": True, "export_query": "?"}


# --- Order detail ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineRow:
    line: OrderLine
    depth: int
    parent: OrderLine | None

    @property
    def included(self) -> bool:
        """A $0 add-on that comes with its bundle (Bundled option type)."""
        return self.parent is not None and self.line.total_price == 0


def _line_rows(lines: tuple[OrderLine, ...]) -> list[LineRow]:
    rows: list[LineRow] = []

    def visit(line: OrderLine, depth: int, parent: OrderLine | None) -> None:
        rows.append(LineRow(line, depth, parent))
        for child in line.children:
            visit(child, depth + 1, line)

    for line in lines:
        visit(line, 0, None)
    return rows


@require_GET
def order_detail(request: CustomerRequest, order_id: str) -> HttpResponse:
    nue = _nue(request)
    # The approval panel's row is read while Nue answers; it is shown only if Nue then finds
    # the order among this customer's (a foreign or unknown id is the 404 page).
    approval_read, reads = fetch_alongside(
        partial(approvals.LatestRead.of, order_id),
        order=partial(nue.order, order_id, includes=ORDER_PAGE_INCLUDES),
    )
    order = reads["order"]
    ctx = {
        "order": order,
        "rows": _line_rows(order.lines),
        "subscription_names": _subscription_names(order),
        "changes": _changes(nue, order) if order.order_type == "Change" else [],
        "draft_panel": draft_panel(request, order, read=approval_read) if order.is_draft else None,
        "approval_panel": approval_panel(request, order, read=approval_read),
        "quote_panel": quote_link_panel(request, order) if order.is_draft else None,
    }
    return render(request, "orders/order_detail.html", ctx)


def _subscription_names(order: Order) -> list[str]:
    """The subscriptions of an order. Its lines do not name them (nue-api.md §3.2): an activated
    order lists those it made versions of as its related assets (§2.1), and a draft change
    order's summary, when Nue sends one, names those it changes."""
    names = {a.name for a in order.assets if SUBSCRIPTION_NAME.fullmatch(a.name)}
    return sorted(names | {c.name for c in order.changes})


def _changes(nue: CustomerNue, order: Order) -> list[SubscriptionChange]:
    """Each subscription a change order touches: before and after.

    Nue's own summary on the order is used when it sends one. Otherwise an activated order's
    before/after are the versions its activation closed and created, read from the orders'
    related assets; of a draft without one, nothing says which subscriptions it changes.
    """
    if order.changes:
        return list(order.changes)
    if order.status != "Activated":
        return []
    orders = nue.orders(includes=DETAIL_INCLUDES)
    result = []
    for name in _subscription_names(order):
        versions = subscription_versions(orders, name)
        mine = next((i for i, v in enumerate(versions) if v.order.id == order.id), None)
        if mine:  # index 0 would mean this order created the subscription: nothing before it
            before, after = versions[mine - 1].snapshot, versions[mine].snapshot
            result.append(
                SubscriptionChange(name, versions[mine].change_types, before, after, None)
            )
    return result


# --- Subscriptions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    """One version of a subscription: the order that made it and the terms it set."""

    number: int
    order: Order
    change_types: tuple[str, ...]
    snapshot: SubscriptionSnapshot
    differences: tuple[str, ...]


def _snapshot(asset: Asset, number: int) -> SubscriptionSnapshot:
    return SubscriptionSnapshot(
        version=number,
        product_id=asset.product_id,
        product_name=asset.product_name,
        price_book_entry_id=None,
        quantity=asset.quantity if asset.quantity is not None else Decimal(0),
        start_date=asset.start_date,
        end_date=asset.end_date,
        term=None,
        status=asset.status,
        sales_price=None,
        total_amount=None,
    )


def _differences(before: SubscriptionSnapshot | None, after: SubscriptionSnapshot) -> list[str]:
    if before is None:
        return ["Created"]
    found = []
    if before.product_name != after.product_name:
        found.append(f"Product {before.product_name} → {after.product_name}")
    if before.quantity != after.quantity:
        found.append(f"Quantity {before.quantity:g} → {after.quantity:g}")
    if before.end_date != after.end_date and after.end_date is not None:
        ends = f"{_text_day(before.end_date)} → {_text_day(after.end_date)}"
        found.append(f"Ends {ends}")
    if before.status != after.status:
        found.append(f"Status {before.status} → {after.status}")
    return found or ["No change to quantity, product or dates"]


def _text_day(value: date | None) -> str:
    return f"{value.day} {value:%b %Y}" if value else "—"


def subscription_versions(orders: list[Order], name: str) -> list[Version]:
    """The activated orders that created a version of `name`, oldest first."""
    made = []
    for order in orders:
        if order.status != "Activated":
            continue
        asset = next((a for a in order.assets if a.name == name), None)
        if asset is not None:
            made.append((order, asset))
    made.sort(key=lambda pair: (pair[0].activated_date or date.min, pair[0].order_number))
    versions: list[Version] = []
    for number, (order, asset) in enumerate(made, start=1):
        snapshot = _snapshot(asset, number)
        before = versions[-1].snapshot if versions else None
        previous = made[number - 2][1] if number > 1 else None
        types = _change_types(order, asset, previous)
        versions.append(
            Version(number, order, types, snapshot, tuple(_differences(before, snapshot)))
        )
    return versions


def _change_types(order: Order, asset: Asset, previous: Asset | None) -> tuple[str, ...]:
    """What made this version: nothing before it, a new subscription; else the change types of
    the order's lines priced on the subscription's price book entry, before or after (nue-api.md
    §3.2, §3.3: the lines do not name it), unless the order made a version of another
    subscription priced on that entry too. "Change" where no line can be told to be its."""
    if previous is None:
        return ("New",)
    entries = {asset.price_book_entry_id, previous.price_book_entry_id} - {None}
    entries -= {a.price_book_entry_id for a in order.assets if a.name != asset.name}
    types = (
        ln.change_type
        for ln in order.all_lines()
        if ln.change_type and ln.price_book_entry_id in entries
    )
    return tuple(dict.fromkeys(types)) or ("Change",)


@require_GET
def subscription_list(request: CustomerRequest) -> HttpResponse:
    nue = _nue(request)
    subscriptions = nue.subscriptions()
    # Grouped under the bundle at the top (rootId, nue-api.md §3.3): an option of an option, such
    # as a bundled Connector Runtime under Integration Pack, is listed with the rest.
    children: dict[str, list[Subscription]] = {}
    for s in subscriptions:
        if s.is_add_on and s.root_id is not None:
            children.setdefault(s.root_id, []).append(s)
    groups = [(s, children.get(s.id, [])) for s in _top_level(subscriptions)]
    ctx = {
        "groups": groups,
        "count": len(subscriptions),
        "omitted": nue.omitted("subscriptions"),
    }
    return render(request, "orders/subscription_list.html", ctx)


def _subscription_for(request: CustomerRequest, name: str) -> Subscription:
    return _nue(request).subscription(name)


@require_GET
def subscription_detail(request: CustomerRequest, name: str) -> HttpResponse:
    subscription = _subscription_for(request, name)
    nue = _nue(request)
    # The subscription itself is the page; its history is a panel: a failing read of the order
    # history costs that panel, not the page.
    reads: dict[str, Any] = fetch_concurrently(
        subscriptions=nue.subscriptions,
        orders=_settled(lambda: nue.orders(includes=DETAIL_INCLUDES)),
    )
    history_error = reads["orders"] if isinstance(reads["orders"], PanelError) else None
    orders: list[Order] = [] if history_error else reads["orders"]
    versions = subscription_versions(orders, subscription.name)
    version_ids = {subscription.id} | {a.id for o in orders for a in o.assets if a.name == name}
    pending, unplaced = _drafts_changing(orders, name)
    ctx = {
        "subscription": subscription,
        "versions": list(reversed(versions)),
        "pending": pending,
        "unplaced": unplaced,
        # A bundle's add-ons at every level by the documented rootId (nue-api.md §3.3). Which
        # add-on an option of an option belongs to, Nue does not document (§3.3 has no parentId).
        "add_ons": [
            s
            for s in reads["subscriptions"]
            if s.root_id in version_ids and s.id != subscription.id
        ],
        "history_error": history_error,
    }
    return render(request, "orders/subscription_detail.html", ctx)


def _drafts_changing(orders: list[Order], name: str) -> tuple[list[Order], list[Order]]:
    """The drafts awaiting activation that change subscription `name`, and the change orders
    awaiting activation of which nothing says which subscriptions they change.

    A draft's lines do not name its subscriptions (nue-api.md §3.2): Nue's change summary on the
    order names them when Nue sends one, and the request the ledger stored names those of the
    change orders the portal made.
    """
    drafts = approvals.awaiting([o for o in orders if o.is_draft])
    asked = change_orders_asked([o.id for o in drafts if o.order_type == "Change"])
    named = {o.id: {c.name for c in o.changes} | asked.get(o.id, set()) for o in drafts}
    pending = [o for o in drafts if name in named[o.id]]
    unplaced = [o for o in drafts if o.order_type == "Change" and not named[o.id]]
    return pending, unplaced


# --- Invoices -------------------------------------------------------------------------------------


@require_GET
@vary_on_headers("HX-Request")
def invoice_list(request: CustomerRequest) -> HttpResponse:
    form = InvoiceFilterForm(with_defaults(request.GET))
    per_page = form.value("per_page") or DEFAULT_PAGE_SIZE
    nue = _nue(request)
    invoices = nue.invoices(
        page=form.value("page") or 1, limit=per_page, status=form.value("status") or None
    )
    today = _today()
    ctx = {
        "form": form,
        "invoices": invoices,
        "overdue_ids": {i.id for i in invoices.items if _is_overdue(i, today)},
        "previous_url": _query(request.GET, page=invoices.page - 1)
        if invoices.has_previous
        else None,
        "next_url": _query(request.GET, page=invoices.page + 1) if invoices.has_next else None,
        "pages": max(1, -(-invoices.total // per_page)),
        "omitted": nue.omitted("invoices"),
    }
    template = "orders/invoice_list.html"
    if _partial(request):
        template += "#invoice-list"
    return render(request, template, ctx, status=422 if reportable_errors(form) else 200)


def _invoice_for(request: CustomerRequest, invoice_id: str) -> Invoice:
    return _nue(request).invoice(invoice_id)


@require_GET
def invoice_detail(request: CustomerRequest, invoice_id: str) -> HttpResponse:
    invoice = _invoice_for(request, invoice_id)
    ctx = {"invoice": invoice, "overdue": _is_overdue(invoice, _today())}
    return render(request, "orders/invoice_detail.html", ctx)
