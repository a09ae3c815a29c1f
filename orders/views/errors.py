"""The one place that turns Nue failures into responses.

Views let `NueError`s propagate: orders.middleware.NueMiddleware hands them to
`upstream_error_response`, which answers 404 (missing or not yours), 409 (wrong state, already in
progress), 422 (Nue rejected the input), or a friendly 502/503/504 page — or, for an HTMX request,
the `orders/_upstream_error.html` partial — with a reference id and a retry button that replays the
request (a POST's fields included, so nothing the user typed is lost). A view with a form catches
`NueError` itself and calls `add_form_errors` to re-render the form with the user's input.

Every failure shown with a reference is kept under it (`remember`, orders.actions.failures), for
support to look up: the one place references are handed to users is the one place they are kept.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.core.handlers.exception import response_for_exception
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.actions import failures
from orders.models import RequestFailure
from orders.nue import (
    NueAuthError,
    NueConflict,
    NueError,
    NueNotFound,
    NueProtocolError,
    NueRateLimited,
    NueUnavailable,
    NueValidationError,
    OperationInProgress,
)
from orders.views.common import is_partial
from portal.models import CustomerAccount, User

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise

    from orders.listing import Omitted

logger = logging.getLogger("orders.errors")

# What the user reads for each failure: (title, message). Technical detail stays in the log.
TEXTS: dict[int, tuple[StrOrPromise, StrOrPromise]] = {
    409: (
        gettext_lazy("This changed in the meantime"),
        gettext_lazy("Reload the page to see the current state."),
    ),
    422: (
        gettext_lazy("Please check your input"),
        gettext_lazy("The billing system did not accept it."),
    ),
    502: (
        gettext_lazy("Our billing system answered with an error"),
        gettext_lazy("Nothing was lost. Please try again in a moment."),
    ),
    503: (
        gettext_lazy("We're temporarily unavailable"),
        gettext_lazy("Nothing was lost. Please try again in a moment."),
    ),
    504: (
        gettext_lazy("Our billing system did not answer in time"),
        gettext_lazy("Nothing was lost. Please try again in a moment."),
    ),
}
IN_PROGRESS: tuple[StrOrPromise, StrOrPromise] = (
    gettext_lazy("Already in progress"),
    gettext_lazy(
        "We are still confirming the previous attempt with the billing system. Reload in a moment."
    ),
)
# A write whose answer was lost (a timeout, a reset, a 5xx or an unreadable answer) may have
# gone through; the ledger checks with Nue before anything is sent again.
TIMED_OUT_WRITE: tuple[StrOrPromise, StrOrPromise] = (
    gettext_lazy("We are checking whether this went through"),
    gettext_lazy(
        "The billing system did not confirm it. Trying again is safe: we check what happened "
        "before anything is sent again, and show you the result."
    ),
)
# A draft (order or change order) whose creation Nue may have done although its answer was lost
# or could not be read: no ledger guards a draft, so sending again would make a second one.
DRAFT_MAY_EXIST: tuple[StrOrPromise, StrOrPromise] = (
    gettext_lazy("Your draft may have been created"),
    gettext_lazy(
        "The billing system's answer could not be read, so we cannot tell whether the draft was "
        "made. Look for it among your draft orders before trying again: another attempt makes "
        "another draft."
    ),
)
SKIPPED_FIELDS = frozenset({"csrfmiddlewaretoken"})

# The request being served (orders.middleware sets it), for the failures mapped where no request
# is at hand: a panel's failed read, a form's error.
serving_request: ContextVar[HttpRequest | None] = ContextVar("serving_request", default=None)
KEPT_ATTRIBUTE = "_failures_kept"


@dataclass(frozen=True)
class PanelError:
    """A panel's read that failed: what the panel says instead of its content
    (orders/_panel_error.html), while the rest of its page is shown."""

    title: str
    message: str
    reference: str


def panel_error(error: NueError, *, customer: CustomerAccount | None = None) -> PanelError:
    """`customer`: whose read it was, where the page acts for no customer (a staff page)."""
    logger.warning("panel read failed reference=%s kind=%s", error.reference, type(error).__name__)
    title, message = _shown(TEXTS.get(status_for(error), TEXTS[502]))
    # The page itself is served; the panel says what failed.
    shown_as = RequestFailure.ShownAs.PANEL
    remember(None, error, error.reference, 200, title, shown_as, customer=customer)
    return PanelError(title, message, error.reference)


def remember(
    request: HttpRequest | None,
    error: BaseException,
    reference: str,
    status: int,
    title: str,
    shown_as: str,
    *,
    customer: CustomerAccount | None = None,
) -> None:
    """Keep the failure shown with `reference` for support's lookup (orders.actions.failures).

    Never in the way of the answer: when it cannot be kept, that is logged and the user is
    still shown the failure. A reference is kept once per request however often it is shown.
    """
    request = request or serving_request.get()
    try:
        kept: set[str] | None = getattr(request, KEPT_ATTRIBUTE, None)
        if kept is None and request is not None:
            kept = set()
            setattr(request, KEPT_ATTRIBUTE, kept)
        if kept is not None:
            if reference in kept:
                return
            kept.add(reference)
        failure = _failure(request, reference, status, title, shown_as)
        if customer is not None:
            failure = replace(failure, customer_id=customer.pk)
        failures.record(failure, error)
    except Exception:
        logger.exception("failure reference=%s could not be recorded", reference)


def _failure(
    request: HttpRequest | None, reference: str, status: int, title: str, shown_as: str
) -> failures.Failure:
    if request is None:
        return failures.Failure(reference, status, title, shown_as)
    user = getattr(request, "user", None)
    user = user if isinstance(user, User) else None
    impersonator = getattr(request, "impersonator", None)
    impersonator = impersonator if isinstance(impersonator, User) else None
    customer = getattr(request, "customer", None)
    page = ""
    if is_partial(request):
        # Where the user was (htmx's header); only its path, as for the request itself.
        page = urlsplit(request.headers.get("HX-Current-URL", "")).path
    return failures.Failure(
        reference,
        status,
        title,
        shown_as,
        user_id=user.pk if user else None,
        user_email=user.email if user else "",
        impersonator_id=impersonator.pk if impersonator else None,
        impersonator_email=impersonator.email if impersonator else "",
        customer_id=customer.pk if isinstance(customer, CustomerAccount) else None,
        method=request.method or "",
        path=request.path,
        page=page,
    )


def status_for(error: NueError) -> int:
    if isinstance(error, NueNotFound):
        return 404
    if isinstance(error, NueConflict | OperationInProgress):
        return 409
    if isinstance(error, NueValidationError):
        return 422
    if isinstance(error, NueUnavailable):
        if error.timed_out:
            return 504
        # 5xx from Nue itself is a bad gateway; a connection that failed means Nue is unreachable.
        return 502 if error.status is not None else 503
    if isinstance(error, NueProtocolError):
        return 502
    # NueAuthError (our key) and NueRateLimited: the portal cannot serve this right now.
    return 503


def _refused_read(request: HttpRequest, error: NueError) -> bool:
    """A read Nue rejected as invalid: the reader typed nothing, so it is an upstream failure."""
    return request.method in ("GET", "HEAD") and isinstance(error, NueValidationError)


def _texts(error: NueError, status: int, request: HttpRequest) -> tuple[str, str]:
    if isinstance(error, OperationInProgress):
        return str(IN_PROGRESS[0]), error.message or str(IN_PROGRESS[1])
    if error.outcome_unknown:
        return _shown(TIMED_OUT_WRITE)
    if error.draft_may_exist:
        return _shown(DRAFT_MAY_EXIST)
    if _refused_read(request, error):
        return _shown(TEXTS[502])
    if isinstance(error, NueConflict | NueValidationError):
        return str(TEXTS[status][0]), error.message
    return _shown(TEXTS[status])


def _shown(texts: tuple[StrOrPromise, StrOrPromise]) -> tuple[str, str]:
    """A (title, message) pair in the reader's language."""
    return str(texts[0]), str(texts[1])


