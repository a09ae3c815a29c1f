"""Support pages: find a customer user, impersonate them, stop, elevate; the audit log views."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from portal import impersonation
from portal.audit import events_within_reach, support_sessions
from portal.http import is_partial
from portal.models import AuditEvent, AuditKind, CustomerAccount, Membership, User
from portal.policy import can_see_access_log
from portal.support_forms import AuditFilterForm, ElevateForm, ImpersonateForm, SupportSearchForm

SEARCH_LIMIT = 20
AUDIT_PAGE_SIZE = 50
ACCESS_LOG_PAGE_SIZE = 20


def _agent(request: HttpRequest) -> User:
    """The signed-in support agent; the support pages do not exist for anyone else."""
    user = request.user
    if not isinstance(user, User) or not impersonation.may_use_support(user):
        raise Http404("No such page.")
    return user


def _membership_for_agent(request: HttpRequest, membership_id: int) -> Membership:
    agent = _agent(request)
    memberships = Membership.objects.select_related("user", "account").filter(
        account__in=impersonation.accounts_in_reach(agent)
    )
    return get_object_or_404(memberships, pk=membership_id)


def _search(
    agent: User, q: str
) -> list[tuple[CustomerAccount, list[tuple[Membership, str | None]]]]:
    accounts = impersonation.accounts_in_reach(agent)
    if q:
        accounts = accounts.filter(
            Q(name__icontains=q)
            | Q(nue_customer_id__icontains=q)
            | Q(memberships__user__email__icontains=q)
            | Q(memberships__user__first_name__icontains=q)
            | Q(memberships__user__last_name__icontains=q)
        ).distinct()
    members = Membership.objects.select_related("user", "account").order_by("user__email")
    accounts = accounts.prefetch_related(Prefetch("memberships", queryset=members))
    results = []
    for account in accounts[:SEARCH_LIMIT]:
        rows = [
            (
                m,
                impersonation.impersonation_refusal(
                    hijacker=agent, hijacked=m.user, account=account
                ),
            )
            for m in account.memberships.all()
        ]
        results.append((account, rows))
    return results


@require_GET
@vary_on_headers("HX-Request")
def support_home(request: HttpRequest) -> HttpResponse:
    agent = _agent(request)
    form = SupportSearchForm(request.GET)
    q = form.cleaned_data["q"].strip() if form.is_valid() else ""
    ctx = {"form": form, "q": q, "results": _search(agent, q), "limit": SEARCH_LIMIT}
    template = "support/search.html#results" if is_partial(request) else "support/search.html"
    return render(request, template, ctx)


@require_http_methods(["GET", "POST"])
def impersonate(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = _membership_for_agent(request, membership_id)
    form = ImpersonateForm(request.POST or None, agent=_agent(request), membership=membership)
    if request.method == "POST" and form.is_valid():
        impersonation.start(request, membership, form.cleaned_data["reason"])
        messages.info(
            request,
            _("You now see the portal as %(user)s of %(account)s.")
            % {"user": membership.user, "account": membership.account},
        )
        return redirect("home")
    refusal = impersonation.impersonation_refusal(
        hijacker=request.user, hijacked=membership.user, account=membership.account
    )
    ctx = {
        "form": form,
        "membership": membership,
        "refusal": refusal,
        "max_minutes": settings.IMPERSONATION_MAX_MINUTES,
    }
    return render(request, "support/impersonate.html", ctx, status=422 if form.errors else 200)


@require_POST
def stop_impersonating(request: HttpRequest) -> HttpResponse:
    current = impersonation.current(request)
    if current is None:
        raise Http404("You are not impersonating anyone.")
    impersonation.stop(request)
    messages.success(request, _("You stopped impersonating %(user)s.") % {"user": current.target})
    if request.htmx:  # type: ignore[attr-defined]
        return HttpResponseClientRedirect("/support/")
    return redirect("support")


@require_http_methods(["GET", "POST"])
def elevate(request: HttpRequest) -> HttpResponse:
    current = impersonation.current(request)
    if current is None:
        raise Http404("You are not impersonating anyone.")
    back = _safe_next(request, request.GET.get("next", ""))
    form = ElevateForm(request.POST or None, initial={"next": back})
    if request.method == "POST" and form.is_valid():
        impersonation.elevate(request, form.cleaned_data["reason"])
        messages.warning(request, _("Elevated: money-moving actions are allowed until you stop."))
        return redirect(_safe_next(request, form.cleaned_data["next"]))
    ctx = {"form": form, "impersonation": current, "back": back}
    return render(request, "support/elevate.html", ctx, status=422 if form.errors else 200)


def _safe_next(request: HttpRequest, next_url: str) -> str:
    if url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return "/"


@require_GET
@vary_on_headers("HX-Request")
def audit_log(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.has_perm("portal.view_auditevent"):
        accounts = CustomerAccount.objects.all()
        events: QuerySet[AuditEvent] = AuditEvent.objects.all()
    elif isinstance(user, User) and impersonation.may_use_support(user):
        # An agent reads the trail of the customers their support reaches, nobody else's.
        accounts = impersonation.accounts_in_reach(user)
        events = events_within_reach(user, accounts)
    else:
        raise Http404("No such page.")
    form = AuditFilterForm(request.GET or None, customers=accounts)
    events = events.select_related("customer")
    if form.is_valid():
        events = form.filter(events)
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    ctx = {"form": form, "page": page, "query": query.urlencode()}
    template = "support/audit.html#audit-results" if is_partial(request) else "support/audit.html"
    return render(request, template, ctx)


@require_GET
def access_log(request: HttpRequest) -> HttpResponse:
    """A customer admin's view: who from support looked at this account, when and why."""
    membership: Membership | None = getattr(request, "membership", None)
    if membership is None or not can_see_access_log(membership):
        raise Http404("No such page.")
    started = AuditEvent.objects.select_related("actor", "on_behalf_of").filter(
        customer=membership.account, kind=AuditKind.IMPERSONATION_STARTED
    )
    page = Paginator(started, ACCESS_LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    ctx = {"page": page, "sessions": support_sessions(list(page.object_list))}
    return render(request, "portal/access_log.html", ctx)
