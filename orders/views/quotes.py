"""Quote links (issue 26, item 2).

Public (no sign-in: the link's token is the credential): the quote's page at /quote/<token>/,
its PDF, its acceptance, and the SetupIntent of its card step. A revoked, superseded or expired
link answers 410 with a page that says which; an unknown token 404.

The account manager's (their book only, 404 otherwise): email a link, revoke it.

The token is a credential: no log line, audit event or error page of these views carries the
path it is in (`_unlogged`, `_audit`).
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from orders import stripe_gateway as gateway
from orders.actions import approvals, cards, quote_acceptance, quotes
from orders.actions import quote_pdf as pdf
from orders.actions.quote_acceptance import AwaitsApproval, QuoteClosed, QuoteRefused, QuoteStale
from orders.forms.quotes import QuoteAcceptForm, QuoteSendForm
from orders.http import CustomerRequest
from orders.models import QuoteAcceptance, QuoteLink
from orders.nue import NueConflict, NueError, NueValidationError, Order
from orders.policy import can_manage_quote_links
from orders.scope import CustomerNue
from orders.stripe_gateway import StripeError
from orders.views.common import is_partial, with_stripe_js
from orders.views.errors import TEXTS, add_form_errors, status_for
from orders.views.panels import quote_link_panel
from portal.audit import pending, write
from portal.impersonation import money_moving
from portal.models import AuditKind

logger = logging.getLogger("orders.quotes")

PAGE = "quotes/page.html"


def _unlogged(response: HttpResponse) -> HttpResponse:
    """Django logs every 4xx and 5xx answer with its path, which holds the link's token: these
    pages say what happened themselves, so the request log leaves them out."""
    response._has_been_logged = True  # type: ignore[attr-defined]
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _pending(
    request: HttpRequest, link: QuoteLink, kind: AuditKind, **details: Any
) -> dict[str, Any]:
    """portal.audit.pending's event of this request for the link's customer, with the link's
    token left out of its path."""
    spec = pending(request, kind, customer=link.customer, **details)
    return {**spec, "path": spec["path"].replace(link.token, "…")}


def _audit(request: HttpRequest, link: QuoteLink, kind: AuditKind, **details: Any) -> None:
    """An audit event of this request with the link's token left out of its path."""
    write(_pending(request, link, kind, quote_link=link.pk, **details))
    request.audit_recorded = True  # type: ignore[attr-defined]


def _link(token: str) -> QuoteLink:
    link = quotes.link_by_token(token)
    if link is None:
        raise Http404("No such quote.")
    return link


def _closed_page(request: HttpRequest, link: QuoteLink, closed: quotes.Closed) -> HttpResponse:
    ctx = {"closed": closed, "link": link}
    return _unlogged(render(request, "quotes/closed.html", ctx, status=410))


def _viewed(request: HttpRequest, token: str) -> QuoteLink | HttpResponse:
    """The open link a page or its PDF shows, its view recorded (and audited while support
    impersonates); a closed link's 410 page instead."""
    link = _link(token)
    closed = quotes.closed(link)
    if closed is not None:
        return _closed_page(request, link, closed)
    quotes.record_view(link, request.user)
    if getattr(request, "impersonation", None) is not None:
        _audit(request, link, AuditKind.PAGE_VIEWED)
    return link


def _upstream(request: HttpRequest, link: QuoteLink, error: NueError) -> HttpResponse:
    status = status_for(error)
    status = status if status in (502, 503, 504) else 502
    logger.warning(
        "quote page nue failure link=%s reference=%s kind=%s",
        link.pk,
        error.reference,
        type(error).__name__,
    )
    title, message = str(TEXTS[status][0]), str(TEXTS[status][1])
    ctx = {"title": title, "message": message, "reference": error.reference, "link": link}
    return _unlogged(render(request, "quotes/unavailable.html", ctx, status=status))


def _card_step() -> bool:
    """The tenant collects by card: accepting offers the billing page's card step."""
    return gateway.configured()