def upstream_error_response(request: HttpRequest, error: NueError) -> HttpResponse:
    status = 502 if _refused_read(request, error) else status_for(error)
    level = logging.ERROR if isinstance(error, NueAuthError | NueProtocolError) else logging.WARNING
    logger.log(
        level,
        "nue failure reference=%s kind=%s upstream_status=%s status=%s method=%s path=%s",
        error.reference,
        type(error).__name__,
        error.status,
        status,
        request.method,
        request.path,
    )
    if status == 404:
        return response_for_exception(request, Http404("No such object."))
    title, message = _texts(error, status, request)
    shown_as = (
        RequestFailure.ShownAs.PARTIAL if is_partial(request) else RequestFailure.ShownAs.PAGE
    )
    remember(request, error, error.reference, status, title, shown_as)
    field_errors = getattr(error, "field_errors", {})
    response = _error_page(request, status, title, message, error.reference, field_errors)
    if isinstance(error, NueRateLimited) and error.retry_after:
        response["Retry-After"] = str(int(error.retry_after) or 1)
    return response


def database_error_response(request: HttpRequest, error: DatabaseError) -> HttpResponse:
    """The portal's own database failed. Never the answer to a money-moving write that Nue
    answered: the ledger raises that as a NueError whose outcome is unknown."""
    reference = uuid.uuid4().hex[:12]
    logger.error(
        "database failure reference=%s kind=%s method=%s path=%s: %s",
        reference,
        type(error).__name__,
        request.method,
        request.path,
        error,
    )
    title, message = _shown(TEXTS[503])
    shown_as = (
        RequestFailure.ShownAs.PARTIAL if is_partial(request) else RequestFailure.ShownAs.PAGE
    )
    remember(request, error, reference, 503, title, shown_as)
    return _error_page(request, 503, title, message, reference, {})


