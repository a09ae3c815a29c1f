"""Browser pages behind magic links, order and invoice links: a printable quote, order, invoice.

No API key: the signed, time-limited token in the URL is the credential (nue-api.md §5.15). The
pages carry no script and no inline style, so they render under the portal's strict CSP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.http import require_GET

from nue_emulator.actions.common import as_date
from nue_emulator.models import Invoice, Order
from nue_emulator.views import (
    INVOICE_SALT,
    LINK_MAX_AGE,
    ORDER_PDF_SALT,
    QUOTE_SALT,
    QUOTE_TEMPLATES,
)

STYLESHEET = Path(__file__).parent / "static" / "nue_emulator" / "print.css"


def _private(response: HttpResponse) -> HttpResponse:
    # The URL is the credential: keep it out of caches, search engines and Referer headers.
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _render(
    request: HttpRequest, template: str, ctx: dict[str, Any], status: int = 200
) -> HttpResponse:
    # Nue's pages, in its language and on its clock, whoever opens them (the portal mounts the
    # emulator behind its own middleware, which activates the signed-in person's).
    with translation.override("en"), timezone.override(None):
        return render(request, template, ctx, status=status)


def _unavailable(request: HttpRequest, expired: bool) -> HttpResponse:
    ctx = {"expired": expired}
    return _private(
        _render(request, "nue_emulator/link_unavailable.html", ctx, status=410 if expired else 404)
    )


def _load(token: str, salt: str) -> tuple[Any, bool]:
    try:
        return signing.loads(token, salt=salt, max_age=LINK_MAX_AGE), False
    except signing.SignatureExpired:
        return None, True
    except signing.BadSignature:
        return None, False


def _order_page(request: HttpRequest, order: Order, template: str, name: str) -> HttpResponse:
    doc = order.doc
    ctx = {
        "order": doc,
        "lines": [_line(line) for line in doc.get("orderProducts", [])],
        "template": template,
        "template_name": name,
        "effective": as_date(doc["effectiveDate"]),
    }
    return _private(_render(request, "nue_emulator/quote.html", ctx))


@login_not_required
@require_GET
def quote(request: HttpRequest, token: str) -> HttpResponse:
    payload, expired = _load(token, QUOTE_SALT)
    found = Order.objects.filter(id=payload["o"]).first() if isinstance(payload, dict) else None
    if found is None:
        return _unavailable(request, expired)
    template = payload.get("t", "standard")
    return _order_page(request, found, template, QUOTE_TEMPLATES.get(template, "Quote"))


@login_not_required
@require_GET
def order_pdf(request: HttpRequest, token: str) -> HttpResponse:
    """An activated order's document, behind the `orderPdf` link (views.OrderPdfs)."""
    try:
        order_id = signing.TimestampSigner(salt=ORDER_PDF_SALT).unsign(token, max_age=LINK_MAX_AGE)
    except signing.SignatureExpired:
        return _unavailable(request, True)
    except signing.BadSignature:
        return _unavailable(request, False)
    found = Order.objects.filter(id=order_id, status="Activated").first()
    if found is None:
        return _unavailable(request, False)
    return _order_page(request, found, "standard", "Order")


def _line(line: dict[str, Any]) -> dict[str, Any]:
    return {
        **line,
        "start": as_date(line["subscriptionStartDate"]),
        "end": as_date(line["subscriptionEndDate"]) if line.get("subscriptionEndDate") else None,
        "indent": f"level-{min(int(line.get('level') or 1), 4)}",
    }


@login_not_required
@require_GET
def invoice(request: HttpRequest, token: str) -> HttpResponse:
    payload, expired = _load(token, INVOICE_SALT)
    found = Invoice.objects.filter(id=payload).first() if isinstance(payload, str) else None
    if found is None:
        return _unavailable(request, expired)
    doc = found.doc
    ctx = {
        "invoice": doc,
        "invoice_date": as_date(doc["invoiceDate"]),
        "due_date": as_date(doc["dueDate"]),
        "items": [
            {**item, "start": as_date(item["startDate"]), "end": as_date(item["endDate"])}
            for item in doc.get("items", [])
        ],
    }
    return _private(_render(request, "nue_emulator/invoice.html", ctx))


@login_not_required
@require_GET
def stylesheet(request: HttpRequest) -> HttpResponse:
    """Served by the emulator itself so the standalone server needs no static-files setup."""
    response = HttpResponse(STYLESHEET.read_text(), content_type="text/css")
    response["Cache-Control"] = "public, max-age=3600"
    return response