def _page(
    request: HttpRequest,
    link: QuoteLink,
    *,
    form: QuoteAcceptForm | None = None,
    status: int = 200,
    stale: list[str] | None = None,
    refusal: str = "",
) -> HttpResponse:
    """The quote's page: the quote, and its acceptance, or why it cannot be accepted, or the
    form. Reads the draft from Nue (raises NueError)."""
    acceptance = quote_acceptance.current(link)
    nue, order = quotes.read_draft(link)
    if acceptance is None and stale is None and not refusal:
        try:
            quote_acceptance.check(link, order, nue)
        except QuoteStale as held:
            stale = held.reasons
        except AwaitsApproval:
            refusal = _("This order awaits an approval decision: it cannot be accepted until then.")
        except QuoteRefused as refused:
            refusal = str(refused)
    open_form = acceptance is None and not stale and not refusal
    card_step = open_form and _card_step()
    if open_form and form is None:
        form = QuoteAcceptForm(card_step=card_step)
    ctx = quote_context(link, order, acceptance) | {
        "form": form if open_form else None,
        "stale": stale or [],
        "refusal": refusal,
        "card_step": card_step,
        "card_consent": cards.consent_text(link.customer) if card_step else "",
        "publishable_key": gateway.publishable_key() if card_step else "",
        "stripe_js": gateway.js_url() if card_step else "",
    }
    response = render(request, PAGE, ctx, status=status)
    if card_step:
        response = with_stripe_js(response)
    return _unlogged(response) if status >= 400 else response


def quote_context(
    link: QuoteLink, order: Order | None, acceptance: QuoteAcceptance | None
) -> dict[str, Any]:
    """What the quote's page and its PDF show: the order as Nue holds it (while it is the
    quoted draft, or the order it became), else the figures the link quoted."""
    return {
        "link": link,
        "order": order if order is not None and (order.is_draft or acceptance) else None,
        "figures": link.figures,
        "acceptance": acceptance,
        "maker": link.generated_by,
        "terms": [p.strip() for p in quote_acceptance.terms().split("\n") if p.strip()],
        "pdf_url": reverse("orders:quote_pdf", args=[link.token]),
    }


@login_not_required
@never_cache
@require_GET
def quote_page(request: HttpRequest, token: str) -> HttpResponse:
    link = _viewed(request, token)
    if isinstance(link, HttpResponse):
        return link
    try:
        return _page(request, link)
    except NueError as error:
        return _upstream(request, link, error)


@login_not_required
@never_cache
@require_GET
def quote_pdf(request: HttpRequest, token: str) -> HttpResponse:
    link = _viewed(request, token)
    if isinstance(link, HttpResponse):
        return link
    try:
        _nue, order = quotes.read_draft(link)
        ctx = quote_context(link, order, quote_acceptance.current(link))
        document = pdf.render(ctx)
    except NueError as error:
        return _upstream(request, link, error)
    except pdf.PdfUnavailable:
        ctx = {
            "title": _("The PDF cannot be made just now"),
            "message": _("The quote is on its page; please try the download again later."),
            "reference": "",
            "link": link,
        }
        return _unlogged(render(request, "quotes/unavailable.html", ctx, status=503))
    response = HttpResponse(document, content_type="application/pdf")
    number = link.order_number or link.order_id
    response["Content-Disposition"] = f'attachment; filename="quote-{number}.pdf"'
    return response


@login_not_required
@never_cache
@require_POST
@money_moving
def quote_accept(request: HttpRequest, token: str) -> HttpResponse:
    link = _link(token)
    closed = quotes.closed(link)
    if closed is not None:
        return _closed_page(request, link, closed)
    form = QuoteAcceptForm(request.POST, card_step=_card_step())
    status = 422
    try:
        if form.is_valid():
            accepting = form.accepting()
            audit = _pending(request, link, AuditKind.ACTIVATION)
            try:
                acceptance, made = quote_acceptance.accept(link, accepting, audit=audit)
            except QuoteClosed as gone:
                return _closed_page(request, link, gone.closed)
            except QuoteStale as stale:
                return _page(request, link, status=409, stale=stale.reasons)
            except QuoteRefused as refused:
                return _page(request, link, status=403, refusal=str(refused))
            except (cards.NoCard, StripeError) as failed:
                form.add_error(None, getattr(failed, "message", str(failed)))
                status = 409
            except (NueValidationError, NueConflict) as error:
                status = add_form_errors(form, error)
            else:
                if made:
                    _audit(
                        request,
                        link,
                        AuditKind.ACTION,
                        action="quote_accepted",
                        order_id=link.order_id,
                        order_number=link.order_number,
                        accepted_by=acceptance.name,
                        title=acceptance.title,
                        acceptor_email=acceptance.email,
                        po_number=acceptance.po_number,
                        outcome=acceptance.get_state_display(),
                        authority=link.generated_by.email,
                    )
                return redirect("orders:quote_page", link.token)
        return _page(request, link, form=form, status=status)
    except NueError as error:
        return _upstream(request, link, error)