def _error_page(
    request: HttpRequest,
    status: int,
    title: str,
    message: str,
    reference: str,
    field_errors: dict[str, Any],
) -> HttpResponse:
    """The error card, or the whole page, with a button that repeats the request as it was."""
    htmx = is_partial(request)
    target = request.htmx.target if htmx else None  # type: ignore[attr-defined]
    ctx = {
        "status": status,
        "title": title,
        "message": message,
        "reference": reference,
        # Flat: a dict's `.items` in a template would be its "items" key if Nue named a field so.
        "field_messages": [message for messages in field_errors.values() for message in messages],
        "retry_url": request.get_full_path(),
        "retry_method": "post" if request.method == "POST" else "get",
        "retry_fields": [
            (name, value)
            for name, values in request.POST.lists()
            if name not in SKIPPED_FIELDS
            for value in values
        ]
        if request.method == "POST"
        else [],
        "htmx": htmx,
        "target": target if target and re.fullmatch(r"[A-Za-z][\w-]*", target) else None,
    }
    if htmx:
        template = "orders/_upstream_error.html"
    elif status in (502, 503, 504):
        template = f"{status}.html"
    else:
        template = "orders/upstream_error.html"
    return render(request, template, ctx, status=status)


def add_form_errors(
    form: forms.BaseForm, error: NueError, field_map: Mapping[str, str] | None = None
) -> int:
    """Put a Nue failure onto `form` and return the status to re-render it with.

    Validation errors land on the fields named by `field_map` (the verb's argument path, exact or
    with indexes blanked: "lines[].quantity" -> "quantity"), or on a field of the same name, else
    on the form. Any other failure becomes a form error carrying the reference id.
    """
    if isinstance(error, NueValidationError):
        mapping = field_map or {}
        for path, messages in error.field_errors.items():
            blanked = re.sub(r"\[\d+\]", "[]", path)
            field = mapping.get(path) or mapping.get(blanked)
            if field is None and path in form.fields:
                field = path
            for message in messages:
                form.add_error(field, message)
        if not error.field_errors:
            form.add_error(None, error.message)
        return 422
    status = status_for(error)
    if status == 404:
        raise Http404("No such object.")
    title, message = _shown(TEXTS.get(status, IN_PROGRESS) if status != 409 else IN_PROGRESS)
    if isinstance(error, NueConflict):
        title, message = str(TEXTS[409][0]), error.message
    elif error.outcome_unknown:
        title, message = _shown(TIMED_OUT_WRITE)
    elif error.draft_may_exist:
        title, message = _shown(DRAFT_MAY_EXIST)
    form.add_error(
        None,
        _("%(title)s. %(message)s (Reference: %(reference)s)")
        % {"title": title, "message": message, "reference": error.reference},
    )
    remember(None, error, error.reference, status, title, RequestFailure.ShownAs.FORM)
    return status


def flash_omitted(request: HttpRequest, omitted: Iterable[Omitted]) -> None:
    """Tell the page a write redirects to what the write's answer held that could not be shown
    (a preview invoice Nue sent unreadable, say): the draft is there, that part is missing."""
    for gap in omitted:
        messages.warning(
            request,
            _("%(text)s Reference: %(reference)s") % {"text": gap.text, "reference": gap.reference},
        )
