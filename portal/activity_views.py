"""The account activity log (/account/activity/) and its CSV: for the acting customer's admins,
beside the support access log, and only ever of the acting customer's own events."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from portal import activity
from portal.activity_forms import ActivityFilterForm
from portal.http import is_partial
from portal.lists import csv_lines, page_links
from portal.models import Membership
from portal.policy import can_see_activity

PAGE_SIZE = 50
TEMPLATE = "portal/activity.html"


def _admin(request: HttpRequest) -> Membership:
    """The acting membership, when it may read the account's activity; for anyone else (a
    buyer, a viewer, staff without a customer) the page does not exist, as the access log."""
    membership: Membership | None = getattr(request, "membership", None)
    if membership is None or not can_see_activity(membership):
        raise Http404("No such page.")
    return membership


@require_GET
@vary_on_headers("HX-Request")
def activity_log(request: HttpRequest) -> HttpResponse:
    """The filtered activity, a page at a time; HTMX gets the results region alone. The URL
    carries the filters, so a filtered view can be bookmarked and shared."""
    account = _admin(request).account
    form = ActivityFilterForm(request.GET, account=account)
    page = Paginator(form.filter(activity.account_activity(account)), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    ctx = {
        "form": form,
        "page": page,
        "rows": list(activity.rows(page.object_list, account)),
        "filtered": form.filtered,
        **page_links(request.GET, page),
    }
    template = f"{TEMPLATE}#activity-results" if is_partial(request) else TEMPLATE
    return render(request, template, ctx, status=422 if form.errors else 200)


@require_GET
def activity_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Every event the filters find, as CSV, streamed row by row. Invalid filters show the page
    with their errors instead: a download must not hold more than was asked for."""
    account = _admin(request).account
    form = ActivityFilterForm(request.GET, account=account)
    events = form.filter(activity.account_activity(account))
    if form.errors:
        ctx: dict[str, object] = {
            "form": form,
            "page": None,
            "rows": [],
            "filtered": True,
            "export_query": "?",
        }
        return render(request, TEMPLATE, ctx, status=422)
    lines = csv_lines(
        activity.CSV_HEADER,
        map(activity.csv_row, activity.rows(events.iterator(chunk_size=500), account)),
    )
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    filename = f"activity-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