@login_not_required
@never_cache
@require_POST
@money_moving
def quote_card_setup(request: HttpRequest, token: str) -> HttpResponse:
    """A SetupIntent's client secret for the card step (JSON), while the quote is open."""
    link = _link(token)
    if not _card_step():
        raise Http404("Card payments are not set up.")
    if quotes.closed(link) is not None or quote_acceptance.current(link) is not None:
        return _unlogged(
            JsonResponse({"error": _("This quote can no longer be accepted.")}, status=410)
        )
    try:
        secret = cards.start_setup(link.customer)
    except StripeError as error:
        return _unlogged(JsonResponse({"error": error.message}, status=502))
    return JsonResponse({"clientSecret": secret})


# The account manager's ------------------------------------------------------------------------


def _link_in_book(request: CustomerRequest, pk: int) -> QuoteLink:
    """Quote link `pk` of a customer in the signed-in manager's book; 404 for anyone else."""
    book = approvals.book_of(request.user)
    link = quotes.link_in_book(book, pk)
    if link is None or not can_manage_quote_links(request.user, link.customer):
        raise Http404("No such quote link.")
    return link


def _draft_page(
    request: CustomerRequest, link: QuoteLink, send_form: QuoteSendForm, status: int
) -> HttpResponse:
    """The draft's review page (or its quote panel, for HTMX) with the send form's errors."""
    order = CustomerNue(link.customer).order(link.order_id, status="draft")
    panel = quote_link_panel(request, order, send_form=send_form)
    ctx = {
        "account": link.customer,
        "order": order,
        "approval": approvals.latest_for(order.id),
        "quote_panel": panel,
    }
    if is_partial(request):
        return render(request, "orders/_quote_link.html", ctx, status=status)
    return render(request, "review/draft.html", ctx, status=status)


def _back(link: QuoteLink) -> str:
    return reverse("orders:review_draft", args=[link.customer_id, link.order_id]) + "#quote-link"


@require_POST
@vary_on_headers("HX-Request")
def review_quote_send(request: CustomerRequest, pk: int) -> HttpResponse:
    """Email the quote link to the address the manager gives (audited without the link)."""
    link = _link_in_book(request, pk)
    form = QuoteSendForm(request.POST)
    if form.is_valid():
        to = form.cleaned_data["email"]
        try:
            quotes.send_quote_link(link, to, by=request.user, note=form.cleaned_data["note"])
        except NueConflict as error:
            form.add_error(None, str(error))
        except Exception:
            logger.exception("quote link mail failed link=%s", link.pk)
            form.add_error(None, _("The email could not be sent just now. Try again in a moment."))
        else:
            _audit(
                request,
                link,
                AuditKind.ACTION,
                action="quote_link_sent",
                order_id=link.order_id,
                order_number=link.order_number,
                sent_to=to,
            )
            if is_partial(request):  # the panel again, saying where and when it was sent
                link.refresh_from_db()
                return _draft_page(request, link, QuoteSendForm(initial={"email": to}), 200)
            messages.success(
                request,
                _("Quote %(number)s sent to %(email)s.")
                % {"number": link.order_number, "email": to},
            )
            return redirect(_back(link))
    return _draft_page(request, link, form, 422)


@require_POST
@vary_on_headers("HX-Request")
def review_quote_revoke(request: CustomerRequest, pk: int) -> HttpResponse:
    """Withdraw a link: from now it opens a page saying so (audited)."""
    link = _link_in_book(request, pk)
    if quotes.revoke(link, by=request.user):
        _audit(
            request,
            link,
            AuditKind.ACTION,
            action="quote_link_revoked",
            order_id=link.order_id,
            order_number=link.order_number,
        )
        text = _("The quote link of %(number)s no longer works.") % {"number": link.order_number}
    else:
        text = _("That link no longer worked already, or its quote was accepted.")
    if is_partial(request):  # the panel again, saying the link was revoked
        return _draft_page(request, link, QuoteSendForm(), 200)
    messages.success(request, text)
    return redirect(_back(link))
